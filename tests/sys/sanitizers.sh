#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Many traces through one tracetroutd (SANITIZER_TRACES, 100: IPv4 and IPv6 in turn), every hop
# list exact, then a clean stop. In a build with --enable-sanitizers the processes exit under
# ASan, whose LeakSanitizer reports any leak at exit; the run then fails on any sanitizer report:
# in tracetrout-serve's log ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime
# error:"), or as a file in TRACETROUT_SANITIZER_DIR, where ASAN_OPTIONS/UBSAN_OPTIONS
# log_path=... send the reports of every process (it sees those of the tests before it too;
# .ci/run checks the directory again after the whole run). In a normal build it checks the
# log and the engine's memory growth.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

TRACES=${SANITIZER_TRACES:-100}
SAN_DIR=${TRACETROUT_SANITIZER_DIR:-}

tap_plan 6
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
# No rate limit: one visitor asks for all the traces in a row.
read -r -a limits <<<"$NETNS_NO_LIMITS"
netns_serve_start "$top_builddir" -- "${limits[@]}"
tap_ok $? "tracetrout-serve runs" || exit 1

hpid=$(netns_helper_pid)
epid=$(awk '{ print $1 }' "/proc/$hpid/task/$hpid/children" 2>/dev/null)
rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}
# After what is made once is made: a first trace of each family, then traces for 2 s. The
# engine holds each ended trace (up to 52 KiB) through its late answers' window, HOP_TIMEOUT (1
# s): its heap grows with how many traces end in a second, here up to 3.5 MiB in the first one,
# and must not grow past that.
sys_trace 4 warm4
sys_trace 6 warm6
warm_end=$((SECONDS + 2))
while [ "$SECONDS" -lt "$warm_end" ]; do
	sys_trace 4 warm4
	sys_trace 6 warm6
done
rss_b0=$(rss "$hpid")
rss_e0=$(rss "$epid")

bad=0
start=$SECONDS
for ((i = 1; i <= TRACES; i++)); do
	fam=$((i % 2 ? 4 : 6))
	sys_trace "$fam" t
	if [ "$(netns_hops <"$NETNS_TMP/t" 2>&1)" != "$(netns_hops_text "$fam")" ]; then
		bad=$((bad + 1))
		[ "$bad" -le 3 ] && { echo "trace $i (IPv$fam):"; cat "$NETNS_TMP/t" "$NETNS_TMP/t.err"; } | tap_diag
	fi
done
tap_ok "$bad" "$TRACES traces in $((SECONDS - start)) s, every hop list exact ($bad wrong)"

rss_b1=$(rss "$hpid")
rss_e1=$(rss "$epid")
echo "# RSS over $TRACES traces: broker ${rss_b0:-?} -> ${rss_b1:-?} KiB, engine ${rss_e0:-?} -> ${rss_e1:-?} KiB"
if [ -n "$SAN_DIR" ] || [ -n "${TRACETROUTD:-}" ]; then
	# ASan keeps freed memory in quarantine, valgrind (a TRACETROUTD wrapper) counts its own:
	# RSS says nothing there, LeakSanitizer and valgrind do.
	tap_ok 0 "the engine's RSS over $TRACES traces # SKIP under ASan or a TRACETROUTD wrapper"
else
	# A leaked trace (80 KiB of engine state) would show as megabytes; allow allocator slack.
	[ -n "$rss_e1" ] && [ $((rss_e1 - rss_e0)) -le 1024 ]
	tap_ok $? "the engine's RSS grew by at most 1 MiB over $TRACES traces ($((${rss_e1:-0} - ${rss_e0:-0})) KiB)"
fi

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly (LeakSanitizer runs at the processes' exit)"

! grep -n 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:\|SUMMARY: .*Sanitizer' \
	"$NETNS_TMP/serve.log" >"$NETNS_TMP/reports"
tap_ok $? "no sanitizer report in tracetrout-serve's log" || sys_show "$NETNS_TMP/reports" "$NETNS_TMP/serve.log"

if [ -z "$SAN_DIR" ]; then
	tap_ok 0 "no sanitizer report files # SKIP TRACETROUT_SANITIZER_DIR is not set: not a sanitizer run"
else
	# Reports of the processes that ran until now, this test's and the earlier tests'.
	reports=$(find "$SAN_DIR" -type f -size +0 2>/dev/null)
	[ -z "$reports" ]
	tap_ok $? "no sanitizer report in $SAN_DIR" || {
		echo "$reports" | tap_diag
		# shellcheck disable=SC2086  # file names made by the sanitizers, no spaces
		sys_show $reports
	}
fi
sys_done
