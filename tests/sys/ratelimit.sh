#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# One router keeps Linux's default ICMP rate limit (a burst of 6, then about 1 a second toward
# one destination, this server); the others have it off. Five traces in a row for each family:
# every one must still reach the visitor with every other hop exact, and the first (within the
# burst) must show that router too. How many of its probes it answered in each trace is reported.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

tap_plan 8
netns_build -n 4 -l 2 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
ttl=3	# router 2 of 4, counted from the server

for fam in 4 6; do
	want=$(netns_hops_text "$fam")
	others_ok=1
	replies=
	for i in 1 2 3 4 5; do
		sys_trace "$fam" t$fam-$i
		got=$(netns_hops <"$NETNS_TMP/t$fam-$i")
		[ "$(grep -v "^$ttl " <<<"$got")" = "$(grep -v "^$ttl " <<<"$want")" ] || {
			others_ok=0
			sys_show "$NETNS_TMP/t$fam-$i"
		}
		replies+=" $(jq -r "select(.ttl == $ttl) | (.rtt // []) | length" "$NETNS_TMP/t$fam-$i")"
	done
	check_hops "$fam" "$NETNS_TMP/t$fam-1" "IPv$fam: the first trace is exact, the rate-limited router included"
	[ "$others_ok" = 1 ]
	tap_ok $? "IPv$fam: all five traces reach the visitor, every other hop exact"
	echo "# IPv$fam: replies of the rate-limited router (TTL $ttl) in traces 1-5:$replies (3 probes each)"
	total=0
	for r in $replies; do total=$((total + r)); done
	[ "$total" -ge 3 ]
	tap_ok $? "IPv$fam: it answered $total of 15 probes"
done
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
