#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The router next to the visitor holds the probes that reach the visitor (one-byte copies of
# data that went by, pathemu --hold-dup: copies of old bytes and those right behind the first
# segment) a few ms and lets new data by at once, IPv4 and IPv6: the hop lines the app streams meanwhile reach the visitor
# first, and as it delays its ACKs (each trace rides a keep-alive connection that first
# carried a 300 kB file, so the visitor is past its first quick ACKs, as a browser is), its
# D-SACKs ride on ACKs that also acknowledge those lines. It acknowledges every second small
# segment at once: five routers make an odd number of hop lines before the visitor's, so that
# the last is sometimes unacknowledged when a probe comes. Only a trace's first D-SACK can ride
# so (a duplicate segment puts the visitor's TCP in quick-ACK mode), and since the hop memory
# sends one probe to a router that answered moments ago, one trace in five had one (0-6 of 16
# traces, in 7 runs of 16 here): 32 traces a family, so that none at all is not luck. Every hop
# list is exact all the same, and no trace waits for a hop timeout. tests/lib/pathemu is that
# router; its counts and a capture at the visitor show that it held probes and that D-SACKs
# rode on new ACKs. With --hold-old (copies of acknowledged bytes only) it held none in half
# the runs: since the hop memory most traces end in the wave right behind the first segment,
# whose copies are of bytes not acknowledged yet.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd tcpdump
sys_require_build

traces=${PATH_TRACES:-32}
max_ms=1500
hold_ms=5

tap_plan 10
netns_build -n 5 || { echo "Bail out! cannot build the network"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 300000 /dev/urandom >"$NETNS_TMP/www/warm"
netns_pathemu 1 --hold-ms "$hold_ms" --hold-dup
tap_ok $? "router 1 holds old data toward the visitor $hold_ms ms" ||
	sys_show "$NETNS_TMP/pathemu-1.log"
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=3s)"
netns_tcpdump_start "$NETNS_VISITOR" tosrv "$NETNS_TMP/visitor.pcap" tcp port "$NETNS_PORT" ||
	{ echo "Bail out! no capture at the visitor"; exit 1; }

for fam in 4 6; do
	SYS_TRACE_BEFORE=/files/warm sys_traces "$fam" "$traces" "$max_ms" \
		"probes to the visitor held $hold_ms ms"
done

netns_tcpdump_stop
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
read -r held passed early < <(netns_pathemu_done 1 held passed early)
[ "${held:-0}" -gt 0 ] && [ "${passed:-0}" -gt 0 ]
tap_ok $? "router 1 held ${held:-?} probes and let ${passed:-?} other segments by" ||
	sys_show "$NETNS_TMP/pathemu-1.log"
[ "${early:-1}" = 0 ]
tap_ok $? "none went early (${early:-?})"
read -r dsacks rides _ < <(sys_dsack_stats "$NETNS_TMP/visitor.pcap")
[ "${rides:-0}" -gt 0 ]
tap_ok $? "the visitor sent ${dsacks:-?} D-SACKs, ${rides:-?} of them on ACKs of new data"
sys_done
