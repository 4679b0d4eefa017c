#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A router that rewrites the IPv4 id of every segment from the server (an nft payload statement,
# "ip id set", as some NATs and firewalls do), the third of four from the visitor (TTL 2 from the
# server), IPv4 only (IPv6 has no id): the routers beyond it quote each probe's seq with an id
# that is not the probe's. The hop list is exact all the same, and no trace waits for a hop
# timeout. The rule's counter shows it rewrote segments.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nft
sys_require_build

traces=${PATH_TRACES:-5}
max_ms=1500

tap_plan 6
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
nsx "${NETNS_ROUTERS[3]}" nft -f - <<EOF2
table ip tt_ipid {
	chain forward {
		type filter hook forward priority 0; policy accept;
		tcp sport $NETNS_PORT counter ip id set 12345
	}
}
EOF2
tap_ok $? "router 3 sets the IPv4 id of the server's segments to 12345 (nft)"
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=3s)"

sys_traces 4 "$traces" "$max_ms" "ids rewritten by router 3"

rewritten=$(nsx "${NETNS_ROUTERS[3]}" nft list table ip tt_ipid |
	awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')
[ "${rewritten:-0}" -gt 0 ]
tap_ok $? "router 3 rewrote the id of ${rewritten:-?} segments"
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
