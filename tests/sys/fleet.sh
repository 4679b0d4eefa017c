#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# A fleet's PostgreSQL store (docs/fleet.md): two whole servers, each its own namespace, web
# server and helper (A reaches the database over TCP to a name, resolved off the broker's loop;
# B over its unix socket), behind the same routers, write to one PostgreSQL server of the test's
# own (tests/lib/pg.sh). Each trace streams exact and reaches the database exact with its
# vantage point and site (site-names); a permalink made on one opens on the other; /history on
# either lists the visitor's traces from both; a deletion through one is not outlived by the
# other; with the database stopped, a stream of traces waits in the journal, across a restart of
# the helper, and reaches it once it is back, and past journal-max a trace is clearly not stored;
# a database that stops answering is dropped after db-timeout while traces still stream; STATUS
# and the metrics say it all; the retention sweep; --check-config; two helpers racing to migrate
# an empty database migrate it once, under the advisory lock; a password in a URI on the command
# line and a URI of another kind are refused.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../lib/pg.sh
. "$top_srcdir/tests/lib/pg.sh"
sys_require lighttpd conntrack sqlite3 setpriv promtool
sys_require_build
pg_available || {
	[ "${CI:-}" = true ] && { echo "Bail out! PostgreSQL (Debian's postgresql) is missing"; exit 1; }
	tap_skip_all "PostgreSQL (Debian's postgresql) is not installed"
}

tap_plan 46
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_second_server || { echo "Bail out! cannot add the second server"; exit 1; }
netns_on_cleanup pg_cleanup
pg_start "$NETNS_SERVER"
tap_ok $? "a PostgreSQL server of the test's own runs in server A's namespace, an empty \
database owned by a plain role"

# Server A: over TCP to "localhost", which the broker resolves off its loop (resolve.c); the web
# server's user named by its name. Server B: over the unix socket, the same user by its uid, at
# most 2 traces waiting. Both drop a database that answers nothing for 3 s.
www_uid=$(id -u www-data)
journal_a=$NETNS_TMP/state/journal.db
journal_b=$NETNS_TMP/state-b/journal.db
serve_a() {
	NETNS_HELPER_OPTS="$NETNS_NO_LIMITS --vantage vantage-a --site-names www-data=shop \
--db-timeout 3s --metrics 9470" netns_serve_start "$top_builddir" --db "$PG_URI_TCP" --journal "$journal_a"
}
serve_a
tap_ok $? "server A runs with db = $PG_URI_TCP"

# serve_b: tracetrout-serve in server B's namespace, as netns_serve_start runs A's.
serve_b() {
	local i opts
	read -r -a opts <<<"$NETNS_NO_LIMITS"
	mkdir -p "$NETNS_TMP/state-b"
	ip netns exec "$NETNS_SERVER_B" "$top_builddir/tracetrout-serve" --port "$NETNS_PORT" \
		--db "$PG_URI" --journal "$journal_b" --docroot "$NETNS_TMP/www" \
		--runtime-dir "$NETNS_TMP/run-b" -- "${opts[@]}" --vantage vantage-b \
		--site-names "$www_uid=shop" --journal-max 2 --db-timeout 3s \
		>>"$NETNS_TMP/serve-b.log" 2>&1 &
	for ((i = 0; i < 100; i++)); do
		[ -S "$NETNS_TMP/run-b/tracetroutd.sock" ] &&
			[ "$(nsx "$NETNS_SERVER_B" curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
				"http://127.0.0.1:$NETNS_PORT/files/ping")" = 200 ] && return 0
		sleep 0.1
	done
	sys_show "$NETNS_TMP/serve-b.log"
	return 1
}
serve_b
tap_ok $? "server B runs with db = $PG_URI"

# pg_hops ID: the stored trace's hop list as netns_hops_text writes it ("TTL ADDRESS", "TTL *").
pg_hops() {
	pg_sql "SELECT h.ttl || ' ' || coalesce(host((SELECT r.addr FROM replies r
		WHERE r.trace_seq = h.trace_seq AND r.ttl = h.ttl ORDER BY r.idx LIMIT 1)), '*')
		FROM hops h JOIN traces t ON t.seq = h.trace_seq WHERE t.id = '$1' ORDER BY h.ttl"
}

# within SECONDS CMD...: CMD until it succeeds, SECONDS at most (5 tries a second).
within() {
	local n=$(($1 * 5)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

# pg_count ID N: the database has N traces of that id.
# shellcheck disable=SC2317  # called through within
pg_count() {
	[ "$(pg_sql "SELECT count(*) FROM traces WHERE id = '$1'" 2>/dev/null)" = "$2" ]
}

# pg_wait ID SECONDS: until the trace is in the database.
pg_wait() {
	within "$2" pg_count "$1" 1
}

# pg_gone ID: until the database has no such trace (10 s at most).
pg_gone() {
	within 10 pg_count "$1" 0
}

# journal_empty FILE: until the journal holds no trace (10 s at most): a shipped trace leaves it
# once the helper has PostgreSQL's answer, a moment after the database has it.
journal_empty() {
	within 10 sqlite_is "$1" "SELECT count(*) FROM traces" 0
}

# sqlite_is FILE SQL VALUE: the SQLite file answers SQL with VALUE.
# shellcheck disable=SC2317  # called through within
sqlite_is() {
	[ "$(sqlite3 "$1" "$2")" = "$3" ]
}

# status SOCKET KEY: a counter of that helper's tracetroutd --status.
status() {
	"$top_builddir/helper/tracetroutd" --status --socket "$1" | awk -v k="$2" '$1 == k { print $2 }'
}
sock_a=$NETNS_TMP/run/tracetroutd.sock

# The visitor traced by both servers, each family.
declare -A id tok
srv_addr() {
	local -n a=NETNS_SERVER$1$2
	echo "$a"
}
for fam in 4 6; do
	for s in A B; do
		sfx=; [ $s = B ] && sfx=_B
		code=$(sys_get "$(srv_addr "$sfx" "$fam")" "t$s$fam" /)
		[ "$code" = 200 ] && [ "$(netns_hops <"$NETNS_TMP/t$s$fam")" = "$(netns_hops_text "$sfx$fam")" ]
		tap_ok $? "IPv$fam: server $s's trace streams exact ($code)" ||
			sys_show "$NETNS_TMP/t$s$fam" "$NETNS_TMP/serve.log" "$NETNS_TMP/serve-b.log"
		id[$s$fam]=$(sys_header x-trace-id "$NETNS_TMP/t$s$fam.head")
		tok[$s$fam]=$(sys_header x-trace-delete-token "$NETNS_TMP/t$s$fam.head")
	done
done
for fam in 4 6; do
	for s in A B; do
		sfx=; [ $s = B ] && sfx=_B
		pg_wait "${id[$s$fam]}" 20 &&
			[ "$(pg_hops "${id[$s$fam]}")" = "$(netns_hops_text "$sfx$fam")" ]
		tap_ok $? "IPv$fam: server $s's finished trace reaches PostgreSQL with its exact hop list" || {
			pg_hops "${id[$s$fam]}" | tap_diag
			sys_show "$NETNS_TMP/serve.log" "$NETNS_TMP/serve-b.log"
		}
	done
done
rows=$(pg_sql "SELECT vantage, site, uid, reason FROM traces WHERE id IN ('${id[A4]}', \
'${id[B6]}') ORDER BY vantage" | tr '\n' ' ')
[ "$rows" = "vantage-a|shop|$www_uid|destination vantage-b|shop|$www_uid|destination " ]
tap_ok $? "each row names its vantage point, and the site by site-names, by user name on one \
server and by uid on the other ($rows)"
[ "$(pg_sql "SELECT count(*), max(version) FROM tracetrout_schema")" = "1|1" ] &&
	[ "$(pg_sql "SELECT tableowner FROM pg_tables WHERE tablename = 'traces'")" = tt_writer ]
tap_ok $? "the helpers migrated the empty database to schema 1, once, as the writer role"
journal_empty "$journal_a" && journal_empty "$journal_b"
tap_ok $? "the journals keep no trace once PostgreSQL has them"

out=$("$top_builddir/helper/tracetroutd" --check-config -d --db "$PG_URI" --journal "$journal_a" 2>&1)
tap_ok $? "--check-config reaches the database" || tap_diag <<<"$out"
grep -q "schema version 1, current" <<<"$out"
tap_ok $? "--check-config says which schema version it found" || tap_diag <<<"$out"

# Permalinks across the fleet: B's opens on A, A's on B, exact, and neither is kept.
code=$(sys_get "$NETNS_SERVER4" fetchedB4 "/trace/${id[B4]}")
code2=$(sys_get "$NETNS_SERVER_B6" fetchedA6 "/trace/${id[A6]}")
[ "$code" = 200 ] && [ "$(netns_hops <"$NETNS_TMP/fetchedB4")" = "$(netns_hops_text _B4)" ] &&
	[ "$code2" = 200 ] && [ "$(netns_hops <"$NETNS_TMP/fetchedA6")" = "$(netns_hops_text 6)" ] &&
	[ "$(sqlite3 "$journal_a" "SELECT count(*) FROM traces")" = 0 ] &&
	[ "$(sqlite3 "$journal_b" "SELECT count(*) FROM traces")" = 0 ]
tap_ok $? "a permalink made on B opens on A, and one made on A on B, exact, and not kept \
($code, $code2)" ||
	sys_show "$NETNS_TMP/fetchedB4" "$NETNS_TMP/fetchedA6" "$NETNS_TMP/serve.log"
sys_get "$NETNS_SERVER4" fetched.txt "/trace/${id[B4]}?format=text" >/dev/null
sys_get "$NETNS_SERVER4" fetched.atlas "/trace/${id[B4]}?format=atlas" >/dev/null
sys_get "$NETNS_SERVER4" fetched.html "/trace/${id[B4]}" -H 'Accept: text/html' >/dev/null
jq -se 'length == 5 and all(.vantage == "vantage-b")' "$NETNS_TMP/fetchedB4" >/dev/null &&
	grep -q 'Vantage point: <strong class="vantage">vantage-b</strong>' "$NETNS_TMP/fetched.html" &&
	grep -qx "vantage: vantage-b" "$NETNS_TMP/fetched.txt" &&
	jq -e '."x-vantage" == "vantage-b"' "$NETNS_TMP/fetched.atlas" >/dev/null &&
	jq -se 'length == 5 and all(.vantage == "vantage-a")' "$NETNS_TMP/tA4" >/dev/null
tap_ok $? "the page, JSON lines, text and Atlas name the vantage point that traced it; a live \
trace its own" ||
	sys_show "$NETNS_TMP/fetchedB4" "$NETNS_TMP/fetched.txt" "$NETNS_TMP/fetched.atlas" \
		"$NETNS_TMP/tA4"

# Another site's trace (A's IPv4 rows again, under another id and site) is as unknown as none.
pg_sql "WITH t AS (INSERT INTO traces (id, vantage, site, uid, family, client, cport, server,
	sport, started_at, ended_at, reason, hops, duration_us, token, client_prefix, proxy)
	SELECT '00000000000000000000000000000bad', 'vantage-c', 'other-site', 4242, family, client,
	cport, server, sport, started_at, ended_at, reason, hops, duration_us, token, client_prefix,
	proxy FROM traces WHERE id = '${id[A4]}' RETURNING seq), o AS (SELECT seq FROM traces
	WHERE id = '${id[A4]}')
	INSERT INTO hops SELECT t.seq, ttl, sent, reused_addr, reused_age_ms
	FROM hops, t, o WHERE trace_seq = o.seq" >/dev/null
code=$(sys_get "$NETNS_SERVER4" other /trace/00000000000000000000000000000bad)
code2=$(sys_get "$NETNS_SERVER4" none /trace/000000000000000000000000000000ff)
[ "$code" = 404 ] && [ "$code2" = 404 ]
tap_ok $? "another site's is not found ($code), as no trace is ($code2)"

# The visitor's history from every vantage point, on either server, not the other site's.
for s in A B; do
	host=$NETNS_SERVER4 journal=$journal_a
	[ $s = B ] && host=$NETNS_SERVER_B4 journal=$journal_b
	code=$(sys_get "$host" "history$s" "/history?format=json")
	[ "$code" = 200 ] && jq -e --arg a "${id[A4]}" --arg b "${id[B4]}" \
		'[.traces[] | [.id, .vantage]] | sort == ([[$a, "vantage-a"], [$b, "vantage-b"]] | sort)' \
		"$NETNS_TMP/history$s" >/dev/null &&
		[ "$(sqlite3 "$journal" "SELECT count(*) FROM traces")" = 0 ]
	tap_ok $? "/history on server $s lists the visitor's traces from both vantage points, and \
keeps none ($code)" || sys_show "$NETNS_TMP/history$s" "$NETNS_TMP/serve.log"
done

# The same over the broker's socket, a page of one: one ITEM, and more=1 for the other.
page=$(python3 - "$sock_a" "$NETNS_CLIENT4" <<'PY'
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

# B's trace deleted through A, with the token the visitor had from B: a wrong token is refused,
# the right one deletes it in PostgreSQL, and B has no copy that outlives it.
bad=$(sys_get "$NETNS_SERVER4" del "/trace/${id[B4]}" -X DELETE -H "X-Delete-Token: ${id[B4]}")
code=$(sys_get "$NETNS_SERVER4" del "/trace/${id[B4]}" -X DELETE -H "X-Delete-Token: ${tok[B4]}")
pg_gone "${id[B4]}"
tap_ok $? "B's trace through A: a wrong token refused ($bad), the right one deletes it in \
PostgreSQL ($code)" || sys_show "$NETNS_TMP/serve.log"
[ "$bad" = 403 ] && [ "$code" = 200 ]
tap_ok $? "... answered 403 and 200"
code=$(sys_get "$NETNS_SERVER_B4" gone "/trace/${id[B4]}")
[ "$code" = 404 ]
tap_ok $? "B, which traced it, no longer has it either ($code)"

# A visitor's deletion on the server that traced it reaches the database too.
code=$(sys_get "$NETNS_SERVER6" del6 "/trace/${id[A6]}" -X DELETE -H "X-Delete-Token: ${tok[A6]}")
pg_gone "${id[A6]}" && [ "$code" = 200 ] &&
	[ "$(sqlite3 "$journal_a" "SELECT count(*) FROM ship_deletes")" = 0 ]
tap_ok $? "a trace its visitor deletes ($code) is deleted in PostgreSQL, and nothing waits"

[ "$(status "$sock_a" fleet_connected)" = 1 ] && [ "$(status "$sock_a" fleet_waiting)" = 0 ] &&
	[ "$(status "$sock_a" fleet_shipped)" = 2 ] && [ "$(status "$sock_a" fleet_failures)" = 0 ]
tap_ok $? "tracetroutd --status: connected, nothing waiting, 2 traces shipped, no failure" ||
	"$top_builddir/helper/tracetroutd" --status --socket "$sock_a" 2>&1 | tap_diag
# The same four in A's metrics (docs/metrics.md), which promtool accepts.
nsx "$NETNS_SERVER" curl -sS --max-time 10 -o "$NETNS_TMP/metrics" "http://127.0.0.1:9470/metrics"
[ "$(grep -E '^tracetrout_fleet_[a-z_]+ ' "$NETNS_TMP/metrics" | paste -sd' ')" = \
	"tracetrout_fleet_connected 1 tracetrout_fleet_traces_waiting 0 tracetrout_fleet_traces_shipped_total 2 tracetrout_fleet_failures_total 0" ] &&
	promtool check metrics <"$NETNS_TMP/metrics" >/dev/null 2>&1
tap_ok $? "its metrics: connected, nothing waiting, 2 shipped, no failure" ||
	grep fleet "$NETNS_TMP/metrics" | tap_diag

# A trace past retention, as another helper of the fleet stored it long ago.
pg_sql "INSERT INTO traces (id, vantage, site, uid, family, client, cport, server, sport,
	started_at, ended_at, reason, hops, duration_us, client_prefix) VALUES
	('0000000000000000000000000000000a', 'vantage-old', 'shop', 33, 4, '10.77.0.9', 40000,
	'10.77.9.1', 8080, 1000, 2000, 'destination', 0, 1000, false)" >/dev/null

# The database away: a stream of traces runs and streams exact, and waits in the journal, also
# across a restart of the helper, until the database is back; a permalink only the database
# holds is "try again", not "no such trace".
pg_stop
down=()
for ((i = 1; i <= 5; i++)); do
	sys_trace 4 "down$i"
	[ "$(netns_hops <"$NETNS_TMP/down$i")" = "$(netns_hops_text 4)" ] || break
	down+=("$(sys_header x-trace-id "$NETNS_TMP/down$i.head")")
done
[ "${#down[@]}" = 5 ]
tap_ok $? "with PostgreSQL stopped, a stream of 5 traces streams exact" ||
	sys_show "$NETNS_TMP/down$i" "$NETNS_TMP/serve.log"
code=$(sys_get "$NETNS_SERVER4" own "/trace/${down[0]}")
code2=$(sys_get "$NETNS_SERVER4" away "/trace/${id[A4]}")
[ "$code" = 200 ] && [ "$code2" = 503 ] &&
	[ "$(sys_header retry-after "$NETNS_TMP/away.head")" = 5 ]
tap_ok $? "a trace waiting in the journal opens ($code); a shipped one is 503 with Retry-After \
($code2)" || sys_show "$NETNS_TMP/away.head" "$NETNS_TMP/away"
[ "$(status "$sock_a" fleet_connected)" = 0 ] && [ "$(status "$sock_a" fleet_waiting)" = 5 ] &&
	[ "$(status "$sock_a" fleet_failures)" -ge 1 ]
tap_ok $? "tracetroutd --status: not connected, 5 waiting, a failure counted" ||
	"$top_builddir/helper/tracetroutd" --status --socket "$sock_a" 2>&1 | tap_diag
netns_serve_stop && serve_a
tap_ok $? "server A restarts with the database still away"
[ "$(sqlite3 "$journal_a" "SELECT count(*) FROM traces WHERE ship IS NOT NULL")" = 5 ]
tap_ok $? "... its 5 traces still wait in the journal"
pg_resume
ok=0
for t in "${down[@]}"; do
	pg_wait "$t" 60 && [ "$(pg_hops "$t")" = "$(netns_hops_text 4)" ] || ok=1
done
[ "$ok" = 0 ] && journal_empty "$journal_a"
tap_ok $? "once PostgreSQL is back, all 5 reach it, exact, and leave the journal" ||
	sys_show "$NETNS_TMP/serve.log"
within 10 pg_count 0000000000000000000000000000000a 0 &&
	[ "$(pg_sql "SELECT count(*) FROM traces WHERE id IN ('${id[A4]}', '${down[0]}')")" = 2 ]
tap_ok $? "the retention sweep deletes the expired trace there, and only it"

# Past journal-max (B: 2), with the database away: the third trace streams exact but is marked
# not stored; the first two reach the database once it is back.
pg_stop
for i in 1 2 3; do
	sys_get "$NETNS_SERVER_B4" "full$i" / >/dev/null
done
[ "$(netns_hops <"$NETNS_TMP/full3")" = "$(netns_hops_text _B4)" ] &&
	[ "$(sys_header x-trace-stored "$NETNS_TMP/full3.head")" = no ] &&
	[ -z "$(sys_header x-trace-stored "$NETNS_TMP/full2.head")" ]
tap_ok $? "B, 2 traces waiting: a third streams exact, marked not stored (X-Trace-Stored: no)" ||
	sys_show "$NETNS_TMP/full3.head" "$NETNS_TMP/full3" "$NETNS_TMP/serve-b.log"
sys_get "$NETNS_SERVER_B4" full4.txt "/?format=text" >/dev/null
grep -q "^note: this trace was not stored" "$NETNS_TMP/full4.txt"
tap_ok $? "... and the text says so" || sys_show "$NETNS_TMP/full4.txt"
pg_resume
full=()
for i in 1 2; do
	full+=("$(sys_header x-trace-id "$NETNS_TMP/full$i.head")")
done
pg_wait "${full[0]}" 60 && pg_wait "${full[1]}" 60
tap_ok $? "once PostgreSQL is back, B's two waiting traces reach it"

# A database that stops answering (every process of it stopped): traces still stream, quickly;
# the helper drops it after db-timeout (3 s), and ships once it answers again.
postmaster=$(head -n 1 "$PG_DIR/data/postmaster.pid")
pg_pids="$postmaster $(pgrep -d ' ' -P "$postmaster")"
# shellcheck disable=SC2086  # a list of pids
kill -STOP $pg_pids
timeouts=$(grep -c "no answer within db-timeout" "$NETNS_TMP/serve.log")
ms=$(sys_trace_ms 4 stalled / -D "$NETNS_TMP/stalled.head")
[ "$(netns_hops <"$NETNS_TMP/stalled")" = "$(netns_hops_text 4)" ] && [ "$ms" -lt 5000 ]
tap_ok $? "with the database stalled, a trace streams exact in $ms ms" ||
	sys_show "$NETNS_TMP/stalled" "$NETNS_TMP/serve.log"
stalled=$(sys_header x-trace-id "$NETNS_TMP/stalled.head")
# It leaves after hop-timeout + info-timeout + 1 s (4 s), and its batch has no answer in 3 s.
for ((i = 0; i < 300; i++)); do
	[ "$(grep -c "no answer within db-timeout" "$NETNS_TMP/serve.log")" -gt "$timeouts" ] && break
	sleep 0.1
done
[ "$(grep -c "no answer within db-timeout" "$NETNS_TMP/serve.log")" -gt "$timeouts" ]
tap_ok $? "the helper drops the connection that answers nothing within db-timeout" ||
	sys_show "$NETNS_TMP/serve.log"
# shellcheck disable=SC2086
kill -CONT $pg_pids
pg_wait "$stalled" 60
tap_ok $? "once the database answers again, the trace made meanwhile reaches it" ||
	sys_show "$NETNS_TMP/serve.log"

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
sys_done
