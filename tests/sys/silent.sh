#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A router that sends no time-exceeded (the second of four from the visitor, TTL 3 from the
# server): its line is {"ttl":3,"timeout":true} and the trace goes on to the visitor. With
# HOP_TIMEOUT=3s the hops before it must reach the visitor at once, not with the last line:
# that checks that lighttpd and the app stream the response.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

tap_plan 8
netns_build -n 4 -s 2 || { echo "Bail out! cannot build the network"; exit 1; }
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs with HOP_TIMEOUT=3s"

# now_ms: milliseconds since the epoch.
now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

for fam in 4 6; do
	start=$(now_ms)
	netns_trace "$fam" / | while IFS= read -r line; do
		printf '%s %s\n' $(($(now_ms) - start)) "$line"
	done >"$NETNS_TMP/timed$fam"
	cut -d' ' -f2- "$NETNS_TMP/timed$fam" >"$NETNS_TMP/json$fam"
	check_hops "$fam" "$NETNS_TMP/json$fam" "IPv$fam: exact hop list with the silent router as a timeout at TTL 3"

	[ "$(sed -n 3p "$NETNS_TMP/json$fam")" = '{"ttl":3,"timeout":true}' ]
	tap_ok $? "IPv$fam: the silent hop's line is exactly {\"ttl\":3,\"timeout\":true}" ||
		sys_show "$NETNS_TMP/json$fam"

	first=$(awk 'NR == 1 { print $1 }' "$NETNS_TMP/timed$fam")
	last=$(awk 'END { print $1 }' "$NETNS_TMP/timed$fam")
	[ -n "$first" ] && [ "$first" -lt 1500 ] && [ "$last" -ge 2500 ]
	tap_ok $? "IPv$fam: streamed: the first hop after ${first:-?} ms, the last after ${last:-?} ms" ||
		sys_show "$NETNS_TMP/timed$fam"
done
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
