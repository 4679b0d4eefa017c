#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Reverse DNS names of hops, from dnsmasq in the server's namespace, IPv4 and IPv6: routers with
# a PTR record show as "name (address)" in text and carry "host" in JSON lines, live (once
# cached) and stored; a router without one, and the visitor whose PTR holds markup, show just
# the address; ?names=0 and names 0 show none; the names are cached (a second trace sends no
# query); dns-server picks another server; a DNS server that never answers does not slow a trace;
# names 0 and skip-private 1 (for our private addresses) send no query.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack python3 dnsmasq
sys_require_build

# A trace here takes a few ms; a trace that waited for a DNS server that never answers would
# take the info timeout (2 s): the bound is the slowest trace without names plus this.
slack=${NAMES_SLACK_MS:-400}

tap_plan 18
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }

# Routers 4, 3 and 2 (hops 1-3) have names, other ones on 127.0.0.2; router 1 (hop 4) has none;
# the visitor's (hop 5) holds markup, which the broker must drop.
declare -A host alt
ptrs=() alts=()
for j in 4 3 2; do
	host[10.77.$j.1]=r$j.test.example
	host[2001:db8:77:$j::1]=r$j-v6.test.example
	alt[10.77.$j.1]=r$j.alt.example
	alt[2001:db8:77:$j::1]=r$j-v6.alt.example
done
for a in "${!host[@]}"; do
	ptrs+=("$(netns_ptr "$a" "${host[$a]}")")
	alts+=("$(netns_ptr "$a" "${alt[$a]}")")
done
ptrs+=("$(netns_ptr "$NETNS_CLIENT4" 'evil<b>x.test.example')" "$(netns_ptr "$NETNS_CLIENT6" 'ev"il x.test.example')")
# netns_build points the server namespace's resolver at 127.0.0.1.
if ! netns_dns_start "$NETNS_SERVER" 127.0.0.1 "${ptrs[@]}" ||
	! netns_dns_start "$NETNS_SERVER" 127.0.0.2 "${alts[@]}"; then
	echo "Bail out! dnsmasq did not start"
	exit 1
fi
# 127.0.0.9 is a DNS server that never answers.
for proto in udp tcp; do
	nsx "$NETNS_SERVER" iptables -w -A OUTPUT -d 127.0.0.9 -p "$proto" --dport 53 -j DROP ||
		{ echo "Bail out! iptables"; exit 1; }
done

ms() {
	awk -v t="$1" 'BEGIN { printf "%d\n", t * 1000 }'
}

# trace FAMILY NAME [PATH]: a trace into $NETNS_TMP/NAME (head in NAME.head), its time in NAME.ms.
trace() {
	local t
	t=$(netns_trace "$1" "${3:-/}" -D "$NETNS_TMP/$2.head" -o "$NETNS_TMP/$2" -w '%{time_total}' \
		2>"$NETNS_TMP/$2.err") || :
	ms "${t:-999}" >"$NETNS_TMP/$2.ms"
}

# good FAMILY FILE: the exact hop list, every line one JSON object, in normal time.
good() {
	local n
	n=$(jq -c 'select(type == "object")' "$2" 2>/dev/null | wc -l)
	[ "$(netns_hops <"$2" 2>/dev/null)" = "$(netns_hops_text "$1")" ] && [ "$n" = "$(wc -l <"$2")" ] &&
		[ "$(cat "$2.ms")" -le "$bound" ]
}

# hosts FILE: "TTL ADDRESS HOST" for each hop line, "-" without a host.
hosts() {
	jq -r 'select(has("ip")) | "\(.ttl) \(.ip) \(.host // "-")"' "$1"
}

# want_hosts FAMILY [alt]: what hosts must print.
want_hosts() {
	local -n hops=NETNS_HOPS$1
	local -n names=${2:-host}
	local i
	for i in "${!hops[@]}"; do
		echo "$((i + 1)) ${hops[i]} ${names[${hops[i]}]:--}"
	done
}

# text_names: traceroute-style text to "TTL HOST ADDRESS" ("-" for no host), for the hop lines.
text_names() {
	awk '/^end:/ { exit } $1 ~ /^[0-9]+$/ {
		if ($3 ~ /^\(.*\)$/) print $1, $2, substr($3, 2, length($3) - 2); else print $1, "-", $2 }'
}

want_text() {
	want_hosts "$1" | awk '{ print $1, $3, $2 }'
}

queries() {
	netns_dns_queries "$1"
}

# serve NAME [tracetroutd options]: tracetrout-serve started afresh on an empty database.
serve() {
	local name=$1
	shift
	netns_serve_stop
	# shellcheck disable=SC2086  # the limits are words
	netns_serve_start "$top_builddir" --db "$NETNS_TMP/state/$name.db" -- "$@" $NETNS_NO_LIMITS
}

# wait_names FAMILY LINK [alt]: until the stored trace at LINK has its names (3 s at most).
wait_names() {
	local i
	for ((i = 0; i < 30; i++)); do
		netns_trace "$1" "$2" -o "$NETNS_TMP/wait" 2>/dev/null &&
			[ "$(hosts "$NETNS_TMP/wait")" = "$(want_hosts "$1" "${3:-host}")" ] && return 0
		sleep 0.1
	done
	return 1
}

link() {
	tr -d '\r' <"$NETNS_TMP/$1.head" | sed -n 's/^[Ll]ink: <\([^>]*\)>.*/\1/p'
}

serve sys
tap_ok $? "tracetrout-serve runs (names on by default, the system resolver: dnsmasq on 127.0.0.1)"

# ?names=0: the normal trace time, and no host.
bound=999999
bad=
for fam in 4 6; do
	for i in 1 2 3 4 5; do
		trace "$fam" "n0-$fam.$i" "/?names=0"
		good "$fam" "$NETNS_TMP/n0-$fam.$i" && ! grep -q '"host"' "$NETNS_TMP/n0-$fam.$i" || bad+=" $fam.$i"
	done
done
base=$(cat "$NETNS_TMP"/n0-?.?.ms | sort -n | tail -n 1)
bound=$((base + slack))
[ -z "$bad" ]
tap_ok $? "?names=0: 10 exact traces without \"host\", the slowest $base ms (the bound is $bound ms)" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/n0-4.1"; }

q0=$(queries 127.0.0.1)
bad=
for fam in 4 6; do
	trace "$fam" "first$fam"
	good "$fam" "$NETNS_TMP/first$fam" || bad+=" $fam"
done
[ -z "$bad" ]
tap_ok $? "names on: the first traces are exact and within $bound ms ($(cat "$NETNS_TMP"/first?.ms | paste -sd' ') ms)" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/first4" "$NETNS_TMP/serve.log"; }

wait_names 4 "$(link first4)" && wait_names 6 "$(link first6)"
q1=$(queries 127.0.0.1)
bad=
for fam in 4 6; do
	trace "$fam" "second$fam"
	good "$fam" "$NETNS_TMP/second$fam" || bad+=" $fam:trace"
	[ "$(hosts "$NETNS_TMP/second$fam")" = "$(want_hosts "$fam")" ] || bad+=" $fam:hosts"
done
[ -z "$bad" ]
tap_ok $? "the second traces (cached names): \"host\" on the routers with PTR, none on the one without nor on the visitor's markup name" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/second4" "$NETNS_TMP/second6"; }
q2=$(queries 127.0.0.1)
dups=$(grep -o 'query\[PTR\] [^ ]*' "$NETNS_TMP/dnsmasq-127.0.0.1.log" | sort | uniq -d)
[ "$q2" = "$q1" ] && [ $((q1 - q0)) -ge 10 ] && [ -z "$dups" ]
tap_ok $? "the cache: the first traces asked $((q1 - q0)) PTR queries (one an address), the second ones $((q2 - q1))" ||
	{ echo "asked twice: $dups" | tap_diag; }

bad=
for fam in 4 6; do
	trace "$fam" "text$fam" "/?format=text"
	[ "$(text_names <"$NETNS_TMP/text$fam")" = "$(want_text "$fam")" ] || bad+=" $fam"
done
[ -z "$bad" ]
tap_ok $? "text: \"name (address)\" for the routers with PTR, the address alone for the others" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/text4" "$NETNS_TMP/text6"; }

bad=
for fam in 4 6; do
	trace "$fam" "off$fam" "/?names=0"
	good "$fam" "$NETNS_TMP/off$fam" && ! grep -q '"host"' "$NETNS_TMP/off$fam" || bad+=" json$fam"
	trace "$fam" "offtext$fam" "/?format=text&names=0"
	[ "$(text_names <"$NETNS_TMP/offtext$fam")" = "$(want_text "$fam" | awk '{ print $1, "-", $3 }')" ] ||
		bad+=" text$fam"
done
[ -z "$bad" ]
tap_ok $? "?names=0 with the names cached: no \"host\" in JSON, no names in text" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/off4" "$NETNS_TMP/offtext4"; }

# The stored first traces: json, text and html show the names.
bad=
for fam in 4 6; do
	l=$(link "first$fam")
	netns_trace "$fam" "$l" -o "$NETNS_TMP/stored$fam.json" &&
		[ "$(hosts "$NETNS_TMP/stored$fam.json")" = "$(want_hosts "$fam")" ] || bad+=" json$fam"
	netns_trace "$fam" "$l?format=text" -o "$NETNS_TMP/stored$fam.txt" &&
		[ "$(text_names <"$NETNS_TMP/stored$fam.txt")" = "$(want_text "$fam")" ] || bad+=" text$fam"
	netns_trace "$fam" "$l" -H 'Accept: text/html' -o "$NETNS_TMP/stored$fam.html" || bad+=" html$fam"
	for a in "${!host[@]}"; do
		[ "$([[ $a == *:* ]] && echo 6 || echo 4)" = "$fam" ] || continue
		grep -qF "${host[$a]}" "$NETNS_TMP/stored$fam.html" || bad+=" html$fam:${host[$a]}"
	done
	grep -q 'evil\|ev"il' "$NETNS_TMP/stored$fam.json" "$NETNS_TMP/stored$fam.txt" \
		"$NETNS_TMP/stored$fam.html" && bad+=" markup-name$fam"
done
[ -z "$bad" ]
tap_ok $? "stored traces: json \"host\", text \"name (address)\" and html show the names; the markup name nowhere" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/stored4.txt"; }

# dns-server: another server, other names.
serve dns-server --dns-server 127.0.0.2
tap_ok $? "tracetrout-serve runs with dns-server 127.0.0.2"
bad=
for fam in 4 6; do
	trace "$fam" "alt$fam"
	good "$fam" "$NETNS_TMP/alt$fam" || bad+=" $fam:trace"
	wait_names "$fam" "$(link "alt$fam")" alt || bad+=" $fam:stored"
	trace "$fam" "alt2$fam"
	[ "$(hosts "$NETNS_TMP/alt2$fam")" = "$(want_hosts "$fam" alt)" ] || bad+=" $fam:live"
done
[ -z "$bad" ]
tap_ok $? "dns-server: the names come from 127.0.0.2 (rN.alt.example), stored and live" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/alt24" "$NETNS_TMP/wait"; }

# A DNS server that never answers: traces take their normal time.
serve blackhole --dns-server 127.0.0.9
tap_ok $? "tracetrout-serve runs with dns-server 127.0.0.9, which never answers"
hpid=$(netns_helper_pid)
bad=
for fam in 4 6; do
	for run in a b; do
		trace "$fam" "hole$run$fam"
		good "$fam" "$NETNS_TMP/hole$run$fam" && ! grep -q '"host"' "$NETNS_TMP/hole$run$fam" ||
			bad+=" $run$fam"
	done
done
[ -z "$bad" ]
tap_ok $? "an unanswered DNS server: 4 exact traces without \"host\", each within $bound ms ($(cat "$NETNS_TMP"/hole??.ms | sort -n | tail -n 1) ms)" ||
	{ echo "failed:$bad" | tap_diag; sys_show "$NETNS_TMP/holea4" "$NETNS_TMP/serve.log"; }
sleep 4.5
trace 4 hole-after
dropped=$(nsx "$NETNS_SERVER" iptables -w -nvxL OUTPUT | awk '$0 ~ /127\.0\.0\.9/ { n += $1 } END { print n + 0 }')
good 4 "$NETNS_TMP/hole-after" && [ "$(netns_helper_pid)" = "$hpid" ] && [ "$dropped" -gt 0 ]
tap_ok $? "after the queries timed out ($dropped dropped): the helper is the same and traces still work" ||
	sys_show "$NETNS_TMP/hole-after" "$NETNS_TMP/serve.log"

# names 0, and skip-private 1 (our addresses are RFC 1918 and documentation ones): no query.
for setting in "names 0" "skip-private 1"; do
	read -r key value <<<"$setting"
	serve "no-$key" "--$key" "$value"
	tap_ok $? "tracetrout-serve runs with $setting"
	q0=$(queries 127.0.0.1)
	bad=
	for fam in 4 6; do
		trace "$fam" "no-$key$fam"
		good "$fam" "$NETNS_TMP/no-$key$fam" && ! grep -q '"host"' "$NETNS_TMP/no-$key$fam" || bad+=" $fam"
	done
	sleep 0.5
	[ -z "$bad" ] && [ "$(queries 127.0.0.1)" = "$q0" ]
	tap_ok $? "$setting: exact traces without \"host\", and not one DNS query" ||
		{ echo "failed:$bad, queries $q0 -> $(queries 127.0.0.1)" | tap_diag; }
done

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
