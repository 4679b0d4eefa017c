#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Privilege separation, read from /proc while tracetrout-serve runs: the engine keeps
# CAP_NET_ADMIN alone as tracetrout-engine, with no_new_privs and a seccomp filter; the broker
# runs as tracetrout with no capability; lighttpd and the app as www-data with none; traces stay
# exact under all that. Then the errors for a missing user, and the debug switch --sandbox 0.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack
sys_require_build

NET_ADMIN=0000000000001000 # 1 << CAP_NET_ADMIN (12)

# st PID FIELD: FIELD's value in /proc/PID/status, its columns joined by spaces.
st() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ +/, ""); print; exit }' "/proc/$1/status" 2>/dev/null
}

# ids PID USER [GROUPS]: the real, effective, saved and filesystem uid and gid of PID are all
# USER's, and its supplementary groups are GROUPS (default none).
ids() {
	local u g
	u=$(id -u "$2") && g=$(id -g "$2") || return 1
	[ "$(st "$1" Uid)" = "$u $u $u $u" ] && [ "$(st "$1" Gid)" = "$g $g $g $g" ] &&
		[ "$(st "$1" Groups)" = "${3:-}" ]
}

# show PID...: the privilege lines of their status, for a failure's context.
show() {
	local p
	for p in "$@"; do
		echo "pid $p ($(cat "/proc/$p/comm" 2>/dev/null)):"
		grep -E '^(Uid|Gid|Groups|Cap|NoNewPrivs|Seccomp)' "/proc/$p/status" 2>&1
	done | tap_diag
}

# fds PID: one word per descriptor of PID from 3 on, sorted: netlink:PROTOCOL, raw, raw6, unix,
# tcp, tcp6, udp, udp6 for sockets (the inode in /proc/PID/net/*), else the path it names. 0-2
# (stdin, and the log on stdout and stderr) are left out.
fds() {
	local fd t ino kind f
	for fd in /proc/"$1"/fd/*; do
		[ "${fd##*/}" -gt 2 ] || continue
		t=$(readlink "$fd") || continue
		case $t in
		socket:*)
			ino=${t#socket:[}
			ino=${ino%]}
			kind=$(awk -v i="$ino" '$10 == i { print "netlink:" $2 }' "/proc/$1/net/netlink")
			[ -n "$kind" ] || kind=$(awk -v i="$ino" '$7 == i { print "unix" }' "/proc/$1/net/unix")
			for f in raw raw6 tcp tcp6 udp udp6; do
				[ -n "$kind" ] || kind=$(awk -v i="$ino" -v f="$f" '$10 == i { print f }' "/proc/$1/net/$f")
			done
			echo "${kind:-socket?}"
			;;
		*) echo "$t" | sed -E 's|^/proc/[0-9]+/|/proc/PID/|' ;;
		esac
	done | sort | tr '\n' ' '
}

# find_procs: broker, engine and app from the pid file and the helper's own log lines.
find_procs() {
	local kids p
	broker=$(netns_helper_pid)
	kids=$(ps -o pid= --ppid "${broker:-0}" | tr -d ' ')
	engine=
	[ "$(echo "$kids" | wc -w)" = 1 ] && engine=$kids
	apps=
	for p in $(ip netns pids "$NETNS_SERVER"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = tracetrout.fcgi ] && apps+=" $p"
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = lighttpd ] && web=$p
	done
	# The helper names each process in its log: no guessing which is which.
	[ -n "$broker" ] && [ -n "$engine" ] && [ -n "$apps" ] &&
		grep -q "^tracetroutd/broker\[$broker\]: " "$NETNS_TMP/serve.log" &&
		grep -q "^tracetroutd/engine\[$engine\]: engine: queue" "$NETNS_TMP/serve.log"
}

tap_plan 22
netns_build -n 2 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
# The app starts with lighttpd; a trace makes sure it is up and has talked to the broker.
sys_trace 4 first
check_hops 4 "$NETNS_TMP/first" "IPv4: a trace is exact"

find_procs
tap_ok $? "broker (pid ${broker:-?}), engine (pid ${engine:-?}, its child) and app (pid${apps:- ?}) found" ||
	sys_show "$NETNS_TMP/serve.log"

[ "$(st "$engine" CapEff)" = $NET_ADMIN ] && [ "$(st "$engine" CapPrm)" = $NET_ADMIN ] &&
	[ "$(st "$engine" CapInh)" = 0000000000000000 ] && [ "$(st "$engine" CapAmb)" = 0000000000000000 ]
tap_ok $? "engine: CapEff and CapPrm are CAP_NET_ADMIN alone, nothing inheritable or ambient" ||
	show "$engine"
case $(st "$engine" CapBnd) in 0000000000000000 | "$NET_ADMIN") true ;; *) false ;; esac
tap_ok $? "engine: the bounding set holds nothing else" || show "$engine"
ids "$engine" tracetrout-engine
tap_ok $? "engine: every uid and gid is tracetrout-engine's, no supplementary group" || show "$engine"
# The /proc files of an undumpable process belong to root.
[ "$(st "$engine" NoNewPrivs)" = 1 ] && [ "$(st "$engine" Seccomp)" = 2 ] &&
	[ "$(stat -c %u "/proc/$engine/environ")" = 0 ]
tap_ok $? "engine: NoNewPrivs 1, Seccomp 2 (filter), not dumpable" || show "$engine"

[ "$(st "$broker" CapEff)" = 0000000000000000 ] && [ "$(st "$broker" CapPrm)" = 0000000000000000 ] &&
	[ "$(st "$broker" CapBnd)" = 0000000000000000 ] && [ "$(st "$broker" CapAmb)" = 0000000000000000 ]
tap_ok $? "broker: no capability at all, bounding set empty" || show "$broker"
ids "$broker" tracetrout && [ "$(st "$broker" NoNewPrivs)" = 1 ] &&
	[ "$(stat -c %u "/proc/$broker/environ")" = 0 ]
tap_ok $? "broker: every uid and gid is tracetrout's, NoNewPrivs 1, not dumpable" || show "$broker"

# What each process holds after the split (tracetroutd closes what it inherited). The
# engine: its two NETLINK_NETFILTER sockets (queue, ctnetlink), the IPv4 and IPv6 raw sockets,
# the broker's socketpair, the kernel's address lists and its own statm (its memory, for the
# metrics), nothing else.
want="/proc/PID/net/fib_trie /proc/PID/net/if_inet6 /proc/PID/statm netlink:12 netlink:12 raw raw6 unix "
[ "$(fds "$engine")" = "$want" ]
tap_ok $? "engine: its descriptors are exactly: $want" || { echo "got: $(fds "$engine")"; ls -l "/proc/$engine/fd"; } | tap_diag
# The broker: no netlink socket but sock_diag's (4, opened by it as tracetrout), no raw socket.
got=$(fds "$broker")
! echo "$got" | grep -qE 'netlink:([0-35-9]|[0-9][0-9])|raw'
tap_ok $? "broker: no netfilter, route or raw socket ($got)" ||
	{ ls -l "/proc/$broker/fd"; grep -H flags "/proc/$broker"/fdinfo/*; } 2>&1 | tap_diag

ok=0
for p in $apps ${web:-}; do
	# lighttpd keeps www-data's own groups (initgroups).
	if ! { ids "$p" www-data "$(id -G www-data)" && [ "$(st "$p" CapEff)" = 0000000000000000 ] &&
		[ "$(st "$p" CapPrm)" = 0000000000000000 ]; }; then
		ok=1
		show "$p"
	fi
done
[ -n "${web:-}" ]
tap_ok $((ok | $?)) "tracetrout.fcgi and lighttpd run as www-data with no capability"

sys_trace 6 six
check_hops 6 "$NETNS_TMP/six" "IPv6: a trace is exact under the sandbox"
sys_trace 4 again
check_hops 4 "$NETNS_TMP/again" "IPv4: again"
[ "$(ps -o pid= --ppid "$broker" | tr -d ' ')" = "$engine" ] && ! grep -q "failed (status" "$NETNS_TMP/serve.log"
tap_ok $? "the engine (pid $engine) is still the same process: the filter let it work" ||
	sys_show "$NETNS_TMP/serve.log"
[ "$(stat -c %U "$NETNS_TMP/state/tracetrout.db" 2>&1)" = tracetrout ]
tap_ok $? "the database belongs to tracetrout" || find "$NETNS_TMP/state" -ls | tap_diag

# Root's directory, root's socket with the web server's group: the broker changes neither.
[ "$(stat -c '%U %a' "$NETNS_TMP/run")" = "root 755" ] &&
	[ "$(stat -c '%U %G' "$NETNS_TMP/run/tracetroutd.sock")" = "root www-data" ]
tap_ok $? "the runtime directory is root's 0755, the socket root's with group www-data" ||
	find "$NETNS_TMP/run" -maxdepth 1 -ls | tap_diag
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly on SIGTERM"

# Setup errors come before anything is opened, and say how to fix them.
helper=$top_builddir/helper/tracetroutd
nsx "$NETNS_SERVER" "$helper" -d --user tt-no-such-user --socket "$NETNS_TMP/x.sock" \
	>"$NETNS_TMP/nouser" 2>&1
[ $? = 1 ] && grep -q "no user tt-no-such-user.*useradd --system" "$NETNS_TMP/nouser"
tap_ok $? "a missing user is fatal, and the message says how to create it" ||
	sys_show "$NETNS_TMP/nouser"
nsx "$NETNS_SERVER" "$helper" -d --engine-user root --socket "$NETNS_TMP/x.sock" \
	>"$NETNS_TMP/root" 2>&1
[ $? = 1 ] && grep -q "engine-user: root has uid or gid 0" "$NETNS_TMP/root"
tap_ok $? "root as the engine's user is refused" || sys_show "$NETNS_TMP/root"

# The debug switch for sanitizers: no filter, no no_new_privs, but still no root and no other
# capability; and it says so.
: >"$NETNS_TMP/serve.log"
netns_serve_start "$top_builddir" -- --sandbox 0
find_procs
[ "$(st "$engine" Seccomp)" = 0 ] && [ "$(st "$engine" NoNewPrivs)" = 0 ] &&
	[ "$(st "$engine" CapEff)" = $NET_ADMIN ] && ids "$engine" tracetrout-engine &&
	[ "$(stat -c %U "/proc/$engine/environ")" = tracetrout-engine ] &&
	[ "$(st "$broker" CapEff)" = 0000000000000000 ] && ids "$broker" tracetrout &&
	grep -q "engine: sandbox 0: no seccomp filter" "$NETNS_TMP/serve.log"
tap_ok $? "--sandbox 0: no filter, dumpable, a warning, but the same users and capabilities" ||
	{ show "$engine" "$broker"; sys_show "$NETNS_TMP/serve.log"; }
netns_serve_stop
[ -z "$(ip netns pids "$NETNS_SERVER")" ]
tap_ok $? "nothing left running in the server namespace"
sys_done
