#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# make install and make uninstall with DESTDIR, as a package build runs them: the exact list of
# installed files with their modes, nothing written outside DESTDIR, nothing left by uninstall,
# and the systemd units, users and directories checked by systemd's own tools. Needs no root
# (the users and the directory only as root); TRACETROUT_SKIP_SYSTEM=1 skips it like the others.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
[ -z "${TRACETROUT_SKIP_SYSTEM:-}" ] || tap_skip_all "TRACETROUT_SKIP_SYSTEM is set"
sys_require_build
# A parent make's flags (make check TESTS=..., -j) are not for this one.
unset MAKEFLAGS MFLAGS MAKELEVEL
make=${MAKE:-make}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tracetrout-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# The configured directories, as make expands them.
prefix='' exec_prefix='' bindir='' sbindir='' sysconfdir='' localstatedir='' pkgdatadir=''
mandir='' systemdunitdir='' sysusersdir='' tmpfilesdir=''
while IFS='=' read -r k v; do
	printf -v "$k" '%s' "$v"
done < <(for k in prefix exec_prefix bindir sbindir sysconfdir localstatedir pkgdatadir mandir \
	systemdunitdir sysusersdir tmpfilesdir; do
	# shellcheck disable=SC2016  # $(...) is make's
	printf 'print-dirs::\n\t@echo %s=$(%s)\n' "$k" "$k"
done | "$make" -s -C "$top_builddir" -f Makefile -f - print-dirs 2>/dev/null | grep -E '^[a-z_]+=/')
if [ -z "$pkgdatadir" ]; then
	echo "Bail out! cannot read the directories from $top_builddir/Makefile"
	exit 1
fi

tap_plan 10

# What must be installed, with its mode. The migrations and the web servers' examples are every
# file of sql/ and conf/web/ in the source, so a new one is checked without editing this list.
expected() {
	local f n
	cat <<EOF
755 $bindir/tracetrout-query
755 $bindir/tracetrout-serve
755 $bindir/tracetrout.fcgi
755 $sbindir/tracetrout-rules
755 $sbindir/tracetroutd
644 $systemdunitdir/tracetroutd.service
644 $systemdunitdir/tracetrout-fcgi.socket
644 $systemdunitdir/tracetrout-fcgi.service
644 $sysusersdir/tracetrout.conf
644 $tmpfilesdir/tracetrout.conf
644 $pkgdatadir/web/tracetrout.css
644 $pkgdatadir/web/tracetrout.js
644 $pkgdatadir/examples/tracetrout.conf
644 $mandir/man8/tracetroutd.8
644 $mandir/man8/tracetrout.fcgi.8
644 $mandir/man8/tracetrout-serve.8
644 $mandir/man8/tracetrout-rules.8
644 $mandir/man5/tracetrout.conf.5
644 $mandir/man1/tracetrout-query.1
EOF
	for f in "$top_srcdir"/sql/[0-9]*.sql; do
		echo "644 $pkgdatadir/sql/${f##*/}"
	done
	for f in "$top_srcdir"/sql/pg/[0-9]*.sql; do
		echo "644 $pkgdatadir/sql/pg/${f##*/}"
	done
	# (NAME.in, and in a build in the source tree the NAME made from it too)
	for f in "$top_srcdir"/conf/web/*; do
		[ -f "$f" ] || continue
		n=${f##*/}
		echo "644 $pkgdatadir/examples/${n%.in}"
	done | sort -u
}

# installed: "MODE /PATH" of every file and link under DESTDIR, the path as on the target.
installed() {
	(cd "$dest" 2>/dev/null && find . ! -type d -printf '%m %P\n' | sed 's|^\([0-7]*\) |\1 /|')
}

touch "$tmp/stamp"
"$make" -C "$top_builddir" install DESTDIR="$dest" >"$tmp/install.log" 2>&1
tap_ok $? "make install DESTDIR=..." || tap_diag <"$tmp/install.log"

expected | sort -k2 >"$tmp/want"
installed | sort -k2 >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"
tap_ok $? "exactly the expected files, with their modes" || tap_diag <"$tmp/diff"

# A rule that forgets DESTDIR writes the real path: ours, or anything named after the package.
outside() {
	local path root
	while read -r _ path; do
		[ -e "$path" ] && [ "$path" -nt "$tmp/stamp" ] && echo "$path"
	done <"$tmp/want"
	for root in "$prefix" "$exec_prefix" "$sysconfdir" "$localstatedir"; do
		[ -d "$root" ] || continue
		find "$root" -xdev \( -path "$tmp" -o -path "$top_builddir" -o -path "$top_srcdir" \) -prune \
			-o -newer "$tmp/stamp" -path '*tracetrout*' -print
	done | sort -u
}
outside >"$tmp/outside"
[ ! -s "$tmp/outside" ]
tap_ok $? "nothing written outside DESTDIR" || tap_diag <"$tmp/outside"

# The example settings are valid as they are and with every setting uncommented.
ex=$dest$pkgdatadir/examples/tracetrout.conf
sed -n 's/^#\([a-z-]* =.*\)$/\1/p' "$ex" >"$tmp/all.conf"
for f in "$ex" "$tmp/all.conf"; do
	"$dest$sbindir/tracetroutd" -c "$f" --status --socket "$tmp/none.sock" >/dev/null 2>"$tmp/conf.err"
	grep -F "$f" "$tmp/conf.err" && break
done >"$tmp/conf.bad"
[ "$(grep -c ' = ' "$tmp/all.conf")" -ge 30 ] && [ ! -s "$tmp/conf.bad" ]
tap_ok $? "the example config file is accepted, also with every setting uncommented" ||
	{ cat "$tmp/conf.err"; echo "uncommented:"; cat "$tmp/all.conf"; } | tap_diag

# systemd's tools, in a root made of DESTDIR (ExecStart= must exist there) and this system's
# units (sysinit.target and the like). There verify finds units only on its search path, so
# SYSTEMD_UNIT_PATH puts systemdunitdir first (any prefix). Its warnings (a misspelled key, a
# bad value) are failures here, so any output fails.
if command -v systemd-analyze >/dev/null && [ -d /usr/lib/systemd/system ]; then
	root=$tmp/root
	cp -a "$dest" "$root" && mkdir -p "$root/usr/lib/systemd" "$root/etc" &&
		cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
	# verify DIR UNIT...: systemd-analyze verify of DIR/UNIT inside the root; --man=no: the
	# pages are in DESTDIR, not where man looks.
	verify() {
		local dir=$1
		shift
		SYSTEMD_UNIT_PATH=$dir: systemd-analyze verify --root="$root" --man=no \
			"${@/#/$dir/}" >"$tmp/verify" 2>&1 && [ ! -s "$tmp/verify" ]
	}
	units=(tracetroutd.service tracetrout-fcgi.socket tracetrout-fcgi.service)
	verify "$systemdunitdir" "${units[@]}"
	tap_ok $? "systemd-analyze verify: ${units[*]}" || tap_diag <"$tmp/verify"
	# The check is not blind: a misspelled key in a copy fails it.
	mkdir "$root/bad"
	sed 's/^ProtectSystem=/ProtectSytem=/' "$root$systemdunitdir/tracetroutd.service" \
		>"$root/bad/tracetroutd.service"
	! verify /bad tracetroutd.service && grep -q "Unknown key 'ProtectSytem'" "$tmp/verify"
	tap_ok $? "systemd-analyze verify reports a misspelled key" || tap_diag <"$tmp/verify"
	if [ "$(id -u)" = 0 ]; then
		# Both users, system uids, no home, no login; then the directory, theirs and private.
		systemd-sysusers --root="$root" "$root$sysusersdir/tracetrout.conf" >"$tmp/sysusers" 2>&1
		uid=$(awk -F: '$1 == "tracetrout" { print $3 }' "$root/etc/passwd")
		[ -n "$uid" ] && [ "$uid" -lt 1000 ] &&
			grep -q '^tracetrout-engine:x:[0-9]*:[0-9]*:[^:]*:/:/usr/sbin/nologin$' "$root/etc/passwd" &&
			grep -q '^tracetrout:x:[0-9]*:[0-9]*:[^:]*:/:/usr/sbin/nologin$' "$root/etc/passwd"
		tap_ok $? "systemd-sysusers makes the users tracetrout and tracetrout-engine" ||
			{ cat "$tmp/sysusers"; cat "$root/etc/passwd"; } 2>&1 | tap_diag
		systemd-tmpfiles --root="$root" --create "$root$tmpfilesdir/tracetrout.conf" \
			>"$tmp/tmpfiles" 2>&1 &&
			[ "$(stat -c '%a %u' "$root$localstatedir/lib/tracetrout" 2>&1)" = "750 $uid" ]
		tap_ok $? "systemd-tmpfiles makes $localstatedir/lib/tracetrout 0750 for tracetrout" ||
			{ cat "$tmp/tmpfiles"; ls -ln "$root$localstatedir/lib"; } 2>&1 | tap_diag
	else
		tap_ok 0 "systemd-sysusers # SKIP needs root"
		tap_ok 0 "systemd-tmpfiles # SKIP needs root"
	fi
elif [ "${CI:-}" = true ]; then
	echo "Bail out! systemd-analyze is missing"
	exit 1
else
	for t in verify "verify reports" sysusers tmpfiles; do
		tap_ok 0 "systemd $t # SKIP systemd-analyze is missing"
	done
fi

"$make" -C "$top_builddir" uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1
tap_ok $? "make uninstall DESTDIR=..." || tap_diag <"$tmp/uninstall.log"
installed >"$tmp/left"
[ ! -s "$tmp/left" ]
tap_ok $? "make uninstall removes every file" || tap_diag <"$tmp/left"
sys_done
