#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# tracetroutd down: tracetrout-serve starts it again after a crash (SIGKILL) and traces work
# again; after a clean stop (SIGTERM) it stays down, the site still serves its static files
# (the rules stay, with --queue-bypass) and the app answers 503 within a second.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd sha256sum
sys_require_build

tap_plan 12
netns_build -n 2 || { echo "Bail out! cannot build the network"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 5M /dev/urandom >"$NETNS_TMP/www/big"
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
sys_trace 4 before
check_hops 4 "$NETNS_TMP/before" "a trace works"

old=$(netns_helper_pid)
kill -KILL "$old"
new=
for ((i = 0; i < 150; i++)); do
	new=$(netns_helper_pid)
	[ -n "$new" ] && [ "$new" != "$old" ] && [ -S "$NETNS_TMP/run/tracetroutd.sock" ] &&
		sys_trace 4 after && [ "$(netns_hops <"$NETNS_TMP/after" | wc -l)" -gt 0 ] && break
	sleep 0.1
done
grep -q "tracetroutd failed (status 137)" "$NETNS_TMP/serve.log" && [ "$new" != "$old" ]
tap_ok $? "killed (pid $old), tracetroutd is started again (pid ${new:-none})" ||
	sys_show "$NETNS_TMP/serve.log"
check_hops 4 "$NETNS_TMP/after" "traces work again after the restart"
sys_trace 6 after6
check_hops 6 "$NETNS_TMP/after6" "IPv6 traces work again after the restart"

pid=$(netns_helper_pid)
kill -TERM "$pid"
for ((i = 0; i < 50; i++)); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
sleep 2
! kill -0 "$pid" 2>/dev/null && [ -z "$(netns_helper_pid)" ] &&
	grep -q "tracetroutd stopped" "$NETNS_TMP/serve.log" && kill -0 "$NETNS_SERVE_PID"
tap_ok $? "stopped with SIGTERM, tracetroutd stays down and tracetrout-serve runs on" ||
	sys_show "$NETNS_TMP/serve.log"

for fam in 4 6; do
	code=$(netns_trace "$fam" /files/big -o "$NETNS_TMP/got" -w '%{http_code}')
	[ "$code" = 200 ] && cmp -s "$NETNS_TMP/got" "$NETNS_TMP/www/big"
	tap_ok $? "IPv$fam: static files are still served intact"
	read -r code time < <(netns_trace "$fam" "/?format=text" -o "$NETNS_TMP/down$fam" -w '%{http_code} %{time_total}\n')
	[ "$code" = 503 ] && awk -v t="$time" 'BEGIN { exit !(t < 1.0) }' && [ -s "$NETNS_TMP/down$fam" ]
	tap_ok $? "IPv$fam: a trace request gets 503 with a message, in ${time:-?} s" ||
		sys_show "$NETNS_TMP/down$fam"
done
nsx "$NETNS_SERVER" "$top_builddir/tracetrout-rules" show >/dev/null
tap_ok $? "the rules stay in place meanwhile"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
