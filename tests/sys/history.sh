#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Stored traces through the whole chain: a permalink serves the trace in every format, the same
# after the helper is killed and restarted and after the whole server (web server, app, helper)
# is restarted; /history lists the visitor's traces newest first and marks the hop that changed
# when a router on the path is replaced between two traces; ?store=0 keeps nothing; the delete
# token deletes; with truncate-clients the address is stored as a prefix and /history is off.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack sqlite3
sys_require_build

tap_plan 28
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
db=$NETNS_TMP/state/tracetrout.db

# get FAMILY NAME PATH [CURL OPTIONS...]: GET into $NETNS_TMP/NAME, head in NAME.head; the status.
get() {
	local fam=$1 name=$2 path=$3
	shift 3
	netns_trace "$fam" "$path" -D "$NETNS_TMP/$name.head" -o "$NETNS_TMP/$name" \
		-w '%{http_code}' "$@" 2>"$NETNS_TMP/$name.err"
}

# A trace, and its permalink from the Link header; by family.
declare -A link id token
for fam in 4 6; do
	sys_trace "$fam" first$fam
	check_hops "$fam" "$NETNS_TMP/first$fam" "IPv$fam: the trace to store"
	link[$fam]=$(sys_header link "$NETNS_TMP/first$fam.head" | sed -n 's/^<\([^>]*\)>.*/\1/p')
	id[$fam]=$(sys_header x-trace-id "$NETNS_TMP/first$fam.head")
	token[$fam]=$(sys_header x-trace-delete-token "$NETNS_TMP/first$fam.head")
	[ "${link[$fam]}" = "/trace/${id[$fam]}" ] && [[ "${id[$fam]}" =~ ^[0-9a-f]{32}$ ]] &&
		[[ "${token[$fam]}" =~ ^[0-9a-f]{32}$ ]] && [ "${token[$fam]}" != "${id[$fam]}" ]
	tap_ok $? "IPv$fam: the permalink /trace/ID and a delete token come with the trace" ||
		sys_show "$NETNS_TMP/first$fam.head"
done

# check_stored TAG: both permalinks serve the stored trace in every format.
check_stored() {
	local tag=$1 fam code bad=
	for fam in 4 6; do
		code=$(get "$fam" "$tag$fam.json" "${link[$fam]}")
		[ "$code" = 200 ] || bad+=" json$fam:$code"
		[ "$(netns_hops <"$NETNS_TMP/$tag$fam.json")" = "$(netns_hops_text "$fam")" ] ||
			bad+=" json$fam-hops"
		code=$(get "$fam" "$tag$fam.txt" "${link[$fam]}?format=text")
		[ "$code" = 200 ] && [ "$(text_hops <"$NETNS_TMP/$tag$fam.txt")" = "$(netns_hops_text "$fam")" ] ||
			bad+=" text$fam:$code"
		code=$(get "$fam" "$tag$fam.atlas" "${link[$fam]}?format=atlas")
		[ "$code" = 200 ] && jq -e --arg af "$fam" '.af == ($af | tonumber) and .type == "traceroute"
			and (.result | length) == 5' "$NETNS_TMP/$tag$fam.atlas" >/dev/null ||
			bad+=" atlas$fam:$code"
		code=$(get "$fam" "$tag$fam.html" "${link[$fam]}" -H 'Accept: text/html')
		[ "$code" = 200 ] && [ "$(grep -o '<tr[ >]' "$NETNS_TMP/$tag$fam.html" | wc -l)" -ge 6 ] ||
			bad+=" html$fam:$code"
	done
	[ -z "$bad" ]
	tap_ok $? "$tag: both permalinks serve the stored trace as json, text, atlas and html" ||
		{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/$tag"4.json "$NETNS_TMP/serve.log"; }
}
check_stored stored

# The helper killed: tracetrout-serve starts it again; the permalinks still work.
old=$(netns_helper_pid)
kill -KILL "$old"
for ((i = 0; i < 100; i++)); do
	new=$(netns_helper_pid)
	[ -n "$new" ] && [ "$new" != "$old" ] && [ -S "$NETNS_TMP/run/tracetroutd.sock" ] &&
		[ "$(get 4 probe "${link[4]}")" = 200 ] && break
	sleep 0.1
done
tap_ok $? "the helper killed: tracetrout-serve starts a new one"
check_stored "after-helper-restart"

# The whole server restarted: web server, app and helper.
netns_serve_stop
tap_ok $? "tracetrout-serve stops"
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve starts again on the same database"
check_stored "after-server-restart"

code=$(get 4 unknown /trace/0123456789abcdef0123456789abcdef)
[ "$code" = 404 ]
tap_ok $? "an unknown id is 404 ($code)"
code=$(get 4 malformed "/trace/x'%20OR%201=1--")
[ "$code" = 404 ]
tap_ok $? "a malformed id is 404 ($code)"

# A router replaced between two traces: R2 answers from another address (R3 routes through it).
# In trace order (the router next to the server first) R2 is hop 3.
renumber_r2() {
	local r2=${NETNS_ROUTERS[2]} r3=${NETNS_ROUTERS[3]}
	nsx "$r2" sysctl -qw net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.tosrv.promote_secondaries=1
	ip -n "$r2" addr add 10.77.2.9/24 dev tosrv &&
		ip -n "$r2" -6 addr add 2001:db8:77:2::9/64 dev tosrv nodad &&
		ip -n "$r3" route replace 10.77.1.0/24 via 10.77.2.9 &&
		ip -n "$r3" route replace 10.77.0.0/24 via 10.77.2.9 &&
		ip -n "$r3" -6 route replace 2001:db8:77:1::/64 via 2001:db8:77:2::9 &&
		ip -n "$r3" -6 route replace 2001:db8:77:0::/64 via 2001:db8:77:2::9 &&
		ip -n "$r2" addr del 10.77.2.1/24 dev tosrv &&
		ip -n "$r2" -6 addr del 2001:db8:77:2::1/64 dev tosrv
}
renumber_r2
tap_ok $? "router 2 renumbered: 10.77.2.9 and 2001:db8:77:2::9"
NETNS_HOPS4[2]=10.77.2.9
NETNS_HOPS6[2]=2001:db8:77:2::9
for fam in 4 6; do
	sys_trace "$fam" second$fam
	check_hops "$fam" "$NETNS_TMP/second$fam" "IPv$fam: the second trace shows the new address at hop 3"
done

# /history: the visitor's traces, newest first, the change at hop 3 marked on the newer one.
for fam in 4 6; do
	code=$(get "$fam" "history$fam" "/history?format=json")
	jq -e --arg id "${id[$fam]}" '(.traces | length) == 2 and .traces[1].id == $id
		and .traces[0].change.replaced == 1 and .traces[0].change.first_ttl == 3
		and .traces[0].change.added == 0 and .traces[0].change.removed == 0
		and .traces[1].change == null' "$NETNS_TMP/history$fam" >/dev/null
	tap_ok $? "IPv$fam: /history lists both traces and marks the change at hop 3 ($code)" ||
		sys_show "$NETNS_TMP/history$fam"
done
code=$(get 4 history-html /history -H 'Accept: text/html')
[ "$code" = 200 ] && grep -q "/trace/${id[4]}" "$NETNS_TMP/history-html"
tap_ok $? "the HTML history links the permalinks ($code)"

# ?store=0: traced, not stored, no permalink.
sys_trace 4 nostore "/?store=0"
check_hops 4 "$NETNS_TMP/nostore" "?store=0 still traces"
nid=$(sys_header x-trace-id "$NETNS_TMP/nostore.head")
[ "$(sys_header x-trace-stored "$NETNS_TMP/nostore.head")" = no ] &&
	[ -z "$(sys_header link "$NETNS_TMP/nostore.head")" ] &&
	[ "$(sqlite3 "$db" "SELECT count(*) FROM traces WHERE id = '$nid'")" = 0 ]
tap_ok $? "?store=0: X-Trace-Stored: no, no permalink, nothing in the database" ||
	sys_show "$NETNS_TMP/nostore.head"

# Deleting needs the token given with the trace.
code=$(get 4 del-wrong "${link[4]}" -X DELETE -H "X-Delete-Token: ${id[4]}")
[ "$code" = 403 ]
tap_ok $? "DELETE with a wrong token is 403 ($code)"
code=$(get 4 del "${link[4]}" -X DELETE -H "X-Delete-Token: ${token[4]}")
[ "$code" = 200 ] && [ "$(get 4 gone "${link[4]}")" = 404 ] &&
	[ "$(sqlite3 "$db" "SELECT count(*) FROM traces WHERE id = '${id[4]}'")" = 0 ]
tap_ok $? "DELETE with the token deletes it: the permalink is 404, the row is gone ($code)"
code=$(get 6 del-form "${link[6]}/delete" --data "token=${token[6]}")
[ "$code" = 200 ] && [ "$(get 6 gone6 "${link[6]}")" = 404 ]
tap_ok $? "the page's form (POST .../delete token=...) deletes too ($code)"

# truncate-clients: the /24 is stored, /history is off, the permalink works.
netns_serve_stop
# shellcheck disable=SC2086  # the limits are words
netns_serve_start "$top_builddir" -- --truncate-clients 1 $NETNS_NO_LIMITS
tap_ok $? "tracetrout-serve starts with truncate-clients 1"
sys_trace 4 trunc
tid=$(sys_header x-trace-id "$NETNS_TMP/trunc.head")
[ "$(sqlite3 "$db" "SELECT client || ' ' || client_prefix FROM traces WHERE id = '$tid'")" = "10.77.0.0 1" ]
tap_ok $? "truncate-clients: the visitor is stored as 10.77.0.0/24"
[ "$(get 4 trunc-history /history?format=json)" = 404 ] && [ "$(get 4 trunc-get "/trace/$tid")" = 200 ]
tap_ok $? "truncate-clients: /history is 404, the permalink is 200"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
