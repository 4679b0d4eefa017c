#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A lossy path (issue 12): router 2 of 4 drops every tenth packet it forwards (netns_build -d 2,
# deterministic: nft numgen; TCP SYNs spared), probes and their answers among them, IPv4 and
# IPv6 together on one counter. With HOP_TIMEOUT=3s every hop list is exact (a lost probe is a
# gap in its hop's RTTs, never a silent hop) and no trace waits for HOP_TIMEOUT: each is done
# within PATH_LOSS_MAX_MS (1500 ms; a trace takes a few ms, the adaptive wait for a lost probe
# about 50, TCP's own recovery of a lost request or response segment some 200). The drops are
# checked to have hit probes or their answers: some answering hop of some trace lost a probe.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd nft
sys_require_build

traces=${PATH_TRACES:-8}
max_ms=${PATH_LOSS_MAX_MS:-1500}
probes=3	# 1 + HOP_RETRIES (2, the default)

tap_plan 7
netns_build -n 4 -d 2 || { echo "Bail out! cannot build the network"; exit 1; }
HOP_TIMEOUT=3s HOP_RETRIES=$((probes - 1)) netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=3s)" || sys_show "$NETNS_TMP/serve.log"

dropped0=$(netns_dropped 2)
files=()
for fam in 4 6; do
	sys_traces "$fam" "$traces" "$max_ms" "router 2 dropping every tenth packet"
	files+=("${SYS_TRACE_FILES[@]}")
done
dropped=$(($(netns_dropped 2) - dropped0))

# Traces with an answering hop that lost a probe: a probe or its answer was lost. The stored
# trace's text says how many probes each hop was sent and lost (a router that answered moments
# before gets one probe, not $probes: docs/engine.md, "ICMP budget and reuse").
short=0
for f in "${files[@]}"; do
	id=$(sys_header x-trace-id "$NETNS_TMP/$f.head")
	netns_trace 4 "/trace/$id?format=text" 2>/dev/null |
		awk '/^hop  address/ { t = 1; next } t && NF == 0 { exit } t && $2 != "*" && $4 > 0 { f = 1 }
			END { exit !f }' && short=$((short + 1))
done
[ "$dropped" -gt 0 ] && [ "$short" -gt 0 ]
tap_ok $? "router 2 dropped $dropped packets; $short of ${#files[@]} traces lost a probe or its answer" ||
	nsx "${NETNS_ROUTERS[2]}" nft list table inet tracetrout_loss | tap_diag

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly" || sys_show "$NETNS_TMP/serve.log"
sys_done
