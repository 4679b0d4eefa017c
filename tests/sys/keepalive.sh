#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A trace follows the TCP connection, whichever request on it asked, IPv4 and IPv6:
# (a) three traces one after the other on one HTTP/1.1 keep-alive connection, all exact;
# (b) the same over TLS, HTTP/1.1 and HTTP/2 (three streams of one connection);
# each later trace as fast as the first, give or take 30 ms: the visitor's delayed ACK (40 ms)
# is never waited for (the probes leave right behind the response's first segment);
# (c) a connection opened before tracetroutd started: a first request (a static file), then
#     tracetroutd is killed and tracetrout-serve starts it again, then the trace on that same
#     connection is exact.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd openssl python3 conntrack
sys_require_build
# lighttpd's TLS module is a package of its own (lighttpd-mod-openssl): sys_require looks for
# commands only.
if [ ! -e /usr/lib/lighttpd/mod_openssl.so ]; then
	[ "${CI:-}" = true ] && { echo "Bail out! missing lighttpd-mod-openssl"; exit 1; }
	tap_skip_all "missing lighttpd-mod-openssl"
fi

tap_plan 41
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_tls_cert || { echo "Bail out! cannot make a certificate"; exit 1; }

# three_traces FAMILY NAME [CURL OPTIONS...]: one curl, three traces (NAME.1 .. NAME.3), its
# figures of each transfer in NAME.w: new connections made, local port, HTTP version, ms.
three_traces() {
	local fam=$1 n=$2 url
	shift 2
	url=$(netns_url "$fam" /)
	nsx "$NETNS_VISITOR" curl -sS -N --max-time 60 ${NETNS_CACERT:+--cacert "$NETNS_CACERT"} "$@" \
		-w '%{num_connects} %{local_port} %{http_version} %{time_total}\n' \
		"$url" -o "$NETNS_TMP/$n.1" "$url" -o "$NETNS_TMP/$n.2" "$url" -o "$NETNS_TMP/$n.3" \
		>"$NETNS_TMP/$n.w" 2>"$NETNS_TMP/$n.err"
}

# check_three FAMILY NAME WHAT VERSION: the five test points of three_traces.
check_three() {
	local fam=$1 n=$2 what=$3 c1 p1 v1 t1 c2 p2 v2 t2 c3 p3 v3 t3 desc ms
	{ read -r c1 p1 v1 t1 && read -r c2 p2 v2 t2 && read -r c3 p3 v3 t3; } <"$NETNS_TMP/$n.w"
	desc="$what: all on one connection (new connections ${c1:-?}, ${c2:-?}, ${c3:-?}"
	desc+=", port ${p1:-?}, ${p2:-?}, ${p3:-?}, HTTP/${v1:-?})"
	[ "${c1:-}" = 1 ] && [ "${c2:-}" = 0 ] && [ "${c3:-}" = 0 ] && [ "${p1:-}" = "${p2:-x}" ] &&
		[ "${p1:-}" = "${p3:-x}" ] && [ "${v1:-}" = "$4" ] && [ "${v2:-}" = "$4" ] && [ "${v3:-}" = "$4" ]
	tap_ok $? "$desc" || sys_show "$NETNS_TMP/$n.w" "$NETNS_TMP/$n.err"
	check_hops "$fam" "$NETNS_TMP/$n.1" "$what: the first trace is exact"
	check_hops "$fam" "$NETNS_TMP/$n.2" "$what: the second trace, on the same connection, is exact"
	check_hops "$fam" "$NETNS_TMP/$n.3" "$what: the third is exact"
	# The first transfer's time includes the connection's set-up: compare with the later ones'
	# own times, each from its start.
	ms=$(awk -v a="${t1:-0}" -v b="${t2:-9}" -v c="${t3:-9}" 'BEGIN {
		printf "%d %d %d", a * 1000, b * 1000, c * 1000 }')
	read -r t1 t2 t3 <<<"$ms"
	[ "$t2" -le $((t1 + 30)) ] && [ "$t3" -le $((t1 + 30)) ]
	tap_ok $? "$what: the later traces as fast as the first ($t1, $t2, $t3 ms)" ||
		sys_show "$NETNS_TMP/$n.w"
}

# --- (a) and (c): plain HTTP -----------------------------------------------------------------
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HTTP)" || sys_show "$NETNS_TMP/serve.log"

for fam in 4 6; do
	three_traces "$fam" keep$fam
	check_three "$fam" keep$fam "IPv$fam, HTTP/1.1 keep-alive" 1.1
done

# The visitor opens a connection per family and fetches a static file on each; then waits
# (for the file "go") and asks for its trace on the same connections. It says whether each
# connection was still the same socket and port (http.client would open a new one silently).
# The system's python: the namespace runs it as root, but a user's shim might not exist there.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
nsx "$NETNS_VISITOR" "$py" - "$NETNS_TMP" "$NETNS_PORT" "$NETNS_SERVER4" "$NETNS_SERVER6" \
	>"$NETNS_TMP/early.out" 2>&1 <<'PY' &
import http.client, os, sys, time
tmp, port, hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
conns = []
for fam, host in zip((4, 6), hosts):
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request('GET', '/files/ping')
    r = c.getresponse()
    r.read()
    conns.append((fam, c, c.sock, c.sock.getsockname()[1], r.status))
with open(tmp + '/early.ready', 'w') as f:
    f.write(' '.join('%d:%d:%d' % (fam, p, st) for fam, _, _, p, st in conns) + '\n')
deadline = time.time() + 30
while not os.path.exists(tmp + '/early.go') and time.time() < deadline:
    time.sleep(0.05)
for fam, c, s, p, st in conns:
    c.request('GET', '/?format=json')
    r = c.getresponse()
    with open('%s/early%d' % (tmp, fam), 'wb') as f:
        f.write(r.read())
    same = c.sock is s and c.sock.getsockname()[1] == p
    print('IPv%d status %d port %d %s' % (fam, r.status, c.sock.getsockname()[1],
                                          'same' if same else 'new'))
PY
early=$!
for ((i = 0; i < 100; i++)); do
	[ -s "$NETNS_TMP/early.ready" ] && break
	sleep 0.1
done
[ "$(sed 's/:[0-9]*:/:/g' "$NETNS_TMP/early.ready" 2>/dev/null)" = "4:200 6:200" ]
tap_ok $? "two connections opened and used for a static file ($(cat "$NETNS_TMP/early.ready" 2>/dev/null))" ||
	sys_show "$NETNS_TMP/early.out"

# tracetrout-serve starts a tracetroutd that died of a signal again (a second later). The new
# one is ready when its broker listens (the socket file exists a moment before its group and
# mode are set) and its engine has bound the queue: both say so in the log.
old=$(netns_helper_pid)
kill -KILL "$old"
new=
for ((i = 0; i < 100; i++)); do
	new=$(netns_helper_pid)
	[ -n "$new" ] && [ "$new" != "$old" ] &&
		grep -q "tracetroutd/broker\[$new\]: broker: listening on" "$NETNS_TMP/serve.log" &&
		[ "$(grep -c 'engine: queue' "$NETNS_TMP/serve.log")" -ge 2 ] && break
	sleep 0.1
done
[ -n "$new" ] && [ "$new" != "$old" ]
tap_ok $? "tracetroutd killed (pid $old) and started again (pid ${new:-none}) after the connections were opened" ||
	sys_show "$NETNS_TMP/serve.log"
touch "$NETNS_TMP/early.go"
wait "$early"
for fam in 4 6; do
	grep -q "^IPv$fam status 200 port [0-9]* same$" "$NETNS_TMP/early.out"
	tap_ok $? "IPv$fam: the trace was asked on the connection opened before tracetroutd started" ||
		sys_show "$NETNS_TMP/early.out"
	check_hops "$fam" "$NETNS_TMP/early$fam" "IPv$fam: and it is exact"
done

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly" || sys_show "$NETNS_TMP/serve.log"

# --- (b): HTTP/2 over TLS --------------------------------------------------------------------
mv "$NETNS_TMP/serve.log" "$NETNS_TMP/serve-http.log"
netns_serve_start "$top_builddir" --tls-cert "$NETNS_TLS_CERT" --tls-key "$NETNS_TLS_KEY"
tap_ok $? "tracetrout-serve runs (HTTPS)" || sys_show "$NETNS_TMP/serve.log"
for fam in 4 6; do
	three_traces "$fam" tls-$fam --http1.1
	check_three "$fam" tls-$fam "IPv$fam, HTTP/1.1 over TLS" 1.1
	three_traces "$fam" h2-$fam --http2
	check_three "$fam" h2-$fam "IPv$fam, HTTP/2" 2
done
netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly" || sys_show "$NETNS_TMP/serve.log"
[ -z "$(ip netns pids "$NETNS_SERVER")" ]
tap_ok $? "nothing left running in the server namespace"
sys_done
