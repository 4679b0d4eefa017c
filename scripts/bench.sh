#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Figures for the closing notes, measured on namespace networks of real Linux routers (their
# ICMP rate limits off): trace times, retransmissions, and what tracing costs untraced traffic.
#
#   sudo make bench        or        sudo scripts/bench.sh BUILDDIR
#
# RUNS (default 20) sets the number of traces per figure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
builddir=$(cd "${1:-.}" && pwd) || exit 1
runs=${RUNS:-20}

[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, firewall rules)" >&2; exit 1; }
for f in tracetrout-serve tracetrout-rules helper/tracetroutd fcgi/tracetrout.fcgi; do
	[ -x "$builddir/$f" ] || { echo "bench: $builddir/$f missing: run make first" >&2; exit 1; }
done
for t in ip iptables lighttpd curl jq nstat tc; do
	command -v "$t" >/dev/null || { echo "bench: $t not found" >&2; exit 1; }
done

# shellcheck source=../tests/lib/netns.sh
. "$srcdir/tests/lib/netns.sh"

# stats: numbers on stdin -> "median M (min A, max B, n N)".
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "no data"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "median %.4g (min %.4g, max %.4g, n %d)\n", m, v[1], v[NR], NR }'
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

retrans() {
	echo $(($(netns_tcp_retrans "$NETNS_SERVER") + $(netns_tcp_retrans "$NETNS_VISITOR")))
}

# times FAMILY N: curl's total time of N traces (GET /) in ms, one a line; fails on a trace that
# did not reach the visitor.
times() {
	local fam=$1 n=$2 i t
	local -n client=NETNS_CLIENT$fam
	for ((i = 0; i < n; i++)); do
		t=$(netns_trace "$fam" / -o "$NETNS_TMP/trace" -w '%{time_total}') || return 1
		[ "$(netns_hops <"$NETNS_TMP/trace" | tail -n 1 | cut -d' ' -f2)" = "$client" ] || {
			echo "bench: a trace did not reach the visitor:" >&2
			cat "$NETNS_TMP/trace" >&2
			return 1
		}
		awk -v t="$t" 'BEGIN { printf "%.3f\n", t * 1000 }'
	done
}

# network N [netns_build options]: a fresh network with tracetrout-serve running.
network() {
	netns_cleanup
	netns_build -n "$@" || exit 1
	mkdir -p "$NETNS_TMP/www"
	netns_serve_start "$builddir" || exit 1
}

echo "TraceTrout $(sed -n 's/^version=.\(.*\).$/\1/p' "$builddir/tracetrout-serve") bench, $(uname -sr), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo

echo "== curl total time of GET / (the whole trace), $runs runs each, ms"
for n in 4 8; do
	network "$n"
	for fam in 4 6; do
		printf '%d routers, IPv%d: %s\n' "$n" "$fam" "$(times "$fam" "$runs" | stats)"
	done
done

echo
echo "== one silent router of 4, HOP_TIMEOUT=1s: curl total time, ms"
netns_cleanup
netns_build -n 4 -s 2 || exit 1
HOP_TIMEOUT=1s netns_serve_start "$builddir" || exit 1
for fam in 4 6; do
	printf 'IPv%d: %s\n' "$fam" "$(times "$fam" 5 | stats)"
done

echo
echo "== TCP retransmissions (TcpRetransSegs, server + visitor) over $runs traces, 4 routers"
network 4
r0=$(retrans)
times 4 $((runs / 2)) >/dev/null && times 6 $((runs - runs / 2)) >/dev/null
echo "$((runs)) traces: $(($(retrans) - r0)) retransmitted segments"

echo
echo "== 20 MB download paced to 100 Mbit/s, with and without traces running (3 runs each)"
head -c 20M /dev/urandom >"$NETNS_TMP/www/big"
netns_slow_lane 100mbit || exit 1
# bulk WITH: one download; WITH=1 runs traces while it lasts. Prints "seconds retrans traces".
bulk() {
	local with=$1 r0 dl n=0 t
	r0=$(retrans)
	nsx "$NETNS_VISITOR" curl -s --local-port 45000-45009 -o /dev/null -w '%{time_total}' \
		"$(netns_url 4 /files/big)" >"$NETNS_TMP/bulk.time" &
	dl=$!
	if [ "$with" = 1 ]; then
		while kill -0 "$dl" 2>/dev/null; do
			netns_trace $((n % 2 ? 6 : 4)) / -o /dev/null && n=$((n + 1))
		done
	fi
	wait "$dl"
	t=$(cat "$NETNS_TMP/bulk.time")
	echo "$t $(($(retrans) - r0)) $n"
}
for with in 0 1; do
	: >"$NETNS_TMP/bulk.runs"
	for i in 1 2 3; do
		bulk "$with" >>"$NETNS_TMP/bulk.runs"
	done
	printf '%s: time %s s, retransmitted segments %s, traces meanwhile %s\n' \
		"$([ "$with" = 1 ] && echo "with traces   " || echo "without traces")" \
		"$(cut -d' ' -f1 "$NETNS_TMP/bulk.runs" | median)" \
		"$(awk '{ s += $2 } END { print s + 0 }' "$NETNS_TMP/bulk.runs")" \
		"$(cut -d' ' -f3 "$NETNS_TMP/bulk.runs" | median)"
done

echo
echo "== untraced bulk throughput, 200 MB at full speed, 4 routers (median of 7, MB/s)"
network 4
head -c 200M /dev/urandom >"$NETNS_TMP/www/big"
speed() {
	local i
	for i in 1 2 3 4 5 6 7; do
		nsx "$NETNS_VISITOR" curl -s -o /dev/null -w '%{speed_download}\n' "$(netns_url 4 /files/big)"
	done | awk '{ printf "%.1f\n", $1 / 1e6 }' | median
}
with_helper=$(speed)
kill -TERM "$(netns_helper_pid)"
sleep 1
helper_stopped=$(speed)
nsx "$NETNS_SERVER" "$builddir/tracetrout-rules" del
# Connection tracking costs by itself, and the rules turn it on in a namespace that had none:
# the fair baseline is a server with conntrack on (any stateful firewall), then none at all.
for ipt in iptables ip6tables; do
	nsx "$NETNS_SERVER" "$ipt" -w -t filter -A INPUT -m conntrack --ctstate INVALID -j DROP
done
conntrack_only=$(speed)
for ipt in iptables ip6tables; do
	nsx "$NETNS_SERVER" "$ipt" -w -t filter -D INPUT -m conntrack --ctstate INVALID -j DROP
done
no_rules=$(speed)
echo "rules loaded, helper running:           $with_helper"
echo "rules loaded, helper stopped:           $helper_stopped"
echo "no TraceTrout rules, conntrack on:      $conntrack_only"
echo "no rules at all (conntrack off):        $no_rules"
awk -v a="$with_helper" -v b="$helper_stopped" -v c="$conntrack_only" -v d="$no_rules" 'BEGIN {
	printf "ratio running/stopped %.3f, running/conntrack only %.3f, running/nothing %.3f\n",
		a / b, a / c, a / d }'
