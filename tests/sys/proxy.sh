#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A proxy that ends TCP in front of the server: the trace follows the proxy's connection, so it
# ends at the proxy, and the response says so. A real nginx in the visitor's namespace proxies
# to the server and adds X-Forwarded-For; a request with Via alone is marked too; and with the
# helper's proxies setting a listed address is marked without any header.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nginx conntrack
sys_require_build

tap_plan 14
netns_build -n 3 || { echo "Bail out! cannot build the network"; exit 1; }
read -r -a limits <<<"$NETNS_NO_LIMITS"
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs"

# The proxy: nginx on the visitor's loopback, port 8081 to the server's IPv4 address and 8082
# to its IPv6 one, unbuffered, adding X-Forwarded-For as a reverse proxy does.
px=$NETNS_TMP/proxy
mkdir -p "$px"
cat >"$px/nginx.conf" <<EOF
pid $px/nginx.pid;
error_log $px/error.log;
events {}
http {
	access_log off;
	client_body_temp_path $px/body;
	proxy_temp_path $px/proxy;
	proxy_buffering off;
	proxy_http_version 1.1;
	proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
	server { listen 127.0.0.1:8081; location / { proxy_pass http://$NETNS_SERVER4:$NETNS_PORT; } }
	server { listen 127.0.0.1:8082; location / { proxy_pass http://[$NETNS_SERVER6]:$NETNS_PORT; } }
}
EOF
nsx "$NETNS_VISITOR" nginx -c "$px/nginx.conf" -g 'daemon off;' >"$px/console.log" 2>&1 &
proxy_pid=$!
netns_on_cleanup "kill $proxy_pid 2>/dev/null"
for ((i = 0; i < 50; i++)); do
	nsx "$NETNS_VISITOR" curl -s -o /dev/null --max-time 1 http://127.0.0.1:8082/files/ping && break
	sleep 0.1
done

# via_proxy FAMILY NAME PATH: through the proxy; body in $NETNS_TMP/NAME, head in NAME.head.
via_proxy() {
	local port=8081
	[ "$1" = 6 ] && port=8082
	nsx "$NETNS_VISITOR" curl -sS -N --max-time 60 -D "$NETNS_TMP/$2.head" -o "$NETNS_TMP/$2" \
		"http://127.0.0.1:$port$3" 2>"$NETNS_TMP/$2.err"
}

for fam in 4 6; do
	declare -n client=NETNS_CLIENT$fam
	via_proxy "$fam" pjson$fam /
	# The proxy sits where the visitor is: the path to it is the visitor's path.
	check_hops "$fam" "$NETNS_TMP/pjson$fam" "IPv$fam through the proxy: the path to the proxy, exact"
	[ "$(sys_header x-trace-proxy "$NETNS_TMP/pjson$fam.head")" = x-forwarded-for ]
	tap_ok $? "IPv$fam: JSON lines say it in X-Trace-Proxy" || sys_show "$NETNS_TMP/pjson$fam.head"
	via_proxy "$fam" ptext$fam "/?format=text"
	grep -q "^note: the request came through a proxy (it carried X-Forwarded-For): the trace follows the proxy's connection" \
		"$NETNS_TMP/ptext$fam" &&
		grep -q "^end: reached the proxy in front of this server; 4 hops" "$NETNS_TMP/ptext$fam" &&
		grep -q "^traceroute to $client " "$NETNS_TMP/ptext$fam"
	tap_ok $? "IPv$fam: text says the trace ends at the proxy, not at the visitor" ||
		sys_show "$NETNS_TMP/ptext$fam"
	unset -n client
done

# The page, and a permalink read later, say it too.
via_proxy 4 phtml "/?format=html"
id=$(sys_header x-trace-id "$NETNS_TMP/phtml.head")
grep -q '<p class="proxy"><strong>Note:</strong> the request came through a proxy' "$NETNS_TMP/phtml" &&
	grep -q "Trace ended:</strong> reached the proxy in front of this server" "$NETNS_TMP/phtml"
tap_ok $? "the page says so" || sys_show "$NETNS_TMP/phtml"
netns_trace 4 "/trace/$id?format=text" >"$NETNS_TMP/stored"
grep -q "^note: the request came through a proxy (it carried X-Forwarded-For)" "$NETNS_TMP/stored"
tap_ok $? "the stored trace keeps it" || sys_show "$NETNS_TMP/stored"

# Direct, with only a Via header: marked as well.
netns_trace 4 / -D "$NETNS_TMP/via.head" -H 'Via: 1.1 cache.example.net' >"$NETNS_TMP/via"
[ "$(sys_header x-trace-proxy "$NETNS_TMP/via.head")" = via ]
tap_ok $? "a request with Via: X-Trace-Proxy: via" || sys_show "$NETNS_TMP/via.head"
netns_trace 4 / -D "$NETNS_TMP/plain.head" >"$NETNS_TMP/plain"
[ -z "$(sys_header x-trace-proxy "$NETNS_TMP/plain.head")" ]
tap_ok $? "a request with none: no X-Trace-Proxy"

# The administrator lists the visitor's networks as proxies: marked without a header.
netns_serve_stop
netns_serve_start "$top_builddir" -- "${limits[@]}" --proxies "10.77.0.0/24,2001:db8:77::/64"
sys_trace 4 listed "/?format=text"
grep -q "^note: the client address is a proxy in front of this server (the helper's proxies setting)" \
	"$NETNS_TMP/listed" && grep -q "^end: reached the proxy in front of this server" "$NETNS_TMP/listed"
tap_ok $? "a listed address: the trace says it ends at the proxy" || sys_show "$NETNS_TMP/listed"
sys_trace 6 listed6 /
[ "$(sys_header x-trace-proxy "$NETNS_TMP/listed6.head")" = listed ]
tap_ok $? "IPv6, listed by its /64: X-Trace-Proxy: listed" || sys_show "$NETNS_TMP/listed6.head"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
