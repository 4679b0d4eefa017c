# shellcheck shell=bash disable=SC2034  # the NETNS_ variables are for the scripts that source this
# Sourced by the system tests, scripts/demo.sh and scripts/bench.sh: builds a chain of network
# namespaces (visitor — R1 … Rn — server) with real Linux routers, and runs TraceTrout in it.
#
#   . tests/lib/netns.sh
#   netns_build -n 4 [-s K]... [-l K]... [-d K]... [-N]
#       -n N  routers (default 4); R1 is next to the visitor, Rn next to the server
#       -s K  router K is silent: its ICMP time-exceeded output is dropped
#       -l K  router K keeps Linux's default ICMP rate limits (the others have them off)
#       -d K  router K drops every tenth packet it forwards, the 10th, 20th, ... of both families
#             together (nft numgen inc: deterministic, so that a test cannot flake): probes,
#             answers, data and ACKs alike, TCP SYNs aside (passed, not counted: a lost SYN
#             costs TCP's 1 s before any request). NETNS_HOPS4/6 are as without it;
#             netns_dropped K counts the drops
#       -N    the visitor sits on a private network behind a NAT router (MASQUERADE, both
#             families) placed between it and R1; that router is one more hop
#   After it: NETNS_VISITOR, NETNS_SERVER, NETNS_NAT ("" without -N), NETNS_ROUTERS[1..n]
#   (namespace names); NETNS_SERVER4/6 (the server's addresses), NETNS_VISITOR4/6 (the visitor's
#   own), NETNS_CLIENT4/6 (the visitor as the server sees it: behind NAT, the NAT's);
#   NETNS_HOPS4/6: the hop list a trace from the server must show, TTL 1 first, "*" for a silent
#   router, the last entry being NETNS_CLIENT4/6; NETNS_TMP, a scratch directory.
#   nsx NS CMD...          run CMD in namespace NS
#   netns_on_cleanup CMD   run CMD (eval'd) at cleanup, before the namespaces go
#   netns_cleanup          kill what runs in our namespaces, delete them and NETNS_TMP; runs on
#                          EXIT (also after INT/TERM), and may be called early to start over
#   netns_info_start NS ADDR [OPTS]  tests/lib/infoserver.py (the stand-in for whereabouts) in NS
#   netns_dns_start NS ADDR [OPTS]   dnsmasq in NS; netns_resolver NS ADDR points NS's resolver at it
#   netns_tls_cert         a self-signed certificate for the server (tracetrout-serve --tls-cert)
#   netns_busy_start       one busy loop per CPU until cleanup (or netns_busy_stop)
#   netns_exact N AT_ONCE  N traces, AT_ONCE at a time: the wrong hop lists
#   netns_visitors N       N more visitor addresses (tests/lib/ttload -S "$NETNS_VISITORS_FROM")
#   netns_pathemu K [-a|-s A4 A6] OPTS...  tests/lib/pathemu in router K (delay, probes held behind new
#                          data, a firewall shifting sequence numbers); netns_pathemu_count K NAME
#   netns_path_delay MS    every router holds every packet it forwards MS ms, both ways: a path
#                          whose round trip is 2 x routers x MS ms (4 routers, 5 ms: 40 ms)
#   netns_gro [off]        the visitor's interface coalesces what it receives (GRO), or not
#   netns_tcpdump_start NS DEV FILE FILTER...  a capture in a namespace; netns_tcpdump_stop
#   netns_second_server    a second server namespace, NETNS_SERVER_B, behind the same routers
#   netns_nstat NS NAME    a TCP/IP counter of the namespace (nstat's name)
#
# Addresses: link k joins node k (visitor side, .1 / ::1) and node k+1 (.2 / ::2), node 0 being
# the visitor (or the NAT router) and node n+1 the server: 10.77.k.0/24 and 2001:db8:77:k::/64
# (k written in decimal, so every address below is already in inet_ntop's canonical form).
# Behind NAT the visitor has 192.168.77.2 and fd00:77::2. Routers answer ICMP from the address
# of their interface toward the server (the route back), so router j shows as 10.77.j.1.
# Only the namespaces built here and loopback are ever addressed.

NETNS_TAG=tt$$x$RANDOM
NETNS_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_ALL=()
NETNS_CLEANUP_CMDS=()
NETNS_TMP=

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

netns_on_cleanup() {
	NETNS_CLEANUP_CMDS+=("$1")
}

# Kill every process in a namespace (all of them are ours: we made the namespace), then delete it.
netns__del() {
	local ns=$1 pids i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pids=$(ip netns pids "$ns" 2>/dev/null) || break
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086
		if [ "$i" -lt 8 ]; then kill -TERM $pids 2>/dev/null; else kill -KILL $pids 2>/dev/null; fi
		sleep 0.2
	done
	ip netns del "$ns" 2>/dev/null
}

netns_cleanup() {
	local cmd ns
	# shellcheck disable=SC2317  # run from traps
	for cmd in "${NETNS_CLEANUP_CMDS[@]}"; do
		eval "$cmd" || :
	done
	NETNS_CLEANUP_CMDS=()
	for ns in "${NETNS_ALL[@]}"; do
		netns__del "$ns"
	done
	NETNS_ALL=()
	if [ -n "$NETNS_TMP" ] && [ -z "${NETNS_KEEP:-}" ]; then
		rm -rf "$NETNS_TMP"
	elif [ -n "$NETNS_TMP" ]; then
		echo "# kept $NETNS_TMP" >&2
	fi
	NETNS_TMP=
	return 0
}

trap netns_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

netns__add() {
	local ns=$1
	ip netns add "$ns" || return 1
	NETNS_ALL+=("$ns")
	# Addresses usable at once: no duplicate address detection on any interface made later.
	nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0 || return 1
	# The ports tests bind on purpose (curl --local-port 45000-45199) are no connection's
	# ephemeral port: one in TIME_WAIT there made such a bind fail (EADDRINUSE, in CI).
	nsx "$ns" sysctl -qw net.ipv4.ip_local_reserved_ports=45000-45199 || return 1
	ip -n "$ns" link set lo up
}

# netns__router NS DEFAULT_LIMITS: forwarding on; ICMP rate limits off unless DEFAULT_LIMITS=1.
netns__router() {
	nsx "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	[ "$2" = 1 ] && return 0
	nsx "$1" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
		net.ipv4.icmp_msgs_per_sec=1000000 net.ipv4.icmp_msgs_burst=1000000
}

netns_build() {
	local n=4 nat=0 opt OPTIND=1 k j last
	local -A silent=() deflimit=() lossy=()
	while getopts n:s:l:d:N opt; do
		case $opt in
		n) n=$OPTARG ;;
		s) silent[$OPTARG]=1 ;;
		l) deflimit[$OPTARG]=1 ;;
		d) lossy[$OPTARG]=1 ;;
		N) nat=1 ;;
		*) echo "netns_build: bad option" >&2; return 2 ;;
		esac
	done
	if [ "$n" -lt 1 ] || [ "$n" -gt 60 ]; then
		echo "netns_build: 1 to 60 routers" >&2
		return 2
	fi

	NETNS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tracetrout-test.XXXXXX") || return 1
	chmod 755 "$NETNS_TMP"
	NETNS_VISITOR=$NETNS_TAG-visitor
	NETNS_SERVER=$NETNS_TAG-server
	NETNS_NAT=
	NETNS_ROUTERS=()
	# node[k]: the namespace of node k on the chain; node 0 faces the visitor side.
	local -a node=()
	if [ "$nat" = 1 ]; then
		NETNS_NAT=$NETNS_TAG-nat
		node[0]=$NETNS_NAT
	else
		node[0]=$NETNS_VISITOR
	fi
	for ((j = 1; j <= n; j++)); do
		NETNS_ROUTERS[j]=$NETNS_TAG-r$j
		node[j]=${NETNS_ROUTERS[j]}
	done
	last=$((n + 1))
	node[last]=$NETNS_SERVER

	for ((j = 0; j <= last; j++)); do
		netns__add "${node[j]}" || return 1
	done
	# tracetroutd looks up hop names (its setting names): inside the server namespace it asks
	# loopback, where nothing answers unless a test runs a DNS server, never this machine's
	# resolver. ip netns exec bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf.
	mkdir -p "/etc/netns/$NETNS_SERVER" &&
		echo "nameserver 127.0.0.1" >"/etc/netns/$NETNS_SERVER/resolv.conf" || return 1
	netns_on_cleanup "rm -f /etc/netns/$NETNS_SERVER/resolv.conf; rmdir /etc/netns/$NETNS_SERVER /etc/netns 2>/dev/null"
	for ((j = 1; j <= n; j++)); do
		netns__router "${node[j]}" "${deflimit[$j]:-0}" || return 1
	done

	# Link k: "tosrv" in node k, "tovis" in node k+1.
	for ((k = 0; k < last; k++)); do
		ip -n "${node[k]}" link add tosrv type veth peer name tovis netns "${node[k + 1]}" || return 1
		ip -n "${node[k]}" addr add "10.77.$k.1/24" dev tosrv
		ip -n "${node[k]}" -6 addr add "2001:db8:77:$k::1/64" dev tosrv nodad
		ip -n "${node[k + 1]}" addr add "10.77.$k.2/24" dev tovis
		ip -n "${node[k + 1]}" -6 addr add "2001:db8:77:$k::2/64" dev tovis nodad
		ip -n "${node[k]}" link set tosrv up
		ip -n "${node[k + 1]}" link set tovis up
	done

	# Routes: node j reaches links left of it through node j-1, right of it through node j+1.
	# The two ends only have a default route into the chain, which ends inside our namespaces.
	ip -n "${node[0]}" route add default via 10.77.0.2
	ip -n "${node[0]}" -6 route add default via 2001:db8:77:0::2
	ip -n "${node[last]}" route add default via "10.77.$n.1"
	ip -n "${node[last]}" -6 route add default via "2001:db8:77:$n::1"
	for ((j = 1; j <= n; j++)); do
		{
			for ((k = 0; k < j - 1; k++)); do
				echo "route add 10.77.$k.0/24 via 10.77.$((j - 1)).1"
			done
			for ((k = j + 1; k < last; k++)); do
				echo "route add 10.77.$k.0/24 via 10.77.$j.2"
			done
		} | ip -n "${node[j]}" -batch - || return 1
		{
			for ((k = 0; k < j - 1; k++)); do
				echo "route add 2001:db8:77:$k::/64 via 2001:db8:77:$((j - 1))::1"
			done
			for ((k = j + 1; k < last; k++)); do
				echo "route add 2001:db8:77:$k::/64 via 2001:db8:77:$j::2"
			done
		} | ip -6 -n "${node[j]}" -batch - || return 1
	done

	if [ "$nat" = 1 ]; then
		netns__add "$NETNS_VISITOR" || return 1
		netns__router "$NETNS_NAT" 0 || return 1
		ip -n "$NETNS_NAT" link add tovis type veth peer name tosrv netns "$NETNS_VISITOR" || return 1
		ip -n "$NETNS_NAT" addr add 192.168.77.1/24 dev tovis
		ip -n "$NETNS_NAT" -6 addr add fd00:77::1/64 dev tovis nodad
		ip -n "$NETNS_VISITOR" addr add 192.168.77.2/24 dev tosrv
		ip -n "$NETNS_VISITOR" -6 addr add fd00:77::2/64 dev tosrv nodad
		ip -n "$NETNS_NAT" link set tovis up
		ip -n "$NETNS_VISITOR" link set tosrv up
		ip -n "$NETNS_VISITOR" route add default via 192.168.77.1
		ip -n "$NETNS_VISITOR" -6 route add default via fd00:77::1
		nsx "$NETNS_NAT" iptables -w -t nat -A POSTROUTING -o tosrv -j MASQUERADE || return 1
		nsx "$NETNS_NAT" ip6tables -w -t nat -A POSTROUTING -o tosrv -j MASQUERADE || return 1
		NETNS_VISITOR4=192.168.77.2
		NETNS_VISITOR6=fd00:77::2
	else
		NETNS_VISITOR4=10.77.0.1
		NETNS_VISITOR6=2001:db8:77::1
	fi
	NETNS_CLIENT4=10.77.0.1
	NETNS_CLIENT6=2001:db8:77::1
	NETNS_SERVER4=10.77.$n.2
	NETNS_SERVER6=2001:db8:77:$n::2

	for k in "${!silent[@]}"; do
		if [ "$k" -lt 1 ] || [ "$k" -gt "$n" ]; then
			echo "netns_build: no router $k" >&2
			return 2
		fi
		nsx "${NETNS_ROUTERS[k]}" iptables -w -A OUTPUT -p icmp --icmp-type time-exceeded -j DROP || return 1
		nsx "${NETNS_ROUTERS[k]}" ip6tables -w -A OUTPUT -p ipv6-icmp --icmpv6-type time-exceeded -j DROP || return 1
	done
	for k in "${!lossy[@]}"; do
		if [ "$k" -lt 1 ] || [ "$k" -gt "$n" ]; then
			echo "netns_build: no router $k" >&2
			return 2
		fi
		netns__lossy "${NETNS_ROUTERS[k]}" || return 1
	done

	for k in "${NETNS_ALL[@]}"; do
		netns__in_order "$k" || return 1
	done
	netns__wait_ready || return 1

	# Trace order: the router next to the server first, the visitor (as the server sees it) last.
	NETNS_HOPS4=()
	NETNS_HOPS6=()
	for ((j = n; j >= 1; j--)); do
		if [ -n "${silent[$j]:-}" ]; then
			NETNS_HOPS4+=("*")
			NETNS_HOPS6+=("*")
		else
			NETNS_HOPS4+=("10.77.$j.1")
			NETNS_HOPS6+=("2001:db8:77:$j::1")
		fi
	done
	if [ "$nat" = 1 ]; then
		NETNS_HOPS4+=(10.77.0.1)
		NETNS_HOPS6+=(2001:db8:77::1)
	fi
	NETNS_HOPS4+=("$NETNS_CLIENT4")
	NETNS_HOPS6+=("$NETNS_CLIENT6")
	return 0
}

# netns_second_server: one more server namespace, NETNS_SERVER_B, on a link of its own from the
# router next to the server (10.77.200.0/24 and 2001:db8:77:200::/64; it has .2 / ::2, that
# router .1 / ::1), reached by the same path: its NETNS_HOPS_B4/6 are NETNS_HOPS4/6 with that
# router's address on the new link first. For a fleet of two servers (tests/sys/fleet.sh).
netns_second_server() {
	local n=${#NETNS_ROUTERS[@]} j
	NETNS_SERVER_B=$NETNS_TAG-server-b
	netns__add "$NETNS_SERVER_B" || return 1
	mkdir -p "/etc/netns/$NETNS_SERVER_B" &&
		echo "nameserver 127.0.0.1" >"/etc/netns/$NETNS_SERVER_B/resolv.conf" || return 1
	netns_on_cleanup "rm -f /etc/netns/$NETNS_SERVER_B/resolv.conf; rmdir /etc/netns/$NETNS_SERVER_B /etc/netns 2>/dev/null"
	ip -n "${NETNS_ROUTERS[n]}" link add tosrvb type veth peer name tovis netns "$NETNS_SERVER_B" ||
		return 1
	ip -n "${NETNS_ROUTERS[n]}" addr add 10.77.200.1/24 dev tosrvb
	ip -n "${NETNS_ROUTERS[n]}" -6 addr add 2001:db8:77:200::1/64 dev tosrvb nodad
	ip -n "$NETNS_SERVER_B" addr add 10.77.200.2/24 dev tovis
	ip -n "$NETNS_SERVER_B" -6 addr add 2001:db8:77:200::2/64 dev tovis nodad
	ip -n "${NETNS_ROUTERS[n]}" link set tosrvb up
	ip -n "$NETNS_SERVER_B" link set tovis up
	ip -n "$NETNS_SERVER_B" route add default via 10.77.200.1
	ip -n "$NETNS_SERVER_B" -6 route add default via 2001:db8:77:200::1
	for ((j = 1; j < n; j++)); do
		ip -n "${NETNS_ROUTERS[j]}" route add 10.77.200.0/24 via "10.77.$j.2" &&
			ip -n "${NETNS_ROUTERS[j]}" -6 route add 2001:db8:77:200::/64 via "2001:db8:77:$j::2" ||
			return 1
	done
	netns__in_order "$NETNS_SERVER_B" && netns__in_order "${NETNS_ROUTERS[n]}" || return 1
	netns__wait_ready || return 1
	NETNS_SERVER_B4=10.77.200.2
	NETNS_SERVER_B6=2001:db8:77:200::2
	NETNS_HOPS_B4=(10.77.200.1 "${NETNS_HOPS4[@]:1}")
	NETNS_HOPS_B6=(2001:db8:77:200::1 "${NETNS_HOPS6[@]:1}")
}

# netns__in_order NS: every interface of NS hands what it receives to one CPU per flow (RPS over
# all CPUs, by the flow's hash). Without it a veth queues a packet on the backlog of whichever
# CPU sent it, and the server's TCP sends from two: from the web server's thread and from the
# softirq of an ACK. Two segments of one download could then pass each other in a router (seen:
# a 300 kB download without any trace, 18 fast retransmissions in one run of six), and a test
# counting retransmissions caused by tracing counted those. Reordering, when a test wants it, is
# for pathemu to make.
netns__in_order() {
	local mask
	mask=$(printf '%x' $(((1 << $(nproc --all)) - 1)))
	[ "$(nproc --all)" -le 32 ] || mask=ffffffff
	# shellcheck disable=SC2016  # $0 and $f are the inner shell's
	nsx "$1" sh -c 'for f in /sys/class/net/*/queues/rx-*/rps_cpus; do echo "$0" >"$f" || exit 1; done' "$mask"
}

# netns__lossy NS: the router drops the 10th, 20th, ... packet it forwards. One counter for both
# families (an inet table), in the filter hook after anything a test queues in mangle (pathemu).
# TCP SYNs (and SYN-ACKs) pass uncounted: a lost one costs TCP's initial timeout (1 s) before the
# request is even sent, what no trace can shorten, and with the counter in step with each
# connection's packets it was 8 connections of 20 here.
netns__lossy() {
	nsx "$1" nft -f - <<-'EOF'
		table inet tracetrout_loss {
			chain forward {
				type filter hook forward priority filter; policy accept;
				tcp flags & syn == syn accept
				numgen inc mod 10 == 9 counter drop
			}
		}
	EOF
}

# netns_dropped K: the packets router K (built with -d K) has dropped so far.
netns_dropped() {
	nsx "${NETNS_ROUTERS[$1]}" nft list chain inet tracetrout_loss forward |
		awk '/numgen/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# IPv6 on a veth whose peer came up later is ready only once the kernel's link watcher has seen
# the carrier (up to a second later): until then it has no link-local address, neighbour
# discovery stalls and the first packets wait a second. Wait until every interface has one.
netns__wait_ready() {
	local ns i want have
	for ns in "${NETNS_ALL[@]}"; do
		want=$(ip -n "$ns" -o link show | grep -vc ': lo:')
		for ((i = 0; i < 50; i++)); do
			have=$(ip -n "$ns" -6 -o addr show scope link | grep -vc tentative)
			[ "$have" -ge "$want" ] && break
			sleep 0.1
		done
		[ "$have" -ge "$want" ] || { echo "netns: $ns: IPv6 not ready after 5 s" >&2; return 1; }
	done
}

# netns_visitors COUNT: COUNT more visitor addresses on the visitor's link (not behind NAT):
# 10.77.0.10 on and 2001:db8:77::10 on, counted as integers (the IPv6 ones in hex: ::19, ::1a),
# as tests/lib/ttload -S 10.77.0.10,2001:db8:77::10,COUNT binds them. R1 reaches them through
# the link's own /24 and /64, so a trace of each has NETNS_HOPS4/6's routers and itself last.
# Sets NETNS_VISITORS_FROM ("10.77.0.10,2001:db8:77::10,COUNT": ttload's -S).
netns_visitors() {
	local n=$1 i
	if [ -n "$NETNS_NAT" ] || [ "$n" -lt 1 ] || [ "$n" -gt 240 ]; then
		echo "netns_visitors: 1 to 240 addresses, without -N" >&2
		return 2
	fi
	{
		for ((i = 0; i < n; i++)); do
			echo "addr add 10.77.0.$((10 + i))/24 dev tosrv"
			printf 'addr add 2001:db8:77::%x/64 dev tosrv nodad\n' $((16 + i))
		done
	} | ip -n "$NETNS_VISITOR" -batch - || return 1
	NETNS_VISITORS_FROM=10.77.0.10,2001:db8:77::10,$n
}

# netns_hops_text FAMILY: the expected hop list, one "TTL ADDRESS" (or "TTL *") a line.
netns_hops_text() {
	local -n hops=NETNS_HOPS$1
	local i
	for i in "${!hops[@]}"; do
		echo "$((i + 1)) ${hops[i]}"
	done
}

# ---------------------------------------------------------------------------------------------
# TraceTrout inside the network. NETNS_PORT is the web server's port in the server namespace;
# NETNS_SCHEME is http, or https when tracetrout-serve runs with --tls-cert, and NETNS_CACERT
# that certificate (netns_trace and the readiness check verify the server against it).

NETNS_PORT=8080
NETNS_SCHEME=http
NETNS_CACERT=
NETNS_SERVE_PID=
NETNS_NO_LIMITS="--client-rate 1000 --client-max 1024 --global-rate 100000 --max-traces 1024 --subnet-rate 1000 --subnet-max 1024 --prefix-rate 1000 --prefix-max 1024 --site-rate 100000"

# netns_serve_start BUILDDIR [tracetrout-serve options...]: runs BUILDDIR/tracetrout-serve in
# the server namespace (environment settings such as HOP_TIMEOUT pass through), with its static
# files from $NETNS_TMP/www (URL /files/), its state in $NETNS_TMP, its log in
# $NETNS_TMP/serve.log; returns once the helper's socket and the web server answer. With
# --tls-cert FILE (a self-signed certificate that names 127.0.0.1 too, as netns_tls_cert makes)
# the URLs are https and curl checks the server against FILE.
netns_serve_start() {
	local builddir=$1 i code a prev='' helper_opts=()
	shift
	NETNS_SCHEME=http
	NETNS_CACERT=
	for a in "$@"; do
		[ "$a" = -- ] && break
		case $prev in --tls-cert) NETNS_CACERT=$a ;; esac
		case $a in --tls-cert=*) NETNS_CACERT=${a#*=} ;; esac
		prev=$a
	done
	[ -n "$NETNS_CACERT" ] && NETNS_SCHEME=https
	# Tests trace one visitor many times a second: the per-visitor and global rate limits
	# would refuse most of it. tests/sys/limits.sh tests the limits with NETNS_HELPER_OPTS="".
	[[ " $* " == *" -- "* ]] || read -r -a helper_opts <<<"-- ${NETNS_HELPER_OPTS-$NETNS_NO_LIMITS}"
	[ "${#helper_opts[@]}" -gt 1 ] || helper_opts=()
	mkdir -p "$NETNS_TMP/www" "$NETNS_TMP/state"
	: >"$NETNS_TMP/www/ping"
	# Not through nsx: the pid must be tracetrout-serve's own, not a subshell's.
	ip netns exec "$NETNS_SERVER" "$builddir/tracetrout-serve" --port "$NETNS_PORT" \
		--db "$NETNS_TMP/state/tracetrout.db" --docroot "$NETNS_TMP/www" \
		--runtime-dir "$NETNS_TMP/run" "$@" "${helper_opts[@]}" >>"$NETNS_TMP/serve.log" 2>&1 &
	NETNS_SERVE_PID=$!
	netns_on_cleanup netns_serve_stop
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$NETNS_SERVE_PID" 2>/dev/null; then
			echo "# tracetrout-serve exited early:" >&2
			sed 's/^/#   /' "$NETNS_TMP/serve.log" >&2
			NETNS_SERVE_PID=
			return 1
		fi
		if [ -S "$NETNS_TMP/run/tracetroutd.sock" ]; then
			code=$(nsx "$NETNS_SERVER" curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
				${NETNS_CACERT:+--cacert "$NETNS_CACERT"} \
				"$NETNS_SCHEME://127.0.0.1:$NETNS_PORT/files/ping") || :
			[ "$code" = 200 ] && return 0
		fi
		sleep 0.1
	done
	echo "# tracetrout-serve not ready after 10 s:" >&2
	sed 's/^/#   /' "$NETNS_TMP/serve.log" >&2
	return 1
}

# netns_serve_stop: SIGTERM to tracetrout-serve, wait for it (10 s at most); its exit status.
netns_serve_stop() {
	local pid=$NETNS_SERVE_PID i
	[ -n "$pid" ] || return 0
	NETNS_SERVE_PID=
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "# tracetrout-serve did not stop in 10 s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" && return 0
	i=$?
	# Why, for the log of a test that fails on it.
	{
		echo "tracetrout-serve exited with status $i; the end of its log:"
		tail -n 30 "$NETNS_TMP/serve.log"
	} 2>&1 | sed 's/^/# /' >&2
	return "$i"
}

# netns_helper_pid: the pid of the running tracetroutd (tracetrout-serve writes it).
netns_helper_pid() {
	cat "$NETNS_TMP/run/tracetroutd.pid" 2>/dev/null
}

# netns_url FAMILY [PATH]: the server's URL for the visitor.
netns_url() {
	if [ "$1" = 6 ]; then
		echo "$NETNS_SCHEME://[$NETNS_SERVER6]:$NETNS_PORT${2:-/}"
	else
		echo "$NETNS_SCHEME://$NETNS_SERVER4:$NETNS_PORT${2:-/}"
	fi
}

# netns_trace FAMILY [PATH [CURL OPTIONS...]]: the visitor asks for its trace; the body on stdout.
netns_trace() {
	local fam=$1 path=${2:-/}
	shift $(($# < 2 ? $# : 2))
	nsx "$NETNS_VISITOR" curl -sS -N --max-time 60 ${NETNS_CACERT:+--cacert "$NETNS_CACERT"} \
		"$@" "$(netns_url "$fam" "$path")"
}

# netns_tls_cert: a self-signed certificate (and its key) for the server's addresses and
# loopback, in NETNS_TLS_CERT and NETNS_TLS_KEY (under $NETNS_TMP/tls), valid for a day. Being
# self-signed, it is its own CA: curl --cacert NETNS_TLS_CERT trusts it and nothing else.
netns_tls_cert() {
	mkdir -p "$NETNS_TMP/tls" || return 1
	NETNS_TLS_CERT=$NETNS_TMP/tls/cert.pem
	NETNS_TLS_KEY=$NETNS_TMP/tls/key.pem
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=tracetrout-test -keyout "$NETNS_TLS_KEY" -out "$NETNS_TLS_CERT" \
		-addext "subjectAltName=IP:$NETNS_SERVER4,IP:$NETNS_SERVER6,IP:127.0.0.1,IP:::1" \
		>"$NETNS_TMP/tls/openssl.log" 2>&1 ||
		{ sed 's/^/#   /' "$NETNS_TMP/tls/openssl.log" >&2; return 1; }
}

# netns_hops: JSON lines on stdin to "TTL ADDRESS" / "TTL *" lines, in the order received.
netns_hops() {
	jq -r 'select(type == "object" and has("ttl"))
		| "\(.ttl) \(if .timeout == true then "*" else .ip end)"'
}

# netns_slow_lane RATE: connections to visitor ports 45000-45009 (curl --local-port 45000-45009)
# leave the server at RATE (HTB, e.g. 100mbit), so that a bulk download lasts without a loss:
# TCP's small queues keep the sender's backlog in the qdisc short of its 1000-packet limit.
# The other traffic (traces, probes) has its own unlimited class, so it never waits behind it.
netns_slow_lane() {
	local ipt
	tc -n "$NETNS_SERVER" qdisc replace dev tovis root handle 1: htb default 20 || return 1
	tc -n "$NETNS_SERVER" class replace dev tovis parent 1: classid 1:10 htb rate "$1" ceil "$1" quantum 60000 || return 1
	tc -n "$NETNS_SERVER" class replace dev tovis parent 1: classid 1:20 htb rate 100gbit quantum 60000 || return 1
	for ipt in iptables ip6tables; do
		nsx "$NETNS_SERVER" "$ipt" -w -t mangle -A POSTROUTING -p tcp --dport 45000:45009 \
			-j CLASSIFY --set-class 1:10 || return 1
	done
}

# netns_nstat NS NAME: the namespace's counter NAME (nstat's name, e.g. TcpExtDelayedACKLost).
netns_nstat() {
	nsx "$1" nstat -asz "$2" | awk -v n="$2" '$1 == n { print $2 }'
}

# netns_tcp_retrans NS: the namespace's TcpRetransSegs counter.
netns_tcp_retrans() {
	netns_nstat "$1" TcpRetransSegs
}

# netns_queue_seq NS [QUEUE]: id_sequence of the NFQUEUE (packets ever queued to it) in that
# namespace, empty when no process is bound to the queue. /proc/net is per network namespace.
netns_queue_seq() {
	nsx "$1" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
		awk -v q="${2:-7470}" '$1 == q { print $8 }'
}

# ---------------------------------------------------------------------------------------------
# Load: busy CPUs, many traces at once.

NETNS_BUSY_PIDS=()

# netns_busy_start: one `while :; do :; done` per CPU (both cores of a 2-CPU machine), at normal
# priority, so that the engine, the web server and the routers' softirqs compete for every CPU.
# Killed at cleanup, or earlier by netns_busy_stop.
netns_busy_start() {
	local i
	for ((i = 0; i < $(nproc); i++)); do
		(while :; do :; done) &
		NETNS_BUSY_PIDS+=($!)
	done
	netns_on_cleanup netns_busy_stop
}

netns_busy_stop() {
	[ "${#NETNS_BUSY_PIDS[@]}" -gt 0 ] || return 0
	kill -KILL "${NETNS_BUSY_PIDS[@]}" 2>/dev/null
	wait "${NETNS_BUSY_PIDS[@]}" 2>/dev/null
	NETNS_BUSY_PIDS=()
}

# netns_exact N AT_ONCE: N traces (JSON lines) from the visitor, IPv4 and IPv6 in turn, AT_ONCE
# running at any time. Prints one line per trace whose hop list is not NETNS_HOPS4/6: its number,
# its family and its hops ("TTL ADDRESS" joined by commas); its body stays in
# $NETNS_TMP/exact/wrong-I (curl's errors in wrong-I.err).
netns_exact() {
	local n=$1 at_once=$2 w dir=$NETNS_TMP/exact pids=()
	rm -rf "$dir"
	mkdir -p "$dir" || return 1
	netns_hops_text 4 >"$dir/want4"
	netns_hops_text 6 >"$dir/want6"
	for ((w = 0; w < at_once; w++)); do
		(
			local i fam f
			for ((i = w; i < n; i += at_once)); do
				# The network gone (a test stopped by a signal): stop too.
				[ -d "$dir" ] || break
				fam=$((i % 2 ? 6 : 4))
				f=$dir/t$w
				netns_trace "$fam" / >"$f" 2>"$f.err"
				if ! netns_hops <"$f" 2>/dev/null | cmp -s - "$dir/want$fam"; then
					mv "$f" "$dir/wrong-$i"
					mv "$f.err" "$dir/wrong-$i.err"
					echo "$i IPv$fam $(netns_hops <"$dir/wrong-$i" 2>&1 | paste -sd, -)"
				fi
			done
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# ---------------------------------------------------------------------------------------------
# Hop enrichment: the info service and a DNS server, inside our namespaces.

NETNS_INFO_PID=
NETNS_INFO_NS=
NETNS_INFO_URL=

# netns_info_start NS ADDR [infoserver.py options...]: tests/lib/infoserver.py in namespace NS,
# listening on ADDR (127.0.0.1, or [::1]) and a free port, one line a request in
# $NETNS_TMP/info.log. Sets NETNS_INFO_URL (http://ADDR:PORT: append /ip/{ip}, /slow/ip/{ip}, ...)
# and NETNS_INFO_PID; returns once it listens. Stopped at cleanup (or by netns_info_stop).
netns_info_start() {
	local ns=$1 addr=$2 i
	shift 2
	netns_info_stop
	rm -f "$NETNS_TMP/info.port"
	ip netns exec "$ns" python3 "$NETNS_LIB/infoserver.py" --listen "$addr:0" \
		--port-file "$NETNS_TMP/info.port" --log "$NETNS_TMP/info.log" "$@" \
		>>"$NETNS_TMP/info.err" 2>&1 &
	NETNS_INFO_PID=$!
	NETNS_INFO_NS=$ns
	netns_on_cleanup netns_info_stop
	for ((i = 0; i < 100; i++)); do
		if [ -s "$NETNS_TMP/info.port" ]; then
			NETNS_INFO_URL=http://$addr:$(cat "$NETNS_TMP/info.port")
			return 0
		fi
		kill -0 "$NETNS_INFO_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# infoserver.py did not start:" >&2
	sed 's/^/#   /' "$NETNS_TMP/info.err" >&2
	return 1
}

netns_info_stop() {
	[ -n "$NETNS_INFO_PID" ] || return 0
	kill -TERM "$NETNS_INFO_PID" 2>/dev/null
	wait "$NETNS_INFO_PID" 2>/dev/null
	NETNS_INFO_PID=
}

# netns_info_count: the info server's counts, {"total":N,"by_path":{PATH:N,...},...}.
netns_info_count() {
	nsx "$NETNS_INFO_NS" curl -sS --max-time 5 "$NETNS_INFO_URL/count"
}

# netns_info_reset: zeroes the info server's counts.
netns_info_reset() {
	nsx "$NETNS_INFO_NS" curl -sS --max-time 5 -X POST -o /dev/null "$NETNS_INFO_URL/reset"
}

# netns_ptr ADDRESS NAME: the dnsmasq option for a PTR record of ADDRESS (IPv4 or IPv6).
netns_ptr() {
	python3 -c 'import ipaddress, sys
print("--ptr-record=%s,%s" % (ipaddress.ip_address(sys.argv[1]).reverse_pointer, sys.argv[2]))' "$1" "$2"
}

# netns_dns_start NS ADDR [dnsmasq options...]: dnsmasq in namespace NS, answering on ADDR port 53
# only, from the records its options give (e.g. "$(netns_ptr 10.77.4.1 r4.test.example)"): no
# upstream servers, no /etc/hosts, no config file; a reverse name without a record is NXDOMAIN
# at once (not REFUSED, which a resolver may retry elsewhere). Each query is logged to
# $NETNS_TMP/dnsmasq-ADDR.log. Returns once it listens; stopped at cleanup.
netns_dns_start() {
	local ns=$1 addr=$2 pid i
	shift 2
	ip netns exec "$ns" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
		--no-poll --port=53 --listen-address="$addr" --bind-interfaces --log-queries \
		--local=/in-addr.arpa/ --local=/ip6.arpa/ \
		--log-facility="$NETNS_TMP/dnsmasq-$addr.log" "$@" >>"$NETNS_TMP/dnsmasq-$addr.err" 2>&1 &
	pid=$!
	netns_on_cleanup "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
	for ((i = 0; i < 50; i++)); do
		[ -n "$(nsx "$ns" ss -Hlun src "$addr" sport = 53)" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "# dnsmasq did not start on $addr:" >&2
	sed 's/^/#   /' "$NETNS_TMP/dnsmasq-$addr.err" >&2
	return 1
}

# netns_dns_queries ADDR [TYPE]: the queries (of TYPE, default PTR) the dnsmasq on ADDR logged.
netns_dns_queries() {
	grep -c "query\[${2:-PTR}\]" "$NETNS_TMP/dnsmasq-$1.log" 2>/dev/null || :
}

# netns_resolver NS ADDR: the programs started in NS from now on resolve through ADDR:
# /etc/netns/NS/resolv.conf, which ip netns exec bind-mounts over /etc/resolv.conf. Removed at
# cleanup, with the directories if they are then empty.
netns_resolver() {
	mkdir -p "/etc/netns/$1" || return 1
	netns_on_cleanup "rm -f /etc/netns/$1/resolv.conf; rmdir /etc/netns/$1 /etc/netns 2>/dev/null"
	echo "nameserver $2" >"/etc/netns/$1/resolv.conf"
}

# ---------------------------------------------------------------------------------------------
# What real paths do that a chain of Linux routers does not.

NETNS_PATHEMU_QUEUE=100
declare -A NETNS_PATHEMU_PID=()

# netns_pathemu K [-a | -s SRC4 SRC6] PATHEMU_OPTIONS...: tests/lib/pathemu (built by make
# check) in router K's namespace, bound to NFQUEUE NETNS_PATHEMU_QUEUE there, with --queue and
# --port NETNS_PORT given. Mangle FORWARD rules of both families feed it TCP to or from
# NETNS_PORT (both directions of the web server's connections), with -a every forwarded packet,
# with -s the ICMP and ICMPv6 packets from SRC4 and SRC6 (a router's errors); with --queue-bypass, so
# that packets pass when it is not running. Its count line goes to $NETNS_TMP/pathemu-K.log.
# Returns once the queue is bound; stopped at cleanup, or earlier by netns_pathemu_stop K.
netns_pathemu() {
	local k=$1 ns ipt i
	local match4=(-p tcp -m multiport --ports "$NETNS_PORT") match6=(-p tcp -m multiport --ports "$NETNS_PORT")
	local bin=${NETNS_PATHEMU:-${top_builddir:-$NETNS_LIB/../..}/tests/lib/pathemu}
	shift
	ns=${NETNS_ROUTERS[k]:-}
	[ -n "$ns" ] || { echo "netns_pathemu: no router $k" >&2; return 2; }
	[ -x "$bin" ] || { echo "netns_pathemu: $bin is not built (make check builds it)" >&2; return 1; }
	if [ "${1:-}" = -a ]; then
		match4=()
		match6=()
		shift
	elif [ "${1:-}" = -s ]; then
		match4=(-p icmp -s "$2")
		match6=(-p ipv6-icmp -s "$3")
		shift 3
	fi
	ip netns exec "$ns" "$bin" --queue "$NETNS_PATHEMU_QUEUE" --port "$NETNS_PORT" "$@" \
		2>>"$NETNS_TMP/pathemu-$k.log" &
	NETNS_PATHEMU_PID[$k]=$!
	netns_on_cleanup "netns_pathemu_stop $k"
	for ((i = 0; i < 50; i++)); do
		[ -n "$(netns_queue_seq "$ns" "$NETNS_PATHEMU_QUEUE")" ] && break
		kill -0 "${NETNS_PATHEMU_PID[$k]}" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$(netns_queue_seq "$ns" "$NETNS_PATHEMU_QUEUE")" ]; then
		echo "# pathemu did not bind its queue in router $k:" >&2
		sed 's/^/#   /' "$NETNS_TMP/pathemu-$k.log" >&2
		return 1
	fi
	nsx "$ns" iptables -w -t mangle -A FORWARD "${match4[@]}" \
		-j NFQUEUE --queue-num "$NETNS_PATHEMU_QUEUE" --queue-bypass || return 1
	nsx "$ns" ip6tables -w -t mangle -A FORWARD "${match6[@]}" \
		-j NFQUEUE --queue-num "$NETNS_PATHEMU_QUEUE" --queue-bypass
}

# netns_path_delay MS: a path with delay, as this kernel has no netem: a pathemu in every router
# holds every packet the router forwards (netns_pathemu -a: TCP, ICMP errors, pings) MS ms, in
# each direction. The visitor's round trip to the server is then 2 x routers x MS ms (with 4
# routers and 5 ms, 40 ms), a router's own answers wait in the routers between it and their
# destination only. Each router is its own namespace, so each has its own NETNS_PATHEMU_QUEUE.
netns_path_delay() {
	local k
	for k in "${!NETNS_ROUTERS[@]}"; do
		netns_pathemu "$k" -a --hold-ms "$1" || return 1
	done
}

# netns_pathemu_stop K: stops router K's pathemu (SIGTERM: it accepts what it holds and prints
# its counts); its rules stay, and let packets pass by (--queue-bypass). Returns once it has
# exited, its counts written, also from a subshell (netns_pathemu_done in a process
# substitution), where it is no child to wait for: CI read the counts before they were there.
netns_pathemu_stop() {
	local pid=${NETNS_PATHEMU_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	NETNS_PATHEMU_PID[$1]=
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
}

# netns_pathemu_done K NAME...: stops router K's pathemu; its final counts NAME... on one line.
netns_pathemu_done() {
	local k=$1 name counts=()
	shift
	netns_pathemu_stop "$k"
	for name; do
		counts+=("$(netns_pathemu_count "$k" "$name")")
	done
	echo "${counts[*]}"
}

# netns_pathemu_count K NAME: count NAME (packets, held, early, passed, shifted, unshifted, bad,
# errors) of router K's pathemu, asked for now (SIGUSR1) if it runs, else its final one.
netns_pathemu_count() {
	local log=$NETNS_TMP/pathemu-$1.log pid=${NETNS_PATHEMU_PID[$1]:-} n i
	if [ -n "$pid" ]; then
		n=$(grep -c '^pathemu:' "$log")
		kill -USR1 "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			[ "$(grep -c '^pathemu:' "$log")" -gt "$n" ] && break
			sleep 0.05
		done
	fi
	grep '^pathemu:' "$log" | tail -n 1 | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}

# netns_gro [off]: the visitor's interface coalesces what it receives (GRO), as most receivers
# do (GRO, LRO, Windows RSC): back-to-back segments of one flow reach its TCP as one. A veth
# coalesces only with GRO turned on, which also gives it NAPI (Linux 5.13 and later). A NIC
# also takes a few packets per interrupt (interrupt coalescing); a veth polls for each packet
# forwarded to it one at a time, so gro_flush_timeout (NETNS_GRO_FLUSH_NS, 200 us) and
# napi_defer_hard_irqs keep what it holds for the packets right behind. The sending side of the
# link (R1, or the NAT router) segments what it forwards (TSO and GSO off), so that the visitor
# receives segments of wire size that only its own GRO joins. With "off", the same without GRO
# (what the wire alone delivers).
netns_gro() {
	local peer=${NETNS_NAT:-${NETNS_ROUTERS[1]}} gro=on flush=${NETNS_GRO_FLUSH_NS:-200000} defer=2
	[ "${1:-}" = off ] && { gro=off; flush=0; defer=0; }
	nsx "$peer" ethtool -K tovis tso off gso off &&
		nsx "$NETNS_VISITOR" ethtool -K tosrv gro "$gro" &&
		nsx "$NETNS_VISITOR" sh -c "echo $flush >/sys/class/net/tosrv/gro_flush_timeout &&
			echo $defer >/sys/class/net/tosrv/napi_defer_hard_irqs" &&
		nsx "$NETNS_VISITOR" ethtool -k tosrv | grep -q "^generic-receive-offload: $gro"
}

NETNS_TCPDUMP_PID=

# netns_tcpdump_start NS DEV FILE [FILTER...]: tcpdump on interface DEV of namespace NS, writing
# what it sees (256 bytes of each packet, each at once) to FILE, its messages to FILE.err;
# returns once it captures. netns_tcpdump_stop ends it.
netns_tcpdump_start() {
	local ns=$1 dev=$2 file=$3 i
	shift 3
	netns_tcpdump_stop
	ip netns exec "$ns" tcpdump -i "$dev" -n -U --immediate-mode -s 256 -w "$file" "$@" \
		2>"$file.err" &
	NETNS_TCPDUMP_PID=$!
	netns_on_cleanup netns_tcpdump_stop
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$file.err" 2>/dev/null && return 0
		kill -0 "$NETNS_TCPDUMP_PID" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/#   /' "$file.err" >&2
	return 1
}

# netns_tcpdump_stop: stops the capture (SIGINT), a moment after the last packet: tcpdump drops
# what it has not read from the kernel yet when it stops.
netns_tcpdump_stop() {
	[ -n "$NETNS_TCPDUMP_PID" ] || return 0
	sleep 0.2
	kill -INT "$NETNS_TCPDUMP_PID" 2>/dev/null
	wait "$NETNS_TCPDUMP_PID" 2>/dev/null
	NETNS_TCPDUMP_PID=
}
