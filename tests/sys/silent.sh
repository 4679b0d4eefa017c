#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A router that sends no time-exceeded (the second of four from the visitor, TTL 3 from the
# server): its line is {"ttl":3,"timeout":true} and the trace goes on to the visitor. It costs
# no HOP_TIMEOUT (3 s here): once the visitor has answered beyond it, the silent hop is asked
# again once and settles after a wait measured on this trace's round trips (docs/engine.md), so
# every trace ends well within a second. Then the same with the visitor's side of the path slow
# (router 1 holds every packet of the connection 300 ms each way, tests/lib/pathemu): the hops
# before the visitor's reach it at once, not with the last line, which checks that lighttpd and
# the app stream the response.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

traces=${SILENT_TRACES:-4}
tap_plan 13
netns_build -n 4 -s 2 || { echo "Bail out! cannot build the network"; exit 1; }
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs with HOP_TIMEOUT=3s"

for fam in 4 6; do
	sys_traces "$fam" "$traces" 1000 "a silent router, HOP_TIMEOUT 3 s"
	[ "$(sed -n 3p "$NETNS_TMP/${SYS_TRACE_FILES[0]}")" = '{"ttl":3,"timeout":true}' ]
	tap_ok $? "IPv$fam: the silent hop's line is exactly {\"ttl\":3,\"timeout\":true}" ||
		sys_show "$NETNS_TMP/${SYS_TRACE_FILES[0]}"
done

netns_pathemu 1 --hold-ms 300
tap_ok $? "router 1 holds the connection's packets 300 ms each way" ||
	sys_show "$NETNS_TMP/pathemu-1.log"
for fam in 4 6; do
	start=${EPOCHREALTIME/[.,]/}
	netns_trace "$fam" / | while IFS= read -r line; do
		now=${EPOCHREALTIME/[.,]/}
		printf '%d %s\n' $(((now - start) / 1000)) "$line"
	done >"$NETNS_TMP/timed$fam"
	cut -d' ' -f2- "$NETNS_TMP/timed$fam" >"$NETNS_TMP/json$fam"
	check_hops "$fam" "$NETNS_TMP/json$fam" "IPv$fam, slow visitor side: exact hop list"
	# The routers' lines leave as they settle; the visitor's answer takes a 600 ms round trip more.
	first=$(awk 'NR == 1 { print $1 }' "$NETNS_TMP/timed$fam")
	last=$(awk 'END { print $1 }' "$NETNS_TMP/timed$fam")
	[ -n "$first" ] && [ -n "$last" ] && [ $((last - first)) -ge 400 ]
	tap_ok $? "IPv$fam: streamed: the first hop after ${first:-?} ms, the last after ${last:-?} ms" ||
		sys_show "$NETNS_TMP/timed$fam"
done
netns_pathemu_stop 1
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
