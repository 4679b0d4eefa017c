/*
 * The trace state machine's hooks into the hop memory (docs/engine.md, "ICMP
 * budget and reuse"): how many probes a TTL gets, which remembered router a
 * silent hop shows, and what a finished trace leaves behind. Only measured
 * answers go in, so every age that comes out is true.
 */
#include "tracemem.h"

#include <string.h>

void
trace_memory(struct trace *t, struct hopmem *mem)
{
	t->mem = mem;
}

int
tracemem_probes(struct trace *t, int ttl, uint64_t now)
{
	if (t->mem == NULL || t->cfg.probes_per_hop <= 1 ||
	    !hopmem_one_probe(t->mem, &t->server, ttl, now))
		return t->cfg.probes_per_hop;
	t->stats.one_probe++;
	return 1;
}

void
tracemem_measured(const struct trace *t, int upto, struct hopmem_trace *out)
{
	memset(out, 0, sizeof(*out));
	out->server = t->server;
	out->nttl = upto < HOPMEM_TTLS ? upto : HOPMEM_TTLS;
	if (out->nttl < 0)
		out->nttl = 0;
	for (int ttl = 1; ttl <= out->nttl; ttl++) {
		struct hopmem_hop *h = &out->hop[ttl];

		h->sent = t->hops[ttl].nprobes;
		h->answered = t->hops[ttl].nanswered;
	}
	for (int i = 0; i < t->nprobes; i++) {
		const struct trace_probe *p = &t->probes[i];
		struct hopmem_hop *h;
		uint64_t at;

		/* A late answer marks its probe answered but keeps no reply: it is not one of these. */
		if (!p->answered || p->ttl > out->nttl || p->reply.from.family == 0)
			continue;
		h = &out->hop[p->ttl];
		at = p->sent_us + p->reply.rtt_us;
		if (at > h->at_us)
			h->at_us = at;
		if (at > out->at_us)
			out->at_us = at;
		/* The hop's address as the formats show it: the visitor's if it answered, else the first. */
		if (p->reply.kind == REPLY_DESTINATION && !h->dest) {
			h->addr = p->reply.from;
			h->dest = true;
		} else if (h->addr.family == 0)
			h->addr = p->reply.from;
	}
}

void
tracemem_reuse(struct trace *t, struct proto_hop *out, uint64_t now)
{
	struct hopmem_trace cur;
	uint64_t age;

	if (t->mem == NULL || out->nreplies > 0)
		return;
	tracemem_measured(t, t->sent_max, &cur);
	if (!hopmem_reuse(t->mem, &cur, out->ttl, now, &out->reused, &age))
		return;
	out->reused_age_ms = age / 1000 < PROTO_REUSED_AGE_MAX ? (uint32_t)(age / 1000) :
	    PROTO_REUSED_AGE_MAX;
	t->stats.reused++;
}

void
tracemem_remember(const struct trace *t)
{
	struct hopmem_trace m;

	if (t->mem == NULL || t->emitted < 1)
		return;
	tracemem_measured(t, t->emitted, &m);
	hopmem_record(t->mem, &m);
}
