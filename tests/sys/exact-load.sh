#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Exact hop lists under load: EXACT_LOAD_TRACES (300) traces, IPv4 and IPv6 in turn,
# EXACT_LOAD_AT_ONCE (4) at a time, while a busy loop per CPU (both cores of CI's 2) competes
# with the engine, the web server and the routers. Every hop list must be exact; the time
# bound is generous (EXACT_LOAD_MAX_S, 240 s), as the figures belong to make bench.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

TRACES=${EXACT_LOAD_TRACES:-300}
AT_ONCE=${EXACT_LOAD_AT_ONCE:-4}
MAX_S=${EXACT_LOAD_MAX_S:-240}

tap_plan 6
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs" || exit 1

# Started here, killed at cleanup whatever happens (netns_on_cleanup), or below.
netns_busy_start
busy_pids=("${NETNS_BUSY_PIDS[@]}")
busy=0
for pid in "${busy_pids[@]}"; do
	kill -0 "$pid" 2>/dev/null && busy=$((busy + 1))
done
[ "$busy" = "$(nproc)" ]
tap_ok $? "$busy busy loops running, one per CPU"

start=$SECONDS
netns_exact "$TRACES" "$AT_ONCE" >"$NETNS_TMP/wrong"
took=$((SECONDS - start))
nwrong=$(wc -l <"$NETNS_TMP/wrong")
[ "$nwrong" = 0 ]
tap_ok $? "$TRACES traces, $AT_ONCE at once, every CPU busy: every hop list exact ($nwrong wrong)" || {
	{ echo "want IPv4: ${NETNS_HOPS4[*]}"; echo "want IPv6: ${NETNS_HOPS6[*]}"; cat "$NETNS_TMP/wrong"; } | tap_diag
	# The first three in full.
	for i in $(sort -n "$NETNS_TMP/wrong" | head -n 3 | cut -d' ' -f1); do
		sys_show "$NETNS_TMP/exact/wrong-$i" "$NETNS_TMP/exact/wrong-$i.err"
	done
}
[ "$took" -le "$MAX_S" ]
tap_ok $? "they took $took s (at most $MAX_S)"

netns_busy_stop
left=0
for pid in "${busy_pids[@]}"; do
	kill -0 "$pid" 2>/dev/null && left=$((left + 1))
done
netns_serve_stop
# The engine's count at its stop: replies timed by the kernel's arrival stamp, none refused.
stats=$(sed -n 's/.*engine: stopped; [0-9]* packets (\([0-9]*\) with the kernel.s arrival time, read within \([0-9]*\) us of it; \([0-9]*\) with one not used).*/\1 \2 \3/p' \
	"$NETNS_TMP/serve.log")
read -r stamped wait_us refused <<<"$stats"
[ "${stamped:-0}" -gt 0 ] && [ "${refused:-1}" = 0 ]
tap_ok $? "the engine timed the visitor's and the routers' packets by the kernel's arrival stamp (${stamped:-?} stamped, read within ${wait_us:-?} us, ${refused:-?} stamps refused)" ||
	sys_show "$NETNS_TMP/serve.log"
[ "$left" = 0 ]
tap_ok $? "no busy loop left running"
sys_done
