#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Links planted for root: a symlink at the socket's path and in the database's directory, pointing
# at a root-owned file, and a process of the broker's user that swaps a symlink in for the socket
# while root makes it. The file's owner, group, mode and bytes stay as they were; the helper
# refuses with a clear error or goes on safely. (Before the fix, root chowned the socket by name
# and the race gave the file the web server's group within a few starts.) And the socket's directory is never the broker's.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require conntrack python3 setpriv
sys_require_build

helper=$top_builddir/helper/tracetroutd
RACES=${RACES:-25}

# meta FILE: what must not change.
meta() {
	stat -c '%u:%g %a %s' "$1" && sha256sum <"$1"
}

# start_helper LOG ARGS...: tracetroutd -d in the server namespace, in the background (pid in hpid).
start_helper() {
	local log=$1
	shift
	ip netns exec "$NETNS_SERVER" "$helper" -d --queue 7490 "$@" >"$log" 2>&1 &
	hpid=$!
}

# stop_helper: SIGTERM and wait; kill on a hang.
stop_helper() {
	local i
	kill -TERM "$hpid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$hpid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$hpid" 2>/dev/null
	wait "$hpid" 2>/dev/null
}

# wait_up SOCKET LOG: until the helper listens on SOCKET or exits (1).
wait_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$1" ] && grep -q "listening on" "$2" && return 0
		kill -0 "$hpid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

tap_plan 8
netns_build -n 1 || { echo "Bail out! cannot build the network"; exit 1; }
# A scratch root the broker's user may search (the test's own directory is root's 0700).
base=$NETNS_TMP/links
mkdir -m 0755 "$base"
chmod 0755 "$NETNS_TMP"
# Two root-owned files: one for the socket's cases, one for the database's.
target=$base/precious
dbtarget=$base/precious-db
printf 'root only\n' | tee "$target" >"$dbtarget"
chmod 0600 "$target" "$dbtarget"
want=$(meta "$target")
dbwant=$(meta "$dbtarget")

# 1. A symlink at the socket's path, before the start.
mkdir -m 0755 "$base/run1"
ln -s "$target" "$base/run1/tracetroutd.sock"
log=$NETNS_TMP/planted.log
start_helper "$log" --socket "$base/run1/tracetroutd.sock" --socket-group www-data --db ""
wait "$hpid"
rc=$?
[ "$rc" != 0 ] && grep -q "run1/tracetroutd.sock exists and is not a socket" "$log" &&
	[ "$(meta "$target")" = "$want" ] && [ -L "$base/run1/tracetroutd.sock" ]
tap_ok $? "a symlink at the socket's path: refused with a clear error (exit $rc), the file unchanged" ||
	sys_show "$log"

# 2. The socket's directory, made by tracetroutd: root's, also after a run, so that the broker's
# user has no place from which to race root.
log=$NETNS_TMP/owndir.log
start_helper "$log" --socket "$base/run2/tracetroutd.sock" --socket-group www-data --db ""
wait_up "$base/run2/tracetroutd.sock" "$log"
up=$?
stop_helper
[ "$up" = 0 ] && [ "$(stat -c %U "$base/run2")" = root ] && ! grep -q "unlink.*denied" "$log"
tap_ok $? "the socket's directory tracetroutd made stays root's (owner $(stat -c %U "$base/run2"))" ||
	sys_show "$log"
[ "$(stat -c %G "$base/run2/tracetroutd.sock" 2>&1)" = www-data ] || [ ! -e "$base/run2/tracetroutd.sock" ]
tap_ok $? "the socket had the group www-data" || find "$base/run2" -ls | tap_diag

# 3. A directory the broker's user may write (an administrator's choice): a process of that user
# swaps a symlink in for the socket the moment it appears, many starts in a row.
mkdir -m 0755 "$base/run3"
chown tracetrout: "$base/run3"
cat >"$base/racer.py" <<'EOF'
import os, stat, sys
sock, target = sys.argv[1], sys.argv[2]
tmp = sock + ".link"
while True:
    try:
        os.symlink(target, tmp)
    except FileExistsError:
        pass
    try:
        if stat.S_ISSOCK(os.lstat(sock).st_mode):
            os.rename(tmp, sock)
    except OSError:
        pass
EOF
setpriv --reuid tracetrout --regid tracetrout --clear-groups \
	/usr/bin/python3 "$base/racer.py" "$base/run3/tracetroutd.sock" "$target" &
racer=$!
netns_on_cleanup "kill $racer"
log=$NETNS_TMP/race.log
: >"$log"
for ((i = 0; i < RACES; i++)); do
	rm -f "$base/run3/tracetroutd.sock"
	start_helper "$NETNS_TMP/race1.log" --socket "$base/run3/tracetroutd.sock" --socket-group www-data --db ""
	wait_up "$base/run3/tracetroutd.sock" "$NETNS_TMP/race1.log"
	stop_helper
	cat "$NETNS_TMP/race1.log" >>"$log"
	[ "$(meta "$target")" = "$want" ] || break
done
kill "$racer"
wait "$racer" 2>/dev/null
[ "$(meta "$target")" = "$want" ]
tap_ok $? "$i starts raced by a symlink swapped in for the socket: the file unchanged ($(meta "$target" | head -1))" ||
	sys_show "$log"
# The swap comes after bind or not at all: either way root changed nothing by name.
n=$(($(grep -c "listening on" "$log") + $(grep -c "was replaced right after bind" "$log")))
[ "$n" = "$i" ]
tap_ok $? "each start listened, or saw the swap and refused ($n of $i)" || sys_show "$log"

# 4. Symlinks in the database's directory (the broker's, as tmpfiles.d makes it) for the
# database and its WAL file.
mkdir -m 0750 "$base/state"
chown tracetrout: "$base/state"
ln -s "$dbtarget" "$base/state/tracetrout.db"
ln -s "$dbtarget" "$base/state/tracetrout.db-wal"
log=$NETNS_TMP/db.log
mkdir -m 0755 "$base/run4"
start_helper "$log" --socket "$base/run4/tracetroutd.sock" --db "$base/state/tracetrout.db"
wait_up "$base/run4/tracetroutd.sock" "$log"
sleep 0.5
stop_helper
[ "$(meta "$dbtarget")" = "$dbwant" ]
tap_ok $? "symlinks at the database and its WAL: the file unchanged" || sys_show "$log"
grep -q "state/tracetrout.db: Too many levels of symbolic links" "$log" &&
	grep -qi "store.*tracetrout.db" "$log"
tap_ok $? "both said in the log: not given to the broker, and the store does not open" ||
	sys_show "$log"
[ -L "$base/state/tracetrout.db" ] && [ -L "$base/state/tracetrout.db-wal" ]
tap_ok $? "the links are still links: nothing was written through them" || find "$base/state" -ls | tap_diag
sys_done
