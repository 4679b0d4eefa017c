#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The first probes copy bytes of the response's first segment before the visitor acknowledged
# them, and leave right behind it (docs/engine.md, step 4). Here the router next to the visitor
# loses that segment on every connection (tests/lib/pathemu --drop-first; its retransmission
# passes): the probes that reach the visitor are then data beyond a hole, which it SACKs. Every
# hop list is exact all the same (those SACKs credit the probes, and the engine takes them out),
# the server's TCP recovers the loss as without probes (one retransmission a loss, each trace
# under 0.9 s), the response arrives whole, and no D-SACK of a probe reaches the server's TCP:
# the server's TCP counts only the D-SACKs of its own data sent twice (a tail loss probe, when
# the emulated router is slow under load), which a capture of the visitor's ACKs shows.
# Then the same path without the loss: not one retransmission.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

traces=${PATH_TRACES:-5}
tap_plan 14
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_pathemu 1 --drop-first
tap_ok $? "router 1 loses the first data segment toward the visitor of each connection" ||
	sys_show "$NETNS_TMP/pathemu-1.log"
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=3s)"

netns_tcpdump_start "$NETNS_SERVER" tovis "$NETNS_TMP/acks.pcap" tcp dst port "$NETNS_PORT"
dsack0=$(($(netns_nstat "$NETNS_SERVER" TcpExtTCPDSACKRecv) + $(netns_nstat "$NETNS_SERVER" TcpExtTCPDSACKOfoRecv)))
rtx0=$(netns_tcp_retrans "$NETNS_SERVER")
for fam in 4 6; do
	sys_traces "$fam" "$traces" 900 "the first segment lost"
	for f in "${SYS_TRACE_FILES[@]}"; do
		jq -e . "$NETNS_TMP/$f" >/dev/null || break
	done
	tap_ok $? "IPv$fam: every response whole (each line JSON)" || sys_show "$NETNS_TMP/$f"
done
dropped=$(netns_pathemu_count 1 dropped)
rtx=$(($(netns_tcp_retrans "$NETNS_SERVER") - rtx0))
[ "${dropped:-0}" -ge $((2 * traces)) ] && [ "$rtx" -ge "$dropped" ]
tap_ok $? "router 1 lost ${dropped:-?} segments; the server retransmitted $rtx" ||
	sys_show "$NETNS_TMP/pathemu-1.log"
dsack=$(($(netns_nstat "$NETNS_SERVER" TcpExtTCPDSACKRecv) + $(netns_nstat "$NETNS_SERVER" TcpExtTCPDSACKOfoRecv) - dsack0))
netns_tcpdump_stop
read -r sent _ own < <(sys_dsack_stats "$NETNS_TMP/acks.pcap")
[ "$dsack" = "${own:-x}" ]
tap_ok $? "the server's TCP received no D-SACK of a probe ($dsack received, $own of its own data; the visitor sent $sent)" ||
	sys_tcp_events "$NETNS_SERVER"

netns_pathemu_stop 1
nsx "${NETNS_ROUTERS[1]}" iptables -w -t mangle -F FORWARD && nsx "${NETNS_ROUTERS[1]}" ip6tables -w -t mangle -F FORWARD
rtx0=$(netns_tcp_retrans "$NETNS_SERVER")
sys_traces 4 "$traces" 900 "no loss"
rtx=$(($(netns_tcp_retrans "$NETNS_SERVER") - rtx0))
[ "$rtx" = 0 ]
tap_ok $? "no loss: probes right behind the first segment cost no retransmission ($rtx)"
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
