# shellcheck shell=bash
# A PostgreSQL server of the test's own, from Debian's package: initdb in a temporary directory
# as the unprivileged user postgres, trust authentication, listening on a unix socket in that
# directory (a file: helpers in any of the test's network namespaces reach it) and, with a
# namespace, on that namespace's loopback (port 5432), where nothing from outside it reaches.
#
#   pg_start [NS]       PG_DIR, PG_SOCK; a role tt_writer (no superuser) owning database
#                       tracetrout; PG_URI, the helpers' db setting for it over the socket, and
#                       with NS, PG_URI_TCP, over TCP to "localhost" in NS
#   pg_stop / pg_resume stop the server (fast) and start it again on the same data
#   pg_sql SQL          psql as the superuser on tracetrout: unaligned, tuples only
#   pg_cleanup          stop it and remove PG_DIR (netns_cleanup runs it when registered)

PG_BIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

pg_available() {
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && getent passwd postgres >/dev/null
}

pg__as() {
	setpriv --reuid=postgres --regid=postgres --clear-groups "$@"
}

pg_start() {
	PG_NS=${1:-}
	PG_DIR=$(mktemp -d /tmp/tracetrout-pg.XXXXXX) || return 1
	PG_SOCK=$PG_DIR/sock
	# Others may reach the socket (the helpers' user), not the data.
	chmod 0755 "$PG_DIR"
	mkdir "$PG_SOCK" && chown postgres:postgres "$PG_DIR" "$PG_SOCK" || return 1
	pg__as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync -E UTF8 \
		>"$PG_DIR/initdb.log" 2>&1 || { sed 's/^/# initdb: /' "$PG_DIR/initdb.log" >&2; return 1; }
	pg_resume || return 1
	# Two commands: CREATE DATABASE cannot share psql -c's transaction.
	pg_sql_db postgres "CREATE ROLE tt_writer LOGIN" >/dev/null &&
		pg_sql_db postgres "CREATE DATABASE tracetrout OWNER tt_writer" >/dev/null || return 1
	# shellcheck disable=SC2034  # for the tests that source this file
	PG_URI="postgresql:///tracetrout?host=$PG_SOCK&user=tt_writer"
	# shellcheck disable=SC2034
	PG_URI_TCP="postgresql://tt_writer@localhost:5432/tracetrout"
}

pg_resume() {
	local listen='' in=()
	[ -n "$PG_NS" ] && listen=127.0.0.1,::1 in=(ip netns exec "$PG_NS")
	"${in[@]}" setpriv --reuid=postgres --regid=postgres --clear-groups \
		"$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "-k $PG_SOCK -c listen_addresses=$listen -c fsync=off -c max_connections=20" start \
		>/dev/null || { sed 's/^/# postgres: /' "$PG_DIR/server.log" >&2; return 1; }
}

pg_stop() {
	pg__as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
}

pg_sql_db() {
	local db=$1
	shift
	"$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PG_SOCK" -U postgres -d "$db" -c "$@"
}

pg_sql() {
	pg_sql_db tracetrout "$@"
}

pg_cleanup() {
	[ -n "${PG_DIR:-}" ] || return 0
	pg_stop 2>/dev/null
	rm -rf "$PG_DIR"
	PG_DIR=
}
