#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Late answers (docs/engine.md, step 9): router 2 of 4 (TTL 3 from the server) answers, but its
# errors reach the server 300 ms late (router 3 holds them: tests/lib/pathemu -s), IPv4 and
# IPv6. The live trace does not wait for them: it ends within 250 ms with TTL 3 a timeout line
# and every other hop exact. The answers come after the end, after the response and the
# connection closed: the connection's ICMP errors still reach the engine (the late bit of its
# mark, set when the trace ended and cleared after HOP_TIMEOUT), and the stored trace shows
# router 2 at TTL 3, marked late, by its permalink (JSON lines as an extra field only, text).
# With max-traces 2, three traces one after another: the third is not refused, the oldest
# trace awaiting late answers gives way (its connection leaves the queue), the second keeps
# its late bit.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack
sys_require_build

tap_plan 19
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_pathemu 3 -s 10.77.2.1 2001:db8:77:2::1 --hold-ms 300
tap_ok $? "router 3 holds router 2's errors 300 ms" || sys_show "$NETNS_TMP/pathemu-3.log"
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=3s)"

# late_marked: connections in the server namespace that carry the late bit (0x80000).
late_marked() {
	{
		nsx "$NETNS_SERVER" conntrack -f ipv4 -L -m 0x80000/0x80000
		nsx "$NETNS_SERVER" conntrack -f ipv6 -L -m 0x80000/0x80000
	} 2>/dev/null | grep -c "dport=$NETNS_PORT"
}

for fam in 4 6; do
	declare -n hops=NETNS_HOPS$fam
	router2=${hops[2]}
	t=$(sys_trace_ms "$fam" live$fam / -D "$NETNS_TMP/live$fam.head")
	want=$(netns_hops_text "$fam" | sed 's/^3 .*/3 */')
	[ "$(netns_hops <"$NETNS_TMP/live$fam")" = "$want" ] && [ "$t" -le 250 ]
	tap_ok $? "IPv$fam: the live trace ends in $t ms with TTL 3 a timeout, every other hop exact" ||
		sys_show "$NETNS_TMP/live$fam"
	marked=$(late_marked)
	[ "$marked" -ge 1 ]
	tap_ok $? "IPv$fam: after the end, the connection's errors are still queued (late bit: $marked)"
	id=$(sys_header x-trace-id "$NETNS_TMP/live$fam.head")
	sleep 0.6
	netns_trace "$fam" "/trace/$id?format=json" >"$NETNS_TMP/stored$fam.json"
	jq -se --arg r "$router2" 'map(select(.ttl == 3))[0] | .timeout == true and .ip == null and
		(.late | length) >= 3 and all(.late[]; .ip == $r and .rtt >= 300)' \
		"$NETNS_TMP/stored$fam.json" >/dev/null
	tap_ok $? "IPv$fam: the stored trace keeps router 2's answers at TTL 3, late, the standard fields a timeout's" ||
		sys_show "$NETNS_TMP/stored$fam.json"
	[ "$(netns_hops <"$NETNS_TMP/stored$fam.json")" = "$want" ]
	tap_ok $? "IPv$fam: its hop list as the live one" || sys_show "$NETNS_TMP/stored$fam.json"
	netns_trace "$fam" "/trace/$id?format=text" >"$NETNS_TMP/stored$fam.text"
	grep -q "late.*$router2\|$router2.*late" "$NETNS_TMP/stored$fam.text"
	tap_ok $? "IPv$fam: text shows router 2 marked late" || sys_show "$NETNS_TMP/stored$fam.text"
done
held=$(netns_pathemu_count 3 held)
[ "${held:-0}" -ge 6 ]
tap_ok $? "router 3 held ${held:-?} errors of router 2"
sleep 3
marked=$(late_marked)
[ "$marked" = 0 ]
tap_ok $? "after HOP_TIMEOUT, no connection keeps the late bit ($marked)"
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"

# late_marked_port PORT: 1 when the visitor's connection from PORT carries the late bit.
late_marked_port() {
	nsx "$NETNS_SERVER" conntrack -f ipv4 -L -m 0x80000/0x80000 2>/dev/null |
		grep -c "sport=$1 dport=$NETNS_PORT"
}
NETNS_HELPER_OPTS="${NETNS_NO_LIMITS/--max-traces 1024/--max-traces 2}" \
	HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs again (max-traces 2)"
want=$(netns_hops_text 4 | sed 's/^3 .*/3 */')
for port in 45150 45151 45152; do
	netns_trace 4 / --local-port "$port" -o "$NETNS_TMP/full$port"
	[ "$(netns_hops <"$NETNS_TMP/full$port")" = "$want" ] || break
done
[ "$port" = 45152 ]
tap_ok $? "three traces one after another with max-traces 2: none refused, each exact" ||
	sys_show "$NETNS_TMP/full$port"
marks="$(late_marked_port 45150) $(late_marked_port 45151) $(late_marked_port 45152)"
[ "$marks" = "0 1 1" ]
tap_ok $? "the oldest awaiting late answers gave way, the second kept its late bit (marks: $marks)"
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly again"
sys_done
