#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A visitor's wider networks have limits of their own: ten visitors of one IPv6 /48 (each in a
# /64 of a /56 of its own, so that no narrower limit applies) ask for traces one after another,
# and prefix-rate (1 a second, bursts of 3) refuses those beyond it with 503 and Retry-After,
# while a visitor in another /48 is traced at once. The same for ten IPv4 addresses of one /24
# and a visitor in another /24. The visitors are addresses added to the visitor's namespace
# (curl --interface ADDR), routed back by every router.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

N=10	# visitors of one prefix
tap_plan 9
netns_build -n 2 || { echo "Bail out! cannot build the network"; exit 1; }
# The visitors' addresses: 2001:db8:77:X00::1 (X = 1..N: N /56s of the test's own /48) and
# 10.77.0.(10+X) of the visitor's /24; 2001:db8:78::1 and 10.78.0.1 in another /48 and /24.
six=() four=()
for ((x = 1; x <= N; x++)); do
	six+=("2001:db8:77:$(printf '%x' "$x")00::1")
	four+=("10.77.0.$((10 + x))")
done
other6=2001:db8:78::1 other4=10.78.0.1
for a in "${six[@]}" "$other6"; do
	ip -n "$NETNS_VISITOR" -6 addr add "$a/128" dev tosrv nodad || exit 1
done
for a in "${four[@]}" "$other4"; do
	ip -n "$NETNS_VISITOR" addr add "$a/32" dev tosrv || exit 1
done
# Back to them: router j through its neighbour on the visitor's side (the visitor for router 1).
for ((j = 1; j <= ${#NETNS_ROUTERS[@]}; j++)); do
	via6=2001:db8:77:$((j - 1))::1 via4=10.77.$((j - 1)).1
	if ! ip -n "${NETNS_ROUTERS[j]}" -6 route add 2001:db8:77::/51 via "$via6" ||
		! ip -n "${NETNS_ROUTERS[j]}" -6 route add 2001:db8:78::/48 via "$via6" ||
		! ip -n "${NETNS_ROUTERS[j]}" route add 10.78.0.0/24 via "$via4"; then
		echo "Bail out! cannot route to the visitors"
		exit 1
	fi
done

read -r -a limits <<<"$NETNS_NO_LIMITS"
netns_serve_start "$top_builddir" -- "${limits[@]}" --prefix-rate 1
tap_ok $? "tracetrout-serve runs in the server namespace (prefix-rate 1)"

# from FAMILY ADDR NAME: a trace for the visitor at ADDR into $NETNS_TMP/NAME; its status.
from() {
	local host=$NETNS_SERVER4
	[ "$1" = 6 ] && host=$NETNS_SERVER6
	sys_get "$host" "$3" "/?store=0" --interface "$2"
}

for fam in 6 4; do
	if [ "$fam" = 6 ]; then declare -n addrs=six; else declare -n addrs=four; fi
	declare -n other=other$fam
	codes=() refused=0
	for ((x = 0; x < N; x++)); do
		codes+=("$(from "$fam" "${addrs[x]}" "p$fam-$x")")
		if [ "${codes[x]}" = 503 ]; then
			[ -n "$(sys_header retry-after "$NETNS_TMP/p$fam-$x.head")" ] && refused=$((refused + 1))
		fi
	done
	[ "${codes[*]:0:3}" = "200 200 200" ]
	tap_ok $? "IPv$fam: the first three visitors of one prefix are traced (${codes[*]})"
	# 1 a second with a burst of 3: within the time ten traces take, at most a few more.
	[ "$refused" -ge $((N / 2)) ]
	tap_ok $? "IPv$fam: $refused of the other $((N - 3)) get 503 with Retry-After"
	code=$(from "$fam" "$other" "o$fam")
	[ "$code" = 200 ] && [ "$(netns_hops <"$NETNS_TMP/o$fam" | tail -n 1)" = "3 $other" ]
	tap_ok $? "IPv$fam: a visitor in another prefix right after: 200, traced to $other ($code)" ||
		sys_show "$NETNS_TMP/o$fam" "$NETNS_TMP/o$fam.err"
done
grep -q "too many traces started for this network" "$NETNS_TMP/serve.log"
tap_ok $? "the app logs the broker's reason" || sys_show "$NETNS_TMP/serve.log"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
