#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A visitor without SACK (net.ipv4.tcp_sack=0, both families), four routers away, the second
# of them from the visitor silent (TTL 3 from the server: a silent router below answering
# ones), IPv4 and IPv6: the duplicate ACKs its probes draw name no probe, and must not be taken
# for the silent router's TTL. The hop list is exact, each trace waits for the silent hop's
# HOP_TIMEOUT (1 s) but no second one, and the duplicate ACKs never make the server retransmit
# (a capture of its segments shows none sent again during a trace). The visitor's counters
# show that probes reached it (TcpExtDelayedACKLost) and that it sent no D-SACK
# (TcpExtTCPDSACKOldSent).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nstat tcpdump
sys_require_build

traces=${PATH_TRACES:-5}
max_ms=1800

tap_plan 9
netns_build -n 4 -s 2 || { echo "Bail out! cannot build the network"; exit 1; }
nsx "$NETNS_VISITOR" sysctl -qw net.ipv4.tcp_sack=0
tap_ok $? "the visitor has no SACK (net.ipv4.tcp_sack=0)"
HOP_TIMEOUT=1s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=1s)"

netns_tcpdump_start "$NETNS_SERVER" tovis "$NETNS_TMP/server.pcap" tcp src port "$NETNS_PORT" ||
	{ echo "Bail out! no capture"; exit 1; }
r0=$(netns_tcp_retrans "$NETNS_SERVER")
for fam in 4 6; do
	sys_traces "$fam" "$traces" "$max_ms" "no SACK, router 2 silent"
done
netns_tcpdump_stop
sys_dupack_checks "$r0" "$NETNS_TMP/server.pcap"
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
