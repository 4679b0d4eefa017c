#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A visitor without SACK (net.ipv4.tcp_sack=0): its duplicate ACKs name no probe, and the engine
# counts them. Both ways round, IPv4 and IPv6, on the live page (whose first ~10 KB are in flight
# while the probes go):
# * the probes' duplicate ACKs never reach the server's TCP: no retransmission in 10 traces,
#   and every stored hop list exact;
# * a real loss of one of the page's segments during a trace (a router drops it once) still
#   gets the server's fast retransmit, not a timeout, and the page arrives whole.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nstat iptables ip6tables
sys_require_build

N=10
tap_plan 13
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
nsx "$NETNS_VISITOR" sysctl -qw net.ipv4.tcp_sack=0
tap_ok $? "the visitor's TCP negotiates no SACK (both families)"
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"


# page FAMILY NAME [CURL OPTIONS...]: the live page of a trace into $NETNS_TMP/NAME, then its
# stored trace as text into $NETNS_TMP/NAME.text (by the permalink the page ends with).
page() {
	local fam=$1 name=$2 id
	shift 2
	netns_trace "$fam" "/?format=html" "$@" >"$NETNS_TMP/$name" 2>"$NETNS_TMP/$name.err" || return 1
	id=$(grep -o '/trace/[0-9a-f]\{32\}' "$NETNS_TMP/$name" | head -n 1)
	[ -n "$id" ] && netns_trace "$fam" "$id?format=text" >"$NETNS_TMP/$name.text"
}

for fam in 4 6; do
	r0=$(netns_tcp_retrans "$NETNS_SERVER")
	exact=0 bad=()
	for ((i = 0; i < N; i++)); do
		if page "$fam" "p$fam.$i" &&
			[ "$(text_hops <"$NETNS_TMP/p$fam.$i.text")" = "$(netns_hops_text "$fam")" ]; then
			exact=$((exact + 1))
		else
			bad+=("$NETNS_TMP/p$fam.$i.err" "$NETNS_TMP/p$fam.$i.text")
		fi
	done
	[ "$exact" = "$N" ]
	tap_ok $? "IPv$fam: $exact of $N live pages' stored hop lists exact" ||
		sys_show "${bad[@]}" "$NETNS_TMP/serve.log"
	r1=$(netns_tcp_retrans "$NETNS_SERVER")
	[ "$r1" = "$r0" ]
	tap_ok $? "IPv$fam: the server retransmitted nothing ($r0 -> $r1): the probes' duplicate ACKs never reached it"
done

# The real loss: router 4 (next to the server) drops the second full-sized segment to visitor
# port 45104 (IPv4) or 45106 (IPv6), once. Without SACK the visitor answers each later segment
# with a duplicate ACK.
ipt() {
	local cmd=iptables
	[ "$1" = 6 ] && cmd=ip6tables
	shift
	nsx "${NETNS_ROUTERS[4]}" "$cmd" -w "$@"
}
for fam in 4 6; do
	port=$((45100 + fam))
	ipt "$fam" -A FORWARD -p tcp --dport "$port" -m length --length 1200:65535 \
		-m statistic --mode nth --every 1000000 --packet 1 -j DROP
	t0=$(netns_nstat "$NETNS_SERVER" TcpExtTCPTimeouts)
	f0=$(netns_nstat "$NETNS_SERVER" TcpExtTCPRenoRecovery)
	r0=$(netns_tcp_retrans "$NETNS_SERVER")
	page "$fam" "loss$fam" --local-port "$port"
	ok=$?
	grep -q '</html>' "$NETNS_TMP/loss$fam"
	tap_ok $((ok | $?)) "IPv$fam: the page arrives whole despite the loss" ||
		sys_show "$NETNS_TMP/loss$fam.err"
	dropped=$(ipt "$fam" -vnL FORWARD | awk -v p="dpt:$port" '$0 ~ p { print $1 }')
	[ "$dropped" = 1 ]
	tap_ok $? "IPv$fam: the router dropped ${dropped:-no} segment (want 1)"
	t1=$(netns_nstat "$NETNS_SERVER" TcpExtTCPTimeouts)
	f1=$(netns_nstat "$NETNS_SERVER" TcpExtTCPRenoRecovery)
	r1=$(netns_tcp_retrans "$NETNS_SERVER")
	[ "$r1" -gt "$r0" ] && [ "$f1" -gt "$f0" ] && [ "$t1" = "$t0" ]
	tap_ok $? "IPv$fam: recovered by fast retransmit (Reno recoveries $f0 -> $f1), no timeout ($t0 -> $t1), retransmissions $r0 -> $r1" ||
		nsx "$NETNS_SERVER" nstat -asz | grep -E 'Retrans|LossProbe|Timeout|Recovery|Reorder|Undo' |
		grep -v ' 0 ' | tap_diag
	ipt "$fam" -F FORWARD
done

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
