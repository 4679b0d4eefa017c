#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Ten routers between the server and the visitor: the exact hop list, IPv4 and IPv6.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

tap_plan 4
netns_build -n 10 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
for fam in 4 6; do
	sys_trace "$fam" json$fam
	check_hops "$fam" "$NETNS_TMP/json$fam" "IPv$fam: JSON hop list exact over 10 routers (11 lines)"
done
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
