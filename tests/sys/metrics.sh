#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The helper's Prometheus metrics (--metrics 9470: loopback only), scraped with curl inside the
# server's namespace before and after three traces (IPv4, IPv6, IPv4): the counters move by
# exactly what the traces did (three ended at the destination, three of the app's site stored,
# nothing forged, refused or failed; probes and replies at least those the stored traces hold),
# promtool accepts the text, the processes' memory is theirs, and no visitor's address or
# trace id is in it. The visitor's namespace cannot reach the port. Garbage, an oversized
# request, idle connections beyond the endpoint's slots and a slow request neither crash nor
# stall the helper: the scrapes answer at once and a trace after them is exact.
PORT=9470	# the metrics'
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd promtool python3 ss
sys_require_build

tap_plan 33
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
NETNS_HELPER_OPTS="$NETNS_NO_LIMITS --metrics $PORT" netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs with --metrics $PORT" || { echo "Bail out! no helper"; exit 1; }

# scrape NAME [HOST]: GET /metrics from inside the server's namespace (127.0.0.1 by default) into
# $NETNS_TMP/NAME, the head in NAME.head; prints the status.
scrape() {
	nsx "$NETNS_SERVER" curl -sS --max-time 10 -D "$NETNS_TMP/$1.head" -o "$NETNS_TMP/$1" \
		-w '%{http_code}' "http://${2:-127.0.0.1}:$PORT/metrics" 2>"$NETNS_TMP/$1.err"
}

# value NAME SAMPLE: the value of the sample (its name with its labels, exactly as the text writes
# it) in the scrape NAME; empty if it is not there.
value() {
	awk -v s="$2" '$1 == s { print $2; exit }' "$NETNS_TMP/$1"
}

# delta SAMPLE: its value after the traces minus before (a missing sample counts as 0).
delta() {
	local a b
	a=$(value m0 "$1") b=$(value m1 "$1")
	echo $((${b:-0} - ${a:-0}))
}

# sum NAME PREFIX: the sum of every sample whose name is PREFIX (any labels) in the scrape NAME.
sum() {
	awk -v p="$2" 'substr($1, 1, length(p) + 1) == p "{" || $1 == p { n += $2 } END { print n + 0 }' \
		"$NETNS_TMP/$1"
}

code=$(scrape m0)
ctype=$(sys_header content-type "$NETNS_TMP/m0.head")
[ "$code" = 200 ] && [ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ]
tap_ok $? "a scrape on 127.0.0.1:$PORT: $code, $ctype" || sys_show "$NETNS_TMP/m0.err" "$NETNS_TMP/serve.log"
promtool check metrics <"$NETNS_TMP/m0" >"$NETNS_TMP/promtool0" 2>&1
tap_ok $? "promtool check metrics accepts it" || sys_show "$NETNS_TMP/promtool0"
code=$(scrape m0v6 '[::1]')
[ "$code" = 200 ]
tap_ok $? "and on [::1]:$PORT ($code)"

# Loopback only: the listeners, and the visitor's own try at the server's addresses.
listeners=$(nsx "$NETNS_SERVER" ss -Hltn "sport = :$PORT" | awk '{ print $4 }' | sort | paste -sd' ')
[ "$listeners" = "127.0.0.1:$PORT [::1]:$PORT" ]
tap_ok $? "it listens on loopback alone: $listeners"
v4=$(nsx "$NETNS_VISITOR" curl -s -o /dev/null --max-time 3 -w '%{http_code}' \
	"http://$NETNS_SERVER4:$PORT/metrics")
v6=$(nsx "$NETNS_VISITOR" curl -s -o /dev/null --max-time 3 -w '%{http_code}' \
	"http://[$NETNS_SERVER6]:$PORT/metrics")
[ "$v4" = 000 ] && [ "$v6" = 000 ]
tap_ok $? "the visitor cannot reach it at $NETNS_SERVER4 or $NETNS_SERVER6 (curl: $v4, $v6)"

# Three traces; each ends at the visitor, and its stored copy says what the engine matched.
ids=()
for fam in 4 6 4; do
	sys_trace "$fam" "t${#ids[@]}"
	check_hops "$fam" "$NETNS_TMP/t${#ids[@]}" "trace $((${#ids[@]} + 1)), IPv$fam: exact"
	ids+=("$(sys_header x-trace-id "$NETNS_TMP/t${#ids[@]}.head")")
done
# What the stored traces hold: the probes of their hops, and the replies matched in time (a
# reply with FLAGS bit 16 came late, after its hop settled: the engine counts it apart).
replies=0 sent=0
for id in "${ids[@]}"; do
	broker_ask "$NETNS_TMP/run/tracetroutd.sock" "GET id=$id" >"$NETNS_TMP/stored-$id"
	replies=$((replies + $(grep '^HOP ' "$NETNS_TMP/stored-$id" | grep -o ' reply=[^ ]*' |
		awk -F, 'NF < 11 || int($11 / 16) % 2 == 0 { n++ } END { print n + 0 }')))
	sent=$((sent + $(grep '^HOP ' "$NETNS_TMP/stored-$id" | grep -o ' sent=[0-9]*' |
		awk -F= '{ n += $2 } END { print n + 0 }')))
done
code=$(scrape m1)
[ "$code" = 200 ]
tap_ok $? "a scrape after them ($code)"
promtool check metrics <"$NETNS_TMP/m1" >"$NETNS_TMP/promtool1" 2>&1
tap_ok $? "promtool accepts it too" || sys_show "$NETNS_TMP/promtool1"

site="{site=\"www-data\",uid=\"$(id -u www-data)\"}"
d=$(delta 'tracetrout_traces_ended_total{reason="destination"}')
[ "$d" = 3 ]
tap_ok $? "traces ended at the destination: +$d"
d=$(($(sum m1 tracetrout_traces_ended_total) - $(sum m0 tracetrout_traces_ended_total)))
[ "$d" = 3 ]
tap_ok $? "traces ended, every reason: +$d"
[ "$(value m0 tracetrout_traces_running)" = 0 ] && [ "$(value m1 tracetrout_traces_running)" = 0 ]
tap_ok $? "traces running: 0 before, 0 after"
d=$(delta "tracetrout_site_traces_ended_total$site") s=$(delta "tracetrout_site_traces_stored$site")
[ "$d" = 3 ] && [ "$s" = 3 ]
tap_ok $? "the app's site, www-data: +$d ended, +$s stored"
# Probes beyond the visitor's TTL are sent and answered (by the visitor) but belong to no hop:
# as many as the engine sends before it knows the distance, none on an idle machine.
p=$(delta tracetrout_probes_sent_total)
[ "$sent" -gt 0 ] && [ "$p" -ge "$sent" ]
tap_ok $? "probes sent: +$p, at least the $sent of the stored traces' hops"
d=$(delta tracetrout_replies_matched_total)
[ "$replies" -gt 0 ] && [ "$d" -ge "$replies" ] && [ "$d" -le "$p" ]
tap_ok $? "replies matched: +$d, at least the $replies the stored traces hold, at most one a probe"
bad=
for s in tracetrout_icmp_unmatched_total tracetrout_bad_packets_total tracetrout_traces_refused_total \
	tracetrout_requests_busy_total tracetrout_requests_overloaded_total \
	tracetrout_connections_forbidden_total tracetrout_db_errors_total tracetrout_queue_drops_total; do
	[ -n "$(value m1 "$s")" ] && [ "$(delta "$s")" = 0 ] || bad+=" $s=$(value m0 "$s")->$(value m1 "$s")"
done
[ -z "$bad" ]
tap_ok $? "nothing forged, malformed, refused, busy, forbidden, failed or dropped: +0 each" ||
	echo "$bad" | tap_diag
d=$(delta tracetrout_db_commit_duration_seconds_count)
inf=$(value m1 'tracetrout_db_commit_duration_seconds_bucket{le="+Inf"}')
[ "$d" -ge 3 ] && [ "$inf" = "$(value m1 tracetrout_db_commit_duration_seconds_count)" ]
tap_ok $? "the store's commits timed: +$d (one at least a trace), +Inf bucket = count"
[ "$(value m0 tracetrout_start_time_seconds)" = "$(value m1 tracetrout_start_time_seconds)" ] &&
	awk -v t="$(value m1 tracetrout_start_time_seconds)" -v now="$EPOCHREALTIME" \
		'BEGIN { exit !(t > now - 120 && t <= now) }'
tap_ok $? "the start time stays, and is this run's ($(value m1 tracetrout_start_time_seconds))"

# The memory of each process against what the kernel says of it now (within a factor of 2: it
# moves between the two reads).
broker_pid=$(netns_helper_pid)
engine_pid=$(pgrep -P "$broker_pid" | head -1)
rss_ok() {
	local got=$1 kb
	kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$2/status" 2>/dev/null)
	[ -n "$got" ] && [ -n "$kb" ] && [ "$got" -le $((kb * 2048)) ] && [ "$got" -ge $((kb * 512)) ]
}
b=$(value m1 'tracetrout_resident_memory_bytes{process="broker"}')
e=$(value m1 'tracetrout_resident_memory_bytes{process="engine"}')
rss_ok "$b" "$broker_pid" && rss_ok "$e" "$engine_pid"
tap_ok $? "resident memory: broker $b bytes (pid $broker_pid), engine $e bytes (pid $engine_pid)" ||
	grep -h '^VmRSS' "/proc/$broker_pid/status" "/proc/$engine_pid/status" | tap_diag
leak=
for w in "$NETNS_CLIENT4" "$NETNS_CLIENT6" "${ids[@]}"; do
	grep -qF "$w" "$NETNS_TMP/m1" && leak+=" $w"
done
[ -z "$leak" ]
tap_ok $? "no visitor's address, no trace id in the text" || echo "found:$leak" | tap_diag

# Other requests: HEAD, another path, another method.
head=$(nsx "$NETNS_SERVER" curl -sS -I --max-time 10 "http://127.0.0.1:$PORT/metrics" | tr -d '\r')
grep -q '^HTTP/1.1 200 OK$' <<<"$head" && grep -q '^Content-Length: [1-9][0-9]*$' <<<"$head"
tap_ok $? "HEAD: 200 with the body's length" || echo "$head" | tap_diag
c1=$(nsx "$NETNS_SERVER" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/")
c2=$(nsx "$NETNS_SERVER" curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
	"http://127.0.0.1:$PORT/metrics")
[ "$c1" = 404 ] && [ "$c2" = 405 ]
tap_ok $? "GET /: $c1; POST /metrics: $c2"

# What a hostile local user may send. raw.py MODE: one connection to the endpoint;
#   garbage: 64 KiB of random bytes, then what comes back
#   big:     a request line and an endless header, then what comes back
#   idle N:  N connections that send nothing, held until stdin closes
#   slow:    a request a byte every 300 ms, ten bytes in all, then closes
cat >"$NETNS_TMP/raw.py" <<'EOF'
import os, socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
def conn():
    return socket.create_connection(('127.0.0.1', port), timeout=15)
def answer(s):
    """The status line of what comes back until the endpoint closes."""
    try:
        data = s.makefile('rb').read()
    except OSError:
        data = b''
    return data.split(b'\r\n')[0].decode('ascii', 'replace')
if mode == 'garbage':
    s = conn()
    try:
        s.sendall(os.urandom(65536))
    except OSError:
        pass
    print(answer(s))
elif mode == 'big':
    s = conn()
    try:
        s.sendall(b'GET /metrics HTTP/1.1\r\nX-Pad: ' + b'a' * 65536)
    except OSError:
        pass
    print(answer(s))
elif mode == 'idle':
    held = [conn() for _ in range(int(sys.argv[3]))]
    print('holding', len(held), flush=True)
    sys.stdin.read()
elif mode == 'slow':
    s = conn()
    try:
        for b in b'GET /metri':
            s.sendall(bytes([b]))
            time.sleep(0.3)
        print('slow sent')
    except OSError as e:
        print('slow closed:', e)
EOF
raw() {
	nsx "$NETNS_SERVER" python3 "$NETNS_TMP/raw.py" "$PORT" "$@"
}
got=$(raw garbage)
[ "${got:0:12}" = "HTTP/1.1 400" ]
tap_ok $? "64 KiB of random bytes: $got"
got=$(raw big)
[ "${got:0:12}" = "HTTP/1.1 431" ]
tap_ok $? "an endless header: $got"

# Twenty idle connections (the endpoint has eight slots) and a slow request while a scrape and a
# trace go on: the older idle ones give way, and nothing waits for them.
mkfifo "$NETNS_TMP/hold"
raw idle 20 <"$NETNS_TMP/hold" >"$NETNS_TMP/idle.out" 2>&1 &
idle_pid=$!
exec 7>"$NETNS_TMP/hold"
netns_on_cleanup "exec 7>&-; kill $idle_pid 2>/dev/null"
for ((i = 0; i < 50; i++)); do
	grep -q holding "$NETNS_TMP/idle.out" && break
	sleep 0.1
done
raw slow >"$NETNS_TMP/slow.out" 2>&1 &
slow_pid=$!
start=${EPOCHREALTIME/[.,]/}
code=$(scrape m2)
ms=$(((${EPOCHREALTIME/[.,]/} - start) / 1000))
[ "$code" = 200 ] && [ "$ms" -lt 2000 ]
tap_ok $? "a scrape behind 20 idle connections and a slow one: $code in $ms ms" ||
	sys_show "$NETNS_TMP/idle.out" "$NETNS_TMP/m2.err"
sys_trace 6 t3
check_hops 6 "$NETNS_TMP/t3" "a trace meanwhile, IPv6: exact"
wait "$slow_pid"
exec 7>&-
wait "$idle_pid"
kill -0 "$broker_pid" 2>/dev/null && kill -0 "$engine_pid" 2>/dev/null
tap_ok $? "the helper's broker and engine are still the same processes"

code=$(scrape m3)
d=$(($(value m3 'tracetrout_traces_ended_total{reason="destination"}') - $(value m0 'tracetrout_traces_ended_total{reason="destination"}')))
[ "$code" = 200 ] && [ "$d" = 4 ]
tap_ok $? "a last scrape: $code, four traces at the destination since the first"
promtool check metrics <"$NETNS_TMP/m3" >"$NETNS_TMP/promtool3" 2>&1
tap_ok $? "promtool accepts it" || sys_show "$NETNS_TMP/promtool3"
grep -q 'broker: metrics at http://127.0.0.1:9470/metrics' "$NETNS_TMP/serve.log" &&
	grep -q 'broker: metrics at http://\[::1\]:9470/metrics' "$NETNS_TMP/serve.log"
tap_ok $? "the log says where the metrics are" || sys_show "$NETNS_TMP/serve.log"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
