/*
 * Recent traces' measured hops, per server address: how many probes a TTL is
 * worth to routers that limit their ICMP, and which recent answer a silent
 * hop may show as reused (docs/engine.md, "ICMP budget and reuse").
 */
#include "hopmem.h"

#include <stdlib.h>
#include <string.h>

struct hopmem *
hopmem_new(void)
{
	return calloc(1, sizeof(struct hopmem));
}

void
hopmem_free(struct hopmem *m)
{
	free(m);
}

/* The i-th newest remembered trace (0: the newest). */
static const struct hopmem_trace *
nth_newest(const struct hopmem *m, int i)
{
	return &m->ring[(m->next - 1 - i + 2 * HOPMEM_TRACES) % HOPMEM_TRACES];
}

/*
 * How long before now a thing happened at at_us. The engine's traces run on
 * times a few ms apart (a packet's arrival stamp, a timer's round): one a
 * little ahead of now happened now.
 */
static uint64_t
age(uint64_t at_us, uint64_t now)
{
	return at_us < now ? now - at_us : 0;
}

/* A router's answer at ttl of t, within max_age_us of now. */
static bool
router_at(const struct hopmem_trace *t, int ttl, uint64_t now, uint64_t max_age_us)
{
	const struct hopmem_hop *h = &t->hop[ttl];

	return ttl <= t->nttl && h->addr.family != 0 && !h->dest && age(h->at_us, now) < max_age_us;
}

/* The budget kept for server, or -1. */
static int
budget_index(const struct hopmem *m, const struct tt_addr *server)
{
	for (int i = 0; i < m->nbudgets; i++)
		if (addr_equal(&m->budgets[i].server, server))
			return i;
	return -1;
}

/* server's budget, a new one if none: the least recently used gives way. */
static struct hopmem_budget *
budget_of(struct hopmem *m, const struct tt_addr *server)
{
	struct hopmem_budget *b;
	int i = budget_index(m, server);

	if (i >= 0)
		return &m->budgets[i];
	if (m->nbudgets < HOPMEM_SERVERS)
		b = &m->budgets[m->nbudgets++];
	else {
		b = &m->budgets[0];
		for (i = 1; i < HOPMEM_SERVERS; i++)
			if (m->budgets[i].used_us < b->used_us)
				b = &m->budgets[i];
	}
	memset(b, 0, sizeof(*b));
	b->server = *server;
	return b;
}

static void
later(uint64_t *at, uint64_t us)
{
	if (us > *at)
		*at = us;
}

/*
 * A router answered at a TTL: when. Some of a TTL's probes unanswered while a
 * TTL beyond it answered: it limits its ICMP, seen when t was recorded.
 */
static void
budget_record(struct hopmem_budget *b, const struct hopmem_trace *t)
{
	bool beyond = false;

	later(&b->used_us, t->at_us);
	for (int ttl = t->nttl; ttl >= 1; ttl--) {
		const struct hopmem_hop *h = &t->hop[ttl];

		if (h->addr.family != 0 && !h->dest)
			later(&b->router_us[ttl], h->at_us);
		if (beyond && h->answered < h->sent)
			later(&b->limited_us[ttl], t->at_us);
		beyond |= h->answered > 0;
	}
}

void
hopmem_record(struct hopmem *m, const struct hopmem_trace *t)
{
	int nttl = t->nttl < HOPMEM_TTLS ? t->nttl : HOPMEM_TTLS;
	bool any = false;

	for (int ttl = 1; ttl <= nttl; ttl++)
		any |= t->hop[ttl].addr.family != 0;
	if (!any)
		return;
	m->ring[m->next] = *t;
	m->ring[m->next].nttl = nttl;
	budget_record(budget_of(m, &t->server), &m->ring[m->next]);
	m->next = (m->next + 1) % HOPMEM_TRACES;
	if (m->n < HOPMEM_TRACES)
		m->n++;
}

bool
hopmem_one_probe(const struct hopmem *m, const struct tt_addr *server, int ttl, uint64_t now)
{
	const struct hopmem_budget *b;
	int i;

	if (m == NULL || ttl < 1 || ttl > HOPMEM_TTLS || (i = budget_index(m, server)) < 0)
		return false;
	b = &m->budgets[i];
	if (b->router_us[ttl] == 0)
		return false;
	if (age(b->router_us[ttl], now) < HOPMEM_RECENT_US)
		return true;
	return age(b->router_us[ttl], now) < HOPMEM_LIMITED_US &&
	    b->limited_us[ttl] != 0 && age(b->limited_us[ttl], now) < HOPMEM_LIMITED_US;
}

/* Does t hold cur's address at ttl (a TTL cur measured)? */
static bool
same_at(const struct hopmem_trace *t, const struct hopmem_trace *cur, int ttl)
{
	return ttl <= t->nttl && t->hop[ttl].addr.family != 0 &&
	    addr_equal(&t->hop[ttl].addr, &cur->hop[ttl].addr);
}

bool
hopmem_reuse(const struct hopmem *m, const struct hopmem_trace *cur, int ttl, uint64_t now,
    struct tt_addr *addr, uint64_t *age_us)
{
	int below = 0, above = 0;

	if (m == NULL || ttl < 1 || ttl > HOPMEM_TTLS || ttl >= cur->nttl)
		return false;
	for (int j = ttl - 1; j >= 1 && below == 0; j--)
		if (cur->hop[j].addr.family != 0)
			below = j;
	for (int j = ttl + 1; j <= cur->nttl && above == 0; j++)
		if (cur->hop[j].addr.family != 0)
			above = j;
	if (above == 0)
		return false;
	for (int i = 0; i < m->n; i++) {
		const struct hopmem_trace *t = nth_newest(m, i);

		if (age(t->at_us, now) >= HOPMEM_AGE_US)
			break;
		if (!addr_equal(&t->server, &cur->server) || !router_at(t, ttl, now, HOPMEM_AGE_US) ||
		    (below > 0 && !same_at(t, cur, below)) || !same_at(t, cur, above))
			continue;
		*addr = t->hop[ttl].addr;
		*age_us = age(t->hop[ttl].at_us, now);
		return true;
	}
	return false;
}
