#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Figures for the closing notes, measured on namespace networks of real Linux routers (their
# ICMP rate limits off): trace times, the first router's RTT against Linux traceroute's (idle
# and with every CPU busy), how many of 2,000 traces at once have the exact hop list,
# retransmissions, what tracing costs untraced traffic, an ICMP flood at the engine, the
# engine's memory with 1,000 traces, and what a slow hop info service costs a trace and how
# often 100 traces at once ask it; issue 15's figures under load: traces a second against
# untraced requests, a paced download during traced and untraced load, overload, and routers
# at Linux's ICMP rate limit.
#
#   sudo make bench        or        sudo scripts/bench.sh BUILDDIR
#
# RUNS (default 20) sets the number of traces per figure; FLOOD (50000) the forged ICMP errors
# of the flood; TRACES (1000) the connections of the memory figures; EXACT_TRACES (2000) and
# EXACT_AT_ONCE (12) the exactness run; RUNS_PATH (5) the traces per figure of issue 12's paths.
# BENCH_ONLY=web-servers runs the trace times through each web server setup alone;
# BENCH_ONLY=rtt the RTT comparison alone; BENCH_ONLY=exact the exactness run alone;
# BENCH_ONLY=paths issue 12's figures alone (a 40 ms path, a silent router, a router dropping
# every tenth packet, three traces on one connection), about 1.5 minutes; BENCH_ONLY=stored a
# stored trace by its permalink under wrk, about 1 minute; BENCH_ONLY=load issue 15's figures
# (RUNS_LOAD, LOAD_TRACES, RATELIMIT_S and the others below), about 5 minutes; BENCH_ONLY=overload
# its overload section alone, at twice LOAD_RATE (1000) traces a second; BENCH_ONLY=fleet issue
# 16's figures (FLEET_TRACES, FLEET_STORED), a few minutes; BENCH_ONLY=query issue 17's searches
# of a million stored traces (QUERY_TRACES, QUERY_RUNS, QUERY_DB), about 10 minutes, without
# root.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
builddir=$(cd "${1:-.}" && pwd) || exit 1
runs=${RUNS:-20}

for f in tracetrout-serve tracetrout-rules helper/tracetroutd fcgi/tracetrout.fcgi; do
	[ -x "$builddir/$f" ] || { echo "bench: $builddir/$f missing: run make first" >&2; exit 1; }
done
# The store's own tools (make bench builds them).
storebench_bin=$builddir/tests/lib/storebench
querybench_bin=$builddir/tests/lib/querybench
for f in "$storebench_bin" "$querybench_bin"; do
	[ -x "$f" ] || { echo "bench: $f missing: run make bench, or make -C tests lib/${f##*/}" >&2; exit 1; }
done
# Every section but the searches' (the store alone) needs root and the network's tools.
if [ "${BENCH_ONLY:-}" != query ]; then
	[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, firewall rules)" >&2; exit 1; }
	for t in ip iptables nft lighttpd nginx apache2 openssl curl jq nstat tc chromium wrk traceroute ping; do
		command -v "$t" >/dev/null || { echo "bench: $t not found" >&2; exit 1; }
	done
	# The delayed path's router tool, built by make check (make bench builds it too).
	NETNS_PATHEMU=${NETNS_PATHEMU:-$builddir/tests/lib/pathemu}
	[ -x "$NETNS_PATHEMU" ] || { echo "bench: $NETNS_PATHEMU missing: run make bench, or make -C tests lib/pathemu" >&2; exit 1; }
	# The load generator of issue 15's figures, built by make check.
	ttload_bin=${TTLOAD:-$builddir/tests/lib/ttload}
	[ -x "$ttload_bin" ] || { echo "bench: $ttload_bin missing: run make check, or make -C tests lib/ttload" >&2; exit 1; }
fi
command -v sqlite3 >/dev/null || { echo "bench: sqlite3 not found" >&2; exit 1; }

# shellcheck source=../tests/lib/netns.sh
. "$srcdir/tests/lib/netns.sh"
# shellcheck source=../tests/lib/pg.sh
. "$srcdir/tests/lib/pg.sh"

# stats: numbers on stdin -> "median M (min A, max B, n N)", 4 significant digits (whole numbers
# from 10,000 up, not 1.307e+04).
stats() {
	sort -g | awk 'function f(x) { return x >= 10000 || x <= -10000 ? sprintf("%.0f", x) : sprintf("%.4g", x) }
		{ v[NR] = $1 } END {
		if (NR == 0) { print "no data"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "median %s (min %s, max %s, n %d)\n", f(m), f(v[1]), f(v[NR]), NR }'
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

# web_servers: GET / through each shipped web server setup (tracetrout-serve --web-server),
# plain and over TLS (a fresh connection each time: the handshake counts), 4 routers.
web_servers() {
	local ws tls
	echo "== curl total time of GET / through each web server setup, 4 routers, $runs runs each, ms"
	network 4
	netns_tls_cert || exit 1
	for ws in lighttpd nginx apache apache-fcgid; do
		for tls in http https; do
			netns_serve_stop
			if [ "$tls" = https ]; then
				netns_serve_start "$builddir" --web-server "$ws" \
					--tls-cert "$NETNS_TLS_CERT" --tls-key "$NETNS_TLS_KEY" || exit 1
			else
				netns_serve_start "$builddir" --web-server "$ws" || exit 1
			fi
			for fam in 4 6; do
				printf '%s, %s, IPv%d: %s\n' "$ws" "$tls" "$fam" "$(times "$fam" "$runs" | stats)"
			done
		done
	done
}

# first_hop_rtts FAMILY: the RTTs (ms) of TTL 1, the router next to the server, in $runs traces
# by TraceTrout, one a line, after one unmeasured trace.
first_hop_rtts() {
	local fam=$1 i
	netns_trace "$fam" / -o /dev/null
	for ((i = 0; i < runs; i++)); do
		netns_trace "$fam" / | jq -r 'select(type == "object" and .ttl == 1) | .rtt[]?'
	done
}

# traceroute_rtts FAMILY: the same router's RTTs (ms) by Linux traceroute (ICMP echo, 3 probes)
# from the server's namespace toward the visitor, $runs times, after one unmeasured run.
traceroute_rtts() {
	local fam=$1 i
	local -n client=NETNS_CLIENT$fam
	for ((i = 0; i <= runs; i++)); do
		nsx "$NETNS_SERVER" traceroute "-$fam" -n -I -q 3 -f 1 -m 1 "$client" |
			awk -v skip="$((i == 0))" '!skip && $1 == 1 { for (i = 2; i < NF; i++) if ($(i + 1) == "ms") print $i }'
	done
}

# rtt_accuracy: TraceTrout's RTT of the first router against traceroute's, idle and with every
# CPU kept busy (tests/lib/netns.sh netns_busy_start). Targets (issue 11): within 0.05 ms of
# traceroute idle; at most 0.1 ms above the idle figure when busy.
rtt_accuracy() {
	local fam load tt tr
	local -A idle=()
	echo "== hop RTT: the first router (next to the server) by TraceTrout ($runs traces, 3 probes each) and"
	echo "   by traceroute -I -n -q 3 in the server's namespace ($runs runs), 4 routers, medians, ms"
	network 4
	for load in idle busy; do
		[ "$load" = busy ] && netns_busy_start
		for fam in 4 6; do
			tt=$(first_hop_rtts "$fam" | median)
			tr=$(traceroute_rtts "$fam" | median)
			if [ "$load" = idle ]; then
				idle[$fam]=$tt
				awk -v a="$tt" -v b="$tr" -v f="$fam" 'BEGIN {
					d = a - b
					printf "idle, IPv%d: TraceTrout %.3f, traceroute %.3f, difference %+.3f (target within 0.05: %s)\n",
						f, a, b, d, (d <= 0.05 && d >= -0.05) ? "yes" : "NO" }'
			else
				awk -v a="$tt" -v b="$tr" -v i="${idle[$fam]}" -v f="$fam" -v n="$(nproc)" 'BEGIN {
					printf "%d CPUs busy, IPv%d: TraceTrout %.3f, traceroute %.3f, difference %+.3f; TraceTrout above idle %+.3f (target at most 0.1: %s)\n",
						n, f, a, b, a - b, a - i, a - i <= 0.1 ? "yes" : "NO" }'
			fi
		done
	done
	netns_busy_stop
}

# exactness: EXACT_TRACES (2000) traces, IPv4 and IPv6 in turn, EXACT_AT_ONCE (12) at a time,
# 4 routers: how many hop lists were exact, and the wrong ones.
exactness() {
	local n=${EXACT_TRACES:-2000} at_once=${EXACT_AT_ONCE:-12} t0
	echo "== exact hop lists: $n traces, IPv4 and IPv6 in turn, $at_once at once, 4 routers"
	network 4
	t0=$SECONDS
	netns_exact "$n" "$at_once" >"$NETNS_TMP/wrong"
	echo "$((n - $(wc -l <"$NETNS_TMP/wrong"))) of $n exact, $(wc -l <"$NETNS_TMP/wrong") wrong, in $((SECONDS - t0)) s"
	sort -n "$NETNS_TMP/wrong" | sed 's/^/wrong: trace /'
}

# --- issue 12: a trace in three round trips, no timeout tail on lossy or silent paths --------
# RUNS_PATH (default 5) traces, or keep-alive connections, per figure.
runs_path=${RUNS_PATH:-5}

# section_header SETTINGS TITLE...: a section's title lines, then the command that makes the
# section alone, SETTINGS ("NAME=VALUE... BENCH_ONLY=SECTION") before it.
section_header() {
	local settings=$1 line
	shift
	for line; do
		echo "$line"
	done
	echo "   command: $settings bash scripts/bench.sh $builddir"
}

paths_header() {
	section_header "RUNS_PATH=$runs_path BENCH_ONLY=paths" "$@"
}

# paths_network N [netns_build options]: a fresh network with paths_serve.
paths_network() {
	netns_cleanup
	netns_build -n "$@" || exit 1
	mkdir -p "$NETNS_TMP/www"
	paths_serve
}

# paths_serve [tracetrout-serve options]: tracetrout-serve with HOP_TIMEOUT 1s (the default, set
# so that the figures keep their meaning), after one unmeasured trace (the app's first).
paths_serve() {
	netns_serve_stop
	HOP_TIMEOUT=1s netns_serve_start "$builddir" "$@" || exit 1
	netns_trace 4 / -o /dev/null
}

# path_times FAMILY N: N traces (GET /, JSON lines), each on a fresh connection: "TOTAL FIRST",
# curl's total time and its time to the response's first byte (ms), one trace a line. A hop
# list that is not NETNS_HOPS4/6 (what tests/sys compare with) adds a line "FAMILY HOPS [CURL'S
# ERROR]" to $NETNS_TMP/inexact (which exact_count reads).
path_times() {
	local fam=$1 n=$2 i t want
	want=$(netns_hops_text "$fam")
	for ((i = 0; i < n; i++)); do
		t=$(netns_trace "$fam" / -o "$NETNS_TMP/trace" -w '%{time_total} %{time_starttransfer}' \
			2>"$NETNS_TMP/trace.err") || t=
		[ "$(netns_hops <"$NETNS_TMP/trace" 2>&1)" = "$want" ] ||
			echo "$fam $(netns_hops <"$NETNS_TMP/trace" 2>&1 | paste -sd,) $(cat "$NETNS_TMP/trace.err")" \
				>>"$NETNS_TMP/inexact"
		[ -n "$t" ] && awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.3f %.3f\n", a[1] * 1000, a[2] * 1000 }'
	done
}

# exact_count FAMILY N: "K of N": the hop lists of that family that $NETNS_TMP/inexact does
# not name, of N.
exact_count() {
	local wrong
	wrong=$(awk -v f="$1" '$1 == f' "$NETNS_TMP/inexact" 2>/dev/null | wc -l)
	echo "$(($2 - wrong)) of $2"
}

# inexact_list FAMILY: the wrong hop lists of that family, one a line.
inexact_list() {
	awk -v f="$1" '$1 == f { $1 = ""; print "   wrong:" $0 }' "$NETNS_TMP/inexact" 2>/dev/null
}

# ping_rtt FAMILY: the visitor's round trip to the server in ms, the median of ping -c 5.
ping_rtt() {
	local -n server=NETNS_SERVER$1
	nsx "$NETNS_VISITOR" ping -n -c 5 -i 0.2 "$server" | sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' | median
}

# delayed_path WHAT [netns_build options]: curl's total time of GET / on a fresh plain-HTTP
# connection over 4 routers each holding every packet it forwards 5 ms each way (a 40 ms round
# trip), in ms and in round trips of the visitor's ping to the server, measured in the same run.
delayed_path() {
	local what=$1 fam rtt
	shift
	paths_network 4 "$@"
	netns_path_delay 5 || exit 1
	rm -f "$NETNS_TMP/inexact"
	for fam in 4 6; do
		rtt=$(ping_rtt "$fam")
		[ -n "$rtt" ] || { echo "bench: no ping answered over the delayed path" >&2; exit 1; }
		path_times "$fam" "$runs_path" >"$NETNS_TMP/ms$fam"
		printf 'IPv%d, %s: RTT (ping) %s ms\n' "$fam" "$what" "$rtt"
		printf '   curl total time, ms: %s\n' "$(cut -d' ' -f1 "$NETNS_TMP/ms$fam" | stats)"
		printf '   round trips:         %s\n' \
			"$(awk -v r="$rtt" '{ printf "%.3f\n", $1 / r }' "$NETNS_TMP/ms$fam" | stats)"
		printf '   of which to the first byte of the response: %s\n' \
			"$(awk -v r="$rtt" '{ printf "%.3f\n", $2 / r }' "$NETNS_TMP/ms$fam" | stats)"
		printf '   hop lists exact:     %s\n' "$(exact_count "$fam" "$runs_path")"
		inexact_list "$fam"
	done
}

# lab_path WHAT ROUTER_DROPPING [netns_build options]: curl's total time of GET / on the plain lab
# network (0.1 ms round trip), and how many hop lists were exact; with ROUTER_DROPPING (not 0),
# the packets that router dropped meanwhile.
lab_path() {
	local what=$1 router=$2 fam d0=0
	shift 2
	paths_network 4 "$@"
	rm -f "$NETNS_TMP/inexact" "$NETNS_TMP/ms"
	[ "$router" = 0 ] || d0=$(netns_dropped "$router")
	for fam in 4 6; do
		path_times "$fam" "$runs_path" >"$NETNS_TMP/ms$fam"
		printf 'IPv%d, %s: curl total time, ms: %s; hop lists exact: %s\n' "$fam" "$what" \
			"$(cut -d' ' -f1 "$NETNS_TMP/ms$fam" | stats)" "$(exact_count "$fam" "$runs_path")"
		inexact_list "$fam"
		cat "$NETNS_TMP/ms$fam" >>"$NETNS_TMP/ms"
	done
	[ "$router" = 0 ] && return 0
	# A lost SYN, SYN-ACK or request waits for TCP's own retransmission (1 s, 0.2 s) before
	# the response, and so before any probe: no engine shortens that.
	echo "   router $router dropped $(($(netns_dropped "$router") - d0)) packets during these $((2 * runs_path)) traces;" \
		"$(awk '$2 >= 150' "$NETNS_TMP/ms" | wc -l) of them began their response 150 ms late or more (TCP's own retransmission)"
}

# three_traces FAMILY [CURL OPTIONS...]: one curl, one connection, three traces one after the
# other ($NETNS_TMP/ka.1 to ka.3); per trace a line "MS OWN_MS NEW_CONNECTIONS HTTP_VERSION": curl's
# total time, and that less its time to be ready to send the request (the first trace's
# connection and TLS handshake; nothing on a reused connection).
three_traces() {
	local fam=$1 url
	shift
	url=$(netns_url "$fam" /)
	nsx "$NETNS_VISITOR" curl -sS -N --max-time 60 ${NETNS_CACERT:+--cacert "$NETNS_CACERT"} "$@" \
		-w '%{time_total} %{time_pretransfer} %{num_connects} %{http_version}\n' \
		"$url" -o "$NETNS_TMP/ka.1" "$url" -o "$NETNS_TMP/ka.2" "$url" -o "$NETNS_TMP/ka.3" |
		awk '{ printf "%.3f %.3f %s %s\n", $1 * 1000, ($1 - $2) * 1000, $3, $4 }'
}

# keepalive_runs WHAT [CURL OPTIONS...]: three_traces $runs_path times a family; the median of
# each position, and whether every run had one connection and every hop list was exact.
keepalive_runs() {
	local what=$1 fam i j pos bad
	shift
	for fam in 4 6; do
		: >"$NETNS_TMP/ka.times"
		bad=0
		for ((i = 0; i < runs_path; i++)); do
			three_traces "$fam" "$@" >"$NETNS_TMP/ka.w"
			cat "$NETNS_TMP/ka.w" >>"$NETNS_TMP/ka.times"
			# One connection: 1 new, then 0 and 0; three answers, each exact.
			[ "$(awk '{ printf "%s", $3 }' "$NETNS_TMP/ka.w")" = 100 ] || bad=$((bad + 1))
			for j in 1 2 3; do
				[ "$(netns_hops <"$NETNS_TMP/ka.$j" 2>&1)" = "$(netns_hops_text "$fam")" ] ||
					bad=$((bad + 1))
			done
		done
		for pos in 1 2 3; do
			printf 'IPv%d, %s (HTTP/%s), trace %d on the connection, ms: %s\n' "$fam" "$what" \
				"$(awk 'NR == 1 { print $4 }' "$NETNS_TMP/ka.times")" "$pos" \
				"$(awk -v p="$pos" '(NR - 1) % 3 == p - 1 { print $1 }' "$NETNS_TMP/ka.times" | stats)"
		done
		printf "   trace 1 less the connection's setup (TCP, TLS): %s\n" \
			"$(awk 'NR % 3 == 1 { print $2 }' "$NETNS_TMP/ka.times" | stats)"
		if [ "$bad" = 0 ]; then
			echo "   every run on one connection, every hop list exact"
		else
			echo "   $bad faults: a run on more than one connection, or a hop list not exact"
		fi
	done
}

# paths: the figures of issue 12, with the figures before it quoted as fixed text.
paths() {
	paths_header "== issue 12, (a) GET / (JSON lines) on a fresh plain-HTTP connection over a 40 ms path:" \
		"   4 routers, each holding every packet it forwards 5 ms each way (tests/lib/pathemu)," \
		"   HOP_TIMEOUT=1s, $runs_path traces a family; round trips = curl's time / the ping RTT" \
		"   before issue 12: 165 ms = 4.1 RTT; original Go TraceTrout 1.29 s" \
		"   issue 12's goal: at most 3.5 round trips (aim: 3.0)"
	delayed_path "40 ms path"

	echo
	paths_header "== issue 12, (b) the same 40 ms path with router 2 silent (netns_build -s 2)" \
		"   issue 12's goal: at most 4 round trips"
	delayed_path "40 ms path, router 2 silent" -s 2

	echo
	paths_header "== issue 12, (c) the lab network (4 routers, no delay), HOP_TIMEOUT=1s, $runs_path traces a family:" \
		"   router 2 silent (-s 2), and router 2 dropping every tenth packet it forwards (-d 2)" \
		"   before issue 12: silent 1.005 s, dropping 1.006 s (original Go TraceTrout, silent: 10.6 s)" \
		"   issue 12's goal: medians at most 100 ms, every hop list exact"
	lab_path "router 2 silent" 0 -s 2
	lab_path "router 2 drops 1 in 10" 2 -d 2

	echo
	paths_header "== issue 12, (d) three traces one after the other on one connection (one curl, three URLs)," \
		"   the lab network (4 routers), $runs_path connections a family, curl's time of each trace" \
		"   before: 5.0, 2.2, 47.2 ms (TLS: 1.7, 47.1)" \
		"   issue 12's goal: every trace on a reused connection within 2 ms of the first"
	paths_network 4
	netns_tls_cert || exit 1
	keepalive_runs "plain" --http1.1
	paths_serve --tls-cert "$NETNS_TLS_CERT" --tls-key "$NETNS_TLS_KEY"
	keepalive_runs "TLS" --http1.1
	keepalive_runs "TLS" --http2
}

# stored: a stored trace by its permalink, many times at once (the web server, the app and the
# broker's GET verb; no probes), on the network already running.
stored() {
	local id fmt i
	echo "== a stored trace by its permalink through lighttpd (wrk -t2 -c32 -d5s on loopback in the"
	echo "   server namespace), requests/s, median of 3 runs a format"
	id=$(netns_trace 4 / -D - -o /dev/null | tr -d '\r' | sed -n 's/^[Xx]-[Tt]race-[Ii]d: //p')
	for fmt in json text atlas html; do
		for ((i = 0; i < 3; i++)); do
			nsx "$NETNS_SERVER" wrk -t2 -c32 -d5s \
				"http://127.0.0.1:$NETNS_PORT/trace/$id?format=$fmt" 2>&1 |
				awk '$1 == "Requests/sec:" { print $2 }
					$1 == "Non-2xx" { print "errors", $0 > "/dev/stderr" }'
		done | { printf '%s: ' "$fmt"; stats; }
	done
}

# --- issue 15: throughput, no harm under load, rate-limited routers, overload -----------------
# Each figure is the median of RUNS_LOAD (3) runs, and every ratio is against a baseline
# measured in the same run. LOAD_TRACES (2000) requests a run, LOAD_AT_ONCE (64) at once;
# BULK_MB (50) and BULK_RATE (200mbit) the download; OVERLOAD_S (10) each open-loop run;
# RATELIMIT_S (60) the rate-limited routers' load, a family.
runs_load=${RUNS_LOAD:-3}
load_traces=${LOAD_TRACES:-2000}
load_at_once=${LOAD_AT_ONCE:-64}
bulk_mb=${BULK_MB:-50}
bulk_rate=${BULK_RATE:-200mbit}
overload_s=${OVERLOAD_S:-10}
ratelimit_s=${RATELIMIT_S:-60}
# A trace id never stored: lighttpd, the app and the broker's look-up answer 404; no probe.
untraced_path=/trace/00000000000000000000000000000000

load_header() {
	if [ "${BENCH_ONLY:-}" = overload ]; then
		section_header "LOAD_RATE=${LOAD_RATE:-1000} OVERLOAD_S=$overload_s BENCH_ONLY=overload" "$@"
	else
		section_header "RUNS_LOAD=$runs_load LOAD_TRACES=$load_traces RATELIMIT_S=$ratelimit_s BENCH_ONLY=load" "$@"
	fi
}

# load_network VISITORS [netns_build options]: 4 routers, VISITORS more visitor addresses
# (netns_visitors), tracetrout-serve (lighttpd) with the helper's limits raised (NETNS_NO_LIMITS,
# netns_serve_start's default), after one unmeasured trace; hpid and epid are the broker's and
# the engine's (its child) pids. The bulk download binds ports 45000-45009 (curl --local-port),
# which netns_build reserves, so that the load's connections stay out of its slow lane and ss
# filter.
load_network() {
	local visitors=$1
	shift
	netns_cleanup
	netns_build -n 4 "$@" || exit 1
	netns_visitors "$visitors" || exit 1
	mkdir -p "$NETNS_TMP/www"
	netns_serve_start "$builddir" || exit 1
	hpid=$(netns_helper_pid)
	epid=$(ps --ppid "$hpid" -o pid= | tr -d ' ')
	[ -n "$epid" ] || { echo "bench: no engine under the broker ($hpid)" >&2; exit 1; }
	netns_trace 4 / -o /dev/null
}

# load_run NAME [ttload options...]: tests/lib/ttload in the visitor's namespace, from the
# addresses of netns_visitors to NETNS_PORT: its key=value lines in $NETNS_TMP/NAME.kv (its
# errors in NAME.err), the latencies of its 200s in NAME.lat, its wrong answers in NAME.wrong.
load_run() {
	local name=$1
	shift
	rm -f "$NETNS_TMP/$name.wrong"
	nsx "$NETNS_VISITOR" "$ttload_bin" -P "$NETNS_PORT" -S "$NETNS_VISITORS_FROM" \
		-w "$NETNS_TMP/$name.wrong" -L "$NETNS_TMP/$name.lat" "$@" \
		>"$NETNS_TMP/$name.kv" 2>"$NETNS_TMP/$name.err"
}

# load_both NAME [ttload options...]: load_run to both of the server's addresses, IPv4 and IPv6
# in turn.
load_both() {
	local name=$1
	shift
	load_run "$name" -4 "$NETNS_SERVER4" -6 "$NETNS_SERVER6" "$@"
}

# load_hops FAMILY: ttload's -H or -h and the routers of NETNS_HOPS4/6 (ttload adds the
# visitor), as two words.
load_hops() {
	local -n h=NETNS_HOPS$1
	local IFS=,
	if [ "$1" = 4 ]; then echo "-H ${h[*]:0:${#h[@]}-1}"; else echo "-h ${h[*]:0:${#h[@]}-1}"; fi
}

# kv NAME KEY [DEFAULT]: the first word of KEY's value in $NETNS_TMP/NAME.kv ("errors=2 (timeout
# 2)": 2), DEFAULT (0) when ttload did not print it.
kv() {
	awk -F= -v k="$2" -v d="${3:-0}" '$1 == k { split($2, w, " "); v = w[1] } END { print v == "" ? d : v }' \
		"$NETNS_TMP/$1.kv"
}

# cpu_ticks PID: its user and system CPU so far, in clock ticks (after the name, which could
# hold spaces: utime and stime are the 12th and 13th fields).
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# rss_of PID [VmHWM]: its resident memory (VmRSS), or its peak, in KiB.
rss_of() {
	awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# marked: connections in the server's conntrack that carry the trace mark (traces running).
marked() {
	nsx "$NETNS_SERVER" conntrack -f ipv4 -L -m 0x100000/0x100000 2>/dev/null | wc -l
}

# start_sampler: every 0.2 s the engine's and the broker's RSS (KiB) and the traces running, into
# $NETNS_TMP/samples, until the engine (epid; hpid the broker) exits or $sampler is killed.
start_sampler() {
	(
		while kill -0 "$epid" 2>/dev/null; do
			echo "$(rss_of "$epid") $(rss_of "$hpid") $(marked)"
			sleep 0.2
		done
	) >"$NETNS_TMP/samples" 2>/dev/null &
	sampler=$!
}

# snapshot FILE: the server's TCP counters of interest and the CPU ticks of its processes
# ("cpu.engine", "cpu.broker", the others by name: lighttpd, tracetrout.fcgi), "NAME VALUE";
# the whole machine's ("cpu.all": everything but idle; "cpu.irq": interrupts and softirqs, where
# the lab's routers forward) and the packets the server's interfaces received and sent ("pkt.rx",
# "pkt.tx").
snapshot() {
	local pid label
	{
		nsx "$NETNS_SERVER" nstat -asz TcpRetransSegs TcpExtTCPLossProbes \
			TcpExtTCPSpuriousRtxHostQueues | awk '$1 ~ /^Tcp/ { print $1, $2 }'
		awk '$1 == "cpu" { print "cpu.all", $2 + $3 + $4 + $7 + $8; print "cpu.irq", $7 + $8 }' /proc/stat
		nsx "$NETNS_SERVER" cat /proc/net/dev | awk -F'[: ]+' 'NR > 2 && $2 != "lo" {
			rx += $4; tx += $12 } END { print "pkt.rx", rx; print "pkt.tx", tx }'
		for pid in $(ip netns pids "$NETNS_SERVER"); do
			case $pid in
			"$hpid") label=broker ;;
			"$epid") label=engine ;;
			*) label=$(cat "/proc/$pid/comm" 2>/dev/null) ;;
			esac
			echo "cpu.$label $(cpu_ticks "$pid")"
		done | awk 'NF == 2 { t[$1] += $2 } END { for (l in t) print l, t[l] }'
	} >"$1"
}

# record KIND NAME N BEFORE AFTER: one run's figures into $NETNS_TMP/load.fig as "KIND KEY
# VALUE" lines, run after run: ttload's (its rate counts 200s only), answered_rate (N answers a
# second), the counters' differences between the snapshots BEFORE and AFTER, the CPU of each
# process per answer (cpu.NAME_us, in us) and the packets per answer (pkt.NAME_per).
record() {
	local kind=$1 name=$2 n=$3 tck
	tck=$(getconf CLK_TCK)
	{
		awk -F= -v n="$n" '{ split($2, w, " "); print $1, w[1] } $1 == "seconds" { s = $2 }
			END { print "answered_rate", (s > 0 ? n / s : 0) }' "$NETNS_TMP/$name.kv"
		awk -v tck="$tck" -v n="$n" 'NR == FNR { b[$1] = $2; next }
			/^cpu\./ { printf "%s_us %.1f\n", $1, n ? ($2 - b[$1]) * 1e6 / tck / n : 0; next }
			/^pkt\./ { printf "%s_per %.1f\n", $1, n ? ($2 - b[$1]) / n : 0; next }
			{ print $1, $2 - b[$1] }' "$4" "$5"
	} | sed "s/^/$kind /" >>"$NETNS_TMP/load.fig"
}

# fig KIND KEY: that figure of every run of KIND, one a line, in run order.
fig() {
	awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 }' "$NETNS_TMP/load.fig"
}

# per_run KIND KEY: the same, comma-separated.
per_run() {
	fig "$@" | paste -sd, - | sed 's/,/, /g'
}

# throughput: traced (GET /) against untraced requests (the 404 above) with ttload -c 64, each
# run its untraced then its traced requests; sets load_rate (the traces a second, median).
throughput() {
	local i
	load_header "== issue 15, throughput: GET / traced against GET $untraced_path (a 404 through" \
		"   lighttpd, the app and the broker's store, no probe), tests/lib/ttload -c $load_at_once closed loop," \
		"   $load_traces requests a run, IPv4 and IPv6 in turn, from ${LOAD_VISITORS:-200} visitor addresses, 4 routers," \
		"   the helper's limits raised; median (min, max) of $runs_load runs, each untraced then traced" \
		"   issue 15's goal: at least 2,000 traces a second with 64 at once and at least half the untraced" \
		"   rate; p99 at most 50 ms; every hop list exact; no server retransmission caused by tracing"
	load_network "${LOAD_VISITORS:-200}"
	rm -f "$NETNS_TMP/load.fig"
	# shellcheck disable=SC2046  # load_hops gives two words for each family
	for ((i = 0; i < runs_load; i++)); do
		snapshot "$NETNS_TMP/s0"
		load_both untraced -n "$load_traces" -c "$load_at_once" -p "$untraced_path"
		snapshot "$NETNS_TMP/s1"
		record u untraced "$(($(kv untraced requests) - $(kv untraced errors)))" "$NETNS_TMP/s0" "$NETNS_TMP/s1"
		# Answers but 404s: ttload keeps every status but 200 and 503 in its -w file.
		echo "u not404 $(($(kv untraced requests) - $(kv untraced errors) - $(awk '/^# request / && $8 == 404' \
			"$NETNS_TMP/untraced.wrong" | wc -l)))" >>"$NETNS_TMP/load.fig"
		load_both traced -n "$load_traces" -c "$load_at_once" $(load_hops 4) $(load_hops 6)
		snapshot "$NETNS_TMP/s2"
		record t traced "$(kv traced status_200)" "$NETNS_TMP/s1" "$NETNS_TMP/s2"
		cat "$NETNS_TMP/traced.wrong" >>"$NETNS_TMP/throughput.wrong" 2>/dev/null
	done
	printf 'untraced, answers/s:   %s\n' "$(fig u answered_rate | stats)"
	printf 'traced, traces/s:      %s\n' "$(fig t rate | stats)"
	printf 'traced/untraced:       %s\n' \
		"$(paste <(fig t rate) <(fig u answered_rate) | awk '{ printf "%.3f\n", $2 ? $1 / $2 : 0 }' | stats)"
	printf 'traced p50, ms:        %s\n' "$(fig t p50_ms | stats)"
	printf 'traced p99, ms:        %s\n' "$(fig t p99_ms | stats)"
	echo "exact hop lists, per run: $(per_run t ok) of $load_traces; exact with reused routers $(per_run t ok_reused); wrong $(per_run t wrong);" \
		"errors $(per_run t errors); 503 $(per_run t status_503); other statuses $(per_run t status_other)"
	echo "untraced, per run: errors $(per_run u errors); answers other than 404 $(per_run u not404)"
	echo "ttload's own CPU, % of one core (its headroom): untraced $(fig u cpu_pct | stats)"
	echo "                                                traced   $(fig t cpu_pct | stats)"
	echo "server TcpRetransSegs, per run: untraced $(per_run u TcpRetransSegs); traced $(per_run t TcpRetransSegs)"
	echo "   TcpExtTCPLossProbes: untraced $(per_run u TcpExtTCPLossProbes); traced $(per_run t TcpExtTCPLossProbes)"
	echo "   TcpExtTCPSpuriousRtxHostQueues: untraced $(per_run u TcpExtTCPSpuriousRtxHostQueues);" \
		"traced $(per_run t TcpExtTCPSpuriousRtxHostQueues)"
	echo "CPU per trace, us: engine $(fig t cpu.engine_us | stats)"
	echo "                   broker $(fig t cpu.broker_us | stats)"
	echo "                   lighttpd $(fig t cpu.lighttpd_us | stats)"
	echo "                   app $(fig t cpu.tracetrout.fcgi_us | stats)"
	echo "CPU per untraced request, us: broker $(fig u cpu.broker_us | median), lighttpd" \
		"$(fig u cpu.lighttpd_us | median), app $(fig u cpu.tracetrout.fcgi_us | median)"
	echo "the whole machine's CPU, us: per trace $(fig t cpu.all_us | median), of it interrupts and" \
		"softirqs $(fig t cpu.irq_us | median); per untraced request $(fig u cpu.all_us | median)" \
		"($(fig u cpu.irq_us | median)). The routers forward in softirqs on the same 2 cores."
	echo "the server's packets: per trace received $(fig t pkt.rx_per | median), sent" \
		"$(fig t pkt.tx_per | median); per untraced request $(fig u pkt.rx_per | median)," \
		"$(fig u pkt.tx_per | median)"
	echo "after the runs: engine VmRSS $(rss_of "$epid") KiB, VmHWM $(rss_of "$epid" VmHWM) KiB;" \
		"broker VmRSS $(rss_of "$hpid") KiB, VmHWM $(rss_of "$hpid" VmHWM) KiB"
	show_wrong throughput
	load_rate=$(fig t rate | median)
	load_goals
}

# show_wrong NAME: the first 5 answers ttload's -w kept in $NETNS_TMP/NAME.wrong (a wrong hop
# list, a status but 200 and 503; not one exact with reused routers), one line each: request,
# family, source, status, hops.
show_wrong() {
	local n
	[ -s "$NETNS_TMP/$1.wrong" ] || return 0
	n=$(grep '^# request' "$NETNS_TMP/$1.wrong" | grep -vc ' reused$')
	[ "$n" -gt 0 ] || return 0
	echo "   the first wrong answers of $n (ttload -w):"
	grep '^# request' "$NETNS_TMP/$1.wrong" | grep -v ' reused$' | head -n 5 | sed 's/^#/  /'
}

# sum: the sum of the numbers on stdin.
sum() {
	awk '{ s += $1 } END { print s + 0 }'
}

# load_goals: issue 15's throughput goals against the medians of the runs in load.fig.
load_goals() {
	local ratio p99 bad rt ru
	ratio=$(paste <(fig t rate) <(fig u answered_rate) | awk '{ printf "%.3f\n", $2 ? $1 / $2 : 0 }' | median)
	p99=$(fig t p99_ms | median)
	bad=$(cat <(fig t wrong) <(fig t ok_reused) <(fig t errors) <(fig t status_503) <(fig t status_other) | sum)
	rt=$(fig t TcpRetransSegs | sum)
	ru=$(fig u TcpRetransSegs | sum)
	awk -v r="$load_rate" -v q="$ratio" -v p="$p99" -v bad="$bad" -v rt="$rt" -v ru="$ru" 'BEGIN {
		printf "goals: 2,000 traces/s %s (%.0f); half the untraced rate %s (%.3f); p99 <= 50 ms %s (%.1f);",
			r >= 2000 ? "yes" : "NO", r, q >= 0.5 ? "yes" : "NO", q, p <= 50 ? "yes" : "NO", p
		printf " every hop list exact and measured now, all 200 %s; no retransmission in the traced runs %s (%d; untraced runs %d)\n",
			bad == 0 ? "yes" : "NO", rt == 0 ? "yes" : "NO", rt, ru }'
}

# bulk_once LOAD: the download of /files/big from the visitor's own address through the slow
# lane (curl --local-port 45000-45009), with LOAD running meanwhile: "alone", "untraced" or
# "traced" (ttload, closed loop, for bulk_load_s seconds from 0.5 s before it). Records
# "bulk-LOAD seconds", its own retransmissions, the server's in all, and the load's rate and
# whether it lasted the whole download. Its own: the server socket's tcp_info (total_retrans,
# ss's "retrans:N/TOTAL", absent when 0) as the kernel reports the socket destroyed (ss -E), so
# that the load's retransmissions, which TcpRetransSegs counts too, are not counted.
bulk_once() {
	local load=$1 ev=$NETNS_TMP/bulk.ev evpid lpid='' t r0 i lasted=1
	: >"$ev"
	ip netns exec "$NETNS_SERVER" stdbuf -oL ss -HtinE \
		"dst $NETNS_CLIENT4 and dport >= :45000 and dport <= :45009" >"$ev" 2>&1 &
	evpid=$!
	r0=$(netns_tcp_retrans "$NETNS_SERVER")
	sleep 0.3
	# shellcheck disable=SC2046  # load_hops gives two words for each family
	case $load in
	untraced) load_both bulk-load -d "$bulk_load_s" -c "$load_at_once" -p "$untraced_path" & ;;
	traced) load_both bulk-load -d "$bulk_load_s" -c "$load_at_once" $(load_hops 4) $(load_hops 6) & ;;
	esac
	[ "$load" = alone ] || { lpid=$!; sleep 0.5; }
	t=$(nsx "$NETNS_VISITOR" curl -sS --local-port 45000-45009 -o /dev/null -w '%{time_total}' \
		"$(netns_url 4 /files/big)")
	if [ -n "$lpid" ]; then
		kill -0 "$lpid" 2>/dev/null || lasted=0
		wait "$lpid"
	fi
	for ((i = 0; i < 30; i++)); do
		grep -q bytes_sent "$ev" && break
		sleep 0.1
	done
	kill "$evpid" 2>/dev/null
	wait "$evpid" 2>/dev/null
	{
		echo "seconds ${t:-0}"
		awk '/bytes_sent:/ { r = 0; for (i = 1; i <= NF; i++) if ($i ~ /^retrans:/) { split($i, a, "/"); r = a[2] }
			b = $0; sub(/.*bytes_sent:/, "", b); b += 0; if (b >= best) { best = b; own = r; seen = 1 } }
			END { print "own_retrans", seen ? own : "?" }' "$ev"
		echo "server_retrans $(($(netns_tcp_retrans "$NETNS_SERVER") - r0))"
		if [ -n "$lpid" ]; then
			# Traces (200s) a second of the traced load, answers a second of the untraced.
			awk -v ok="$(kv bulk-load status_200)" -v n="$(($(kv bulk-load requests) - $(kv bulk-load errors)))" \
				-v s="$(kv bulk-load seconds)" -v traced="$([ "$load" = traced ] && echo 1)" \
				'BEGIN { printf "load_rate %.1f\n", (s > 0 ? (traced ? ok : n) / s : 0) }'
			echo "load_wrong $(kv bulk-load wrong)"
			echo "lasted $lasted"
		fi
	} | sed "s/^/bulk-$load /" >>"$NETNS_TMP/load.fig"
}

# bulk: the download alone, during untraced load and during traced load, runs_load times each
# (in turn), on the throughput's network.
bulk() {
	local i load alone
	load_header "== issue 15, no harm: a $bulk_mb MB download on the same port (GET /files/big, curl from the" \
		"   visitor's own address), paced to $bulk_rate by HTB at the server (netns_slow_lane), alone, during" \
		"   untraced and during traced load (ttload -c $load_at_once closed loop, from 0.5 s before it to after it);" \
		"   its own retransmissions from its server socket's tcp_info at its close (ss -tinE), apart from" \
		"   the load's; median (min, max) of $runs_load runs" \
		"   issue 15's goal: the same time, and no more retransmissions, during traced load as during untraced"
	head -c "${bulk_mb}M" /dev/urandom >"$NETNS_TMP/www/big"
	netns_slow_lane "$bulk_rate" || exit 1
	bulk_load_s=1
	for ((i = 0; i < runs_load; i++)); do
		for load in alone untraced traced; do
			bulk_once "$load"
			# The load lasts twice the download alone, and 2 s more.
			[ "$load" = alone ] && bulk_load_s=$(fig bulk-alone seconds | median | awk '{ printf "%d", 2 * $1 + 2.5 }')
		done
	done
	for load in alone untraced traced; do
		printf '%-9s time, s: %s; its own retransmissions, per run: %s (the server'"'"'s in all: %s)\n' \
			"$load:" "$(fig "bulk-$load" seconds | stats)" "$(per_run "bulk-$load" own_retrans)" \
			"$(per_run "bulk-$load" server_retrans)"
	done
	alone=$(fig bulk-alone seconds | median)
	echo "the untraced load meanwhile: $(fig bulk-untraced load_rate | median) answers/s, lasted the download in" \
		"$(fig bulk-untraced lasted | sum) of $runs_load runs"
	echo "the traced load meanwhile: $(fig bulk-traced load_rate | median) traces/s, $(per_run bulk-traced load_wrong) wrong," \
		"lasted the download in $(fig bulk-traced lasted | sum) of $runs_load runs"
	paste <(fig bulk-traced seconds) <(fig bulk-untraced seconds) <(fig bulk-traced own_retrans) \
		<(fig bulk-untraced own_retrans) | awk -v a="$alone" '
		{ q = q (NR > 1 ? ", " : "") sprintf("%.3f", $2 ? $1 / $2 : 0); if ($3 > $4) more++ }
		END { printf "time traced/untraced, per run: %s (alone %.2f s); goal: no more own retransmissions traced than untraced %s\n",
			q, a, more ? "NO (" more " runs more)" : "yes" }'
}

# overload: open loop (ttload -r) at twice load_rate, the throughput's traces a second, for
# overload_s seconds; right after, at half that (load_rate itself), then at half load_rate: at
# exactly the rate a closed loop sustains, an open loop's queue may still grow, so the second
# shows the recovery below it. The engine's and the broker's RSS are sampled every 0.2 s
# throughout. What the server does beyond its capacity is reported as it is.
overload() {
	local over sustain half
	over=$(awk -v r="${load_rate:-0}" 'BEGIN { printf "%d", 2 * r }')
	sustain=$((over / 2))
	half=$((over / 4))
	load_header "== issue 15, overload: open loop (ttload -r RATE -d $overload_s -c 1024) at twice the sustainable rate" \
		"   (the throughput's median, ${load_rate:-?} traces/s): $over requests/s for $overload_s s; right after, $sustain/s" \
		"   (half that), then $half/s; the throughput's network, IPv4 and IPv6 in turn, every hop list checked" \
		"   issue 15's goal: beyond capacity a fast 503 with Retry-After, not a slow trace; memory" \
		"   bounded; the rate recovers as soon as the load drops"
	[ "$over" -gt 0 ] || { echo "no sustainable rate measured: skipped"; return 0; }
	start_sampler
	snapshot "$NETNS_TMP/s0"
	# shellcheck disable=SC2046  # load_hops gives two words for each family
	load_both over -r "$over" -d "$overload_s" -c 1024 $(load_hops 4) $(load_hops 6)
	snapshot "$NETNS_TMP/s1"
	record o over "$(kv over status_200)" "$NETNS_TMP/s0" "$NETNS_TMP/s1"
	# shellcheck disable=SC2046
	load_both sustain -r "$sustain" -d "$overload_s" -c 1024 $(load_hops 4) $(load_hops 6)
	# shellcheck disable=SC2046
	load_both half -r "$half" -d "$overload_s" -c 1024 $(load_hops 4) $(load_hops 6)
	sleep 1
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	over_line over "$over"
	echo "   Retry-After values: $(sed -n 's/^retry_after=//p' "$NETNS_TMP/over.kv")"
	echo "   CPU per trace, us: engine $(fig o cpu.engine_us), broker $(fig o cpu.broker_us)"
	show_wrong over
	over_line sustain "$sustain"
	show_wrong sustain
	over_line half "$half"
	show_wrong half
	awk '$1 > e { e = $1 } $2 > b { b = $2 } $3 > m { m = $3 }
		END { printf "peaks during the three runs: RSS engine %d KiB, broker %d KiB; IPv4 traces at once (marked) %d\n", e, b, m }' \
		"$NETNS_TMP/samples"
	echo "after them: engine VmRSS $(rss_of "$epid") KiB, VmHWM $(rss_of "$epid" VmHWM) KiB;" \
		"broker VmRSS $(rss_of "$hpid") KiB, VmHWM $(rss_of "$hpid" VmHWM) KiB"
}

# over_line NAME RATE: one open-loop run's answers ("-": no such answer).
over_line() {
	local n=$1
	echo "$2/s offered for $overload_s s: $(kv "$n" requests) started, $(kv "$n" skipped) skipped (1024 in flight);" \
		"200: $(kv "$n" status_200) ($(kv "$n" rate)/s, p50 $(kv "$n" p50_ms -) ms, p99 $(kv "$n" p99_ms -) ms," \
		"$(kv "$n" ok_reused) exact with reused routers, $(kv "$n" wrong) wrong); 503: $(kv "$n" status_503) (p50 $(kv "$n" p50_503_ms -) ms, p99 $(kv "$n" p99_503_ms -) ms);" \
		"other: $(kv "$n" status_other); errors: $(sed -n 's/^errors=//p' "$NETNS_TMP/$n.kv")"
}

# ratelimit_family FAMILY: 5 traces a second in all from the 20 visitors for ratelimit_s seconds
# (ttload -r 5 -c 20), then each router's share of the traces: measured now, reused, present.
# ttload's hop check passes the traces that measured every router now; it keeps every other
# answer (a reused router is a timeout to it) in its -w file, whose hop lines jq reads here.
ratelimit_family() {
	local fam=$1 n ok total ttl r
	local -n hops=NETNS_HOPS$fam
	local -n server=NETNS_SERVER$fam
	n=$((${#hops[@]} - 1))
	# shellcheck disable=SC2046  # load_hops gives two words
	load_run "rl$fam" "-$fam" "$server" -r "${RATELIMIT_RATE:-5}" -d "$ratelimit_s" -c "$rl_visitors" \
		$(load_hops "$fam")
	total=$(kv "rl$fam" requests)
	ok=$(kv "rl$fam" ok)
	# Per kept 200: "exact K1 ... Kn", exact 1 when the routers, a reused one counting as its
	# hop, then the visitor (the request's source) are the whole list; Kt m (measured now),
	# r (reused) or x for TTL t.
	awk '/^# request / { id = $3; src = $6; st = $8; next } st == 200 && /^[ \t]*\{/ { print id "\t" src "\t" $0 }' \
		"$NETNS_TMP/rl$fam.wrong" 2>/dev/null |
		jq -R -n -r --argjson want "$(printf '%s\n' "${hops[@]:0:n}" | jq -R . | jq -s -c .)" '
			[inputs | split("\t") | {id: .[0], src: .[1], l: (.[2] | fromjson? // null)}
				| select(.l | type == "object" and has("ttl"))]
			| group_by(.id)[]
			| (map(.l | if .timeout == true then (.reused.ip // "*") else .ip end)) as $got
			| ([range(0; $want | length) as $i | [.[] | select(.l.ttl == $i + 1) | .l][0]
				| if . == null then "x" elif .ip == $want[$i] then "m"
				elif .reused.ip == $want[$i] then "r" else "x" end]) as $k
			| "\(if $got == $want + [.[0].src] then 1 else 0 end) \($k | join(" "))"' \
		>"$NETNS_TMP/rl$fam.kinds"
	echo "IPv$fam: $total traces (${RATELIMIT_RATE:-5}/s for $ratelimit_s s), $(kv "rl$fam" status_200) answered 200," \
		"errors $(sed -n 's/^errors=//p' "$NETNS_TMP/rl$fam.kv"); $ok measured every router now;" \
		"$(awk '$1 == 1' "$NETNS_TMP/rl$fam.kinds" | wc -l) more exact when reused routers count," \
		"$(awk '$1 == 0' "$NETNS_TMP/rl$fam.kinds" | wc -l) wrong"
	for ((ttl = 1; ttl <= n; ttl++)); do
		r=${hops[ttl - 1]}
		awk -v t="$((ttl + 1))" -v ok="$ok" -v total="$total" -v ttl="$ttl" -v r="$r" -v goal="${RATELIMIT_PRESENT_PCT:-95}" '
			$t == "m" { m++ } $t == "r" { u++ }
			END {
				m += ok; p = m + u; d = total ? total / 100 : 1
				printf "   TTL %d (%s): measured now %.1f%%, reused %.1f%%, present %.1f%% (at least %d%%: %s)\n",
					ttl, r, m / d, u / d, p / d, goal, p / d >= goal ? "yes" : "NO" }' "$NETNS_TMP/rl$fam.kinds"
	done
}

# ratelimited: routers 4 and 3 at Linux's default ICMP limit, 20 visitors, each family in turn.
ratelimited() {
	rl_visitors=${RATELIMIT_VISITORS:-20}
	load_header "== issue 15, rate-limited routers: routers 4 and 3 (TTLs 1 and 2) at Linux's default ICMP limit" \
		"   (netns_build -n 4 -l 4 -l 3), $rl_visitors visitor addresses tracing ${RATELIMIT_RATE:-5} times a second in all" \
		"   (ttload -r ${RATELIMIT_RATE:-5} -c $rl_visitors) for $ratelimit_s s, IPv4 then IPv6; shares of all traces" \
		"   issue 15's goal: every router in at least ${RATELIMIT_PRESENT_PCT:-95}% of traces, measured now or reused"
	load_network "$rl_visitors" -l 4 -l 3
	ratelimit_family 4
	ratelimit_family 6
}

# load: issue 15's figures, each section on its network.
load() {
	throughput
	echo
	bulk
	echo
	overload
	echo
	ratelimited
}

# --- issue 16: a fleet's PostgreSQL store ------------------------------------------------------
# The load network's traced throughput with every trace stored into SQLite, then into PostgreSQL
# (fleet_load). FLEET_TRACES (20000) finished traces (5 hops, 7 replies each, as the load
# network's) wait in a helper's journal; the time until PostgreSQL (tests/lib/pg.sh: Debian's
# server, fsync off, a unix socket) has them all gives the rate the shipping sustains; the
# broker's store alone writing them into SQLite (tests/lib/storebench) the rate that end
# sustains. Then FLEET_STORED (1000000) traces in the database, and the broker's answer to a
# visitor's history and to a permalink (each asked of PostgreSQL: a helper with an empty
# journal), over its socket, median of 9, with the history question's plan.
fleet_traces=${FLEET_TRACES:-20000}
fleet_stored=${FLEET_STORED:-1000000}

# fleet_fill COUNT: COUNT traces of 5 hops and 7 replies into PostgreSQL, by SQL (generate_series).
fleet_fill() {
	local now
	now=$(date +%s%3N)	# ms: the traces of the last hours, none past retention
	pg_sql "INSERT INTO traces (id, vantage, site, uid, family, client, cport, server, sport,
		started_at, ended_at, reason, hops, duration_us, client_prefix)
		SELECT lpad(to_hex(i), 32, '0'), 'bench-' || (i / 65536 % 4), 'www-data', 33, 4,
		('10.0.' || (i / 256 % 256) || '.' || (i % 256))::inet,
		40000 + i % 20000, '192.0.2.10', 443, $now - i * 10, $now - i * 10 + 15,
		'destination', 5, 15000, false
		FROM generate_series(1, $1) AS i;
		INSERT INTO hops SELECT seq, ttl, CASE ttl WHEN 5 THEN 3 ELSE 1 END, NULL, NULL
		FROM traces, generate_series(1, 5) AS ttl;
		INSERT INTO replies SELECT seq, ttl, idx, CASE ttl WHEN 5 THEN client
		ELSE ('192.0.2.' || ttl)::inet END, 100 * ttl + idx, CASE ttl WHEN 5 THEN
		'destination' ELSE 'time-exceeded' END, 0, 64 - ttl, CASE ttl WHEN 5 THEN 0 ELSE 1 END,
		56, 0, NULL, NULL, 0 FROM traces, generate_series(1, 5) AS ttl,
		generate_series(0, 2) AS idx WHERE idx = 0 OR ttl = 5;
		ANALYZE" >/dev/null
}

# fleet_ask LINE: the broker's answer time to LINE over its socket, ms, 9 times (root's: any site).
fleet_ask() {
	python3 - "$NETNS_TMP/fleet.sock" "$1" <<'PY'
import socket, sys, time
for _ in range(9):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    f = s.makefile("rwb")
    f.readline()
    t = time.monotonic()
    f.write((sys.argv[2] + "\n").encode())
    f.flush()
    while True:
        line = f.readline()
        if not line or line.split()[0] in (b"LIST", b"END", b"ERROR"):
            break
    print("%.3f" % ((time.monotonic() - t) * 1000))
    if not line or line.startswith(b"ERROR"):
        print("error: %r" % line, file=sys.stderr)
    s.close()
PY
}

# fleet_backend sqlite|pg: tracetrout-serve in the load network again, storing into SQLite or
# into PostgreSQL through the journal; hpid and epid as load_network sets them.
fleet_backend() {
	netns_serve_stop
	rm -f "$NETNS_TMP"/state/*.db*
	if [ "$1" = pg ]; then
		netns_serve_start "$builddir" --db "$PG_URI" --journal "$NETNS_TMP/state/journal.db" ||
			exit 1
	else
		netns_serve_start "$builddir" || exit 1
	fi
	hpid=$(netns_helper_pid)
	epid=$(ps --ppid "$hpid" -o pid= | tr -d ' ')
	netns_trace 4 / -o /dev/null
}

# fleet_load: the load network's traced throughput (throughput()'s, $load_traces traces at
# $load_at_once at once), each trace stored into SQLite, then into PostgreSQL, in turn, run after
# run; with PostgreSQL also how long after the load's end the database has every trace.
fleet_load() {
	local i j b since t0 n
	section_header "RUNS_LOAD=$runs_load LOAD_TRACES=$load_traces BENCH_ONLY=fleet" \
		"== issue 16, the stored-trace rate of each backend: traced GET / as in issue 15's throughput" \
		"   ($load_traces traces a run, $load_at_once at once, IPv4 and IPv6 in turn, 4 routers), every trace stored:" \
		"   into SQLite, or into the journal and shipped to PostgreSQL (unix socket, fsync off);" \
		"   median (min, max) of $runs_load runs of each, in turn"
	load_network "${LOAD_VISITORS:-200}"
	pg_available || { echo "fleet: Debian's postgresql is not installed"; return 1; }
	pg_start "" || return 1
	netns_on_cleanup pg_cleanup
	rm -f "$NETNS_TMP/fleet.fig"
	# shellcheck disable=SC2046  # load_hops gives two words for each family
	for ((i = 0; i < runs_load; i++)); do
		for b in sqlite pg; do
			fleet_backend "$b"
			# The load's traces: those begun from now on (not fleet_backend's first).
			since=$(date +%s%3N)
			load_both "fleet-$b" -n "$load_traces" -c "$load_at_once" $(load_hops 4) $(load_hops 6)
			t0=$(date +%s%N)
			n=$(kv "fleet-$b" status_200)
			echo "$b rate $(kv "fleet-$b" rate)" >>"$NETNS_TMP/fleet.fig"
			echo "$b exact $(kv "fleet-$b" ok)" >>"$NETNS_TMP/fleet.fig"
			if [ "$b" = sqlite ]; then
				echo "$b stored $(sqlite3 "$NETNS_TMP/state/tracetrout.db" \
					"SELECT count(*) FROM traces WHERE started_at >= $since")" \
					>>"$NETNS_TMP/fleet.fig"
				continue
			fi
			# The traces leave hop-timeout + info-timeout + 1 s (4 s) after their end.
			for ((j = 0; j < 600; j++)); do
				[ "$(pg_sql "SELECT count(*) FROM traces WHERE started_at >= $since")" -ge "$n" ] &&
					break
				sleep 0.1
			done
			echo "$b stored $(pg_sql "SELECT count(*) FROM traces WHERE started_at >= $since")" \
				>>"$NETNS_TMP/fleet.fig"
			echo "$b lag $((($(date +%s%N) - t0) / 1000000))" >>"$NETNS_TMP/fleet.fig"
		done
	done
	for b in sqlite pg; do
		printf '%-10s traces/s stored: %s; stored, per run: %s of %s; exact %s\n' "$b," \
			"$(awk -v b="$b" '$1 == b && $2 == "rate" { print $3 }' "$NETNS_TMP/fleet.fig" | stats)" \
			"$(awk -v b="$b" '$1 == b && $2 == "stored" { print $3 }' "$NETNS_TMP/fleet.fig" | paste -sd, -)" \
			"$load_traces" \
			"$(awk -v b="$b" '$1 == b && $2 == "exact" { print $3 }' "$NETNS_TMP/fleet.fig" | paste -sd, -)"
	done
	echo "PostgreSQL has every trace this long after the load's last answer, ms (4,000 of it the" \
		"settling): $(awk '$1 == "pg" && $2 == "lag" { print $3 }' "$NETNS_TMP/fleet.fig" | stats)"
	echo "PostgreSQL/SQLite, traces/s: $(paste <(awk '$1 == "pg" && $2 == "rate" { print $3 }' \
		"$NETNS_TMP/fleet.fig") <(awk '$1 == "sqlite" && $2 == "rate" { print $3 }' \
		"$NETNS_TMP/fleet.fig") | awk '{ printf "%.3f\n", $2 ? $1 / $2 : 0 }' | stats)"
	netns_serve_stop
	pg_sql "TRUNCATE traces CASCADE" >/dev/null 2>&1
}

fleet() {
	local ns j t0 t1 hpid i u v
	fleet_load || return 1
	echo
	section_header "FLEET_TRACES=$fleet_traces FLEET_STORED=$fleet_stored BENCH_ONLY=fleet" \
		"== issue 16, a fleet's PostgreSQL store: $fleet_traces finished traces (5 hops, 7 replies)" \
		"   waiting in a helper's journal shipped to PostgreSQL (Debian's, fsync off, unix socket);" \
		"   then the broker's answers with $fleet_stored traces stored, over its socket (9 runs)"
	ns=$NETNS_TAG-fleet
	netns__add "$ns" || return 1
	j=$NETNS_TMP/fleet/journal.db
	mkdir -p "$NETNS_TMP/fleet"
	# The journal, written by the broker's own store code (tests/lib/storebench), its traces
	# ended 20 s ago: all settled.
	"$storebench_bin" -j -a 20000 "$j" "$fleet_traces" >/dev/null 2>"$NETNS_TMP/fleet/storebench.log" ||
		{ cat "$NETNS_TMP/fleet/storebench.log"; return 1; }
	# The helper's users (tracetrout-serve makes them too), and the journal for its broker.
	for u in tracetrout tracetrout-engine; do
		getent passwd "$u" >/dev/null ||
			useradd --system --no-create-home --shell /usr/sbin/nologin "$u" || return 1
	done
	chown -R tracetrout:tracetrout "$NETNS_TMP/fleet" || return 1
	t0=$(date +%s%N)
	ip netns exec "$ns" "$builddir/helper/tracetroutd" -d --socket "$NETNS_TMP/fleet.sock" \
		--db "$PG_URI" --journal "$j" --vantage bench >"$NETNS_TMP/fleet.log" 2>&1 &
	hpid=$!
	for ((i = 0; i < 3000; i++)); do
		[ "$(pg_sql "SELECT count(*) FROM traces" 2>/dev/null)" = "$fleet_traces" ] && break
		sleep 0.1
	done
	t1=$(date +%s%N)
	kill "$hpid" 2>/dev/null
	wait "$hpid" 2>/dev/null
	if [ "$(pg_sql "SELECT count(*) FROM traces")" != "$fleet_traces" ]; then
		echo "shipping: not done after 300 s: $(pg_sql "SELECT count(*) FROM traces") traces"
		sed 's/^/   /' "$NETNS_TMP/fleet.log" | tail -n 5
		return 1
	fi
	awk -v n="$fleet_traces" -v ns="$((t1 - t0))" 'BEGIN { printf "shipped: %d traces in %.2f s \
from the helper'"'"'s start (connecting and migrating included): %.0f traces/s\n", n, ns / 1e9, n / (ns / 1e9) }'
	# The other end alone: the broker's store writing such traces into a SQLite file (a SQLite
	# store, or a journal), committed as the broker commits, 3 runs on a new file each.
	for ((i = 0; i < 3; i++)); do
		rm -f "$NETNS_TMP/fleet/bench.db"*
		"$storebench_bin" "$NETNS_TMP/fleet/bench.db" "$fleet_traces" \
			2>>"$NETNS_TMP/fleet/storebench.log" | sed -n 's/.*rate=//p'
	done | { printf 'the broker'"'"'s store alone, writing %d such traces into SQLite, traces/s: ' \
		"$fleet_traces"; stats; }
	pg_sql "TRUNCATE traces CASCADE" >/dev/null 2>&1
	t0=$(date +%s%N)
	fleet_fill "$fleet_stored"
	t1=$(date +%s%N)
	echo "$fleet_stored traces stored by SQL in $(((t1 - t0) / 1000000000)) s; the database" \
		"$(pg_sql "SELECT pg_size_pretty(pg_database_size('tracetrout'))"), about" \
		"$(pg_sql "SELECT pg_database_size('tracetrout') / $fleet_stored") bytes a trace"
	# A helper with an empty journal: every look-up goes to PostgreSQL (fleet.c's asks).
	ip netns exec "$ns" "$builddir/helper/tracetroutd" -d --socket "$NETNS_TMP/fleet.sock" \
		--db "$PG_URI" --journal "$NETNS_TMP/fleet/empty.db" --vantage bench \
		>"$NETNS_TMP/fleet.log" 2>&1 &
	hpid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "fleet: connected" "$NETNS_TMP/fleet.log" && break
		sleep 0.1
	done
	# Trace i's visitor is 10.0.(i / 256 % 256).(i % 256): each has a trace in 65,536, from
	# vantage points i / 65536 % 4 (15 of a million, from 4).
	i=$((fleet_stored / 2))
	v=10.0.$((i / 256 % 256)).$((i % 256))
	echo "a visitor's history (HISTORY limit=20 for $v: $(pg_sql "SELECT count(*) || ' traces from ' ||
		count(DISTINCT vantage) FROM traces WHERE client = '$v'") vantage points), ms:" \
		"$(fleet_ask "HISTORY client=$v limit=20" | stats)"
	echo "a permalink (GET), ms: $(fleet_ask "GET id=$(printf '%032x' "$i")" | stats)"
	# The selection of fleet.c's history question, as PostgreSQL plans it (a site's, not root's).
	echo "its plan: $(pg_sql "EXPLAIN (COSTS OFF) SELECT seq FROM traces WHERE client = '$v'::inet
		AND NOT client_prefix AND site = 'www-data' ORDER BY started_at DESC, id DESC LIMIT 21" |
		sed 's/^ *//; s/^-> *//' | paste -sd';' - | sed 's/;/; /g')"
	kill "$hpid" 2>/dev/null
	wait "$hpid" 2>/dev/null
}

# --- issue 17: operators' searches of a million stored traces ------------------------------
# query_spec LABEL FILTERS: one search for querybench (tests/lib/querybench.c says the keys).
query_specs=()
query_spec() {
	query_specs+=("$1:$2")
}

# query: QUERY_TRACES (1,000,000) traces written into a SQLite store by the broker's own store
# calls (tests/lib/storebench -q: 100,000 visitors, a quarter IPv6, over 30 days, routers
# shared as a server's are, info look-ups of the transit routers and the visitor in ipinfo,
# ip-api and whereabouts shapes), then each kind of search through store_query and
# store_query_count (tests/lib/querybench), QUERY_RUNS (9) runs after one unmeasured, a page
# of 20. The store is a temporary file, or QUERY_DB, kept (one that exists is searched as it
# is: writing a million traces takes minutes).
query() {
	local n=${QUERY_TRACES:-1000000} qruns=${QUERY_RUNS:-9} dir t0 t1 newest db
	local day=86400000
	section_header "QUERY_TRACES=$n QUERY_RUNS=$qruns BENCH_ONLY=query" \
		"== issue 17, operators' searches of $n stored traces (SQLite, the broker's store):" \
		"   store_query, a page of 20 (store_query_count where said), median (min, max) of" \
		"   $qruns runs after one unmeasured, ms; the goal: each under 100 ms"
	dir=$(mktemp -d "${TMPDIR:-/tmp}/tracetrout-query.XXXXXX") || return 1
	db=${QUERY_DB:-$dir/query.db}
	if [ ! -e "$db" ]; then
		t0=$(date +%s%N)
		"$storebench_bin" -q "$db" "$n" >"$dir/storebench.out" 2>"$dir/storebench.err" ||
			{ cat "$dir/storebench.err"; rm -rf "$dir"; return 1; }
		t1=$(date +%s%N)
		echo "written by the store's calls in $(((t1 - t0) / 1000000000)) s," \
			"$(sed -n 's/.*rate=//p' "$dir/storebench.out") traces/s, look-ups included; the" \
			"file $(($(stat -c %s "$db") / 1048576)) MB, $(($(stat -c %s "$db") / n)) bytes a trace"
	fi
	newest=$(sqlite3 "$db" "SELECT max(started_at) FROM traces")
	# The mix's layout (storebench.c, mix_trace): visitor 1029 is 10.5.4.1 (10 traces), its
	# /24 holds 2 visitors, its /16 about 290; 198.19.3.5 is one of 10,000 routers (61
	# traces); 198.19.5.0/24 holds 256 of them (17,280 traces); 192.0.2.1 is in every IPv4
	# trace; AS 64519 is 5 of 256 first transit routers' (about 19,500 traces), AS 65123 100
	# visitors'; SE is in about 1 trace in 13. A search of 20 is driven by a filter of fewer
	# than about 4,600 matches here (docs/broker.md, "Searches").
	query_specs=()
	query_spec "a visitor's address" "visitor=10.5.4.1"
	query_spec "a visitor /24" "visitor=10.5.4.0/24"
	query_spec "a visitor /16" "visitor=10.5.0.0/16"
	query_spec "a visitor IPv6 /32, every IPv6 visitor" "visitor=2001:db8::/32"
	query_spec "a hop's address" "hop=198.19.3.5"
	query_spec "a hop /24" "hop=198.19.5.0/24"
	query_spec "a hop every IPv4 trace has" "hop=192.0.2.1"
	query_spec "an AS (19,500 traces)" "asn=64519"
	query_spec "an AS (1,000 traces)" "asn=65123"
	query_spec "a country" "country=SE"
	query_spec "a reason, the last 7 days" "reason=deadline since=$((newest - 7 * day))"
	query_spec "a reason and a country" "reason=gap-limit country=SE"
	query_spec "a site's, a hop's address" "uid=33 hop=198.19.3.5"
	query_spec "a site without traces, a hop /24" "uid=34 hop=192.0.2.0/24"
	query_spec "changed" "changed=1"
	query_spec "changed in a /16" "visitor=10.5.0.0/16 changed=1"
	query_spec "a visitor /16, 1,000 a page" "visitor=10.5.0.0/16 limit=1000"
	query_spec "count of a /16" "visitor=10.5.0.0/16 count=1"
	query_spec "count of an AS" "asn=64519 count=1"
	query_spec "count of changed in a /24" "visitor=10.5.4.0/24 changed=1 count=1"
	# Each line: the median (min, max), then how many found ("+": a page full, more exist).
	if "$querybench_bin" "$db" "$qruns" "${query_specs[@]}" >"$dir/querybench.out" \
		2>"$dir/querybench.err"; then
		awk '{ label = $0; sub(/ ms=.*/, "", label); for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "%-40s %8s ms (%s, %s)  %s%s  %s\n", label ":", v["ms"], v["min"], v["max"],
				v["found"], v["more"] == "1" ? "+" : "", v["max"] < 100 ? "under 100 ms" : "OVER 100 ms" }' \
			"$dir/querybench.out"
	else
		cat "$dir/querybench.out" "$dir/querybench.err"
	fi
	rm -rf "$dir"
}

echo "TraceTrout $(sed -n 's/^version=.\(.*\).$/\1/p' "$builddir/tracetrout-serve") bench, $(uname -sr), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
# BENCH_ONLY=web-servers, rtt, exact, paths, stored, load, overload, fleet or query: that section alone.
case ${BENCH_ONLY:-} in
query) query; exit 0 ;;
web-servers) web_servers; exit 0 ;;
rtt) rtt_accuracy; exit 0 ;;
exact) exactness; exit 0 ;;
paths) paths; exit 0 ;;
stored) network 4 && stored; exit 0 ;;
load) load; exit 0 ;;
fleet) fleet; exit 0 ;;
# The overload section alone, at twice LOAD_RATE (traces a second, the throughput's median).
overload) load_network "${LOAD_VISITORS:-200}" && load_rate=${LOAD_RATE:-1000} overload; exit 0 ;;
esac

echo "== curl total time of GET / (the whole trace), $runs runs each, ms"
for n in 4 8; do
	network "$n"
	for fam in 4 6; do
		printf '%d routers, IPv%d: %s\n' "$n" "$fam" "$(times "$fam" "$runs" | stats)"
	done
done

echo
web_servers

echo
rtt_accuracy

echo
exactness

echo
echo "== the live page in headless Chromium, 4 routers: the first hop row on screen after its hop"
echo "   settled in the engine (the page's script, wall clock shared with the engine), 10 loads, ms"
network 4
for fam in 4 6; do
	for ((i = 0; i < 10; i++)); do
		nsx "$NETNS_VISITOR" timeout 60 chromium --headless --no-sandbox --disable-gpu \
			--disable-background-networking --no-first-run --user-data-dir="$NETNS_TMP/chrome" \
			--dump-dom "$(netns_url "$fam" /)" 2>/dev/null |
			sed -n 's/.*data-first-row-latency-ms="\([-0-9.]*\)".*/\1/p' | head -n 1
	done | { printf 'IPv%d: ' "$fam"; stats; }
done

echo
stored

echo
# One silent router of 4 is in (c).
paths

echo
load

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
echo "== untraced bulk throughput, 200 MB at full speed, 4 routers (median of ${BULK_RUNS:-21}, MB/s)"
network 4
head -c 200M /dev/urandom >"$NETNS_TMP/www/big"
# The four setups differ by nothing an untraced packet meets but the rules, so the ratios are
# mostly this machine's noise: many short runs, and their median, keep it small.
speed() {
	local i
	for ((i = 0; i < ${BULK_RUNS:-21}; i++)); do
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

echo
echo "== ICMP flood: ${FLOOD_S:-4} s of forged time-exceeded errors quoting a traced connection (tests/sys/forged.sh)"
netns_cleanup
# forged.sh builds its own network (a silent router, HOP_TIMEOUT=4s), floods the server from router
# 4, its neighbour, during a trace, checks the hop list and the engine's RSS, and writes these.
flood_dir=$(mktemp -d) || exit 1
if top_builddir=$builddir top_srcdir=$srcdir FORGED_FLOOD_S=${FLOOD_S:-4} \
	FORGED_FIGURES=$flood_dir/figures bash "$srcdir/tests/sys/forged.sh" >"$flood_dir/tap" 2>&1; then
	awk -F= '{ f[$1] = $2 } END {
		printf "%s sent in %s s by tests/lib/flood, %s queued; the trace under flood took %s ms (HOP_TIMEOUT 4 s)\n",
			f["flood_errors"], f["flood_send_s"], f["flood_queued"], f["trace_with_flood_ms"]
		printf "engine: %s errors counted as unmatched, %s ms of CPU (%.1f us an error)\n",
			f["engine_counted"], f["engine_cpu_ms"], f["engine_cpu_ms"] * 1000 / (f["engine_counted"] ? f["engine_counted"] : 1)
		printf "engine RSS: idle %s KiB, peak %s KiB, after %s KiB\n", f["rss_idle_kb"], f["rss_peak_kb"], f["rss_after_kb"]
	}' "$flood_dir/figures"
else
	echo "forged.sh failed:"
	grep -v '^ok' "$flood_dir/tap"
fi
rm -rf "$flood_dir"

echo
ntr=${TRACES:-1000}
echo "== engine and broker memory with $ntr connections asking for a trace at once (max-traces 1024)"
# One silent router and HOP_TIMEOUT=5s keep every trace open for 5 s. The app answers at most
# TRACETROUT_THREADS (its maximum, 256) requests at once; the other connections wait in its
# socket's backlog, so the engine holds at most that many traces at a time.
netns_cleanup
netns_build -n 4 -s 2 || exit 1
read -r -a limits <<<"$NETNS_NO_LIMITS"
HOP_TIMEOUT=5s TRACETROUT_THREADS=256 netns_serve_start "$builddir" -- "${limits[@]}" || exit 1
hpid=$(netns_helper_pid)
epid=$(awk '{ print $1 }' "/proc/$hpid/task/$hpid/children")
# Idle after one trace, so that what is made once is made.
netns_trace 4 / -o /dev/null
e_idle=$(rss_of "$epid")
b_idle=$(rss_of "$hpid")
# many.py N SERVER PORT: N connections at once, GET / on each; prints per connection "hops ms".
cat >"$NETNS_TMP/many.py" <<'PY'
import selectors, socket, sys, time
n, server, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sel = selectors.DefaultSelector()
t0 = time.time()
conns = {}
for i in range(n):
    s = socket.create_connection((server, port))
    s.sendall(b'GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n')
    s.setblocking(False)
    conns[s] = bytearray()
    sel.register(s, selectors.EVENT_READ)
done = []
while conns and time.time() < t0 + 600:
    for key, _ in sel.select(1):
        s = key.fileobj
        d = s.recv(65536)
        if d:
            conns[s] += d
        else:
            sel.unregister(s)
            s.close()
            done.append((conns.pop(s).count(b'"ttl"'), (time.time() - t0) * 1000))
for hops, ms in done:
    print(hops, int(ms))
print('unfinished', len(conns), file=sys.stderr)
PY
# memory_summary [bound]: the peaks in $NETNS_TMP/samples against the idle and after figures;
# with "bound", whether 1,000 traces stayed under docs/engine.md's 40 MiB (38 KiB a trace).
memory_summary() {
	awk -v ei="$e_idle" -v bi="$b_idle" -v ea="$e_after" -v ba="$b_after" -v bound="${1:-}" '
	$1 > e { e = $1 } $2 > b { b = $2 } $3 > m { m = $3 }
	END {
		printf "traces at once (marked connections, peak): %d\n", m
		printf "engine RSS: idle %d KiB, peak %d KiB, after %d KiB; %.1f KiB a trace at the peak\n",
			ei, e, ea, m ? (e - ei) / m : 0
		printf "broker RSS: idle %d KiB, peak %d KiB, after %d KiB\n", bi, b, ba
		if (bound != "")
			printf "bound (docs/engine.md): 1,000 traces under 40960 KiB above idle: %s\n",
				m >= 1000 && e - ei < 40960 ? "yes" : (m < 1000 ? "not measured: fewer traces" : "NO")
	}' "$NETNS_TMP/samples"
}
start_sampler
t0=$SECONDS
ulimit -n 4096
nsx "$NETNS_VISITOR" python3 "$NETNS_TMP/many.py" "$ntr" "$NETNS_SERVER4" "$NETNS_PORT" >"$NETNS_TMP/many.out" 2>"$NETNS_TMP/many.err"
elapsed=$((SECONDS - t0))
sleep 2
e_after=$(rss_of "$epid")
b_after=$(rss_of "$hpid")
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
traced=$(awk '$1 > 0' "$NETNS_TMP/many.out" | wc -l)
echo "$ntr connections in $elapsed s: $traced traced ($(awk '$1 == 0' "$NETNS_TMP/many.out" | wc -l) answered without hops, $(sed -n 's/^unfinished //p' "$NETNS_TMP/many.err") unfinished)"
memory_summary

echo
echo "== engine memory with $ntr traces at once, asked of the broker directly (max-traces 1024)"
# The app's threads cap the traces at once through the web server; here the visitor holds $ntr
# slow downloads open (a small receive buffer, read a little at a time, so the server keeps
# sending), and a client in the server's namespace asks the broker to trace every one of them.
netns_cleanup
netns_build -n 4 -s 2 || exit 1
mkdir -p "$NETNS_TMP/www"
head -c 8M /dev/zero >"$NETNS_TMP/www/big"
read -r -a limits <<<"$NETNS_NO_LIMITS"
HOP_TIMEOUT=5s netns_serve_start "$builddir" -- "${limits[@]}" || exit 1
hpid=$(netns_helper_pid)
epid=$(awk '{ print $1 }' "/proc/$hpid/task/$hpid/children")
netns_trace 4 / -o /dev/null
e_idle=$(rss_of "$epid")
b_idle=$(rss_of "$hpid")
cat >"$NETNS_TMP/slow.py" <<'PY'
import socket, sys, time
n, server, port, secs, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
conns = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((server, port))
    s.sendall(b'GET /files/big HTTP/1.1\r\nHost: bench\r\n\r\n')
    s.setblocking(False)
    conns.append(s)
with open(out + '.tmp', 'w') as f:
    for s in conns:
        f.write('%d\n' % s.getsockname()[1])
import os
os.rename(out + '.tmp', out)
end = time.time() + secs
while time.time() < end:
    for s in conns:
        try:
            s.recv(1024)
        except BlockingIOError:
            pass
    time.sleep(0.1)
PY
cat >"$NETNS_TMP/ask.py" <<'PY'
import selectors, socket, sys, time
sock, ports, client, server, sport = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sel = selectors.DefaultSelector()
bufs = {}
for p in open(ports).read().split():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(('TRACE client=%s cport=%s server=%s sport=%s\n' % (client, p, server, sport)).encode())
    s.setblocking(False)
    bufs[s] = bytearray()
    sel.register(s, selectors.EVENT_READ)
t0 = time.time()
done = []
while bufs and time.time() < t0 + 120:
    for key, _ in sel.select(1):
        s = key.fileobj
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            d = b''
        if d:
            bufs[s] += d
        else:
            sel.unregister(s)
            s.close()
            done.append(bytes(bufs.pop(s)))
started = sum(1 for b in done if b'\nSTARTED ' in b)
ends = {}
for b in done:
    for l in b.decode(errors='replace').splitlines():
        if l.startswith('END ') or l.startswith('ERROR '):
            k = l.split()[1]
            ends[k] = ends.get(k, 0) + 1
print('started=%d' % started)
print('outcomes=%s' % ' '.join('%s:%d' % kv for kv in sorted(ends.items())))
print('unfinished=%d' % len(bufs))
PY
nsx "$NETNS_VISITOR" python3 "$NETNS_TMP/slow.py" "$ntr" "$NETNS_SERVER4" "$NETNS_PORT" 40 \
	"$NETNS_TMP/ports" 2>"$NETNS_TMP/slow.err" &
slow=$!
for ((i = 0; i < 300; i++)); do
	[ -s "$NETNS_TMP/ports" ] && break
	sleep 0.1
done
start_sampler
t0=$SECONDS
nsx "$NETNS_SERVER" python3 "$NETNS_TMP/ask.py" "$NETNS_TMP/run/tracetroutd.sock" "$NETNS_TMP/ports" \
	"$NETNS_CLIENT4" "$NETNS_SERVER4" "$NETNS_PORT" >"$NETNS_TMP/ask.out" 2>&1
elapsed=$((SECONDS - t0))
sleep 2
e_after=$(rss_of "$epid")
b_after=$(rss_of "$hpid")
kill "$sampler" "$slow" 2>/dev/null
wait "$sampler" "$slow" 2>/dev/null
echo "$(wc -l <"$NETNS_TMP/ports") slow downloads; $(sed -n 's/^started=//p' "$NETNS_TMP/ask.out") traces started in $elapsed s; outcomes: $(sed -n 's/^outcomes=//p' "$NETNS_TMP/ask.out"); unfinished $(sed -n 's/^unfinished=//p' "$NETNS_TMP/ask.out")"
grep -v '^started=\|^outcomes=\|^unfinished=' "$NETNS_TMP/ask.out" | head -5
memory_summary bound

echo
echo "== hop enrichment: GET / (JSON lines) with the info service answering after 500 ms and with"
echo "   enrichment off, 4 routers, $runs runs a family each, curl total time, ms"
# tests/lib/infoserver.py plays whereabouts on loopback in the server's namespace; /slow/ip/{ip}
# answers after 500 ms. The cache would answer every trace but the first without asking, so the
# enriched helper runs with info-cache 1ms (0 is refused): every trace asks the service again, as
# the request count below shows (5 addresses a trace). Names are off in both (no DNS server here).
# The runs are 0.7 s apart, so that a trace never joins the previous one's look-ups in flight.
netns_cleanup
netns_build -n 4 || exit 1
netns_info_start "$NETNS_SERVER" 127.0.0.1 --delay-ms 500 || exit 1
# enrich_times LABEL: one unmeasured trace, then $runs a family, 0.7 s apart; "FAMILY MS" lines.
enrich_times() {
	local fam i t
	netns_trace 4 / -o /dev/null
	sleep 0.7
	for fam in 4 6; do
		for ((i = 0; i < runs; i++)); do
			t=$(times "$fam" 1) || return 1
			echo "$fam $t"
			sleep 0.7
		done
	done >"$NETNS_TMP/enrich-$1"
}
# shellcheck disable=SC2086  # the limits are words
netns_serve_start "$builddir" --db "$NETNS_TMP/state/off.db" -- --names 0 $NETNS_NO_LIMITS || exit 1
enrich_times off
netns_serve_stop
# shellcheck disable=SC2086
netns_serve_start "$builddir" --db "$NETNS_TMP/state/on.db" -- --names 0 \
	--info-uri "$NETNS_INFO_URL/slow/ip/{ip}" --info-cache 1ms $NETNS_NO_LIMITS || exit 1
netns_info_reset
enrich_times on
sleep 0.7
asked=$(netns_info_count | jq .total)
for fam in 4 6; do
	off=$(awk -v f="$fam" '$1 == f { print $2 }' "$NETNS_TMP/enrich-off" | median)
	on=$(awk -v f="$fam" '$1 == f { print $2 }' "$NETNS_TMP/enrich-on" | median)
	printf 'IPv%d enrichment off: %s\n' "$fam" "$(awk -v f="$fam" '$1 == f { print $2 }' "$NETNS_TMP/enrich-off" | stats)"
	printf 'IPv%d service 500 ms: %s\n' "$fam" "$(awk -v f="$fam" '$1 == f { print $2 }' "$NETNS_TMP/enrich-on" | stats)"
	awk -v a="$on" -v b="$off" -v f="$fam" \
		'BEGIN { printf "IPv%d ratio of the medians (500 ms service / off): %.3f\n", f, a / b }'
done
echo "the service was asked $asked times for $((2 * runs + 1)) traces ($(((2 * runs + 1) * 5)) if every trace asked for its 5 addresses)"

echo
echo "== hop enrichment: 100 traces at once over the same 4 routers (50 IPv4, 50 IPv6), an empty cache"
# Every trace names the same 10 addresses; each should be asked for once, however many traces
# want it while its request runs (the service answers after 500 ms, or at once).
# enrich_burst PATH: 100 traces at once against a fresh helper asking the service at PATH.
enrich_burst() {
	local i pids=() bad=0 t0 t1
	netns_serve_stop
	# shellcheck disable=SC2086
	netns_serve_start "$builddir" --db "$NETNS_TMP/state/burst$RANDOM.db" -- --names 0 \
		--info-uri "$NETNS_INFO_URL$1" $NETNS_NO_LIMITS || return 1
	netns_info_reset
	t0=$(date +%s%N)
	for ((i = 0; i < 100; i++)); do
		netns_trace $((i % 2 ? 6 : 4)) / -o "$NETNS_TMP/burst$i" 2>/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(date +%s%N)
	for ((i = 0; i < 100; i++)); do
		[ "$(netns_hops <"$NETNS_TMP/burst$i" | tail -n 1 | cut -d' ' -f2)" = \
			"$([ $((i % 2)) = 1 ] && echo "$NETNS_CLIENT6" || echo "$NETNS_CLIENT4")" ] || bad=$((bad + 1))
	done
	sleep 1
	netns_info_count | jq -r --arg p "$1" --argjson bad "$bad" --argjson ms "$(((t1 - t0) / 1000000))" '
		"\($p): 100 traces in \($ms) ms, \(100 - $bad) reached the visitor; requests: \(.total) for \(.by_path | length) distinct addresses, at most \([.by_path[]] | max) for one, \(.in_flight_max) at once"'
}
enrich_burst "/slow/ip/{ip}"
enrich_burst "/ip/{ip}"

echo
fleet

echo
query
