/*
 * A fleet's shared store: the journal's finished traces shipped to
 * PostgreSQL (docs/fleet.md). One connection, driven from the broker's poll
 * loop with libpq's asynchronous calls (PQconnectStartParams and
 * PQconnectPoll, PQsendQuery*, PQconsumeInput, PQflush); one statement in
 * flight at a time. A connection that fails, or a database that connects or
 * answers nothing for db-timeout, is dropped and tried again later with a
 * growing pause; the traces wait in the journal meanwhile.
 *
 * After connecting: the schema, under an advisory lock so that helpers that
 * start together migrate once; then batches of traces, each one statement
 * (idempotent: a trace PostgreSQL has already is skipped, so a batch sent
 * again after a lost answer changes nothing).
 */
#include "fleet.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "config.h"
#include "log.h"
#include "proto.h"
#include "resolve.h"
#include "sitename.h"
#include "../sql/migrations.h"
#include "store.h"
#include "util.h"

/* pg_advisory_lock's key for migrations: "TrTr" in ASCII, any number the fleet agrees on. */
#define FLEET_LOCK_KEY		"1416778866"
#define FLEET_RETRY_MIN_MS	1000
#define FLEET_RETRY_MAX_MS	30000
/* Traces a statement, at most, and how often an idle fleet looks for more. */
#define FLEET_BATCH		100
#define FLEET_ASKS		64	/* GETs and HISTORYs waiting for PostgreSQL, at most */
#define FLEET_IDLE_MS		100
/*
 * Retention: expired traces deleted a batch at a time, on one helper of the
 * fleet at a time (the statement's own advisory lock), again at once while
 * a batch was full.
 */
#define FLEET_LOCK_SWEEP	"1416778867"
#define FLEET_SWEEP_BATCH	"10000"
#define FLEET_SWEEP_MS		60000
#define FLEET_SWEEP_AGAIN_MS	1000
/*
 * A trace leaves once nothing more can be written to it: late answers come
 * up to hop-timeout after it ended, look-up answers up to info-timeout.
 */
#define FLEET_SETTLE_MS(cfg) ((cfg)->hop_timeout_us / 1000 + (cfg)->info_timeout_us / 1000 + 1000)

enum fleet_state {
	F_DOWN,		/* no connection; the next try at retry_ms */
	F_RESOLVING,	/* the URI's host names on the resolver's thread */
	F_CONNECTING,	/* PQconnectPoll until PGRES_POLLING_OK */
	F_LOCKING,	/* the lock, the schema table and its version asked */
	F_MIGRATING,	/* migration version + 1 sent */
	F_UNLOCKING,
	F_READY,	/* nothing in flight */
	F_SHIPPING,	/* a batch sent */
	F_DELETING,	/* visitors' deletions sent */
	F_ASKING,	/* other servers' traces asked for (fleet_ask) */
	F_SWEEPING,	/* a retention sweep sent */
};

struct fleet {
	const struct config *cfg;
	PGconn *conn;
	struct resolver *res;	/* F_RESOLVING */
	enum fleet_state state;
	PostgresPollingStatusType poll;	/* what PQconnectPoll last wanted */
	bool flush;		/* PQflush has more to send */
	bool failed;		/* a result of the statement in flight was an error */
	int version;		/* the database's schema version, once read */
	uint64_t since_ms;	/* when the connection or the statement in flight began */
	uint64_t retry_ms;	/* F_DOWN: when to connect again */
	uint64_t pause_ms;	/* the pause before that, doubled at each failure */
	uint64_t idle_until_ms;	/* F_READY: no batch was waiting; look again then */
	char *seqs;		/* F_SHIPPING: the journal's row numbers in flight; F_DELETING: ids */
	int nbatch;
	uint64_t sweep_ms;	/* F_READY: when the next retention sweep is due */
	char vantage[64];
	/* Other servers' traces asked for, in order; the first is in flight. */
	struct fleet_ask asks[FLEET_ASKS];
	int nasks;
	uint64_t ask_serial;
	fleet_answered_fn *answered;
	void *answered_ctx;
	uint64_t timeout_ms;	/* db-timeout */
	struct site_names *names;	/* the broker's */
	/* For STATUS. */
	uint64_t shipped;
	uint64_t failures;
};

static int
known_version(void)
{
	int n = 0;

	while (pg_migrations[n] != NULL)
		n++;
	return n;
}

struct fleet *
fleet_new(const struct config *cfg, struct site_names *names, fleet_answered_fn *answered,
    void *ctx)
{
	struct fleet *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		log_warn("broker: fleet");
		return NULL;
	}
	f->cfg = cfg;
	f->answered = answered;
	f->answered_ctx = ctx;
	f->state = F_DOWN;
	f->pause_ms = FLEET_RETRY_MIN_MS;
	f->timeout_ms = cfg->db_timeout_us / 1000;
	f->names = names;
	if (cfg->vantage[0] != '\0')
		snprintf(f->vantage, sizeof(f->vantage), "%s", cfg->vantage);
	else if (gethostname(f->vantage, sizeof(f->vantage)) < 0 || f->vantage[0] == '\0')
		snprintf(f->vantage, sizeof(f->vantage), "unnamed");
	f->vantage[sizeof(f->vantage) - 1] = '\0';
	/* A host name has the characters vantage= allows; any other becomes '-'. */
	for (char *p = f->vantage; *p; p++)
		if (!proto_vantage_ok(p, 1))
			*p = '-';
	return f;
}

/* The first ask is over, answered or not: off the list, and its asker told. */
static void
ask_done(struct fleet *f, bool answered)
{
	struct fleet_ask done = f->asks[0];

	memmove(&f->asks[0], &f->asks[1], (size_t)--f->nasks * sizeof(f->asks[0]));
	f->answered(f->answered_ctx, done.serial, answered);
}

static void
drop(struct fleet *f, uint64_t now)
{
	/* Nothing answers the asks now. */
	while (f->nasks > 0)
		ask_done(f, false);
	if (f->conn != NULL)
		PQfinish(f->conn);
	f->conn = NULL;
	resolve_abandon(f->res);
	f->res = NULL;
	free(f->seqs);
	f->seqs = NULL;
	f->state = F_DOWN;
	f->retry_ms = now + f->pause_ms;
	f->pause_ms = f->pause_ms * 2 > FLEET_RETRY_MAX_MS ? FLEET_RETRY_MAX_MS : f->pause_ms * 2;
}

void
fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	drop(f, 0);
	free(f);
}

/*
 * Logs why (libpq's message when why is NULL), counts it, and drops the
 * connection: everything waits in the journal meanwhile.
 */
static void
fail_why(struct fleet *f, const char *what, const char *why, uint64_t now)
{
	char msg[512];

	if (why == NULL)
		why = f->conn != NULL ? PQerrorMessage(f->conn) : "out of memory";

	snprintf(msg, sizeof(msg), "%s", why);
	msg[strcspn(msg, "\n")] = '\0';
	log_warnx("broker: fleet: %s: %s; traces wait in the journal (%s), trying again in %llu s",
	    what, msg[0] ? msg : "no reason given", f->cfg->journal,
	    (unsigned long long)(f->pause_ms / 1000));
	f->failures++;
	drop(f, now);
}

static void
fail(struct fleet *f, const char *what, uint64_t now)
{
	fail_why(f, what, NULL, now);
}

/* The connection itself, to hostaddr (the resolver's addresses) when not NULL. */
static void
connect_to(struct fleet *f, const char *hostaddr, uint64_t now)
{
	/*
	 * Keywords after dbname override what the URI says, those before it do
	 * not: GSS encryption is off unless the URI asks for it (libpq's
	 * default, prefer, loads Kerberos' mechanisms at every TCP connection).
	 */
	const char *keys[] = { "gssencmode", "dbname", "application_name", "hostaddr", NULL };
	const char *vals[] = { "disable", f->cfg->db_path, "tracetroutd", hostaddr, NULL };

	if (hostaddr == NULL)
		keys[3] = NULL;
	f->conn = PQconnectStartParams(keys, vals, 1);
	if (f->conn == NULL || PQstatus(f->conn) == CONNECTION_BAD) {
		fail(f, "cannot connect", now);
		return;
	}
	f->state = F_CONNECTING;
	f->poll = PGRES_POLLING_WRITING;
	f->since_ms = now;
	/* Each connection sweeps first: the database may have been away past a sweep. */
	f->sweep_ms = 0;
}

/*
 * A new connection: host names in the URI are resolved on a thread first
 * (resolve.h), since libpq's connect would resolve them with a blocking call.
 */
static void
connect_start(struct fleet *f, struct store *st, uint64_t now)
{
	PQconninfoOption *opts, *o;
	const char *host = NULL, *hostaddr = NULL;
	char *perr = NULL, err[256];

	/* The journal's count again: batches lost while the database was away are gone from it. */
	store_journal(st, f->cfg->journal_max);
	if ((opts = PQconninfoParse(f->cfg->db_path, &perr)) == NULL) {
		fail_why(f, "the URI", perr != NULL ? perr : "out of memory", now);
		PQfreemem(perr);
		return;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
	if ((hostaddr == NULL || *hostaddr == '\0') && resolve_needed(host)) {
		if ((f->res = resolve_start(host, err, sizeof(err))) == NULL)
			fail_why(f, "resolving the database's host", err, now);
		else {
			f->state = F_RESOLVING;
			f->since_ms = now;
		}
	} else
		connect_to(f, NULL, now);
	PQconninfoFree(opts);
}

/* The resolver's answer, once it has one. */
static void
resolved(struct fleet *f, uint64_t now)
{
	char addrs[512], err[256];
	int rc = resolve_poll(f->res, addrs, sizeof(addrs), err, sizeof(err));

	if (rc == 0) {
		if (now - f->since_ms >= f->timeout_ms) {
			resolve_abandon(f->res);
			f->res = NULL;
			fail_why(f, "resolving the database's host", "no answer within db-timeout", now);
		}
		return;
	}
	f->res = NULL;
	if (rc < 0)
		fail_why(f, "resolving the database's host", err, now);
	else
		connect_to(f, addrs, now);
}

/* Sends sql (one or more statements, no parameters), or with params for the ship. */
static bool
submit(struct fleet *f, enum fleet_state next, const char *sql, int nparams,
    const char *const *params, uint64_t now)
{
	int ok = nparams ? PQsendQueryParams(f->conn, sql, nparams, NULL, params, NULL, NULL, 0) :
	    PQsendQuery(f->conn, sql);

	if (!ok) {
		fail(f, "cannot send", now);
		return false;
	}
	f->state = next;
	f->failed = false;
	f->since_ms = now;
	f->flush = PQflush(f->conn) == 1;
	return true;
}

static bool
send_migration(struct fleet *f, uint64_t now)
{
	char *sql;
	size_t len = strlen(pg_migrations[f->version]) + 128;
	bool ok;

	if ((sql = malloc(len)) == NULL) {
		fail(f, "migration", now);
		return false;
	}
	snprintf(sql, len, "BEGIN; %s; INSERT INTO tracetrout_schema (version) VALUES (%d); COMMIT",
	    pg_migrations[f->version], f->version + 1);
	ok = submit(f, F_MIGRATING, sql, 0, NULL, now);
	free(sql);
	return ok;
}

/* {"uid": "name", ...} for the uids of a batch, a JSON array of numbers; NULL if out of memory. */
static char *
site_names_json(struct fleet *f, const char *uids)
{
	size_t cap = 2, len = 1;
	char *out = malloc(cap), *end;

	if (out == NULL)
		return NULL;
	strcpy(out, "{");
	for (const char *p = uids + strspn(uids, "[ "); *p >= '0' && *p <= '9';
	    p = end + strspn(end, ", ]")) {
		long uid = strtol(p, &end, 10);
		/* A user's name is printable, without quotes or backslashes (useradd's rules). */
		const char *name = site_names_name(f->names, (uid_t)uid);
		size_t need = len + strlen(name) + 32;
		char *n;

		if (need > cap) {
			cap = need * 2;
			if ((n = realloc(out, cap)) == NULL) {
				free(out);
				return NULL;
			}
			out = n;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s\"%ld\": \"%s\"", len > 1 ? ", " : "",
		    uid, name);
	}
	if (len + 2 > cap) {
		char *n = realloc(out, len + 2);

		if (n == NULL) {
			free(out);
			return NULL;
		}
		out = n;
	}
	strcpy(out + len, "}");
	return out;
}

/*
 * One statement for the whole batch: the traces that PostgreSQL has not got
 * yet go in, with their hops, replies and kept look-ups ($1, the journal's
 * JSON), this helper's vantage name ($2) and the sites' names ($3).
 */
static const char ship_sql[] =
    "WITH d AS (SELECT value AS j FROM jsonb_array_elements($1::jsonb)), "
    "t AS (INSERT INTO traces (id, vantage, site, uid, family, client, cport, server, sport, "
    "started_at, ended_at, reason, hops, duration_us, token, client_prefix, proxy) "
    "SELECT j->>'id', $2, coalesce($3::jsonb->>(j->>'uid'), j->>'uid'), (j->>'uid')::integer, "
    "(j->>'family')::smallint, (j->>'client')::inet, (j->>'cport')::integer, "
    "(j->>'server')::inet, (j->>'sport')::integer, (j->>'started_at')::bigint, "
    "(j->>'ended_at')::bigint, j->>'reason', (j->>'hops')::integer, "
    "(j->>'duration_us')::bigint, j->>'token', (j->>'client_prefix')::integer = 1, "
    "j->>'proxy' FROM d ON CONFLICT (id) DO NOTHING RETURNING seq, id), "
    "h AS (INSERT INTO hops (trace_seq, ttl, sent, reused_addr, reused_age_ms) "
    "SELECT t.seq, x.ttl, x.sent, x.reused_addr, x.reused_age_ms "
    "FROM t JOIN d ON d.j->>'id' = t.id, "
    "jsonb_to_recordset(d.j->'hoplist') AS x(ttl smallint, sent integer, reused_addr inet, "
    "reused_age_ms integer)), "
    "r AS (INSERT INTO replies (trace_seq, ttl, idx, addr, rtt_us, kind, code, reply_ttl, "
    "quoted_ttl, size, ext, edst, mpls, flags) "
    "SELECT t.seq, x.ttl, x.idx, x.addr, x.rtt_us, x.kind, x.code, x.reply_ttl, x.quoted_ttl, "
    "x.size, x.ext, x.edst, x.mpls, x.flags FROM t JOIN d ON d.j->>'id' = t.id, "
    "jsonb_to_recordset(d.j->'replies') AS x(ttl smallint, idx smallint, addr inet, "
    "rtt_us bigint, kind text, code integer, reply_ttl smallint, quoted_ttl smallint, "
    "size integer, ext smallint, edst text, mpls text, flags smallint)) "
    "INSERT INTO trace_lookups (trace_seq, addr, kind, data) "
    "SELECT t.seq, x.addr, x.kind, x.data FROM t JOIN d ON d.j->>'id' = t.id, "
    "jsonb_to_recordset(d.j->'lookups') AS x(addr text, kind text, data text)";

/*
 * Traces as the journal ships them (store_ship_batch), with their vantage,
 * for store_import; and each one's site. Only the asker's site's ($2, the
 * user's name), unless root ('').
 */
#define ASK_SELECT \
    "SELECT json_build_object('id', t.id, 'vantage', t.vantage, 'family', t.family, " \
    "'client', host(t.client), 'cport', t.cport, 'server', host(t.server), 'sport', t.sport, " \
    "'started_at', t.started_at, 'ended_at', t.ended_at, 'reason', t.reason, 'hops', t.hops, " \
    "'duration_us', t.duration_us, 'token', t.token, 'client_prefix', t.client_prefix::int, " \
    "'proxy', t.proxy, " \
    "'hoplist', coalesce((SELECT json_agg(json_build_object('ttl', h.ttl, 'sent', h.sent, " \
    "'reused_addr', host(h.reused_addr), 'reused_age_ms', h.reused_age_ms) ORDER BY h.ttl) " \
    "FROM hops h WHERE h.trace_seq = t.seq), '[]'), " \
    "'replies', coalesce((SELECT json_agg(json_build_object('ttl', r.ttl, 'idx', r.idx, " \
    "'addr', host(r.addr), 'rtt_us', r.rtt_us, 'kind', r.kind, 'code', r.code, " \
    "'reply_ttl', r.reply_ttl, 'quoted_ttl', r.quoted_ttl, 'size', r.size, 'ext', r.ext, " \
    "'edst', r.edst, 'mpls', r.mpls, 'flags', r.flags) ORDER BY r.ttl, r.idx) " \
    "FROM replies r WHERE r.trace_seq = t.seq), '[]'), " \
    "'lookups', coalesce((SELECT json_agg(json_build_object('addr', l.addr, 'kind', l.kind, " \
    "'data', l.data)) FROM trace_lookups l WHERE l.trace_seq = t.seq), '[]')), t.site " \
    "FROM traces t "

/* A permalink: the trace $1. */
static const char ask_trace_sql[] = ASK_SELECT "WHERE t.id = $1 AND ($2 = '' OR t.site = $2)";

/*
 * A visitor's history from every server: its newest $4 traces older than
 * the trace $3 ('' for the newest), and that trace itself, which the
 * store's own history query starts from.
 */
static const char ask_history_sql[] =
    "WITH sel AS ((SELECT seq FROM traces WHERE client = $1::inet AND NOT client_prefix "
    "AND ($2 = '' OR site = $2) AND ($3 = '' OR (started_at, id) < "
    "(SELECT started_at, id FROM traces WHERE id = $3)) "
    "ORDER BY started_at DESC, id DESC LIMIT $4::integer) "
    "UNION (SELECT seq FROM traces WHERE id = $3 AND ($2 = '' OR site = $2))) "
    ASK_SELECT "JOIN sel ON sel.seq = t.seq";

static void
ask_send(struct fleet *f, uint64_t now)
{
	const struct fleet_ask *a = &f->asks[0];
	char client[ADDR_STRLEN], limit[16];
	const char *site = a->uid == 0 ? "" : site_names_name(f->names, a->uid);
	const char *trace[2] = { a->id, site };
	const char *history[4] = { addr_format(&a->client, client), site, a->id, limit };

	/* One more than the page, as the store's own query reads: whether older ones exist. */
	snprintf(limit, sizeof(limit), "%d", a->limit + 1);
	if (a->kind == FLEET_ASK_HISTORY)
		submit(f, F_ASKING, ask_history_sql, 4, history, now);
	else
		submit(f, F_ASKING, ask_trace_sql, 2, trace, now);
}

/*
 * The traces came: kept for a moment as the asker's (root's as their site
 * user's), while the broker answers from the store as for its own; then
 * gone again, so that another server's deletion is never outlived here.
 */
static void
ask_answered(struct fleet *f, struct store *st, PGresult *last)
{
	for (int i = 0; last != NULL && i < PQntuples(last); i++) {
		uid_t uid = f->asks[0].uid;

		if (uid == 0)
			uid = site_names_uid(f->names, PQgetvalue(last, i, 1));
		store_import(st, PQgetvalue(last, i, 0), uid);
	}
	ask_done(f, true);
	store_forget_foreign(st);
}

uint64_t
fleet_ask(struct fleet *f, const struct fleet_ask *a)
{
	struct fleet_ask *q;

	if (f == NULL || f->state < F_READY || f->nasks == FLEET_ASKS)
		return 0;
	q = &f->asks[f->nasks++];
	*q = *a;
	q->serial = ++f->ask_serial;
	return q->serial;
}

/* Visitors' deletions, in one statement: false if none waits. */
static bool
delete_traces(struct fleet *f, struct store *st, uint64_t now)
{
	const char *params[1];
	int n = store_ship_deletes(st, FLEET_BATCH, &f->seqs);

	if (n <= 0)
		return false;
	params[0] = f->seqs;
	f->nbatch = n;
	submit(f, F_DELETING, "DELETE FROM traces WHERE id IN "
	    "(SELECT jsonb_array_elements_text($1::jsonb))", 1, params, now);
	return true;
}

/* A retention sweep, if one is due: false if not. */
static bool
sweep(struct fleet *f, uint64_t now)
{
	char before[32];
	const char *params[1] = { before };

	if (f->cfg->retention_us == 0 || now < f->sweep_ms)
		return false;
	snprintf(before, sizeof(before), "%lld",
	    (long long)time_ms(CLOCK_REALTIME) - (long long)(f->cfg->retention_us / 1000));
	submit(f, F_SWEEPING, "WITH l AS (SELECT pg_try_advisory_xact_lock(" FLEET_LOCK_SWEEP
	    ") AS got) DELETE FROM traces WHERE seq IN (SELECT seq FROM traces, l WHERE l.got "
	    "AND started_at < $1::bigint ORDER BY started_at LIMIT " FLEET_SWEEP_BATCH ")",
	    1, params, now);
	return true;
}

/*
 * The next piece of work once none of the store's writes is uncommitted
 * (only what is committed leaves): visitors' deletions first, then a due
 * retention sweep, then a batch of traces if any waits.
 */
static void
ship(struct fleet *f, struct store *st, uint64_t now)
{
	char *traces, *uids, *names;
	const char *params[3];
	int n;

	/* A visitor waits for an ask; the rest may wait. */
	if (f->nasks > 0) {
		ask_send(f, now);
		return;
	}
	if (store_batch_since(st) != 0 || now < f->idle_until_ms || delete_traces(f, st, now) ||
	    sweep(f, now))
		return;
	n = store_ship_batch(st, (int64_t)time_ms(CLOCK_REALTIME) - (int64_t)FLEET_SETTLE_MS(f->cfg),
	    FLEET_BATCH, &traces, &f->seqs, &uids);
	if (n <= 0) {
		f->idle_until_ms = now + FLEET_IDLE_MS;
		return;
	}
	if ((names = site_names_json(f, uids)) == NULL) {
		free(traces);
		free(uids);
		fail(f, "site names", now);
		return;
	}
	params[0] = traces;
	params[1] = f->vantage;
	params[2] = names;
	f->nbatch = n;
	submit(f, F_SHIPPING, ship_sql, 3, params, now);
	free(traces);
	free(uids);
	free(names);
}

/* The statement in flight has answered in full; what comes next. */
static void
done(struct fleet *f, struct store *st, PGresult *last, uint64_t now)
{
	int v = known_version(), n;

	switch (f->state) {
	case F_LOCKING:
		f->version = atoi(PQgetvalue(last, 0, 0));
		if (f->version > v) {
			log_warnx("broker: fleet: the database's schema is version %d, newer than this "
			    "tracetroutd's (%d): upgrade it; traces wait in the journal", f->version, v);
			f->pause_ms = FLEET_RETRY_MAX_MS;
			drop(f, now);
			return;
		}
		if (f->version < v) {
			log_info("broker: fleet: migrating the database's schema from version %d to %d",
			    f->version, v);
			send_migration(f, now);
		} else
			submit(f, F_UNLOCKING, "SELECT pg_advisory_unlock(" FLEET_LOCK_KEY ")", 0, NULL, now);
		return;
	case F_MIGRATING:
		if (++f->version < v)
			send_migration(f, now);
		else
			submit(f, F_UNLOCKING, "SELECT pg_advisory_unlock(" FLEET_LOCK_KEY ")", 0, NULL, now);
		return;
	case F_UNLOCKING:
		log_info("broker: fleet: connected, schema version %d; shipping as vantage \"%s\"",
		    f->version, f->vantage);
		f->state = F_READY;
		f->pause_ms = FLEET_RETRY_MIN_MS;
		return;
	case F_SHIPPING:
		f->shipped += (uint64_t)f->nbatch;
		store_ship_done(st, f->seqs);
		free(f->seqs);
		f->seqs = NULL;
		f->state = F_READY;
		/* A full batch: more may wait now. */
		f->idle_until_ms = f->nbatch == FLEET_BATCH ? 0 : now + FLEET_IDLE_MS;
		return;
	case F_ASKING:
		f->state = F_READY;
		ask_answered(f, st, last);
		return;
	case F_DELETING:
		store_ship_deletes_done(st, f->seqs);
		free(f->seqs);
		f->seqs = NULL;
		f->state = F_READY;
		return;
	case F_SWEEPING:
		n = atoi(PQcmdTuples(last));
		if (n > 0)
			log_info("broker: fleet: %d traces past retention deleted", n);
		f->sweep_ms = now + (n == atoi(FLEET_SWEEP_BATCH) ? FLEET_SWEEP_AGAIN_MS : FLEET_SWEEP_MS);
		f->state = F_READY;
		return;
	default:
		return;
	}
}

/* Reads what came: each result of the statement in flight, then done() once it has ended. */
static void
results(struct fleet *f, struct store *st, uint64_t now)
{
	PGresult *r, *last = NULL;

	if (!PQconsumeInput(f->conn)) {
		fail(f, "connection lost", now);
		return;
	}
	while (!PQisBusy(f->conn)) {
		if ((r = PQgetResult(f->conn)) == NULL) {
			if (f->failed) {
				PQclear(last);
				fail(f, f->state == F_SHIPPING ? "shipping traces" :
				    f->state == F_DELETING ? "deleting traces visitors deleted" :
				    f->state == F_SWEEPING ? "the retention sweep" :
				    f->state == F_ASKING ? "asking for traces" : "the schema", now);
				return;
			}
			if (f->state != F_READY && f->state != F_DOWN)
				done(f, st, last, now);
			PQclear(last);
			return;
		}
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
			f->failed = true;
		PQclear(last);
		last = r;
	}
	PQclear(last);
}

int
fleet_pollfd(const struct fleet *f, short *events)
{
	if (f == NULL || f->conn == NULL || f->state == F_DOWN)
		return -1;
	if (f->state == F_CONNECTING)
		*events = f->poll == PGRES_POLLING_READING ? POLLIN : POLLOUT;
	else
		*events = POLLIN | (f->flush ? POLLOUT : 0);
	return PQsocket(f->conn);
}

static void
notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("broker: fleet: the database says: %.*s", (int)strcspn(msg, "\n"), msg);
}

static void
connect_poll(struct fleet *f, uint64_t now)
{
	switch ((f->poll = PQconnectPoll(f->conn))) {
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(f->conn, 1) != 0) {
			fail(f, "non-blocking mode", now);
			return;
		}
		/* Not libpq's stderr: the server's notices go to the debug log. */
		PQsetNoticeProcessor(f->conn, notice, NULL);
		/* The lock waits for a helper migrating now; the version is read once we have it. */
		submit(f, F_LOCKING, "SELECT pg_advisory_lock(" FLEET_LOCK_KEY "); "
		    "CREATE TABLE IF NOT EXISTS tracetrout_schema (version integer PRIMARY KEY, "
		    "applied_at timestamptz NOT NULL DEFAULT now()); "
		    "SELECT coalesce(max(version), 0) FROM tracetrout_schema", 0, NULL, now);
		return;
	case PGRES_POLLING_FAILED:
		fail(f, "cannot connect", now);
		return;
	default:
		return;
	}
}

void
fleet_event(struct fleet *f, struct store *st, short revents)
{
	uint64_t now = time_ms(CLOCK_MONOTONIC);

	if (f == NULL || f->conn == NULL || revents == 0)
		return;
	if (f->state == F_CONNECTING) {
		connect_poll(f, now);
		return;
	}
	if ((revents & POLLOUT) && f->flush) {
		int r = PQflush(f->conn);

		if (r < 0) {
			fail(f, "connection lost", now);
			return;
		}
		f->flush = r == 1;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		results(f, st, now);
}

void
fleet_tick(struct fleet *f, struct store *st, uint64_t now)
{
	if (f == NULL)
		return;
	switch (f->state) {
	case F_DOWN:
		if (now >= f->retry_ms && st != NULL)
			connect_start(f, st, now);
		return;
	case F_RESOLVING:
		resolved(f, now);
		return;
	case F_CONNECTING:
		if (now - f->since_ms >= f->timeout_ms)
			fail_why(f, "cannot connect", "no connection within db-timeout", now);
		return;
	case F_READY:
		if (st != NULL)
			ship(f, st, now);
		return;
	default:
		if (now - f->since_ms >= f->timeout_ms)
			fail_why(f, "the database", "no answer within db-timeout", now);
		return;
	}
}

uint64_t
fleet_next_ms(const struct fleet *f)
{
	if (f == NULL)
		return UINT64_MAX;
	switch (f->state) {
	case F_DOWN:
		return f->retry_ms;
	case F_RESOLVING:
		/* The thread says nothing when it ends: look every 10 ms. */
		return time_ms(CLOCK_MONOTONIC) + 10;
	case F_CONNECTING:
		return f->since_ms + f->timeout_ms;
	case F_READY:
		/* An ask at once; deletions and sweeps are looked for with the batches. */
		return f->nasks > 0 ? 0 : f->idle_until_ms;
	default:
		return f->since_ms + f->timeout_ms;
	}
}

void
fleet_counts(const struct fleet *f, uint64_t *connected, uint64_t *shipped, uint64_t *failures)
{
	*connected = f->state >= F_READY;
	*shipped = f->shipped;
	*failures = f->failures;
}

const char *
fleet_vantage(const struct fleet *f)
{
	return f != NULL ? f->vantage : "";
}

int
fleet_check(const char *uri, int timeout_s, char *msg, size_t len)
{
	char t[16];
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { uri, t, "tracetroutd --check-config", NULL };
	PGconn *c;
	PGresult *r;
	const char *sqlstate;
	int v = known_version(), have, rc = -1;

	snprintf(t, sizeof(t), "%d", timeout_s);
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		snprintf(msg, len, "cannot connect to the database: %s",
		    c != NULL ? PQerrorMessage(c) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, "SELECT coalesce((SELECT max(version) FROM tracetrout_schema), 0)");
	sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (PQresultStatus(r) != PGRES_TUPLES_OK && sqlstate != NULL &&
	    strcmp(sqlstate, "42P01") == 0) {
		/* No table yet (undefined_table): an empty database, which a helper migrates. */
		snprintf(msg, len, "database reached; no TraceTrout schema yet (tracetroutd creates "
		    "version %d at its start)", v);
		rc = 0;
	} else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(msg, len, "database reached, but its schema version cannot be read: %s",
		    PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
	} else if ((have = atoi(PQgetvalue(r, 0, 0))) > v) {
		snprintf(msg, len, "database reached; its schema is version %d, newer than this "
		    "tracetroutd's (%d)", have, v);
	} else {
		snprintf(msg, len, "database reached; schema version %d%s", have,
		    have < v ? " (tracetroutd migrates it at its start)" : ", current");
		rc = 0;
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}
