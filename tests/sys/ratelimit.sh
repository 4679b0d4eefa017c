#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Rate-limited routers (issue 15): the two routers next to the server (TTLs 1 and 2, routers 4
# and 3 of 4) keep Linux's default ICMP limit, a burst of 6 and then about one time-exceeded a
# second toward one destination, this server. RATELIMIT_VISITORS (20) visitor addresses trace
# RATELIMIT_RATE (5) times a second in all for RATELIMIT_SECONDS (20) s, IPv4 then IPv6: at that
# rate such a router answers about one trace in five, so most traces show it reused (a router a
# recent trace measured at that TTL through the same neighbours, docs/engine.md). Asserted, per
# family: the first trace (an empty hop memory) measures every router, within their burst;
# every hop list is exact when reused routers count, the visitor exact; every router appears,
# measured now or reused, in at least RATELIMIT_PRESENT_PCT (95) % of traces; a reused hop in
# the JSON lines is a timeout with no ip and no rtt, its router and age apart. The share of
# traces that measured each router now is printed as a diagnostic, with the reused share.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

secs=${RATELIMIT_SECONDS:-20}
rate=${RATELIMIT_RATE:-5}
nvis=${RATELIMIT_VISITORS:-20}
present_pct=${RATELIMIT_PRESENT_PCT:-95}

tap_plan 11
netns_build -n 4 -l 4 -l 3 || { echo "Bail out! cannot build the network"; exit 1; }
# The visitors: addresses 11.. on the visitor's link, next to its own (.1) and router 1's (.2).
addrs4=()
addrs6=()
for ((i = 11; i < 11 + nvis; i++)); do
	ip -n "$NETNS_VISITOR" addr add "10.77.0.$i/24" dev tosrv || exit 1
	ip -n "$NETNS_VISITOR" -6 addr add "2001:db8:77::$i/64" dev tosrv nodad || exit 1
	addrs4+=("10.77.0.$i")
	addrs6+=("2001:db8:77::$i")
done
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs; routers 4 and 3 (TTLs 1, 2) at Linux's default ICMP limit"

# hops_reused: JSON lines on stdin to "TTL ADDRESS" lines, a reused router counted as its hop.
hops_reused() {
	jq -r 'select(type == "object" and has("ttl"))
		| "\(.ttl) \(if .timeout == true then (.reused.ip // "*") else .ip end)"'
}

# load FAMILY: the visitors trace RATE times a second in all for SECS s, each trace into
# $NETNS_TMP/loadFAMILY/K (their names in LOAD_FILES); returns once all have ended.
load() {
	local fam=$1 dir=$NETNS_TMP/load$1 n=$((secs * rate)) k a start now due pids=() as=()
	if [ "$fam" = 4 ]; then as=("${addrs4[@]}"); else as=("${addrs6[@]}"); fi
	LOAD_FILES=()
	mkdir -p "$dir"
	start=${EPOCHREALTIME/[.,]/}
	for ((k = 0; k < n; k++)); do
		due=$((start + k * 1000000 / rate))
		now=${EPOCHREALTIME/[.,]/}
		[ "$now" -ge "$due" ] || sleep "$(printf '0.%06d' $((due - now)))"
		a=${as[k % nvis]}
		netns_trace "$fam" / --interface "$a" >"$dir/$k" 2>"$dir/$k.err" &
		pids+=($!)
		LOAD_FILES+=("$dir/$k")
	done
	wait "${pids[@]}"
}

for fam in 4 6; do
	declare -n hops=NETNS_HOPS$fam
	want=$(netns_hops_text "$fam")
	nrouters=$((${#hops[@]} - 1))

	# The visitor's own address (IPv6 would pick the newest of its addresses by itself).
	own=${hops[-1]}
	netns_trace "$fam" / --interface "$own" >"$NETNS_TMP/first$fam" 2>&1
	check_hops "$fam" "$NETNS_TMP/first$fam" \
		"IPv$fam: the first trace (an empty hop memory) measures every router, the limited ones too"

	load "$fam"
	files=("${LOAD_FILES[@]}")
	total=${#files[@]}
	wrong=()
	routers=$(sed '$d' <<<"$want")
	if [ "$fam" = 4 ]; then vis=("${addrs4[@]}"); else vis=("${addrs6[@]}"); fi
	for ((k = 0; k < total; k++)); do
		f=${files[k]}
		# Each visitor is the last hop of its own traces.
		[ "$(hops_reused <"$f" 2>&1)" = "$routers"$'\n'"$((nrouters + 1)) ${vis[k % nvis]}" ] ||
			wrong+=("$f")
	done
	[ "${#wrong[@]}" = 0 ]
	tap_ok $? "IPv$fam: $((total - ${#wrong[@]})) of $total hop lists exact when reused routers count, the visitor exact" || {
		echo "want: $(echo "$want" | paste -sd,)"
		for f in "${wrong[@]:0:10}"; do
			echo "${f##*/}: $(hops_reused <"$f" 2>&1 | paste -sd,) $(cat "$f.err" 2>/dev/null)"
		done
	} | tap_diag

	# Per router (TTL 1..nrouters): traces that measured it now, that show it reused, either.
	low=0
	summary=
	for ((ttl = 1; ttl <= nrouters; ttl++)); do
		r=${hops[ttl - 1]}
		read -r measured reused < <(cat "${files[@]}" | jq -r --argjson t "$ttl" --arg r "$r" \
			'select(type == "object" and .ttl == $t)
			| if .ip == $r then "m" elif .reused.ip == $r then "r" else "x" end' |
			awk '$1 == "m" { m++ } $1 == "r" { r++ } END { print m + 0, r + 0 }')
		present=$((measured + reused))
		[ $((present * 100)) -ge $((present_pct * total)) ] || low=$((low + 1))
		summary+=" TTL $ttl ($r): measured now $((measured * 100 / total))%, reused $((reused * 100 / total))%, present $((present * 100 / total))%;"
		echo "# IPv$fam TTL $ttl ($r): measured now in $measured of $total traces ($((measured * 100 / total))%), reused in $reused, present in $present ($((present * 100 / total))%)"
	done
	[ "$low" = 0 ]
	tap_ok $? "IPv$fam: every router present, measured now or reused, in at least $present_pct% of $total traces ($rate a second, $nvis visitors)" ||
		echo "$summary" | tap_diag

	# A reused hop is a timeout: no ip, no rtt; its router and age apart, the age a number.
	bad=$(cat "${files[@]}" | jq -c 'select(type == "object" and has("reused"))
		| select(.timeout != true or has("ip") or has("rtt") or (.reused.age | type) != "number")' |
		head -3)
	nreused=$(cat "${files[@]}" | jq -c 'select(type == "object" and has("reused"))' | wc -l)
	# ICMPv6's limit is scaled by the route's prefix length (a /64: 4 a second), and the routers
	# here answered every IPv6 trace when last measured: reuse is asserted for IPv4.
	[ -z "$bad" ] && { [ "$fam" = 6 ] || [ "$nreused" -gt 0 ]; }
	tap_ok $? "IPv$fam: $nreused reused hops, each a timeout in the JSON lines, no ip, no rtt" ||
		echo "$bad" | tap_diag

	# The stored trace keeps a reused router: right after the load the limited routers have no
	# answer to spare, so a trace then shows one reused; its permalink's text marks it with its age.
	[ "$fam" = 4 ] || continue
	for ((i = 0; i < 10; i++)); do
		sys_trace 4 perma
		grep -q '"reused"' "$NETNS_TMP/perma" && break
		sleep 0.05
	done
	id=$(sys_header x-trace-id "$NETNS_TMP/perma.head")
	netns_trace 4 "/trace/$id?format=text" >"$NETNS_TMP/perma.text" 2>&1
	grep -q '"reused"' "$NETNS_TMP/perma" && grep -Eq '^ [12]  [0-9.]+ \(reused, [0-9]+ m?s old\)' "$NETNS_TMP/perma.text"
	tap_ok $? "a trace with a reused hop: its permalink's text shows the router marked reused, with its age" ||
		sys_show "$NETNS_TMP/perma" "$NETNS_TMP/perma.text"
done

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly" || sys_show "$NETNS_TMP/serve.log"
sys_done
