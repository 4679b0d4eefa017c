#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Setup faults are named where the administrator and the visitor look: a web server that
# buffers the response, missing firewall rules, a site whose user may not open the helper's
# socket, and a socket directory the web server's group cannot search. Each is said in the
# trace response and in the log; putting the setup right makes the trace exact again.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd apache2 conntrack useradd userdel
sys_require_build

tap_plan 14
netns_build -n 2 || { echo "Bail out! cannot build the network"; exit 1; }
sys_user tt-site-b || { echo "Bail out! cannot create a site's user"; exit 1; }
# A start-timeout of 1 s: most faults below show as a trace that saw no segment in that time.
read -r -a limits <<<"$NETNS_NO_LIMITS"
netns_serve_start "$top_builddir" --listen "$NETNS_SERVER4" --listen "$NETNS_SERVER6" \
	--listen 127.0.0.1 -- "${limits[@]}" --start-timeout 1s
tap_ok $? "tracetrout-serve runs"
sock=$NETNS_TMP/run/tracetroutd.sock

# A site whose user is not in the socket's group (www-data): connect() gets EACCES.
sys_site_start denied tt-site-b 10.77.2.4 2001:db8:77:2::4
code=$(sys_get 10.77.2.4 denied.out "/?format=text")
[ "$code" = 500 ] && grep -q "the web server's user may not open the tracing helper's socket" \
	"$NETNS_TMP/denied.out"
tap_ok $? "a site that may not open the socket: 500 and why ($code)" || sys_show "$NETNS_TMP/denied.out"
# The app's stderr is its web server's: lighttpd's own, here console.log.
grep -q "connect $sock: Permission denied: this app runs as uid $(id -u tt-site-b) gid $(id -g tt-site-b); the socket's group" \
	"$NETNS_TMP/denied/console.log"
tap_ok $? "its log names the socket, its uid and the fix" || sys_show "$NETNS_TMP/denied/console.log"

# The rules gone: the response leaves, but never through the queue. A namespace with no rule
# that needs conntrack has no conntrack at all (the trace would be refused as not-found); a
# server's usual firewall keeps it on.
nsx "$NETNS_SERVER" iptables -w -A INPUT -m conntrack --ctstate INVALID -j DROP
nsx "$NETNS_SERVER" ip6tables -w -A INPUT -m conntrack --ctstate INVALID -j DROP
nsx "$NETNS_SERVER" "$top_builddir/tracetrout-rules" del >/dev/null
code=$(sys_get "$NETNS_SERVER4" norules "/?format=text")
[ "$code" = 200 ] && grep -q "^end: the response left without passing the tracing helper: the firewall rules are missing" \
	"$NETNS_TMP/norules"
tap_ok $? "without the rules the visitor is told so ($code)" || sys_show "$NETNS_TMP/norules"
grep -q "segments but none reached queue 7470: the firewall rules are missing or do not cover port $NETNS_PORT" \
	"$NETNS_TMP/serve.log"
tap_ok $? "and the helper's log names the queue and the port" || sys_show "$NETNS_TMP/serve.log"
nsx "$NETNS_SERVER" "$top_builddir/tracetrout-rules" add --ports "$NETNS_PORT" >/dev/null
sys_trace 4 again
check_hops 4 "$NETNS_TMP/again" "the rules back: the trace is exact again"

# A socket in a directory only root can search: the start warns.
mkdir -m 0700 "$NETNS_TMP/private"
nsx "$NETNS_SERVER" "$top_builddir/helper/tracetroutd" -d --socket "$NETNS_TMP/private/t.sock" \
	--db '' --queue 7471 --mark 0x200000 >"$NETNS_TMP/private.log" 2>&1 &
pid=$!
for ((i = 0; i < 50; i++)); do
	grep -q "listening on" "$NETNS_TMP/private.log" && break
	sleep 0.1
done
kill "$pid" 2>/dev/null
wait "$pid"
grep -q "broker: the group www-data cannot reach the socket: $NETNS_TMP/private is mode 0700" \
	"$NETNS_TMP/private.log"
tap_ok $? "a socket the web server's group cannot reach: the helper says which directory" ||
	sys_show "$NETNS_TMP/private.log"
! grep -q "cannot reach the socket" "$NETNS_TMP/serve.log"
tap_ok $? "tracetrout-serve's own socket draws no such warning"

# Apache's mod_fcgid holds back the first 64 KiB of a response, head included, unless
# FcgidOutputBufferSize is 0: the shipped example without that line.
netns_serve_stop
mkdir -p "$NETNS_TMP/examples"
cp "$top_srcdir"/conf/web/* "$NETNS_TMP/examples/"
[ "$top_builddir" = "$top_srcdir" ] || cp "$top_builddir"/conf/web/* "$NETNS_TMP/examples/" 2>/dev/null
sed -i '/FcgidOutputBufferSize 0/d' "$NETNS_TMP/examples/apache-fcgid.conf"
TRACETROUT_EXAMPLES=$NETNS_TMP/examples netns_serve_start "$top_builddir" --web-server apache-fcgid \
	--listen "$NETNS_SERVER4" --listen "$NETNS_SERVER6" --listen 127.0.0.1 \
	-- "${limits[@]}" --start-timeout 1s
tap_ok $? "tracetrout-serve runs Apache with mod_fcgid, its output buffer left at 64 KiB"
for fam in 4 6; do
	if [ "$fam" = 4 ]; then host=$NETNS_SERVER4; else host=$NETNS_SERVER6; fi
	code=$(sys_get "$host" buf$fam "/?format=text")
	[ "$code" = 200 ] && grep -q "^end: the web server is buffering this response; set flushpackets=on (mod_proxy_fcgi) or FcgidOutputBufferSize 0 (mod_fcgid); 0 hops" \
		"$NETNS_TMP/buf$fam"
	tap_ok $? "IPv$fam: the visitor is told Apache buffers, and its settings ($code)" ||
		sys_show "$NETNS_TMP/buf$fam"
done
grep -q "the web server sent nothing for the response in 1000 ms: it is buffering it" "$NETNS_TMP/serve.log"
tap_ok $? "the helper's log says the same" || sys_show "$NETNS_TMP/serve.log"
[ "$(grep -c "it is buffering it" "$NETNS_TMP/serve.log")" = 1 ]
tap_ok $? "... once a minute, not once a trace"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
