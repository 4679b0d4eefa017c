#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# truncate-clients 1 (issue 13), IPv4 and IPv6, the visitor behind a NAT whose public address is
# the visitor's as the server sees it (the NAT answers as a hop from it): the full address shows
# nowhere. The live trace and the permalink in every format (JSON lines, text, HTML, Atlas) show
# the visitor and every hop inside its /24 or /48 as that network, exactly; the database holds
# no trace of it; the info service and the DNS server are never asked about the visitor's
# network; the helper's log names the visitor as its network.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack sqlite3 python3 dnsmasq jq
sys_require_build

tap_plan 21
netns_build -n 2 -N || { echo "Bail out! cannot build the network"; exit 1; }
netns_info_start "$NETNS_SERVER" 127.0.0.1 || { echo "Bail out! no info server"; exit 1; }
netns_dns_start "$NETNS_SERVER" 127.0.0.1 || { echo "Bail out! dnsmasq did not start"; exit 1; }
# shellcheck disable=SC2086  # the limits are words
netns_serve_start "$top_builddir" -- --truncate-clients 1 --info-uri "$NETNS_INFO_URL/ip/{ip}" \
	--names 1 -v $NETNS_NO_LIMITS
tap_ok $? "tracetrout-serve runs with truncate-clients 1, info and names on"
db=$NETNS_TMP/state/tracetrout.db

# What each family must show: the routers outside the visitor's network as they are, the NAT
# (answering from the visitor's public address) and the visitor as the network. Every address
# of the IPv6 lab is in the visitor's /48 (2001:db8:77::/48), so all of it is the network.
declare -A full net want
full[4]=$NETNS_CLIENT4
full[6]=$NETNS_CLIENT6
net[4]=10.77.0.0
net[6]=2001:db8:77::
want[4]=$(printf '1 10.77.2.1\n2 10.77.1.1\n3 10.77.0.0\n4 10.77.0.0')
want[6]=$(printf '1 2001:db8:77::\n2 2001:db8:77::\n3 2001:db8:77::\n4 2001:db8:77::')

# get FAMILY NAME PATH [CURL OPTIONS...]: GET into $NETNS_TMP/NAME, head in NAME.head; the status.
get() {
	local fam=$1 name=$2 path=$3
	shift 3
	netns_trace "$fam" "$path" -D "$NETNS_TMP/$name.head" -o "$NETNS_TMP/$name" \
		-w '%{http_code}' "$@" 2>"$NETNS_TMP/$name.err"
}

# atlas_hops FILE: "TTL FROM" of an Atlas result, one line a hop (its first reply).
atlas_hops() {
	jq -r '.result[] | "\(.hop) \(.result[0].from // "*")"' "$1"
}

# check_formats FAMILY TAG PATH: PATH in every format shows exactly the truncated hops and the
# network as the visitor, and the full address nowhere.
check_formats() {
	local fam=$1 tag=$2 path=$3 sep bad=
	case $path in *\?*) sep='&' ;; *) sep='?' ;; esac
	[ "$(get "$fam" "$tag.json" "$path")" = 200 ] || bad+=" json-status"
	[ "$(netns_hops <"$NETNS_TMP/$tag.json")" = "${want[$fam]}" ] || bad+=" json-hops"
	[ "$(get "$fam" "$tag.txt" "$path${sep}format=text")" = 200 ] || bad+=" text-status"
	[ "$(text_hops <"$NETNS_TMP/$tag.txt")" = "${want[$fam]}" ] || bad+=" text-hops"
	[ "$(head -1 "$NETNS_TMP/$tag.txt" | awk '{ print $3, $4 }')" = "${net[$fam]} (${net[$fam]})" ] ||
		bad+=" text-header"
	[ "$(get "$fam" "$tag.atlas" "$path${sep}format=atlas")" = 200 ] || bad+=" atlas-status"
	[ "$(jq -r .dst_addr "$NETNS_TMP/$tag.atlas")" = "${net[$fam]}" ] || bad+=" atlas-dst"
	[ "$(atlas_hops "$NETNS_TMP/$tag.atlas")" = "${want[$fam]}" ] || bad+=" atlas-hops"
	[ "$(get "$fam" "$tag.html" "$path" -H 'Accept: text/html')" = 200 ] || bad+=" html-status"
	grep -qF "${net[$fam]}" "$NETNS_TMP/$tag.html" || bad+=" html-net"
	for f in json txt atlas html; do
		! grep -qF "${full[$fam]}" "$NETNS_TMP/$tag.$f" "$NETNS_TMP/$tag.$f.head" || bad+=" $f-full"
	done
	[ -z "$bad" ] || { echo "#$bad"; sys_show "$NETNS_TMP/$tag".{json,txt,atlas}; return 1; }
}

declare -A link
for fam in 4 6; do
	check_formats "$fam" live$fam /
	tap_ok $? "IPv$fam live: every format shows the visitor's network as ${net[$fam]}, never ${full[$fam]}"
	id=$(sys_header x-trace-id "$NETNS_TMP/live$fam.json.head")
	link[$fam]=/trace/$id
	[ "$(sqlite3 "$db" "SELECT client || ' ' || client_prefix FROM traces WHERE id = '$id'")" = \
		"${net[$fam]} 1" ]
	tap_ok $? "IPv$fam: the trace is stored with the visitor as ${net[$fam]}"
	[ "$(sqlite3 "$db" "SELECT group_concat(addr, ' ') FROM (SELECT DISTINCT r.addr FROM
		replies r JOIN traces t ON r.trace_seq = t.seq WHERE t.id = '$id' AND
		r.kind = 'destination')")" = "${net[$fam]}" ]
	tap_ok $? "IPv$fam: the visitor's answer is stored as ${net[$fam]}"
done
# The look-ups of the live traces end within info-timeout; the permalinks show their answers.
sleep 2.5
for fam in 4 6; do
	check_formats "$fam" stored$fam "${link[$fam]}"
	tap_ok $? "IPv$fam permalink: every format shows the visitor's network, never ${full[$fam]}"
	[ "$(sys_header link "$NETNS_TMP/live$fam.json.head")" = "<${link[$fam]}>; rel=\"bookmark\"" ]
	tap_ok $? "IPv$fam: the Link header is the permalink"
done

# The database, whole: no full address in any table (traces, replies, look-ups and answers).
sqlite3 "$db" .dump >"$NETNS_TMP/dump.sql"
! grep -qF -e "${full[4]}" -e "${full[6]}" "$NETNS_TMP/dump.sql"
tap_ok $? "the database dump holds neither ${full[4]} nor ${full[6]}" ||
	grep -F -e "${full[4]}" -e "${full[6]}" "$NETNS_TMP/dump.sql" | tap_diag

# The info service: asked about the two IPv4 routers only, never anything in the visitor's
# networks (10.77.0.0/24, 2001:db8:77::/48: the whole IPv6 lab).
asked=$(jq -r '.by_path | keys[]' <<<"$(netns_info_count)" | sort | tr '\n' ' ')
[ "$asked" = "/ip/10.77.1.1 /ip/10.77.2.1 " ]
tap_ok $? "the info service was asked about 10.77.1.1 and 10.77.2.1 only: $asked"
! grep -qE '/ip/(10\.77\.0\.|2001%3Adb8%3A77)' "$NETNS_TMP/info.log"
tap_ok $? "... its log has nothing of the visitor's networks"
grep -o 'query\[PTR\] [^ ]*' "$NETNS_TMP/dnsmasq-127.0.0.1.log" | sort -u >"$NETNS_TMP/ptr.txt"
[ "$(tr '\n' ' ' <"$NETNS_TMP/ptr.txt")" = "query[PTR] 1.1.77.10.in-addr.arpa query[PTR] 1.2.77.10.in-addr.arpa " ]
tap_ok $? "names: PTR queries for the two IPv4 routers only" || sys_show "$NETNS_TMP/ptr.txt"

# The helper's log (tracetroutd's lines in serve.log, at -v): the visitor as its network.
grep -E 'tracetroutd|broker|trace [0-9a-f]{32}' "$NETNS_TMP/serve.log" >"$NETNS_TMP/helper.log"
grep -qF "client ${net[4]}/24 port" "$NETNS_TMP/helper.log" &&
	grep -qF "client ${net[6]}/48 port" "$NETNS_TMP/helper.log"
tap_ok $? "the helper logs the visitor as ${net[4]}/24 and ${net[6]}/48" ||
	sys_show "$NETNS_TMP/helper.log"
! grep -qF -e "${full[4]}" -e "${full[6]}" "$NETNS_TMP/helper.log"
tap_ok $? "the helper's log never has ${full[4]} or ${full[6]}" ||
	grep -F -e "${full[4]}" -e "${full[6]}" "$NETNS_TMP/helper.log" | tap_diag

# Without truncation the same network shows the visitor in full (the test sees what it should).
netns_serve_stop
tap_ok $? "tracetrout-serve stops"
# shellcheck disable=SC2086  # the limits are words
netns_serve_start "$top_builddir" -- --names 0 $NETNS_NO_LIMITS
tap_ok $? "tracetrout-serve runs with truncate-clients 0"
sys_trace 4 plain
check_hops 4 "$NETNS_TMP/plain" "truncate-clients 0: the visitor and the NAT in full"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
