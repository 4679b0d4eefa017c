/*
 * The broker's stored traces: the GET, HISTORY and DELETE verbs of sites,
 * the QUERY verb of operators, opening the database (and again after it
 * failed), and the retention sweep.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "log.h"

#define STORE_RETRY_S		60		/* between attempts to open a database that failed */
#define SWEEP_INTERVAL_MS	(3600 * 1000)	/* between retention sweeps */
#define SWEEP_BATCH		1000		/* traces deleted at once */
#define FLEET_AWAY_RETRY_S	5		/* retry= while the fleet's database cannot be asked */

/* A reply in progress: GET and HISTORY write their lines from the store's callbacks. */
struct answer {
	struct broker *b;
	struct client *c;
	struct proto_msg *head;	/* GET: STORED, sent before the first HOP */
	bool head_sent;
};

/*
 * The store answers for the caller's uid (root sees all). Reading a stored
 * trace or a history happens inside the loop: they are indexed lookups of a
 * few dozen rows, far below a trace's own cost.
 */
static int
store_ready(struct broker *b, struct client *c)
{
	c->requested = 1;
	c->deadline_ms = time_ms(CLOCK_MONOTONIC) + CLIENT_IDLE_MS;
	store_retry(b);
	if (b->st == NULL) {
		client_error(b, c, "no-storage", "this helper has no usable database");
		return -1;
	}
	/* What it reads is committed: never a batch that may still be lost. */
	commit_timed(b);
	return 0;
}

static int
answer_line(struct answer *a, const char *line, int n)
{
	if (n < 0 || a->c->dead)
		return -1;
	client_write(a->b, a->c, line, (size_t)n);
	return a->c->dead ? -1 : 0;
}

/* One answer kept with a stored trace, as INFO or NAME. */
static int
get_lookup(void *ctx, const char *addr, const char *kind, const char *data, size_t len)
{
	struct answer *a = ctx;
	struct tt_addr ad;

	if (addr_parse(addr, &ad) < 0)
		return 0;
	lookup_send(a->b, a->c, strcmp(kind, "name") == 0 ? ENRICH_NAME : ENRICH_INFO, &ad, data,
	    len);
	return a->c->dead ? -1 : 0;
}

/* STORED, then the answers kept with the trace, so that every hop shows them. */
static int
get_head(struct answer *a)
{
	char line[PROTO_LINE_MAX + 1];

	if (a->head_sent)
		return 0;
	a->head_sent = true;
	a->head->retention_s = a->b->cfg->retention_us / 1000000;
	if (a->head->vantage[0] == '\0')
		snprintf(a->head->vantage, sizeof(a->head->vantage), "%s", fleet_vantage(a->b->fleet));
	if (answer_line(a, line, proto_fmt_stored(line, sizeof(line), a->head)) < 0)
		return -1;
	return store_get_lookups(a->b->st, a->head->id, get_lookup, a) < 0 && a->c->dead ? -1 : 0;
}

static int
get_hop(void *ctx, const struct proto_hop *hop)
{
	struct answer *a = ctx;
	char line[PROTO_LINE_MAX + 1];
	struct proto_hop h = *hop;
	int n;

	if (get_head(a) < 0)
		return -1;
	/* As live: a hop with too many replies for a line loses its last ones. */
	while ((n = proto_fmt_hop(line, sizeof(line), &h)) < 0 && h.nreplies > 0)
		h.nreplies--;
	return answer_line(a, line, n);
}

/*
 * Asks the fleet's PostgreSQL for a, as c's uid may see it; c waits for
 * fleet_answered(). false when it cannot ask now: the store alone answers.
 */
static bool
wait_for_fleet(struct broker *b, struct client *c, const struct fleet_ask *a)
{
	c->ask = *a;
	c->ask.uid = c->uid;
	return (c->ask.serial = fleet_ask(b->fleet, &c->ask)) != 0;
}

/*
 * A fleet's PostgreSQL holds every shipped trace, and it cannot be asked
 * now: the visitor may try again, rather than be told there is no such trace.
 */
static void
fleet_away(struct broker *b, struct client *c)
{
	char line[PROTO_LINE_MAX + 1];
	int n;

	if ((n = proto_fmt_error_retry(line, sizeof(line), "store-away", FLEET_AWAY_RETRY_S,
	    "the fleet's database cannot be asked now")) > 0)
		client_write(b, c, line, (size_t)n);
	client_close_after(c);
}

/* GET from the store; with fetch, one it lacks is asked of the fleet's PostgreSQL first. */
static void
get_stored(struct broker *b, struct client *c, const char *id, bool fetch)
{
	struct proto_msg head, end;
	struct answer a = { b, c, &head, false };
	char line[PROTO_LINE_MAX + 1];
	int rc;

	if (store_ready(b, c) < 0)
		return;
	rc = store_get(b->st, id, c->uid, &head, &end, get_hop, &a);
	if (rc == STORE_NONE && fetch && b->fleet != NULL) {
		/* Another server's, perhaps: fleet_answered() answers once PostgreSQL has. */
		struct fleet_ask ask = { .kind = FLEET_ASK_TRACE };

		snprintf(ask.id, sizeof(ask.id), "%s", id);
		if (!wait_for_fleet(b, c, &ask))
			fleet_away(b, c);
		return;
	}
	if (rc == STORE_NONE) {
		client_error(b, c, "unknown-trace", "no such trace");
		return;
	}
	if (rc < 0 || get_head(&a) < 0) {
		if (!c->dead)
			client_error(b, c, "internal", "the database could not be read");
		return;
	}
	answer_line(&a, line, proto_fmt_end(line, sizeof(line), end.code, end.hops,
	    end.duration_us, 1));
	client_close_after(c);
}

void
request_get(struct broker *b, struct client *c, const struct proto_msg *m)
{
	get_stored(b, c, m->id, true);
}

static void history_stored(struct broker *b, struct client *c, const struct tt_addr *client,
    const char *before, int limit, bool ask);
static void delete_stored(struct broker *b, struct client *c, const char *id, const char *token,
    bool ask);

void
fleet_answered(void *ctx, uint64_t serial, bool answered)
{
	struct broker *b = ctx;
	struct client *c;

	TAILQ_FOREACH(c, &b->clients, entry)
		if (c->ask.serial == serial) {
			c->ask.serial = 0;
			if (c->dead)
				return;
			/* A history is this server's part of it then; a trace may be anywhere. */
			if (!answered && c->ask.kind != FLEET_ASK_HISTORY)
				fleet_away(b, c);
			else if (c->ask.kind == FLEET_ASK_TRACE)
				get_stored(b, c, c->ask.id, false);
			else if (c->ask.kind == FLEET_ASK_DELETE)
				delete_stored(b, c, c->ask.id, c->ask.token, false);
			else
				history_stored(b, c, &c->ask.client, c->ask.id[0] ? c->ask.id : NULL,
				    c->ask.limit, false);
			return;
		}
}

static int
item_line(void *ctx, const struct store_item *it)
{
	struct answer *a = ctx;
	char line[PROTO_LINE_MAX + 1];

	/* A fleet's: this server's own traces name it too. */
	return answer_line(a, line, proto_fmt_item(line, sizeof(line), it->id, it->started_ms,
	    it->reason, it->hops, it->duration_us, it->vantage[0] ? it->vantage :
	    fleet_vantage(a->b->fleet), NULL, NULL, it->path));
}

/* HISTORY from the store; with ask, the fleet's other servers' traces are fetched first. */
static void
history_stored(struct broker *b, struct client *c, const struct tt_addr *client,
    const char *before, int limit, bool ask)
{
	struct answer a = { b, c, NULL, false };
	char line[PROTO_LINE_MAX + 1];
	bool more;
	int n;

	if (store_ready(b, c) < 0)
		return;
	/* A prefix is other people's too: with truncation there is no history by address. */
	if (b->cfg->truncate_clients) {
		client_error(b, c, "history-off", "visitor addresses are stored truncated");
		return;
	}
	if (ask) {
		struct fleet_ask q = { .kind = FLEET_ASK_HISTORY, .client = *client, .limit = limit };

		snprintf(q.id, sizeof(q.id), "%s", before ? before : "");
		if (wait_for_fleet(b, c, &q))
			return;
	}
	if (store_history(b->st, client, c->uid, before, limit, item_line, &a, &more) != 0) {
		if (!c->dead)
			client_error(b, c, "internal", "the database could not be read");
		return;
	}
	if ((n = proto_fmt_list(line, sizeof(line), more)) > 0)
		client_write(b, c, line, (size_t)n);
	client_close_after(c);
}

/* An operator's answer in progress. */
struct query_answer {
	struct answer a;
	const char *vantage;
};

static int
query_row(void *ctx, const struct store_query_item *it)
{
	struct query_answer *q = ctx;
	char line[PROTO_LINE_MAX + 1];

	return answer_line(&q->a, line, proto_fmt_item(line, sizeof(line), it->item.id,
	    it->item.started_ms, it->item.reason, it->item.hops, it->item.duration_us,
	    it->item.vantage[0] ? it->item.vantage : q->vantage, it->client,
	    site_names_name(&q->a.b->names, it->uid), it->item.path));
}

/*
 * QUERY: every site's stored traces that the filters find (docs/query.md).
 * A site is named as across a fleet; one no uid here has, like another
 * server's vantage point, finds nothing.
 */
void
request_query(struct broker *b, struct client *c, const struct proto_msg *m)
{
	const struct proto_query *pq = &m->query;
	struct query_answer qa = { { b, c, NULL, false }, fleet_vantage(b->fleet) };
	struct store_query q;
	char line[PROTO_LINE_MAX + 1];
	long long n = 0;
	bool more = false;
	int rc = 0;

	if (store_ready(b, c) < 0)
		return;
	if (b->fleet != NULL) {
		client_error(b, c, "unsupported", "a fleet's PostgreSQL store cannot be searched yet");
		return;
	}
	if (qa.vantage[0] == '\0')
		qa.vantage = b->cfg->vantage;
	memset(&q, 0, sizeof(q));
	q.has_visitor = pq->visitor_bits >= 0;
	q.visitor = pq->visitor;
	q.visitor_bits = pq->visitor_bits;
	q.has_hop = pq->hop_bits >= 0;
	q.hop = pq->hop;
	q.hop_bits = pq->hop_bits;
	q.since_ms = (int64_t)pq->since_ms;
	q.until_ms = (int64_t)pq->until_ms;
	q.asn = pq->asn;
	snprintf(q.country, sizeof(q.country), "%s", pq->country);
	snprintf(q.reason, sizeof(q.reason), "%s", pq->reason);
	q.changed = pq->changed;
	snprintf(q.before, sizeof(q.before), "%s", m->id);
	q.limit = pq->limit;
	if (pq->site[0]) {
		q.has_uid = true;
		q.uid = site_names_uid(&b->names, pq->site);
	}
	if ((q.has_uid && q.uid == (uid_t)-1) ||
	    (pq->vantage[0] && strcmp(pq->vantage, qa.vantage) != 0))
		;	/* finds nothing */
	else if (pq->count)
		rc = store_query_count(b->st, &q, &n);
	else
		rc = store_query(b->st, &q, query_row, &qa, &more);
	if (rc != 0) {
		if (!c->dead)
			client_error(b, c, "internal", "the database could not be read");
		return;
	}
	if (pq->count)
		answer_line(&qa.a, line, proto_fmt_count(line, sizeof(line), (uint64_t)n));
	else
		answer_line(&qa.a, line, proto_fmt_list(line, sizeof(line), more));
	client_close_after(c);
}

void
request_history(struct broker *b, struct client *c, const struct proto_msg *m)
{
	history_stored(b, c, &m->req.client, m->id[0] ? m->id : NULL, m->limit, true);
}

/*
 * DELETE in the store; with ask, a trace it lacks is asked of the fleet's
 * PostgreSQL first: deleted here with the token it has there, the deletion
 * then goes to PostgreSQL as this server's own do (fleet.c).
 */
static void
delete_stored(struct broker *b, struct client *c, const char *id, const char *token, bool ask)
{
	char line[PROTO_LINE_MAX + 1];
	int n, rc;

	if (store_ready(b, c) < 0)
		return;
	rc = store_delete(b->st, id, c->uid, token);
	if (rc == STORE_NONE && ask && b->fleet != NULL) {
		struct fleet_ask q = { .kind = FLEET_ASK_DELETE };

		snprintf(q.id, sizeof(q.id), "%s", id);
		snprintf(q.token, sizeof(q.token), "%s", token);
		if (!wait_for_fleet(b, c, &q))
			fleet_away(b, c);
		return;
	}
	/* DELETED says the trace is gone: committed first. */
	if (rc == 0 && commit_timed(b) < 0)
		rc = -1;
	switch (rc) {
	case 0:
		log_info("broker: trace %s deleted by its visitor", id);
		if ((n = proto_fmt_deleted(line, sizeof(line), id)) > 0)
			client_write(b, c, line, (size_t)n);
		client_close_after(c);
		break;
	case STORE_NONE:
		client_error(b, c, "unknown-trace", "no such trace");
		break;
	case STORE_BAD_TOKEN:
		client_error(b, c, "bad-token", "this is not the trace's delete token");
		break;
	default:
		client_error(b, c, "internal", "the database could not be written");
		break;
	}
}

void
request_delete(struct broker *b, struct client *c, const struct proto_msg *m)
{
	delete_stored(b, c, m->id, m->token, true);
}

/*
 * Retention: traces that started longer ago than the setting are deleted
 * at start and then hourly, in batches so that a long backlog does not
 * hold the loop (the next batch follows a second later).
 */
void
sweep(struct broker *b)
{
	uint64_t now = time_ms(CLOCK_MONOTONIC);
	int n;

	if (b->cfg->retention_us == 0 || now < b->next_sweep_ms)
		return;
	b->next_sweep_ms = now + SWEEP_INTERVAL_MS;
	store_retry(b);
	if (b->st == NULL)
		return;
	/* Cached answers and failures past their cache times are of no use. */
	store_lookup_sweep(b->st, (int64_t)(time_ms(CLOCK_REALTIME) - b->cfg->info_cache_us / 1000),
	    (int64_t)(time_ms(CLOCK_REALTIME) - b->cfg->info_negative_cache_us / 1000));
	n = store_sweep(b->st, (int64_t)(time_ms(CLOCK_REALTIME) - b->cfg->retention_us / 1000),
	    SWEEP_BATCH);
	if (n > 0)
		log_info("broker: deleted %d traces older than the retention", n);
	if (n == SWEEP_BATCH)
		b->next_sweep_ms = now + 1000;
}

/* Opens the database, at start and again every STORE_RETRY_S while it cannot be. */
void
store_retry(struct broker *b)
{
	uint64_t now = time_ms(CLOCK_MONOTONIC);
	char err[512];

	if (b->st != NULL || config_store_path(b->cfg)[0] == '\0' || now < b->store_retry_ms)
		return;
	if ((b->st = store_open(config_store_path(b->cfg), err, sizeof(err))) == NULL) {
		b->db_errors_before++;
		b->store_retry_ms = now + STORE_RETRY_S * 1000;
		log_warnx("broker: store: %s; traces are not stored (trying again in %d s)", err,
		    STORE_RETRY_S);
	} else {
		store_lookup_limit(b->st, b->cfg->info_cache_max);
		if (config_is_pg(b->cfg))
			store_journal(b->st, b->cfg->journal_max);
		if (b->db_errors_before > 0)
			log_info("broker: store: %s opened; traces are stored again",
			    config_store_path(b->cfg));
	}
}
