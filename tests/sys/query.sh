#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Operators' searches (docs/query.md): tracetrout-query over the real socket against traces the
# visitor made through the namespace routers, each filter alone (visitor and hop prefixes of
# both families, time, reason, site, changed after a router is renumbered) and the output
# formats; who may ask: root, an admin-users user, an admin-groups member, never a site's web
# user (its own group www-data), nor a site; an operator may not use a site's verbs; a QUERY
# that does not parse is refused and the helper goes on.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack setpriv jq
sys_require_build

tap_plan 26
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
if ! sys_user tt-ops || ! sys_user tt-ops2; then
	echo "Bail out! cannot make the users"
	exit 1
fi
getent group tt-opsgrp >/dev/null || {
	groupadd --system tt-opsgrp || { echo "Bail out! cannot make the group"; exit 1; }
	netns_on_cleanup "groupdel tt-opsgrp"
}
# Operators reach the socket through its mode here (the broker checks every caller anyway).
NETNS_HELPER_OPTS="$NETNS_NO_LIMITS --admin-users tt-ops --admin-groups tt-opsgrp \
--socket-mode 0666" netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs with admin-users and admin-groups"
sock=$NETNS_TMP/run/tracetroutd.sock
query=$top_builddir/helper/tracetrout-query

# q [OPTIONS...]: tracetrout-query as root; lines of its output.
q() {
	"$query" --socket "$sock" "$@" 2>&1
}
# ids [OPTIONS...]: the ids a query finds, newest first, one a line.
ids() {
	q --format json --limit 100 "$@" | jq -r .id
}

declare -a t4 t6
for i in 1 2; do
	sys_trace 4 "a$i"
	t4+=("$(sys_header x-trace-id "$NETNS_TMP/a$i.head")")
done
sys_trace 6 b1
t6+=("$(sys_header x-trace-id "$NETNS_TMP/b1.head")")
[ -n "${t4[0]}" ] && [ -n "${t4[1]}" ] && [ -n "${t6[0]}" ] &&
	[ "$(netns_hops <"$NETNS_TMP/a2")" = "$(netns_hops_text 4)" ]
tap_ok $? "the visitor made 2 IPv4 traces and 1 IPv6 trace, exact"

got=$(ids | tr '\n' ' ')
[ "$got" = "${t6[0]} ${t4[1]} ${t4[0]} " ]
tap_ok $? "root finds every trace, newest first ($got)"
line=$(q --format json --limit 1)
jq -e --arg id "${t6[0]}" --arg v "$NETNS_CLIENT6" '.id == $id and .visitor == $v and
	.site == "www-data" and .reason == "destination" and .hops == 5 and
	(.path | length) == 5 and .path[4] == [$v]' <<<"$line" >/dev/null
tap_ok $? "a JSON line names the visitor, the site, the end and the path" || tap_diag <<<"$line"
[ "$(q --count)" = 3 ] && [ "$(q --count --visitor 10.77.0.0/24)" = 2 ]
tap_ok $? "--count counts, with filters too"

# Prefixes: the visitor's, of both families, at their edges.
[ "$(ids --visitor 10.77.0.0/24 | tr '\n' ' ')" = "${t4[1]} ${t4[0]} " ] &&
	[ "$(ids --visitor "$NETNS_CLIENT4" | wc -l)" = 2 ] &&
	[ "$(ids --visitor 2001:db8:77::/64)" = "${t6[0]}" ] &&
	[ -z "$(ids --visitor 10.77.1.0/24)" ] && [ -z "$(ids --visitor 2001:db8:77:1::/64)" ] &&
	[ "$(ids --visitor 0.0.0.0/0 | wc -l)" = 2 ] && [ "$(ids --visitor ::/0 | wc -l)" = 1 ]
tap_ok $? "--visitor: an address, an IPv4 and an IPv6 prefix, /0 of each family, and none outside"

# Hops: router 2 answers from 10.77.2.1 and 2001:db8:77:2::1.
[ "$(ids --hop 10.77.2.1 | wc -l)" = 2 ] && [ "$(ids --hop 10.77.2.0/24 | wc -l)" = 2 ] &&
	[ "$(ids --hop 2001:db8:77:2::1)" = "${t6[0]}" ] &&
	[ "$(ids --hop 2001:db8:77::/48 | wc -l)" = 1 ] && [ -z "$(ids --hop 10.77.2.2)" ] &&
	[ "$(ids --hop "$NETNS_CLIENT4" | wc -l)" = 2 ]
tap_ok $? "--hop: a router's address and prefix in each family, the visitor's own, none else"

now_s=$(date +%s)
[ "$(ids --since 1h | wc -l)" = 3 ] && [ -z "$(ids --since "$(date -u -d @$((now_s + 3600)) +%Y-%m-%dT%H:%M:%SZ)")" ] &&
	[ -z "$(ids --until 2000-01-01)" ] && [ "$(ids --until "$(date -u -d @$((now_s + 86400)) +%Y-%m-%d)" | wc -l)" = 3 ]
tap_ok $? "--since and --until: a duration ago, a UTC time, dates"
[ "$(ids --reason destination | wc -l)" = 3 ] && [ -z "$(ids --reason max-hops)" ] &&
	[ "$(ids --site www-data | wc -l)" = 3 ] && [ -z "$(ids --site tt-ops)" ] &&
	[ -z "$(ids --site no-such-site)" ]
tap_ok $? "--reason and --site"
[ "$(q --format links --limit 2 --base-url https://www.example.com | tr '\n' ' ')" = \
	"https://www.example.com/trace/${t6[0]} https://www.example.com/trace/${t4[1]} " ]
tap_ok $? "--format links, --limit 2"
out=$(q --limit 1)
[ "$(sed -n 1p <<<"$out" | awk '{ print $1, $2 }')" = "STARTED (UTC)" ] &&
	grep -q "www-data .* destination .* 5 .* ${t6[0]}$" <<<"$out" &&
	grep -q "^    path 2001:db8:77:4::1,2001:db8:77:3::1,2001:db8:77:2::1,2001:db8:77:1::1,$NETNS_CLIENT6$" <<<"$out"
tap_ok $? "the table: a header, a line a trace, its path" || tap_diag <<<"$out"

# A path that changes: router 2 renumbered (10.77.2.1 becomes 10.77.2.3; router 3 routes
# toward the visitor through the new address). The next IPv4 trace differs at TTL 3.
[ -z "$(ids --changed)" ]
tap_ok $? "--changed: nothing changed yet (a visitor's first trace has nothing to differ from)"
r2=${NETNS_ROUTERS[2]} r3=${NETNS_ROUTERS[3]}
nsx "$r2" sysctl -qw net.ipv4.conf.all.promote_secondaries=1 net.ipv4.conf.tosrv.promote_secondaries=1 &&
	ip -n "$r2" addr add 10.77.2.3/24 dev tosrv && ip -n "$r2" addr del 10.77.2.1/24 dev tosrv &&
	ip -n "$r3" route replace 10.77.0.0/24 via 10.77.2.3 &&
	ip -n "$r3" route replace 10.77.1.0/24 via 10.77.2.3
tap_ok $? "router 2 renumbered"
sys_trace 4 a3
t4+=("$(sys_header x-trace-id "$NETNS_TMP/a3.head")")
[ "$(netns_hops <"$NETNS_TMP/a3" | sed -n 3p)" = "3 10.77.2.3" ]
tap_ok $? "the next trace shows the new address at TTL 3" || sys_show "$NETNS_TMP/a3"
[ "$(ids --changed)" = "${t4[2]}" ] && [ "$(ids --hop 10.77.2.3)" = "${t4[2]}" ] &&
	[ "$(q --count --changed)" = 1 ]
tap_ok $? "--changed finds it, and only it; --hop finds the new address"

# Who may ask. tt-ops is in admin-users, tt-ops2 in the group admin-groups names. www-data
# itself, or anyone whose own group is www-data, is a site's web user; a member of www-data is a
# site.
as() {
	local user=$1 group=$2 groups=$3
	shift 3
	setpriv --reuid="$user" --regid="$group" --groups="$groups" "$query" --socket "$sock" "$@" 2>&1
}
[ "$(as tt-ops tt-ops tt-ops --count)" = 4 ]
tap_ok $? "an admin-users user may search"
[ "$(as tt-ops2 tt-ops2 tt-opsgrp --count)" = 4 ]
tap_ok $? "a member of an admin-groups group may search (a supplementary group)"
out=$(as www-data www-data www-data --count)
rc=$?
[ "$rc" = 1 ] && grep -q "forbidden" <<<"$out"
tap_ok $? "a site's web user may not ($out)"
out=$(as tt-ops www-data www-data --count)
rc=$?
[ "$rc" = 1 ] && grep -q "forbidden" <<<"$out"
tap_ok $? "nor an admin-users user whose own group is the site's web group ($out)"
out=$(as tt-ops2 tt-ops2 www-data --count)
rc=$?
[ "$rc" = 1 ] && grep -q "forbidden" <<<"$out"
tap_ok $? "nor a member of the sites' group alone ($out)"

# bsay USER GROUP GROUPS LINE: LINE over the socket as that user; the answer's first line.
bsay() {
	setpriv --reuid="$1" --regid="$2" --groups="$3" /usr/bin/python3 - "$sock" "$4" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
f.readline()
f.write((sys.argv[2] + "\n").encode())
f.flush()
print(f.readline().decode().strip())
PY
}
out=$(bsay tt-ops tt-ops tt-ops "GET id=${t4[0]}")
[[ $out == "ERROR code=forbidden "* ]]
tap_ok $? "an operator who is not a site may not use a site's verbs ($out)"
out=$(bsay tt-ops2 tt-ops2 www-data,tt-opsgrp "GET id=${t4[0]}")
[[ $out == "ERROR code=unknown-trace "* ]]
tap_ok $? "one who is both may, as its own site: www-data's trace is not its ($out)"
out=$(bsay 0 0 0 "QUERY visitor=10.77.0.0/99")
[[ $out == "ERROR code=bad-request "* ]] && [ "$(q --count)" = 4 ]
tap_ok $? "a QUERY that does not parse is refused, and the helper goes on ($out)"
out=$(q --visitor 10.77.0.0/33)
rc=$?
[ "$rc" = 1 ] && grep -q "prefix length must be from 0 to 32" <<<"$out"
tap_ok $? "tracetrout-query refuses a bad prefix itself ($out)"
out=$(q --since yesterday)
rc=$?
[ "$rc" = 1 ] && grep -q "not a date" <<<"$out"
tap_ok $? "... and a time it cannot read ($out)"
netns_serve_stop && ! grep -q "tracetroutd failed" "$NETNS_TMP/serve.log"
tap_ok $? "tracetrout-serve stops cleanly, its helper never having failed" ||
	grep "tracetroutd failed\|Bad system call" "$NETNS_TMP/serve.log" | tap_diag
sys_done
