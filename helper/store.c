/*
 * The broker's SQLite store, in FreeBSD pkg's manner: WAL, busy_timeout,
 * foreign keys, migrations keyed on PRAGMA user_version, statements prepared once.
 */
#include "store.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "../sql/migrations.h"
#include "log.h"
#include "util.h"

#define STORE_BUSY_MS		5000
#define STORE_LOG_INTERVAL	10	/* seconds between logged errors */

enum {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_TRACE_BEGIN,
	Q_HOP,
	Q_REPLY,
	Q_TRACE_END,
	Q_TRACE_FORGET,
	Q_COUNT
};

static const char *const queries[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_TRACE_BEGIN] =
	    "INSERT INTO traces (id, uid, family, client, cport, server, sport, started_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_HOP] = "INSERT INTO hops (trace_id, ttl, sent) VALUES (?1, ?2, ?3)",
	[Q_REPLY] =
	    "INSERT INTO replies (trace_id, ttl, idx, addr, rtt_us, kind, code, reply_ttl) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_TRACE_END] =
	    "UPDATE traces SET ended_at = ?2, reason = ?3, hops = ?4, duration_us = ?5 "
	    "WHERE id = ?1",
	/* Its hops and their replies go with it (ON DELETE CASCADE). */
	[Q_TRACE_FORGET] = "DELETE FROM traces WHERE id = ?1",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	unsigned long errors;
	unsigned long suppressed;	/* errors not logged since the last one logged */
	time_t last_log;
};

/* Counts an error and logs it, at most once per STORE_LOG_INTERVAL, so a full disk does not flood the log. */
static void
store_fail(struct store *st, const char *what, const char *id)
{
	struct timespec now;

	st->errors++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (st->last_log != 0 && now.tv_sec - st->last_log < STORE_LOG_INTERVAL) {
		st->suppressed++;
		return;
	}
	log_warnx("store: %s (trace %s): %s; %lu errors so far, %lu not logged; tracing goes on",
	    what, id, sqlite3_errmsg(st->db), st->errors, st->suppressed);
	st->last_log = now.tv_sec ? now.tv_sec : 1;
	st->suppressed = 0;
}

/* Runs one statement with no result wanted; returns SQLITE_OK or an error code. */
static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int
user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL)) != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*v = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

static int
count(const char *const *migrations)
{
	int n = 0;

	while (migrations[n] != NULL)
		n++;
	return n;
}

/*
 * Brings the schema up to date, one migration per BEGIN IMMEDIATE
 * transaction; the version is read again inside each, so two processes
 * opening the database at once cannot both apply a step.
 */
static int
migrate(sqlite3 *db, const char *const *migrations, char *err, size_t errlen)
{
	int want = count(migrations), v = -1;
	char sql[64];

	for (;;) {
		if (exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
			seterr(err, errlen, "cannot begin a migration: %s", sqlite3_errmsg(db));
			return -1;
		}
		if (user_version(db, &v) != SQLITE_OK) {
			seterr(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(db));
			goto fail;
		}
		if (v > want) {
			seterr(err, errlen, "the database's schema version %d is newer than this "
			    "tracetroutd's (%d); refusing to use it", v, want);
			goto fail;
		}
		if (v < 0) {
			seterr(err, errlen, "bad schema version %d", v);
			goto fail;
		}
		if (v == want)
			break;
		if (exec(db, migrations[v]) != SQLITE_OK) {
			seterr(err, errlen, "migration %03d failed: %s", v + 1, sqlite3_errmsg(db));
			goto fail;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(db, sql) != SQLITE_OK || exec(db, "COMMIT") != SQLITE_OK) {
			seterr(err, errlen, "migration %03d: cannot commit: %s", v + 1,
			    sqlite3_errmsg(db));
			goto fail;
		}
		log_info("store: database schema migrated to version %d", v + 1);
	}
	exec(db, "COMMIT");
	return 0;
fail:
	exec(db, "ROLLBACK");
	return -1;
}

/* Reads a one-value pragma's answer into buf. */
static int
pragma_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK)
		return rc;
	buf[0] = '\0';
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		snprintf(buf, len, "%s", t ? (const char *)t : "");
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(s);
	return rc;
}

struct store *
store_open_with(const char *path, const char *const *migrations, char *err, size_t errlen)
{
	struct store *st;
	char mode[16];

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* Client addresses are personal data: the directory is not world-readable. */
	if (mkdir_parent(path, 0750) < 0) {
		seterr(err, errlen, "%s: cannot create its directory: %s", path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	    NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "cannot allocate");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (sqlite3_busy_timeout(st->db, STORE_BUSY_MS) != SQLITE_OK ||
	    pragma_text(st->db, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) != SQLITE_OK ||
	    exec(st->db, "PRAGMA foreign_keys = ON") != SQLITE_OK ||
	    exec(st->db, "PRAGMA synchronous = NORMAL") != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	if (strcmp(mode, "wal") != 0)
		log_warnx("store: %s: journal mode is %s, not wal (filesystem without shared memory?)",
		    path, mode);
	if (migrate(st->db, migrations, err, errlen) < 0) {
		/* Name the file: the message alone does not say which database. */
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err ? err : "");
		seterr(err, errlen, "%s: %s", path, msg);
		goto fail;
	}
	for (int i = 0; i < Q_COUNT; i++)
		if (sqlite3_prepare_v3(st->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &st->q[i], NULL) != SQLITE_OK) {
			seterr(err, errlen, "%s: cannot prepare \"%s\": %s", path, queries[i],
			    sqlite3_errmsg(st->db));
			goto fail;
		}
	return st;
fail:
	store_close(st);
	return NULL;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	return store_open_with(path, sql_migrations, err, errlen);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->q[i]);
	/* Closing the last connection checkpoints the WAL into the database. */
	sqlite3_close(st->db);
	free(st);
}

int
store_schema_version(void)
{
	return count(sql_migrations);
}

unsigned long
store_errors(const struct store *st)
{
	return st ? st->errors : 0;
}

/* Runs a prepared statement that returns no rows, then resets it for the next use. */
static int
step(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
bind_text(sqlite3_stmt *s, int i, const char *t)
{
	return sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

int
store_trace_begin(struct store *st, const char *id, uid_t uid,
    const struct proto_trace_req *req, int64_t started_at_ms)
{
	sqlite3_stmt *s;
	char c[ADDR_STRLEN], sv[ADDR_STRLEN];

	if (st == NULL)
		return 0;
	s = st->q[Q_TRACE_BEGIN];
	if (bind_text(s, 1, id) < 0 ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)uid) != SQLITE_OK ||
	    sqlite3_bind_int(s, 3, req->client.family == AF_INET6 ? 6 : 4) != SQLITE_OK ||
	    bind_text(s, 4, addr_format(&req->client, c)) < 0 ||
	    sqlite3_bind_int(s, 5, req->cport) != SQLITE_OK ||
	    bind_text(s, 6, addr_format(&req->server, sv)) < 0 ||
	    sqlite3_bind_int(s, 7, req->sport) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 8, started_at_ms) != SQLITE_OK || step(s) < 0) {
		store_fail(st, "cannot record a trace", id);
		return -1;
	}
	return 0;
}

static int
insert_reply(struct store *st, const char *id, int ttl, int idx, const struct proto_reply *r)
{
	sqlite3_stmt *s = st->q[Q_REPLY];
	char a[ADDR_STRLEN];

	if (bind_text(s, 1, id) < 0 ||
	    sqlite3_bind_int(s, 2, ttl) != SQLITE_OK ||
	    sqlite3_bind_int(s, 3, idx) != SQLITE_OK ||
	    bind_text(s, 4, addr_format(&r->from, a)) < 0 ||
	    sqlite3_bind_int64(s, 5, r->rtt_us) != SQLITE_OK ||
	    bind_text(s, 6, reply_kind_name(r->kind)) < 0 ||
	    sqlite3_bind_int64(s, 7, r->code) != SQLITE_OK ||
	    sqlite3_bind_int(s, 8, r->reply_ttl) != SQLITE_OK)
		return -1;
	return step(s);
}

int
store_hop(struct store *st, const char *id, const struct proto_hop *hop)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	/* One transaction per hop: its replies are never stored without it, and one commit is cheaper. */
	if (step(st->q[Q_BEGIN]) < 0)
		goto fail;
	s = st->q[Q_HOP];
	if (bind_text(s, 1, id) < 0 ||
	    sqlite3_bind_int(s, 2, hop->ttl) != SQLITE_OK ||
	    sqlite3_bind_int(s, 3, hop->sent) != SQLITE_OK || step(s) < 0)
		goto fail;
	for (int i = 0; i < hop->nreplies && i < PROTO_MAX_REPLIES; i++)
		if (insert_reply(st, id, hop->ttl, i, &hop->r[i]) < 0)
			goto fail;
	if (step(st->q[Q_COMMIT]) < 0)
		goto fail;
	return 0;
fail:
	/* Log before ROLLBACK, which would replace the failing statement's message. */
	store_fail(st, "cannot record a hop", id);
	if (!sqlite3_get_autocommit(st->db))
		step(st->q[Q_ROLLBACK]);
	return -1;
}

int
store_trace_end(struct store *st, const char *id, const char *reason, int hops,
    int64_t ended_at_ms, uint64_t duration_us)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	s = st->q[Q_TRACE_END];
	if (bind_text(s, 1, id) < 0 ||
	    sqlite3_bind_int64(s, 2, ended_at_ms) != SQLITE_OK ||
	    bind_text(s, 3, reason) < 0 ||
	    sqlite3_bind_int(s, 4, hops) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 5, (sqlite3_int64)(duration_us > INT64_MAX ? INT64_MAX :
	    duration_us)) != SQLITE_OK || step(s) < 0) {
		store_fail(st, "cannot record a trace's end", id);
		return -1;
	}
	if (sqlite3_changes(st->db) != 1) {
		/* Its begin failed earlier, or the row was deleted meanwhile. */
		st->errors++;
		log_debug("store: trace %s: end for a trace not in the database", id);
		return -1;
	}
	return 0;
}

int
store_trace_forget(struct store *st, const char *id)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	s = st->q[Q_TRACE_FORGET];
	if (bind_text(s, 1, id) < 0 || step(s) < 0) {
		store_fail(st, "cannot remove an incomplete trace", id);
		return -1;
	}
	return 0;
}
