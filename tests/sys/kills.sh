#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The engine, then the broker, killed with SIGKILL in the middle of traces while a plain
# download runs: the download completes byte-exact (queue-bypass), the running traces end with
# a clear error within a second, the surviving process exits, tracetrout-serve starts the helper
# again, and the new helper clears the marks the dead one left on connections.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd sha256sum conntrack tc
sys_require_build

tap_plan 14
# A silent router, the probes that reach the visitor held 20 s on the way (router 1: the
# visitor's answers come that late) and a long hop timeout hold every trace open until the kill.
netns_build -n 3 -s 2 || { echo "Bail out! cannot build the network"; exit 1; }
netns_pathemu 1 --hold-ms 20000 --hold-dup || { echo "Bail out! no pathemu in router 1"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 40M /dev/urandom >"$NETNS_TMP/www/big"
HOP_TIMEOUT=20s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
netns_slow_lane 100mbit || { echo "Bail out! cannot pace the download"; exit 1; }

# ms_now: milliseconds on a monotonic-enough clock for comparing within this test.
ms_now() {
	echo $(($(date +%s%N) / 1000000))
}

# engine_of PID: the engine, the helper's child process.
engine_of() {
	pgrep -P "$1" -x tracetroutd | head -n 1
}

# kill_during WHICH: starts a download and three traces, kills WHICH (engine|broker) with
# SIGKILL once the traces have begun, and checks what the issue asks for.
kill_during() {
	local which=$1 helper victim killed_ms i fam got_ms late=0 traces=()
	helper=$(netns_helper_pid)
	netns_trace 4 /files/big --local-port 45000-45009 -o "$NETNS_TMP/big.$which" &
	local dl=$!
	for fam in 4 6 4; do
		{
			netns_trace "$fam" "/?format=text" -o "$NETNS_TMP/t.$which.$fam.$RANDOM"
			ms_now >>"$NETNS_TMP/ended.$which"
		} &
		traces+=($!)
	done
	# The traces are under way once their connections carry the mark.
	for ((i = 0; i < 50; i++)); do
		[ "$(sys_marked "$NETNS_SERVER" | grep -c .)" -ge 3 ] && break
		sleep 0.1
	done
	if [ "$which" = engine ]; then victim=$(engine_of "$helper"); else victim=$helper; fi
	killed_ms=$(ms_now)
	kill -KILL "$victim"
	wait "$dl"
	tap_ok $? "$which killed: the download on the same port completes"
	cmp -s "$NETNS_TMP/big.$which" "$NETNS_TMP/www/big"
	tap_ok $? "$which killed: the download is byte-exact"
	wait "${traces[@]}"
	while read -r got_ms; do
		[ $((got_ms - killed_ms)) -lt 1000 ] || late=1
	done <"$NETNS_TMP/ended.$which"
	[ "$(grep -c . "$NETNS_TMP/ended.$which")" = 3 ] && [ "$late" = 0 ] &&
		grep -qi "engine\|helper" "$NETNS_TMP"/t."$which".*
	tap_ok $? "$which killed: the three running traces end within 1 s, saying why" ||
		{ cat "$NETNS_TMP/ended.$which"; echo "killed at $killed_ms"; cat "$NETNS_TMP"/t."$which".*; } | tap_diag
	for ((i = 0; i < 50; i++)); do
		! kill -0 "$helper" 2>/dev/null && break
		sleep 0.1
	done
	! kill -0 "$helper" 2>/dev/null
	tap_ok $? "$which killed: the surviving process exits too"
}

# restarted OLD: waits for a new helper; true once it answers on its socket.
restarted() {
	local i new
	for ((i = 0; i < 100; i++)); do
		new=$(netns_helper_pid)
		[ -n "$new" ] && [ "$new" != "$1" ] && [ -S "$NETNS_TMP/run/tracetroutd.sock" ] &&
			[ -n "$(engine_of "$new")" ] && return 0
		sleep 0.1
	done
	return 1
}

old=$(netns_helper_pid)
kill_during engine
restarted "$old"
tap_ok $? "after the engine's death tracetrout-serve starts the helper again" ||
	sys_show "$NETNS_TMP/serve.log"
# The dead helper left its mark on the traced connections (they linger in conntrack).
[ -z "$(sys_marked "$NETNS_SERVER")" ] && grep -q "cleared the trace mark from" "$NETNS_TMP/serve.log"
tap_ok $? "the new helper cleared the marks the dead one left" ||
	{ sys_marked "$NETNS_SERVER"; sys_show "$NETNS_TMP/serve.log"; } | tap_diag

old=$(netns_helper_pid)
kill_during broker
restarted "$old"
tap_ok $? "after the broker's death tracetrout-serve starts the helper again" ||
	sys_show "$NETNS_TMP/serve.log"

# The visitor's answers are held 20 s: the trace's first hop is enough here.
netns_trace 4 / --max-time 3 >"$NETNS_TMP/after" 2>/dev/null
[ "$(netns_hops <"$NETNS_TMP/after" | head -n 1)" = "1 ${NETNS_HOPS4[0]}" ]
tap_ok $? "traces work after both restarts" || sys_show "$NETNS_TMP/after"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
