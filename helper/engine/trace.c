/*
 * One trace's state machine (DESIGN.md section 4, docs/engine.md). Probes are
 * copies of the connection carrying one byte the visitor has already
 * acknowledged; each probe has its own seq, never next to another probe's,
 * so a reply's quote (or the visitor's D-SACK) names the probe. Hops are
 * reported in TTL order as they settle.
 */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tracemem.h"

#define PROBES_CAP ((int)(sizeof(((struct trace *)0)->probes) / sizeof(struct trace_probe)))

/*
 * TTLs probed beyond the furthest router: two while the visitor's TTL gives
 * its distance, more once a router beyond that estimate (or a TTL that says
 * nothing) shows the estimate wrong, so the trace does not crawl. While the
 * estimate is trusted, the TTLs beyond it get one probe each (send_hop).
 */
#define AHEAD_SURE	2
#define AHEAD_UNSURE	6

/*
 * After the visitor was found, the probes sent beyond it still reach it and
 * draw D-SACKs: the trace keeps taking those out of the visitor's ACKs until
 * each such probe was answered, or for twice the visitor's round trip (at
 * least DRAIN_MIN_US), so the server's TCP sees none, then lets the
 * connection go (a download that follows on it must not be queued).
 */
#define DRAIN_MIN_US	5000

/*
 * Answers missing at a hop, once the visitor answered at or beyond it, are
 * waited for as long as the nearest TTL from it on that answered took, half
 * that again, and at least ADAPT_MARGIN_US more (a busy or slow router
 * answers later than the path's round trip); never longer than HOP_TIMEOUT.
 */
#define ADAPT_MARGIN_US	20000

static void
tlog(struct trace *t, const char *msg)
{
	if (t->ops.log)
		t->ops.log(t->ops.ctx, msg);
}

static void
finish(struct trace *t, const char *reason)
{
	if (t->state == TRACE_DONE)
		return;
	t->state = TRACE_DONE;
	t->nrestage = 0;
	/* Late answers are kept until HOP_TIMEOUT after the last probe of each hop reported. */
	for (int ttl = 1; ttl <= t->emitted; ttl++)
		if (t->hops[ttl].deadline_us > t->late_until_us)
			t->late_until_us = t->hops[ttl].deadline_us;
	tracemem_remember(t);
	t->ops.end(t->ops.ctx, reason, t->emitted);
}

static int unanswered_from(const struct trace *t, int ttl);

/* One answer the drain awaited came: the last ends it. */
static void
drained_one(struct trace *t)
{
	if (--t->drain_left <= 0)
		t->drain_until_us = t->end_due_us = 0;
}

/* The end at the visitor's hop, ttl: draining follows (DRAIN_MIN_US). */
static void
finish_at_visitor(struct trace *t, int ttl, uint64_t now)
{
	uint64_t drain = 2 * (uint64_t)t->hops[ttl].dest_rtt_us, usual;

	if (drain < DRAIN_MIN_US)
		drain = DRAIN_MIN_US;
	if (drain > t->cfg.hop_timeout_us)
		drain = t->cfg.hop_timeout_us;
	usual = drain;	/* the END waits no longer (trace_end_may_go) */
	t->drain_left = unanswered_from(t, ttl);
	/*
	 * A visitor that SACKed probes lost the first segment: the server's
	 * retransmission of it brings their bytes again, and draws a D-SACK
	 * with the ACK that fills the hole. It may take longer than a round
	 * trip (a busy server, or its retransmission timeout): up to
	 * HOP_TIMEOUT.
	 */
	if (t->hole && seq_lt(t->visitor_ack, t->hole_end)) {
		t->drain_left++;
		drain = t->cfg.hop_timeout_us;
	}
	t->drain_until_us = t->drain_left > 0 ? now + drain : 0;
	t->end_due_us = t->drain_left > 0 ? now + usual : 0;
	finish(t, "destination");
}

void
trace_init(struct trace *t, const struct trace_cfg *cfg, const struct trace_ops *ops,
    const struct tt_addr *client, uint16_t cport, const struct tt_addr *server, uint16_t sport,
    uint16_t ipid_base, uint64_t now_us)
{
	memset(t, 0, sizeof(*t));
	t->cfg = *cfg;
	if (t->cfg.max_hops > TRACE_MAX_TTL)
		t->cfg.max_hops = TRACE_MAX_TTL;
	if (t->cfg.probes_per_hop > TRACE_MAX_PER_HOP)
		t->cfg.probes_per_hop = TRACE_MAX_PER_HOP;
	if (t->cfg.probes_per_hop < 1)
		t->cfg.probes_per_hop = 1;
	if (t->cfg.max_probes <= 0 || t->cfg.max_probes > PROBES_CAP)
		t->cfg.max_probes = PROBES_CAP;
	t->ops = *ops;
	t->client = *client;
	t->server = *server;
	t->cport = cport;
	t->sport = sport;
	t->state = TRACE_WAIT_SEGMENT;
	t->start_us = now_us;
	t->wait_until_us = now_us + cfg->start_timeout_us;
	t->next_ipid = ipid_base ? ipid_base : 1;
	t->ahead = AHEAD_SURE;
}

void
trace_syn_ttl(struct trace *t, uint8_t ttl)
{
	t->syn_ttl = ttl;
}

bool
trace_owns(const struct trace *t, const struct pkt_tcp *seg, bool *outgoing)
{
	if (seg->sport == t->sport && seg->dport == t->cport &&
	    addr_equal(&seg->src, &t->server) && addr_equal(&seg->dst, &t->client)) {
		*outgoing = true;
		return true;
	}
	if (seg->sport == t->cport && seg->dport == t->sport &&
	    addr_equal(&seg->src, &t->client) && addr_equal(&seg->dst, &t->server)) {
		*outgoing = false;
		return true;
	}
	return false;
}

bool
trace_quotes(const struct trace *t, const struct pkt_icmp *err)
{
	return err->qsport == t->sport && err->qdport == t->cport &&
	    addr_equal(&err->qsrc, &t->server) && addr_equal(&err->qdst, &t->client);
}

/*
 * A byte for the next probe: from the newest kept segment the visitor has
 * acknowledged there (in the wave right behind the first segment, from that
 * segment: see trace_syn_ttl), at every other offset of it and never its
 * last byte, so that no two probes are next to each other in sequence space
 * (a receiver that coalesces segments cannot merge two probes into one).
 */
static bool
take_byte(struct trace *t, uint32_t *seq, uint8_t *byte)
{
	uint32_t limit = t->in_flight ? t->snd_nxt : t->visitor_ack;

	if (!t->have_ack && !t->in_flight)
		return false;
	for (int i = 1; i <= t->nsamples; i++) {
		struct trace_sample *s =
		    &t->samples[(t->sample_next - i + TRACE_SAMPLES) % TRACE_SAMPLES];

		if (s->next + 1 >= s->len || !seq_lt(s->seq + s->next, limit))
			continue;
		*seq = s->seq + s->next;
		*byte = s->b[s->next];
		s->next = (uint16_t)(s->next + 2);
		return true;
	}
	return false;
}

/*
 * A reply's RTT. A reply's time is the kernel's arrival stamp, which may be
 * a hair before the send time read at the send: that is 0, never a wrap.
 */
static uint32_t
rtt_since(const struct trace_probe *p, uint64_t now)
{
	return now > p->sent_us ? (uint32_t)(now - p->sent_us) : 0;
}

/* Sends one probe with this TTL; false if no byte was left for it. */
static bool
send_probe(struct trace *t, int ttl, uint64_t now)
{
	struct trace_probe *p;
	uint8_t pkt[PROBE_MAX_LEN], byte;
	uint32_t seq;
	size_t len;

	if (t->nprobes >= t->cfg.max_probes || !take_byte(t, &seq, &byte))
		return false;
	p = &t->probes[t->nprobes++];
	p->seq = seq;
	p->byte = byte;
	p->ipid = t->next_ipid++;
	if (t->next_ipid == 0)		/* the kernel would replace an id of 0 */
		t->next_ipid = 1;
	p->ttl = (uint8_t)ttl;
	p->wave = t->wave;
	p->sent_us = now;
	len = probe_build(pkt, sizeof(pkt), &t->tmpl, p->seq, byte, (uint8_t)ttl, p->ipid);
	/* A failed send is a lost probe: the hop's timeout covers it. */
	if (len == 0 || t->ops.send(t->ops.ctx, pkt, len, t->tmpl.src.family, &p->sent_us) < 0)
		tlog(t, "probe not sent");
	t->stats.probes_sent++;
	t->hops[ttl].nprobes++;
	if (t->hops[ttl].reprobed)
		t->hops[ttl].reask_us = p->sent_us;
	else
		t->hops[ttl].sent_us = p->sent_us;
	t->hops[ttl].deadline_us = now + t->cfg.hop_timeout_us;
	return true;
}

/*
 * Sends the probes of one TTL at once: 1 + HOP_RETRIES, or one where the hop
 * memory says a router there has no answers to spare (tracemem_probes), or
 * beyond the visitor's estimated distance while it is trusted: those TTLs
 * are there in case the way back is longer than the way in, and one probe
 * each tells that as well as three; when the estimate holds, as it mostly
 * does, they are never reported and only cost packets that pass the queue.
 * Where one is reported after all, it gets the others then (send_owed).
 * Returns false if no byte was left for it.
 */
static bool
send_hop(struct trace *t, int ttl, uint64_t now)
{
	int n = 0, want = tracemem_probes(t, ttl, now), owed = 0;

	if (t->estimate > 0 && ttl > t->estimate && t->ahead == AHEAD_SURE) {
		owed = want - 1;
		want = 1;
	}

	t->hops[ttl].spared = want + owed < t->cfg.probes_per_hop;
	while (n < want && send_probe(t, ttl, now))
		n++;
	if (n == 0)
		return false;
	t->hops[ttl].owed = (uint8_t)owed;
	t->sent_max = ttl;
	return true;
}

/*
 * Once the estimate is distrusted, sends the probes send_hop held back to
 * each hop not reported yet and not beyond the visitor's nearest answer, in
 * a wave of their own: such a hop may be a router's or the visitor's now,
 * and gets its 1 + HOP_RETRIES probes (the RTTs of a hop; and counting the
 * duplicate ACKs of a visitor without D-SACK tells two TTLs apart by three
 * ACKs, not by one). What finds no byte goes when the visitor acknowledges
 * more.
 */
static void
send_owed(struct trace *t, uint64_t now)
{
	int last = t->visitor_found ? t->visitor_found : t->sent_max;
	bool waved = false;

	if (t->ahead == AHEAD_SURE)
		return;
	for (int ttl = t->emitted + 1; ttl <= last; ttl++)
		while (t->hops[ttl].owed > 0) {
			if (!waved) {
				t->wave++;
				waved = true;
			}
			if (!send_probe(t, ttl, now))
				return;
			t->hops[ttl].owed--;
		}
}

/*
 * The visitor is further than its TTL said: a router answered at or beyond
 * the estimate, or the visitor itself did beyond it (named by a D-SACK, or
 * counted). Look further ahead, and with every probe.
 */
static void
distrust(struct trace *t, uint64_t now)
{
	t->ahead = AHEAD_UNSURE;
	send_owed(t, now);
}

/*
 * Sends the TTLs up to want (at most max-hops) that are not sent yet; what
 * finds no byte now goes when the visitor acknowledges more (want is kept).
 */
static void
send_up_to(struct trace *t, int want, uint64_t now)
{
	if (want > t->cfg.max_hops)
		want = t->cfg.max_hops;
	if (want > t->want)
		t->want = want;
	if (t->sent_max >= t->want)
		return;
	t->wave++;
	while (t->sent_max < t->want && send_hop(t, t->sent_max + 1, now))
		;
}

static void
start_probing(struct trace *t, uint64_t now)
{
	int ttl = t->visitor_ttl, init = ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;

	/*
	 * The visitor's initial TTL minus the TTL its ACK arrived with is the
	 * number of routers on the way back: the visitor should answer at one
	 * more. Probe two TTLs beyond, so few probes reach the visitor. A TTL
	 * of exactly 64, 128 or 255 says nothing (a middlebox may set it):
	 * then probe further at once.
	 */
	t->estimate = ttl > 0 ? init - ttl + 1 : 0;
	if (t->estimate <= 1)
		t->ahead = AHEAD_UNSURE;
	t->state = TRACE_PROBING;
	t->keepalive_due = false;
	send_up_to(t, t->estimate > 0 ? t->estimate + t->ahead : t->cfg.max_hops, now);
	t->in_flight = false;
}

/*
 * Right behind the first response segment, with the TTL of the visitor's
 * SYN: probes copy bytes of that segment, which the visitor has not
 * acknowledged yet. Each reaches the visitor after the segment, on the same
 * path, so the visitor holds the byte twice and answers with a D-SACK at
 * once (which also hurries its ACK of the segment). Should the segment be
 * lost, a probe that reaches the visitor is out-of-order data that it
 * SACKs, and the server's TCP recovers the rest as from any loss.
 */
static void
start_in_flight(struct trace *t, uint64_t now)
{
	t->visitor_ttl = t->syn_ttl;
	t->in_flight = t->in_flight_sent = true;
	start_probing(t, now);
}

/* A kept answer as the protocol carries it. */
static void
reply_expand(const struct trace *t, const struct trace_reply *k, struct proto_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->from = k->from;
	r->rtt_us = k->rtt_us;
	r->kind = (enum reply_kind)k->kind;
	r->code = k->code;
	r->reply_ttl = k->reply_ttl;
	r->quoted_ttl = k->quoted_ttl;
	r->size = k->size;
	r->ext = (enum proto_ext)k->ext;
	r->flags = k->flags;
	if (k->mpls) {
		const struct trace_mpls *m = &t->mpls[k->mpls - 1];

		r->nmpls = m->n;
		memcpy(r->mpls, m->e, sizeof(r->mpls));
	}
}

/* Keeps an answer compactly; its label stack goes to the shared table (if there is room). */
static void
reply_keep(struct trace *t, struct trace_reply *k, const struct proto_reply *r)
{
	struct trace_mpls m;

	memset(k, 0, sizeof(*k));
	k->from = r->from;
	k->rtt_us = r->rtt_us;
	k->kind = (uint8_t)r->kind;
	k->code = r->code;
	k->reply_ttl = r->reply_ttl;
	k->quoted_ttl = r->quoted_ttl;
	k->size = r->size;
	k->ext = (uint8_t)r->ext;
	k->flags = r->flags;
	if (r->nmpls == 0)
		return;
	memset(&m, 0, sizeof(m));
	m.n = r->nmpls;
	memcpy(m.e, r->mpls, sizeof(m.e));
	for (int i = 0; i < t->nmpls; i++)
		if (memcmp(&t->mpls[i], &m, sizeof(m)) == 0) {
			k->mpls = (uint8_t)(i + 1);
			return;
		}
	if (t->nmpls < TRACE_MPLS_STACKS) {
		memcpy(&t->mpls[t->nmpls++], &m, sizeof(m));
		k->mpls = (uint8_t)t->nmpls;
	}
}

/* A hop's replies, in the order its probes were sent. */
static void
hop_report(const struct trace *t, int ttl, struct proto_hop *out)
{
	memset(out, 0, sizeof(*out));
	out->ttl = ttl;
	out->sent = t->hops[ttl].nprobes;
	for (int i = 0; i < t->nprobes; i++) {
		const struct trace_probe *p = &t->probes[i];

		if (p->ttl != ttl)
			continue;
		/* A retired probe's answer may have merged: not counted as lost. */
		out->sent -= p->retired && !p->answered;
		if (p->answered && out->nreplies < PROTO_MAX_REPLIES)
			reply_expand(t, &p->reply, &out->r[out->nreplies++]);
	}
}

/* Unanswered probes with a TTL of at least ttl: each reaches the visitor if it is that near. */
static int
unanswered_from(const struct trace *t, int ttl)
{
	int n = 0;

	for (int i = 0; i < t->nprobes; i++)
		n += t->probes[i].ttl >= ttl && !t->probes[i].answered;
	return n;
}

/* The visitor answered a probe with this TTL in rtt_us. */
static void
visitor_at(struct trace *t, int ttl, uint32_t rtt_us)
{
	t->hops[ttl].dest = true;
	if (rtt_us > t->hops[ttl].dest_rtt_us)
		t->hops[ttl].dest_rtt_us = rtt_us;
	if (t->visitor_found == 0 || ttl < t->visitor_found)
		t->visitor_found = ttl;
}

/* When a count of duplicate ACKs that may lack the keep-alive's settles. */
static uint64_t
count_settles(const struct trace *t)
{
	return t->dup_last_us + TRACE_STAGGER_US;
}

/* How the duplicate ACKs fit each distance (see credit_by_count). */
struct count_fit {
	int best;	/* the distance that fits best */
	int best_diff;	/* by how many ACKs it misses, 0 if it fits */
	int nfit;	/* distances that fit */
	int skip;	/* ACKs before the probes' at the first that fits */
};

static struct count_fit
count_fit(const struct trace *t)
{
	struct count_fit c = { 0 };
	int from[TRACE_MAX_TTL + 2] = { 0 };	/* unanswered probes with a TTL of at least d */
	int lo = t->wave_ack_us ? -1 : 0, hi = t->keepalive_sent;	/* duplicate ACKs over probes */

	for (int i = 0; i < t->nprobes; i++)
		from[t->probes[i].ttl] += !t->probes[i].answered && !t->probes[i].retired;
	for (int d = t->sent_max; d > t->top_router; d--)
		from[d] += from[d + 1];
	for (int d = t->top_router + 1; d <= t->sent_max; d++) {
		int over = t->ndup - from[d], diff = over < 0 ? -over : over;

		if (over >= lo && over <= hi) {
			if (c.nfit++ == 0) {
				c.best = d;
				c.skip = over;
			}
			diff = 0;
		}
		if (c.best == 0 || diff < c.best_diff) {
			c.best = d;
			c.best_diff = diff;
		}
	}
	return c;
}

/*
 * A visitor without D-SACK answers every probe that reaches it with a
 * duplicate ACK that does not say which. Counted: the probes with a TTL of
 * at least d reach the visitor at distance d, so d is the TTL above every
 * router whose unanswered probes the duplicate ACKs account for. The
 * keep-alive may have drawn one more (when the visitor had acknowledged the
 * first segment by itself), which comes first: so a count that fits without
 * it waits TRACE_STAGGER_US after the last ACK for one more. Probes sent
 * right behind the first segment may draw one fewer: the visitor's first
 * ACK of that segment may be the first probe's answer (it also acknowledges
 * the segment, so it is no duplicate); a count that fits with it waits the
 * same for one more. Hop ttl, which
 * nothing answered, is credited when it is that TTL: when the count fits it
 * exactly and no other TTL, else at its timeout the TTL that fits best,
 * marked ambiguous (an ACK lost, or one of the connection's own). The ACKs'
 * times go to the probes in the order they were sent.
 */
static bool
credit_by_count(struct trace *t, int ttl, uint64_t now, bool timed_out)
{
	struct count_fit c;
	int k = 0;
	uint8_t flags = PROTO_RF_BY_COUNT;

	if (t->ndup == 0 || t->top_router >= ttl)
		return false;
	c = count_fit(t);
	/*
	 * The count fits ttl, beyond the trusted estimate, which got one
	 * probe: ttl and ttl + 1 then differ by one ACK, as many as the
	 * keep-alive's or a first answer merged into the ACK of the segment,
	 * and the count cannot tell them apart. The probes held back go first
	 * (distrust); then they differ by 1 + HOP_RETRIES.
	 */
	if (c.nfit > 0 && c.best == ttl && t->hops[ttl].owed > 0) {
		int sent = t->hops[ttl].nprobes;

		distrust(t, now);
		if (t->hops[ttl].nprobes > sent)
			return false;
	}
	if (c.best != ttl || ((c.nfit != 1 || c.best_diff != 0) && !timed_out))
		return false;
	if (!timed_out && c.skip < t->keepalive_sent && now < count_settles(t))
		return false;
	if (c.nfit != 1)
		flags |= PROTO_RF_AMBIGUOUS;
	for (int i = 0; i < t->nprobes; i++) {
		struct trace_probe *p = &t->probes[i];
		int n = c.skip + k;
		uint64_t at;

		if (p->answered || p->retired || p->ttl < ttl || n >= t->ndup)
			continue;
		at = n < 0 ? t->wave_ack_us : t->dup_us[n < TRACE_DUPACKS ? n : TRACE_DUPACKS - 1];
		k++;
		if (p->ttl != ttl || at < p->sent_us)
			continue;
		memset(&p->reply, 0, sizeof(p->reply));
		p->answered = true;
		p->reply.from = t->client;
		p->reply.kind = REPLY_DESTINATION;
		p->reply.rtt_us = rtt_since(p, at);
		p->reply.reply_ttl = t->visitor_ttl;
		p->reply.flags = flags;
		t->hops[ttl].nanswered++;
		if (p->reply.rtt_us > t->hops[ttl].max_rtt_us)
			t->hops[ttl].max_rtt_us = p->reply.rtt_us;
		visitor_at(t, ttl, p->reply.rtt_us);
		t->stats.counted++;
	}
	return t->hops[ttl].dest;
}

/*
 * An error whose IPv4 id was changed is weaker evidence than the visitor's
 * own answer: at a TTL the visitor answered, it is no router's (forged, or
 * a confused middlebox), and it is taken back.
 */
static void
refute_changed_ids(struct trace *t, int ttl)
{
	for (int i = 0; i < t->nprobes; i++) {
		struct trace_probe *p = &t->probes[i];

		if (p->ttl == ttl && p->answered && p->reply.kind != REPLY_DESTINATION &&
		    (p->reply.flags & PROTO_RF_ID_CHANGED)) {
			p->answered = false;
			t->hops[ttl].nanswered--;
			t->stats.refuted++;
		}
	}
}

/*
 * How long answers to hop ttl's probes may take: the slowest answer at the
 * nearest TTL from ttl on that has one (a nearer router answers sooner);
 * *any says whether there is one, *visitor whether the visitor answered at
 * or beyond ttl.
 */
static uint32_t
expect_rtt(const struct trace *t, int ttl, bool *any, bool *visitor)
{
	*any = false;
	*visitor = t->visitor_found >= ttl;
	for (int j = ttl; j <= t->sent_max; j++) {
		if (t->hops[j].nanswered > 0) {
			*any = true;
			return t->hops[j].max_rtt_us;
		}
		if (t->hops[j].dest)
			break;
	}
	return 0;
}

/*
 * When hop ttl, answers missing, is settled by time: HOP_TIMEOUT after its
 * last probe, or once the visitor answered at or beyond it, the adaptive
 * wait after it (ADAPT_MARGIN_US). A hop that nothing answered is asked
 * again first, and that probe gets as long as the nearest answer beyond it
 * took, and a stagger more.
 */
static uint64_t
hop_due(const struct trace *t, int ttl)
{
	const struct trace_hop *h = &t->hops[ttl];
	bool any, visitor;
	uint64_t x = expect_rtt(t, ttl, &any, &visitor), due;

	if (!any || !visitor || (h->nanswered == 0 && h->reask_us == 0))
		return h->deadline_us;
	due = h->sent_us + x + (x / 2 > ADAPT_MARGIN_US ? x / 2 : ADAPT_MARGIN_US);
	if (h->reask_us != 0 && h->reask_us + x + TRACE_STAGGER_US > due)
		due = h->reask_us + x + TRACE_STAGGER_US;
	return due < h->deadline_us ? due : h->deadline_us;
}

/*
 * When the next hop that nothing answered is late (*ttl is it): the visitor
 * answered beyond it, and its probes have been out as long as the nearest
 * answer beyond it took, and a stagger more. It is then asked again, once,
 * so that one lost packet does not make a router look silent. UINT64_MAX:
 * none.
 */
static uint64_t
reask_next(const struct trace *t, int *ttl)
{
	uint64_t next = UINT64_MAX;

	for (int j = t->emitted + 1; j <= t->sent_max; j++) {
		const struct trace_hop *h = &t->hops[j];
		bool any, visitor;
		uint64_t x, due;

		if (h->nanswered > 0 || h->reprobed)
			continue;
		x = expect_rtt(t, j, &any, &visitor);
		due = h->sent_us + x + TRACE_STAGGER_US;
		if (any && visitor && due < next) {
			next = due;
			*ttl = j;
		}
	}
	return next;
}

/* May hop ttl, the lowest not reported, be reported now? */
static bool
hop_settled(struct trace *t, int ttl, uint64_t now)
{
	struct trace_hop *h = &t->hops[ttl];
	int late_wave = -1;

	if (h->nanswered == 0 && credit_by_count(t, ttl, now, now >= h->deadline_us))
		return true;
	if (h->nanswered == h->nprobes || now >= hop_due(t, ttl))
		return true;
	/*
	 * Routers and the visitor answer in the order probes reach them: once
	 * a probe sent after this hop's unanswered ones was answered (here, or
	 * by the visitor anywhere), their answers are lost.
	 */
	for (int i = 0; i < t->nprobes; i++)
		if (t->probes[i].ttl == ttl && !t->probes[i].answered && t->probes[i].wave > late_wave)
			late_wave = t->probes[i].wave;
	return h->wave_answered > late_wave || (h->dest && t->dest_wave > late_wave);
}

/* Silent hops reported above the highest TTL that got any answer. */
static int
gap(const struct trace *t)
{
	return t->emitted > t->top_answered ? t->emitted - t->top_answered : 0;
}

/* Asks hop ttl again, once: one probe, after those queued already. */
static void
restage(struct trace *t, int ttl, uint64_t now)
{
	t->hops[ttl].reprobed = true;
	/* Not at once: the rest of a burst's answers, and routers' errors, come first. */
	if (t->nrestage == 0)
		t->restage_us = now + TRACE_STAGGER_US;
	t->restage[t->nrestage++] = (uint8_t)ttl;
}

/* Sends the re-probes that are due, one TTL every TRACE_STAGGER_US. */
static void
restage_run(struct trace *t, uint64_t now)
{
	int ttl;

	while (reask_next(t, &ttl) <= now)
		restage(t, ttl, now);
	while (t->state == TRACE_PROBING && t->nrestage > 0 && now >= t->restage_us) {
		ttl = t->restage[0];
		t->nrestage--;
		memmove(t->restage, t->restage + 1, (size_t)t->nrestage);
		if (ttl <= t->emitted || t->hops[ttl].nanswered > 0)
			continue;
		t->wave++;
		if (!send_probe(t, ttl, now))
			break;
		/*
		 * A hop the hop memory gave one probe gets the rest of its
		 * 1 + HOP_RETRIES now: with a single re-ask, two lost packets
		 * on a lossy path made it silent (tests/sys/path-loss.sh).
		 */
		while (t->hops[ttl].spared && t->hops[ttl].nprobes < t->cfg.probes_per_hop &&
		    send_probe(t, ttl, now))
			;
		t->restage_us = now + TRACE_STAGGER_US;
	}
}

/*
 * A visitor without D-SACK answers each probe that reaches it with an ACK
 * that is counted, not named (credit_by_count), and answers can merge with
 * others: Linux (6.9 on, tcp_backlog_ack_defer) sends one ACK for what it
 * takes from a socket's backlog, so probes of bytes it has not acknowledged
 * (the wave right behind the first segment) that reach it while its
 * application holds the socket draw one ACK in all, the ACK of the segment;
 * and a probe that arrives with a data segment is answered by that
 * segment's ACK, which acknowledges new data and is no duplicate. So once
 * the visitor was heard (that ACK, or a duplicate ACK), and no answer of it
 * is known and the duplicate ACKs fit no distance at all, ADAPT_MARGIN_US
 * after the last of them and after the last probe beyond the routers had
 * its round trip (a busy engine may send a wave slowly, and read its
 * answers late), the count starts over, once: the unanswered probes beyond
 * the routers are retired (no longer counted) and those TTLs are asked
 * again. (A count that fits more than one distance waits for the hop's
 * timeout: its best fit, marked ambiguous, is the answer.) UINT64_MAX: not
 * due.
 */
static uint64_t
recount_due(const struct trace *t)
{
	uint64_t first = UINT64_MAX, heard = t->wave_ack_us, last, rtt;

	if (t->recounted || t->visitor_found != 0 || t->top_router >= t->sent_max)
		return UINT64_MAX;
	if (t->ndup > 0) {
		if (count_fit(t).nfit > 0)
			return UINT64_MAX;
		if (heard == 0 || t->dup_us[0] < heard)
			heard = t->dup_us[0];
	}
	if (heard == 0)
		return UINT64_MAX;
	last = t->ndup > 0 && t->dup_last_us > t->wave_ack_us ? t->dup_last_us : t->wave_ack_us;
	for (int i = 0; i < t->nprobes; i++)
		if (t->probes[i].sent_us < first)
			first = t->probes[i].sent_us;
	rtt = heard > first ? heard - first : 0;
	for (int i = 0; i < t->nprobes; i++)
		if (t->probes[i].ttl > t->top_router && t->probes[i].sent_us + rtt > last)
			last = t->probes[i].sent_us + rtt;
	return last + ADAPT_MARGIN_US;
}

static void
recount(struct trace *t, uint64_t now)
{
	t->recounted = true;
	for (int i = 0; i < t->nprobes; i++)
		t->probes[i].retired |= t->probes[i].ttl > t->top_router && !t->probes[i].answered;
	t->ndup = 0;
	t->wave_ack_us = 0;
	t->keepalive_sent = false;
	t->wave++;
	for (int ttl = t->top_router + 1; ttl <= t->sent_max; ttl++) {
		t->hops[ttl].reprobed = true;	/* asked again: no single re-ask besides */
		t->hops[ttl].owed = 0;		/* with all its probes */
		for (int n = 0; n < t->cfg.probes_per_hop; n++)
			if (!send_probe(t, ttl, now)) {
				/* No byte left: a hop not asked again keeps its own re-ask. */
				t->hops[ttl].reprobed = n > 0;
				return;
			}
	}
}

/* Reports every hop that has settled, in order, and ends the trace when it should. */
static void
settle(struct trace *t, uint64_t now)
{
	if (t->state != TRACE_PROBING)
		return;
	t->settled_us = now;
	restage_run(t, now);
	if (now >= recount_due(t))
		recount(t, now);
	send_owed(t, now);	/* what found no byte before */
	while (t->state == TRACE_PROBING && t->emitted < t->sent_max) {
		int ttl = t->emitted + 1;
		struct trace_hop *h = &t->hops[ttl];
		struct proto_hop out;
		bool unreach = false;

		/*
		 * The next hop to report is the visitor's, beyond the trusted
		 * estimate, with one probe: it gets the others first.
		 */
		if (h->dest && h->owed > 0)
			distrust(t, now);
		if (!hop_settled(t, ttl, now))
			break;
		if (h->dest)
			refute_changed_ids(t, ttl);
		hop_report(t, ttl, &out);
		tracemem_reuse(t, &out, now);
		t->ops.hop(t->ops.ctx, &out);
		t->emitted = ttl;
		for (int i = 0; i < out.nreplies; i++)
			unreach |= out.r[i].kind == REPLY_UNREACHABLE;
		if (h->dest)
			finish_at_visitor(t, ttl, now);
		else if (unreach && !h->router)
			finish(t, "unreachable");
		else if (gap(t) >= t->cfg.gap_limit)
			finish(t, "gap-limit");
		else if (t->emitted >= t->cfg.max_hops)
			finish(t, "max-hops");
	}
	/*
	 * Every hop sent has settled and the visitor was not found: go further,
	 * unless the probe budget is spent (a visitor that answers slowly, or
	 * forges errors, must not keep a trace slot for long).
	 */
	if (t->state == TRACE_PROBING && t->emitted == t->sent_max &&
	    t->nprobes >= t->cfg.max_probes)
		finish(t, "budget");
	if (t->state == TRACE_PROBING && t->emitted == t->sent_max) {
		int more = t->cfg.gap_limit - gap(t);

		send_up_to(t, t->sent_max + (more > 0 ? more : 1), now);
	}
}

/* The probe that used seq, or NULL. */
static struct trace_probe *
probe_by_seq(struct trace *t, uint32_t seq)
{
	for (int i = 0; i < t->nprobes; i++)
		if (t->probes[i].seq == seq)
			return &t->probes[i];
	return NULL;
}

/*
 * An answer to probe p that came after its hop was reported: it is kept,
 * marked late, for the stored trace only (the live stream stays as it was
 * sent), until HOP_TIMEOUT after the hop's last probe, also after the end.
 * An answer beyond the hops reported (after an end) says nothing.
 */
static void
late_answer(struct trace *t, struct trace_probe *p, const struct proto_reply *r)
{
	struct proto_reply late = *r;

	if (p->answered || p->ttl > t->emitted) {
		t->stats.late_or_dup++;
		return;
	}
	p->answered = true;
	late.flags |= PROTO_RF_LATE;
	t->stats.late++;
	if (t->ops.late)
		t->ops.late(t->ops.ctx, p->ttl, &late);
}

/*
 * Records an answer to probe p; false if it was answered before or its hop
 * is reported (then it is a late answer). The visitor's own answer replaces
 * an error whose IPv4 id was changed (see refute_changed_ids).
 */
static bool
record(struct trace *t, struct trace_probe *p, const struct proto_reply *r)
{
	struct trace_hop *h = &t->hops[p->ttl];
	bool replace = p->answered && r->kind == REPLY_DESTINATION &&
	    p->reply.kind != REPLY_DESTINATION && (p->reply.flags & PROTO_RF_ID_CHANGED);

	if (p->ttl <= t->emitted || t->state == TRACE_DONE) {
		late_answer(t, p, r);
		return false;
	}
	if (p->answered && !replace) {
		t->stats.late_or_dup++;
		return false;
	}
	if (replace)
		t->stats.refuted++;
	else
		h->nanswered++;
	p->answered = true;
	reply_keep(t, &p->reply, r);
	t->stats.replies_matched++;
	if (p->ttl > t->top_answered)
		t->top_answered = p->ttl;
	if (r->rtt_us > h->max_rtt_us)
		h->max_rtt_us = r->rtt_us;
	if (p->wave > h->wave_answered)
		h->wave_answered = p->wave;
	return true;
}

/*
 * Queues re-probes of the TTLs between the furthest router and ttl that
 * nothing answered: the visitor answered at ttl, so it may be nearer, and
 * its answers to those TTLs' probes lost (a receiver that acknowledges a
 * burst once names only the last duplicate). One probe each, staggered, so
 * that each draws an answer of its own.
 */
static void
restage_below(struct trace *t, int ttl, uint64_t now)
{
	for (int j = t->top_router + 1; j < ttl; j++)
		if (t->hops[j].nanswered == 0 && !t->hops[j].reprobed && j > t->emitted)
			restage(t, j, now);
}

/* The visitor's answer to probe p: segment seg, arrived at now. */
static void
visitor_reply(const struct trace *t, const struct trace_probe *p, const struct pkt_tcp *seg,
    uint64_t now, struct proto_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->from = t->client;
	r->kind = REPLY_DESTINATION;
	r->rtt_us = rtt_since(p, now);
	r->reply_ttl = seg->ttl;
	r->size = seg->size;
}

/* The visitor answered probe p (a D-SACK named it) with segment seg. */
static void
visitor_answer(struct trace *t, struct trace_probe *p, const struct pkt_tcp *seg, uint64_t now)
{
	struct proto_reply r;

	visitor_reply(t, p, seg, now, &r);
	if (!record(t, p, &r))
		return;
	visitor_at(t, p->ttl, r.rtt_us);
	if (p->wave > t->dest_wave)
		t->dest_wave = p->wave;
	restage_below(t, p->ttl, now);
}

/*
 * Draining: probe p's answer came (seg); the drain ends with the last one
 * awaited. An answer to a probe of a hop reported is late.
 */
static void
drained(struct trace *t, struct trace_probe *p, const struct pkt_tcp *seg, uint64_t now)
{
	struct proto_reply r;

	if (p->answered)
		return;
	if (p->ttl <= t->emitted) {
		visitor_reply(t, p, seg, now, &r);
		late_answer(t, p, &r);
	} else
		p->answered = true;
	drained_one(t);
}

/*
 * The D-SACK block of an ACK (RFC 2883), as Linux reads it: the first SACK
 * block when it starts below the cumulative ACK, or lies inside the second.
 */
static bool
dsack_block(const struct pkt_tcp *seg, uint32_t *l, uint32_t *r)
{
	if (seg->nsack == 0 || !seq_lt(seg->sack[0][0], seg->sack[0][1]))
		return false;
	*l = seg->sack[0][0];
	*r = seg->sack[0][1];
	if (seq_lt(*l, seg->ack))
		return true;
	return seg->nsack > 1 && seq_le(seg->sack[1][0], *l) && seq_le(*r, seg->sack[1][1]);
}

/*
 * The probes a SACK block [l, r) names, into in[]: a block of probes only
 * (one byte each, the byte between two of them at most) is the probes'; a
 * longer one reports real data, and names no probe (0).
 */
static int
probes_in(struct trace *t, uint32_t l, uint32_t r, struct trace_probe *in[PROTO_MAX_REPLIES])
{
	int n = 0;

	for (int i = 0; i < t->nprobes; i++) {
		uint32_t s = t->probes[i].seq;

		if (seq_le(l, s) && seq_lt(s, r)) {
			if (n == PROTO_MAX_REPLIES)
				return 0;
			in[n++] = &t->probes[i];
		}
	}
	return n > 0 && r - l <= 2u * (uint32_t)n ? n : 0;
}

/*
 * Credits every probe that the ACK's D-SACK block names, whatever else the
 * ACK carries (a longer block reports the server's own retransmission).
 * Returns how many probes it named.
 */
static int
dsack_answer(struct trace *t, const struct pkt_tcp *seg, bool credit, uint64_t now)
{
	struct trace_probe *in[PROTO_MAX_REPLIES];
	uint32_t l, r;
	int n;

	if (!dsack_block(seg, &l, &r) || (n = probes_in(t, l, r, in)) == 0)
		return 0;
	t->stats.dupacks++;
	for (int i = 0; i < n; i++)
		if (credit)
			visitor_answer(t, in[i], seg, now);
		else
			drained(t, in[i], seg, now);
	return n;
}

/*
 * A probe sent right behind the first segment reaches the visitor as new
 * data beyond a hole when it overtook the segment (the two left through
 * different CPUs' queues) or the segment was lost: the visitor SACKs it. Such
 * blocks above the ACK, of probes only, credit those probes (when credit;
 * else they are drained), and are taken out (the returned mask, bit b for
 * block b): the server's TCP must not see them, or it would take the
 * segments sent before for lost (RACK) and retransmit them. It recovers a
 * real loss as it would without the probes.
 */
static unsigned
sack_answer(struct trace *t, const struct pkt_tcp *seg, bool credit, uint64_t now)
{
	struct trace_probe *in[PROTO_MAX_REPLIES];
	unsigned mask = 0;

	for (int b = 0; b < seg->nsack; b++) {
		int n;

		if (!seq_lt(seg->ack, seg->sack[b][0]) ||
		    (n = probes_in(t, seg->sack[b][0], seg->sack[b][1], in)) == 0)
			continue;
		mask |= 1u << b;
		for (int i = 0; i < n; i++)
			if (credit)
				visitor_answer(t, in[i], seg, now);
			else
				drained(t, in[i], seg, now);
		if (!t->hole || seq_lt(t->hole_end, seg->sack[b][1]))
			t->hole_end = seg->sack[b][1];
		t->hole = true;
	}
	return mask;
}

/* Keeps the first bytes of a segment of new response data, spread over what is in flight. */
static void
keep_sample(struct trace *t, const struct pkt_tcp *seg)
{
	struct trace_sample *s;
	uint32_t stride = 0;

	if (t->nsamples > 0) {
		const struct trace_sample *last =
		    &t->samples[(t->sample_next - 1 + TRACE_SAMPLES) % TRACE_SAMPLES];

		/*
		 * With much in flight, sample it evenly, so that a kept segment is
		 * close below the visitor's ACK when it moves on.
		 */
		if (t->have_ack && seq_lt(t->visitor_ack, t->snd_nxt))
			stride = (t->snd_nxt - t->visitor_ack) / (TRACE_SAMPLES / 2);
		if (seq_lt(seg->seq, last->seq + last->len + stride))
			return;
	}
	s = &t->samples[t->sample_next];
	t->sample_next = (t->sample_next + 1) % TRACE_SAMPLES;
	if (t->nsamples < TRACE_SAMPLES)
		t->nsamples++;
	s->seq = seg->seq;
	s->len = (uint16_t)(seg->payload_len < TRACE_SAMPLE_BYTES ? seg->payload_len : TRACE_SAMPLE_BYTES);
	s->next = 0;
	memcpy(s->b, seg->payload, s->len);
}

static void
learn_outgoing(struct trace *t, const struct pkt_tcp *seg, uint64_t now)
{
	uint32_t end = seg->seq + (uint32_t)seg->payload_len;

	t->tmpl.src = t->server;
	t->tmpl.dst = t->client;
	t->tmpl.sport = t->sport;
	t->tmpl.dport = t->cport;
	t->tmpl.tos = seg->tos;
	t->tmpl.flowlabel = seg->flowlabel;
	t->tmpl.ack = seg->ack;
	t->tmpl.window = seg->window;
	t->tmpl.has_ts = seg->has_ts;
	t->tmpl.tsval = seg->tsval;
	t->tmpl.tsecr = seg->tsecr;
	t->have_tmpl = true;
	if (seg->payload_len == 0)
		return;

	/* New data only: a retransmission's bytes are kept already, or were never the response's. */
	if (t->have_data && !seq_lt(t->snd_nxt, end))
		return;
	if (!t->have_data || seq_le(t->snd_nxt, seg->seq))
		keep_sample(t, seg);
	if (!t->have_data)
		t->first_seq = seg->seq;
	t->snd_nxt = end;
	t->have_data = true;
	if (t->state == TRACE_WAIT_SEGMENT) {
		t->state = TRACE_WAIT_ACK;
		t->wait_until_us = now + t->cfg.start_timeout_us;
		/* Not now: this segment has no verdict yet, and must reach the visitor first. */
		t->keepalive_due = true;
	}
}

/*
 * A keep-alive right behind the first response segment, on the same path:
 * the visitor answers it at once with an ACK that covers that segment, so
 * probing need not wait for a delayed ACK (after a TLS handshake Linux holds
 * it 40 ms). Linux answers one such segment per connection every 500 ms
 * (tcp_invalid_ratelimit); another trace on the connection sooner just waits.
 */
static void
send_keepalive(struct trace *t)
{
	uint8_t pkt[PROBE_MAX_LEN];
	uint64_t sent;
	size_t len;

	t->keepalive_due = false;
	len = probe_build_keepalive(pkt, sizeof(pkt), &t->tmpl, t->first_seq, 255, t->next_ipid++);
	if (t->next_ipid == 0)
		t->next_ipid = 1;
	if (len == 0 || t->ops.send(t->ops.ctx, pkt, len, t->tmpl.src.family, &sent) < 0)
		tlog(t, "keep-alive not sent");
	else {
		t->stats.keepalives++;
		t->keepalive_sent = true;
	}
}

/*
 * An ACK that names nothing: no SACK, no data, no FIN, nothing new
 * acknowledged. It is a probe's answer from a visitor without D-SACK, or the
 * keep-alive's (see credit_by_count), as long as those can account for it.
 * Its window may have changed since the visitor's last ACK (its application
 * read, or its receive window grew): a visitor states its current window in
 * every answer, so that does not make it less of one; a pure window update
 * counted as an answer only makes the count inexact, which credit_by_count
 * marks. Answers with the same window are dropped, so the server never
 * counts three duplicate ACKs in a row (a spurious fast retransmit); one
 * with a new window goes on, as the window update the server's TCP takes it
 * for. Beyond that count it is the connection's own (a real loss) and goes on.
 */
static enum trace_verdict
plain_dupack(struct trace *t, bool same_window, uint64_t now)
{
	if (t->state == TRACE_DONE)
		drained_one(t);
	if (t->ndup < TRACE_DUPACKS)
		t->dup_us[t->ndup] = now;
	t->ndup++;
	t->dup_last_us = now;
	return same_window && t->ndup <= unanswered_from(t, t->top_router + 1) + t->keepalive_sent ?
	    TRACE_DROP : TRACE_ACCEPT;
}

/*
 * The verdict on the visitor's ACK while probes may reach it: credit (when
 * live) the probes its D-SACK names and take the block out, or take a plain
 * duplicate ACK for a probe's.
 */
static enum trace_verdict
visitor_verdict(struct trace *t, const struct pkt_tcp *seg, bool live, uint64_t now)
{
	bool same_ack = seg->payload_len == 0 && !(seg->flags & TCP_FIN) && seg->ack == t->visitor_ack;
	bool dup = same_ack && seg->window == t->visitor_window;

	t->strip = dsack_answer(t, seg, live, now) > 0 ? 1 : sack_answer(t, seg, live, now);
	if (t->strip) {
		/*
		 * The blocks exist only because of our probes: an ACK that says
		 * nothing else is dropped; any other goes on without them.
		 */
		if (dup && t->strip == (1u << seg->nsack) - 1)
			return TRACE_DROP;
		t->stats.stripped++;
		return TRACE_STRIP;
	}
	if (same_ack && seg->nsack == 0)
		return plain_dupack(t, dup, now);
	return TRACE_ACCEPT;
}

enum trace_verdict
trace_segment(struct trace *t, const struct pkt_tcp *seg, bool outgoing, uint64_t now)
{
	enum trace_verdict v = TRACE_ACCEPT;

	if (t->state == TRACE_DONE) {
		/* Draining: the ACKs that answer probes sent beyond the visitor. */
		if (outgoing || now >= t->drain_until_us || (seg->flags & (TCP_SYN | TCP_RST)) ||
		    !(seg->flags & TCP_ACK))
			return TRACE_ACCEPT;
		v = visitor_verdict(t, seg, false, now);
		if (t->hole && seq_lt(t->visitor_ack, t->hole_end) && !seq_lt(seg->ack, t->hole_end)) {
			t->hole = false;	/* filled: this ACK carried the retransmission's D-SACK */
			drained_one(t);
		}
		if (seq_lt(t->visitor_ack, seg->ack))
			t->visitor_ack = seg->ack;
		t->visitor_window = seg->window;
		return v;
	}
	if (seg->flags & TCP_SYN)
		return TRACE_ACCEPT;
	/* Probing ends with the server's FIN or either side's RST; a visitor's FIN is a half-close. */
	if ((seg->flags & TCP_RST) || (outgoing && (seg->flags & TCP_FIN))) {
		finish(t, "closed");
		return TRACE_ACCEPT;
	}
	if (outgoing) {
		learn_outgoing(t, seg, now);
		return TRACE_ACCEPT;
	}
	if (!(seg->flags & TCP_ACK))
		return TRACE_ACCEPT;
	if (seg->flags & TCP_FIN)
		t->visitor_fin = true;

	if (t->state == TRACE_PROBING)
		v = visitor_verdict(t, seg, true, now);
	/* After the wave right behind the first segment, its ACK may answer a probe too. */
	if (t->in_flight_sent && !t->recounted && t->wave_ack_us == 0 && seq_lt(t->first_seq, seg->ack))
		t->wave_ack_us = now;
	if (!t->have_ack || seq_lt(t->visitor_ack, seg->ack)) {
		t->visitor_ack = seg->ack;
		t->visitor_ttl = seg->ttl;
		t->have_ack = true;
	}
	t->visitor_window = seg->window;

	if (t->state == TRACE_WAIT_ACK && t->have_data && seq_lt(t->first_seq, t->visitor_ack))
		start_probing(t, now);
	if (t->state == TRACE_PROBING) {
		send_up_to(t, 0, now);	/* what found no byte before */
		settle(t, now);
	}
	return v;
}

/*
 * What the error says beyond the hop: the TTL our probe arrived with and
 * the MPLS labels it crossed. The quoted destination is the visitor's
 * (trace_quotes matched it), so edst stays unset.
 */
static void
reply_evidence(const struct pkt_icmp *err, struct proto_reply *r)
{
	r->quoted_ttl = err->qttl;
	r->size = err->size;
	if (err->has_ext)
		r->ext = err->rfc4884 ? PROTO_EXT_RFC4884 : PROTO_EXT_LEGACY;
	for (int i = 0; i < err->nmpls && i < PROTO_MAX_MPLS; i++) {
		r->mpls[i].label = err->mpls[i].label;
		r->mpls[i].exp = err->mpls[i].exp;
		r->mpls[i].s = err->mpls[i].s;
		r->mpls[i].ttl = err->mpls[i].ttl;
		r->nmpls = i + 1;
	}
}

/*
 * The probe an error quotes. By seq first: a NAT or firewall that rewrites
 * IPv4 ids leaves it, and the changed id is kept as evidence. A firewall
 * that randomizes sequence numbers shifts every quoted seq beyond it by one
 * offset; the quote still names its probe by its IPv4 id, or by its payload
 * byte (IPv6 routers quote the whole probe). Each such quote suggests an
 * offset; once quotes of two probes agree, it is learned, and from then on
 * a shifted quote whose byte is its probe's matches. A quote that only
 * suggests offsets so far is kept in t->guesses, with its answer r.
 */
static struct trace_probe *
quoted_probe(struct trace *t, const struct pkt_icmp *err, const struct proto_reply *r,
    uint64_t now, uint8_t *flags)
{
	struct trace_probe *p = probe_by_seq(t, err->qseq);

	*flags = 0;
	if (p != NULL) {
		if (err->qsrc.family == AF_INET && err->qipid != p->ipid)
			*flags = PROTO_RF_ID_CHANGED;
		return p;
	}
	*flags = PROTO_RF_SEQ_SHIFTED;
	if (t->have_offset) {
		p = probe_by_seq(t, err->qseq - t->seq_offset);
		return p != NULL && (!err->has_qbyte || err->qbyte == p->byte) ? p : NULL;
	}
	for (int i = 0; i < t->nprobes; i++) {
		struct trace_probe *c = &t->probes[i];
		uint32_t off = err->qseq - c->seq;
		bool by_id = err->qsrc.family == AF_INET && err->qipid == c->ipid;

		if (!by_id && (!err->has_qbyte || err->qbyte != c->byte))
			continue;
		/*
		 * Two quotes agree when they name two probes by one offset, and
		 * by their ids or by two different bytes: copies of one probe's
		 * quote with other seqs (forged) never agree.
		 */
		for (int g = 0; g < t->nguesses; g++)
			if (t->guesses[g].offset == off && t->guesses[g].probe != i &&
			    ((by_id && t->guesses[g].by_id) || t->guesses[g].byte != c->byte)) {
				t->have_offset = true;
				t->seq_offset = off;
				tlog(t, "quoted seqs are shifted: a firewall on the path randomizes them");
				return c;
			}
		t->guesses[t->guess_next].offset = off;
		t->guesses[t->guess_next].probe = i;
		t->guesses[t->guess_next].byte = c->byte;
		t->guesses[t->guess_next].by_id = by_id;
		t->guesses[t->guess_next].at_us = now;
		t->guesses[t->guess_next].reply = *r;
		t->guess_next = (t->guess_next + 1) % TRACE_GUESSES;
		if (t->nguesses < TRACE_GUESSES)
			t->nguesses++;
	}
	return NULL;
}

/* Records a router's (or a middlebox's) answer to probe p. */
static void
error_answer(struct trace *t, struct trace_probe *p, const struct proto_reply *r, uint64_t now)
{
	if (!record(t, p, r) || r->kind != REPLY_TIME_EXCEEDED)
		return;
	/* A changed id is weaker evidence: it does not bound the visitor's distance. */
	if (!(r->flags & PROTO_RF_ID_CHANGED)) {
		t->hops[p->ttl].router = true;
		if (p->ttl > t->top_router)
			t->top_router = p->ttl;
	}
	/* A router at or beyond the estimate: the estimate is wrong; look further ahead. */
	if (p->ttl >= t->estimate)
		distrust(t, now);
	send_up_to(t, p->ttl + t->ahead, now);
}

enum trace_verdict
trace_icmp(struct trace *t, const struct pkt_icmp *err, uint64_t now)
{
	struct trace_probe *p;
	struct proto_reply r;
	uint8_t flags;

	/* After the end, until the late answers' window closes, errors are late answers. */
	if ((t->state != TRACE_PROBING && !(t->state == TRACE_DONE && now < t->late_until_us)) ||
	    !trace_quotes(t, err))
		return TRACE_ACCEPT;
	memset(&r, 0, sizeof(r));
	r.from = err->src;
	r.kind = err->kind;
	r.code = err->kind == REPLY_PACKET_TOO_BIG ? err->mtu : err->code;
	r.reply_ttl = err->ttl;
	reply_evidence(err, &r);
	if ((p = quoted_probe(t, err, &r, now, &flags)) == NULL)
		return TRACE_ACCEPT;
	r.flags = flags;
	r.rtt_us = rtt_since(p, now);
	if (flags & PROTO_RF_SEQ_SHIFTED) {
		/* The quotes that agreed before the offset was known count now. */
		for (int g = 0; g < t->nguesses; g++) {
			struct trace_guess *q = &t->guesses[g];
			struct trace_probe *gp = &t->probes[q->probe];

			if (q->offset != t->seq_offset)
				continue;
			q->reply.flags = PROTO_RF_SEQ_SHIFTED;
			q->reply.rtt_us = rtt_since(gp, q->at_us);
			error_answer(t, gp, &q->reply, now);
			q->offset = ~t->seq_offset;	/* recorded once */
		}
	}
	error_answer(t, p, &r, now);
	settle(t, now);
	return TRACE_DROP;
}

void
trace_tick(struct trace *t, uint64_t now)
{
	if (t->state == TRACE_DONE) {
		/* Nothing pending any more. */
		if (now >= t->drain_until_us)
			t->drain_until_us = 0;
		if (now >= t->late_until_us)
			t->late_until_us = 0;
		if (now >= t->end_due_us)
			t->end_due_us = 0;
		return;
	}
	if (now >= t->start_us + t->cfg.deadline_us)
		finish(t, "deadline");
	else if (t->state == TRACE_WAIT_SEGMENT && now >= t->wait_until_us)
		finish(t, "no-segment");
	else if (t->state == TRACE_WAIT_ACK && now >= t->wait_until_us)
		finish(t, "no-ack");
	else if (t->state == TRACE_WAIT_ACK && t->keepalive_due && t->syn_ttl)
		start_in_flight(t, now);
	else if (t->state == TRACE_WAIT_ACK && t->keepalive_due)
		send_keepalive(t);
	else if (t->state == TRACE_PROBING)
		settle(t, now);
}

void
trace_abort(struct trace *t, const char *reason)
{
	finish(t, reason);
	t->drain_until_us = t->end_due_us = 0;
	t->late_until_us = 0;
}

bool
trace_over(const struct trace *t, uint64_t now)
{
	return t->state == TRACE_DONE && now >= t->drain_until_us;
}

bool
trace_end_may_go(const struct trace *t, uint64_t now)
{
	return t->state == TRACE_DONE && now >= t->end_due_us;
}

uint64_t
trace_late_until(const struct trace *t, uint64_t now)
{
	return t->state == TRACE_DONE && now < t->late_until_us ? t->late_until_us : 0;
}

uint64_t
trace_next_timeout(const struct trace *t)
{
	uint64_t next = t->start_us + t->cfg.deadline_us, due;
	int ttl;

	switch (t->state) {
	case TRACE_DONE:
		next = t->drain_until_us > 0 ? t->drain_until_us : UINT64_MAX;
		if (t->end_due_us > 0 && t->end_due_us < next)
			next = t->end_due_us;
		return t->late_until_us > 0 && t->late_until_us < next ? t->late_until_us : next;
	case TRACE_WAIT_SEGMENT:
	case TRACE_WAIT_ACK:
		return t->wait_until_us < next ? t->wait_until_us : next;
	case TRACE_PROBING:
		/* hop_due and reask_next walk the hops: each once. */
		if (t->emitted < t->sent_max && (due = hop_due(t, t->emitted + 1)) < next)
			next = due;
		if (t->nrestage > 0 && t->restage_us < next)
			next = t->restage_us;
		if ((due = reask_next(t, &ttl)) < next)
			next = due;
		if ((due = recount_due(t)) < next)
			next = due;
		/*
		 * Once: a count that settled nothing then (a silent router below
		 * the visitor waits for its own timeout) is not due again until
		 * another duplicate ACK moves it; due forever, it kept the loop
		 * spinning, a whole core, until that timeout.
		 */
		if (t->ndup > 0 && (t->keepalive_sent || t->wave_ack_us) &&
		    count_settles(t) > t->dup_last_us && count_settles(t) > t->settled_us &&
		    count_settles(t) < next && t->emitted < t->sent_max)
			next = count_settles(t);
		return next;
	}
	return next;
}
