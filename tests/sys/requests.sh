#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Hostile and impossible requests on the real helper's socket: a connection that does not exist,
# a server address that is not local, a port that may not be traced, garbage and oversized lines.
# Each gets its error code, no probe leaves the server, and the helper still traces afterwards.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack python3
sys_require_build

tap_plan 13
netns_build -n 2 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
sock=$NETNS_TMP/run/tracetroutd.sock

# Probes carry the trace mark as SO_MARK: a rule without a target counts them.
for ipt in iptables ip6tables; do
	nsx "$NETNS_SERVER" "$ipt" -w -t mangle -I OUTPUT -m mark --mark 0x100000/0x100000
done
probes() {
	{
		nsx "$NETNS_SERVER" iptables -w -t mangle -nvxL OUTPUT 1
		nsx "$NETNS_SERVER" ip6tables -w -t mangle -nvxL OUTPUT 1
	} | awk '{ n += $1 } END { print n + 0 }'
}

# ask LINE: see broker_ask in lib.sh.
ask() {
	broker_ask "$sock" "$1"
}

# expect DESC LINE PATTERN [closed]: the answer after the greeting matches PATTERN (grep -E),
# and with "closed", the broker closed the connection after it.
expect() {
	local out
	out=$(ask "$2")
	grep -qE "$3" <<<"$out" && { [ "${4:-}" != closed ] || [ "$(tail -n 1 <<<"$out")" = CLOSED ]; }
	tap_ok $? "$1" || { echo "got:"; echo "$out"; } | tap_diag
}

out=$(ask PING)
[ "$(head -n 2 <<<"$out")" = "$(printf 'TRACETROUT 1\nPONG')" ]
tap_ok $? "the helper greets with its protocol version and answers PING" || echo "$out" | tap_diag

expect "IPv4: a connection that does not exist: not-found" \
	"TRACE client=$NETNS_CLIENT4 cport=40000 server=$NETNS_SERVER4 sport=$NETNS_PORT" \
	'^ERROR code=not-found '
expect "IPv6: a connection that does not exist: not-found" \
	"TRACE client=$NETNS_CLIENT6 cport=40000 server=$NETNS_SERVER6 sport=$NETNS_PORT" \
	'^ERROR code=not-found '
expect "a server address of another host: not-local" \
	"TRACE client=$NETNS_CLIENT4 cport=40000 server=10.77.1.1 sport=$NETNS_PORT" \
	'^ERROR code=not-local '
expect "a port that may not be traced: port-not-allowed" \
	"TRACE client=$NETNS_CLIENT4 cport=40000 server=$NETNS_SERVER4 sport=22" \
	'^ERROR code=port-not-allowed '
expect "binary garbage: bad-request, then the connection closes" \
	'\x00\xff\x1b[2J\xfe garbage' '^ERROR code=bad-request ' closed
expect "a 5000-byte line: bad-request, then the connection closes" \
	"TRACE $(printf 'x%.0s' {1..5000})" '^ERROR code=bad-request ' closed
expect "mixed address families: bad-request" \
	"TRACE client=$NETNS_CLIENT6 cport=40000 server=$NETNS_SERVER4 sport=$NETNS_PORT" \
	'^ERROR code=bad-request '

n=$(probes)
[ "$n" = 0 ]
tap_ok $? "no probe left the server for any of them ($n counted)"

sys_trace 4 after
check_hops 4 "$NETNS_TMP/after" "the helper still traces afterwards, exactly"
n=$(probes)
[ "$n" -gt 0 ]
tap_ok $? "the probe counter sees that trace's probes ($n), so it counts for real"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
