#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# tracetrout-rules on its own: exact rules with iptables-nft and iptables-legacy, idempotent add,
# del removing exactly ours, root required; then on a live network, that only marked
# connections hit the queue rules, that probes (packet mark set) do not, and that with no
# helper on the queue the traffic passes untouched (--queue-bypass), and that a new connection's
# SYN leaves its TTL in the 8 connmark bits above the mark bit.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require conntrack lighttpd sha256sum setpriv tc

rules=$top_builddir/tracetrout-rules
[ -x "$rules" ] || { echo "Bail out! $rules is not built"; exit 1; }

tap_plan 34

# saved NS BACKEND FAMILY: our lines of that family's mangle table, in iptables-save's order.
saved() {
	local save=iptables-$2-save
	[ "$3" = 6 ] && save=ip6tables-$2-save
	nsx "$1" "$save" -t mangle | grep -e TRACETROUT
}

expect() { # QUEUE MARK ICMP [SPORTS DPORTS]
	local m="-m connmark --mark $2/$2" q="-j NFQUEUE --queue-num $1 --queue-bypass" b ttl=$(($2 << 1))
	local loc='0x8>>0x18'
	[ "$3" = ipv6-icmp ] && loc=0x4
	cat <<EOF
:TRACETROUT_IN - [0:0]
:TRACETROUT_OUT - [0:0]
:TRACETROUT_SYN - [0:0]
-A INPUT -j TRACETROUT_IN
-A OUTPUT -j TRACETROUT_OUT
-A TRACETROUT_IN -p tcp ${5:+-m multiport --dports $5 }$m $q
-A TRACETROUT_IN -p $3 $m -m conntrack --ctstate RELATED $q
-A TRACETROUT_IN -p $3 -m connmark --mark $(printf '0x%x' $(($2 >> 1)))/$(printf '0x%x' $(($2 >> 1))) -m conntrack --ctstate RELATED $q
-A TRACETROUT_IN -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN ${5:+-m multiport --dports $5 }-m conntrack --ctstate NEW -j TRACETROUT_SYN
-A TRACETROUT_OUT -p tcp ${4:+-m multiport --sports $4 }$m -m mark ! --mark $2/$2 $q
EOF
	printf -- '-A TRACETROUT_SYN -j CONNMARK --set-xmark 0x0/0x%x\n' $((ttl * 255))
	for ((b = 1; b < 256; b <<= 1)); do
		printf -- '-A TRACETROUT_SYN -m u32 --u32 "%s&0x%x=0x%x" -j CONNMARK --set-xmark 0x%x/0x%x\n' \
			"$loc" "$b" "$b" $((ttl * b)) $((ttl * b))
	done
}

# compare DESCRIPTION WANT GOT
compare() {
	if [ "$2" = "$3" ]; then
		tap_ok 0 "$1"
	else
		tap_ok 1 "$1"
		{ echo "want:"; echo "$2"; echo "got:"; echo "$3"; } | tap_diag
	fi
}

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$rules" add 2>&1)
st=$?
[ "$st" = 1 ] && [[ $out == *root* ]]
tap_ok $? "refused without root, saying so (status $st: $out)"

for backend in nft legacy; do
	ns=$NETNS_TAG-rules-$backend
	netns__add "$ns" || { echo "Bail out! cannot make namespace $ns"; exit 1; }
	export TRACETROUT_IPTABLES=$backend

	nsx "$ns" "$rules" add && nsx "$ns" "$rules" add
	tap_ok $? "$backend: add twice succeeds"
	compare "$backend: IPv4 rules exact, not duplicated" "$(expect 7470 0x100000 icmp)" "$(saved "$ns" "$backend" 4)"
	compare "$backend: IPv6 rules exact" "$(expect 7470 0x100000 ipv6-icmp)" "$(saved "$ns" "$backend" 6)"
	nsx "$ns" "$rules" show >/dev/null
	tap_ok $? "$backend: show finds them"

	nsx "$ns" "$rules" add --queue 9 --mark 0x200000 --ports 80,443
	compare "$backend: add with other settings replaces (IPv4)" \
		"$(expect 9 0x200000 icmp 80,443 80,443)" "$(saved "$ns" "$backend" 4)"
	compare "$backend: add with other settings replaces (IPv6)" \
		"$(expect 9 0x200000 ipv6-icmp 80,443 80,443)" "$(saved "$ns" "$backend" 6)"

	nsx "$ns" iptables-$backend -w -t mangle -A OUTPUT -p udp -j ACCEPT
	nsx "$ns" "$rules" del && nsx "$ns" "$rules" del
	tap_ok $? "$backend: del twice succeeds"
	compare "$backend: del leaves nothing of ours, and the rest" "-A OUTPUT -p udp -j ACCEPT" \
		"$(nsx "$ns" iptables-$backend-save -t mangle | grep -e '^-A' -e TRACETROUT; nsx "$ns" ip6tables-$backend-save -t mangle | grep -e '^-A' -e TRACETROUT)"
	nsx "$ns" "$rules" show >/dev/null
	tap_ok $(($? == 1 ? 0 : 1)) "$backend: show says they are missing"

	nsx "$ns" "$rules" add --ports 80,0 2>/dev/null
	st=$?
	[ "$st" = 1 ] && [ -z "$(saved "$ns" "$backend" 4)" ]
	tap_ok $? "$backend: a bad port is refused before anything changes"
	unset TRACETROUT_IPTABLES
done

# --- on a live network, no helper on the queue ---------------------------------------------
netns_build -n 1 || { echo "Bail out! cannot build the network"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 4M /dev/urandom >"$NETNS_TMP/www/big"
sum=$(sha256sum <"$NETNS_TMP/www/big")
cat >"$NETNS_TMP/lighttpd.conf" <<EOF
server.document-root = "$NETNS_TMP/www"
server.port = $NETNS_PORT
server.bind = "0.0.0.0"
server.v4mapped = "disable"
\$SERVER["socket"] == "[::]:$NETNS_PORT" { }
EOF
ip netns exec "$NETNS_SERVER" lighttpd -D -f "$NETNS_TMP/lighttpd.conf" >"$NETNS_TMP/lighttpd.log" 2>&1 &
for ((i = 0; i < 50; i++)); do
	nsx "$NETNS_SERVER" curl -sf -o /dev/null "http://127.0.0.1:$NETNS_PORT/big" && break
	sleep 0.1
done
nsx "$NETNS_SERVER" "$rules" add --ports "$NETNS_PORT" && netns_slow_lane 16mbit
tap_ok $? "rules added in the server namespace, downloads paced to 16 Mbit/s"

counters() {
	sys_rule_packets "$NETNS_SERVER" "$1"
}

# download FAMILY [marked]: a 2 s download of the file, from its own visitor port in the slow
# lane; marked: its connection gets the bit as soon as conntrack has it (a loaded machine may be
# slow to start curl).
lport=45000
download() {
	local fam=$1 pid f=ipv4 i
	[ "$fam" = 6 ] && f=ipv6
	lport=$((lport + 1))
	rm -f "$NETNS_TMP/got"
	nsx "$NETNS_VISITOR" curl -s --local-port "$lport" -o "$NETNS_TMP/got" \
		"$(netns_url "$fam" /big)" &
	pid=$!
	if [ "${2:-}" = marked ]; then
		for ((i = 0; i < 100; i++)); do
			nsx "$NETNS_SERVER" conntrack -f "$f" -U -p tcp --sport "$lport" --dport "$NETNS_PORT" \
				-m 0x100000/0x100000 2>&1 | grep -q '^conntrack.* 1 flow entries' && break
			sleep 0.05
		done
	fi
	wait "$pid" && [ "$(sha256sum <"$NETNS_TMP/got")" = "$sum" ]
}

for fam in 4 6; do
	before=$(counters TRACETROUT_OUT)/$(counters TRACETROUT_IN)
	download "$fam"
	tap_ok $? "IPv$fam: unmarked download intact"
	after=$(counters TRACETROUT_OUT)/$(counters TRACETROUT_IN)
	compare "IPv$fam: unmarked download never reaches the queue rules" "$before" "$after"

	before_out=$(counters TRACETROUT_OUT)
	before_in=$(counters TRACETROUT_IN)
	download "$fam" marked
	tap_ok $? "IPv$fam: marked download intact with nobody on the queue (--queue-bypass)"
	out=$(($(counters TRACETROUT_OUT) - before_out))
	in=$(($(counters TRACETROUT_IN) - before_in))
	[ "$out" -gt 10 ] && [ "$in" -gt 10 ]
	tap_ok $? "IPv$fam: marked connection hits the queue rules ($out out, $in in)"

	# The visitor's SYN left with 64 and crossed one router: TTL 63 in the bits above 0x100000.
	f=ipv4
	[ "$fam" = 6 ] && f=ipv6
	mark=$(nsx "$NETNS_SERVER" conntrack -f "$f" -L -p tcp --sport "$lport" --dport "$NETNS_PORT" 2>/dev/null |
		sed -n 's/.* mark=\([0-9]*\).*/\1/p')
	[ -n "$mark" ] && [ $(((mark >> 21) & 255)) = 63 ]
	tap_ok $? "IPv$fam: the SYN's TTL is in the connmark (mark ${mark:-none}: TTL $(((${mark:-0} >> 21) & 255)))"
done

# Probes carry the bit as their packet mark: mark every outgoing segment so, and none is queued.
nsx "$NETNS_SERVER" iptables -w -t mangle -I OUTPUT 1 -p tcp -j MARK --set-xmark 0x100000/0x100000
before_out=$(counters TRACETROUT_OUT)
download 4 marked
tap_ok $? "IPv4: marked download with packet-marked segments intact"
compare "packet-marked segments (probes) are never queued" "$before_out" "$(counters TRACETROUT_OUT)"

sys_done
