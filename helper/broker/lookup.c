/*
 * The broker's hop look-ups (docs/protocol.md, "Hop enrichment"): which of a
 * session's hop addresses are looked up, from the cache or through enrich.c,
 * and where the answers go.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "log.h"

#define SESSION_LOOKUPS_MAX	128		/* addresses a session looks up; more are shown without */
#define LOOKUP_BATCH_MS		20		/* look-ups start this long after a hop, or at the end */

/* What a session asked of one hop address, by enum enrich_kind. */
enum { LK_NONE = 0, LK_WANTED, LK_PENDING, LK_DONE };
struct lookup_ref {
	struct tt_addr addr;
	uint8_t state[2];
};

static const char *const lookup_kind[] = { [ENRICH_INFO] = "info", [ENRICH_NAME] = "name" };

static bool
lookup_on(const struct broker *b, const struct session *s, enum enrich_kind k)
{
	if (b->enrich == NULL)
		return false;
	return k == ENRICH_INFO ? b->cfg->info_uri[0] != '\0' : b->cfg->names && !s->req.nonames;
}

/*
 * Addresses in the visitor's own network are never looked up: they are the
 * visitor's neighbours or devices, and whoever holds an IPv6 /64 can answer
 * from as many of them as it likes. That network is its /24 or /64, and
 * with truncate-clients what is kept of it, the /24 or /48, the visitor
 * included; otherwise the visitor's own address is looked up, as the
 * original showed its place on the last line.
 */
static bool
lookup_allowed(const struct broker *b, const struct session *s, const struct tt_addr *a)
{
	const struct tt_addr *client = &s->req.client;
	struct tt_addr net;
	int bits = addr_visitor_net(client, &net);

	if (!b->cfg->truncate_clients) {
		if (addr_equal(a, client))
			return true;
		if (client->family == AF_INET6)
			addr_mask(client, bits = 64, &net);
	}
	return !addr_in_prefix(a, &net, bits);
}

static struct lookup_ref *
lookup_find(struct session *s, const struct tt_addr *a)
{
	for (int i = 0; i < s->nlk; i++)
		if (addr_equal(&s->lk[i].addr, a))
			return &s->lk[i];
	return NULL;
}

/* The session's entry for a, added if new; NULL when its table is full. */
static struct lookup_ref *
lookup_ref(struct session *s, const struct tt_addr *a)
{
	struct lookup_ref *r;

	if ((r = lookup_find(s, a)) != NULL)
		return r;
	if (s->nlk == SESSION_LOOKUPS_MAX)
		return NULL;
	if (s->nlk % 16 == 0) {
		if ((r = realloc(s->lk, (size_t)(s->nlk + 16) * sizeof(*r))) == NULL)
			return NULL;
		s->lk = r;
	}
	r = &s->lk[s->nlk++];
	memset(r, 0, sizeof(*r));
	r->addr = *a;
	return r;
}

/* An answer to a client: INFO, its body and '\n'; or NAME. */
void
lookup_send(struct broker *b, struct client *c, enum enrich_kind k, const struct tt_addr *a,
    const char *data, size_t len)
{
	char line[PROTO_LINE_MAX + 1];
	struct proto_info f;
	int n;

	if (c == NULL || c->dead)
		return;
	if (k == ENRICH_NAME) {
		if ((n = proto_fmt_name(line, sizeof(line), a, data)) > 0)
			client_write(b, c, line, (size_t)n);
		return;
	}
	if (store_info_fields(data, len, &f) != 0)
		memset(&f, 0, sizeof(f));
	if ((n = proto_fmt_info(line, sizeof(line), a, len, &f)) < 0)
		return;
	client_write(b, c, line, (size_t)n);
	client_write(b, c, data, len);
	client_write(b, c, "\n", 1);
}

/* An answer for one session: to its client while it is there, and kept with it if stored. */
static void
lookup_answer(struct broker *b, struct session *s, enum enrich_kind k, const struct tt_addr *a,
    const char *data, size_t len)
{
	char ab[ADDR_STRLEN];

	if (s->stored && !s->store_failed)
		store_trace_lookup(b->st, s->id, addr_format(a, ab), lookup_kind[k], data, len);
	lookup_send(b, s->client, k, a, data, len);
}

/*
 * What the cache says of r's address: true if it settled the look-up (an
 * answer, sent and kept now, or a failure still remembered), false if it
 * must be fetched.
 */
static bool
lookup_cached(struct broker *b, struct session *s, struct lookup_ref *r, enum enrich_kind k)
{
	uint64_t now = time_ms(CLOCK_REALTIME);
	char ab[ADDR_STRLEN], *data;
	size_t len;

	switch (store_lookup_get(b->st, addr_format(&r->addr, ab), lookup_kind[k],
	    (int64_t)(now - b->cfg->info_cache_us / 1000),
	    (int64_t)(now - b->cfg->info_negative_cache_us / 1000), &data, &len)) {
	case STORE_LOOKUP_OK:
		r->state[k] = LK_DONE;
		lookup_answer(b, s, k, &r->addr, data, len);
		free(data);
		return true;
	case STORE_LOOKUP_FAILED:
		r->state[k] = LK_DONE;
		return true;
	default:
		return false;
	}
}

/*
 * The look-ups of a hop's addresses, before its HOP line: what the cache
 * knows goes out now; the rest is only marked. lookups_start fetches it
 * when the trace ends or LOOKUP_BATCH_MS after the hop, whichever comes
 * first: setting up requests costs the broker tens of microseconds each,
 * which the hops and END of a trace of a few milliseconds must not wait
 * for, while a service's answer takes far longer than the batch anyway.
 */
void
hop_lookups(struct broker *b, struct session *s, const struct proto_hop *hop)
{
	struct lookup_ref *r;

	/* A reused router is shown too, with its name and place (the hop's only address then). */
	for (int i = 0; i <= hop->nreplies; i++) {
		const struct tt_addr *a = i < hop->nreplies ? &hop->r[i].from : &hop->reused;

		if (a->family == 0 || !lookup_allowed(b, s, a) || (r = lookup_ref(s, a)) == NULL)
			continue;
		for (int k = ENRICH_INFO; k <= ENRICH_NAME; k++) {
			if (r->state[k] != LK_NONE || !lookup_on(b, s, (enum enrich_kind)k))
				continue;
			if (lookup_cached(b, s, r, (enum enrich_kind)k))
				continue;
			r->state[k] = LK_WANTED;
			if (s->lk_start_ms == 0)
				s->lk_start_ms = time_ms(CLOCK_MONOTONIC) + LOOKUP_BATCH_MS;
		}
	}
}

/* Starts the look-ups hop_lookups marked. */
void
lookups_start(struct broker *b, struct session *s)
{
	s->lk_start_ms = 0;
	for (int i = 0; i < s->nlk; i++)
		for (int k = ENRICH_INFO; k <= ENRICH_NAME; k++) {
			struct lookup_ref *r = &s->lk[i];

			if (r->state[k] != LK_WANTED)
				continue;
			/* Another session's look-up may have ended since the hop: ask the cache again. */
			if (lookup_cached(b, s, r, (enum enrich_kind)k))
				continue;
			r->state[k] = LK_DONE;
			if (enrich_start(b->enrich, (enum enrich_kind)k, &r->addr) == 1) {
				r->state[k] = LK_PENDING;
				s->lk_pending++;
			}
		}
}

/*
 * A session going away: its queued look-ups that no other session waits for are
 * dropped, so that the queue holds only what someone will show.
 */
void
lookups_drop(struct broker *b, struct session *s)
{
	struct session *o;
	struct lookup_ref *r;

	for (int i = 0; i < s->nlk; i++)
		for (int k = ENRICH_INFO; k <= ENRICH_NAME; k++) {
			bool wanted = false;

			if (s->lk[i].state[k] != LK_PENDING)
				continue;
			TAILQ_FOREACH(o, &b->sessions, entry)
				if (o != s && (r = lookup_find(o, &s->lk[i].addr)) != NULL &&
				    r->state[k] == LK_PENDING)
					wanted = true;
			if (!wanted)
				enrich_cancel(b->enrich, (enum enrich_kind)k, &s->lk[i].addr);
		}
}

/* A look-up ended: cache it, and give it to every session waiting for it. */
static void
lookup_done(void *ctx, enum enrich_kind k, const struct tt_addr *a, bool ok, const char *data,
    size_t len, const char *why)
{
	struct broker *b = ctx;
	struct session *s, *next;
	struct lookup_ref *r;
	struct proto_info f;
	char ab[ADDR_STRLEN];

	addr_format(a, ab);
	b->enrich_done++;
	/* Only a JSON object is an answer: anything else is shown nowhere, and cached as a failure. */
	if (ok && k == ENRICH_INFO && store_info_fields(data, len, &f) != 0) {
		ok = false;
		why = "not a JSON object";
	}
	if (!ok)
		log_debug("broker: %s look-up of %s failed: %s", lookup_kind[k], ab, why);
	store_retry(b);
	store_lookup_put(b->st, ab, lookup_kind[k], ok, data, len, (int64_t)time_ms(CLOCK_REALTIME));
	for (s = TAILQ_FIRST(&b->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if ((r = lookup_find(s, a)) == NULL || r->state[k] != LK_PENDING)
			continue;
		r->state[k] = LK_DONE;
		s->lk_pending--;
		if (ok)
			lookup_answer(b, s, k, a, data, len);
		if (s->state == SESSION_ENDED && !s->end_commit && s->lk_pending == 0 &&
		    s->lk_start_ms == 0) {
			session_end_line(b, s);
			session_free(b, s);
		}
	}
}

int
enrich_setup(struct broker *b)
{
	const struct config *cfg = b->cfg;
	struct enrich_cfg ec;
	char err[256];

	if (cfg->info_uri[0] == '\0' && !cfg->names)
		return 0;
	memset(&ec, 0, sizeof(ec));
	ec.uri_template = cfg->info_uri;
	ec.names = cfg->names;
	ec.skip_private = cfg->skip_private;
	ec.connect_timeout_ms = cfg->info_connect_timeout_us / 1000;
	ec.timeout_ms = cfg->info_timeout_us / 1000;
	ec.max_bytes = (size_t)cfg->info_max_size;
	ec.max_requests = cfg->info_max_requests;
	ec.max_jobs = cfg->lookup_max;
	ec.dns_server = cfg->dns_server;
	if ((b->enrich = enrich_new(&ec, lookup_done, b, err, sizeof(err))) == NULL) {
		log_warnx("broker: hop look-ups are off: %s", err);
		return -1;
	}
	if (cfg->info_uri[0] != '\0')
		log_info("broker: hop info from %s", cfg->info_uri);
	return 0;
}
