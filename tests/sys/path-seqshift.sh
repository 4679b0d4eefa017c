#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A firewall that shifts the server's sequence numbers by a constant (pf's "modulate state"),
# the third router of four from the visitor (TTL 2 from the server), IPv4 and IPv6: it does
# not translate the quotes of ICMP errors, so the two routers beyond it quote every probe's seq
# shifted by that constant. The hop list is exact all the same, and no trace waits for a hop
# timeout. tests/lib/pathemu --seq-shift is the firewall; its counts show it shifted segments
# both ways.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd
sys_require_build

traces=${PATH_TRACES:-5}
max_ms=1500
shift_by=0x5a5a0000

tap_plan 8
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_pathemu 3 --seq-shift "$shift_by"
tap_ok $? "router 3 shifts the server's sequence numbers by $shift_by" ||
	sys_show "$NETNS_TMP/pathemu-3.log"
HOP_TIMEOUT=3s netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs (HOP_TIMEOUT=3s)"

for fam in 4 6; do
	sys_traces "$fam" "$traces" "$max_ms" "shifted by $shift_by"
done

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
read -r shifted unshifted < <(netns_pathemu_done 3 shifted unshifted)
[ "${shifted:-0}" -gt 0 ] && [ "${unshifted:-0}" -gt 0 ]
tap_ok $? "the firewall shifted ${shifted:-?} segments toward the visitor and ${unshifted:-?} back" ||
	sys_show "$NETNS_TMP/pathemu-3.log"
sys_done
