#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The engine's own checks, reached with requests the broker passes on unchanged (it checks only
# the port): a TRACE that names a connection by its reply tuple (conntrack finds an entry either
# way round) is not-found, and one for a server address that is not the host's is not-local even
# with ip_nonlocal_bind=1, where a test bind would succeed; neither marks anything in conntrack.
# The connections are made with conntrack -I, so that each exists exactly as the request needs.
# (The engine reads the host's addresses from files opened at setup, through no socket:
# tests/unit/local_test and seccomp_test.)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack python3
sys_require_build

tap_plan 8
netns_build -n 2 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
sock=$NETNS_TMP/run/tracetroutd.sock

# ct_insert SRC SPORT DST DPORT: an ESTABLISHED TCP entry in the server's conntrack, original
# direction SRC to DST.
ct_insert() {
	nsx "$NETNS_SERVER" conntrack -I -p tcp -s "$1" --sport "$2" -d "$3" --dport "$4" \
		--state ESTABLISHED --timeout 120 -u ASSURED >/dev/null 2>&1
}
# refused FAMILY WHAT CODE REQUEST: the broker answers ERROR code=CODE and nothing is marked.
refused() {
	local out marked
	out=$(broker_ask "$sock" "$4")
	marked=$(sys_marked "$NETNS_SERVER")
	grep -q "^ERROR code=$3 " <<<"$out" && [ -z "$marked" ]
	tap_ok $? "IPv$1, $2: $3, nothing marked" ||
		{ echo "$out"; echo "marked:"; echo "$marked"; } | tap_diag
}

# The server "connected out" from its web port to the visitor's port 40002: a request for the
# visitor's connection to the server finds this entry by its reply tuple.
for fam in 4 6; do
	declare -n client=NETNS_CLIENT$fam server=NETNS_SERVER$fam
	ct_insert "$server" "$NETNS_PORT" "$client" 40002
	refused "$fam" "a connection named by its reply tuple" not-found \
		"TRACE client=$client cport=40002 server=$server sport=$NETNS_PORT"
done

# A connection to an address the host does not have: binding to it succeeds all the same.
nsx "$NETNS_SERVER" sysctl -qw net.ipv4.ip_nonlocal_bind=1 net.ipv6.ip_nonlocal_bind=1
for fam in 4 6; do
	declare -n client=NETNS_CLIENT$fam
	[ "$fam" = 4 ] && other=10.77.2.99 || other=2001:db8:77:2::99
	ct_insert "$client" 40004 "$other" "$NETNS_PORT"
	refused "$fam" "a server address not the host's, ip_nonlocal_bind=1" not-local \
		"TRACE client=$client cport=40004 server=$other sport=$NETNS_PORT"
done

# The same kind of entry the right way round is traced: the refusals above are the checks'.
ct_insert "$NETNS_CLIENT4" 40006 "$NETNS_SERVER4" "$NETNS_PORT"
out=$(broker_ask "$sock" "TRACE client=$NETNS_CLIENT4 cport=40006 server=$NETNS_SERVER4 sport=$NETNS_PORT")
grep -q '^STARTED ' <<<"$out"
tap_ok $? "the connection in its original direction: STARTED" || echo "$out" | tap_diag

sys_trace 4 after
check_hops 4 "$NETNS_TMP/after" "a visitor's trace after them is exact"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
