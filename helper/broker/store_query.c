/*
 * An operator's search of the stored traces (store.h's store_query, issue
 * 17): filters that combine, newest first, paged; and the SQL functions
 * that key addresses and look-up answers for it (sql/011-query.sql).
 */
#include "store.h"
#include "store_int.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "path.h"

/*
 * A count drives from a filter with fewer matches than this when it has a
 * choice; past it, counting the matches to choose costs more than it saves.
 */
#define COUNT_DRIVE_MAX	20000

/* What a search reads first: a range of one index (docs/broker.md, "Searches"). */
enum drive {
	DRIVE_TIME,		/* traces_started: newest first, each tested */
	DRIVE_REASON,		/* traces_reason_started: the same, that reason's only */
	DRIVE_UID,		/* traces_uid_started: the same, that site's only */
	DRIVE_VISITOR,		/* traces_client_key: the visitor's range, sorted */
	DRIVE_HOP,		/* trace_addrs' key: the hop's range, sorted */
	DRIVE_ASN,		/* trace_addrs_asn */
	DRIVE_COUNTRY,		/* trace_addrs_country */
	DRIVE_N
};

/* A store_query made ready for SQL: key ranges, the paging bound. */
struct search {
	const struct store_query *q;
	uint8_t vlo[ADDR_KEY_LEN], vhi[ADDR_KEY_LEN];	/* the visitor's range */
	int vfamily;			/* 4 or 6, as traces.family */
	bool vprefix;			/* traces stored as a prefix can match: q's holds theirs whole */
	uint8_t hlo[ADDR_KEY_LEN], hhi[ADDR_KEY_LEN];	/* a hop's range */
	bool hmapped;			/* an IPv6 hop range that holds IPv4's keys: leave them out */
	uint8_t mlo[ADDR_KEY_LEN], mhi[ADDR_KEY_LEN];	/* IPv4's keys, ::ffff:0:0/96 */
	long long cap;			/* a filter with fewer matches drives (choose) */
	bool before;			/* older than (bstart, bid) */
	int64_t bstart;
	char bid[PROTO_ID_LEN + 1];
};

/* ---- the SQL functions ---- */

/* tt_addr_key(text): an address's key (addr_key), NULL for anything else. */
static void
sql_addr_key(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const unsigned char *t = sqlite3_value_text(argv[0]);
	uint8_t key[ADDR_KEY_LEN];
	struct tt_addr a;

	(void)argc;
	if (t == NULL || addr_parse((const char *)t, &a) < 0) {
		sqlite3_result_null(cx);
		return;
	}
	addr_key(&a, key);
	sqlite3_result_blob(cx, key, sizeof(key), SQLITE_TRANSIENT);
}

/* An info body's keys (store_info_keys) from a function's argument; -1 if none. */
static int
info_keys(sqlite3_value *v, uint32_t *asn, char *country, size_t clen)
{
	const char *body;

	if (sqlite3_value_type(v) == SQLITE_NULL || (body = (const char *)sqlite3_value_text(v)) == NULL)
		return -1;
	return store_info_keys(body, (size_t)sqlite3_value_bytes(v), asn, country, clen) == 0 ? 0 : -1;
}

/* tt_info_asn(json): the AS number of an info answer, NULL if it has none. */
static void
sql_info_asn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	char country[64];
	uint32_t asn;

	(void)argc;
	if (info_keys(argv[0], &asn, country, sizeof(country)) < 0 || asn == 0)
		sqlite3_result_null(cx);
	else
		sqlite3_result_int64(cx, asn);
}

/* tt_info_country(json): its country, the ISO code when it has one, else the name; or NULL. */
static void
sql_info_country(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	char country[64];
	uint32_t asn;

	(void)argc;
	if (info_keys(argv[0], &asn, country, sizeof(country)) < 0 || country[0] == '\0')
		sqlite3_result_null(cx);
	else
		sqlite3_result_text(cx, country, -1, SQLITE_TRANSIENT);
}

int
store_query_functions(sqlite3 *db)
{
	static const struct {
		const char *name;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{ "tt_addr_key", sql_addr_key },
		{ "tt_info_asn", sql_info_asn },
		{ "tt_info_country", sql_info_country },
	};
	int rc = SQLITE_OK;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]) && rc == SQLITE_OK; i++)
		rc = sqlite3_create_function_v2(db, fns[i].name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
		    NULL, fns[i].fn, NULL, NULL, NULL);
	return rc;
}

/* ---- building a search's SQL ---- */

struct sql {
	char buf[2048];
	size_t n;
	bool full;
};

static void
add(struct sql *b, const char *s)
{
	size_t k = strlen(s);

	if (k >= sizeof(b->buf) - b->n) {
		b->full = true;
		return;
	}
	memcpy(b->buf + b->n, s, k + 1);
	b->n += k;
}

/* The hop range on trace_addrs as alias a ("" for the table itself). */
static void
add_hop_range(struct sql *b, const struct search *x, const char *a)
{
	add(b, a);
	add(b, "addr_key BETWEEN :hlo AND :hhi");
	if (x->hmapped) {
		add(b, " AND ");
		add(b, a);
		add(b, "addr_key NOT BETWEEN :mlo AND :mhi");
	}
}

/* What the search reads first, as FROM's table t (and a, the driving rows of trace_addrs). */
static void
add_from(struct sql *b, const struct search *x, enum drive d)
{
	/*
	 * INDEXED BY and CROSS JOIN (which SQLite keeps in the order written)
	 * hold it to the choice: without statistics the planner cannot know
	 * which filter is rare here.
	 */
	static const char *const traces_by[] = {
		[DRIVE_TIME] = "traces t INDEXED BY traces_started",
		[DRIVE_REASON] = "traces t INDEXED BY traces_reason_started",
		[DRIVE_UID] = "traces t INDEXED BY traces_uid_started",
		[DRIVE_VISITOR] = "traces t INDEXED BY traces_client_key",
	};

	if (d <= DRIVE_VISITOR) {
		add(b, traces_by[d]);
		return;
	}
	add(b, "(SELECT DISTINCT trace_seq FROM trace_addrs ");
	if (d == DRIVE_HOP) {
		add(b, "WHERE ");
		add_hop_range(b, x, "");
	} else if (d == DRIVE_ASN)
		add(b, "INDEXED BY trace_addrs_asn WHERE asn = :asn");
	else
		add(b, "INDEXED BY trace_addrs_country WHERE country = :country");
	add(b, ") a CROSS JOIN traces t ON t.seq = a.trace_seq");
}

/* Every filter as a term on t, but the one the driving rows already meet. */
static void
add_where(struct sql *b, const struct search *x, enum drive d, bool paged)
{
	const struct store_query *q = x->q;

	add(b, " WHERE t.ended_at IS NOT NULL");
	if (q->has_visitor) {
		add(b, " AND t.client_key BETWEEN :vlo AND :vhi AND t.family = :vfamily");
		if (!x->vprefix)
			add(b, " AND t.client_prefix = 0");
	}
	if (q->has_hop && d != DRIVE_HOP) {
		add(b, " AND EXISTS (SELECT 1 FROM trace_addrs x INDEXED BY trace_addrs_trace "
		    "WHERE x.trace_seq = t.seq AND ");
		add_hop_range(b, x, "x.");
		add(b, ")");
	}
	if (q->asn != 0 && d != DRIVE_ASN)
		add(b, " AND EXISTS (SELECT 1 FROM trace_addrs x INDEXED BY trace_addrs_asn "
		    "WHERE x.asn = :asn AND x.trace_seq = t.seq)");
	if (q->country[0] && d != DRIVE_COUNTRY)
		add(b, " AND EXISTS (SELECT 1 FROM trace_addrs x INDEXED BY trace_addrs_country "
		    "WHERE x.country = :country AND x.trace_seq = t.seq)");
	if (q->reason[0])
		add(b, " AND t.reason = :reason");
	if (q->since_ms != 0)
		add(b, " AND t.started_at >= :since");
	if (q->until_ms != 0)
		add(b, " AND t.started_at < :until");
	if (q->has_uid)
		add(b, " AND t.uid = :uid");
	/* The first term bounds the index's range, the second breaks ties as store_history does. */
	if (paged && x->before)
		add(b, " AND t.started_at <= :bstart AND (t.started_at, t.id) < (:bstart, :bid)");
}

/* How many of d's index entries match, counting no further than x->cap. */
static void
add_drive_count(struct sql *b, const struct search *x, enum drive d)
{
	const struct store_query *q = x->q;

	add(b, "SELECT count(*) FROM (SELECT 1 FROM ");
	switch (d) {
	case DRIVE_TIME:
	case DRIVE_REASON:
	case DRIVE_UID:
		add(b, d == DRIVE_TIME ? "traces INDEXED BY traces_started WHERE true" :
		    d == DRIVE_REASON ? "traces INDEXED BY traces_reason_started WHERE reason = :reason" :
		    "traces INDEXED BY traces_uid_started WHERE uid = :uid");
		if (q->since_ms != 0)
			add(b, " AND started_at >= :since");
		if (q->until_ms != 0)
			add(b, " AND started_at < :until");
		break;
	case DRIVE_VISITOR:
		add(b, "traces INDEXED BY traces_client_key WHERE client_key BETWEEN :vlo AND :vhi");
		break;
	case DRIVE_HOP:
		add(b, "trace_addrs WHERE ");
		add_hop_range(b, x, "");
		break;
	case DRIVE_ASN:
		add(b, "trace_addrs INDEXED BY trace_addrs_asn WHERE asn = :asn");
		break;
	default:
		add(b, "trace_addrs INDEXED BY trace_addrs_country WHERE country = :country");
		break;
	}
	add(b, " LIMIT :cap)");
}

/* ---- binding and running ---- */

/* Binds each named parameter that s has; SQLITE_OK or an error code. */
static int
search_bind(sqlite3_stmt *s, const struct search *x, long long limit)
{
	const struct store_query *q = x->q;
	const struct {
		const char *name;
		const uint8_t *key;
	} keys[] = {
		{ ":vlo", x->vlo }, { ":vhi", x->vhi }, { ":hlo", x->hlo }, { ":hhi", x->hhi },
		{ ":mlo", x->mlo }, { ":mhi", x->mhi },
	};
	const struct {
		const char *name;
		sqlite3_int64 v;
	} ints[] = {
		{ ":vfamily", x->vfamily }, { ":asn", q->asn }, { ":since", q->since_ms },
		{ ":until", q->until_ms }, { ":uid", (sqlite3_int64)q->uid }, { ":bstart", x->bstart },
		{ ":cap", x->cap }, { ":limit", limit },
	};
	const struct {
		const char *name;
		const char *v;
	} texts[] = {
		{ ":country", q->country }, { ":reason", q->reason }, { ":bid", x->bid },
	};
	int i, rc = SQLITE_OK;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && rc == SQLITE_OK; k++)
		if ((i = sqlite3_bind_parameter_index(s, keys[k].name)) > 0)
			rc = sqlite3_bind_blob(s, i, keys[k].key, ADDR_KEY_LEN, SQLITE_STATIC);
	for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]) && rc == SQLITE_OK; k++)
		if ((i = sqlite3_bind_parameter_index(s, ints[k].name)) > 0)
			rc = sqlite3_bind_int64(s, i, ints[k].v);
	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]) && rc == SQLITE_OK; k++)
		if ((i = sqlite3_bind_parameter_index(s, texts[k].name)) > 0)
			rc = sqlite3_bind_text(s, i, texts[k].v, -1, SQLITE_STATIC);
	return rc;
}

/* Prepares b's SQL on the store's connection and binds x; NULL (logged) on failure. */
static sqlite3_stmt *
prepare(struct store *st, const struct sql *b, const struct search *x, long long limit)
{
	sqlite3_stmt *s = NULL;

	if (b->full) {
		log_warnx("store: a search's SQL is too long");
		return NULL;
	}
	if (sqlite3_prepare_v2(store_db(st), b->buf, -1, &s, NULL) != SQLITE_OK ||
	    search_bind(s, x, limit) != SQLITE_OK) {
		store_read_fail(st, "cannot search the traces", "-");
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Runs a statement of one number into *n. 0, or -1 (logged). */
static int
number(struct store *st, const struct sql *b, const struct search *x, long long *n)
{
	sqlite3_stmt *s = prepare(st, b, x, 0);
	int rc;

	if (s == NULL)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else
		store_read_fail(st, "cannot search the traces", "-");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The integer square root of v (v < 2^62). */
static long long
isqrt(long long v)
{
	long long r = 0;

	for (long long b = 1LL << 31; b > 0; b >>= 1)
		if ((r + b) * (r + b) <= v)
			r += b;
	return r;
}

/*
 * Which index the search reads first (limit rows; 0: a count of all).
 * Driven by a filter of M matches, it reads M rows and sorts them; by time
 * (traces newest first, each tested), about (limit + 1) * N / M rows of N
 * traces stored until the page is full. So the filter with the fewest
 * matches drives when M * M < (limit + 1) * N: 4,600 matches among a
 * million traces for a page of 20; else the traces are read newest first,
 * by reason or site and time when one is asked (those are a part of them,
 * in the same order). A time range is a filter too: a short one is cheap to
 * read whole. A count reads every match, so any filter's index beats
 * reading every trace.
 */
static int
choose(struct store *st, struct search *x, int limit, enum drive *d)
{
	/* Each its own subquery: SQLite reads one end of the rowids for each, not them all. */
	static const char stored[] = "SELECT coalesce((SELECT max(seq) FROM traces) - "
	    "(SELECT min(seq) FROM traces) + 1, 0)";
	const struct store_query *q = x->q;
	const bool present[DRIVE_N] = {
		[DRIVE_TIME] = q->since_ms != 0 || q->until_ms != 0,
		[DRIVE_REASON] = q->reason[0] != '\0',
		[DRIVE_UID] = q->has_uid,
		[DRIVE_VISITOR] = q->has_visitor,
		[DRIVE_HOP] = q->has_hop,
		[DRIVE_ASN] = q->asn != 0,
		[DRIVE_COUNTRY] = q->country[0] != '\0',
	};
	long long n, best;
	struct sql b;

	memset(&b, 0, sizeof(b));
	add(&b, stored);
	/* Row numbers are given in order and never reused: the traces stored, about, at once. */
	if (limit > 0 && number(st, &b, x, &n) < 0)
		return -1;
	x->cap = store_query_driving(st, limit > 0 ? isqrt((limit + 1LL) * n) : COUNT_DRIVE_MAX);
	best = x->cap;
	*d = q->reason[0] ? DRIVE_REASON : q->has_uid ? DRIVE_UID : DRIVE_TIME;
	for (int i = 0; i < DRIVE_N; i++) {
		if (!present[i])
			continue;
		memset(&b, 0, sizeof(b));
		add_drive_count(&b, x, (enum drive)i);
		if (number(st, &b, x, &n) < 0)
			return -1;
		if (n < best) {
			best = n;
			*d = (enum drive)i;
		}
	}
	/* A count with every filter common: the first index of one (a visitor, a hop, ...). */
	for (int i = DRIVE_N - 1; limit == 0 && best == x->cap && i > DRIVE_UID; i--)
		if (present[i])
			*d = (enum drive)i;
	return 0;
}

/* Checks q and makes x from it; -1 (logged) if q is not a search. */
static int
search_make(const struct store_query *q, struct search *x)
{
	struct tt_addr net, v4;
	int bits;

	memset(x, 0, sizeof(*x));
	x->q = q;
	if ((q->has_visitor && ((q->visitor.family != AF_INET && q->visitor.family != AF_INET6) ||
	    q->visitor_bits < 0 || q->visitor_bits > (int)addr_len(&q->visitor) * 8)) ||
	    (q->has_hop && ((q->hop.family != AF_INET && q->hop.family != AF_INET6) ||
	    q->hop_bits < 0 || q->hop_bits > (int)addr_len(&q->hop) * 8)) ||
	    (q->before[0] && !proto_id_ok(q->before, strlen(q->before)))) {
		log_warnx("store: a search with a malformed address, prefix or trace id");
		return -1;
	}
	if (q->has_visitor) {
		addr_key_range(&q->visitor, q->visitor_bits, x->vlo, x->vhi);
		x->vfamily = q->visitor.family == AF_INET6 ? 6 : 4;
		/* A trace stored as its visitor's /24 or /48 is in q's prefix only if all of it is. */
		bits = addr_visitor_net(&q->visitor, &net);
		x->vprefix = q->visitor_bits <= bits;
	}
	if (q->has_hop) {
		addr_key_range(&q->hop, q->hop_bits, x->hlo, x->hhi);
		memset(&v4, 0, sizeof(v4));
		v4.family = AF_INET;
		addr_key_range(&v4, 0, x->mlo, x->mhi);
		/* "::/0" means IPv6's addresses; hop keys mix both families. */
		x->hmapped = q->hop.family == AF_INET6 && memcmp(x->hlo, x->mhi, ADDR_KEY_LEN) <= 0 &&
		    memcmp(x->hhi, x->mlo, ADDR_KEY_LEN) >= 0;
	}
	return 0;
}

/*
 * The trace q->before names, as the search may see it (one site's search,
 * that site's only): 0 and x->before set, STORE_NONE if there is none, -1.
 */
static int
search_before(struct store *st, struct search *x)
{
	static const char sql[] =
	    "SELECT started_at, id FROM traces WHERE id = ?1 AND (?2 IS NULL OR uid = ?2)";
	const struct store_query *q = x->q;
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, q->before, -1, SQLITE_STATIC) != SQLITE_OK ||
	    (q->has_uid && sqlite3_bind_int64(s, 2, (sqlite3_int64)q->uid) != SQLITE_OK))
		rc = SQLITE_ERROR;
	else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		x->before = true;
		x->bstart = sqlite3_column_int64(s, 0);
		snprintf(x->bid, sizeof(x->bid), "%s", (const char *)sqlite3_column_text(s, 1));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_read_fail(st, "cannot search the traces", q->before);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? STORE_NONE : -1;
}

/* ---- the walk over what the search found ---- */

/* The columns of a search's rows: store_item_read's six, then these. */
enum { COL_CLIENT = 6, COL_UID, COL_PREFIX, COL_KEY };

/*
 * The previous finished trace of the same visitor address, from the same
 * vantage point (a fleet's servers each see their own path) and, in one
 * site's search, of that site (as its /history would show it).
 */
static const char prev_sql[] =
    "SELECT id FROM traces INDEXED BY traces_client_key WHERE client_key = :key "
    "AND client_prefix = 0 AND ended_at IS NOT NULL AND vantage IS :vantage "
    "AND (:uid IS NULL OR uid = :uid) AND started_at <= :start AND (started_at, id) < (:start, :id) "
    "ORDER BY started_at DESC, id DESC LIMIT 1";

/* What a walk holds: the row being filled, the path it is compared with. */
struct walk {
	struct store_query_item qi;
	struct store_item older;
	sqlite3_stmt *prev;
};

/* The visitor's previous trace (prev_sql) before the search's row s, into w->older.id ("": none). */
static int
walk_older(struct store *st, const struct search *x, sqlite3_stmt *s, struct walk *w)
{
	sqlite3_stmt *p = w->prev;
	int rc;

	w->older.id[0] = '\0';
	sqlite3_reset(p);
	sqlite3_clear_bindings(p);
	if (sqlite3_bind_value(p, sqlite3_bind_parameter_index(p, ":key"),
	    sqlite3_column_value(s, COL_KEY)) != SQLITE_OK ||
	    sqlite3_bind_value(p, sqlite3_bind_parameter_index(p, ":vantage"),
	    sqlite3_column_value(s, 5)) != SQLITE_OK ||
	    (x->q->has_uid && sqlite3_bind_int64(p, sqlite3_bind_parameter_index(p, ":uid"),
	    (sqlite3_int64)x->q->uid) != SQLITE_OK) ||
	    sqlite3_bind_value(p, sqlite3_bind_parameter_index(p, ":start"),
	    sqlite3_column_value(s, 1)) != SQLITE_OK ||
	    sqlite3_bind_value(p, sqlite3_bind_parameter_index(p, ":id"),
	    sqlite3_column_value(s, 0)) != SQLITE_OK)
		rc = SQLITE_ERROR;
	else if ((rc = sqlite3_step(p)) == SQLITE_ROW)
		snprintf(w->older.id, sizeof(w->older.id), "%s", (const char *)sqlite3_column_text(p, 0));
	sqlite3_reset(p);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	store_read_fail(st, "cannot search the traces", "-");
	return -1;
}

/*
 * Fills w->qi from the search's row, its path included, and how the path
 * changed since the visitor's previous trace. In a search for changed
 * paths, a trace with none before it is left unread: it is not one.
 * 0, or -1 (logged).
 */
static int
walk_row(struct store *st, const struct search *x, sqlite3_stmt *s, struct walk *w)
{
	struct store_query_item *qi = &w->qi;
	const unsigned char *c = sqlite3_column_text(s, COL_CLIENT);

	/* Field by field: clearing the paths' buffers cost as much as reading a path. */
	store_item_read(s, 0, &qi->item);
	snprintf(qi->client, sizeof(qi->client), "%s", c ? (const char *)c : "");
	qi->uid = (uid_t)sqlite3_column_int64(s, COL_UID);
	qi->client_prefix = sqlite3_column_int(s, COL_PREFIX) != 0;
	qi->compared = false;
	memset(&qi->change, 0, sizeof(qi->change));
	/* A prefix is several visitors' (their traces are never compared, as /history is off). */
	w->older.id[0] = '\0';
	if (!qi->client_prefix && walk_older(st, x, s, w) < 0)
		return -1;
	if (x->q->changed && w->older.id[0] == '\0')
		return 0;
	if (store_item_path(st, &qi->item) < 0 ||
	    (w->older.id[0] && store_item_path(st, &w->older) < 0))
		return -1;
	qi->compared = w->older.id[0] != '\0';
	if (qi->compared)
		path_diff(w->older.path, qi->item.path, &qi->change);
	return 0;
}

/*
 * Runs the search x driven by d: row() for each trace found, newest first,
 * at most limit (0: all, none to row()); *n counts what matched (limit + 1
 * at most: *more). With q->changed the rows are tested here, one by one.
 */
static int
walk(struct store *st, const struct search *x, enum drive d, int limit,
    int (*row)(void *, const struct store_query_item *), void *ctx, long long *n, bool *more)
{
	struct walk *w;
	struct sql b;
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_DONE, ret = 0;

	*n = 0;
	*more = false;
	memset(&b, 0, sizeof(b));
	add(&b, "SELECT t.id, t.started_at, t.reason, t.hops, t.duration_us, t.vantage, t.client, "
	    "t.uid, t.client_prefix, t.client_key FROM ");
	add_from(&b, x, d);
	add_where(&b, x, d, limit > 0);
	add(&b, " ORDER BY t.started_at DESC, t.id DESC");
	/* One more than asked says whether there are more; with changed, only testing each can. */
	if (limit > 0 && !x->q->changed)
		add(&b, " LIMIT :limit");
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("store: search");
		return -1;
	}
	if (sqlite3_prepare_v2(store_db(st), prev_sql, -1, &w->prev, NULL) != SQLITE_OK) {
		store_read_fail(st, "cannot search the traces", "-");
		ret = -1;
	} else if ((s = prepare(st, &b, x, (long long)limit + 1)) == NULL)
		ret = -1;
	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (walk_row(st, x, s, w) < 0) {
			ret = -1;
			break;
		}
		if (x->q->changed && !(w->qi.compared && path_changed(&w->qi.change)))
			continue;
		if (limit > 0 && *n == limit) {
			*more = true;
			break;
		}
		(*n)++;
		if (limit > 0 && row(ctx, &w->qi) < 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_read_fail(st, "cannot search the traces", "-");
		ret = -1;
	}
	sqlite3_finalize(s);
	sqlite3_finalize(w->prev);
	free(w);
	return ret;
}

/*
 * Makes x from q and chooses what the search of limit rows (0: a count)
 * reads first: 0, STORE_NONE without a store, -1.
 */
static int
search_start(struct store *st, const struct store_query *q, int limit, struct search *x,
    enum drive *d)
{
	if (st == NULL)
		return STORE_NONE;
	return search_make(q, x) < 0 || choose(st, x, limit, d) < 0 ? -1 : 0;
}

int
store_query(struct store *st, const struct store_query *q,
    int (*row)(void *, const struct store_query_item *), void *ctx, bool *more)
{
	struct search x;
	enum drive d;
	long long n;
	int rc;

	*more = false;
	if (q->limit < 1 || q->limit > STORE_QUERY_MAX) {
		log_warnx("store: a search's limit is %d, not 1-%d", q->limit, STORE_QUERY_MAX);
		return -1;
	}
	if ((rc = search_start(st, q, q->limit, &x, &d)) != 0)
		return rc;
	/* Older than a trace the search may not see: nothing, as store_history lists. */
	if (q->before[0] && (rc = search_before(st, &x)) != 0)
		return rc == STORE_NONE ? 0 : -1;
	return walk(st, &x, d, q->limit, row, ctx, &n, more);
}

int
store_query_count(struct store *st, const struct store_query *q, long long *n)
{
	struct search x;
	struct sql b;
	enum drive d;
	bool more;
	int rc;

	*n = 0;
	if ((rc = search_start(st, q, 0, &x, &d)) != 0)
		return rc;
	/* A changed path is no column: each trace is compared with its visitor's previous one. */
	if (q->changed)
		return walk(st, &x, d, 0, NULL, NULL, n, &more);
	memset(&b, 0, sizeof(b));
	add(&b, "SELECT count(*) FROM ");
	add_from(&b, &x, d);
	add_where(&b, &x, d, false);
	return number(st, &b, &x, n);
}
