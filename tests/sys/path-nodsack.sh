#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A visitor that sends no D-SACK (net.ipv4.tcp_dsack=0, both families; SACK itself on), four
# routers away, IPv4 and IPv6: the duplicate ACKs its probes draw name no probe. Traces on new
# connections, then on keep-alive connections that first carried a 300 kB file (past their
# first quick ACKs, so that duplicate ACKs may also acknowledge hop lines). The hop list is
# exact all the same, no trace waits for a hop timeout, and those duplicate ACKs never make the
# server retransmit (a capture of its segments shows none sent again during a trace). The
# visitor's counters show that probes reached it (TcpExtDelayedACKLost) and that it sent no
# D-SACK (TcpExtTCPDSACKOldSent).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nstat tcpdump
sys_require_build

traces=${PATH_TRACES:-5}
max_ms=1500

tap_plan 13
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 300000 /dev/urandom >"$NETNS_TMP/www/warm"
nsx "$NETNS_VISITOR" sysctl -qw net.ipv4.tcp_dsack=0
tap_ok $? "the visitor sends no D-SACK (net.ipv4.tcp_dsack=0)"
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=3s)"

netns_tcpdump_start "$NETNS_SERVER" tovis "$NETNS_TMP/server.pcap" tcp src port "$NETNS_PORT" ||
	{ echo "Bail out! no capture"; exit 1; }
r0=$(netns_tcp_retrans "$NETNS_SERVER")
for fam in 4 6; do
	sys_traces "$fam" "$traces" "$max_ms" "no D-SACK"
	SYS_TRACE_BEFORE=/files/warm sys_traces "$fam" "$traces" "$max_ms" \
		"no D-SACK, after a download on the connection"
done
netns_tcpdump_stop
sys_dupack_checks "$r0" "$NETNS_TMP/server.pcap"
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
