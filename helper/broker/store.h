/* The broker's SQLite store of traces, hops and replies (sql/NNN-*.sql migrations). */
#ifndef TT_HELPER_BROKER_STORE_H
#define TT_HELPER_BROKER_STORE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path.h"
#include "proto.h"

struct store;

/*
 * Opens or creates the database at path (and its parent directory), sets
 * WAL, busy_timeout, foreign keys and synchronous=NORMAL, and applies the
 * compiled-in migrations. Returns NULL with a message in err on failure,
 * including a database whose schema is newer than this code.
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/* The same with another migration list (NULL-terminated); for tests. */
struct store *store_open_with(const char *path, const char *const *migrations, char *err,
    size_t errlen);
/* Commits what waits in the batch, then closes; store_close(NULL) is harmless. */
void store_close(struct store *st);
/*
 * Checkpoints of the WAL into the database so far, by the store's own thread
 * (store.c, "checkpointer"); 0 without one.
 */
unsigned long store_checkpoints(struct store *st);

/*
 * Writers. Each returns 0, or -1 after logging (rate-limited) and counting
 * the error: a failing store must never stop tracing. With st NULL (no
 * storage) they do nothing and return 0.
 */
/* token: the delete token; client_prefix: store the visitor's /24 or /48, not the address. */
int store_trace_begin(struct store *st, const char *id, uid_t uid,
    const struct proto_trace_req *req, int64_t started_at_ms, const char *token,
    bool client_prefix);
/* hop->ttl is the hop as shown, after HOP_OFFSET. */
int store_hop(struct store *st, const char *id, const struct proto_hop *hop);
/*
 * A late answer (docs/protocol.md, FLAGS "late"): r as one more reply of the
 * stored hop ttl (as shown, after HOP_OFFSET, like hop->ttl above) of trace
 * id, after its others, with r->flags | PROTO_RF_LATE, in one statement.
 * The trace may have ended. -1 (counted) if the hop is not stored (its
 * trace forgotten, or its HOP not yet stored: a silent hop is stored too)
 * or already has PROTO_MAX_REPLIES replies; then nothing is stored.
 */
int store_late_reply(struct store *st, const char *id, int ttl, const struct proto_reply *r);
int store_trace_end(struct store *st, const char *id, const char *reason, int hops,
    int64_t ended_at_ms, uint64_t duration_us);
/*
 * Removes a trace with its hops and replies: one that could not be stored
 * whole is not kept, so every trace in the database with an end is complete.
 */
int store_trace_forget(struct store *st, const char *id);

/* Readers return 0, STORE_NONE (no such trace for uid, or no store), or -1 after logging. */
#define STORE_NONE	1
#define STORE_BAD_TOKEN	2

/*
 * A finished trace as uid may see it (uid 0 sees all): head gets the STORED
 * fields (vantage only for another server's trace), end the END fields, and hop() each hop in TTL order, silent ones
 * included. hop returning -1 stops the read (and store_get returns -1).
 */
int store_get(struct store *st, const char *id, uid_t uid, struct proto_msg *head,
    struct proto_msg *end, int (*hop)(void *, const struct proto_hop *), void *ctx);

/* One trace of a history, as ITEM sends it. */
struct store_item {
	char id[PROTO_ID_LEN + 1];
	uint64_t started_ms;
	char reason[32];
	int hops;
	uint64_t duration_us;
	char vantage[PROTO_VANTAGE_MAX + 1];	/* another server's (a fleet's), else "" */
	char path[PROTO_LINE_MAX - 256];	/* the ITEM line's other keys fit in the rest */
};

/*
 * The finished traces of one visitor address that uid asked for, newest
 * first, older than the trace before (NULL: from the newest), at most limit;
 * *more says whether older ones exist. Traces stored as a prefix are never
 * listed. item() gets each; returning -1 stops.
 */
int store_history(struct store *st, const struct tt_addr *client, uid_t uid, const char *before,
    int limit, int (*item)(void *, const struct store_item *), void *ctx, bool *more);
/*
 * An operator's search of the stored traces (tracetrout-query, the broker's
 * QUERY verb, docs/query.md): each filter that is set narrows it, all of
 * them together. Addresses and prefixes match through indexed binary keys,
 * AS and country through the columns kept from stored look-ups.
 */
struct store_query {
	bool has_visitor;		/* the visitor's address in visitor/visitor_bits */
	struct tt_addr visitor;
	int visitor_bits;		/* 0..32 or 0..128 */
	bool has_hop;			/* some hop answered from an address in hop/hop_bits */
	struct tt_addr hop;
	int hop_bits;
	int64_t since_ms;		/* started at or after; 0: any */
	int64_t until_ms;		/* started before; 0: any */
	uint32_t asn;			/* a hop's AS, the visitor's included; 0: any */
	char country[64];		/* a hop's country (code or name, any case); "": any */
	char reason[32];		/* how it ended; "": any */
	bool has_uid;			/* one site's traces only */
	uid_t uid;
	bool changed;			/* only those whose path changed since the visitor's previous */
	char before[PROTO_ID_LEN + 1];	/* "": from the newest; else older than this trace */
	int limit;			/* 1..STORE_QUERY_MAX */
};
#define STORE_QUERY_MAX	1000

/* One trace a query found: an ITEM's fields, and whose it is. */
struct store_query_item {
	struct store_item item;
	char client[ADDR_STRLEN];	/* the visitor (a stored prefix's first address) */
	uid_t uid;			/* the site that asked */
	bool client_prefix;		/* client is the visitor's stored /24 or /48 */
	/*
	 * How its path differs from the previous finished trace of the same
	 * visitor address (of the same vantage point, and of the same site in
	 * one site's search), as /history marks it; compared is false when
	 * there is none, or the visitor is a stored prefix.
	 */
	bool compared;
	struct path_change change;
};

/*
 * The finished traces q finds, newest first, at most q->limit; *more says
 * whether older ones exist. row() gets each; returning -1 stops. 0, or -1
 * (logged); STORE_NONE without a store, as the other readers. A before
 * that names no trace the search may see finds nothing, as in
 * store_history.
 */
int store_query(struct store *st, const struct store_query *q,
    int (*row)(void *, const struct store_query_item *), void *ctx, bool *more);
/* How many finished traces q finds (its limit and before ignored): 0, or -1 (logged). */
int store_query_count(struct store *st, const struct store_query *q, long long *n);

/* Deletes a finished trace of uid's when token is its delete token: 0, STORE_NONE, STORE_BAD_TOKEN or -1. */
int store_delete(struct store *st, const char *id, uid_t uid, const char *token);
/* The finished traces per site (uid): site() for each, until it returns -1. 0, or -1 after logging. */
int store_sites(struct store *st, int (*site)(void *, uid_t, uint64_t), void *ctx);
/* Deletes at most batch traces started before before_ms; returns how many, or -1. */
int store_sweep(struct store *st, int64_t before_ms, int batch);

/* --- hop look-ups (docs/protocol.md, "Hop enrichment"); kind is "info" or "name" --- */
#define STORE_LOOKUP_OK		1
#define STORE_LOOKUP_FAILED	2

/*
 * The cached answer for addr: STORE_LOOKUP_OK (*data malloc'd, NUL-terminated,
 * *len bytes) if one that succeeded was fetched at ok_since_ms or later,
 * STORE_LOOKUP_FAILED if a failure at failed_since_ms or later, 0 if none, -1.
 */
int store_lookup_get(struct store *st, const char *addr, const char *kind, int64_t ok_since_ms,
    int64_t failed_since_ms, char **data, size_t *len);
/*
 * Caches an answer (ok) or a failure. An info body that is not JSON is
 * cached as a failure: returns 1 then (and for any failure), 0 if kept as
 * an answer, -1 on error.
 */
int store_lookup_put(struct store *st, const char *addr, const char *kind, bool ok,
    const char *data, size_t len, int64_t now_ms);
/* Keeps an answer with a stored trace. */
int store_trace_lookup(struct store *st, const char *id, const char *addr, const char *kind,
    const char *data, size_t len);
/* The answers kept with a trace, each to fn (-1 stops). */
int store_get_lookups(struct store *st, const char *id,
    int (*fn)(void *, const char *addr, const char *kind, const char *data, size_t len), void *ctx);
/* Deletes cached answers fetched before ok_before_ms, failures before failed_before_ms; how many, or -1. */
int store_lookup_sweep(struct store *st, int64_t ok_before_ms, int64_t failed_before_ms);
/*
 * At most max rows in the look-up cache (0: no limit): past it, store_lookup_put
 * deletes the oldest (a tenth of max at once). Forged hop addresses are endless.
 */
void store_lookup_limit(struct store *st, int max);
/*
 * The common fields (country, city, AS, organization) of an info body; 0,
 * or 1 if the body is not a JSON object (f empty), -1 on error. Needs no store.
 */
int store_info_fields(const char *body, size_t len, struct proto_info *f);

/*
 * Writes wait in a batch (one transaction) until store_commit: call it before
 * telling anyone that something is stored. -1 when the commit failed: every
 * write since the last commit is lost (store_lost_since says so).
 */
int store_commit(struct store *st);
/*
 * The journal of a fleet's PostgreSQL store (docs/fleet.md): with max > 0,
 * each trace begun from now on waits to be shipped, and at most max may
 * wait; past it store_trace_begin refuses (-1, counted and logged), as a
 * full disk would. Counts those already waiting. 0, or -1.
 */
int store_journal(struct store *st, int max);
/* Traces waiting to be shipped (as last counted, plus those begun since). */
long store_waiting(const struct store *st);
/*
 * At most max waiting traces that ended before ended_before_ms (wall clock),
 * oldest first: *traces a JSON array of them, each with its hops, replies and
 * kept look-ups, *seqs the JSON array of their row numbers for
 * store_ship_done, *uids that of the uids that asked for them (all
 * malloc'd). Returns how many (0: none, nothing allocated), or -1. Read
 * only what is committed: call it with no batch open.
 */
int store_ship_batch(struct store *st, int64_t ended_before_ms, int max, char **traces,
    char **seqs, char **uids);
/* The traces of seqs (store_ship_batch's) are shipped, and wait no more: in the batch. 0, or -1. */
int store_ship_done(struct store *st, const char *seqs);
/*
 * Visitors' deletions a fleet's database has still to make (a journal's
 * store_delete keeps each): at most max ids as a JSON array in *ids
 * (malloc'd); how many (0: none, nothing allocated), or -1.
 */
int store_ship_deletes(struct store *st, int max, char **ids);
/* Those ids are deleted in the fleet's database: in the batch. 0, or -1. */
int store_ship_deletes_done(struct store *st, const char *ids);
/*
 * Keeps another server's trace from a fleet's PostgreSQL, a JSON object
 * shaped as store_ship_batch's (and its vantage), as uid's: whole, in the
 * batch, or not at all. 0; 1 if one with that id is here already; -1.
 */
int store_import(struct store *st, const char *trace, uid_t uid);
/* Removes every trace store_import kept (in the batch). 0, or -1. */
int store_forget_foreign(struct store *st);
/* When the open batch began (time_ms(CLOCK_MONOTONIC)), or 0 when none is open. */
uint64_t store_batch_since(const struct store *st);
/* The batch that writes go into now: remember it, then ask store_lost_since. */
uint64_t store_batch(const struct store *st);
/* Was a batch from this one on lost (rolled back)? */
bool store_lost_since(const struct store *st, uint64_t batch);

/* Errors counted since store_open. */
unsigned long store_errors(const struct store *st);
/* The schema version this code creates: the number of compiled-in migrations. */
int store_schema_version(void);

#endif
