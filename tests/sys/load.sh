#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Many visitors at once (issue 15): LOAD_VISITORS (200) addresses on the visitor's link
# (netns_visitors), lighttpd, LOAD_TRACES (600) requests LOAD_AT_ONCE (32) at a time, IPv4 and
# IPv6 in turn, from tests/lib/ttload. First untraced ones (GET /trace/<32 zeros>: a 404 through
# lighttpd, the app and the broker, no probe), which show the network itself clean: all 404, no
# error, no retransmission. Then as many trace requests, each traced in the end: a machine
# busier than this one sheds some with a fast 503 and Retry-After (capacity, not an error), and
# ttload asks again after it, as a client honouring it does, up to LOAD_RETRIES (30) times. Every
# hop list exact (each visitor the last hop of its own), no error, at most one retransmission
# by the server (TcpRetransSegs) in a hundred connections (issue 15 asks for none),
# within a generous LOAD_MAX_S (60 s). The figures, with their tight goals, are make bench's
# (BENCH_ONLY=load).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nstat
sys_require_build
ttload=$top_builddir/tests/lib/ttload
[ -x "$ttload" ] || { echo "Bail out! $ttload is not built (make check builds it)"; exit 1; }

VISITORS=${LOAD_VISITORS:-200}
TRACES=${LOAD_TRACES:-600}
AT_ONCE=${LOAD_AT_ONCE:-32}
RETRIES=${LOAD_RETRIES:-30}
MAX_S=${LOAD_MAX_S:-60}

tap_plan 10
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_visitors "$VISITORS" || { echo "Bail out! cannot add the visitor addresses"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (lighttpd); $VISITORS more visitor addresses" || exit 1
helper=$(netns_helper_pid)

# load NAME [ttload options...]: ttload from the visitor addresses to both of the server's,
# TRACES requests AT_ONCE at a time; its key=value lines in $NETNS_TMP/NAME.kv, the answers it
# found wrong in NAME.wrong. Sets took (s) and retrans, the server's TcpRetransSegs meanwhile.
load() {
	local name=$1 r0 t0
	shift
	r0=$(netns_tcp_retrans "$NETNS_SERVER")
	t0=$SECONDS
	nsx "$NETNS_VISITOR" "$ttload" -n "$TRACES" -c "$AT_ONCE" -P "$NETNS_PORT" \
		-4 "$NETNS_SERVER4" -6 "$NETNS_SERVER6" -S "$NETNS_VISITORS_FROM" \
		-w "$NETNS_TMP/$name.wrong" "$@" >"$NETNS_TMP/$name.kv" 2>"$NETNS_TMP/$name.err"
	took=$((SECONDS - t0))
	retrans=$(($(netns_tcp_retrans "$NETNS_SERVER") - r0))
}

# kv NAME KEY: KEY's value in $NETNS_TMP/NAME.kv ("errors=2 (timeout 2)" whole).
kv() {
	sed -n "s/^$2=//p" "$NETNS_TMP/$1.kv"
}

# show_load NAME: ttload's output and the first wrong answers, as TAP comments.
show_load() {
	{
		paste -sd' ' "$NETNS_TMP/$1.kv"
		cat "$NETNS_TMP/$1.err"
		head -n 40 "$NETNS_TMP/$1.wrong" 2>/dev/null
	} | tap_diag
}

# routers FAMILY: the routers of NETNS_HOPS4/6, comma-separated (ttload adds the visitor).
routers() {
	local -n h=NETNS_HOPS$1
	local IFS=,
	echo "${h[*]:0:${#h[@]}-1}"
}

load untraced -p /trace/00000000000000000000000000000000
# ttload keeps every status but 200 and 503 in its -w file: here every answer, a 404 each.
not404=$(awk '/^# request / && $8 != 404' "$NETNS_TMP/untraced.wrong" | wc -l)
[ "$(kv untraced errors)" = 0 ] && [ "$(kv untraced status_other)" = "$TRACES" ] && [ "$not404" = 0 ]
tap_ok $? "$TRACES untraced requests (a 404 from the broker's store), $AT_ONCE at once: all 404, no error ($(kv untraced errors))" ||
	show_load untraced
[ "$retrans" = 0 ]
tap_ok $? "untraced: the server retransmitted nothing (TcpRetransSegs +$retrans): the network is clean" ||
	sys_tcp_events "$NETNS_SERVER" "$NETNS_VISITOR"

load traced -H "$(routers 4)" -h "$(routers 6)" -R "$RETRIES"
traced=$(kv traced status_200)
[ "$(kv traced errors)" = 0 ] && [ "$(kv traced status_other)" = 0 ] && [ "$traced" = "$TRACES" ]
tap_ok $? "$TRACES requests, $AT_ONCE at once: all traced ($traced; $(kv traced retried) asked again after a 503, 503 in the end: $(kv traced status_503), other: $(kv traced status_other)), no error ($(kv traced errors))" ||
	show_load traced
[ "$(kv traced ok)" = "$traced" ] && [ "$(kv traced wrong)" = 0 ]
tap_ok $? "every hop list exact, each visitor the last hop of its own ($(kv traced ok) of $traced; wrong $(kv traced wrong))" ||
	show_load traced
# Issue 15 asks for none. Segments and ACKs held in the engine's queue while the CPUs are
# saturated cost tail-loss probes: 1 in 20-40 connections before the end waited for the
# connection to leave the queue (docs/engine.md, Clear), 0-7 in 2,000 at 64 at once since, 0
# in 600 here. The bound is one in a hundred, and the figure is shown.
echo "# traced: the server's retransmissions: $retrans in $traced traced connections (issue 15 wants 0)"
[ "$retrans" -le $((TRACES / 100)) ]
tap_ok $? "traced: the server retransmitted at most one segment in a hundred connections (TcpRetransSegs +$retrans)" ||
	sys_tcp_events "$NETNS_SERVER" "$NETNS_VISITOR"
[ "$took" -le "$MAX_S" ]
tap_ok $? "the traces took $took s (at most $MAX_S; $(kv traced rate) a second, p99 $(kv traced p99_ms) ms)"

[ "$(netns_helper_pid)" = "$helper" ]
tap_ok $? "the helper that started is still the one running ($helper)" || sys_show "$NETNS_TMP/serve.log"
sys_trace 4 after
check_hops 4 "$NETNS_TMP/after" "a trace after the load is exact"
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly" || sys_show "$NETNS_TMP/serve.log"
sys_done
