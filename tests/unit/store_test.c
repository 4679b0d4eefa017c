/* Tests of helper/broker/store.c on a real SQLite file: migrations, rows, reopening, and refusals. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../sql/migrations.h"
#include "store.h"
#include "tap.h"

/* The rows of the trace with this id: sql/007-seq.sql keys them by its row number. */
#define OF_TRACE(id)	"trace_seq = (SELECT seq FROM traces WHERE id = '" id "')"

static char tmpdir[] = "/tmp/tt-store-XXXXXX";

static const char *ID1 = "0123456789abcdef0123456789abcdef";
static const char *ID2 = "fedcba9876543210fedcba9876543210";
static const char *TOK = "00112233445566778899aabbccddeeff";

/*
 * The store under test. The broker commits its batch at the end of each round
 * of its loop: another connection (q1c, x) looks at the database as it is
 * then, so they commit it first.
 */
static struct store *watched;

static struct store *
watch(struct store *st)
{
	watched = st;
	return st;
}

static void
close_st(struct store *st)
{
	if (st == watched)
		watched = NULL;
	store_close(st);
}

/* Column col of the first row of a query, as text ("" if none). */
static const char *
q1c(const char *path, const char *sql, int col)
{
	static char out[256];
	sqlite3 *db;
	sqlite3_stmt *s;

	out[0] = '\0';
	store_commit(watched);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(out, sizeof(out), "open: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return out;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		snprintf(out, sizeof(out), "prepare: %s", sqlite3_errmsg(db));
	else {
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, col) != NULL)
			snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(s, col));
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return out;
}

static const char *
q1(const char *path, const char *sql)
{
	return q1c(path, sql, 0);
}

static int
x(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	store_commit(watched);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static void
reply(struct proto_reply *r, const char *from, uint32_t rtt, enum reply_kind k, uint32_t code,
    uint8_t ttl)
{
	memset(r, 0, sizeof(*r));
	addr_parse(from, &r->from);
	r->rtt_us = rtt;
	r->kind = k;
	r->code = code;
	r->reply_ttl = ttl;
}

/* A request from 198.51.100.7 port cport to 192.0.2.10 port sport. */
static void
v4_req(struct proto_trace_req *req, uint16_t cport, uint16_t sport)
{
	memset(req, 0, sizeof(*req));
	addr_parse("198.51.100.7", &req->client);
	addr_parse("192.0.2.10", &req->server);
	req->cport = cport;
	req->sport = sport;
}

static void
test_store(void)
{
	char path[512], err[512], want[32];
	struct store *st;
	struct proto_trace_req req;
	struct proto_hop h;
	struct stat sb;

	/* Two missing directory levels: store_open creates them. */
	snprintf(path, sizeof(path), "%s/a/b/tt.db", tmpdir);
	st = watch(store_open(path, err, sizeof(err)));
	ok(st != NULL, "store_open creates a database (%s)", st ? "" : err);
	if (st == NULL)
		return;
	ok(stat(path, &sb) == 0, "the file exists");
	ok(store_schema_version() >= 1, "at least one migration is compiled in");
	snprintf(want, sizeof(want), "%d", store_schema_version());
	is_str(q1(path, "PRAGMA user_version"), want, "user_version is the latest schema");
	is_str(q1(path, "PRAGMA journal_mode"), "wal", "journal mode is WAL");

	v4_req(&req, 51234, 443);
	is_int(store_trace_begin(st, ID1, 1000, &req, 1700000000123LL, TOK, false), 0, "trace begins");

	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 3;
	h.nreplies = 2;
	reply(&h.r[0], "192.0.2.1", 412, REPLY_TIME_EXCEEDED, 0, 64);
	reply(&h.r[1], "192.0.2.1", 398, REPLY_TIME_EXCEEDED, 0, 64);
	is_int(store_hop(st, ID1, &h), 0, "hop 1 with two replies");
	memset(&h, 0, sizeof(h));
	h.ttl = 2;
	h.sent = 3;
	is_int(store_hop(st, ID1, &h), 0, "silent hop 2");
	memset(&h, 0, sizeof(h));
	h.ttl = 3;
	h.sent = 3;
	h.nreplies = 1;
	reply(&h.r[0], "198.51.100.7", 1210, REPLY_DESTINATION, 0, 62);
	is_int(store_hop(st, ID1, &h), 0, "hop 3, the destination");
	is_int(store_trace_end(st, ID1, "destination", 3, 1700000000200LL, 5120), 0, "trace ends");
	is_int(store_errors(st), 0, "no errors so far");

	/* Errors are reported and counted, and the store goes on working. */
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 1;
	h.nreplies = 1;
	reply(&h.r[0], "192.0.2.9", 1, REPLY_TIME_EXCEEDED, 0, 1);
	is_int(store_hop(st, ID1, &h), -1, "a duplicate hop fails");
	is_int(store_hop(st, ID2, &h), -1, "a hop of an unknown trace fails (foreign key)");
	is_int(store_trace_end(st, ID2, "max-hops", 1, 1, 1), -1, "the end of an unknown trace fails");
	is_int(store_trace_begin(st, ID1, 1000, &req, 1, TOK, false), -1, "a duplicate trace id fails");
	is_int(store_errors(st), 4, "four errors counted");

	addr_parse("2001:db8::7", &req.client);
	addr_parse("2001:db8::10", &req.server);
	is_int(store_trace_begin(st, ID2, 33, &req, 1700000001000LL, TOK, false), 0,
	    "an IPv6 trace begins after the errors");
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 16;
	h.nreplies = PROTO_MAX_REPLIES;
	for (int i = 0; i < PROTO_MAX_REPLIES; i++)
		reply(&h.r[i], "2001:db8::1", (uint32_t)i, REPLY_PACKET_TOO_BIG, 1280, 255);
	is_int(store_hop(st, ID2, &h), 0, "a hop with 16 replies");
	close_st(st);

	/* Reopening applies nothing and keeps the rows. */
	st = watch(store_open(path, err, sizeof(err)));
	ok(st != NULL, "reopens (%s)", st ? "" : err);
	is_str(q1(path, "PRAGMA user_version"), want, "user_version unchanged");
	is_str(q1(path, "PRAGMA integrity_check"), "ok", "integrity_check ok");
	is_str(q1(path, "PRAGMA foreign_key_check"), "", "foreign_key_check clean");
	is_str(q1(path, "SELECT count(*) FROM traces"), "2", "two traces");
	is_str(q1(path, "SELECT uid || ' ' || family || ' ' || client || ' ' || cport || ' ' || "
	    "server || ' ' || sport || ' ' || started_at || ' ' || ended_at || ' ' || reason || ' ' "
	    "|| hops || ' ' || duration_us FROM traces WHERE id = '0123456789abcdef0123456789abcdef'"),
	    "1000 4 198.51.100.7 51234 192.0.2.10 443 1700000000123 1700000000200 destination 3 5120",
	    "trace row");
	is_str(q1(path, "SELECT group_concat(ttl || ':' || sent, ' ') FROM (SELECT * FROM hops "
	    "WHERE " OF_TRACE("0123456789abcdef0123456789abcdef") " ORDER BY ttl)"),
	    "1:3 2:3 3:3", "hop rows (the duplicate was not stored)");
	is_str(q1(path, "SELECT group_concat(ttl || ',' || idx || ',' || addr || ',' || rtt_us || ','"
	    " || kind || ',' || code || ',' || reply_ttl, ' ') FROM (SELECT * FROM replies WHERE "
	    OF_TRACE("0123456789abcdef0123456789abcdef") " ORDER BY ttl, idx)"),
	    "1,0,192.0.2.1,412,time-exceeded,0,64 1,1,192.0.2.1,398,time-exceeded,0,64 "
	    "3,0,198.51.100.7,1210,destination,0,62", "reply rows (none from the failed hop)");
	is_str(q1(path, "SELECT family || ' ' || client || ' ' || uid || ' ' || "
	    "coalesce(ended_at, 'running') FROM traces WHERE id = 'fedcba9876543210fedcba9876543210'"),
	    "6 2001:db8::7 33 running", "IPv6 trace row, not ended");
	is_str(q1(path, "SELECT count(*) || ' ' || min(kind) || ' ' || max(code) FROM replies "
	    "WHERE " OF_TRACE("fedcba9876543210fedcba9876543210")), "16 packet-too-big 1280",
	    "16 replies stored");
	is_str(q1(path, "SELECT hex(client_key) FROM traces WHERE id = "
	    "'fedcba9876543210fedcba9876543210'"), "20010DB8000000000000000000000007",
	    "the visitor's key (sql/011-query.sql)");
	ok(strstr(q1c(path, "EXPLAIN QUERY PLAN SELECT * FROM traces WHERE client_key = "
	    "x'00000000000000000000ffffc0000201' AND started_at > 5", 3), "traces_client_key") != NULL,
	    "a visitor's traces are found by the index on the key");
	close_st(st);

	is_int(x(path, "PRAGMA foreign_keys = ON; DELETE FROM traces WHERE id = "
	    "'0123456789abcdef0123456789abcdef'"), 0, "delete a trace");
	is_str(q1(path, "SELECT count(*) FROM hops WHERE "
	    OF_TRACE("0123456789abcdef0123456789abcdef")), "0", "its hops cascade");
	is_str(q1(path, "SELECT count(*) FROM replies WHERE "
	    OF_TRACE("0123456789abcdef0123456789abcdef")), "0", "its replies cascade");

	/* A database from newer code is refused, untouched. */
	is_int(x(path, "PRAGMA user_version = 999"), 0, "set a future user_version");
	st = watch(store_open(path, err, sizeof(err)));
	ok(st == NULL, "store_open refuses a newer database");
	ok(strstr(err, "newer") != NULL && strstr(err, path) != NULL,
	    "the message says newer and names the file (%s)", err);
	close_st(st);
	is_str(q1(path, "PRAGMA user_version"), "999", "user_version untouched");
}

static void
test_migrations(void)
{
	static const char *const good[] = {
		"CREATE TABLE a (x INTEGER);",
		"CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);",
		NULL,
	};
	static const char *const broken[] = {
		"CREATE TABLE a (x INTEGER);",
		"CREATE TABLE b (y INTEGER); INSERT INTO nosuch VALUES (1);",
		NULL,
	};
	char path[512], err[512];
	struct store *st;

	snprintf(path, sizeof(path), "%s/m.db", tmpdir);
	st = watch(store_open_with(path, broken, err, sizeof(err)));
	ok(st == NULL, "a failing migration fails store_open");
	ok(strstr(err, "migration 002") != NULL && strstr(err, "nosuch") != NULL,
	    "the message names the migration and the cause (%s)", err);
	is_str(q1(path, "PRAGMA user_version"), "1", "the first migration stayed committed");
	is_str(q1(path, "SELECT count(*) FROM sqlite_master WHERE name = 'b'"), "0",
	    "the failed migration was rolled back whole");

	/*
	 * The statements the store prepares need its own schema, so this
	 * store_open_with fails after migrating; the migration is what counts.
	 */
	st = watch(store_open_with(path, good, err, sizeof(err)));
	close_st(st);
	is_str(q1(path, "PRAGMA user_version"), "2", "the fixed migration applies from version 1");
	is_str(q1(path, "SELECT count(*) FROM a"), "1", "its statements ran once");
}

static void
test_refusals(void)
{
	char path[512], err[512];
	struct store *st;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/garbage.db", tmpdir);
	if ((fp = fopen(path, "w")) != NULL) {
		for (int i = 0; i < 200; i++)
			fputs("this is not a database ", fp);
		fclose(fp);
	}
	st = watch(store_open(path, err, sizeof(err)));
	ok(st == NULL && strstr(err, path) != NULL, "a file that is not a database is refused (%s)",
	    err);
	close_st(st);

	snprintf(path, sizeof(path), "%s/garbage.db/x.db", tmpdir);
	st = watch(store_open(path, err, sizeof(err)));
	ok(st == NULL && strstr(err, path) != NULL, "a path under a file is refused (%s)", err);

	/* No storage: every writer is a harmless no-op. */
	store_close(NULL);
	ok(store_trace_begin(NULL, ID1, 0, NULL, 0, TOK, false) == 0 && store_hop(NULL, ID1, NULL) == 0 &&
	    store_trace_end(NULL, ID1, "x", 0, 0, 0) == 0 && store_errors(NULL) == 0,
	    "a NULL store does nothing");
}

static void
test_forget(void)
{
	char path[512], err[512], sql[256];
	struct proto_trace_req req;
	struct proto_hop h;
	struct store *st;
	uint64_t batch;

	snprintf(path, sizeof(path), "%s/forget.db", tmpdir);
	if ((st = watch(store_open(path, err, sizeof(err)))) == NULL) {
		ok(0, "store_open: %s", err);
		return;
	}
	v4_req(&req, 1, 80);
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 3;
	h.nreplies = 1;
	reply(&h.r[0], "192.0.2.1", 412, REPLY_TIME_EXCEEDED, 0, 64);
	store_trace_begin(st, ID1, 0, &req, 1, TOK, false);
	store_hop(st, ID1, &h);
	store_trace_begin(st, ID2, 0, &req, 1, TOK, false);
	store_hop(st, ID2, &h);
	is_int(store_trace_forget(st, ID1), 0, "a trace is forgotten");
	is_int(store_commit(st), 0, "the batch is committed");
	snprintf(sql, sizeof(sql), "SELECT (SELECT count(*) FROM traces) || ' ' || "
	    "(SELECT count(*) FROM hops) || ' ' || (SELECT count(*) FROM replies)");
	is_str(q1(path, sql), "1 1 1", "with its hops and replies; the other stays");
	is_int(store_trace_forget(st, ID1), 0, "forgetting it again is harmless");
	is_int(store_trace_forget(NULL, ID1), 0, "no store: nothing to do");

	/* A write refused halfway through a hop leaves nothing of that hop. */
	ok(x(path, "CREATE TRIGGER full BEFORE INSERT ON replies WHEN NEW.idx = 1 BEGIN "
	    "SELECT RAISE(ABORT, 'disk full (test)'); END") == 0, "the second reply's insert fails");
	batch = store_batch(st);
	h.ttl = 3;
	is_int(store_hop(st, ID2, &h), 0, "a hop of one reply goes into the batch");
	h.ttl = 2;
	h.nreplies = 2;
	reply(&h.r[1], "192.0.2.2", 500, REPLY_TIME_EXCEEDED, 0, 64);
	is_int(store_hop(st, ID2, &h), -1, "the hop fails");
	is_int(store_commit(st), 0, "the batch around it is committed");
	ok(!store_lost_since(st, batch), "... and was not lost");
	is_str(q1(path, "SELECT group_concat(ttl) FROM hops WHERE "
	    OF_TRACE("fedcba9876543210fedcba9876543210")), "1,3",
	    "the failed hop is rolled back, no hop without its replies; the batch's other stays");
	x(path, "DROP TRIGGER full");
	is_int(store_hop(st, ID2, &h), 0, "the store works again afterwards");

	/* SQLite rolls a whole transaction back on some errors (a full disk): the batch is lost. */
	ok(x(path, "CREATE TRIGGER full BEFORE INSERT ON replies WHEN NEW.ttl = 5 BEGIN "
	    "SELECT RAISE(ROLLBACK, 'disk full (test)'); END") == 0,
	    "a reply's insert rolls the transaction back");
	batch = store_batch(st);
	h.ttl = 4;
	store_hop(st, ID2, &h);
	ok(!store_lost_since(st, batch), "a batch with a hop is open, not lost");
	h.ttl = 5;
	is_int(store_hop(st, ID2, &h), -1, "the next hop fails");
	ok(store_lost_since(st, batch), "... the batch is lost");
	is_int(store_commit(st), 0, "nothing is left to commit");
	is_str(q1(path, "SELECT group_concat(ttl) FROM hops WHERE "
	    OF_TRACE("fedcba9876543210fedcba9876543210")), "1,2,3",
	    "the batch's earlier hop went with it");
	batch = store_batch(st);
	x(path, "DROP TRIGGER full");
	h.ttl = 6;
	is_int(store_hop(st, ID2, &h), 0, "the next batch works");
	is_int(store_commit(st), 0, "... and commits");
	ok(!store_lost_since(st, batch), "... not lost");
	close_st(st);
}

/*
 * kill -9 in the middle of a stream of writes: the database stays sound and
 * every trace whose end was written before the kill is there whole.
 */
static void
test_kill(void)
{
	char path[512], err[512], sql[512], id[40];
	int pfd[2], n = 0, bad = 0, status;
	FILE *fp;
	pid_t p;

	snprintf(path, sizeof(path), "%s/kill.db", tmpdir);
	if (pipe(pfd) < 0)
		return;
	fflush(stdout);
	if ((p = fork()) == 0) {
		struct proto_trace_req req;
		struct proto_hop h;
		struct store *st;

		close(pfd[0]);
		if ((st = watch(store_open(path, err, sizeof(err)))) == NULL)
			_exit(2);
		memset(&req, 0, sizeof(req));
		addr_parse("198.51.100.7", &req.client);
		addr_parse("192.0.2.10", &req.server);
		req.cport = 1;
		req.sport = 80;
		for (unsigned i = 0;; i++) {
			snprintf(id, sizeof(id), "%032x", i);
			/* Committed where the broker commits: at the begin, and before END says stored. */
			store_trace_begin(st, id, 0, &req, 1, TOK, false);
			store_commit(st);
			for (int t = 1; t <= 5; t++) {
				memset(&h, 0, sizeof(h));
				h.ttl = t;
				h.sent = 3;
				h.nreplies = 3;
				for (int r = 0; r < 3; r++)
					reply(&h.r[r], "192.0.2.1", 400, REPLY_TIME_EXCEEDED, 0, 64);
				store_hop(st, id, &h);
			}
			if (store_trace_end(st, id, "max-hops", 5, 2, 1) == 0 && store_commit(st) == 0) {
				id[32] = '\n';
				if (write(pfd[1], id, 33) != 33)
					_exit(3);
			}
		}
	}
	close(pfd[1]);
	usleep(400000);
	kill(p, SIGKILL);
	waitpid(p, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the writer was killed (-9)");
	fp = fdopen(pfd[0], "r");
	while (fp != NULL && fgets(id, sizeof(id), fp) != NULL) {
		id[strcspn(id, "\n")] = '\0';
		snprintf(sql, sizeof(sql), "SELECT (ended_at IS NOT NULL) || ' ' || hops || ' ' || "
		    "(SELECT count(*) FROM hops WHERE " OF_TRACE("%s") ") || ' ' || "
		    "(SELECT count(*) FROM replies WHERE " OF_TRACE("%s") ") FROM traces WHERE id = '%s'",
		    id, id, id);
		if (strcmp(q1(path, sql), "1 5 5 15") != 0)
			bad++;
		n++;
	}
	if (fp != NULL)
		fclose(fp);
	ok(n > 0, "traces ended before the kill: %d", n);
	is_str(q1(path, "PRAGMA integrity_check"), "ok", "integrity_check passes");
	is_int(bad, 0, "every one of them is whole: ended, 5 hops, 15 replies");
	is_str(q1(path, "PRAGMA foreign_key_check"), "", "no orphaned hops or replies");
}

/* Collects what store_get and store_history hand over. */
struct got {
	struct proto_hop hops[8];
	int nhops;
	struct store_item items[8];
	int nitems;
	int stop_after;		/* return -1 after this many (0: never) */
};

static int
got_hop(void *ctx, const struct proto_hop *h)
{
	struct got *g = ctx;

	if (g->nhops < 8)
		g->hops[g->nhops] = *h;
	g->nhops++;
	return g->stop_after && g->nhops >= g->stop_after ? -1 : 0;
}

static int
got_item(void *ctx, const struct store_item *it)
{
	struct got *g = ctx;

	if (g->nitems < 8)
		g->items[g->nitems] = *it;
	g->nitems++;
	return 0;
}

/* A trace ID from a number, for many traces. */
static const char *
idn(int n, char *buf)
{
	snprintf(buf, PROTO_ID_LEN + 1, "%032x", n);
	return buf;
}

/* Stores a finished trace whose hops answer from the given addresses ("*": silent). */
static void
put_trace(struct store *st, const char *id, uid_t uid, const char *client, int64_t at,
    const char *const *path, int nhops, bool prefix)
{
	struct proto_trace_req req;
	struct proto_hop h;

	memset(&req, 0, sizeof(req));
	addr_parse(client, &req.client);
	addr_parse(strchr(client, ':') ? "2001:db8::10" : "192.0.2.10", &req.server);
	req.cport = 40000;
	req.sport = 80;
	store_trace_begin(st, id, uid, &req, at, TOK, prefix);
	for (int i = 0; i < nhops; i++) {
		memset(&h, 0, sizeof(h));
		h.ttl = i + 1;
		h.sent = 2;
		if (strcmp(path[i], "*") != 0) {
			h.nreplies = 2;
			reply(&h.r[0], path[i], 100, REPLY_TIME_EXCEEDED, 0, 64);
			reply(&h.r[1], path[i], 110, REPLY_TIME_EXCEEDED, 0, 64);
		}
		store_hop(st, id, &h);
	}
	store_trace_end(st, id, "destination", nhops, at + 10, 3000);
}

/* A new database of schema version v (the first v migrations), empty, as path. */
static void
old_schema(char *path, size_t len, int v)
{
	const char *m[16] = { NULL };
	char err[512], want[16];

	memcpy(m, sql_migrations, (size_t)v * sizeof(m[0]));
	snprintf(path, len, "%s/v%d.db", tmpdir, v);
	/* The store fails once the database is open: its statements need the newer columns. */
	store_close(store_open_with(path, m, err, sizeof(err)));
	snprintf(want, sizeof(want), "%d", v);
	is_str(q1(path, "PRAGMA user_version"), want, "a database of schema %d", v);
}

/*
 * A database of schema 4, from before reply flags, with a finished trace:
 * it migrates, its replies read back without flags, new ones keep theirs,
 * and a bit of a later version is dropped on reading.
 */
static void
test_flags_migration(void)
{
	char path[512], err[512], want[32];
	struct proto_msg head, end;
	struct proto_hop h;
	struct store *st;
	struct got g;

	old_schema(path, sizeof(path), 4);
	is_int(x(path, "INSERT INTO traces (id, uid, family, client, cport, server, sport, "
	    "started_at, ended_at, reason, hops, duration_us) VALUES "
	    "('0123456789abcdef0123456789abcdef', 33, 4, '198.51.100.7', 51234, '192.0.2.10', 443, "
	    "1700000000123, 1700000000200, 'destination', 1, 5120); "
	    "INSERT INTO hops VALUES ('0123456789abcdef0123456789abcdef', 1, 3); "
	    "INSERT INTO replies (trace_id, ttl, idx, addr, rtt_us, kind, code, reply_ttl) VALUES "
	    "('0123456789abcdef0123456789abcdef', 1, 0, '198.51.100.7', 1210, 'destination', 0, 62)"),
	    0, "... with a trace in it");
	st = watch(store_open(path, err, sizeof(err)));
	ok(st != NULL, "it migrates (%s)", st ? "" : err);
	if (st == NULL)
		return;
	snprintf(want, sizeof(want), "%d", store_schema_version());
	is_str(q1(path, "PRAGMA user_version"), want, "... to the latest schema");
	memset(&g, 0, sizeof(g));
	is_int(store_get(st, ID1, 33, &head, &end, got_hop, &g), 0, "the old trace is read");
	ok(g.nhops == 1 && g.hops[0].nreplies == 1 && g.hops[0].r[0].flags == 0,
	    "... its reply without flags");

	store_trace_begin(st, ID2, 33, &head.req, 1700000001000LL, TOK, false);
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 1;
	h.nreplies = 1;
	reply(&h.r[0], "198.51.100.7", 1210, REPLY_DESTINATION, 0, 62);
	h.r[0].flags = PROTO_RF_ALL;
	is_int(store_hop(st, ID2, &h), 0, "a reply with every flag is stored");
	store_trace_end(st, ID2, "destination", 1, 1700000001100LL, 100);
	store_commit(st);
	is_str(q1(path, "SELECT flags FROM replies WHERE "
	    OF_TRACE("fedcba9876543210fedcba9876543210")), "31", "... as their sum");
	is_int(x(path, "UPDATE replies SET flags = 256"), -1, "the column refuses more than 8 bits");
	is_int(x(path, "UPDATE replies SET flags = 0x84 WHERE "
	    OF_TRACE("fedcba9876543210fedcba9876543210")), 0, "a bit of a later version, stored");
	memset(&g, 0, sizeof(g));
	is_int(store_get(st, ID2, 33, &head, &end, got_hop, &g), 0, "... is read");
	is_int(g.hops[0].r[0].flags, PROTO_RF_BY_COUNT, "... without the bit this version lacks");
	is_int(store_errors(st), 0, "no errors");
	close_st(st);
}

/*
 * A database of schema 6, keyed by the traces' random ids, with two traces,
 * their hops, replies and look-ups: migration 7 keys them by row number in
 * the order the traces were stored, loses nothing, and deletes still cascade.
 */
static void
test_seq_migration(void)
{
	char path[512], err[512];
	struct store *st;

	old_schema(path, sizeof(path), 6);
	is_int(x(path, "INSERT INTO traces (id, uid, family, client, cport, server, sport, "
	    "started_at, ended_at, reason, hops, duration_us, token, proxy) VALUES "
	    "('ffffffffffffffffffffffffffffffff', 33, 4, '198.51.100.7', 51234, '192.0.2.10', 443, "
	    "1700000000123, 1700000000200, 'destination', 2, 5120, '00112233445566778899aabbccddeeff', "
	    "'via'), "
	    "('00000000000000000000000000000001', 34, 6, '2001:db8::7', 1, '2001:db8::10', 80, "
	    "1700000000300, NULL, NULL, NULL, NULL, NULL, NULL); "
	    "INSERT INTO hops VALUES ('ffffffffffffffffffffffffffffffff', 1, 3, NULL, NULL), "
	    "('ffffffffffffffffffffffffffffffff', 2, 1, '192.0.2.9', 120), "
	    "('00000000000000000000000000000001', 1, 3, NULL, NULL); "
	    "INSERT INTO replies (trace_id, ttl, idx, addr, rtt_us, kind, code, reply_ttl, flags) "
	    "VALUES ('ffffffffffffffffffffffffffffffff', 1, 0, '192.0.2.1', 400, 'time-exceeded', "
	    "0, 64, 4), ('ffffffffffffffffffffffffffffffff', 1, 1, '192.0.2.1', 410, "
	    "'time-exceeded', 0, 64, 0), ('00000000000000000000000000000001', 1, 0, "
	    "'2001:db8::1', 90, 'time-exceeded', 0, 64, 0); "
	    "INSERT INTO trace_lookups VALUES ('ffffffffffffffffffffffffffffffff', '192.0.2.1', "
	    "'name', 'r1.example')"), 0, "... with two traces in it");
	st = watch(store_open(path, err, sizeof(err)));
	ok(st != NULL, "it migrates to schema 7 (%s)", st ? "" : err);
	if (st == NULL)
		return;
	is_str(q1(path, "SELECT group_concat(seq || ':' || id || ':' || coalesce(proxy, '-'), ' ') "
	    "FROM traces"), "1:ffffffffffffffffffffffffffffffff:via "
	    "2:00000000000000000000000000000001:-", "traces numbered in the order they were stored");
	is_str(q1(path, "SELECT group_concat(trace_seq || '/' || ttl || '/' || sent || '/' || "
	    "coalesce(reused_addr, '-'), ' ') FROM hops"), "1/1/3/- 1/2/1/192.0.2.9 2/1/3/-",
	    "hops by row number, reused router kept");
	is_str(q1(path, "SELECT group_concat(trace_seq || '/' || ttl || '/' || idx || '/' || addr "
	    "|| '/' || flags, ' ') FROM replies"),
	    "1/1/0/192.0.2.1/4 1/1/1/192.0.2.1/0 2/1/0/2001:db8::1/0", "replies with their flags");
	is_str(q1(path, "SELECT trace_seq || ' ' || data FROM trace_lookups"), "1 r1.example",
	    "look-ups");
	is_str(q1(path, "PRAGMA foreign_key_check"), "", "foreign_key_check clean");
	is_int(store_delete(st, "ffffffffffffffffffffffffffffffff", 33, TOK), 0,
	    "the migrated trace is deleted by its token");
	is_str(q1(path, "SELECT (SELECT count(*) FROM hops) || ' ' || (SELECT count(*) FROM "
	    "replies) || ' ' || (SELECT count(*) FROM trace_lookups)"), "1 1 0",
	    "its hops, replies and look-ups went with it; the other's stay");
	is_int(store_errors(st), 0, "no errors");
	close_st(st);
}

static int
first_row(void *ctx, const struct store_query_item *qi)
{
	char *id = ctx;

	if (*id == '\0')
		snprintf(id, PROTO_ID_LEN + 1, "%s", qi->item.id);
	return 0;
}

/* The id of the first trace search q finds: "" for none, "(failed)" if it fails. */
static const char *
first_found(struct store *st, const struct store_query *q)
{
	static char id[PROTO_ID_LEN + 1];
	bool more;

	id[0] = '\0';
	return store_query(st, q, first_row, id, &more) == 0 ? id : "(failed)";
}

/*
 * A database of schema 10 with four traces: migration 11 keys each visitor
 * (a stored prefix by its first address) and keeps each finished trace's
 * distinct hop addresses, late answers' too, with the AS and country of the
 * info look-ups kept with it; an address that does not parse is passed over.
 * The searches find them; the history asks by the key.
 */
static void
test_query_migration(void)
{
	char path[512], err[512];
	struct store_query q;
	struct tt_addr visitor;
	struct store *st;
	struct got g;
	bool more;

	old_schema(path, sizeof(path), 10);
	is_int(x(path, "INSERT INTO traces (seq, id, uid, family, client, cport, server, sport, "
	    "started_at, ended_at, reason, hops, duration_us, token, client_prefix) VALUES "
	    "(1, 'a0000000000000000000000000000001', 33, 4, '198.51.100.7', 51234, '192.0.2.10', 443, "
	    "1700000001000, 1700000001050, 'destination', 3, 5120, NULL, 0), "
	    "(2, 'a0000000000000000000000000000002', 33, 6, '2001:db8::7', 51234, '2001:db8::10', 443, "
	    "1700000002000, 1700000002050, 'destination', 2, 5120, NULL, 0), "
	    "(3, 'a0000000000000000000000000000003', 33, 4, '198.51.100.8', 51234, '192.0.2.10', 443, "
	    "1700000003000, NULL, NULL, NULL, NULL, NULL, 0), "
	    "(4, 'a0000000000000000000000000000004', 33, 4, '203.0.113.0', 51234, '192.0.2.10', 443, "
	    "1700000004000, 1700000004050, 'gap-limit', 2, 5120, NULL, 1); "
	    "INSERT INTO hops (trace_seq, ttl, sent) VALUES (1, 1, 3), (1, 2, 3), (1, 3, 3), "
	    "(2, 1, 3), (2, 2, 3), (3, 1, 3), (4, 1, 3), (4, 2, 3); "
	    "INSERT INTO replies (trace_seq, ttl, idx, addr, rtt_us, kind, code, reply_ttl, flags) "
	    "VALUES (1, 1, 0, '192.0.2.1', 400, 'time-exceeded', 0, 64, 0), "
	    "(1, 1, 1, '192.0.2.1', 410, 'time-exceeded', 0, 64, 0), "
	    "(1, 2, 0, '203.0.113.3', 900000, 'time-exceeded', 0, 62, 16), "
	    "(1, 3, 0, '198.51.100.7', 1200, 'destination', 0, 60, 0), "
	    "(2, 1, 0, '2001:db8::1', 300, 'time-exceeded', 0, 64, 0), "
	    "(2, 2, 0, '2001:db8::7', 900, 'destination', 0, 60, 0), "
	    "(3, 1, 0, '192.0.2.1', 300, 'time-exceeded', 0, 64, 0), "
	    "(4, 1, 0, '192.0.2.1', 300, 'time-exceeded', 0, 64, 0), "
	    "(4, 2, 0, 'not-an-address', 300, 'time-exceeded', 0, 64, 0); "
	    "INSERT INTO trace_lookups VALUES "
	    "(1, '192.0.2.1', 'info', '{\"country\":\"US\",\"org\":\"AS15169 Google LLC\"}'), "
	    "(1, '203.0.113.3', 'name', 'r3.example'), "
	    "(2, '2001:db8::1', 'info', '{\"country\":{\"code\":\"NL\",\"name\":\"Netherlands\"},"
	    "\"asn\":64501}')"), 0, "... with four traces in it");
	st = watch(store_open(path, err, sizeof(err)));
	ok(st != NULL, "it migrates to schema 11 (%s)", st ? "" : err);
	if (st == NULL)
		return;
	is_str(q1(path, "SELECT group_concat(seq || ':' || lower(hex(client_key)), ' ') FROM "
	    "(SELECT * FROM traces ORDER BY seq)"),
	    "1:00000000000000000000ffffc6336407 2:20010db8000000000000000000000007 "
	    "3:00000000000000000000ffffc6336408 4:00000000000000000000ffffcb007100",
	    "every visitor keyed, IPv4 as mapped, a prefix by its first address");
	is_str(q1(path, "SELECT group_concat(trace_seq || ':' || lower(hex(addr_key)) || ':' || "
	    "coalesce(asn, '-') || ':' || coalesce(country, '-'), ' ') FROM "
	    "(SELECT * FROM trace_addrs ORDER BY trace_seq, addr_key)"),
	    "1:00000000000000000000ffffc0000201:15169:US "
	    "1:00000000000000000000ffffc6336407:-:- 1:00000000000000000000ffffcb007103:-:- "
	    "2:20010db8000000000000000000000001:64501:NL 2:20010db8000000000000000000000007:-:- "
	    "4:00000000000000000000ffffc0000201:-:-",
	    "each finished trace's hop addresses once, the late one too, AS and country from "
	    "info look-ups; none for the running trace or the address that does not parse");
	is_str(q1(path, "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master "
	    "WHERE type = 'index' AND tbl_name IN ('traces', 'trace_addrs') AND sql IS NOT NULL "
	    "ORDER BY name)"), "trace_addrs_asn trace_addrs_country trace_addrs_trace "
	    "traces_client_key traces_foreign traces_reason_started traces_ship traces_started "
	    "traces_uid_started", "the indexes: the key's replaces the client text's");
	is_str(q1(path, "PRAGMA foreign_key_check"), "", "foreign_key_check clean");

	memset(&q, 0, sizeof(q));
	q.limit = 10;
	q.has_hop = addr_prefix_parse("203.0.113.3", &q.hop, &q.hop_bits) == 0;
	is_str(first_found(st, &q), "a0000000000000000000000000000001", "a search finds the late hop");
	q.has_hop = false;
	q.asn = 64501;
	is_str(first_found(st, &q), "a0000000000000000000000000000002", "... the AS of a look-up");
	q.asn = 0;
	q.has_visitor = addr_prefix_parse("203.0.113.0/24", &q.visitor, &q.visitor_bits) == 0;
	is_str(first_found(st, &q), "a0000000000000000000000000000004",
	    "... the visitor stored as a prefix");
	addr_parse("198.51.100.7", &visitor);
	memset(&g, 0, sizeof(g));
	is_int(store_history(st, &visitor, 33, NULL, 5, got_item, &g, &more), 0, "the history");
	ok(g.nitems == 1 && strcmp(g.items[0].path, "192.0.2.1,*+203.0.113.3,198.51.100.7") == 0,
	    "... finds the migrated trace by its key: %s", g.items[0].path);
	is_int(store_errors(st), 0, "no errors");
	close_st(st);
}

/*
 * Opens NAME in the scratch directory (its path in path) and begins trace
 * ID1 of uid 33, 198.51.100.7:51234 to 192.0.2.10:443 (req); NULL if it cannot.
 */
static struct store *
open_begun(const char *name, char *path, size_t len, struct proto_trace_req *req)
{
	char err[512];
	struct store *st;

	snprintf(path, len, "%s/%s", tmpdir, name);
	if ((st = watch(store_open(path, err, sizeof(err)))) == NULL) {
		ok(0, "store_open: %s", err);
		return NULL;
	}
	memset(req, 0, sizeof(*req));
	addr_parse("198.51.100.7", &req->client);
	addr_parse("192.0.2.10", &req->server);
	req->cport = 51234;
	req->sport = 443;
	store_trace_begin(st, ID1, 33, req, 1700000000123LL, TOK, false);
	return st;
}

static void
test_read(void)
{
	static const char *const p1[] = { "192.0.2.1", "*", "198.51.100.7" };
	static const char *const p2[] = { "192.0.2.1", "192.0.2.2", "198.51.100.7" };
	char path[512], id[PROTO_ID_LEN + 1];
	struct proto_msg head, end;
	struct proto_trace_req req;
	struct proto_hop h;
	struct tt_addr visitor;
	struct store *st;
	struct got g;
	bool more;

	/* A trace with every reply field, read back whole. */
	if ((st = open_begun("read.db", path, sizeof(path), &req)) == NULL)
		return;
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 3;
	h.nreplies = 2;
	reply(&h.r[0], "192.0.2.1", 412, REPLY_TIME_EXCEEDED, 0, 64);
	h.r[0].quoted_ttl = 2;
	h.r[0].size = 148;
	h.r[0].ext = PROTO_EXT_RFC4884;
	h.r[0].nmpls = 2;
	h.r[0].mpls[0].label = 16005;
	h.r[0].mpls[0].ttl = 1;
	h.r[0].mpls[1].label = 24001;
	h.r[0].mpls[1].exp = 5;
	h.r[0].mpls[1].s = 1;
	h.r[0].mpls[1].ttl = 1;
	h.r[0].flags = PROTO_RF_ID_CHANGED;
	reply(&h.r[1], "192.0.2.1", 398, REPLY_PACKET_TOO_BIG, 1400, 64);
	addr_parse("10.1.2.3", &h.r[1].edst);
	store_hop(st, ID1, &h);
	memset(&h, 0, sizeof(h));
	h.ttl = 2;
	h.sent = 3;
	store_hop(st, ID1, &h);
	memset(&h, 0, sizeof(h));
	h.ttl = 3;
	h.sent = 3;
	h.nreplies = 1;
	reply(&h.r[0], "198.51.100.7", 1210, REPLY_DESTINATION, 0, 62);
	h.r[0].flags = PROTO_RF_BY_COUNT | PROTO_RF_AMBIGUOUS;
	store_hop(st, ID1, &h);

	memset(&g, 0, sizeof(g));
	is_int(store_get(st, ID1, 33, &head, &end, got_hop, &g), STORE_NONE,
	    "a trace still running is not served");
	store_trace_end(st, ID1, "destination", 3, 1700000000200LL, 5120);
	is_int(store_get(st, ID1, 33, &head, &end, got_hop, &g), 0, "a finished trace is read");
	ok(addr_equal(&head.req.client, &req.client) && head.req.cport == 51234 &&
	    addr_equal(&head.req.server, &req.server) && head.req.sport == 443,
	    "... its connection");
	ok(head.started_ms == 1700000000123ULL && head.addr_mode == PROTO_ADDR_FULL && head.stored == 1,
	    "... its start, address mode and stored");
	ok(strcmp(end.code, "destination") == 0 && end.hops == 3 && end.duration_us == 5120,
	    "... its end");
	is_int(g.nhops, 3, "... three hops, the silent one too");
	ok(g.hops[0].sent == 3 && g.hops[0].nreplies == 2 && g.hops[1].nreplies == 0 &&
	    g.hops[2].nreplies == 1, "... with their replies");
	ok(g.hops[0].r[0].quoted_ttl == 2 && g.hops[0].r[0].size == 148 &&
	    g.hops[0].r[0].ext == PROTO_EXT_RFC4884 && g.hops[0].r[0].nmpls == 2 &&
	    g.hops[0].r[0].mpls[1].label == 24001 && g.hops[0].r[0].mpls[1].exp == 5 &&
	    g.hops[0].r[0].mpls[1].s == 1, "... the ICMP evidence and MPLS labels");
	ok(g.hops[0].r[1].kind == REPLY_PACKET_TOO_BIG && g.hops[0].r[1].code == 1400 &&
	    g.hops[0].r[1].edst.family == AF_INET && g.hops[0].r[1].nmpls == 0,
	    "... packet-too-big's MTU and the quoted destination");
	ok(g.hops[2].r[0].kind == REPLY_DESTINATION && g.hops[2].r[0].rtt_us == 1210,
	    "... the visitor's answer");
	ok(g.hops[0].r[0].flags == PROTO_RF_ID_CHANGED && g.hops[0].r[1].flags == 0 &&
	    g.hops[2].r[0].flags == (PROTO_RF_BY_COUNT | PROTO_RF_AMBIGUOUS),
	    "... how each reply was matched");
	memset(&g, 0, sizeof(g));
	is_int(store_get(st, ID1, 1000, &head, &end, got_hop, &g), STORE_NONE,
	    "another site's uid does not see it");
	is_int(store_get(st, ID1, 0, &head, &end, got_hop, &g), 0, "root sees it");
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	is_int(store_get(st, ID1, 0, &head, &end, got_hop, &g), -1, "a reader that stops ends the read");
	memset(&g, 0, sizeof(g));
	is_int(store_get(st, ID2, 0, &head, &end, got_hop, &g), STORE_NONE, "an unknown id");
	is_int(store_get(st, ID1, 0, &head, &end, got_hop, &g), 0, "the statement is usable after a stop");

	/* History: one visitor's traces through one site, newest first, paged. */
	put_trace(st, idn(1, id), 33, "203.0.113.5", 1000, p1, 3, false);
	put_trace(st, idn(2, id), 33, "203.0.113.5", 2000, p2, 3, false);
	put_trace(st, idn(3, id), 33, "203.0.113.5", 3000, p1, 2, false);
	put_trace(st, idn(4, id), 1000, "203.0.113.5", 4000, p1, 3, false);	/* another site */
	put_trace(st, idn(5, id), 33, "203.0.113.6", 5000, p1, 3, false);	/* another visitor */
	put_trace(st, idn(6, id), 33, "203.0.113.5", 6000, p1, 3, true);	/* stored as a prefix */
	addr_parse("203.0.113.5", &visitor);
	memset(&g, 0, sizeof(g));
	is_int(store_history(st, &visitor, 33, NULL, 2, got_item, &g, &more), 0, "history, two a page");
	is_int(g.nitems, 2, "... two traces");
	ok(more, "... and more");
	is_str(g.items[0].id, idn(3, id), "... the newest first");
	is_str(g.items[0].path, "192.0.2.1,*", "... its path");
	is_str(g.items[1].path, "192.0.2.1,192.0.2.2,198.51.100.7", "... the next one's path");
	ok(g.items[1].started_ms == 2000 && strcmp(g.items[1].reason, "destination") == 0 &&
	    g.items[1].hops == 3 && g.items[1].duration_us == 3000, "... its summary");
	memset(&g, 0, sizeof(g));
	is_int(store_history(st, &visitor, 33, idn(2, id), 2, got_item, &g, &more), 0,
	    "the next page");
	ok(g.nitems == 1 && !more && strcmp(g.items[0].id, idn(1, id)) == 0,
	    "... the oldest, and no more");
	memset(&g, 0, sizeof(g));
	store_history(st, &visitor, 0, NULL, 10, got_item, &g, &more);
	is_int(g.nitems, 4, "root sees every site's, prefix-stored ones never");
	memset(&g, 0, sizeof(g));
	store_history(st, &visitor, 33, ID2, 10, got_item, &g, &more);
	is_int(g.nitems, 0, "before= an unknown id lists nothing");
	memset(&g, 0, sizeof(g));
	store_history(st, &visitor, 33, idn(4, id), 10, got_item, &g, &more);
	ok(g.nitems == 0 && !more, "before= another site's trace lists nothing, as an unknown id: "
	    "that it exists and when it started are not told");
	memset(&g, 0, sizeof(g));
	store_history(st, &visitor, 1000, idn(4, id), 10, got_item, &g, &more);
	is_int(g.nitems, 0, "its own site: nothing of its own older than it");
	memset(&g, 0, sizeof(g));
	store_history(st, &visitor, 0, idn(4, id), 10, got_item, &g, &more);
	is_int(g.nitems, 3, "root: every site's older than it");
	store_commit(st);
	is_str(q1(path, "SELECT client FROM traces WHERE id = '00000000000000000000000000000006'"),
	    "203.0.113.0", "a prefix-stored visitor is its /24");

	/* ECMP: addresses joined by '+', each once, in the order first seen. */
	memset(&h, 0, sizeof(h));
	addr_parse("203.0.113.77", &req.client);
	store_trace_begin(st, idn(7, id), 33, &req, 7000, TOK, false);
	h.ttl = 2;	/* hop 1 never reported: silent in the path */
	h.sent = 3;
	h.nreplies = 3;
	reply(&h.r[0], "192.0.2.1", 1, REPLY_TIME_EXCEEDED, 0, 64);
	reply(&h.r[1], "192.0.2.2", 1, REPLY_TIME_EXCEEDED, 0, 64);
	reply(&h.r[2], "192.0.2.1", 1, REPLY_TIME_EXCEEDED, 0, 64);
	store_hop(st, idn(7, id), &h);
	store_trace_end(st, idn(7, id), "gap-limit", 2, 7010, 1);
	memset(&g, 0, sizeof(g));
	store_history(st, &req.client, 33, NULL, 1, got_item, &g, &more);
	is_str(g.items[0].path, "*,192.0.2.1+192.0.2.2", "ECMP hop and an unreported one");

	/* IPv6 prefix: the /48. */
	put_trace(st, idn(8, id), 33, "2001:db8:1234:5678::9", 8000, p1, 1, true);
	is_str(q1(path, "SELECT client FROM traces WHERE id = '00000000000000000000000000000008'"),
	    "2001:db8:1234::", "a prefix-stored IPv6 visitor is its /48");

	/* Deletion by token. */
	is_int(store_delete(st, idn(1, id), 33, "ffffffffffffffffffffffffffffffff"), STORE_BAD_TOKEN,
	    "a wrong token does not delete");
	is_int(store_delete(st, idn(1, id), 1000, TOK), STORE_NONE,
	    "another site cannot delete it even with the token");
	is_int(store_delete(st, idn(1, id), 33, TOK), 0, "the right token deletes");
	is_int(store_delete(st, idn(1, id), 33, TOK), STORE_NONE, "... and it is gone");
	is_str(q1(path, "SELECT count(*) FROM hops WHERE " OF_TRACE("00000000000000000000000000000001")),
	    "0", "... with its hops");

	/* Retention: by start time, in batches. */
	is_int(store_sweep(st, 4500, 2), 2, "a sweep deletes a batch");
	is_int(store_sweep(st, 4500, 2), 1, "... then the rest");
	is_int(store_sweep(st, 4500, 2), 0, "... then nothing");
	is_str(q1(path, "SELECT count(*) FROM traces WHERE started_at < 4500"), "0",
	    "nothing older remains");
	is_str(q1(path, "SELECT count(*) FROM traces"), "5", "newer traces are kept");
	is_str(q1(path, "PRAGMA foreign_key_check"), "", "foreign_key_check clean");
	is_int(store_errors(st), 0, "no errors");
	close_st(st);
	ok(store_get(NULL, ID1, 0, &head, &end, got_hop, &g) == STORE_NONE &&
	    store_history(NULL, &visitor, 0, NULL, 1, got_item, &g, &more) == STORE_NONE &&
	    store_delete(NULL, ID1, 0, TOK) == STORE_NONE && store_sweep(NULL, 1, 1) == 0,
	    "without a store: nothing to read");
}

/* Every row of the trace's tables but late answers, as one string: what a late answer must not change. */
static const char *
rows_but_late(const char *path)
{
	static char out[4096];

	snprintf(out, sizeof(out), "%s", q1(path, "SELECT (SELECT group_concat(id || uid || client "
	    "|| started_at || ended_at || reason || hops || duration_us, ';') FROM traces) || '|' || "
	    "(SELECT group_concat(trace_seq || ttl || sent, ';') FROM hops) || '|' || "
	    "(SELECT group_concat(v, ';') FROM (SELECT trace_seq || ttl || idx || addr || rtt_us || "
	    "flags AS v FROM replies WHERE flags & 16 = 0 ORDER BY trace_seq, ttl, idx))"));
	return out;
}

/*
 * Late answers (issue 12): appended to a stored hop after its replies with
 * the late flag, read back on the HOP line, in the history path only where
 * nothing came in time; refused for a hop not stored and past 16 replies.
 */
static void
test_late(void)
{
	char path[512], line[PROTO_LINE_MAX], before[4096], id[PROTO_ID_LEN + 1];
	struct proto_msg head, end, m;
	struct proto_trace_req req;
	struct proto_reply r;
	struct proto_hop h;
	struct store *st;
	struct got g;
	bool more;
	int refused = 0;

	if ((st = open_begun("late.db", path, sizeof(path), &req)) == NULL)
		return;
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 3;
	h.nreplies = 3;
	for (int i = 0; i < 3; i++)
		reply(&h.r[i], "192.0.2.1", 400 + (uint32_t)i, REPLY_TIME_EXCEEDED, 0, 64);
	store_hop(st, ID1, &h);
	h.ttl = 2;
	h.nreplies = 2;
	reply(&h.r[0], "192.0.2.2", 2100, REPLY_TIME_EXCEEDED, 0, 253);
	reply(&h.r[1], "192.0.2.2", 2200, REPLY_TIME_EXCEEDED, 0, 253);
	h.r[1].flags = PROTO_RF_SEQ_SHIFTED;
	store_hop(st, ID1, &h);
	memset(&h, 0, sizeof(h));
	h.ttl = 3;
	h.sent = 3;
	store_hop(st, ID1, &h);
	h.ttl = 4;
	h.nreplies = 1;
	reply(&h.r[0], "198.51.100.7", 5120, REPLY_DESTINATION, 0, 60);
	store_hop(st, ID1, &h);
	/* Late answers come until HOP_TIMEOUT after their hop: the trace may have ended by then. */
	store_trace_end(st, ID1, "destination", 4, 1700000000200LL, 5120);
	snprintf(before, sizeof(before), "%s", rows_but_late(path));

	reply(&r, "192.0.2.3", 151234, REPLY_TIME_EXCEEDED, 0, 252);
	r.quoted_ttl = 1;
	r.size = 56;
	r.flags = PROTO_RF_ID_CHANGED;
	is_int(store_late_reply(st, ID1, 3, &r), 0, "a late answer on a silent hop is stored");
	reply(&r, "192.0.2.22", 160500, REPLY_TIME_EXCEEDED, 0, 253);
	is_int(store_late_reply(st, ID1, 2, &r), 0, "... and on a hop that answered 2 of 3");
	reply(&r, "192.0.2.33", 170000, REPLY_UNREACHABLE, 1, 252);
	is_int(store_late_reply(st, ID1, 3, &r), 0, "a second one on the silent hop, from another router");
	reply(&r, "192.0.2.3", 180000, REPLY_TIME_EXCEEDED, 0, 252);
	is_int(store_late_reply(st, ID1, 3, &r), 0, "a third, from the first router again");
	is_str(q1(path, "SELECT group_concat(idx || ':' || flags, ' ') FROM (SELECT idx, flags FROM "
	    "replies WHERE ttl = 3 ORDER BY idx)"), "0:17 1:16 2:16",
	    "... each one past the hop's highest idx, its own flags kept, late added");
	is_str(q1(path, "SELECT group_concat(idx || ':' || flags, ' ') FROM (SELECT idx, flags FROM "
	    "replies WHERE ttl = 2 ORDER BY idx)"), "0:0 1:2 2:16", "... after the hop's 2 replies");

	memset(&g, 0, sizeof(g));
	is_int(store_get(st, ID1, 33, &head, &end, got_hop, &g), 0, "the trace is read back");
	ok(g.nhops == 4 && g.hops[1].nreplies == 3 && g.hops[2].nreplies == 3 &&
	    g.hops[1].sent == 3 && g.hops[2].sent == 3, "... hops 2 and 3 with one more reply each, "
	    "probes sent unchanged");
	ok(g.hops[1].r[0].flags == 0 && g.hops[1].r[1].flags == PROTO_RF_SEQ_SHIFTED &&
	    g.hops[1].r[2].flags == PROTO_RF_LATE && g.hops[1].r[2].rtt_us == 160500,
	    "... the late one after the regular ones");
	ok(g.hops[2].r[0].flags == (PROTO_RF_ID_CHANGED | PROTO_RF_LATE) &&
	    g.hops[2].r[0].rtt_us == 151234 && g.hops[2].r[0].size == 56 &&
	    g.hops[2].r[1].kind == REPLY_UNREACHABLE && g.hops[2].r[1].code == 1,
	    "... every field of the late ones");
	ok(proto_fmt_hop(line, sizeof(line), &g.hops[2]) > 0 && strcmp(line, "HOP ttl=3 sent=3 "
	    "reply=192.0.2.3,151234,time-exceeded,0,252,1,56,0,-,-,17 "
	    "reply=192.0.2.33,170000,unreachable,1,252,0,0,0,-,-,16 "
	    "reply=192.0.2.3,180000,time-exceeded,0,252,0,0,0,-,-,16\n") == 0,
	    "the HOP line carries them with the late flag: %s", line);
	ok(proto_parse(line, strlen(line), &m) == PROTO_HOP && m.hop.nreplies == 3 &&
	    m.hop.r[0].flags == (PROTO_RF_ID_CHANGED | PROTO_RF_LATE), "... and parses back");
	ok(strcmp(end.code, "destination") == 0 && end.hops == 4 && end.duration_us == 5120,
	    "... its end as it was");

	/* Refused: nothing stored, each counted. */
	is_int(store_late_reply(st, ID2, 3, &r), -1, "an unknown trace is refused");
	is_int(store_late_reply(st, ID1, 5, &r), -1, "a hop not stored is refused");
	is_int(store_late_reply(st, ID1, 0, &r), -1, "TTL 0 is refused");
	refused += 3;
	reply(&r, "192.0.2.1", 99000, REPLY_TIME_EXCEEDED, 0, 64);
	for (int i = 3; i < PROTO_MAX_REPLIES; i++)
		if (store_late_reply(st, ID1, 1, &r) < 0)
			ok(0, "late answer %d of hop 1 stored", i);
	is_int(store_late_reply(st, ID1, 1, &r), -1, "a 17th reply of a hop is refused");
	refused++;
	is_str(q1(path, "SELECT count(*) || ' ' || max(idx) FROM replies WHERE ttl = 1"), "16 15",
	    "... the hop keeps 16");
	is_int(store_errors(st), refused, "every refusal is counted");
	is_str(rows_but_late(path), before, "nothing but the late answers changed");
	memset(&g, 0, sizeof(g));
	store_get(st, ID1, 33, &head, &end, got_hop, &g);
	ok(g.hops[0].nreplies == PROTO_MAX_REPLIES && g.hops[0].r[2].flags == 0 &&
	    g.hops[0].r[3].flags == PROTO_RF_LATE, "a full hop reads back whole");
	is_int(store_late_reply(NULL, ID1, 1, &r), 0, "no store: nothing to do");

	/* The history's path: a hop only late answers came from is "*" and them. */
	memset(&g, 0, sizeof(g));
	is_int(store_history(st, &req.client, 33, NULL, 5, got_item, &g, &more), 0, "history");
	is_str(g.items[0].path, "192.0.2.1,192.0.2.2,*+192.0.2.3+192.0.2.33,198.51.100.7",
	    "... late addresses only where no answer came in time, after a *");

	/* Too long a path keeps the first address of each hop, late ones marked still. */
	addr_parse("198.51.100.8", &req.client);
	store_trace_begin(st, idn(100, id), 33, &req, 1700000001000LL, TOK, false);
	for (int t = 1; t <= 100; t++) {
		char a[ADDR_STRLEN];

		memset(&h, 0, sizeof(h));
		h.ttl = t;
		h.sent = 3;
		store_hop(st, idn(100, id), &h);
		for (int i = 0; i < 3; i++) {
			snprintf(a, sizeof(a), "2001:db8::%x:%x", t, i);
			reply(&r, a, 1000, REPLY_TIME_EXCEEDED, 0, 60);
			if (store_late_reply(st, idn(100, id), t, &r) < 0)
				ok(0, "late answer %d of hop %d stored", i, t);
		}
	}
	store_trace_end(st, idn(100, id), "max-hops", 100, 1700000001100LL, 1000);
	memset(&g, 0, sizeof(g));
	store_history(st, &req.client, 33, NULL, 1, got_item, &g, &more);
	ok(g.nitems == 1 && strncmp(g.items[0].path, "*+2001:db8::1:0,*+2001:db8::2:0,", 32) == 0 &&
	    strstr(g.items[0].path, ",*+2001:db8::64:0") != NULL &&
	    strstr(g.items[0].path, ":1,") == NULL, "a long path: one late address a hop, marked");
	is_int(store_errors(st), refused, "no other errors");
	is_str(q1(path, "PRAGMA foreign_key_check"), "", "foreign_key_check clean");
	close_st(st);
}

static int
got_lookup(void *ctx, const char *addr, const char *kind, const char *data, size_t len)
{
	char *out = ctx;

	snprintf(out + strlen(out), 512 - strlen(out), "%s %s %.*s;", addr, kind, (int)len, data);
	return 0;
}

static void
test_lookups(void)
{
	static const char where[] = "{\"continent\":{\"code\":\"NA\",\"name\":\"North America\"},"
	    "\"country\":{\"code\":\"US\",\"name\":\"United States\"},\"city\":\"Mountain View\"}";
	char path[512], err[512], all[512] = "";
	struct proto_info f;
	struct proto_trace_req req;
	struct store *st;
	size_t len;
	char *d;

	snprintf(path, sizeof(path), "%s/lookups.db", tmpdir);
	if ((st = watch(store_open(path, err, sizeof(err)))) == NULL) {
		ok(0, "store_open: %s", err);
		return;
	}
	is_int(store_lookup_get(st, "192.0.2.1", "info", 0, 0, &d, &len), 0, "an empty cache misses");
	is_int(store_lookup_put(st, "192.0.2.1", "info", true, where, strlen(where), 1000), 0,
	    "a whereabouts body is cached");
	is_int(store_lookup_get(st, "192.0.2.1", "info", 1000, 0, &d, &len), STORE_LOOKUP_OK,
	    "... and found while young enough");
	ok(d != NULL && len == strlen(where) && strcmp(d, where) == 0, "... as it was returned");
	free(d);
	is_int(store_lookup_get(st, "192.0.2.1", "info", 1001, 0, &d, &len), 0,
	    "... and not once older than the cache time");
	is_int(store_lookup_get(st, "192.0.2.1", "name", 0, 0, &d, &len), 0, "kinds are apart");
	is_int(store_lookup_put(st, "192.0.2.2", "info", true, "{\"a\":", 5, 1000), 1,
	    "a body that is not JSON is cached as a failure");
	is_int(store_lookup_get(st, "192.0.2.2", "info", 0, 1000, &d, &len), STORE_LOOKUP_FAILED,
	    "... and found as one while the negative cache holds it");
	is_int(store_lookup_get(st, "192.0.2.2", "info", 0, 1001, &d, &len), 0,
	    "... then forgotten");
	is_int(store_lookup_put(st, "192.0.2.3", "name", false, NULL, 0, 1000), 1, "a failed name");
	is_int(store_lookup_put(st, "192.0.2.3", "name", true, "r3.example", 10, 2000), 0,
	    "a later answer replaces it");
	is_int(store_lookup_get(st, "192.0.2.3", "name", 0, 0, &d, &len), STORE_LOOKUP_OK,
	    "... and is found");
	is_str(d ? d : "", "r3.example", "... the name");
	free(d);
	is_int(store_lookup_sweep(st, 1500, 1500), 2, "expired entries are swept");
	is_int(store_lookup_put(st, "192.0.2.4", "info", false, NULL, 0, 3000), 1, "a failure");
	is_int(store_lookup_put(st, "192.0.2.5", "info", true, "{}", 2, 3000), 0, "an answer");
	is_int(store_lookup_sweep(st, 2000, 3500), 1,
	    "failures go after their own (negative) cache time, answers after theirs");
	is_int(store_lookup_get(st, "192.0.2.5", "info", 0, 0, &d, &len), STORE_LOOKUP_OK,
	    "... the answer is kept");
	free(d);

	/* A flood of distinct addresses (forged hops): the cache stays at its limit. */
	store_lookup_limit(st, 100);
	for (int i = 0; i < 5000; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.%d.%d.%d", 100 + i / 65536, i / 256 % 256, i % 256);
		store_lookup_put(st, a, i % 2 ? "name" : "info", i % 3 != 0, "{}", 2, 10000 + i);
	}
	{
		sqlite3 *db;
		sqlite3_stmt *q;
		long n = -1, oldest = -1;

		store_commit(st);
		if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db,
		    "SELECT count(*), min(fetched_at) FROM lookups", -1, &q, NULL) == SQLITE_OK) {
			if (sqlite3_step(q) == SQLITE_ROW) {
				n = (long)sqlite3_column_int64(q, 0);
				oldest = (long)sqlite3_column_int64(q, 1);
			}
			sqlite3_finalize(q);
		}
		sqlite3_close(db);
		ok(n >= 90 && n <= 100, "5000 distinct addresses cached, limit 100: %ld rows", n);
		ok(oldest >= 10000 + 4900, "... the newest kept (oldest fetched at %ld)", oldest);
	}
	store_lookup_limit(st, 0);

	memset(&req, 0, sizeof(req));
	addr_parse("198.51.100.7", &req.client);
	addr_parse("192.0.2.10", &req.server);
	req.cport = 1;
	req.sport = 80;
	store_trace_begin(st, ID1, 0, &req, 1, TOK, false);
	is_int(store_trace_lookup(st, ID1, "192.0.2.1", "info", where, strlen(where)), 0,
	    "an answer kept with a trace");
	store_trace_lookup(st, ID1, "192.0.2.1", "name", "r1.example", 10);
	store_get_lookups(st, ID1, got_lookup, all);
	ok(strncmp(all, "192.0.2.1 info {", 16) == 0 && strstr(all, "192.0.2.1 name r1.example;"),
	    "a trace's answers read back: %.60s", all);
	store_trace_forget(st, ID1);
	is_str(q1(path, "SELECT count(*) FROM trace_lookups"), "0", "... and go with the trace");

	is_int(store_info_fields(where, strlen(where), &f), 0, "whereabouts fields");
	ok(strcmp(f.country, "United States") == 0 && strcmp(f.city, "Mountain View") == 0 &&
	    f.asn[0] == '\0' && f.org[0] == '\0', "... country and city");
	d = "{\"ip\":\"8.8.8.8\",\"city\":\"Mountain View\",\"country\":\"US\","
	    "\"org\":\"AS15169 Google LLC\"}";
	store_info_fields(d, strlen(d), &f);
	ok(strcmp(f.country, "US") == 0 && strcmp(f.asn, "AS15169") == 0 &&
	    strcmp(f.org, "Google LLC") == 0, "ipinfo: the AS and organization split from org");
	d = "{\"asn\":{\"asn\":\"AS64500\",\"name\":\"Example Transit\"},\"country_name\":\"Germany\"}";
	store_info_fields(d, strlen(d), &f);
	ok(strcmp(f.country, "Germany") == 0 && strcmp(f.asn, "AS64500") == 0 &&
	    strcmp(f.org, "Example Transit") == 0, "ipinfo's asn object and country_name");
	d = "{\"as\":\"AS3356 Level 3\",\"org\":\"Lumen\",\"country\":\"France\"}";
	store_info_fields(d, strlen(d), &f);
	ok(strcmp(f.asn, "AS3356") == 0 && strcmp(f.org, "Lumen") == 0, "ip-api's as and org");
	d = "{\"asn\":64501}";
	store_info_fields(d, strlen(d), &f);
	is_str(f.asn, "AS64501", "a numeric asn");
	is_int(store_info_fields("[1,2]", 5, &f), 1, "an array is no info object");
	is_int(store_info_fields("{}", 2, &f), 0, "{} (a private address) is an empty answer");
	is_str(f.country, "", "... with no fields");
	{
		char *deep = malloc(200002);

		memset(deep, '[', 100000);
		memset(deep + 100000, ']', 100000);
		deep[200000] = '\0';
		is_int(store_info_fields(deep, 200000, &f), 1, "100000 nested arrays: not an answer");
		is_int(store_lookup_put(st, "192.0.2.9", "info", true, deep, 200000, 1), 1,
		    "... and cached as a failure");
		free(deep);
	}
	is_int(store_errors(st), 0, "no errors");
	close_st(st);
}

/*
 * A silent hop's reused router (docs/protocol.md, reused=) is kept with the
 * hop and read back; a hop with replies keeps none; the path stays "*".
 */
static void
test_reused(void)
{
	char path[512], p[256];
	struct proto_msg head, end;
	struct proto_trace_req req;
	struct proto_hop h;
	struct tt_addr r2;
	struct store *st;
	struct got g;

	if ((st = open_begun("reused.db", path, sizeof(path), &req)) == NULL)
		return;
	addr_parse("203.0.113.2", &r2);
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 1;
	h.nreplies = 1;
	reply(&h.r[0], "192.0.2.1", 400, REPLY_TIME_EXCEEDED, 0, 64);
	h.reused = r2;		/* with a reply: not a timeout, nothing reused */
	h.reused_age_ms = 5;
	is_int(store_hop(st, ID1, &h), 0, "reused: a hop with a reply is stored");
	memset(&h, 0, sizeof(h));
	h.ttl = 2;
	h.sent = 2;
	h.reused = r2;
	h.reused_age_ms = 3012;
	is_int(store_hop(st, ID1, &h), 0, "reused: a silent hop with its reused router is stored");
	memset(&h, 0, sizeof(h));
	h.ttl = 3;
	h.sent = 1;
	h.nreplies = 1;
	reply(&h.r[0], "198.51.100.7", 5120, REPLY_DESTINATION, 0, 60);
	store_hop(st, ID1, &h);
	store_trace_end(st, ID1, "destination", 3, 1700000000200LL, 5120);
	is_str(q1(path, "SELECT group_concat(ttl || ':' || coalesce(reused_addr, '-') || ':' || "
	    "coalesce(reused_age_ms, '-'), ' ') FROM (SELECT * FROM hops ORDER BY ttl)"),
	    "1:-:- 2:203.0.113.2:3012 3:-:-", "reused: only the silent hop keeps one");
	memset(&g, 0, sizeof(g));
	is_int(store_get(st, ID1, 33, &head, &end, got_hop, &g), 0, "reused: the trace is read back");
	ok(g.nhops == 3 && g.hops[0].reused.family == 0 && g.hops[1].nreplies == 0 &&
	    g.hops[1].sent == 2 && addr_equal(&g.hops[1].reused, &r2) &&
	    g.hops[1].reused_age_ms == 3012 && g.hops[2].reused.family == 0,
	    "reused: hop 2 a timeout with router 203.0.113.2, 3012 ms old; the others without");
	snprintf(p, sizeof(p), "%s", q1(path, "SELECT count(*) FROM replies WHERE ttl = 2"));
	is_str(p, "0", "reused: no reply row: it is no measurement");
	is_int(x(path, "UPDATE hops SET reused_age_ms = 3600001 WHERE ttl = 2"), -1,
	    "reused: the column refuses an age over an hour");
	is_int(x(path, "UPDATE hops SET reused_addr = 'bogus' WHERE ttl = 2"), 0,
	    "reused: a malformed address in the database ...");
	memset(&g, 0, sizeof(g));
	is_int(store_get(st, ID1, 33, &head, &end, got_hop, &g), 0, "reused: ... is read");
	ok(g.nhops == 3 && g.hops[1].reused.family == 0 && g.hops[1].nreplies == 0,
	    "reused: ... as a plain timeout");
	is_int(store_errors(st), 0, "reused: no errors");
	close_st(st);
}

/*
 * The store's thread checkpoints the WAL once a commit leaves 1,000 pages in
 * it: the traces reach the database file, and the WAL stays bounded.
 */
static void
test_checkpoint(void)
{
	char path[512], wal[520], err[512], id[33];
	struct store *st;
	struct proto_trace_req req;
	struct proto_hop h;
	struct stat db0, db1, w;
	int i, waited;

	snprintf(path, sizeof(path), "%s/ckpt.db", tmpdir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	st = watch(store_open(path, err, sizeof(err)));
	ok(st != NULL, "checkpoint: store opened (%s)", st ? "" : err);
	if (st == NULL)
		return;
	ok(stat(path, &db0) == 0, "checkpoint: the database file exists");
	is_int((int)store_checkpoints(st), 0, "checkpoint: none yet");
	v4_req(&req, 51234, 443);
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 1;
	h.nreplies = PROTO_MAX_REPLIES;
	for (i = 0; i < PROTO_MAX_REPLIES; i++)
		reply(&h.r[i], "192.0.2.1", (uint32_t)i, REPLY_TIME_EXCEEDED, 0, 64);
	/* A commit a trace, as the broker's rounds do at low load: well past 1,000 pages. */
	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "%032x", i);
		store_trace_begin(st, id, 1000, &req, 1700000000000LL + i, TOK, false);
		store_hop(st, id, &h);
		store_commit(st);
	}
	is_int(store_errors(st), 0, "checkpoint: 3,000 traces written without error");
	for (waited = 0; waited < 5000 && store_checkpoints(st) == 0; waited += 10)
		usleep(10000);
	ok(store_checkpoints(st) > 0, "checkpoint: the thread checkpointed (%lu, after %d ms)",
	    store_checkpoints(st), waited);
	if (stat(path, &db1) < 0 || stat(wal, &w) < 0)
		db1.st_size = w.st_size = -1;
	ok(db1.st_size > db0.st_size + 1000 * 1024L,
	    "checkpoint: the database file grew with the traces (%lld to %lld bytes)",
	    (long long)db0.st_size, (long long)db1.st_size);
	/*
	 * Without the commit's own checkpoint past 4,000 pages (STORE_WAL_MAX_PAGES)
	 * the WAL grew to 32,000 pages here; with it, 4,050-4,150 (4,060-4,770
	 * with both CPUs busy: the writes that a pass of the thread lets through).
	 */
	ok(w.st_size > 0 && w.st_size < 8000 * (4096 + 24),
	    "checkpoint: the WAL stayed within its bound (%lld bytes)", (long long)w.st_size);
	close_st(st);
	is_str(q1(path, "SELECT count(*) FROM traces"), "3000", "checkpoint: every trace is stored");
}

/*
 * The store remembers begun traces' row numbers by the start of their ids:
 * traces that share it, interleaved, keep their own rows; a trace never
 * begun gets none.
 */
static void
test_seq_slots(void)
{
	const char *const ids[] = { ID1, "0123456789abcdef0123456789abcde0",
	    "01ffffffffffffffffffffffffffffff" };
	char path[512];
	struct proto_trace_req req;
	struct proto_hop h;
	struct store *st = open_begun("slots.db", path, sizeof(path), &req);
	unsigned long errors;

	if (st == NULL)
		return;
	store_trace_begin(st, ids[1], 33, &req, 1700000000124LL, TOK, false);
	store_trace_begin(st, ids[2], 33, &req, 1700000000125LL, TOK, false);
	for (int ttl = 1; ttl <= 3; ttl++)
		for (int i = 0; i < 3; i++) {
			memset(&h, 0, sizeof(h));
			h.ttl = ttl;
			h.sent = i + 1;
			h.nreplies = 1;
			reply(&h.r[0], "192.0.2.1", 100, REPLY_TIME_EXCEEDED, 0, 64);
			store_hop(st, ids[i], &h);
		}
	for (int i = 0; i < 3; i++)
		store_trace_end(st, ids[i], "destination", 3, 1700000000200LL, 77);
	store_commit(st);
	is_str(q1(path, "SELECT group_concat(t.id || '/' || h.ttl || '/' || h.sent, ' ') FROM traces t "
	    "JOIN hops h ON h.trace_seq = t.seq WHERE h.ttl = 3 ORDER BY t.seq"),
	    "0123456789abcdef0123456789abcdef/3/1 0123456789abcdef0123456789abcde0/3/2 "
	    "01ffffffffffffffffffffffffffffff/3/3", "traces whose ids start alike keep their own hops");
	is_str(q1(path, "SELECT count(*) FROM traces WHERE reason = 'destination'"), "3",
	    "... and their ends");
	errors = store_errors(st);
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	is_int(store_hop(st, "0123456789abcdef0123456789abcdee", &h), -1,
	    "a hop of a trace never begun is refused");
	is_int(store_trace_end(st, "0123456789abcdef0123456789abcdee", "destination", 1, 1, 1), -1,
	    "... and its end");
	store_commit(st);
	ok(store_errors(st) == errors + 2 && strcmp(q1(path, "SELECT count(*) FROM hops"), "9") == 0,
	    "... counted as errors, nothing stored");
	close_st(st);
}

/* Another server's trace from PostgreSQL, kept whole or not at all (fleet.c's fetch). */
static void
test_import(struct store *st, const char *path)
{
	static const char trace[] =
	    "{\"id\":\"0123456789abcdef0123456789abcd00\",\"vantage\":\"fra1\",\"family\":4,"
	    "\"client\":\"198.51.100.7\",\"cport\":51000,\"server\":\"192.0.2.10\","
	    "\"sport\":443,\"started_at\":1700000000000,\"ended_at\":1700000000050,"
	    "\"reason\":\"destination\",\"hops\":2,\"duration_us\":50000,\"token\":null,"
	    "\"client_prefix\":0,\"proxy\":null,"
	    "\"hoplist\":[{\"ttl\":1,\"sent\":1,\"reused_addr\":null,\"reused_age_ms\":null},"
	    "{\"ttl\":2,\"sent\":3,\"reused_addr\":null,\"reused_age_ms\":null}],"
	    "\"replies\":[{\"ttl\":1,\"idx\":0,\"addr\":\"192.0.2.1\",\"rtt_us\":300,"
	    "\"kind\":\"time-exceeded\",\"code\":0,\"reply_ttl\":64,\"quoted_ttl\":1,\"size\":56,"
	    "\"ext\":0,\"edst\":null,\"mpls\":null,\"flags\":0},{\"ttl\":2,\"idx\":0,"
	    "\"addr\":\"198.51.100.7\",\"rtt_us\":900,\"kind\":\"destination\",\"code\":0,"
	    "\"reply_ttl\":62,\"quoted_ttl\":0,\"size\":0,\"ext\":0,\"edst\":null,\"mpls\":null,"
	    "\"flags\":0}],\"lookups\":[{\"addr\":\"192.0.2.1\",\"kind\":\"name\","
	    "\"data\":\"r1.example\"}]}";

	is_int(store_import(st, trace, 33), 0, "another server's trace is kept");
	store_commit(st);
	is_str(q1(path, "SELECT vantage || '/' || uid || '/' || (ship IS NULL) || '/' || "
	    "(SELECT count(*) FROM hops h WHERE h.trace_seq = t.seq) || '/' || "
	    "(SELECT group_concat(addr, ' ') FROM replies r WHERE r.trace_seq = t.seq) || '/' || "
	    "(SELECT data FROM trace_lookups l WHERE l.trace_seq = t.seq) FROM traces t "
	    "WHERE id = '0123456789abcdef0123456789abcd00'"),
	    "fra1/33/1/2/192.0.2.1 198.51.100.7/r1.example",
	    "... whole: its vantage, the asker's uid, not to be shipped, hops, replies, look-ups");
	is_int(store_import(st, trace, 33), 1, "the same trace again: here already, nothing added");
	is_int(store_import(st, "{\"id\":\"0123456789abcdef0123456789abcd01\",\"family\":4}", 33),
	    -1, "one lacking its columns is refused");
	store_commit(st);
	is_str(q1(path, "SELECT count(*) FROM traces WHERE id LIKE '0123456789abcdef0123456789abcd0_'"),
	    "1", "... and leaves nothing behind");
}

/*
 * The journal of a fleet's PostgreSQL store: traces begun with it wait to be
 * shipped, leave as JSON once ended (not before), are gone from it once
 * shipped, and past journal-max new traces are refused.
 */
static void
test_journal(void)
{
	char path[512], id[PROTO_ID_LEN + 1], *traces, *seqs, *uids;
	struct proto_trace_req req;
	struct proto_hop h;
	struct store *st = open_begun("journal.db", path, sizeof(path), &req);

	if (st == NULL)
		return;
	is_int(store_journal(st, 100), 0, "the journal counts what waits");
	is_int((int)store_waiting(st), 0, "... nothing: ID1 was begun before it was a journal");
	store_trace_begin(st, ID2, 1000, &req, 1700000000200LL, TOK, false);
	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 3;
	h.nreplies = 1;
	reply(&h.r[0], "192.0.2.1", 812, REPLY_TIME_EXCEEDED, 0, 63);
	store_hop(st, ID2, &h);
	is_int((int)store_waiting(st), 1, "a trace begun since waits");
	store_commit(st);
	is_int(store_ship_batch(st, 1800000000000LL, 10, &traces, &seqs, &uids), 0,
	    "a trace still running is not shipped");
	store_trace_end(st, ID2, "destination", 1, 1700000000300LL, 100);
	store_commit(st);
	is_int(store_ship_batch(st, 1700000000300LL, 10, &traces, &seqs, &uids), 0,
	    "nor one that ended at the settling time or later");
	if (store_ship_batch(st, 1700000000301LL, 10, &traces, &seqs, &uids) != 1) {
		ok(0, "an ended trace is shipped");
		close_st(st);
		return;
	}
	ok(strstr(traces, "\"id\":\"fedcba9876543210fedcba9876543210\"") != NULL &&
	    strstr(traces, "\"hoplist\":[{\"ttl\":1,\"sent\":3,") != NULL &&
	    strstr(traces, "\"addr\":\"192.0.2.1\",\"rtt_us\":812,") != NULL &&
	    strstr(traces, "\"lookups\":[]") != NULL &&
	    strstr(traces, "\"reason\":\"destination\"") != NULL,
	    "an ended trace is shipped as JSON with its hops and replies: %s", traces);
	is_str(uids, "[1000]", "... with the uids that asked");
	is_str(q1(path, "SELECT count(*) FROM trace_addrs"), "1", "... its hop address kept for searches");
	is_int(store_ship_done(st, seqs), 0, "once shipped");
	store_commit(st);
	is_int((int)store_waiting(st), 0, "... it no longer waits");
	is_str(q1(path, "SELECT (SELECT count(*) FROM traces WHERE id = 'fedcba9876543210fedcba9876543210') "
	    "|| '/' || "
	    "(SELECT count(*) FROM hops) || '/' || (SELECT count(*) FROM replies) || '/' || "
	    "(SELECT count(*) FROM trace_addrs)"), "0/0/0/0",
	    "... and is gone from the journal, with its hops, replies and addresses");
	is_str(q1(path, "SELECT count(*) FROM traces"), "1", "... the trace of no journal kept");
	free(traces);
	free(seqs);
	free(uids);
	store_trace_end(st, ID1, "destination", 0, 1700000000400LL, 100);
	is_int(store_delete(st, ID1, 33, TOK), 0, "a visitor deletes a trace");
	is_int(store_ship_deletes(st, 10, &traces), 1, "... which waits to be deleted in PostgreSQL");
	is_str(traces, "[\"0123456789abcdef0123456789abcdef\"]", "... by its id");
	is_int(store_ship_deletes_done(st, traces), 0, "once deleted there");
	free(traces);
	is_int(store_ship_deletes(st, 10, &traces), 0, "... nothing waits");
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "%032x", 0xabc000 + i);
		store_trace_begin(st, id, 33, &req, 1700000001000LL + i, TOK, false);
	}
	is_int((int)store_waiting(st), 100, "100 traces wait");
	test_import(st, path);
	is_int(store_trace_begin(st, "0000000000000000000000000000abcd", 33, &req, 1700000002000LL,
	    TOK, false), -1, "past journal-max a new trace is refused, as by a full disk");
	store_commit(st);
	is_str(q1(path, "SELECT count(*) FROM traces WHERE id = '0000000000000000000000000000abcd'"),
	    "0", "... and not stored");
	close_st(st);
}

int
main(void)
{
	if (tap_tmpdir(tmpdir) < 0)
		return 1;
	test_store();
	test_migrations();
	test_flags_migration();
	test_seq_migration();
	test_query_migration();
	test_seq_slots();
	test_refusals();
	test_forget();
	test_kill();
	test_read();
	test_late();
	test_reused();
	test_lookups();
	test_checkpoint();
	test_journal();
	tap_tmpdir_remove(tmpdir);
	return tap_done();
}
