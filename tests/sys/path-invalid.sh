#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A router that drops what its conntrack finds INVALID (out of the connection's window, among
# others) in FORWARD, both families, the second of four from the visitor; traces ride a
# connection that carries a 20 MB response: one HTTP/2 connection (TLS) with two streams at
# once, the download (paced to 100 Mbit/s, about 1.7 s: netns_slow_lane) and the trace. Probes
# must stay inside the window that router tracks, and the visitor's answers come on ACKs of
# the download's data. Every hop list is exact, within a bound well under HOP_TIMEOUT, the
# file arrives intact, and the router dropped nothing as INVALID. Its conntrack shows it
# tracked each connection (the rule had something to judge).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd openssl conntrack sha256sum tc
sys_require_build
if [ ! -e /usr/lib/lighttpd/mod_openssl.so ]; then
	[ "${CI:-}" = true ] && { echo "Bail out! missing lighttpd-mod-openssl"; exit 1; }
	tap_skip_all "missing lighttpd-mod-openssl"
fi

traces=${PATH_TRACES:-8}
max_ms=800

tap_plan 11
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_tls_cert || { echo "Bail out! cannot make a certificate"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 20M /dev/urandom >"$NETNS_TMP/www/big"
sum=$(sha256sum <"$NETNS_TMP/www/big")
fw=${NETNS_ROUTERS[2]}
for ipt in iptables ip6tables; do
	nsx "$fw" "$ipt" -w -A FORWARD -m conntrack --ctstate INVALID -j DROP || break
done
tap_ok $? "router 2 drops conntrack INVALID in FORWARD (IPv4 and IPv6)"
HOP_TIMEOUT=1s netns_serve_start "$top_builddir" --tls-cert "$NETNS_TLS_CERT" --tls-key "$NETNS_TLS_KEY"
tap_ok $? "tracetrout-serve runs (HTTPS, HOP_TIMEOUT=1s)"
netns_slow_lane 100mbit
tap_ok $? "the download's lane is paced to 100 Mbit/s"

# both FAMILY NAME: one curl, one HTTP/2 connection, the download and the trace at once; the
# trace in NAME, the download in NAME.big, each transfer's figures in NAME.w (its URL, new
# connections made, local port, HTTP version, time in seconds).
both() {
	nsx "$NETNS_VISITOR" curl -sS -N --max-time 60 --http2 --cacert "$NETNS_CACERT" --parallel \
		--local-port 45000-45009 -w '%{url_effective} %{num_connects} %{local_port} %{http_version} %{time_total}\n' \
		-o "$NETNS_TMP/$2.big" "$(netns_url "$1" /files/big)" -o "$NETNS_TMP/$2" "$(netns_url "$1" /)" \
		>"$NETNS_TMP/$2.w" 2>"$NETNS_TMP/$2.err"
}

for fam in 4 6; do
	SYS_TRACE_FILES=()
	SYS_TRACE_TIMES=()
	shared=0 intact=0 tracked=0
	for ((i = 1; i <= traces; i++)); do
		n=bulk$fam-$i
		both "$fam" "$n"
		# The trace's line (URL ending in /) and the download's.
		read -r _ tc tport tv tt < <(grep ' ' "$NETNS_TMP/$n.w" | grep -v '/files/big ')
		read -r _ _ dport dv _ < <(grep '/files/big ' "$NETNS_TMP/$n.w")
		[ "${tport:-x}" = "${dport:-y}" ] && [ "${tc:-1}" = 0 ] && [ "$tv" = 2 ] && [ "$dv" = 2 ] &&
			shared=$((shared + 1))
		[ "$(sha256sum <"$NETNS_TMP/$n.big")" = "$sum" ] && intact=$((intact + 1))
		nsx "$fw" conntrack -f "ipv$fam" -L -p tcp --dport "$NETNS_PORT" 2>/dev/null |
			grep -q "sport=${dport:-none} " && tracked=$((tracked + 1))
		SYS_TRACE_FILES+=("$n")
		SYS_TRACE_TIMES+=("$(awk -v t="${tt:-0}" 'BEGIN { printf "%d", t * 1000 }')")
	done
	[ "$shared" = "$traces" ] && [ "$intact" = "$traces" ] && [ "$tracked" = "$traces" ]
	tap_ok $? "IPv$fam: $shared of $traces traces on the download's HTTP/2 connection, $intact downloads intact, $tracked connections in router 2's conntrack" ||
		sys_show "$NETNS_TMP/bulk$fam-1.w" "$NETNS_TMP/bulk$fam-1.err"
	sys_trace_points "$fam" "$max_ms" "during a 20 MB response"
done

dropped=$(for ipt in iptables ip6tables; do nsx "$fw" "$ipt" -w -nvxL FORWARD; done |
	awk '$3 == "DROP" { n += $1 } END { print n + 0 }')
[ "$dropped" = 0 ]
tap_ok $? "router 2 dropped nothing as INVALID ($dropped packets)"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
