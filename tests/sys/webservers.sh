#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The four web server setups shipped in conf/web/ (lighttpd, nginx, Apache with mod_proxy_fcgi,
# Apache with mod_fcgid), each as tracetrout-serve builds it from the example, over HTTP and
# over HTTPS with HTTP/2, IPv4 and IPv6. A visitor four routers away, one of them silent, the
# one next to it holding the connection's packets 200 ms each way (tests/lib/pathemu, so that
# the visitor's own answer comes a 400 ms round trip after the routers'), traces itself: the
# app got the connection (addresses and ports), the hop list is exact in text and JSON, the
# hops streamed (the first one clearly before the end), and nothing was compressed although curl asked for it (the generated configuration
# compresses these types, as Debian's defaults do, so the example must keep it off the trace).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nginx apache2 openssl conntrack
sys_require_build
# Modules in packages of their own (libapache2-mod-fcgid, lighttpd-mod-openssl): sys_require
# looks for commands only.
for f in /usr/lib/apache2/modules/mod_fcgid.so /usr/lib/lighttpd/mod_openssl.so; do
	[ -e "$f" ] && continue
	[ "${CI:-}" = true ] && { echo "Bail out! missing $f"; exit 1; }
	tap_skip_all "missing $f"
done

servers=(lighttpd nginx apache apache-fcgid)
tap_plan $((${#servers[@]} * 2 * (4 + 2 * 5) + 1))
netns_build -n 4 -s 2 || { echo "Bail out! cannot build the network"; exit 1; }
netns_tls_cert || { echo "Bail out! cannot make a certificate"; exit 1; }
netns_pathemu 1 --hold-ms 200 || { echo "Bail out! no path delay at router 1"; exit 1; }

# check_case SERVER PROTO FAMILY: the five test points of one visitor's traces.
check_case() {
	local what="$1 $2 IPv$3" fam=$3 n=$1-$2-$3 cport version first end want
	local -n client=NETNS_CLIENT$fam server=NETNS_SERVER$fam

	# Text: its heading says which connection the app traced. The Host header names no port, as
	# a browser's does on a standard port: SERVER_PORT must come from the connection all the
	# same. curl's own figures go to stderr.
	netns_trace "$fam" "/?format=text" -H 'Host: trace.example.net' --compressed -D "$NETNS_TMP/$n.head" \
		-w '%{stderr}%{local_port} %{http_version}\n' 2>"$NETNS_TMP/$n.err" | sys_timed "$NETNS_TMP/$n"
	read -r cport version < <(tail -n 1 "$NETNS_TMP/$n.err")
	want="traceroute to $client ($client) port $cport, from $server port $NETNS_PORT, trace "
	[[ $(head -n 1 "$NETNS_TMP/$n") == "$want"* ]]
	tap_ok $? "$what: the app got the visitor's address and port ($client, $cport) and the server's" ||
		sys_show "$NETNS_TMP/$n" "$NETNS_TMP/$n.err"

	[ "$(text_hops <"$NETNS_TMP/$n")" = "$(netns_hops_text "$fam")" ]
	tap_ok $? "$what: text hop list exact" || sys_show "$NETNS_TMP/$n" "$NETNS_TMP/serve.log"

	# A web server that buffers sends it all at the end; streamed, the first hop comes at once
	# and the end after the visitor's answer, a round trip of 400 ms later.
	first=$(awk '$2 == 1 { print $1; exit }' "$NETNS_TMP/$n.timed")
	end=$(awk '$2 == "end:" { print $1; exit }' "$NETNS_TMP/$n.timed")
	[ -n "$first" ] && [ -n "$end" ] && [ $((end - first)) -ge 300 ]
	tap_ok $? "$what: streamed: the first hop after ${first:-?} ms, the end after ${end:-?} ms" ||
		sys_show "$NETNS_TMP/$n.timed"

	case $2 in http) want=1.1 ;; https) want=2 ;; esac
	[ "$version" = "$want" ] && ! grep -qi '^content-encoding:' "$NETNS_TMP/$n.head"
	tap_ok $? "$what: HTTP/$want, and not compressed though curl asked for it" ||
		sys_show "$NETNS_TMP/$n.head" "$NETNS_TMP/$n.err"

	# JSON has nothing of its own before the first hop, and Apache (either module), like nginx
	# over HTTP/2 (its TLS buffer keeps the HEADERS frame), sends a head only with body bytes:
	# the app's space after the head is what lets the first segment leave at once.
	sys_trace "$fam" "$n.json"
	check_hops "$fam" "$NETNS_TMP/$n.json" "$what: JSON hop list exact"
}

for ws in "${servers[@]}"; do
	for proto in http https; do
		tls=()
		[ "$proto" = https ] && tls=(--tls-cert "$NETNS_TLS_CERT" --tls-key "$NETNS_TLS_KEY")
		HOP_TIMEOUT=1s netns_serve_start "$top_builddir" --web-server "$ws" "${tls[@]}" &&
			grep -q "^# from $top_srcdir/conf/web/" "$NETNS_TMP/run/$ws.conf"
		tap_ok $? "$ws $proto: tracetrout-serve runs it, its configuration made from the source's example" ||
			sys_show "$NETNS_TMP/serve.log"

		# Debian builds Apache to serve 0.0.0.0 and [::] from one IPv6 socket; APR then writes the
		# IPv4-mapped addresses as IPv4 (and the app would read them so too).
		listeners=$(nsx "$NETNS_SERVER" ss -Hltn "sport = :$NETNS_PORT" | awk '{ print $4 }' | sort | xargs)
		if [[ $ws == apache* ]]; then
			echo "ok $((tap_n += 1)) - $ws $proto: listening on $listeners" \
				"# SKIP one socket for both families in Debian's Apache"
		else
			[ "$listeners" = "0.0.0.0:$NETNS_PORT [::]:$NETNS_PORT" ]
			tap_ok $? "$ws $proto: IPv4 and IPv6 on sockets of their own ($listeners)"
		fi

		for fam in 4 6; do
			check_case "$ws" "$proto" "$fam"
		done

		# For nginx and mod_proxy_fcgi tracetrout-serve runs the app, and starts it again if it dies.
		if [ "$ws-$proto" = nginx-http ]; then
			app=$(for p in $(ip netns pids "$NETNS_SERVER"); do
				[ "$(cat "/proc/$p/comm" 2>/dev/null)" = tracetrout.fcgi ] && echo "$p"
			done)
			# shellcheck disable=SC2086  # one pid, or none and the test point fails
			kill -KILL $app
			for ((i = 0; i < 50; i++)); do
				grep -q "tracetrout.fcgi started again" "$NETNS_TMP/serve.log" && sys_trace 4 again &&
					[ -n "$(netns_hops <"$NETNS_TMP/again")" ] && break
				sleep 0.1
			done
			check_hops 4 "$NETNS_TMP/again" \
				"$ws $proto: the app killed (pid ${app:-none}), it runs again and traces work"
		fi

		netns_serve_stop
		tap_ok $? "$ws $proto: tracetrout-serve stops cleanly" || sys_show "$NETNS_TMP/serve.log"
		[ -z "$(ip netns pids "$NETNS_SERVER")" ]
		tap_ok $? "$ws $proto: nothing left running in the server namespace" ||
			ip netns pids "$NETNS_SERVER" | xargs -r ps -o pid,user,args -p | tap_diag
		mv "$NETNS_TMP/serve.log" "$NETNS_TMP/serve-$ws-$proto.log"
	done
done
sys_done
