#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A visitor four routers away traces itself, IPv4 and IPv6: the exact hop list (TTL and address
# of every line, the visitor last), RTTs, the JSON headers, and the same path as ?format=text.
# The visitor answers the probes that reach it with D-SACKs, and the server's TCP sees none of
# them (the engine drops or strips them), nor retransmits anything.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack
sys_require_build

tap_plan 15
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"

for fam in 4 6; do
	declare -n client=NETNS_CLIENT$fam
	sys_trace "$fam" json$fam
	check_hops "$fam" "$NETNS_TMP/json$fam" "IPv$fam: JSON hop list exact (4 routers, then $client)"

	jq -e -s '[.[] | select(has("ip"))] | length > 0 and
		all(.rtt | type == "array" and length >= 1 and all(type == "number" and . >= 0))' \
		"$NETNS_TMP/json$fam" >/dev/null
	tap_ok $? "IPv$fam: every answering hop has round-trip times"

	head=$(tr -d '\r' <"$NETNS_TMP/json$fam.head")
	grep -qi '^content-type: application/json' <<<"$head" &&
		grep -qi '^access-control-allow-origin: \*' <<<"$head" &&
		grep -qi '^cache-control: no-cache, no-store, must-revalidate' <<<"$head"
	tap_ok $? "IPv$fam: JSON headers (type, CORS, no caching) as the original's"

	sys_trace "$fam" text$fam "/?format=text"
	got=$(text_hops <"$NETNS_TMP/text$fam")
	want=$(netns_hops_text "$fam")
	[ "$got" = "$want" ]
	tap_ok $? "IPv$fam: ?format=text shows the same exact hop list" ||
		{ { echo "want:"; echo "$want"; } | tap_diag; sys_show "$NETNS_TMP/text$fam"; }
	grep -q "^traceroute to $client " "$NETNS_TMP/text$fam" &&
		grep -q "^end: reached the visitor" "$NETNS_TMP/text$fam" &&
		grep -qi '^content-type: text/plain' "$NETNS_TMP/text$fam.head"
	tap_ok $? "IPv$fam: text has its heading, its end line and type text/plain" ||
		sys_show "$NETNS_TMP/text$fam"
	unset -n client
done

sent=$(netns_nstat "$NETNS_VISITOR" TcpExtTCPDSACKOldSent)
got=$(($(netns_nstat "$NETNS_SERVER" TcpExtTCPDSACKRecv) + $(netns_nstat "$NETNS_SERVER" TcpExtTCPDSACKOfoRecv)))
rtx=$(netns_tcp_retrans "$NETNS_SERVER")
[ "${sent:-0}" -gt 0 ] && [ "$got" = 0 ] && [ "$rtx" = 0 ]
tap_ok $? "the visitor sent $sent D-SACKs; the server's TCP received $got, retransmitted $rtx"

[ -z "$(sys_marked "$NETNS_SERVER")" ]
tap_ok $? "no connection keeps the trace mark once its trace ended"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly on SIGTERM"
[ -z "$(ip netns pids "$NETNS_SERVER")" ]
tap_ok $? "nothing left running in the server namespace"
sys_done
