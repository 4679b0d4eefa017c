#!/bin/bash
# The man pages against the programs: every setting that tracetroutd --print-config shows is in
# tracetrout.conf(5) with the same default, every option of each program's --help is in its
# page, each page has its sections and only the placeholders the Makefile fills in, and each
# renders without a warning. Needs no root: the programs print their usage without it.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export LC_ALL=C.UTF-8

mandir=$top_srcdir/man
helper=$top_builddir/helper/tracetroutd
[ -x "$helper" ] || { echo "Bail out! $helper is not built"; exit 1; }
for p in tracetroutd.8 tracetrout.conf.5 tracetrout.fcgi.8 tracetrout-serve.8 tracetrout-rules.8 \
    tracetrout-query.1; do
	[ -f "$mandir/$p.in" ] || { echo "Bail out! no $mandir/$p.in"; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tt-manpages.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

n=0
# ok STATUS DESCRIPTION: one test point; returns STATUS, for "ok $? DESC || diag ...".
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
	return "$1"
}
diag() {
	sed 's/^/# /'
}

# text PAGE: the roff source as a reader types it: "\-" is "-", font changes dropped.
text() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\~/ /g' -e 's/\\e/\\/g' "$1"
}

# options: the options that a usage text on stdin lists, one a line: the leading "-x, --long"
# of each line that starts with blanks and a dash.
options() {
	awk '/^[ \t]+-/ {
		for (i = 1; i <= NF; i++) {
			t = $i
			more = sub(/,$/, "", t)
			if (t !~ /^-/)
				break
			print t
			if (!more)
				break
		}
	}' | sort -u
}

# documented OPTION PAGE: is OPTION in the page as a word of its own?
documented() {
	text "$2" | grep -qE -- "(^|[^A-Za-z0-9-])$1([^A-Za-z0-9-]|$)"
}

# --- tracetrout.conf(5) against tracetroutd --print-config ---

# The defaults alone: no file, none of the original's variables.
env -u HOP_TIMEOUT -u HOP_RETRIES -u HOP_OFFSET -u FILTER_QUEUE -u INFO_URI_TEMPLATE \
	"$helper" --print-config -c /dev/null >"$tmp/print" 2>"$tmp/print.err"
ok $? "tracetroutd --print-config -c /dev/null runs without root" || diag <"$tmp/print.err"
[ "$(grep -c ' =' "$tmp/print")" -ge 30 ] && ! grep -qv '^[a-z][a-z-]* =\( .*\)\?$' "$tmp/print"
ok $? "it prints key = value lines, every one" || diag <"$tmp/print"

# The build's localstatedir, which the page writes as @localstatedir@.
db=$(sed -n 's/^db = //p' "$tmp/print")
lsd=${db%/lib/tracetrout/tracetrout.db}

# KEY<TAB>DEFAULT of each setting the page describes: `.BI "key = " type`, then "Default:" and
# `.BR value .`, or "Default: empty".
text "$mandir/tracetrout.conf.5.in" | sed "s|@localstatedir@|$lsd|g" | awk '
	/^\.BI "[a-z0-9-]+ = "/ { split($0, f, "\""); key = f[2]; sub(/ = $/, "", key); want = 0; next }
	key != "" && /^Default: empty/ { print key "\t"; key = ""; next }
	key != "" && $0 == "Default:" { want = 1; next }
	want { print key "\t" $2; key = ""; want = 0 }
' >"$tmp/page"

while IFS= read -r line; do
	key=${line%% =*}
	val=${line#"$key ="}
	val=${val# }
	got=$(awk -F '\t' -v k="$key" '$1 == k { print $2; found = 1 } END { exit !found }' "$tmp/page")
	ok $? "tracetrout.conf(5) describes $key" || continue
	[ "$got" = "$val" ]
	ok $? "tracetrout.conf(5) gives $key's default as ${val:-empty}" ||
		echo "page: \"$got\", tracetroutd: \"$val\"" | diag
done <"$tmp/print"

cut -f 1 "$tmp/page" | while read -r key; do
	grep -q "^$key =" "$tmp/print" || echo "$key"
done >"$tmp/extra"
[ ! -s "$tmp/extra" ]
ok $? "tracetrout.conf(5) describes no setting that tracetroutd lacks" || diag <"$tmp/extra"

for v in HOP_TIMEOUT HOP_RETRIES HOP_OFFSET FILTER_QUEUE INFO_URI_TEMPLATE; do
	documented "$v" "$mandir/tracetrout.conf.5.in"
	ok $? "tracetrout.conf(5) names the original's $v"
done

# --- options ---

"$helper" --help >"$tmp/help" 2>&1
ok $? "tracetroutd --help runs" || diag <"$tmp/help"
options <"$tmp/help" >"$tmp/opts"
[ "$(wc -l <"$tmp/opts")" -ge 40 ]
ok $? "tracetroutd --help lists its options ($(wc -l <"$tmp/opts"))" || diag <"$tmp/help"
while read -r o; do
	documented "$o" "$mandir/tracetroutd.8.in"
	ok $? "tracetroutd(8) documents $o"
done <"$tmp/opts"
# Every setting is an option too, so --help must show each.
sed 's/ =.*//' "$tmp/print" | while read -r key; do
	grep -qx -- "--$key" "$tmp/opts" || echo "--$key"
done >"$tmp/missing"
[ ! -s "$tmp/missing" ]
ok $? "tracetroutd --help shows every setting's option" || diag <"$tmp/missing"

for prog in tracetrout-serve tracetrout-rules; do
	env -u FILTER_QUEUE -u PORT -u HOST bash "$top_srcdir/scripts/$prog.in" --help \
		>"$tmp/$prog.help" 2>&1
	ok $? "$prog --help runs without root" || diag <"$tmp/$prog.help"
	options <"$tmp/$prog.help" >"$tmp/$prog.opts"
	[ -s "$tmp/$prog.opts" ]
	ok $? "$prog --help lists options" || diag <"$tmp/$prog.help"
	while read -r o; do
		documented "$o" "$mandir/$prog.8.in"
		ok $? "$prog(8) documents $o"
	done <"$tmp/$prog.opts"
done
# tracetrout-query's options.
"$top_builddir/helper/tracetrout-query" --help >"$tmp/query.help" 2>&1
ok $? "tracetrout-query --help runs" || diag <"$tmp/query.help"
options <"$tmp/query.help" >"$tmp/query.opts"
[ -s "$tmp/query.opts" ]
ok $? "tracetrout-query --help lists options" || diag <"$tmp/query.help"
while read -r o; do
	documented "$o" "$mandir/tracetrout-query.1.in"
	ok $? "tracetrout-query(1) documents $o"
done <"$tmp/query.opts"
# tracetrout-rules' commands, from "Usage: tracetrout-rules add|del|show [options]".
for c in $(sed -n 's/^Usage: tracetrout-rules \([a-z|]*\) .*/\1/p' "$tmp/tracetrout-rules.help" |
	tr '|' ' '); do
	text "$mandir/tracetrout-rules.8.in" | grep -qE "^\.BR? $c( |$)"
	ok $? "tracetrout-rules(8) documents the command $c"
done

# --- each page: sections, placeholders, rendering ---

for page in "$mandir"/*.in; do
	name=$(basename "$page" .in)
	case $name in
	*.5) sections="NAME|SYNOPSIS|DESCRIPTION|ENVIRONMENT|FILES|SEE ALSO" ;;
	*) sections="NAME|SYNOPSIS|DESCRIPTION|OPTIONS|ENVIRONMENT|FILES|EXIT STATUS|SEE ALSO" ;;
	esac
	missing=$(IFS='|'; for s in $sections; do
		grep -qE "^\.SH \"?$s\"?$" "$page" || printf ' %s' "$s"
	done)
	[ -z "$missing" ]
	ok $? "$name has its sections${missing:+ (missing:$missing)}"
	grep -q '^\.TH .*"TraceTrout @VERSION@"' "$page"
	ok $? "$name's .TH names TraceTrout @VERSION@"
	bad=$(grep -o '@[A-Za-z_]*@' "$page" | sort -u |
		grep -vxE '@(sbindir|bindir|pkgdatadir|localstatedir|VERSION)@' | tr '\n' ' ')
	[ -z "$bad" ]
	ok $? "$name has only the placeholders the Makefile fills in${bad:+ (not: $bad)}"

	# As installed: the Makefile's substitution.
	sed -e 's|@sbindir@|/usr/local/sbin|g' -e 's|@bindir@|/usr/local/bin|g' \
		-e 's|@pkgdatadir@|/usr/local/share/tracetrout|g' \
		-e 's|@localstatedir@|/usr/local/var|g' -e 's|@VERSION@|0.0|g' "$page" >"$tmp/$name"
	if command -v man >/dev/null 2>&1; then
		MANWIDTH=80 man --warnings -E UTF-8 -l "$tmp/$name" 2>"$tmp/warn" >"$tmp/out"
		ok $? "man renders $name" || diag <"$tmp/warn"
	elif command -v groff >/dev/null 2>&1; then
		groff -man -ww -z -Tutf8 "$tmp/$name" 2>"$tmp/warn"
		ok $? "groff renders $name" || diag <"$tmp/warn"
		: >"$tmp/out"
	elif [ "${CI:-}" = true ]; then
		# As the system tests do: in CI a missing tool is an error, never a skip.
		ok 1 "$name renders: neither man nor groff is installed (Debian: man-db or groff-base)"
		: >"$tmp/warn"
		: >"$tmp/out"
	else
		n=$((n + 1))
		echo "ok $n - $name renders # SKIP neither man nor groff"
		: >"$tmp/warn"
		: >"$tmp/out"
	fi
	[ ! -s "$tmp/warn" ]
	ok $? "$name renders without a warning" || diag <"$tmp/warn"
	! grep -q '@[A-Za-z_]*@' "$tmp/out"
	ok $? "$name renders without a placeholder left"
done

echo "1..$n"
