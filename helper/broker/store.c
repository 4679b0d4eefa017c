/*
 * The broker's SQLite store, in FreeBSD pkg's manner: WAL, busy_timeout,
 * foreign keys, migrations keyed on PRAGMA user_version, statements prepared once.
 */
#include "store.h"
#include "store_int.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "../sql/migrations.h"
#include "log.h"
#include "util.h"

#define STORE_BUSY_MS		5000
#define STORE_LOG_INTERVAL	10	/* seconds between logged errors */
/*
 * WAL pages after a commit that wake the checkpointer: SQLite's own
 * wal_autocheckpoint default (about 4 MB of WAL).
 */
#define STORE_CKPT_PAGES	1000
/*
 * The WAL starts over only at a write that finds every frame copied: under
 * load the broker commits again before the thread's pass ends, and the WAL
 * would grow without end. Past this many pages the commit checkpoints
 * itself, as SQLite does by default, and the next write starts the WAL
 * over; by then the thread has copied nearly every frame, so little is left
 * to copy and sync.
 */
#define STORE_WAL_MAX_PAGES	4000

enum {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_SAVEPOINT,
	Q_RELEASE,
	Q_ROLLBACK_TO,
	Q_TRACE_BEGIN,
	Q_HOP,
	Q_REPLY,
	Q_LATE_REPLY,
	Q_TRACE_END,
	Q_TRACE_ADDRS,
	Q_TRACE_FORGET,
	Q_GET,
	Q_GET_REPLIES,
	Q_HISTORY,
	Q_PATH,
	Q_DELETE_CHECK,
	Q_SWEEP,
	Q_LOOKUP_GET,
	Q_LOOKUP_PUT,
	Q_TRACE_LOOKUP,
	Q_TRACE_LOOKUP_KEYS,
	Q_GET_LOOKUPS,
	Q_LOOKUP_SWEEP,
	Q_LOOKUP_COUNT,
	Q_LOOKUP_TRIM,
	Q_SITES,
	Q_SEQ,
	Q_SHIP_BATCH,
	Q_SHIP_DONE,
	Q_SHIP_COUNT,
	Q_SHIP_DELETE,
	Q_SHIP_DELETES,
	Q_SHIP_DELETES_DONE,
	Q_IMPORT_TRACE,
	Q_IMPORT_HOPS,
	Q_IMPORT_REPLIES,
	Q_IMPORT_LOOKUPS,
	Q_FORGET_FOREIGN,
	Q_COUNT
};

static const char *const queries[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	/* One hop inside the batch: its replies are never stored without it. */
	[Q_SAVEPOINT] = "SAVEPOINT hop",
	[Q_RELEASE] = "RELEASE hop",
	[Q_ROLLBACK_TO] = "ROLLBACK TO hop",
	[Q_TRACE_BEGIN] =
	    "INSERT INTO traces (id, uid, family, client, cport, server, sport, started_at, "
	    "token, client_prefix, proxy, ship, client_key) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	/* A trace's rows refer to it by its row number, ?1 (sql/007-seq.sql; bind_seq). */
	[Q_HOP] = "INSERT INTO hops (trace_seq, ttl, sent, reused_addr, reused_age_ms) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_REPLY] =
	    "INSERT INTO replies (trace_seq, ttl, idx, addr, rtt_us, kind, code, reply_ttl, "
	    "quoted_ttl, size, ext, edst, mpls, flags) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	/*
	 * A late answer: one more reply of a stored hop, after its others, in
	 * one statement. No row when the hop is not stored or has ?3 replies.
	 */
	[Q_LATE_REPLY] =
	    "INSERT INTO replies (trace_seq, ttl, idx, addr, rtt_us, kind, code, reply_ttl, "
	    "quoted_ttl, size, ext, edst, mpls, flags) "
	    "SELECT h.trace_seq, h.ttl, coalesce(r.top + 1, 0), ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	    "?12, ?13, ?14 FROM hops h, (SELECT max(idx) AS top, count(*) AS n FROM replies "
	    "WHERE trace_seq = ?1 AND ttl = ?2) r WHERE h.trace_seq = ?1 AND h.ttl = ?2 AND r.n < ?3",
	[Q_TRACE_END] =
	    "UPDATE traces SET ended_at = ?2, reason = ?3, hops = ?4, duration_us = ?5 "
	    "WHERE seq = ?1",
	/*
	 * A finished trace's distinct hop addresses for searches
	 * (sql/011-query.sql), with the AS and country of the look-up kept for
	 * each: all of them at its end (?2 NULL), or the one of a late answer
	 * after it (?2). Nothing while it runs: its end adds them all.
	 */
	/* Each reply: OR IGNORE drops an address again (cheaper than DISTINCT's temporary table). */
	[Q_TRACE_ADDRS] =
	    "INSERT OR IGNORE INTO trace_addrs (addr_key, trace_seq, asn, country) "
	    "SELECT tt_addr_key(r.addr), r.trace_seq, tt_info_asn(l.data), tt_info_country(l.data) "
	    "FROM replies r LEFT JOIN trace_lookups l ON l.trace_seq = r.trace_seq "
	    "AND l.addr = r.addr AND l.kind = 'info' WHERE r.trace_seq = ?1 "
	    "AND (?2 IS NULL OR r.addr = ?2) "
	    "AND EXISTS (SELECT 1 FROM traces WHERE seq = ?1 AND ended_at IS NOT NULL)",
	/* Its hops and their replies go with it (ON DELETE CASCADE). */
	[Q_TRACE_FORGET] = "DELETE FROM traces WHERE id = ?1",
	/* Finished traces only, and only the caller's own unless it is root (uid 0). */
	[Q_GET] =
	    "SELECT client, cport, server, sport, started_at, client_prefix, reason, hops, "
	    "duration_us, proxy, vantage FROM traces "
	    "WHERE id = ?1 AND ended_at IS NOT NULL AND (uid = ?2 OR ?2 = 0)",
	/* Every hop, silent ones as a row with NULL reply columns, in TTL and reply order. */
	[Q_GET_REPLIES] =
	    "SELECT h.ttl, h.sent, r.addr, r.rtt_us, r.kind, r.code, r.reply_ttl, r.quoted_ttl, "
	    "r.size, r.ext, r.edst, r.mpls, r.flags, h.reused_addr, h.reused_age_ms "
	    "FROM traces t JOIN hops h ON h.trace_seq = t.seq LEFT JOIN replies r "
	    "ON r.trace_seq = h.trace_seq AND r.ttl = h.ttl WHERE t.id = ?1 ORDER BY h.ttl, r.idx",
	/* before= another site's trace is as unknown: the list would date it. */
	[Q_HISTORY] =
	    "SELECT id, started_at, reason, hops, duration_us, vantage FROM traces "
	    "WHERE client_key = ?1 AND client_prefix = 0 AND (uid = ?2 OR ?2 = 0) "
	    "AND ended_at IS NOT NULL AND (?3 IS NULL OR (started_at, id) < "
	    "(SELECT started_at, id FROM traces WHERE id = ?3 AND (uid = ?2 OR ?2 = 0))) "
	    "ORDER BY started_at DESC, id DESC LIMIT ?4",
	/*
	 * A hop's answers in time before its late ones (flag 16, PROTO_RF_LATE):
	 * in the order of the keys, as Q_LATE_REPLY gives a late answer the
	 * hop's next idx. Sorting by the flag too cost a sorter each path
	 * (callgrind: 65,000 instructions a path, 45,000 without).
	 */
	[Q_PATH] =
	    "SELECT h.ttl, r.addr, r.flags & 16 FROM traces t JOIN hops h ON h.trace_seq = t.seq "
	    "LEFT JOIN replies r ON r.trace_seq = h.trace_seq AND r.ttl = h.ttl WHERE t.id = ?1 "
	    "ORDER BY h.ttl, r.idx",
	[Q_DELETE_CHECK] =
	    "SELECT token FROM traces WHERE id = ?1 AND ended_at IS NOT NULL AND (uid = ?2 OR ?2 = 0)",
	/* In batches, so a large sweep does not hold the broker's loop. */
	[Q_SWEEP] =
	    "DELETE FROM traces WHERE seq IN (SELECT seq FROM traces WHERE started_at < ?1 LIMIT ?2)",
	/* An answer young enough for its kind: ?3 for one that succeeded, ?4 for a failure. */
	[Q_LOOKUP_GET] =
	    "SELECT ok, data FROM lookups WHERE addr = ?1 AND kind = ?2 AND "
	    "fetched_at >= CASE ok WHEN 1 THEN ?3 ELSE ?4 END",
	/* A body that is not JSON is stored as a failure: it is never shown. */
	[Q_LOOKUP_PUT] =
	    "INSERT OR REPLACE INTO lookups (addr, kind, ok, data, fetched_at) VALUES (?1, ?2, "
	    "?3 AND (?2 <> 'info' OR json_valid(?4)), CASE WHEN ?3 AND (?2 <> 'info' OR "
	    "json_valid(?4)) THEN ?4 END, ?5) RETURNING ok",
	[Q_TRACE_LOOKUP] =
	    "INSERT OR REPLACE INTO trace_lookups (trace_seq, addr, kind, data) "
	    "VALUES (?1, ?2, ?3, ?4)",
	/* An info answer kept with a finished trace: its AS and country for searches (Q_TRACE_ADDRS). */
	[Q_TRACE_LOOKUP_KEYS] =
	    "UPDATE trace_addrs SET asn = tt_info_asn(?3), country = tt_info_country(?3) "
	    "WHERE addr_key = tt_addr_key(?2) AND trace_seq = ?1",
	[Q_GET_LOOKUPS] =
	    "SELECT l.addr, l.kind, l.data FROM traces t JOIN trace_lookups l ON l.trace_seq = t.seq "
	    "WHERE t.id = ?1 ORDER BY l.kind, l.addr",
	/* Answers older than ?1, failures older than ?2. */
	[Q_LOOKUP_SWEEP] = "DELETE FROM lookups WHERE fetched_at < CASE ok WHEN 1 THEN ?1 ELSE ?2 END",
	[Q_LOOKUP_COUNT] = "SELECT count(*) FROM lookups",
	/* The ?1 oldest, through the index on fetched_at. */
	[Q_LOOKUP_TRIM] = "DELETE FROM lookups WHERE (addr, kind) IN "
	    "(SELECT addr, kind FROM lookups ORDER BY fetched_at LIMIT ?1)",
	/* Finished traces per site; the index on (uid, started_at) serves it. */
	[Q_SITES] = "SELECT uid, count(*) FROM traces WHERE ended_at IS NOT NULL GROUP BY uid",
	[Q_SEQ] = "SELECT seq FROM traces WHERE id = ?1",
	/*
	 * The journal (sql/008-ship.sql): at most ?2 traces waiting to be
	 * shipped that ended before ?1, oldest first, as one JSON array for
	 * PostgreSQL's jsonb_to_recordset (fleet.c), with their row numbers.
	 */
	[Q_SHIP_BATCH] =
	    "WITH b AS (SELECT t.seq, t.uid, "
	    "json_object('id', t.id, 'uid', t.uid, 'family', t.family, 'client', t.client, "
	    "'cport', t.cport, 'server', t.server, 'sport', t.sport, 'started_at', t.started_at, "
	    "'ended_at', t.ended_at, 'reason', t.reason, 'hops', t.hops, "
	    "'duration_us', t.duration_us, 'token', t.token, 'client_prefix', t.client_prefix, "
	    "'proxy', t.proxy, "
	    "'hoplist', (SELECT json_group_array(json_object('ttl', ttl, 'sent', sent, "
	    "'reused_addr', reused_addr, 'reused_age_ms', reused_age_ms)) FROM hops "
	    "WHERE trace_seq = t.seq), "
	    "'replies', (SELECT json_group_array(json_object('ttl', ttl, 'idx', idx, 'addr', addr, "
	    "'rtt_us', rtt_us, 'kind', kind, 'code', code, 'reply_ttl', reply_ttl, "
	    "'quoted_ttl', quoted_ttl, 'size', size, 'ext', ext, 'edst', edst, 'mpls', mpls, "
	    "'flags', flags)) FROM replies WHERE trace_seq = t.seq), "
	    "'lookups', (SELECT json_group_array(json_object('addr', addr, 'kind', kind, "
	    "'data', data)) FROM trace_lookups WHERE trace_seq = t.seq)) AS j "
	    "FROM traces t WHERE t.ship IS NOT NULL AND t.ended_at < ?1 ORDER BY t.seq LIMIT ?2) "
	    "SELECT json_group_array(json(j)), json_group_array(seq), count(*), "
	    "(SELECT json_group_array(DISTINCT uid) FROM b) FROM b",
	/*
	 * Shipped: gone from the journal (with its hops, replies and look-ups),
	 * PostgreSQL's copy being the trace from now on, so that a deletion or
	 * retention anywhere in the fleet is never outlived here.
	 */
	[Q_SHIP_DONE] = "DELETE FROM traces WHERE seq IN (SELECT value FROM json_each(?1)) "
	    "AND ship IS NOT NULL",
	[Q_SHIP_COUNT] = "SELECT count(*) FROM traces WHERE ship IS NOT NULL",
	/* A visitor's deletion, for PostgreSQL too (sql/009-ship-deletes.sql). */
	[Q_SHIP_DELETE] = "INSERT OR IGNORE INTO ship_deletes (id) VALUES (?1)",
	[Q_SHIP_DELETES] =
	    "SELECT json_group_array(id), count(*) FROM (SELECT id FROM ship_deletes LIMIT ?1)",
	[Q_SHIP_DELETES_DONE] =
	    "DELETE FROM ship_deletes WHERE id IN (SELECT value FROM json_each(?1))",
	/*
	 * Another server's trace from a fleet's PostgreSQL (fleet.c), ?1 a
	 * JSON object shaped as Q_SHIP_BATCH's, for uid ?2; its rows refer to
	 * the new trace's row number, ?2 there.
	 */
	[Q_IMPORT_TRACE] =
	    "INSERT INTO traces (id, uid, family, client, cport, server, sport, started_at, "
	    "ended_at, reason, hops, duration_us, token, client_prefix, proxy, vantage, client_key) SELECT "
	    "json_extract(?1, '$.id'), ?2, json_extract(?1, '$.family'), "
	    "json_extract(?1, '$.client'), json_extract(?1, '$.cport'), "
	    "json_extract(?1, '$.server'), json_extract(?1, '$.sport'), "
	    "json_extract(?1, '$.started_at'), json_extract(?1, '$.ended_at'), "
	    "json_extract(?1, '$.reason'), json_extract(?1, '$.hops'), "
	    "json_extract(?1, '$.duration_us'), json_extract(?1, '$.token'), "
	    "json_extract(?1, '$.client_prefix'), json_extract(?1, '$.proxy'), "
	    "json_extract(?1, '$.vantage'), tt_addr_key(json_extract(?1, '$.client')) "
	    "WHERE true ON CONFLICT (id) DO NOTHING",
	[Q_IMPORT_HOPS] =
	    "INSERT INTO hops (trace_seq, ttl, sent, reused_addr, reused_age_ms) SELECT ?2, "
	    "json_extract(value, '$.ttl'), json_extract(value, '$.sent'), "
	    "json_extract(value, '$.reused_addr'), json_extract(value, '$.reused_age_ms') "
	    "FROM json_each(?1, '$.hoplist')",
	[Q_IMPORT_REPLIES] =
	    "INSERT INTO replies (trace_seq, ttl, idx, addr, rtt_us, kind, code, reply_ttl, "
	    "quoted_ttl, size, ext, edst, mpls, flags) SELECT ?2, json_extract(value, '$.ttl'), "
	    "json_extract(value, '$.idx'), json_extract(value, '$.addr'), "
	    "json_extract(value, '$.rtt_us'), json_extract(value, '$.kind'), "
	    "json_extract(value, '$.code'), json_extract(value, '$.reply_ttl'), "
	    "json_extract(value, '$.quoted_ttl'), json_extract(value, '$.size'), "
	    "json_extract(value, '$.ext'), json_extract(value, '$.edst'), "
	    "json_extract(value, '$.mpls'), json_extract(value, '$.flags') "
	    "FROM json_each(?1, '$.replies')",
	[Q_FORGET_FOREIGN] = "DELETE FROM traces WHERE vantage IS NOT NULL",
	[Q_IMPORT_LOOKUPS] =
	    "INSERT INTO trace_lookups (trace_seq, addr, kind, data) SELECT ?2, "
	    "json_extract(value, '$.addr'), json_extract(value, '$.kind'), "
	    "json_extract(value, '$.data') FROM json_each(?1, '$.lookups')",
};

/*
 * The checkpointer: a thread with its own connection that copies the WAL
 * into the database. SQLite's automatic checkpoint runs inside the commit
 * that crosses wal_autocheckpoint, in the broker's loop, and ends with
 * fsyncs of the WAL and the database: measured under load (issue 15), the
 * loop then stood in fdatasync and took 20 % fewer traces a second than
 * with the database on tmpfs. A PASSIVE checkpoint takes no writer's lock,
 * so commits go on meanwhile.
 */
struct checkpointer {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db;
	bool running;		/* the thread was started */
	bool due;		/* the WAL passed STORE_CKPT_PAGES since the last checkpoint */
	bool stop;
	unsigned long done;	/* checkpoints run */
	uint64_t logged_ms;	/* when a failed one was last logged */
};

struct store {
	sqlite3 *db;
	struct checkpointer ck;
	sqlite3_stmt *q[Q_COUNT];
	unsigned long errors;
	unsigned long suppressed;	/* errors not logged since the last one logged */
	time_t last_log;
	int lookup_max;		/* store_lookup_limit; 0: none */
	int query_drive;	/* store_query_drive: -1 for store_query.c's own */
	long lookup_rows;	/* rows in lookups, at least; -1: not counted yet */
	bool batch_open;	/* writes since the last commit wait in a transaction */
	uint64_t batch_since_ms;	/* when the open batch began (CLOCK_MONOTONIC) */
	/* A journal (store_journal): new traces wait to be shipped, at most journal_max. */
	int journal_max;
	long waiting;		/* traces waiting to be shipped, at least */
	uint64_t batch;		/* the batch that writes go into now; counts up */
	uint64_t lost;		/* the last batch lost (its commit failed, or SQLite rolled it back) */
	/*
	 * The row numbers of traces begun lately, by the first two digits of
	 * their ids (random): a trace's rows need it, and asking the index on
	 * id for each of them cost a fifth of the store's time.
	 */
	struct {
		char id[PROTO_ID_LEN + 1];
		sqlite3_int64 seq;
	} seqs[256];
};

/*
 * Counts an error and logs it, why as the reason, at most once per
 * STORE_LOG_INTERVAL, so a full disk does not flood the log.
 */
static void
store_fail_why(struct store *st, const char *what, const char *id, const char *why)
{
	time_t now = (time_t)(time_ms(CLOCK_MONOTONIC) / 1000);

	st->errors++;
	if (st->last_log != 0 && now - st->last_log < STORE_LOG_INTERVAL) {
		st->suppressed++;
		return;
	}
	log_warnx("store: %s (trace %s): %s; %lu errors so far, %lu not logged; tracing goes on",
	    what, id, why, st->errors, st->suppressed);
	st->last_log = now ? now : 1;
	st->suppressed = 0;
}

/* The same with SQLite's message as the reason. */
void
store_fail(struct store *st, const char *what, const char *id)
{
	store_fail_why(st, what, id, sqlite3_errmsg(st->db));
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

static void *
checkpointer_run(void *arg)
{
	struct checkpointer *ck = arg;

	pthread_mutex_lock(&ck->mu);
	for (;;) {
		while (!ck->due && !ck->stop)
			pthread_cond_wait(&ck->cv, &ck->mu);
		if (ck->stop)
			break;
		ck->due = false;
		pthread_mutex_unlock(&ck->mu);
		/* SQLITE_BUSY: the commit's own checkpoint runs; it copies the rest. */
		int rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		uint64_t now = time_ms(CLOCK_MONOTONIC);

		/* A full disk fails every pass: logged once per STORE_LOG_INTERVAL, as the writes are. */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY &&
		    (ck->logged_ms == 0 || now - ck->logged_ms >= STORE_LOG_INTERVAL * 1000)) {
			log_warnx("store: checkpoint: %s", sqlite3_errmsg(ck->db));
			ck->logged_ms = now;
		}
		pthread_mutex_lock(&ck->mu);
		ck->done++;
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/*
 * After each commit (sqlite3_wal_hook): wakes the checkpointer once the WAL
 * is long, and checkpoints at once when it is too long.
 */
static int
checkpointer_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct checkpointer *ck = arg;

	/* FULL: waits (busy_timeout) for a pass of the thread's to end, and copies what is left. */
	if (pages >= STORE_WAL_MAX_PAGES)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_FULL, NULL, NULL);
	else if (pages >= STORE_CKPT_PAGES) {
		pthread_mutex_lock(&ck->mu);
		ck->due = true;
		pthread_cond_signal(&ck->cv);
		pthread_mutex_unlock(&ck->mu);
	}
	return SQLITE_OK;
}

/*
 * Starts the checkpointer on its own connection to path; without it (no
 * thread, no connection) SQLite's automatic checkpoint stays on.
 */
static void
checkpointer_start(struct store *st, const char *path)
{
	struct checkpointer *ck = &st->ck;
	const char *why = NULL;
	char mode[16];

	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cv, NULL);
	/* Until it reads the database, a connection does not know it is in WAL mode. */
	if (sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(ck->db, STORE_BUSY_MS) != SQLITE_OK ||
	    pragma_text(ck->db, "PRAGMA journal_mode", mode, sizeof(mode)) != SQLITE_OK)
		why = ck->db ? sqlite3_errmsg(ck->db) : "cannot allocate";
	else if (strcmp(mode, "wal") != 0)
		why = "not in WAL mode";
	else if ((errno = pthread_create(&ck->tid, NULL, checkpointer_run, ck)) != 0)
		why = strerror(errno);
	if (why != NULL) {
		log_warnx("store: %s: no checkpoint thread (%s): the broker checkpoints itself",
		    path, why);
		sqlite3_close(ck->db);
		ck->db = NULL;
		return;
	}
	ck->running = true;
	sqlite3_wal_hook(st->db, checkpointer_hook, ck);
}

static void
checkpointer_stop(struct checkpointer *ck)
{
	if (!ck->running)
		return;
	pthread_mutex_lock(&ck->mu);
	ck->stop = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->tid, NULL);
	sqlite3_close(ck->db);
	ck->running = false;
}

unsigned long
store_checkpoints(struct store *st)
{
	unsigned long n;

	if (st == NULL || !st->ck.running)
		return 0;
	pthread_mutex_lock(&st->ck.mu);
	n = st->ck.done;
	pthread_mutex_unlock(&st->ck.mu);
	return n;
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
	st->batch = 1;		/* 0 is no batch: store_lost_since's "none lost" */
	st->query_drive = -1;
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
	/* sql/011-query.sql calls them, as do statements below. */
	if (store_query_functions(st->db) != SQLITE_OK) {
		seterr(err, errlen, "%s: cannot make the SQL functions: %s", path,
		    sqlite3_errmsg(st->db));
		goto fail;
	}
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
	checkpointer_start(st, path);
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
	store_commit(st);
	checkpointer_stop(&st->ck);
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->q[i]);
	/* Closing the last connection checkpoints the WAL into the database. */
	sqlite3_close(st->db);
	free(st);
}

sqlite3 *
store_db(struct store *st)
{
	return st->db;
}

void
store_query_drive(struct store *st, int n)
{
	st->query_drive = n;
}

long long
store_query_driving(const struct store *st, long long dflt)
{
	return st->query_drive >= 0 ? st->query_drive : dflt;
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

/*
 * Writes go into a batch, one transaction that store_commit ends: a commit
 * per write cost the broker about 60 writes and 50 lock calls a trace, most
 * of its time under load (perf, issue 15). The broker commits before any
 * line that promises stored data (a permalink, END's stored flag, DELETED)
 * and at the end of each round of its loop.
 */
static int
batch_begin(struct store *st)
{
	if (st->batch_open)
		return 0;
	if (sqlite3_step(st->q[Q_BEGIN]) != SQLITE_DONE) {
		sqlite3_reset(st->q[Q_BEGIN]);
		return -1;
	}
	sqlite3_reset(st->q[Q_BEGIN]);
	st->batch_open = true;
	st->batch_since_ms = time_ms(CLOCK_MONOTONIC);
	return 0;
}

/* The batch is gone (rolled back): writes of every trace in it are lost. */
static void
batch_lost(struct store *st)
{
	st->batch_open = false;
	st->lost = st->batch++;
	/* Their row numbers go to the next traces begun. */
	memset(st->seqs, 0, sizeof(st->seqs));
}

/*
 * After a statement failed: SQLite rolls a transaction back by itself on
 * some errors (a full disk, an I/O error), and the batch is lost then.
 */
static void
batch_check(struct store *st)
{
	if (st->batch_open && sqlite3_get_autocommit(st->db))
		batch_lost(st);
}

/* Runs a prepared write that returns no rows, in the batch, then resets it. */
static int
step(struct store *st, sqlite3_stmt *s)
{
	int rc;

	if (batch_begin(st) < 0) {
		sqlite3_clear_bindings(s);
		return -1;
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		batch_check(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_commit(struct store *st)
{
	sqlite3_stmt *c;
	int rc;

	if (st == NULL || !st->batch_open)
		return 0;
	c = st->q[Q_COMMIT];
	rc = sqlite3_step(c);
	sqlite3_reset(c);
	if (rc == SQLITE_DONE) {
		st->batch_open = false;
		st->batch++;
		return 0;
	}
	/* Log before ROLLBACK, which would replace the message. */
	store_fail(st, "cannot commit", "-");
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_step(st->q[Q_ROLLBACK]);
		sqlite3_reset(st->q[Q_ROLLBACK]);
	}
	batch_lost(st);
	return -1;
}

uint64_t
store_batch_since(const struct store *st)
{
	return st != NULL && st->batch_open ? st->batch_since_ms : 0;
}

uint64_t
store_batch(const struct store *st)
{
	return st ? st->batch : 0;
}

bool
store_lost_since(const struct store *st, uint64_t batch)
{
	return st != NULL && st->lost != 0 && st->lost >= batch;
}

static int
bind_text(sqlite3_stmt *s, int i, const char *t)
{
	return sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
}

static unsigned
seq_slot(const char *id)
{
	return ((unsigned char)id[0] * 31u + (unsigned char)id[1]) % 256;
}

static void
seq_remember(struct store *st, const char *id, sqlite3_int64 seq)
{
	unsigned i = seq_slot(id);

	snprintf(st->seqs[i].id, sizeof(st->seqs[i].id), "%s", id);
	st->seqs[i].seq = seq;
}

/* Binds trace id's row number to ?1 of s; -1 when no such trace is stored. */
static int
bind_seq(struct store *st, sqlite3_stmt *s, const char *id)
{
	sqlite3_stmt *q = st->q[Q_SEQ];
	unsigned i = seq_slot(id);
	sqlite3_int64 seq = -1;

	if (strcmp(st->seqs[i].id, id) != 0) {
		if (bind_text(q, 1, id) == 0 && sqlite3_step(q) == SQLITE_ROW) {
			seq = sqlite3_column_int64(q, 0);
			seq_remember(st, id, seq);
		}
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
		if (seq < 0)
			return -1;
	}
	return sqlite3_bind_int64(s, 1, st->seqs[i].seq) == SQLITE_OK ? 0 : -1;
}

int
store_trace_begin(struct store *st, const char *id, uid_t uid,
    const struct proto_trace_req *req, int64_t started_at_ms, const char *token,
    bool client_prefix)
{
	sqlite3_stmt *s;
	char c[ADDR_STRLEN], sv[ADDR_STRLEN];
	uint8_t key[ADDR_KEY_LEN];
	const char *proxy;
	struct tt_addr client;

	if (st == NULL)
		return 0;
	/* PostgreSQL has been away so long that the journal is full: as a full disk would. */
	if (st->journal_max && st->waiting >= st->journal_max) {
		store_fail_why(st, "cannot record a trace", id, "the journal is full (journal-max): "
		    "new traces are not stored until PostgreSQL takes some");
		return -1;
	}
	proxy = proto_proxy_name(req->proxy);
	client = req->client;
	if (client_prefix)
		addr_visitor_net(&req->client, &client);
	addr_key(&client, key);
	s = st->q[Q_TRACE_BEGIN];
	if (bind_text(s, 1, id) < 0 ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)uid) != SQLITE_OK ||
	    sqlite3_bind_int(s, 3, req->client.family == AF_INET6 ? 6 : 4) != SQLITE_OK ||
	    bind_text(s, 4, addr_format(&client, c)) < 0 ||
	    sqlite3_bind_int(s, 5, req->cport) != SQLITE_OK ||
	    bind_text(s, 6, addr_format(&req->server, sv)) < 0 ||
	    sqlite3_bind_int(s, 7, req->sport) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 8, started_at_ms) != SQLITE_OK ||
	    bind_text(s, 9, token) < 0 ||
	    sqlite3_bind_int(s, 10, client_prefix) != SQLITE_OK ||
	    (*proxy ? bind_text(s, 11, proxy) < 0 : sqlite3_bind_null(s, 11) != SQLITE_OK) ||
	    (st->journal_max ? sqlite3_bind_int(s, 12, 1) : sqlite3_bind_null(s, 12)) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 13, key, sizeof(key), SQLITE_TRANSIENT) != SQLITE_OK ||
	    step(st, s) < 0) {
		store_fail(st, "cannot record a trace", id);
		return -1;
	}
	st->waiting += st->journal_max != 0;
	seq_remember(st, id, sqlite3_last_insert_rowid(st->db));
	return 0;
}

int
store_journal(struct store *st, int max)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	st->journal_max = max;
	s = st->q[Q_SHIP_COUNT];
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		store_fail(st, "cannot count the journal's traces", "-");
		return -1;
	}
	st->waiting = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

long
store_waiting(const struct store *st)
{
	return st != NULL ? st->waiting : 0;
}

int
store_ship_batch(struct store *st, int64_t ended_before_ms, int max, char **traces, char **seqs,
    char **uids)
{
	sqlite3_stmt *s;
	int n = -1;

	*traces = *seqs = *uids = NULL;
	if (st == NULL)
		return 0;
	s = st->q[Q_SHIP_BATCH];
	if (sqlite3_bind_int64(s, 1, ended_before_ms) == SQLITE_OK &&
	    sqlite3_bind_int(s, 2, max) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    (n = sqlite3_column_int(s, 2)) > 0) {
		*traces = strdup((const char *)sqlite3_column_text(s, 0));
		*seqs = strdup((const char *)sqlite3_column_text(s, 1));
		*uids = strdup((const char *)sqlite3_column_text(s, 3));
		if (*traces == NULL || *seqs == NULL || *uids == NULL) {
			free(*traces);
			free(*seqs);
			free(*uids);
			*traces = *seqs = *uids = NULL;
			n = -1;
		}
	}
	if (n < 0)
		store_fail(st, "cannot read the journal", "-");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return n;
}

int
store_ship_done(struct store *st, const char *seqs)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	s = st->q[Q_SHIP_DONE];
	if (bind_text(s, 1, seqs) < 0 || step(st, s) < 0) {
		store_fail(st, "cannot take shipped traces from the journal", "-");
		return -1;
	}
	/*
	 * Those it deleted no longer wait (changes() counts no cascade;
	 * store_journal counts them all again at each connection).
	 */
	st->waiting -= sqlite3_changes(st->db);
	if (st->waiting < 0)
		st->waiting = 0;
	return 0;
}

/*
 * Binds a reply's columns (?2, ?4 to ?14 of Q_REPLY and Q_LATE_REPLY) with
 * these flags; the trace, ?1, is the caller's.
 */
static int
bind_reply(sqlite3_stmt *s, int ttl, const struct proto_reply *r, int flags)
{
	char a[ADDR_STRLEN], e[ADDR_STRLEN], mpls[128];

	if (proto_fmt_mpls(mpls, sizeof(mpls), r) < 0)
		return -1;
	if (sqlite3_bind_int(s, 2, ttl) != SQLITE_OK ||
	    bind_text(s, 4, addr_format(&r->from, a)) < 0 ||
	    sqlite3_bind_int64(s, 5, r->rtt_us) != SQLITE_OK ||
	    bind_text(s, 6, reply_kind_name(r->kind)) < 0 ||
	    sqlite3_bind_int64(s, 7, r->code) != SQLITE_OK ||
	    sqlite3_bind_int(s, 8, r->reply_ttl) != SQLITE_OK ||
	    sqlite3_bind_int(s, 9, r->quoted_ttl) != SQLITE_OK ||
	    sqlite3_bind_int(s, 10, r->size) != SQLITE_OK ||
	    sqlite3_bind_int(s, 11, (int)r->ext) != SQLITE_OK ||
	    (r->edst.family && bind_text(s, 12, addr_format(&r->edst, e)) < 0) ||
	    (r->nmpls && bind_text(s, 13, mpls) < 0) ||
	    sqlite3_bind_int(s, 14, flags) != SQLITE_OK) {
		sqlite3_clear_bindings(s);
		return -1;
	}
	return 0;
}

static int
insert_reply(struct store *st, const char *id, int ttl, int idx, const struct proto_reply *r)
{
	sqlite3_stmt *s = st->q[Q_REPLY];

	if (bind_seq(st, s, id) < 0 || bind_reply(s, ttl, r, r->flags) < 0 ||
	    sqlite3_bind_int(s, 3, idx) != SQLITE_OK) {
		sqlite3_clear_bindings(s);
		return -1;
	}
	return step(st, s);
}

/* What a savepoint covered goes, the batch stays (unless SQLite rolled it back already). */
static void
savepoint_undo(struct store *st)
{
	if (st->batch_open && step(st, st->q[Q_ROLLBACK_TO]) == 0)
		step(st, st->q[Q_RELEASE]);
}

int
store_hop(struct store *st, const char *id, const struct proto_hop *hop)
{
	char a[ADDR_STRLEN];
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	if (step(st, st->q[Q_SAVEPOINT]) < 0)
		goto fail;
	s = st->q[Q_HOP];
	/* A reused router goes with a hop without replies only, as the HOP line carries it. */
	if (bind_seq(st, s, id) < 0 ||
	    sqlite3_bind_int(s, 2, hop->ttl) != SQLITE_OK ||
	    sqlite3_bind_int(s, 3, hop->sent) != SQLITE_OK ||
	    (hop->reused.family != 0 && hop->nreplies == 0 &&
	    (bind_text(s, 4, addr_format(&hop->reused, a)) < 0 ||
	    sqlite3_bind_int64(s, 5, hop->reused_age_ms) != SQLITE_OK)) || step(st, s) < 0)
		goto fail;
	for (int i = 0; i < hop->nreplies && i < PROTO_MAX_REPLIES; i++)
		if (insert_reply(st, id, hop->ttl, i, &hop->r[i]) < 0)
			goto fail;
	if (step(st, st->q[Q_RELEASE]) < 0)
		goto fail;
	return 0;
fail:
	/* Log before ROLLBACK TO, which would replace the failing statement's message. */
	store_fail(st, "cannot record a hop", id);
	sqlite3_clear_bindings(st->q[Q_HOP]);	/* ?4 and ?5 are bound only for some hops */
	savepoint_undo(st);
	return -1;
}

/*
 * Keeps the hop addresses of finished trace id for searches (Q_TRACE_ADDRS):
 * all of them, or addr alone. 0, or -1 (logged).
 */
static int
trace_addrs(struct store *st, const char *id, const struct tt_addr *addr)
{
	sqlite3_stmt *s = st->q[Q_TRACE_ADDRS];
	char a[ADDR_STRLEN];

	if (bind_seq(st, s, id) < 0 || (addr != NULL && bind_text(s, 2, addr_format(addr, a)) < 0) ||
	    step(st, s) < 0) {
		store_fail(st, "cannot record a trace's addresses", id);
		sqlite3_clear_bindings(s);
		return -1;
	}
	return 0;
}

int
store_late_reply(struct store *st, const char *id, int ttl, const struct proto_reply *r)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	s = st->q[Q_LATE_REPLY];
	/* No row inserted: its trace or hop is not stored (forgotten, or never), or the hop is full. */
	if (bind_seq(st, s, id) == 0) {
		if (bind_reply(s, ttl, r, r->flags | PROTO_RF_LATE) < 0 ||
		    sqlite3_bind_int(s, 3, PROTO_MAX_REPLIES) != SQLITE_OK || step(st, s) < 0) {
			store_fail(st, "cannot record a late answer", id);
			return -1;
		}
		/* After its end, the trace's addresses for searches have it too. */
		if (sqlite3_changes(st->db) == 1)
			return trace_addrs(st, id, &r->from);
	}
	st->errors++;
	log_debug("store: trace %s: late answer for hop %d refused: the hop is not stored or has "
	    "%d replies", id, ttl, PROTO_MAX_REPLIES);
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
	if (bind_seq(st, s, id) < 0)
		goto unknown;
	if (sqlite3_bind_int64(s, 2, ended_at_ms) != SQLITE_OK ||
	    bind_text(s, 3, reason) < 0 ||
	    sqlite3_bind_int(s, 4, hops) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 5, (sqlite3_int64)(duration_us > INT64_MAX ? INT64_MAX :
	    duration_us)) != SQLITE_OK || step(st, s) < 0) {
		store_fail(st, "cannot record a trace's end", id);
		return -1;
	}
	if (sqlite3_changes(st->db) == 1)
		return trace_addrs(st, id, NULL);
unknown:
	/* Its begin failed earlier, or the row was deleted meanwhile. */
	st->errors++;
	log_debug("store: trace %s: end for a trace not in the database", id);
	return -1;
}

int
store_trace_forget(struct store *st, const char *id)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	s = st->q[Q_TRACE_FORGET];
	if (bind_text(s, 1, id) < 0 || step(st, s) < 0) {
		store_fail(st, "cannot remove an incomplete trace", id);
		return -1;
	}
	return 0;
}

/* A column as text, "" for NULL. */
static const char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? (const char *)t : "";
}

void
store_read_fail(struct store *st, const char *what, const char *id)
{
	batch_check(st);
	store_fail(st, what, id);
}

/* Ends a read: resets the statement and says why it failed, if it did. */
static int
read_done(struct store *st, sqlite3_stmt *s, int rc, const char *what, const char *id)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc == SQLITE_DONE)
		return 0;
	store_read_fail(st, what, id);
	return -1;
}

/* One reply row of Q_GET_REPLIES, from column 2 on. -1 if a value is not what was stored. */
static int
reply_row(sqlite3_stmt *s, struct proto_reply *r)
{
	enum reply_kind k;

	memset(r, 0, sizeof(*r));
	if (addr_parse(col_text(s, 2), &r->from) < 0)
		return -1;
	r->rtt_us = (uint32_t)sqlite3_column_int64(s, 3);
	for (k = REPLY_TIME_EXCEEDED; k <= REPLY_DESTINATION; k++)
		if (strcmp(col_text(s, 4), reply_kind_name(k)) == 0)
			break;
	if (k > REPLY_DESTINATION)
		return -1;
	r->kind = k;
	r->code = (uint32_t)sqlite3_column_int64(s, 5);
	r->reply_ttl = (uint8_t)sqlite3_column_int(s, 6);
	r->quoted_ttl = (uint8_t)sqlite3_column_int(s, 7);
	r->size = (uint16_t)sqlite3_column_int(s, 8);
	r->ext = (enum proto_ext)sqlite3_column_int(s, 9);
	if (sqlite3_column_type(s, 10) != SQLITE_NULL && addr_parse(col_text(s, 10), &r->edst) < 0)
		return -1;
	if (sqlite3_column_type(s, 11) != SQLITE_NULL && proto_parse_mpls(col_text(s, 11), r) < 0)
		return -1;
	/* Bits a later version may have stored are dropped: the line would be refused. */
	r->flags = (uint8_t)(sqlite3_column_int(s, 12) & PROTO_RF_ALL);
	return 0;
}

/*
 * A hop row's reused router (columns 13 and 14 of Q_GET_REPLIES), into h; none
 * when there is none or it is not what was stored (the hop is a timeout either way).
 */
static void
hop_reused(sqlite3_stmt *s, struct proto_hop *h)
{
	sqlite3_int64 age = sqlite3_column_int64(s, 14);

	if (sqlite3_column_type(s, 13) == SQLITE_NULL || addr_parse(col_text(s, 13), &h->reused) < 0 ||
	    age < 0 || age > PROTO_REUSED_AGE_MAX) {
		memset(&h->reused, 0, sizeof(h->reused));
		return;
	}
	h->reused_age_ms = (uint32_t)age;
}

int
store_get(struct store *st, const char *id, uid_t uid, struct proto_msg *head,
    struct proto_msg *end, int (*hop)(void *, const struct proto_hop *), void *ctx)
{
	sqlite3_stmt *s;
	struct proto_hop h;
	int rc;

	if (st == NULL)
		return STORE_NONE;
	s = st->q[Q_GET];
	if (bind_text(s, 1, id) < 0 || sqlite3_bind_int64(s, 2, (sqlite3_int64)uid) != SQLITE_OK)
		return read_done(st, s, SQLITE_ERROR, "cannot read a trace", id);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? (read_done(st, s, rc, "", id), STORE_NONE) :
		    read_done(st, s, rc, "cannot read a trace", id);
	memset(head, 0, sizeof(*head));
	memset(end, 0, sizeof(*end));
	snprintf(head->id, sizeof(head->id), "%s", id);
	head->stored = end->stored = 1;
	if (addr_parse(col_text(s, 0), &head->req.client) < 0 ||
	    addr_parse(col_text(s, 2), &head->req.server) < 0) {
		sqlite3_reset(s);
		log_warnx("store: trace %s: malformed address in the database", id);
		return -1;
	}
	head->req.cport = (uint16_t)sqlite3_column_int(s, 1);
	head->req.sport = (uint16_t)sqlite3_column_int(s, 3);
	head->started_ms = (uint64_t)sqlite3_column_int64(s, 4);
	head->addr_mode = sqlite3_column_int(s, 5) ? PROTO_ADDR_PREFIX : PROTO_ADDR_FULL;
	snprintf(end->code, sizeof(end->code), "%s", col_text(s, 6));
	end->hops = sqlite3_column_int(s, 7);
	end->duration_us = (uint64_t)sqlite3_column_int64(s, 8);
	/* The schema's CHECK admits known reasons only; NULL and "" are none. */
	if (proto_proxy_parse(col_text(s, 9), strlen(col_text(s, 9)), &head->req.proxy) < 0)
		head->req.proxy = PROTO_PROXY_NONE;
	/* Another server's (fetched from a fleet's PostgreSQL); none: this one's. */
	if (proto_vantage_ok(col_text(s, 10), strlen(col_text(s, 10))))
		snprintf(head->vantage, sizeof(head->vantage), "%s", col_text(s, 10));
	if (read_done(st, s, sqlite3_step(s), "cannot read a trace", id) < 0)
		return -1;

	/* Rows come by TTL: a hop is complete when the next TTL starts. */
	s = st->q[Q_GET_REPLIES];
	if (bind_text(s, 1, id) < 0)
		return read_done(st, s, SQLITE_ERROR, "cannot read a trace's hops", id);
	h.ttl = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int ttl = sqlite3_column_int(s, 0);

		if (ttl != h.ttl) {
			if (h.ttl != 0 && hop(ctx, &h) < 0)
				break;
			memset(&h, 0, sizeof(h));
			h.ttl = ttl;
			h.sent = sqlite3_column_int(s, 1);
			hop_reused(s, &h);
		}
		if (sqlite3_column_type(s, 2) == SQLITE_NULL || h.nreplies == PROTO_MAX_REPLIES)
			continue;
		if (reply_row(s, &h.r[h.nreplies]) < 0) {
			log_warnx("store: trace %s: malformed reply in the database; skipped", id);
			continue;
		}
		h.nreplies++;
	}
	if (rc == SQLITE_DONE && h.ttl != 0 && hop(ctx, &h) < 0)
		rc = SQLITE_ABORT;
	if (rc == SQLITE_ROW || rc == SQLITE_ABORT) {
		/* The caller stopped: its visitor went away, not a database error. */
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return -1;
	}
	return read_done(st, s, rc, "cannot read a trace's hops", id);
}

/* Appends str to buf (n bytes used of len); false if it does not fit. */
static bool
append(char *buf, size_t len, size_t *n, const char *str)
{
	size_t k = strlen(str);

	if (k >= len - *n)
		return false;
	memcpy(buf + *n, str, k + 1);
	*n += k;
	return true;
}

/* Is address a among the '+'-joined addresses of hop (which ends at ',' or NUL)? */
static bool
hop_has(const char *hop, const char *a)
{
	size_t alen = strlen(a);

	for (const char *p = hop; p != NULL && *p && *p != ','; ) {
		if (strncmp(p, a, alen) == 0 && (p[alen] == '+' || p[alen] == ',' || p[alen] == '\0'))
			return true;
		if ((p = strchr(p, '+')) != NULL)
			p++;
	}
	return false;
}

/* Q_PATH's literal. */
_Static_assert(PROTO_RF_LATE == 16, "Q_PATH reads late answers by their flag");

/*
 * A trace's path for ITEM (docs/protocol.md): each hop's addresses joined
 * by '+', "*" for a silent one, hops by ','. A hop that only late answers
 * came from is "*" and those addresses ("*+192.0.2.3"); late answers of a
 * hop answered in time are left out. If that does not fit, each hop keeps
 * its first address only (one_each).
 */
static int
build_path(struct store *st, const char *id, bool one_each, char *buf, size_t len)
{
	sqlite3_stmt *s = st->q[Q_PATH];
	size_t n = 0, hop_start = 0;
	int rc = SQLITE_DONE, ttl = 0;
	bool fit = true, in_time = false;

	buf[0] = '\0';
	if (bind_text(s, 1, id) < 0)
		return read_done(st, s, SQLITE_ERROR, "cannot read a trace's path", id);
	while (fit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int t = sqlite3_column_int(s, 0);
		const char *a = col_text(s, 1);		/* "" for a silent hop */
		bool late = sqlite3_column_int(s, 2) != 0;

		if (t != ttl) {
			/* A TTL never reported below a reported one was silent. */
			while (fit && ttl + 1 < t)
				fit = append(buf, len, &n, ++ttl > 1 ? ",*" : "*");
			ttl = t;
			hop_start = n + (n > 0);
			in_time = *a && !late;
			fit = fit && append(buf, len, &n, n > 0 ? "," : "") &&
			    append(buf, len, &n, *a && !late ? a : "*") &&
			    (!late || (append(buf, len, &n, "+") && append(buf, len, &n, a)));
		} else if (*a && !one_each && !(late && in_time) && !hop_has(buf + hop_start, a))
			fit = append(buf, len, &n, "+") && append(buf, len, &n, a);
	}
	if (!fit) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return one_each ? -1 : build_path(st, id, true, buf, len);
	}
	return read_done(st, s, rc, "cannot read a trace's path", id);
}

void
store_item_read(sqlite3_stmt *s, int col, struct store_item *it)
{
	const char *vantage = col_text(s, col + 5);

	/* All but the path, which is most of it: a search fills a thousand. */
	memset(it, 0, offsetof(struct store_item, path));
	it->path[0] = '\0';
	snprintf(it->id, sizeof(it->id), "%s", col_text(s, col));
	it->started_ms = (uint64_t)sqlite3_column_int64(s, col + 1);
	snprintf(it->reason, sizeof(it->reason), "%s", col_text(s, col + 2));
	it->hops = sqlite3_column_int(s, col + 3);
	it->duration_us = (uint64_t)sqlite3_column_int64(s, col + 4);
	/* Another server's (a fleet's); none: this one's. */
	if (proto_vantage_ok(vantage, strlen(vantage)))
		snprintf(it->vantage, sizeof(it->vantage), "%s", vantage);
}

int
store_item_path(struct store *st, struct store_item *it)
{
	return build_path(st, it->id, false, it->path, sizeof(it->path));
}

int
store_history(struct store *st, const struct tt_addr *client, uid_t uid, const char *before,
    int limit, int (*item)(void *, const struct store_item *), void *ctx, bool *more)
{
	sqlite3_stmt *s;
	struct store_item *items;
	char c[ADDR_STRLEN];
	uint8_t key[ADDR_KEY_LEN];
	int rc, n = 0, ret = 0;

	*more = false;
	if (st == NULL)
		return STORE_NONE;
	if ((items = calloc((size_t)limit, sizeof(*items))) == NULL) {
		log_warn("store: history");
		return -1;
	}
	s = st->q[Q_HISTORY];
	addr_format(client, c);
	addr_key(client, key);
	if (sqlite3_bind_blob(s, 1, key, sizeof(key), SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)uid) != SQLITE_OK ||
	    (before && bind_text(s, 3, before) < 0) ||
	    sqlite3_bind_int(s, 4, limit + 1) != SQLITE_OK) {
		rc = SQLITE_ERROR;
		goto done;
	}
	/* One row more than asked says whether older traces exist. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == limit) {
			*more = true;
			continue;
		}
		store_item_read(s, 0, &items[n++]);
	}
done:
	if (read_done(st, s, rc, "cannot read a history", c) < 0) {
		free(items);
		return -1;
	}
	/* Paths after the list: Q_PATH is another statement, but one at a time is simpler to reason about. */
	for (int i = 0; i < n && ret == 0; i++) {
		if (store_item_path(st, &items[i]) < 0)
			ret = -1;
		else if (item(ctx, &items[i]) < 0)
			ret = -1;
	}
	free(items);
	return ret;
}

int
store_delete(struct store *st, const char *id, uid_t uid, const char *token)
{
	sqlite3_stmt *s;
	unsigned char diff = 0;
	const char *have;
	int rc;

	if (st == NULL)
		return STORE_NONE;
	s = st->q[Q_DELETE_CHECK];
	if (bind_text(s, 1, id) < 0 || sqlite3_bind_int64(s, 2, (sqlite3_int64)uid) != SQLITE_OK)
		return read_done(st, s, SQLITE_ERROR, "cannot delete a trace", id);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? (read_done(st, s, rc, "", id), STORE_NONE) :
		    read_done(st, s, rc, "cannot delete a trace", id);
	/* Compared in constant time: the token is the only secret here. */
	have = col_text(s, 0);
	if (strlen(have) != PROTO_ID_LEN || strlen(token) != PROTO_ID_LEN)
		diff = 1;
	else
		for (size_t i = 0; i < PROTO_ID_LEN; i++)
			diff |= (unsigned char)(have[i] ^ token[i]);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (diff)
		return STORE_BAD_TOKEN;
	if (store_trace_forget(st, id) < 0)
		return -1;
	/* A fleet's database may have it too: deleted there next (fleet.c). */
	if (st->journal_max && (bind_text(st->q[Q_SHIP_DELETE], 1, id) < 0 ||
	    step(st, st->q[Q_SHIP_DELETE]) < 0)) {
		store_fail(st, "cannot keep a deletion for PostgreSQL", id);
		return -1;
	}
	return 0;
}

int
store_import(struct store *st, const char *trace, uid_t uid)
{
	static const int rows[] = { Q_IMPORT_HOPS, Q_IMPORT_REPLIES, Q_IMPORT_LOOKUPS };
	sqlite3_stmt *s = st != NULL ? st->q[Q_IMPORT_TRACE] : NULL;
	sqlite3_int64 seq;

	if (st == NULL)
		return 0;
	if (step(st, st->q[Q_SAVEPOINT]) < 0 || bind_text(s, 1, trace) < 0 ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)uid) != SQLITE_OK || step(st, s) < 0)
		goto fail;
	/* Here already (this server's own, in a history): nothing to add. */
	if (sqlite3_changes(st->db) == 0)
		return step(st, st->q[Q_RELEASE]) < 0 ? -1 : 1;
	seq = sqlite3_last_insert_rowid(st->db);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		s = st->q[rows[i]];
		if (bind_text(s, 1, trace) < 0 || sqlite3_bind_int64(s, 2, seq) != SQLITE_OK ||
		    step(st, s) < 0)
			goto fail;
	}
	/* Found by searches as this server's own traces are (a finished trace's addresses). */
	s = st->q[Q_TRACE_ADDRS];
	if (sqlite3_bind_int64(s, 1, seq) != SQLITE_OK || step(st, s) < 0)
		goto fail;
	if (step(st, st->q[Q_RELEASE]) < 0)
		goto fail;
	return 0;
fail:
	store_fail(st, "cannot keep a trace from PostgreSQL", "-");
	sqlite3_clear_bindings(s);
	savepoint_undo(st);
	return -1;
}

int
store_forget_foreign(struct store *st)
{
	if (st == NULL)
		return 0;
	if (step(st, st->q[Q_FORGET_FOREIGN]) < 0) {
		store_fail(st, "cannot forget other servers' traces", "-");
		return -1;
	}
	return 0;
}

int
store_ship_deletes(struct store *st, int max, char **ids)
{
	sqlite3_stmt *s;
	int n = -1;

	*ids = NULL;
	if (st == NULL)
		return 0;
	s = st->q[Q_SHIP_DELETES];
	if (sqlite3_bind_int(s, 1, max) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
	    (n = sqlite3_column_int(s, 1)) > 0 &&
	    (*ids = strdup((const char *)sqlite3_column_text(s, 0))) == NULL)
		n = -1;
	if (n < 0)
		store_fail(st, "cannot read the deletions for PostgreSQL", "-");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return n;
}

int
store_ship_deletes_done(struct store *st, const char *ids)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	s = st->q[Q_SHIP_DELETES_DONE];
	if (bind_text(s, 1, ids) < 0 || step(st, s) < 0) {
		store_fail(st, "cannot mark deletions done", "-");
		return -1;
	}
	return 0;
}

int
store_sweep(struct store *st, int64_t before_ms, int batch)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	s = st->q[Q_SWEEP];
	if (sqlite3_bind_int64(s, 1, before_ms) != SQLITE_OK ||
	    sqlite3_bind_int(s, 2, batch) != SQLITE_OK || step(st, s) < 0) {
		store_fail(st, "cannot delete expired traces", "-");
		return -1;
	}
	return sqlite3_changes(st->db);
}

int
store_sites(struct store *st, int (*site)(void *, uid_t, uint64_t), void *ctx)
{
	sqlite3_stmt *s;
	int rc;

	if (st == NULL)
		return 0;
	s = st->q[Q_SITES];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (site(ctx, (uid_t)sqlite3_column_int64(s, 0),
		    (uint64_t)sqlite3_column_int64(s, 1)) < 0) {
			sqlite3_reset(s);
			return -1;
		}
	return read_done(st, s, rc, "cannot count the traces per site", "-");
}

int
store_lookup_get(struct store *st, const char *addr, const char *kind, int64_t ok_since_ms,
    int64_t failed_since_ms, char **data, size_t *len)
{
	sqlite3_stmt *s;
	int rc, ret;

	*data = NULL;
	*len = 0;
	if (st == NULL)
		return 0;
	s = st->q[Q_LOOKUP_GET];
	if (bind_text(s, 1, addr) < 0 || bind_text(s, 2, kind) < 0 ||
	    sqlite3_bind_int64(s, 3, ok_since_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, failed_since_ms) != SQLITE_OK)
		return read_done(st, s, SQLITE_ERROR, "cannot read the look-up cache", addr);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? (read_done(st, s, rc, "", addr), 0) :
		    read_done(st, s, rc, "cannot read the look-up cache", addr);
	ret = STORE_LOOKUP_FAILED;
	if (sqlite3_column_int(s, 0) == 1) {
		const void *d = sqlite3_column_blob(s, 1);
		int n = sqlite3_column_bytes(s, 1);

		if ((*data = malloc((size_t)n + 1)) == NULL) {
			sqlite3_reset(s);
			log_warn("store: look-up");
			return -1;
		}
		if (n > 0)
			memcpy(*data, d, (size_t)n);
		(*data)[n] = '\0';
		*len = (size_t)n;
		ret = STORE_LOOKUP_OK;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

static void lookup_trim(struct store *st);

int
store_lookup_put(struct store *st, const char *addr, const char *kind, bool ok, const char *data,
    size_t len, int64_t now_ms)
{
	sqlite3_stmt *s;
	int rc, kept;

	if (st == NULL)
		return ok ? 0 : 1;
	s = st->q[Q_LOOKUP_PUT];
	if (bind_text(s, 1, addr) < 0 || bind_text(s, 2, kind) < 0 ||
	    sqlite3_bind_int(s, 3, ok) != SQLITE_OK ||
	    (ok && sqlite3_bind_text(s, 4, data, (int)len, SQLITE_TRANSIENT) != SQLITE_OK) ||
	    sqlite3_bind_int64(s, 5, now_ms) != SQLITE_OK || batch_begin(st) < 0)
		return read_done(st, s, SQLITE_ERROR, "cannot cache a look-up", addr);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW)
		return read_done(st, s, rc == SQLITE_DONE ? SQLITE_ERROR : rc,
		    "cannot cache a look-up", addr);
	kept = sqlite3_column_int(s, 0);
	if ((rc = sqlite3_step(s)) != SQLITE_DONE)
		return read_done(st, s, rc, "cannot cache a look-up", addr);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (st->lookup_max > 0)
		lookup_trim(st);
	return kept ? 0 : 1;
}

void
store_lookup_limit(struct store *st, int max)
{
	if (st == NULL)
		return;
	st->lookup_max = max > 0 ? max : 0;
	st->lookup_rows = -1;
}

/*
 * Keeps the cache at lookup_max rows: past it, the oldest tenth goes, so
 * the count and the delete run once in many puts, not at each.
 */
static void
lookup_trim(struct store *st)
{
	sqlite3_stmt *s = st->q[Q_LOOKUP_COUNT];
	long keep = st->lookup_max - st->lookup_max / 10;

	if (st->lookup_rows >= 0 && ++st->lookup_rows <= st->lookup_max)
		return;
	if (sqlite3_step(s) == SQLITE_ROW)
		st->lookup_rows = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (st->lookup_rows <= st->lookup_max)
		return;
	s = st->q[Q_LOOKUP_TRIM];
	if (sqlite3_bind_int64(s, 1, st->lookup_rows - keep) != SQLITE_OK || step(st, s) < 0) {
		store_fail(st, "cannot trim the look-up cache", "-");
		return;
	}
	st->lookup_rows = keep;
}

int
store_trace_lookup(struct store *st, const char *id, const char *addr, const char *kind,
    const char *data, size_t len)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	s = st->q[Q_TRACE_LOOKUP];
	if (bind_seq(st, s, id) < 0 || bind_text(s, 2, addr) < 0 || bind_text(s, 3, kind) < 0 ||
	    sqlite3_bind_text(s, 4, data, (int)len, SQLITE_TRANSIENT) != SQLITE_OK || step(st, s) < 0)
		goto fail;
	if (strcmp(kind, "info") != 0)
		return 0;
	/* The AS and country a search finds the address by, once the trace has ended. */
	s = st->q[Q_TRACE_LOOKUP_KEYS];
	if (bind_seq(st, s, id) < 0 || bind_text(s, 2, addr) < 0 ||
	    sqlite3_bind_text(s, 3, data, (int)len, SQLITE_TRANSIENT) != SQLITE_OK || step(st, s) < 0)
		goto fail;
	return 0;
fail:
	store_fail(st, "cannot record a look-up of a trace", id);
	sqlite3_clear_bindings(s);
	return -1;
}

int
store_get_lookups(struct store *st, const char *id,
    int (*fn)(void *, const char *addr, const char *kind, const char *data, size_t len), void *ctx)
{
	sqlite3_stmt *s;
	int rc;

	if (st == NULL)
		return 0;
	s = st->q[Q_GET_LOOKUPS];
	if (bind_text(s, 1, id) < 0)
		return read_done(st, s, SQLITE_ERROR, "cannot read a trace's look-ups", id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn(ctx, col_text(s, 0), col_text(s, 1), (const char *)sqlite3_column_blob(s, 2),
		    (size_t)sqlite3_column_bytes(s, 2)) < 0) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return -1;
		}
	return read_done(st, s, rc, "cannot read a trace's look-ups", id);
}

int
store_lookup_sweep(struct store *st, int64_t ok_before_ms, int64_t failed_before_ms)
{
	sqlite3_stmt *s;

	if (st == NULL)
		return 0;
	st->lookup_rows = -1;
	s = st->q[Q_LOOKUP_SWEEP];
	if (sqlite3_bind_int64(s, 1, ok_before_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, failed_before_ms) != SQLITE_OK || step(st, s) < 0) {
		store_fail(st, "cannot delete expired look-ups", "-");
		return -1;
	}
	return sqlite3_changes(st->db);
}

/*
 * The common fields of an info body, from whereabouts ({"country":{"name":..},
 * "city":..}), ipinfo ({"country":"US","city":..,"org":"AS15169 Google LLC"},
 * or "asn":{"asn":..,"name":..}) and ip-api ({"country":..,"as":"AS15169 ..",
 * "org":..}) style services; then the country's ISO code where the body
 * names one apart from the name (ip-api's countryCode, a country_code,
 * whereabouts' and MaxMind's country.code or country.iso_code), for
 * searches. SQLite's JSON functions read it: no JSON parser of our own. A
 * private in-memory connection, so it works without a store.
 */
static const char info_fields_sql[] =
    "SELECT v, CASE WHEN v THEN coalesce(CASE json_type(?1, '$.country') "
    "WHEN 'object' THEN json_extract(?1, '$.country.name') "
    "WHEN 'text' THEN json_extract(?1, '$.country') END, json_extract(?1, '$.country_name')) END, "
    "CASE WHEN v THEN CASE json_type(?1, '$.city') WHEN 'object' THEN json_extract(?1, '$.city.name') "
    "WHEN 'text' THEN json_extract(?1, '$.city') END END, "
    "CASE WHEN v THEN coalesce(CASE json_type(?1, '$.asn') WHEN 'object' THEN json_extract(?1, '$.asn.asn') "
    "WHEN 'text' THEN json_extract(?1, '$.asn') WHEN 'integer' THEN 'AS' || json_extract(?1, '$.asn') "
    "END, (SELECT CASE WHEN a GLOB 'AS[0-9]*' THEN substr(a, 1, instr(a || ' ', ' ') - 1) END "
    "FROM (SELECT coalesce(json_extract(?1, '$.as'), json_extract(?1, '$.org')) AS a))) END, "
    "CASE WHEN v THEN coalesce(CASE json_type(?1, '$.asn') WHEN 'object' THEN json_extract(?1, '$.asn.name') END, "
    "(SELECT CASE WHEN o GLOB 'AS[0-9]* *' THEN substr(o, instr(o, ' ') + 1) ELSE o END "
    "FROM (SELECT coalesce(json_extract(?1, '$.org'), json_extract(?1, '$.as'), "
    "json_extract(?1, '$.isp')) AS o))) END, "
    "CASE WHEN v THEN coalesce(json_extract(?1, '$.countryCode'), json_extract(?1, '$.country_code'), "
    "CASE json_type(?1, '$.country') WHEN 'object' THEN coalesce(json_extract(?1, '$.country.iso_code'), "
    "json_extract(?1, '$.country.code')) END) END "
    /* json_extract fails on malformed JSON: nothing is read unless it is a valid object. */
    "FROM (SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END AS v)";

/* Reads an info body's fields into f and its country's code into code: 0, 1 (not an object) or -1. */
static int
info_read(const char *body, size_t len, struct proto_info *f, char *code, size_t clen)
{
	static sqlite3 *mem;
	static sqlite3_stmt *s;
	char *dst[] = { f->country, f->city, f->asn, f->org, code };
	size_t dlen[] = { sizeof(f->country), sizeof(f->city), sizeof(f->asn), sizeof(f->org), clen };
	int rc, valid;

	memset(f, 0, sizeof(*f));
	code[0] = '\0';
	if (s == NULL && (sqlite3_open(":memory:", &mem) != SQLITE_OK ||
	    sqlite3_prepare_v2(mem, info_fields_sql, -1, &s, NULL) != SQLITE_OK)) {
		log_warnx("store: cannot set up the JSON reader: %s", sqlite3_errmsg(mem));
		sqlite3_close(mem);
		mem = NULL;
		s = NULL;
		return -1;
	}
	if (sqlite3_bind_text(s, 1, body, (int)len, SQLITE_TRANSIENT) != SQLITE_OK ||
	    (rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		return -1;
	}
	if ((valid = sqlite3_column_int(s, 0)))
		for (int i = 0; i < 5; i++)
			snprintf(dst[i], dlen[i], "%s", col_text(s, i + 1));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return valid ? 0 : 1;
}

int
store_info_fields(const char *body, size_t len, struct proto_info *f)
{
	char code[16];

	return info_read(body, len, f, code, sizeof(code));
}

int
store_info_keys(const char *body, size_t len, uint32_t *asn, char *country, size_t clen)
{
	/*
	 * The last body read: the SQL functions tt_info_asn and tt_info_country
	 * ask of the same body in turn, and reading it is most of a trace's
	 * write with look-ups (about 40,000 instructions, callgrind).
	 */
	static struct {
		char *body;
		size_t len;
		int rc;
		uint32_t asn;
		char country[sizeof(((struct proto_info *)0)->country)];
	} last;
	struct proto_info f;
	char code[16];
	const char *p;
	uint64_t n = 0;

	if (last.body == NULL || last.len != len || memcmp(last.body, body, len) != 0) {
		free(last.body);
		if ((last.body = malloc(len ? len : 1)) == NULL)
			return -1;
		memcpy(last.body, body, len);
		last.len = len;
		last.asn = 0;
		last.country[0] = '\0';
		if ((last.rc = info_read(body, len, &f, code, sizeof(code))) == 0) {
			snprintf(last.country, sizeof(last.country), "%s", code[0] ? code : f.country);
			/* "AS15169" or "15169"; anything else (or 0, or past 32 bits) is no AS number. */
			p = f.asn + (strncasecmp(f.asn, "AS", 2) == 0 ? 2 : 0);
			for (; *p >= '0' && *p <= '9' && n <= UINT32_MAX; p++)
				n = n * 10 + (uint64_t)(*p - '0');
			if (*p == '\0' && n <= UINT32_MAX)
				last.asn = (uint32_t)n;
		}
		/* A failure to read is not kept: the next call tries again. */
		if (last.rc < 0) {
			free(last.body);
			last.body = NULL;
			return -1;
		}
	}
	*asn = last.asn;
	snprintf(country, clen, "%s", last.country);
	return last.rc;
}
