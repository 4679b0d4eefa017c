#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Tracing does no harm to other transfers: a 20 MB download from the same web server (paced to
# 100 Mbit/s by the server's qdisc, so it lasts ~1.7 s without a single loss of its own) runs
# while traces of both families run one after another; the file arrives intact, every trace
# reaches the visitor, and neither the server nor the visitor retransmits a segment.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nstat sha256sum tc
sys_require_build

tap_plan 9
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 20M /dev/urandom >"$NETNS_TMP/www/big"
sum=$(sha256sum <"$NETNS_TMP/www/big")
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
netns_slow_lane 100mbit
tap_ok $? "the download's lane is paced to 100 Mbit/s"

retrans() {
	echo $(($(netns_tcp_retrans "$NETNS_SERVER") + $(netns_tcp_retrans "$NETNS_VISITOR")))
}

for fam in 4 6; do
	r0=$(retrans)
	nsx "$NETNS_VISITOR" curl -s --local-port 45000-45009 -o "$NETNS_TMP/got" \
		"$(netns_url "$fam" /files/big)" &
	dl=$!
	n=0
	reached=0
	while kill -0 "$dl" 2>/dev/null && [ "$n" -lt 200 ]; do
		n=$((n + 1))
		tfam=$((n % 2 ? 4 : 6))
		declare -n client=NETNS_CLIENT$tfam
		sys_trace "$tfam" trace
		[ "$(netns_hops <"$NETNS_TMP/trace" | tail -n 1)" = "5 $client" ] && reached=$((reached + 1))
		unset -n client
	done
	wait "$dl" && [ "$(sha256sum <"$NETNS_TMP/got")" = "$sum" ]
	tap_ok $? "IPv$fam: the 20 MB download arrives intact (sha256)"
	[ "$n" -ge 6 ] && [ "$reached" = "$n" ]
	tap_ok $? "IPv$fam: $n traces ran during it, $reached reached the visitor" ||
		sys_show "$NETNS_TMP/trace"
	r1=$(retrans)
	[ "$r1" = "$r0" ]
	tap_ok $? "IPv$fam: no retransmission (TcpRetransSegs, server + visitor: $r0 -> $r1)" ||
		sys_tcp_events "$NETNS_SERVER" "$NETNS_VISITOR"
done

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
