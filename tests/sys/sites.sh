#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Shared hosting: two sites, each with its own web server and app under its own user, share one
# helper. The administrator lets www-data (site A) and tt-site-b (site B) trace and not
# tt-site-c (site C). Each site traces the visitor exactly, sees only its own traces in /history
# and by permalink, and tracetroutd --status counts the traces per site. On the broker's socket
# itself, site B can neither delete site A's trace (with A's token or without it) nor learn from
# HISTORY before= that it exists.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack useradd userdel
sys_require_build

tap_plan 23
netns_build -n 2 || { echo "Bail out! cannot build the network"; exit 1; }
if ! sys_user tt-site-b || ! sys_user tt-site-c; then
	echo "Bail out! cannot create the sites' users"
	exit 1
fi

# The socket is open to every user, as on a shared host where sites share no group: the broker
# decides by each caller's uid (SO_PEERCRED).
read -r -a limits <<<"$NETNS_NO_LIMITS"
netns_serve_start "$top_builddir" --listen "$NETNS_SERVER4" --listen "$NETNS_SERVER6" \
	--listen 127.0.0.1 -- \
	"${limits[@]}" --socket-mode 0666 --allow-users tt-site-b --allow-groups www-data
tap_ok $? "tracetrout-serve runs site A (www-data) on $NETNS_SERVER4 and $NETNS_SERVER6"

b4=10.77.2.3 b6=2001:db8:77:2::3 c4=10.77.2.4 c6=2001:db8:77:2::4
sys_site_start siteb tt-site-b "$b4" "$b6"
tap_ok $? "site B runs as tt-site-b on $b4 and $b6"
sys_site_start sitec tt-site-c "$c4" "$c6"
tap_ok $? "site C runs as tt-site-c on $c4 and $c6"

sys_get "$NETNS_SERVER4" a1 / >/dev/null
check_hops 4 "$NETNS_TMP/a1" "site A, IPv4: the hop list is exact"
sys_get "$NETNS_SERVER4" a2 / >/dev/null
check_hops 4 "$NETNS_TMP/a2" "site A, IPv4, again: exact"
sys_get "$b4" b1 / >/dev/null
check_hops 4 "$NETNS_TMP/b1" "site B, IPv4: the hop list is exact"
sys_get "$b6" b2 / >/dev/null
check_hops 6 "$NETNS_TMP/b2" "site B, IPv6: the hop list is exact"
a1=$(sys_header x-trace-id "$NETNS_TMP/a1.head") a2=$(sys_header x-trace-id "$NETNS_TMP/a2.head")
b1=$(sys_header x-trace-id "$NETNS_TMP/b1.head")

code=$(sys_get "$c4" c1 /?format=text)
[ "$code" = 500 ] && grep -q "tracing is not set up correctly on this site" "$NETNS_TMP/c1"
tap_ok $? "site C, whose user is not allowed, gets 500 and a plain reason ($code)" ||
	sys_show "$NETNS_TMP/c1"
grep -q "refused a caller: uid $(id -u tt-site-c) " "$NETNS_TMP/serve.log"
tap_ok $? "the helper's log names the refused uid" || sys_show "$NETNS_TMP/serve.log"

# Each site's history of this visitor holds its own traces only.
sys_get "$NETNS_SERVER4" hista /history?format=json >/dev/null
jq -e --arg a1 "$a1" --arg a2 "$a2" '[.traces[].id] | sort == ([$a1, $a2] | sort)' \
	"$NETNS_TMP/hista" >/dev/null
tap_ok $? "site A's /history: its two traces, not site B's" || sys_show "$NETNS_TMP/hista"
sys_get "$b4" histb /history?format=json >/dev/null
jq -e --arg b1 "$b1" '[.traces[].id] == [$b1]' "$NETNS_TMP/histb" >/dev/null
tap_ok $? "site B's /history: its IPv4 trace only" || sys_show "$NETNS_TMP/histb"

code=$(sys_get "$b4" cross "/trace/$a1")
[ "$code" = 404 ]
tap_ok $? "site B cannot read site A's trace by its permalink ($code)"
code=$(sys_get "$NETNS_SERVER4" own "/trace/$a1?format=text")
[ "$code" = 200 ] && grep -q "^traceroute to $NETNS_CLIENT4 " "$NETNS_TMP/own"
tap_ok $? "site A reads it ($code)"

# The administrator's view: traces per site, by uid and user.
nsx "$NETNS_SERVER" "$top_builddir/helper/tracetroutd" --status \
	--socket "$NETNS_TMP/run/tracetroutd.sock" >"$NETNS_TMP/status" 2>&1
grep -qx "site uid=$(id -u www-data) user=www-data running=0 done=2 refused=0 stored=2" \
	"$NETNS_TMP/status"
tap_ok $? "tracetroutd --status: site A, two traces done and stored" || sys_show "$NETNS_TMP/status"
grep -qx "site uid=$(id -u tt-site-b) user=tt-site-b running=0 done=2 refused=0 stored=2" \
	"$NETNS_TMP/status"
tap_ok $? "... site B, two" || sys_show "$NETNS_TMP/status"
! grep -q "user=tt-site-c" "$NETNS_TMP/status"
tap_ok $? "... and no line for site C, which never traced"

# --- The broker's socket itself, as each site's user: what the app would not ask.
sock=$NETNS_TMP/run/tracetroutd.sock
# ask_as USER LINE...: broker_ask as USER and its group.
ask_as() {
	local user=$1
	shift
	broker_ask "$sock" as "$user" "$(id -gn "$user")" "$@"
}
a1_token=$(sys_header x-trace-delete-token "$NETNS_TMP/a1.head")
out=$(ask_as tt-site-b "DELETE id=$a1 token=00000000000000000000000000000000")
grep -qx 'ERROR code=unknown-trace.*' <<<"$out"
tap_ok $? "site B deleting site A's trace without its token: unknown-trace, not bad-token (which would say it exists)" ||
	echo "$out" | tap_diag
out=$(ask_as tt-site-b "DELETE id=$a1 token=$a1_token")
grep -qx 'ERROR code=unknown-trace.*' <<<"$out"
tap_ok $? "... with A's own token: unknown-trace too" || echo "$out" | tap_diag
out=$(ask_as www-data "GET id=$a1")
grep -q "^STORED id=$a1 " <<<"$out"
tap_ok $? "site A's trace is still there" || echo "$out" | tap_diag

# A third trace of site A's, after site B's: B's HISTORY before= it must answer as for an id that
# does not exist (nothing), not with B's own traces older than it, which would tell B that A's
# trace exists and when it started.
sys_get "$NETNS_SERVER4" a3 / >/dev/null
a3=$(sys_header x-trace-id "$NETNS_TMP/a3.head")
out=$(ask_as tt-site-b "HISTORY client=$NETNS_CLIENT4 limit=21")
[ "$(grep '^ITEM ' <<<"$out" | sed 's/^ITEM id=\([0-9a-f]*\) .*/\1/')" = "$b1" ]
tap_ok $? "site B's HISTORY on the socket: its own trace only" || echo "$out" | tap_diag
unknown=$(ask_as tt-site-b "HISTORY client=$NETNS_CLIENT4 before=ffffffffffffffffffffffffffffffff limit=21")
out=$(ask_as tt-site-b "HISTORY client=$NETNS_CLIENT4 before=$a3 limit=21")
! grep -q '^ITEM ' <<<"$out" && [ "$out" = "$unknown" ]
tap_ok $? "site B's HISTORY before= site A's trace: as for an unknown id" ||
	{ echo "unknown id:"; echo "$unknown"; echo "A's trace:"; echo "$out"; } | tap_diag
out=$(ask_as www-data "HISTORY client=$NETNS_CLIENT4 before=$a3 limit=21")
[ "$(grep '^ITEM ' <<<"$out" | sed 's/^ITEM id=\([0-9a-f]*\) .*/\1/' | sort | paste -sd,)" = \
	"$(printf '%s\n' "$a1" "$a2" | sort | paste -sd,)" ]
tap_ok $? "site A's own HISTORY before= it: its two older traces" || echo "$out" | tap_diag

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
