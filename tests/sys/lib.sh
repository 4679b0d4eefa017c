# shellcheck shell=bash source-path=SCRIPTDIR
# Sourced by the system tests (not a test itself): TAP output, the checks that decide whether a
# test can run here, and the namespace network of tests/lib/netns.sh.
# The tests need root; TRACETROUT_SKIP_SYSTEM=1 skips them (make distcheck in CI does).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export LC_ALL=C

tap_n=0
tap_failed=0

tap_plan() {
	echo "1..$1"
}

# tap_ok STATUS DESCRIPTION: one test point, passed when STATUS is 0; returns STATUS, so that
# "tap_ok $? DESC || show what went wrong" works.
tap_ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=1
	fi
	return "$1"
}

# tap_check DESCRIPTION CMD...: a test point that passes when CMD succeeds.
tap_check() {
	local desc=$1
	shift
	"$@"
	tap_ok $? "$desc"
}

# tap_diag: stdin as TAP comments.
tap_diag() {
	sed 's/^/# /'
}

tap_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# sys_require TOOL...: skip unless this can run: root, not disabled, the tools and the build.
# In CI (CI=true) a missing tool is an error, never a skip.
sys_require() {
	local t missing=
	[ -z "${TRACETROUT_SKIP_SYSTEM:-}" ] || tap_skip_all "TRACETROUT_SKIP_SYSTEM is set"
	[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
	for t in ip iptables ip6tables jq curl "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing+=" $t"
	done
	if [ -n "$missing" ]; then
		[ "${CI:-}" = true ] && { echo "Bail out! missing:$missing"; exit 1; }
		tap_skip_all "missing:$missing"
	fi
	if ! ip netns add "${NETNS_TAG}-probe" 2>/dev/null; then
		[ "${CI:-}" = true ] && { echo "Bail out! cannot make network namespaces"; exit 1; }
		tap_skip_all "cannot make network namespaces"
	fi
	ip netns del "${NETNS_TAG}-probe"
}

# sys_require_build: the programs that tracetrout-serve runs from the build tree.
sys_require_build() {
	local f
	for f in tracetrout-serve tracetrout-rules helper/tracetroutd fcgi/tracetrout.fcgi; do
		[ -x "$top_builddir/$f" ] || { echo "Bail out! $top_builddir/$f is not built"; exit 1; }
	done
}

# sys_done: the exit status TAP's driver expects (it reads the results, this is for humans).
sys_done() {
	exit "$tap_failed"
}

# sys_timed FILE: stdin's lines into FILE.timed, each after the milliseconds since the call,
# and the lines alone into FILE. The shell's own clock: a date(1) a line costs 40-50 ms on a busy
# machine, and timed the test rather than the lines.
sys_timed() {
	local start=${EPOCHREALTIME/[.,]/} now line
	while IFS= read -r line; do
		now=${EPOCHREALTIME/[.,]/}
		printf '%d %s\n' $(((now - start) / 1000)) "$line"
	done >"$1.timed"
	cut -d' ' -f2- "$1.timed" >"$1"
}

# sys_show FILE...: files as TAP comments, for a failure's context.
sys_show() {
	local f
	for f in "$@"; do
		echo "--- $f"
		cat "$f" 2>&1
	done | tap_diag
}

# check_hops FAMILY FILE DESCRIPTION: the JSON-lines trace in FILE has exactly the expected hops.
check_hops() {
	local fam=$1 file=$2 desc=$3 got want
	got=$(netns_hops <"$file" 2>&1)
	want=$(netns_hops_text "$fam")
	if [ "$got" = "$want" ]; then
		tap_ok 0 "$desc"
	else
		tap_ok 1 "$desc"
		{ echo "want:"; echo "$want"; echo "got:"; echo "$got"; } | tap_diag
		sys_show "$file" "$NETNS_TMP/serve.log"
	fi
}

# text_hops: traceroute-style text on stdin to "TTL ADDRESS" / "TTL *" lines (the hop lines
# before "end:", not the statistics table after it).
text_hops() {
	awk '/^end:/ { exit } $1 ~ /^[0-9]+$/ { print $1, $2 }'
}

# sys_trace FAMILY NAME [PATH]: a trace into $NETNS_TMP/NAME (headers in NAME.head).
sys_trace() {
	netns_trace "$1" "${3:-/}" -D "$NETNS_TMP/$2.head" >"$NETNS_TMP/$2" 2>"$NETNS_TMP/$2.err"
}

# sys_trace_ms FAMILY NAME [PATH [CURL OPTIONS...]]: a trace into $NETNS_TMP/NAME (curl's errors
# in NAME.err); prints how long it took, in whole milliseconds (curl's total time of the trace).
# With SYS_TRACE_BEFORE set to a path, the same connection (HTTP/1.1 keep-alive) first fetches
# that path: a connection that has carried data no longer acknowledges every segment at once.
sys_trace_ms() {
	local fam=$1 name=$2 path=${3:-/} t warmup=()
	shift $(($# < 3 ? $# : 3))
	[ -z "${SYS_TRACE_BEFORE:-}" ] ||
		warmup=(-o /dev/null "$(netns_url "$fam" "$SYS_TRACE_BEFORE")" --next -sS -N --max-time 60
			${NETNS_CACERT:+--cacert "$NETNS_CACERT"})
	t=$(netns_trace "$fam" "$path" "${warmup[@]}" -o "$NETNS_TMP/$name" -w '%{time_total}' "$@" \
		2>"$NETNS_TMP/$name.err") || :
	awk -v t="${t:-0}" 'BEGIN { printf "%d\n", t * 1000 }'
}

# sys_traces FAMILY N MAX_MS WHAT [PATH]: N traces one after another ($NETNS_TMP/traceK, K
# counting the traces of the whole test, their heads in traceK.head), then sys_trace_points on them.
sys_traces() {
	local fam=$1 n=$2 max=$3 what=$4 path=${5:-/} i
	SYS_TRACE_FILES=()
	SYS_TRACE_TIMES=()
	for ((i = 1; i <= n; i++)); do
		SYS_TRACE_N=$((${SYS_TRACE_N:-0} + 1))
		SYS_TRACE_FILES+=("trace$SYS_TRACE_N")
		SYS_TRACE_TIMES+=("$(sys_trace_ms "$fam" "trace$SYS_TRACE_N" "$path" \
			-D "$NETNS_TMP/trace$SYS_TRACE_N.head")")
	done
	sys_trace_points "$fam" "$max" "$what"
}

# sys_trace_points FAMILY MAX_MS WHAT: two test points on the traces named in SYS_TRACE_FILES
# (in $NETNS_TMP), which took SYS_TRACE_TIMES ms: every hop list exact (the wrong ones shown as
# comments, one a line), and every trace done within MAX_MS (the times in the description).
sys_trace_points() {
	local fam=$1 max=$2 what=$3 f t want wrong=() slow=0
	want=$(netns_hops_text "$fam")
	for f in "${SYS_TRACE_FILES[@]}"; do
		[ "$(netns_hops <"$NETNS_TMP/$f" 2>&1)" = "$want" ] || wrong+=("$f")
	done
	for t in "${SYS_TRACE_TIMES[@]}"; do
		[ "$t" -gt 0 ] && [ "$t" -le "$max" ] || slow=$((slow + 1))
	done
	[ ${#wrong[@]} = 0 ]
	tap_ok $? "IPv$fam, $what: $((${#SYS_TRACE_FILES[@]} - ${#wrong[@]})) of ${#SYS_TRACE_FILES[@]} hop lists exact" || {
		echo "want: $(echo "$want" | paste -sd,)"
		for f in "${wrong[@]}"; do
			echo "$f: $(netns_hops <"$NETNS_TMP/$f" 2>&1 | paste -sd,) $(cat "$NETNS_TMP/$f.err" 2>/dev/null)"
		done
	} | tap_diag
	[ "$slow" = 0 ]
	tap_ok $? "IPv$fam, $what: every trace within $max ms (${SYS_TRACE_TIMES[*]} ms)"
}

# sys_dsack_stats PCAP: the visitor's ACKs to the server's port in a capture (tcpdump -w) as
# "D R M": D of them carried a D-SACK (RFC 2883: a first SACK block below the ACK, or inside the
# second block: bytes it had already), R of those also acknowledged new data (an ACK above that
# connection's ACK before), M reported more than one byte in that block (coalesced segments, or
# a data segment the server's TCP itself sent twice: a probe's D-SACK is of its one byte).
sys_dsack_stats() {
	tcpdump -n -S -r "$1" "tcp dst port $NETNS_PORT" 2>/dev/null | awk '
		# a < b in sequence space (modulo 2^32)
		function lt(a, b) { d = b - a; if (d < 0) d += 4294967296; return d > 0 && d < 2147483648 }
		match($0, / ack [0-9]+/) {
			conn = $3
			ack = substr($0, RSTART + 5, RLENGTH - 5) + 0
			if (match($0, /sack [0-9]+ \{[0-9]+:[0-9]+\}(\{[0-9]+:[0-9]+\})?/)) {
				b = substr($0, RSTART, RLENGTH)
				sub(/^sack [0-9]+ \{/, "", b)
				n2 = split(b, e, /[:{}]+/)
				if (!lt(ack, e[2] + 0) ||
				    (n2 >= 4 && e[4] != "" && !lt(e[1] + 0, e[3] + 0) && !lt(e[4] + 0, e[2] + 0))) {
					n++
					if ((conn in last) && lt(last[conn], ack))
						rides++
					if (lt(e[1] + 1, e[2] + 0))
						multi++
				}
			}
			if (!(conn in last) || lt(last[conn], ack))
				last[conn] = ack
		}
		END { print n + 0, rides + 0, multi + 0 }'
}

# sys_max_segment PCAP: the largest TCP payload from the server's port in a capture: above one
# MSS (1448 bytes here) only where the receiver coalesced segments.
sys_max_segment() {
	tcpdump -n -r "$1" "tcp src port $NETNS_PORT" 2>/dev/null |
		awk 'match($0, / length [0-9]+/) { n = substr($0, RSTART + 8, RLENGTH - 8) + 0; if (n > m) m = n }
			END { print m + 0 }'
}

# sys_tcp_events NS...: the namespaces' non-zero TCP counters of retransmission and recovery,
# as TAP comments (what a failed "no retransmission" check wants to show).
sys_tcp_events() {
	local ns
	for ns in "$@"; do
		echo "${ns##*-}:"
		nsx "$ns" nstat -asz | grep -E 'Retrans|LossProbe|Timeout|Recovery|DSACK|Reorder|Undo|DupAck' |
			grep -v ' 0 '
	done | tap_diag
}

# sys_traced_retrans PCAP: in a capture of the server's segments (tcp src port), the data
# segments the server sent again on a connection after the first probe on it (a segment with a
# TTL below 64; the server's own have 64): retransmissions during its trace. Before the first
# probe the engine has not touched the connection, and a loaded machine may cost a download
# there a tail loss probe of its own.
sys_traced_retrans() {
	tcpdump -n -S -v -r "$1" "tcp src port $NETNS_PORT" 2>/dev/null |
		awk '/^[0-9]/ { if (l != "") print l; l = $0; next } { l = l " " $0 } END { if (l != "") print l }' |
		python3 -c '
import re, sys
end, probed, n = {}, set(), 0
for l in sys.stdin:
    m = re.search(r"(?:ttl|hlim) (\d+).*? > (\S+): Flags \[[^]]*\].*?seq (\d+):(\d+)", l)
    if not m:
        continue
    ttl, flow, a, b = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
    if ttl < 64:
        probed.add(flow)
        continue
    if flow in probed and flow in end and (end[flow] - a) % 2**32 < 2**31 and end[flow] != a:
        n += 1
    if flow not in end or (b - end[flow]) % 2**32 < 2**31:
        end[flow] = b
print(n)'
}

# sys_dupack_checks RETRANS_BEFORE [PCAP]: after traces of a visitor without D-SACK, two test
# points: the server retransmitted nothing since its TcpRetransSegs was RETRANS_BEFORE (the
# duplicate ACKs that probes draw must not look like a loss) or, given a capture of the server's
# segments, nothing during traces (sys_traced_retrans; the counter is then shown); and probes
# reached the visitor (TcpExtDelayedACKLost: old data received) while it sent no D-SACK
# (TcpExtTCPDSACKOldSent).
sys_dupack_checks() {
	local r1 reached dsacks traced
	r1=$(netns_tcp_retrans "$NETNS_SERVER")
	if [ -n "${2:-}" ]; then
		traced=$(sys_traced_retrans "$2")
		[ "$traced" = 0 ]
		tap_ok $? "the server retransmitted nothing during traces ($traced; in all, TcpRetransSegs $1 -> $r1)"
	else
		[ "$r1" = "$1" ]
		tap_ok $? "the server retransmitted nothing (TcpRetransSegs $1 -> $r1)"
	fi || sys_tcp_events "$NETNS_SERVER" "$NETNS_VISITOR"
	reached=$(netns_nstat "$NETNS_VISITOR" TcpExtDelayedACKLost)
	dsacks=$(netns_nstat "$NETNS_VISITOR" TcpExtTCPDSACKOldSent)
	[ "${reached:-0}" -gt 0 ] && [ "${dsacks:-1}" = 0 ]
	tap_ok $? "probes reached the visitor ($reached times) and it sent no D-SACK ($dsacks)"
}

# sys_rule_packets NS CHAIN: packets that went through the NFQUEUE rules of CHAIN, both families.
sys_rule_packets() {
	{
		nsx "$1" iptables -w -t mangle -nvxL "$2"
		nsx "$1" ip6tables -w -t mangle -nvxL "$2"
	} 2>/dev/null | awk '$3 == "NFQUEUE" { n += $1 } END { print n + 0 }'
}

# sys_marked NS: the connections in NS that carry the trace mark, both families.
sys_marked() {
	nsx "$1" conntrack -f ipv4 -L -m 0x100000/0x100000 2>/dev/null
	nsx "$1" conntrack -f ipv6 -L -m 0x100000/0x100000 2>/dev/null
}

# broker_ask SOCKET [as USER GROUP] LINE...: sends each LINE (Python escapes such as \x00 allowed)
# and a newline to the broker in the server namespace on one connection, as USER and GROUP if
# given, and prints what comes back, then "CLOSED" if the broker closed it within 2 s.
broker_ask() {
	local sock=$1 as=() py=/usr/bin/python3
	shift
	if [ "$1" = as ]; then
		as=(setpriv --reuid="$2" --regid="$3" --clear-groups)
		shift 3
	fi
	# The system's python, which another user can run (a shim under /root would not be).
	[ -x "$py" ] || py=$(command -v python3)
	nsx "$NETNS_SERVER" "${as[@]}" "$py" - "$sock" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
try:
    for line in sys.argv[2:]:
        s.sendall(line.encode().decode('unicode_escape').encode('latin-1') + b'\n')
except OSError:
    pass  # refused callers and oversized lines are closed before all is sent
data = b''
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            data += b'CLOSED\n'
            break
        data += chunk
except socket.timeout:
    pass
except OSError:
    data += b'CLOSED\n'
sys.stdout.write(data.decode('ascii', 'replace'))
PY
}

# sys_header NAME FILE: the value of header NAME (any case) in a head curl -D wrote to FILE.
sys_header() {
	tr -d '\r' <"$2" | awk -v h="$(tr '[:upper:]' '[:lower:]' <<<"$1"):" \
		'tolower($1) == h { $1 = ""; sub(/^ /, ""); print; exit }'
}

# sys_get HOST NAME PATH [CURL OPTIONS...]: the visitor's GET of http://HOST:NETNS_PORT/PATH (HOST
# an address of the server's, IPv6 too); the body in $NETNS_TMP/NAME, the head in NAME.head; the
# status on stdout.
sys_get() {
	local host=$1 name=$2 path=$3
	shift 3
	case $host in *:*) host="[$host]" ;; esac
	nsx "$NETNS_VISITOR" curl -sS -N --max-time 60 -D "$NETNS_TMP/$name.head" \
		-o "$NETNS_TMP/$name" -w '%{http_code}' "$@" "http://$host:$NETNS_PORT$path" \
		2>"$NETNS_TMP/$name.err"
}

# sys_user NAME: a system user NAME (with its group), made for this test and removed at cleanup
# with whatever still runs as it (cleanups run in order, and userdel refuses a user in use); one
# left by an earlier run is reused.
sys_user() {
	if ! getent passwd "$1" >/dev/null; then
		useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$1" || return 1
		netns_on_cleanup "pkill -KILL -u '$1'; for i in 1 2 3 4 5; do userdel '$1' 2>/dev/null && break; sleep 0.2; done"
	fi
}

# sys_site_start NAME USER ADDR4 ADDR6 [STREAM]: another site in the server namespace, as a
# shared host has them: its own lighttpd on ADDR4 and ADDR6 (added to the server's link) at
# NETNS_PORT, running as USER with its own tracetrout.fcgi, which asks the helper that
# tracetrout-serve runs (which must then listen on its own addresses, not on all). STREAM is lighttpd's server.stream-response-body (default 2; 0 holds
# every response back whole). Its files are in $NETNS_TMP/NAME; returns once it answers.
sys_site_start() {
	local name=$1 user=$2 a4=$3 a6=$4 stream=${5:-2} dir i code pid
	dir=$NETNS_TMP/$name
	# lighttpd opens its error log after it has become USER.
	mkdir -p "$dir/www" "$dir/fcgi" && echo "$name" >"$dir/www/ping" &&
		chown "$user:" "$dir" "$dir/fcgi" || return 1
	ip -n "$NETNS_SERVER" addr add "$a4/24" dev tovis 2>/dev/null
	ip -n "$NETNS_SERVER" -6 addr add "$a6/64" dev tovis nodad 2>/dev/null
	# shellcheck disable=SC2016  # lighttpd's $SERVER and $HTTP, not the shell's
	{
		echo "server.username = \"$user\""
		echo "server.groupname = \"$(id -gn "$user")\""
		echo 'server.modules = ("mod_alias", "mod_fastcgi")'
		echo "server.document-root = \"$dir/www\""
		echo "server.errorlog = \"$dir/error.log\""
		echo "server.port = $NETNS_PORT"
		echo "server.bind = \"$a4\""
		echo '$SERVER["socket"] == "['"$a6"']:'"$NETNS_PORT"'" { server.use-ipv6 = "enable" }'
		echo 'server.v4mapped = "disable"'
		echo "server.stream-response-body = $stream"
		[ -z "${SYS_SITE_EXTRA:-}" ] || echo "$SYS_SITE_EXTRA"
		echo "alias.url = (\"/files/\" => \"$dir/www/\")"
		echo '$HTTP["url"] !~ "^/files/" {'
		echo '	fastcgi.server = ("/" => (('
		echo "		\"socket\" => \"$dir/fcgi/fcgi.sock\","
		echo "		\"bin-path\" => \"$top_builddir/fcgi/tracetrout.fcgi\","
		echo "		\"bin-environment\" => (\"TRACETROUT_SOCKET\" => \"$NETNS_TMP/run/tracetroutd.sock\"),"
		echo '		"max-procs" => 1, "check-local" => "disable", "fix-root-scriptname" => "enable"'
		echo '	)))'
		echo '}'
	} >"$dir/lighttpd.conf"
	ip netns exec "$NETNS_SERVER" lighttpd -D -f "$dir/lighttpd.conf" >>"$dir/console.log" 2>&1 &
	pid=$!
	netns_on_cleanup "kill $pid 2>/dev/null"
	# This site's own answer: another server listening on all addresses would answer too.
	for ((i = 0; i < 50; i++)); do
		code=$(nsx "$NETNS_SERVER" curl -s --max-time 2 "http://$a4:$NETNS_PORT/files/ping") || :
		[ "$code" = "$name" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sys_show "$dir/console.log" "$dir/error.log"
	return 1
}

# shellcheck source=../lib/netns.sh
. "$top_srcdir/tests/lib/netns.sh"
