#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Hop enrichment against a stand-in for whereabouts (tests/lib/infoserver.py, on loopback in the
# server's namespace), IPv4 and IPv6. Whatever the service does (answers, answers late, errors,
# non-JSON, a huge or endless body, a redirect, a closed connection, deep nesting, a wrong
# content type, markup) the traces are exact, every JSON line parses and the trace takes its
# normal time; a failure is a missing "info", and the negative cache asks once per address; a
# good answer is cached (a second trace asks nothing and carries "info" on its live lines) and a
# stored trace shows it in json, text and html, escaped in html; live text and html end once the
# answers came and show them; skip-private asks nothing for our private addresses; 20 traces at
# once ask once per distinct address. Both spellings of the setting: INFO_URI_TEMPLATE and
# --info-uri.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack python3
sys_require_build

# A trace here takes a few ms; the service's slow answers take 1 s (--delay-ms), so a trace that
# waited for one would be ENRICH_SLACK_MS over the slowest trace without enrichment.
slack=${ENRICH_SLACK_MS:-400}
concurrent=${ENRICH_CONCURRENT:-20}

# Service modes: name, the URL path after the service's address, and what the traces must show:
# "info" (the answers are taken and cached) or "none" (every look-up fails). "type" answers with
# Content-Type: text/html, which is ignored (whereabouts sends none); "deep" nests 100,000 arrays
# (over info-max-size), "deep3000" 3,000 (under it, deeper than SQLite's JSON parser takes).
modes=(
	"plain    /ip/{ip}                  info"
	"slow     /slow/ip/{ip}             info"
	"slower   /slower/ip/{ip}           none"
	"500      /500/ip/{ip}              none"
	"422      /422/ip/{ip}              none"
	"bad      /bad/ip/{ip}              none"
	"huge     /huge/ip/{ip}             none"
	"drip     /drip/ip/{ip}             none"
	"redirect /redirect/ip/{ip}         none"
	"close    /close/ip/{ip}            none"
	"deep     /deep/ip/{ip}             none"
	"deep3000 /deep/ip/{ip}?levels=3000 none"
	"type     /type/ip/{ip}             info"
	"markup   /markup/ip/{ip}           info"
)
tap_plan $((2 + 3 * ${#modes[@]} + 11))

netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_info_start "$NETNS_SERVER" 127.0.0.1 --delay-ms 1000 || { echo "Bail out! no info server"; exit 1; }

# The hop addresses of both families and the paths the service must see for them (IPv6 colons
# as %3A, as the original sends them).
addrs=("${NETNS_HOPS4[@]}" "${NETNS_HOPS6[@]}")
enc() {
	echo "${1//:/%3A}"
}
# want_paths PREFIX: the sorted paths one look-up of every hop address makes, e.g. /slow/ip/...
want_paths() {
	local a
	for a in "${addrs[@]}"; do
		echo "$1/ip/$(enc "$a")"
	done | sort
}

# bodies.json: {address: the service's answer}, from the service itself; then its counts zeroed.
for a in "${addrs[@]}"; do
	printf '%s\t%s\n' "$a" "$(nsx "$NETNS_SERVER" curl -sS --max-time 5 "$NETNS_INFO_URL/ip/$(enc "$a")")"
done | jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | fromjson)}) | add' \
	>"$NETNS_TMP/bodies.json"
markup=$(nsx "$NETNS_SERVER" curl -sS --max-time 5 "$NETNS_INFO_URL/markup/ip/10.77.4.1")
netns_info_reset
[ "$(jq 'length' "$NETNS_TMP/bodies.json")" = "${#addrs[@]}" ] ||
	{ echo "Bail out! the info server did not answer"; exit 1; }

ms() {
	awk -v t="$1" 'BEGIN { printf "%d\n", t * 1000 }'
}

# trace FAMILY NAME [PATH [CURL OPTIONS...]]: a trace into $NETNS_TMP/NAME (head in NAME.head),
# curl's total time in ms in NAME.ms.
trace() {
	local fam=$1 name=$2 path=${3:-/} t
	shift $(($# < 3 ? $# : 3))
	t=$(netns_trace "$fam" "$path" -D "$NETNS_TMP/$name.head" -o "$NETNS_TMP/$name" \
		-w '%{time_total}' "$@" 2>"$NETNS_TMP/$name.err") || :
	ms "${t:-999}" >"$NETNS_TMP/$name.ms"
}

# lines_json FILE: every line of FILE is one JSON object (jq reads as many as there are lines).
lines_json() {
	local n
	n=$(jq -c 'select(type == "object")' "$1" 2>/dev/null | wc -l) || return 1
	[ "$n" -gt 0 ] && [ "$n" = "$(wc -l <"$1")" ]
}

# hops_ok FAMILY FILE: the exact hop list.
hops_ok() {
	[ "$(netns_hops <"$2" 2>/dev/null)" = "$(netns_hops_text "$1")" ]
}

# no_info FILE: no line has "info".
no_info() {
	jq -e -s 'all(.[]; has("info") | not)' "$1" >/dev/null 2>&1
}

# info_exact FILE [BODY]: every line with an address has "info", exactly the service's answer
# for that address (or BODY for all).
info_exact() {
	if [ -n "${2:-}" ]; then
		jq -e -s --argjson b "$2" '[.[] | select(has("ip"))] | length > 0 and all(.info == $b)' \
			"$1" >/dev/null 2>&1
	else
		jq -e -s --slurpfile b "$NETNS_TMP/bodies.json" \
			'[.[] | select(has("ip"))] | length > 0 and all(.info == $b[0][.ip])' "$1" >/dev/null 2>&1
	fi
}

# by_path_ok PREFIX: the service saw exactly one request for each hop address, and no other.
by_path_ok() {
	local got
	got=$(netns_info_count | jq -r '.by_path | to_entries[] | "\(.key) \(.value)"' | sort)
	[ "$got" = "$(want_paths "$1" | sed 's/$/ 1/')" ]
}

# settle: wait until the service has no request running and has seen one per address, or 3 s
# (the info timeout, 2 s, bounds each look-up); the failures are then in the negative cache.
settle() {
	local i c
	for ((i = 0; i < 30; i++)); do
		c=$(netns_info_count)
		[ "$(jq '.in_flight' <<<"$c")" = 0 ] && [ "$(jq '.total' <<<"$c")" -ge "${#addrs[@]}" ] && break
		sleep 0.1
	done
	sleep 0.2
}

# serve NAME [tracetrout-serve options] [-- tracetroutd options]: tracetrout-serve started afresh
# on an empty database (no cache), the rate limits off, the service's counts zeroed.
serve() {
	local name=$1 i opts=() helper=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	helper=("$@")
	netns_serve_stop
	# shellcheck disable=SC2086  # the limits are words
	netns_serve_start "$top_builddir" --db "$NETNS_TMP/state/$name.db" "${opts[@]}" \
		-- "${helper[@]}" $NETNS_NO_LIMITS || return 1
	netns_info_reset
	helper_pid=$(netns_helper_pid)
}

# Without enrichment: the normal trace time (the slowest of 5 a family).
serve off
tap_ok $? "tracetrout-serve runs without enrichment"
for fam in 4 6; do
	for i in 1 2 3 4 5; do
		trace "$fam" "off$fam.$i"
		hops_ok "$fam" "$NETNS_TMP/off$fam.$i" || echo "off$fam.$i" >>"$NETNS_TMP/off.bad"
		cat "$NETNS_TMP/off$fam.$i.ms"
	done
done | sort -n | tail -n 1 >"$NETNS_TMP/off.max"
base=$(cat "$NETNS_TMP/off.max")
bound=$((base + slack))
[ ! -e "$NETNS_TMP/off.bad" ] && [ "$(jq '.total' <<<"$(netns_info_count)")" = 0 ]
tap_ok $? "without enrichment: 10 exact traces, the slowest $base ms (the bound is $bound ms), no request" ||
	sys_show "$NETNS_TMP/off.bad" "$NETNS_TMP/serve.log"

declare -A link
for m in "${modes[@]}"; do
	read -r name path want <<<"$m"
	prefix=${path%%/ip/*}
	url=$NETNS_INFO_URL$path
	bad=
	if [ "$name" = plain ]; then
		# The original's spelling, from the environment through tracetrout-serve.
		INFO_URI_TEMPLATE=$url serve "$name"
	else
		serve "$name" -- --info-uri "$url"
	fi || bad+=" tracetrout-serve-failed"

	# Two traces a family: the first asks the service, the second meets the cache.
	for fam in 4 6; do
		trace "$fam" "$name-a$fam"
		link[$name$fam]=$(tr -d '\r' <"$NETNS_TMP/$name-a$fam.head" | sed -n 's/^[Ll]ink: <\([^>]*\)>.*/\1/p')
	done
	[ "$want" = none ] && settle
	if [ "$want" = info ]; then
		# The answers (the slow ones after 1 s) are in the cache once the permalink shows them.
		body=
		[ "$name" = markup ] && body=$markup
		stored=no
		for ((i = 0; i < 50; i++)); do
			if netns_trace 4 "${link[${name}4]}" -o "$NETNS_TMP/$name-wait4" 2>/dev/null &&
				netns_trace 6 "${link[${name}6]}" -o "$NETNS_TMP/$name-wait6" 2>/dev/null &&
				info_exact "$NETNS_TMP/$name-wait4" "$body" &&
				info_exact "$NETNS_TMP/$name-wait6" "$body"; then
				stored=yes
				break
			fi
			sleep 0.1
		done
	fi
	for fam in 4 6; do
		trace "$fam" "$name-b$fam"
	done
	for run in a4 a6 b4 b6; do
		f=$NETNS_TMP/$name-$run
		hops_ok "${run#?}" "$f" || bad+=" $run:hops"
		lines_json "$f" || bad+=" $run:json"
		[ "$(cat "$f.ms")" -le "$bound" ] || bad+=" $run:$(cat "$f.ms")ms"
	done
	[ "$(netns_helper_pid)" = "$helper_pid" ] || bad+=" helper-restarted"
	[ -z "$bad" ]
	tap_ok $? "$name: 4 exact traces, every line JSON, each within $bound ms ($(cat "$NETNS_TMP/$name"-??.ms | sort -n | tail -n 1) ms), the helper alive" ||
		{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/$name-a4" "$NETNS_TMP/serve.log"; }

	case $want in
	none)
		no_info "$NETNS_TMP/$name-a4" && no_info "$NETNS_TMP/$name-a6" &&
			no_info "$NETNS_TMP/$name-b4" && no_info "$NETNS_TMP/$name-b6"
		tap_ok $? "$name: the look-ups fail: no \"info\" on any line" ||
			sys_show "$NETNS_TMP/$name-b4"
		by_path_ok "$prefix"
		tap_ok $? "$name: the negative cache: one request per address in two traces, none elsewhere" ||
			netns_info_count | tap_diag
		;;
	info)
		if [ "$name" = markup ]; then
			info_exact "$NETNS_TMP/$name-b4" "$markup" && info_exact "$NETNS_TMP/$name-b6" "$markup"
		else
			info_exact "$NETNS_TMP/$name-b4" && info_exact "$NETNS_TMP/$name-b6"
		fi && [ "$stored" = yes ]
		tap_ok $? "$name: the stored first traces got the answers (within 5 s), and the second traces carry them as \"info\" on every hop line" ||
			sys_show "$NETNS_TMP/$name-wait4" "$NETNS_TMP/$name-b4" "$NETNS_TMP/$name-b6"
		by_path_ok "$prefix"
		tap_ok $? "$name: the cache: one request per address in two traces (IPv6 colons as %3A)" ||
			netns_info_count | tap_diag
		;;
	esac

	if [ "$name" = plain ]; then
		# The stored first traces show the info in every format.
		bad=
		for fam in 4 6; do
			netns_trace "$fam" "${link[plain$fam]}" -o "$NETNS_TMP/stored$fam.json" &&
				info_exact "$NETNS_TMP/stored$fam.json" || bad+=" json$fam"
			netns_trace "$fam" "${link[plain$fam]}?format=text" -o "$NETNS_TMP/stored$fam.txt" || bad+=" text$fam"
			netns_trace "$fam" "${link[plain$fam]}" -H 'Accept: text/html' -o "$NETNS_TMP/stored$fam.html" ||
				bad+=" html$fam"
			# Each hop's city and country name, as the service gave them, are on a line of the
			# text that names the address (its details) and in the html row of the address.
			while IFS=$'\t' read -r ip city country; do
				awk -v a="$ip" '$2 == a' "$NETNS_TMP/stored$fam.txt" | grep -F "$city" | grep -qF "$country" ||
					bad+=" text$fam:$ip"
				grep -F ">$ip</span>" "$NETNS_TMP/stored$fam.html" | grep -F "$city" | grep -qF "$country" ||
					bad+=" html$fam:$ip"
			done < <(jq -r -s --slurpfile b "$NETNS_TMP/bodies.json" '.[] | select(has("ip")) | .ip as $a
				| $b[0][$a] | select(.city) | "\($a)\t\(.city)\t\(.country.name)"' "$NETNS_TMP/stored$fam.json")
		done
		[ -z "$bad" ] && [ -n "${link[plain4]}" ] && [ -n "${link[plain6]}" ]
		tap_ok $? "stored traces show the info: json lines have it, text and html each hop's city and country by its address" ||
			{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/stored4.txt"; }
	elif [ "$name" = markup ]; then
		bad=
		for fam in 4 6; do
			netns_trace "$fam" "${link[markup$fam]}" -H 'Accept: text/html' -o "$NETNS_TMP/markup$fam.html" ||
				bad+=" get$fam"
			grep -qF 'alert(1)</script>' "$NETNS_TMP/markup$fam.html" && bad+=" raw$fam"
			grep -qF '<script>alert' "$NETNS_TMP/markup$fam.html" && bad+=" raw-open$fam"
			grep -qF '"><script' "$NETNS_TMP/markup$fam.html" && bad+=" attr$fam"
			grep -qF '<b>bold' "$NETNS_TMP/markup$fam.html" && bad+=" b$fam"
		done
		[ -z "$bad" ]
		tap_ok $? "markup: the stored html has none of the service's markup raw (no <script>alert, no <b>)" ||
			{ echo "failed:$bad" | tap_diag; grep -n 'alert' "$NETNS_TMP/markup4.html" | head -20 | tap_diag; }
		grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$NETNS_TMP/markup4.html"
		tap_ok $? "markup: the service's strings are on the page, escaped (&lt;script&gt;...)" ||
			grep -n 'alert' "$NETNS_TMP/markup4.html" | head -20 | tap_diag
	fi
done

# Live text and html with an empty cache and the service answering after 1 s: the hop lines come
# at once, END waits for the answers (at most the info timeout, 2 s) and the summary shows them.
serve live -- --info-uri "$NETNS_INFO_URL/slow/ip/{ip}"
netns_trace 4 "/?format=text" | sys_timed "$NETNS_TMP/live.txt"
hop5=$(awk '$2 == 5 { print $1; exit }' "$NETNS_TMP/live.txt.timed")
last=$(awk 'END { print $1 }' "$NETNS_TMP/live.txt.timed")
bad=
[ "$(text_hops <"$NETNS_TMP/live.txt")" = "$(netns_hops_text 4)" ] || bad+=" hops"
[ -n "$hop5" ] && [ "$hop5" -le "$bound" ] || bad+=" hop5:${hop5:-none}"
[ -n "$last" ] && [ "$last" -ge 900 ] && [ "$last" -le 4000 ] || bad+=" end:${last:-none}"
for a in "${NETNS_HOPS4[@]}"; do
	city=$(jq -r --arg a "$a" '.[$a].city' "$NETNS_TMP/bodies.json")
	awk -v a="$a" '$2 == a' "$NETNS_TMP/live.txt" | grep -qF "$city" || bad+=" $a"
done
[ -z "$bad" ]
tap_ok $? "live text, service 1 s: hop lines at once (the last after ${hop5:-?} ms), the end after ${last:-?} ms with every hop's city" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/live.txt.timed"; }
netns_info_reset
serve live-html -- --info-uri "$NETNS_INFO_URL/slow/ip/{ip}"
trace 6 live.html / -H 'Accept: text/html'
bad=
[ "$(cat "$NETNS_TMP/live.html.ms")" -ge 900 ] || bad+=" fast:$(cat "$NETNS_TMP/live.html.ms")ms"
for a in "${NETNS_HOPS6[@]}"; do
	city=$(jq -r --arg a "$a" '.[$a].city' "$NETNS_TMP/bodies.json")
	grep -F "$a" "$NETNS_TMP/live.html" | grep -qF "$city" || bad+=" $a"
done
[ -z "$bad" ]
tap_ok $? "live html, service 1 s: the page ends after the answers ($(cat "$NETNS_TMP/live.html.ms") ms) and shows every hop's city by its address" ||
	{ echo "failed:$bad" | tap_diag; grep -n 'place\|city' "$NETNS_TMP/live.html" | head -20 | tap_diag; }

# skip-private: our addresses are RFC 1918 and documentation ones; none is sent.
serve skip -- --info-uri "$NETNS_INFO_URL/ip/{ip}" --skip-private 1
tap_ok $? "tracetrout-serve runs with skip-private 1"
bad=
for fam in 4 6; do
	for run in a b; do
		trace "$fam" "skip-$run$fam"
		hops_ok "$fam" "$NETNS_TMP/skip-$run$fam" && no_info "$NETNS_TMP/skip-$run$fam" || bad+=" $run$fam"
	done
done
sleep 0.5
[ -z "$bad" ] && [ "$(netns_info_count | jq .total)" = 0 ]
tap_ok $? "skip-private: 4 exact traces without info, and not one request (plain: all 10 asked)" ||
	{ echo "failed:$bad" | tap_diag; netns_info_count | tap_diag; }

# Traces at once over the same routers, the service slow (1 s): one request per address.
serve together -- --info-uri "$NETNS_INFO_URL/slow/ip/{ip}"
pids=()
for ((i = 0; i < concurrent; i++)); do
	trace $((i % 2 ? 6 : 4)) "together$i" &
	pids+=($!)
done
wait "${pids[@]}"
bad=
for ((i = 0; i < concurrent; i++)); do
	hops_ok $((i % 2 ? 6 : 4)) "$NETNS_TMP/together$i" && lines_json "$NETNS_TMP/together$i" ||
		bad+=" $i"
done
[ -z "$bad" ]
tap_ok $? "$concurrent traces at once (half IPv4, half IPv6): all exact" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/serve.log"; }
settle
by_path_ok /slow
tap_ok $? "$concurrent traces at once: one request per distinct address ($(netns_info_count | jq -c '[.total, .in_flight_max]') total, at once)" ||
	netns_info_count | tap_diag

# What the service got from the helper (the log has every request's headers; the test's own
# requests, made with curl, left out): Host, User-Agent: tracetrout/VERSION and Accept, no more.
version=$(sed -n 's/^version=.\(.*\).$/\1/p' "$top_builddir/tracetrout-serve")
awk '$4 ~ /\/ip\// { $1 = $2 = $3 = $4 = $5 = ""; print }' "$NETNS_TMP/info.log" |
	jq -c 'select(any(.[]; .[0] == "User-Agent" and (.[1] | startswith("curl/"))) | not)' >"$NETNS_TMP/sent"
[ "$(wc -l <"$NETNS_TMP/sent")" -gt 100 ] && jq -e -s --arg ua "tracetrout/$version" 'all(.[];
	map(.[0]) == ["Host", "User-Agent", "Accept"] and .[1][1] == $ua and .[2][1] == "*/*")' \
	"$NETNS_TMP/sent" >/dev/null
tap_ok $? "the service got only Host, User-Agent: tracetrout/$version and Accept: */* ($(wc -l <"$NETNS_TMP/sent") requests)" ||
	sort "$NETNS_TMP/sent" | uniq -c | head | tap_diag
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
