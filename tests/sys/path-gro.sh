#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The visitor's interface coalesces what it receives (GRO, as most NICs, Wi-Fi and mobile
# stacks do), six routers away, IPv4 and IPv6: probes that arrive back to back can reach its
# TCP as one segment and be answered with one D-SACK block of several bytes, while the app
# streams hop lines. The hop list is exact all the same, and no trace waits for a hop timeout.
# That GRO really coalesces: a 2 MB download arrives in segments of at most one MSS without it
# (R1 segments what it forwards: the wire), and in larger ones with it (a capture at the
# visitor). The visitor's multi-byte D-SACK blocks during the traces are counted in a comment.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd ethtool tcpdump
sys_require_build

traces=${PATH_TRACES:-5}
max_ms=1500
mss=1448

tap_plan 9
netns_build -n 6 || { echo "Bail out! cannot build the network"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 2M /dev/urandom >"$NETNS_TMP/www/big"
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=3s)"

# download NAME: a capture at the visitor while it fetches the 2 MB file; its largest segment.
download() {
	netns_tcpdump_start "$NETNS_VISITOR" tosrv "$NETNS_TMP/$1.pcap" tcp src port "$NETNS_PORT" ||
		return 1
	nsx "$NETNS_VISITOR" curl -sS -o /dev/null --max-time 30 "$(netns_url 4 /files/big)"
	netns_tcpdump_stop
	sys_max_segment "$NETNS_TMP/$1.pcap"
}

netns_gro off
without=$(download nogro)
[ "${without:-0}" -gt 0 ] && [ "$without" -le "$mss" ]
tap_ok $? "GRO off: the visitor receives segments of at most one MSS (largest ${without:-?} bytes)"
netns_gro
tap_ok $? "GRO on at the visitor's interface"
with=$(download gro)
[ "${with:-0}" -gt "$mss" ]
tap_ok $? "GRO on: the visitor's TCP gets coalesced segments (largest ${with:-?} bytes)"

netns_tcpdump_start "$NETNS_VISITOR" tosrv "$NETNS_TMP/visitor.pcap" tcp port "$NETNS_PORT" ||
	{ echo "Bail out! no capture at the visitor"; exit 1; }
for fam in 4 6; do
	sys_traces "$fam" "$traces" "$max_ms" "GRO at the visitor"
done
netns_tcpdump_stop
read -r dsacks _ multi < <(sys_dsack_stats "$NETNS_TMP/visitor.pcap")
echo "visitor: ${dsacks:-?} D-SACKs, ${multi:-?} of them naming more than one byte" | tap_diag

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
