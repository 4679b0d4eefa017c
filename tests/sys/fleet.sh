#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A fleet's PostgreSQL store (docs/fleet.md), with a PostgreSQL server of the test's own in the
# server's namespace (tests/lib/pg.sh): a helper with db = postgresql://tt_writer@localhost/...
# (a name, resolved off the broker's loop) migrates the empty database, streams traces as always
# and ships each finished trace, exact, with its vantage name and site; a visitor's deletion
# reaches the database; with the database stopped, traces still stream and wait in the journal,
# and reach the database once it is back, and the retention sweep deletes what expired;
# --check-config reads the schema version; two helpers starting together on an empty database
# migrate it once, under the advisory lock; a password in a URI on the command line and a URI of
# another kind are refused, by tracetroutd and by tracetrout-serve.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib/pg.sh
. "$top_srcdir/tests/lib/pg.sh"
sys_require lighttpd conntrack sqlite3 setpriv
sys_require_build
pg_available || {
	[ "${CI:-}" = true ] && { echo "Bail out! PostgreSQL (Debian's postgresql) is missing"; exit 1; }
	tap_skip_all "PostgreSQL (Debian's postgresql) is not installed"
}

tap_plan 26
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_on_cleanup pg_cleanup
pg_start "$NETNS_SERVER"
tap_ok $? "a PostgreSQL server of the test's own runs in the server's namespace, an empty \
database owned by a plain role"
journal=$NETNS_TMP/state/journal.db
# Over TCP to a name ("localhost"), which the broker resolves off its loop (resolve.c).
NETNS_HELPER_OPTS="$NETNS_NO_LIMITS --vantage vantage-a" \
	netns_serve_start "$top_builddir" --db "$PG_URI_TCP" --journal "$journal"
tap_ok $? "tracetrout-serve runs with db = $PG_URI_TCP"

# pg_hops ID: the stored trace's hop list as netns_hops_text writes it ("TTL ADDRESS", "TTL *").
pg_hops() {
	pg_sql "SELECT h.ttl || ' ' || coalesce(host((SELECT r.addr FROM replies r
		WHERE r.trace_seq = h.trace_seq AND r.ttl = h.ttl ORDER BY r.idx LIMIT 1)), '*')
		FROM hops h JOIN traces t ON t.seq = h.trace_seq WHERE t.id = '$1' ORDER BY h.ttl"
}

# pg_wait ID SECONDS: until the trace is in the database.
pg_wait() {
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		[ "$(pg_sql "SELECT count(*) FROM traces WHERE id = '$1'" 2>/dev/null)" = 1 ] && return 0
		sleep 0.2
	done
	return 1
}

declare -A id
for fam in 4 6; do
	sys_trace "$fam" t$fam
	check_hops "$fam" "$NETNS_TMP/t$fam" "IPv$fam: the trace streams as without PostgreSQL"
	id[$fam]=$(sys_header x-trace-id "$NETNS_TMP/t$fam.head")
done
for fam in 4 6; do
	pg_wait "${id[$fam]}" 20 && [ "$(pg_hops "${id[$fam]}")" = "$(netns_hops_text "$fam")" ]
	tap_ok $? "IPv$fam: the finished trace reaches PostgreSQL with its exact hop list" || {
		pg_hops "${id[$fam]}" | tap_diag
		sys_show "$NETNS_TMP/serve.log"
	}
done
row=$(pg_sql "SELECT vantage, site, uid, reason, client_prefix FROM traces WHERE id = '${id[4]}'")
site=$(getent passwd "$(cut -d'|' -f3 <<<"$row")" | cut -d: -f1)
[ -n "$site" ] && [ "$row" = "vantage-a|$site|$(cut -d'|' -f3 <<<"$row")|destination|f" ]
tap_ok $? "the stored trace names its vantage point, and its site by the asking user's name ($row)"
[ "$(pg_sql "SELECT max(version) FROM tracetrout_schema")" = 1 ] &&
	[ "$(pg_sql "SELECT tableowner FROM pg_tables WHERE tablename = 'traces'")" = tt_writer ]
tap_ok $? "the helper migrated the empty database to schema 1, as the writer role"
[ "$(sqlite3 "$journal" "SELECT count(*) FROM traces WHERE ship IS NOT NULL")" = 0 ]
tap_ok $? "the journal keeps nothing waiting once PostgreSQL has the traces"

out=$("$top_builddir/helper/tracetroutd" --check-config -d --db "$PG_URI" --journal "$journal" 2>&1)
tap_ok $? "--check-config reaches the database" || tap_diag <<<"$out"
grep -q "schema version 1, current" <<<"$out"
tap_ok $? "--check-config says which schema version it found" || tap_diag <<<"$out"

# A permalink another server of the fleet made (vantage-b: the IPv4 trace's rows under a new
# id), fetched from PostgreSQL by this one; one of another site's is as unknown as no trace.
# pg_copy ID NEWID VANTAGE SITE: the trace's rows again, as another server would have stored them.
pg_copy() {
	pg_sql "WITH t AS (INSERT INTO traces (id, vantage, site, uid, family, client, cport, server,
		sport, started_at, ended_at, reason, hops, duration_us, token, client_prefix, proxy)
		SELECT '$2', '$3', '$4', 4242, family, client, cport, server, sport, started_at,
		ended_at, reason, hops, duration_us, token, client_prefix, proxy FROM traces
		WHERE id = '$1' RETURNING seq), o AS (SELECT seq FROM traces WHERE id = '$1'),
		h AS (INSERT INTO hops SELECT t.seq, ttl, sent, reused_addr, reused_age_ms
		FROM hops, t, o WHERE trace_seq = o.seq)
		INSERT INTO replies SELECT t.seq, ttl, idx, addr, rtt_us, kind, code, reply_ttl,
		quoted_ttl, size, ext, edst, mpls, flags FROM replies, t, o WHERE trace_seq = o.seq" \
		>/dev/null
}
site=$(cut -d'|' -f2 <<<"$row")
pg_copy "${id[4]}" 0123456789abcdef0123456789abcdef vantage-b "$site"
pg_copy "${id[4]}" 00000000000000000000000000000bad vantage-b other-site
code=$(netns_trace 4 /trace/0123456789abcdef0123456789abcdef -o "$NETNS_TMP/fetched" \
	-w '%{http_code}')
[ "$code" = 200 ] && [ "$(netns_hops <"$NETNS_TMP/fetched")" = "$(netns_hops_text 4)" ] &&
	[ "$(sqlite3 "$journal" "SELECT count(*) FROM traces
		WHERE id = '0123456789abcdef0123456789abcdef'")" = 0 ]
tap_ok $? "another server's permalink opens here, exact, fetched from PostgreSQL and not kept \
($code)" ||
	sys_show "$NETNS_TMP/fetched" "$NETNS_TMP/serve.log"
netns_trace 4 "/trace/0123456789abcdef0123456789abcdef?format=text" -o "$NETNS_TMP/fetched.txt"
netns_trace 4 "/trace/0123456789abcdef0123456789abcdef?format=atlas" -o "$NETNS_TMP/fetched.atlas"
netns_trace 4 /trace/0123456789abcdef0123456789abcdef -H 'Accept: text/html' \
	-o "$NETNS_TMP/fetched.html"
jq -se 'length == 5 and all(.vantage == "vantage-b")' "$NETNS_TMP/fetched" >/dev/null &&
	grep -q 'Vantage point: <strong class="vantage">vantage-b</strong>' "$NETNS_TMP/fetched.html" &&
	grep -qx "vantage: vantage-b" "$NETNS_TMP/fetched.txt" &&
	jq -e '."x-vantage" == "vantage-b"' "$NETNS_TMP/fetched.atlas" >/dev/null &&
	jq -se 'length == 5 and all(.vantage == "vantage-a")' "$NETNS_TMP/t4" >/dev/null
tap_ok $? "the page, JSON lines, text and Atlas name the vantage point that traced it; a live \
trace its own" ||
	sys_show "$NETNS_TMP/fetched" "$NETNS_TMP/fetched.txt" "$NETNS_TMP/fetched.atlas" "$NETNS_TMP/t4"
code=$(netns_trace 4 /trace/00000000000000000000000000000bad -o /dev/null -w '%{http_code}')
code2=$(netns_trace 4 /trace/000000000000000000000000000000ff -o /dev/null -w '%{http_code}')
[ "$code" = 404 ] && [ "$code2" = 404 ]
tap_ok $? "another site's is not found ($code), as no trace is ($code2)"

# The visitor's history from every vantage point: this server's trace and the other's, not the
# other site's; the other server's rows stay here only while the answer is written.
code=$(netns_trace 4 "/history?format=json" -o "$NETNS_TMP/history" -w '%{http_code}')
[ "$code" = 200 ] && jq -e '[.traces[].vantage] | sort == ["vantage-a", "vantage-b"]' \
	"$NETNS_TMP/history" >/dev/null &&
	[ "$(sqlite3 "$journal" "SELECT count(*) FROM traces WHERE vantage IS NOT NULL")" = 0 ]
tap_ok $? "/history lists the visitor's traces from both vantage points, and keeps none ($code)" ||
	sys_show "$NETNS_TMP/history" "$NETNS_TMP/serve.log"

# The same over the broker's socket, a page of one: one ITEM, and more=1 for the other.
page=$(python3 - "$NETNS_TMP/run/tracetroutd.sock" "$NETNS_CLIENT4" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
f.readline()
f.write(("HISTORY client=%s limit=1\n" % sys.argv[2]).encode())
f.flush()
for line in f:
    print(line.decode().split()[0], *[w for w in line.decode().split() if w.startswith("more=")])
    if line.startswith(b"LIST") or line.startswith(b"ERROR"):
        break
PY
)
[ "$(tr '\n' ' ' <<<"$page")" = "ITEM LIST more=1 " ]
tap_ok $? "HISTORY limit=1 answers one trace of the two, and says more exist" || tap_diag <<<"$page"

# Another server's trace deleted through this one, with the token the visitor had from it (the
# copy kept the IPv4 trace's): a wrong token is refused, the right one deletes it there.
tok4=$(sys_header x-trace-delete-token "$NETNS_TMP/t4.head")
bad=$(netns_trace 4 /trace/0123456789abcdef0123456789abcdef -X DELETE \
	-H "X-Delete-Token: ${id[4]}" -o /dev/null -w '%{http_code}')
code=$(netns_trace 4 /trace/0123456789abcdef0123456789abcdef -X DELETE \
	-H "X-Delete-Token: $tok4" -o /dev/null -w '%{http_code}')
for ((i = 0; i < 50; i++)); do
	[ "$(pg_sql "SELECT count(*) FROM traces WHERE id = '0123456789abcdef0123456789abcdef'")" = 0 ] &&
		break
	sleep 0.2
done
[ "$bad" = 403 ] && [ "$code" = 200 ] &&
	[ "$(pg_sql "SELECT count(*) FROM traces WHERE id = '0123456789abcdef0123456789abcdef'")" = 0 ]
tap_ok $? "another server's trace: a wrong token refused ($bad), the right one deletes it in \
PostgreSQL ($code)" || sys_show "$NETNS_TMP/serve.log"

# A visitor's deletion reaches the database too.
code=$(netns_trace 6 "/trace/${id[6]}" -X DELETE -H "X-Delete-Token: \
$(sys_header x-trace-delete-token "$NETNS_TMP/t6.head")" -o /dev/null -w '%{http_code}')
for ((i = 0; i < 50; i++)); do
	[ "$(pg_sql "SELECT count(*) FROM traces WHERE id = '${id[6]}'")" = 0 ] && break
	sleep 0.2
done
[ "$code" = 200 ] && [ "$(pg_sql "SELECT count(*) FROM traces WHERE id = '${id[6]}'")" = 0 ] &&
	[ "$(sqlite3 "$journal" "SELECT count(*) FROM ship_deletes")" = 0 ]
tap_ok $? "a trace its visitor deletes ($code) is deleted in PostgreSQL too, and nothing waits"

# A trace past retention, as another helper of the fleet stored it long ago.
pg_sql "INSERT INTO traces (id, vantage, site, uid, family, client, cport, server, sport,
	started_at, ended_at, reason, hops, duration_us, client_prefix) VALUES
	('0000000000000000000000000000000a', 'vantage-old', 'www-data', 33, 4, '10.77.0.9', 40000,
	'10.77.9.1', 8080, 1000, 2000, 'destination', 0, 1000, false)" >/dev/null

# The database away: traces run and stream, and wait in the journal until it is back.
pg_stop
sys_trace 4 down
check_hops 4 "$NETNS_TMP/down" "with PostgreSQL stopped, the trace still streams exact"
down=$(sys_header x-trace-id "$NETNS_TMP/down.head")
pg_resume
pg_wait "$down" 60 && [ "$(pg_hops "$down")" = "$(netns_hops_text 4)" ]
tap_ok $? "once PostgreSQL is back, the trace made meanwhile reaches it, exact" ||
	sys_show "$NETNS_TMP/serve.log"
for ((i = 0; i < 50; i++)); do
	[ "$(pg_sql "SELECT count(*) FROM traces WHERE vantage = 'vantage-old'")" = 0 ] && break
	sleep 0.2
done
[ "$(pg_sql "SELECT count(*) FROM traces WHERE vantage = 'vantage-old'")" = 0 ] &&
	[ "$(pg_sql "SELECT count(*) FROM traces WHERE id IN ('${id[4]}', '$down')")" = 2 ]
tap_ok $? "the retention sweep deletes the expired trace there, and only it"

# Two helpers that start together on an empty database, in namespaces of their own, while
# something else holds the migration lock: neither touches the schema until it is let go; then
# one migrates, the other finds the schema current, and neither fails.
pg_sql_db postgres "CREATE DATABASE race OWNER tt_writer" >/dev/null
"$PG_BIN/psql" -X -q -h "$PG_SOCK" -U postgres -d race -c "SELECT pg_advisory_lock(1416778866)" \
	-c "SELECT pg_sleep(3)" >/dev/null 2>&1 &
holder=$!
sleep 0.5
pids=()
for h in a b; do
	netns__add "$NETNS_TAG-$h" || break
	ip netns exec "$NETNS_TAG-$h" "$top_builddir/helper/tracetroutd" -d \
		--socket "$NETNS_TMP/race-$h.sock" --vantage "race-$h" \
		--db "postgresql:///race?host=$PG_SOCK&user=tt_writer" \
		--journal "$NETNS_TMP/race-$h/journal.db" >"$NETNS_TMP/race-$h.log" 2>&1 &
	# (the journal's directory is made for the broker's user, as a missing one is)
	pids+=($!)
done
sleep 1.5
[ "$(pg_sql_db race "SELECT to_regclass('traces') IS NULL")" = t ] && kill -0 "${pids[@]}"
tap_ok $? "two helpers wait for the migration lock another session holds, the schema untouched"
wait "$holder"
for ((i = 0; i < 100; i++)); do
	[ "$(cat "$NETNS_TMP"/race-[ab].log | grep -c 'fleet: connected, schema version 1')" = 2 ] &&
		break
	sleep 0.1
done
[ "$(cat "$NETNS_TMP"/race-[ab].log | grep -c 'fleet: connected, schema version 1')" = 2 ] &&
	[ "$(pg_sql_db race "SELECT count(*), max(version) FROM tracetrout_schema")" = "1|1" ] &&
	[ "$(cat "$NETNS_TMP"/race-[ab].log | grep -c 'fleet: migrating')" = 1 ] &&
	! grep -q "traces wait in the journal" "$NETNS_TMP"/race-[ab].log
tap_ok $? "then one migrates, the other finds schema 1, and neither fails" ||
	sys_show "$NETNS_TMP/race-a.log" "$NETNS_TMP/race-b.log"
kill "${pids[@]}" 2>/dev/null
wait "${pids[@]}" 2>/dev/null

# Refused settings: a password in a URI given on the command line, a URI of another kind.
out=$("$top_builddir/helper/tracetroutd" --check-config -d --db "postgresql://tt:secret@/x" 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "password on the command line" <<<"$out"
tap_ok $? "tracetroutd refuses a password in a URI on the command line" || tap_diag <<<"$out"
out=$("$top_builddir/helper/tracetroutd" --check-config -d --db "mysql://x/y" 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "a postgresql:// URI PostgreSQL" <<<"$out"
tap_ok $? "tracetroutd refuses a URI of another kind" || tap_diag <<<"$out"
out=$(cd "$NETNS_TMP" && "$top_builddir/tracetrout-serve" --db "mysql://x/y" --runtime-dir \
	"$NETNS_TMP/run2" 2>&1)
rc=$?
[ "$rc" != 0 ] && grep -q "postgresql:// URI PostgreSQL" <<<"$out" && [ ! -e "$NETNS_TMP/mysql:" ]
tap_ok $? "tracetrout-serve refuses it too, and makes no directory of it" || tap_diag <<<"$out"
