#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A visitor on a private network behind a NAT router (MASQUERADE), three routers further: the
# server sees the NAT's address; the trace shows the three routers, the NAT router, then the
# visitor answering through the NAT (its address as the server sees it), IPv4 and IPv6 (NAT66).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

tap_plan 6
netns_build -n 3 -N || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
for fam in 4 6; do
	sys_trace "$fam" json$fam
	check_hops "$fam" "$NETNS_TMP/json$fam" "IPv$fam: exact hop list through the NAT"
	sys_trace "$fam" text$fam "/?format=text"
	grep -q "^end: reached the visitor" "$NETNS_TMP/text$fam"
	tap_ok $? "IPv$fam: the trace ends at the visitor behind the NAT" || sys_show "$NETNS_TMP/text$fam"
done
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
