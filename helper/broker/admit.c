/*
 * The broker's admission of traces (admit.h): the visitor table, and
 * charging and releasing the limits (limit.c's buckets and checks) a
 * session holds. Time is an argument; nothing here touches a socket.
 */
#include <stdlib.h>
#include <string.h>

#include "admit.h"

/* retry= when a limit on running traces is hit: a trace takes seconds. */
#define BUSY_RUNNING_RETRY	5

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
visitor_prune(struct admit *ad, uint64_t now)
{
	uint64_t refill = (uint64_t)3 * 1000000 + 1000000;	/* burst / rate seconds, and 1 s */
	struct visitor *v;

	while ((v = TAILQ_FIRST(&ad->vlru)) != NULL && v->running == 0 &&
	    now - v->touched_us > refill) {
		TAILQ_REMOVE(&ad->vlru, v, lru);
		LIST_REMOVE(v, hash);
		ad->nvisitors--;
		free(v);
	}
}

static void
visitor_touch(struct admit *ad, struct visitor *v, uint64_t now)
{
	v->touched_us = now;
	TAILQ_REMOVE(&ad->vlru, v, lru);
	TAILQ_INSERT_TAIL(&ad->vlru, v, lru);
}

/*
 * The entry of an address cut to bits; a new one (full bucket) if create.
 * NULL if none or no memory.
 */
static struct visitor *
visitor_get(struct admit *ad, const struct tt_addr *a, int bits, int create, uint64_t now)
{
	struct tt_addr key;
	struct visitor *v;
	unsigned int h;

	addr_mask(a, bits, &key);
	h = visitor_hash(&key, bits);
	LIST_FOREACH(v, &ad->vhash[h], hash)
		if (v->bits == bits && addr_equal(&v->key, &key))
			return v;
	if (!create || (v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->key = key;
	v->bits = bits;
	v->touched_us = now;
	LIST_INSERT_HEAD(&ad->vhash[h], v, hash);
	TAILQ_INSERT_TAIL(&ad->vlru, v, lru);
	ad->nvisitors++;
	return v;
}

static void
visitor_release(struct admit *ad, struct visitor *v, uint64_t now)
{
	if (v->running > 0)
		v->running--;
	visitor_touch(ad, v, now);
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

void
admit_init(struct admit *ad, const struct config *cfg)
{
	memset(ad, 0, sizeof(*ad));
	ad->cfg = cfg;
	TAILQ_INIT(&ad->vlru);
	for (int i = 0; i < VISITOR_HASH; i++)
		LIST_INIT(&ad->vhash[i]);
}

void
admit_free(struct admit *ad)
{
	struct visitor *v;

	while ((v = TAILQ_FIRST(&ad->vlru)) != NULL) {
		TAILQ_REMOVE(&ad->vlru, v, lru);
		free(v);
	}
	ad->nvisitors = 0;
}

void
admit_release(struct admit *ad, struct admit_site *site, struct visitor *held[LIMIT_LEVELS],
    int refund, uint64_t now)
{
	int max, rate;

	if (site != NULL && site->active > 0 && held[LIMIT_VISITOR] != NULL)
		site->active--;
	if (refund && held[LIMIT_VISITOR] != NULL)
		bucket_give(&ad->global_rate, 2 * (uint64_t)ad->cfg->global_rate);
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (held[l] == NULL)
			continue;
		level_limits(ad->cfg, (enum limit_level)l, &max, &rate);
		if (refund)
			bucket_give(&held[l]->rate, 3 * (uint64_t)rate);
		visitor_release(ad, held[l], now);
		held[l] = NULL;
	}
}

enum admit_verdict
admit_take(struct admit *ad, struct admit_site *site, int running, const struct tt_addr *client,
    uint64_t now, struct visitor *held[LIMIT_LEVELS], struct admit_busy *busy)
{
	const struct config *cfg = ad->cfg;
	struct limit_check chk[2 + LIMIT_LEVELS];
	struct bucket fresh[LIMIT_LEVELS];
	struct visitor *v[LIMIT_LEVELS] = { NULL };
	int n = 0, w, max, rate;

	if ((w = bucket_wait(&site->requests, (uint64_t)cfg->site_rate,
	    2 * (uint64_t)cfg->site_rate, now)) > 0) {
		busy->why = "too many requests from this site";
		busy->retry_s = w;
		return ADMIT_BUSY;
	}
	bucket_take(&site->requests);
	visitor_prune(ad, now);
	chk[n++] = (struct limit_check){ "too many traces running", NULL, running,
	    cfg->max_traces, &ad->global_rate, (uint64_t)cfg->global_rate,
	    2 * (uint64_t)cfg->global_rate };
	chk[n - 1].why_rate = "too many traces started";
	chk[n++] = (struct limit_check){ "too many traces running for this site", NULL,
	    site->active, limit_site_max(cfg->max_traces, cfg->site_share), NULL, 0, 0 };
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		int bits = limit_bits(client->family, (enum limit_level)l);

		if (bits == 0)
			continue;
		level_limits(cfg, (enum limit_level)l, &max, &rate);
		/* One not seen lately has a full bucket: look, do not make one yet. */
		v[l] = visitor_get(ad, client, bits, 0, now);
		memset(&fresh[l], 0, sizeof(fresh[l]));
		chk[n++] = (struct limit_check){ level_why[l][0], level_why[l][1],
		    v[l] != NULL ? v[l]->running : 0, max, v[l] != NULL ? &v[l]->rate : &fresh[l],
		    (uint64_t)rate, 3 * (uint64_t)rate };
	}
	if ((busy->retry_s = limits_check(chk, n, BUSY_RUNNING_RETRY, now, &busy->why)) > 0)
		return ADMIT_BUSY;
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (limit_bits(client->family, (enum limit_level)l) == 0 || v[l] != NULL)
			continue;
		/* On failure the entries made stay, full and idle: pruned later. */
		if ((v[l] = visitor_get(ad, client, limit_bits(client->family,
		    (enum limit_level)l), 1, now)) == NULL)
			return ADMIT_NOMEM;
		v[l]->rate = fresh[l];
	}
	bucket_take(&ad->global_rate);
	site->active++;
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (v[l] == NULL)
			continue;
		bucket_take(&v[l]->rate);
		v[l]->running++;
		visitor_touch(ad, v[l], now);
		held[l] = v[l];
	}
	return ADMIT_OK;
}
