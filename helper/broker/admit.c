/*
 * The broker's admission of traces: the visitor table, and charging and
 * releasing the limits (limit.c's buckets and checks) a session holds.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "log.h"

#define BUSY_RUNNING_RETRY	5		/* retry= when a limit on running traces is hit: a trace takes seconds */

static const char *const level_why[LIMIT_LEVELS][2] = {
	{ "too many traces running for this address", "too many traces started for this address" },
	{ "too many traces running for this /56", "too many traces started for this /56" },
	{ "too many traces running for this network", "too many traces started for this network" },
};

static unsigned int
visitor_hash(const struct tt_addr *key, int bits)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < sizeof(key->u.b); i++)
		h = (h ^ key->u.b[i]) * 16777619u;
	return (h ^ (uint32_t)key->family ^ (uint32_t)bits << 8) % VISITOR_HASH;
}

/*
 * Forgets visitors with no trace whose bucket has been full for a while:
 * they would be made again exactly as they were. Oldest first, so a
 * visitor with a trace still running only delays those behind it.
 */
static void
visitor_prune(struct broker *b, uint64_t now)
{
	uint64_t refill = (uint64_t)3 * 1000000 + 1000000;	/* burst / rate seconds, and 1 s */
	struct visitor *v;

	while ((v = TAILQ_FIRST(&b->vlru)) != NULL && v->running == 0 &&
	    now - v->touched_us > refill) {
		TAILQ_REMOVE(&b->vlru, v, lru);
		LIST_REMOVE(v, hash);
		b->nvisitors--;
		free(v);
	}
}

static void
visitor_touch(struct broker *b, struct visitor *v, uint64_t now)
{
	v->touched_us = now;
	TAILQ_REMOVE(&b->vlru, v, lru);
	TAILQ_INSERT_TAIL(&b->vlru, v, lru);
}

/*
 * The entry of an address cut to bits; a new one (full bucket) if create.
 * NULL if none or no memory.
 */
static struct visitor *
visitor_get(struct broker *b, const struct tt_addr *a, int bits, int create, uint64_t now)
{
	struct tt_addr key;
	struct visitor *v;
	unsigned int h;

	addr_mask(a, bits, &key);
	h = visitor_hash(&key, bits);
	LIST_FOREACH(v, &b->vhash[h], hash)
		if (v->bits == bits && addr_equal(&v->key, &key))
			return v;
	if (!create || (v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->key = key;
	v->bits = bits;
	v->touched_us = now;
	LIST_INSERT_HEAD(&b->vhash[h], v, hash);
	TAILQ_INSERT_TAIL(&b->vlru, v, lru);
	b->nvisitors++;
	return v;
}

static void
visitor_release(struct broker *b, struct visitor *v)
{
	if (v->running > 0)
		v->running--;
	visitor_touch(b, v, mono_us());
}

/* Each level's cap on running traces and rate, from the settings. */
static void
level_limits(const struct config *cfg, enum limit_level l, int *max, int *rate)
{
	*max = l == LIMIT_VISITOR ? cfg->client_max : l == LIMIT_SUBNET ? cfg->subnet_max :
	    cfg->prefix_max;
	*rate = l == LIMIT_VISITOR ? cfg->client_rate : l == LIMIT_SUBNET ? cfg->subnet_rate :
	    cfg->prefix_rate;
}

/* Releases what a session holds; with refund, gives back the rate tokens it was charged. */
void
limits_release(struct broker *b, struct session *s, int refund)
{
	struct site *site = site_get(b, s->uid);
	int max, rate;

	if (site != NULL && site->active > 0 && s->visitor[LIMIT_VISITOR] != NULL)
		site->active--;
	if (refund && s->visitor[LIMIT_VISITOR] != NULL)
		bucket_give(&b->global_rate, 2 * (uint64_t)b->cfg->global_rate);
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (s->visitor[l] == NULL)
			continue;
		level_limits(b->cfg, (enum limit_level)l, &max, &rate);
		if (refund)
			bucket_give(&s->visitor[l]->rate, 3 * (uint64_t)rate);
		visitor_release(b, s->visitor[l]);
		s->visitor[l] = NULL;
	}
}

/*
 * Charges the site's request bucket (every TRACE, accepted or not: no site
 * gets free conntrack look-ups), then checks every other limit before any is
 * charged. On success s holds its visitor and prefixes, each charged one
 * running trace and one token; the tokens go back if the engine refuses the
 * trace (limits_release), so that bogus requests cannot empty the buckets of
 * a visitor or of all. Returns 0, or -1 after answering busy (or internal,
 * out of memory).
 */
int
limits_take(struct broker *b, struct client *c, struct session *s, const struct tt_addr *client)
{
	const struct config *cfg = b->cfg;
	uint64_t now = mono_us();
	struct limit_check chk[2 + LIMIT_LEVELS];
	struct bucket fresh[LIMIT_LEVELS];
	struct visitor *v[LIMIT_LEVELS] = { NULL };
	struct site *site = site_get(b, c->uid);
	int n = 0, w, max, rate;
	const char *why;

	if (site == NULL) {
		client_error(b, c, "internal", "out of memory");
		return -1;
	}
	if ((w = bucket_wait(&site->requests, (uint64_t)cfg->site_rate, 2 * (uint64_t)cfg->site_rate,
	    now)) > 0) {
		client_busy(b, c, w, "too many requests from this site");
		return -1;
	}
	bucket_take(&site->requests);
	visitor_prune(b, now);
	chk[n++] = (struct limit_check){ "too many traces running", NULL, b->nrunning,
	    cfg->max_traces, &b->global_rate, (uint64_t)cfg->global_rate,
	    2 * (uint64_t)cfg->global_rate };
	chk[n - 1].why_rate = "too many traces started";
	chk[n++] = (struct limit_check){ "too many traces running for this site", NULL, site->active,
	    limit_site_max(cfg->max_traces, cfg->site_share), NULL, 0, 0 };
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		int bits = limit_bits(client->family, (enum limit_level)l);

		if (bits == 0)
			continue;
		level_limits(cfg, (enum limit_level)l, &max, &rate);
		/* One not seen lately has a full bucket: look, do not make one yet. */
		v[l] = visitor_get(b, client, bits, 0, now);
		memset(&fresh[l], 0, sizeof(fresh[l]));
		chk[n++] = (struct limit_check){ level_why[l][0], level_why[l][1],
		    v[l] != NULL ? v[l]->running : 0, max, v[l] != NULL ? &v[l]->rate : &fresh[l],
		    (uint64_t)rate, 3 * (uint64_t)rate };
	}
	if ((w = limits_check(chk, n, BUSY_RUNNING_RETRY, now, &why)) > 0) {
		client_busy(b, c, w, why);
		return -1;
	}
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (limit_bits(client->family, (enum limit_level)l) == 0 || v[l] != NULL)
			continue;
		if ((v[l] = visitor_get(b, client, limit_bits(client->family, (enum limit_level)l),
		    1, now)) == NULL) {
			log_warn("broker: visitor");
			client_error(b, c, "internal", "out of memory");
			return -1;	/* the entries made stay, full and idle: pruned later */
		}
		v[l]->rate = fresh[l];
	}
	bucket_take(&b->global_rate);
	site->active++;
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (v[l] == NULL)
			continue;
		bucket_take(&v[l]->rate);
		v[l]->running++;
		visitor_touch(b, v[l], now);
		s->visitor[l] = v[l];
	}
	return 0;
}
