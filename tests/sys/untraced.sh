#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Untraced traffic never enters the queue: the NFQUEUE's id_sequence (per network namespace,
# /proc/net/netfilter/nfnetlink_queue) and the rules' counters do not move during downloads and
# requests that nobody traces, move during a trace, and stop moving once that trace ended and its
# connection left the queue, even for a download on the same (kept-alive) connection.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd sha256sum
sys_require_build

tap_plan 8
netns_build -n 2 || { echo "Bail out! cannot build the network"; exit 1; }
mkdir -p "$NETNS_TMP/www"
head -c 5M /dev/urandom >"$NETNS_TMP/www/big"
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"

for ((i = 0; i < 50; i++)); do
	[ -n "$(netns_queue_seq "$NETNS_SERVER")" ] && break
	sleep 0.1
done
seq0=$(netns_queue_seq "$NETNS_SERVER")
[ -n "$seq0" ]
tap_ok $? "tracetroutd is bound to queue 7470 in the server namespace (id_sequence $seq0)" ||
	nsx "$NETNS_SERVER" cat /proc/net/netfilter/nfnetlink_queue | tap_diag

state() {
	echo "$(netns_queue_seq "$NETNS_SERVER") $(sys_rule_packets "$NETNS_SERVER" TRACETROUT_OUT) $(sys_rule_packets "$NETNS_SERVER" TRACETROUT_IN)"
}

s0=$(state)
ok=1
for fam in 4 6; do
	netns_trace "$fam" /files/big -o "$NETNS_TMP/got" && cmp -s "$NETNS_TMP/got" "$NETNS_TMP/www/big" || ok=0
	for i in 1 2 3 4 5; do
		netns_trace "$fam" /files/ping -o /dev/null || ok=0
	done
done
s1=$(state)
[ "$ok" = 1 ]
tap_ok $? "untraced downloads and requests succeed"
[ "$s1" = "$s0" ]
tap_ok $? "nothing of them was queued or hit a queue rule (id_sequence, out, in: $s0 -> $s1)"

sys_trace 4 trace
s2=$(state)
read -r q1 _ <<<"$s1"
read -r q2 _ <<<"$s2"
traced=$((q2 - q1))
[ "$traced" -gt 0 ]
tap_ok $? "a trace does use the queue ($traced packets)"

# One connection: the trace, then, once its connection left the queue (the trace ended and
# drained the answers to its last probes: at most HOP_TIMEOUT, 1 s, after its end), the 5 MB
# download. The client asks for the download only when conntrack shows the mark gone, so that
# the test measures the queue, not how soon a slow machine sends the second request.
nsx "$NETNS_VISITOR" python3 - "$NETNS_SERVER4" "$NETNS_PORT" "$NETNS_TMP" "$NETNS_SERVER" <<'PY' \
	>"$NETNS_TMP/keep" 2>&1
import http.client, subprocess, sys, time
host, port, tmp, server_ns = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = http.client.HTTPConnection(host, port, timeout=60)
c.request("GET", "/")
open(tmp + "/trace2", "wb").write(c.getresponse().read())
lport = c.sock.getsockname()[1]
start = time.monotonic()
while time.monotonic() - start < 10:
    marked = subprocess.run(["ip", "netns", "exec", server_ns, "conntrack", "-L", "-p", "tcp",
        "--sport", str(lport), "-m", "0x100000/0x100000"], capture_output=True).stdout
    if not marked.strip():
        break
    time.sleep(0.01)
print("released %d" % ((time.monotonic() - start) * 1000) if not marked.strip() else "marked")
c.request("GET", "/files/big")
open(tmp + "/got", "wb").write(c.getresponse().read())
print("port %d %d" % (lport, c.sock.getsockname()[1]))
PY
st=$?
s3=$(state)
read -r q3 _ <<<"$s3"
both=$((q3 - q2))
read -r _ released <<<"$(grep '^released\|^marked' "$NETNS_TMP/keep")"
read -r _ p1 p2 <<<"$(grep '^port' "$NETNS_TMP/keep")"
[ "$st" = 0 ] && [ -n "$p1" ] && [ "$p1" = "$p2" ] && [ -n "$released" ] &&
	cmp -s "$NETNS_TMP/got" "$NETNS_TMP/www/big" && grep -q "\"ttl\"" "$NETNS_TMP/trace2"
tap_ok $? "a trace then a download on one kept-alive connection succeed; the connection left the queue ${released:-?} ms after the trace's end" ||
	sys_show "$NETNS_TMP/keep" "$NETNS_TMP/trace2"
# 5 MB queued would be thousands of packets; a trace alone was $traced.
[ "$both" -le $((traced + 100)) ]
tap_ok $? "the download after the trace was not queued (trace + download: $both packets, trace alone: $traced)" ||
	sys_show "$NETNS_TMP/trace2" "$NETNS_TMP/serve.log"

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
