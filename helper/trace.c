/*
 * One trace's state machine (DESIGN.md section 4). Probes are copies of the
 * connection carrying one byte the visitor has already acknowledged; each
 * probe has its own seq, so a reply's quote (or the visitor's D-SACK) names
 * the probe. Hops are reported in TTL order as they settle.
 */
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define PROBES_CAP ((int)(sizeof(((struct trace *)0)->probes) / sizeof(struct trace_probe)))

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
	t->ops.end(t->ops.ctx, reason, t->emitted);
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
	t->ops = *ops;
	t->client = *client;
	t->server = *server;
	t->cport = cport;
	t->sport = sport;
	t->state = TRACE_WAIT_SEGMENT;
	t->start_us = now_us;
	t->wait_until_us = now_us + cfg->start_timeout_us;
	t->next_ipid = ipid_base ? ipid_base : 1;
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

/* The byte at seq, if it is kept and the visitor has acknowledged it. */
static bool
byte_at(const struct trace *t, uint32_t seq, uint8_t *byte)
{
	uint32_t off = seq - t->bytes_seq;

	if (!t->have_ack || !seq_lt(seq, t->visitor_ack) || off >= t->nbytes)
		return false;
	*byte = t->bytes[off];
	return true;
}

/* Sends the probes of one TTL at once. Returns false if no byte was left for it. */
static bool
send_hop(struct trace *t, int ttl, uint64_t now)
{
	struct trace_hop *h = &t->hops[ttl];
	uint8_t pkt[PROBE_MAX_LEN], byte;
	int n = 0;

	h->first = (uint16_t)t->nprobes;
	while (n < t->cfg.probes_per_hop && t->nprobes < PROBES_CAP &&
	    byte_at(t, t->next_seq, &byte)) {
		struct trace_probe *p = &t->probes[t->nprobes];
		size_t len;

		p->seq = t->next_seq++;
		p->ipid = t->next_ipid++;
		if (t->next_ipid == 0)		/* the kernel would replace an id of 0 */
			t->next_ipid = 1;
		p->ttl = (uint8_t)ttl;
		p->sent_us = now;
		len = probe_build(pkt, sizeof(pkt), &t->tmpl, p->seq, byte, (uint8_t)ttl, p->ipid);
		/* A failed send is a lost probe: the hop's timeout covers it. */
		if (len == 0 || t->ops.send(t->ops.ctx, pkt, len, t->tmpl.src.family, &p->sent_us) < 0)
			tlog(t, "probe not sent");
		t->stats.probes_sent++;
		t->nprobes++;
		n++;
	}
	if (n == 0)
		return false;
	h->nprobes = (uint8_t)n;
	h->deadline_us = now + t->cfg.hop_timeout_us;
	t->sent_max = ttl;
	return true;
}

static void
send_up_to(struct trace *t, int want, uint64_t now)
{
	if (want > t->cfg.max_hops)
		want = t->cfg.max_hops;
	while (t->sent_max < want && send_hop(t, t->sent_max + 1, now))
		;
}

static void
start_probing(struct trace *t, uint64_t now)
{
	int ttl = t->visitor_ttl, init = ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;

	/*
	 * The visitor's initial TTL minus the TTL its ACK arrived with is the
	 * number of routers on the way back: the visitor should answer at one
	 * more. Probe about two TTLs beyond, so few probes reach the visitor.
	 */
	t->estimate = ttl > 0 ? init - ttl + 1 : 0;
	t->state = TRACE_PROBING;
	t->keepalive_due = false;
	send_up_to(t, t->estimate > 0 ? t->estimate + 2 : t->cfg.max_hops, now);
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
	const struct trace_hop *h = &t->hops[ttl];

	memset(out, 0, sizeof(*out));
	out->ttl = ttl;
	out->sent = h->nprobes;
	for (int i = 0; i < h->nprobes && out->nreplies < PROTO_MAX_REPLIES; i++) {
		const struct trace_probe *p = &t->probes[h->first + i];

		if (p->answered)
			reply_expand(t, &p->reply, &out->r[out->nreplies++]);
	}
}

/*
 * Without SACK the visitor's duplicate ACKs do not say which probe caused
 * them. They are credited to the lowest hop that no router answered, once
 * every hop before it has settled.
 */
static void
credit_dupacks(struct trace *t, struct trace_hop *h)
{
	for (int i = 0; i < h->nprobes && t->unexplained_dupacks > 0; i++) {
		struct trace_probe *p = &t->probes[h->first + i];

		if (p->answered || t->dupack_us < p->sent_us)
			continue;
		p->answered = true;
		p->reply.from = t->client;
		p->reply.kind = REPLY_DESTINATION;
		p->reply.rtt_us = (uint32_t)(t->dupack_us - p->sent_us);
		p->reply.reply_ttl = t->visitor_ttl;
		h->nanswered++;
		t->unexplained_dupacks--;
	}
}

/* Reports every hop that has settled, in order, and ends the trace when it should. */
static void
settle(struct trace *t, uint64_t now)
{
	while (t->state == TRACE_PROBING && t->emitted < t->sent_max) {
		int ttl = t->emitted + 1;
		struct trace_hop *h = &t->hops[ttl];
		struct proto_hop out;
		bool dest = false, unreach = false;

		if (!h->router && t->unexplained_dupacks > 0)
			credit_dupacks(t, h);
		if (h->nanswered < h->nprobes && now < h->deadline_us)
			break;
		hop_report(t, ttl, &out);
		t->ops.hop(t->ops.ctx, &out);
		t->emitted = ttl;
		for (int i = 0; i < out.nreplies; i++) {
			dest |= out.r[i].kind == REPLY_DESTINATION;
			unreach |= out.r[i].kind == REPLY_UNREACHABLE;
		}
		t->trailing_silent = out.nreplies == 0 ? t->trailing_silent + 1 : 0;
		if (dest)
			finish(t, "destination");
		else if (unreach && !h->router)
			finish(t, "unreachable");
		else if (t->trailing_silent >= t->cfg.gap_limit)
			finish(t, "gap-limit");
		else if (t->emitted >= t->cfg.max_hops)
			finish(t, "max-hops");
	}
	/* Every hop sent has settled and the visitor was not found: go further. */
	if (t->state == TRACE_PROBING && t->emitted == t->sent_max) {
		int more = t->cfg.gap_limit - t->trailing_silent;

		send_up_to(t, t->sent_max + (more > 0 ? more : 1), now);
	}
}

/* The probe that used seq, or NULL. Probes use consecutive seqs. */
static struct trace_probe *
probe_by_seq(struct trace *t, uint32_t seq)
{
	uint32_t i;

	if (t->nprobes == 0)
		return NULL;
	i = seq - t->probes[0].seq;
	return i < (uint32_t)t->nprobes ? &t->probes[i] : NULL;
}

/* Records an answer to probe p; false if it was answered before or its hop is reported. */
static bool
record(struct trace *t, struct trace_probe *p, const struct proto_reply *r)
{
	struct trace_hop *h = &t->hops[p->ttl];

	if (p->answered || p->ttl <= t->emitted) {
		t->stats.late_or_dup++;
		return false;
	}
	p->answered = true;
	reply_keep(t, &p->reply, r);
	h->nanswered++;
	t->stats.replies_matched++;
	return true;
}

static void
learn_outgoing(struct trace *t, const struct pkt_tcp *seg, uint64_t now)
{
	uint32_t end;

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

	/* Keep the first bytes of the response, in order, as the pool for probes. */
	if (t->nbytes == 0 && t->state == TRACE_WAIT_SEGMENT) {
		t->bytes_seq = seg->seq;
		t->next_seq = seg->seq;
	}
	end = t->bytes_seq + t->nbytes;
	if (t->nbytes > 0 || t->state == TRACE_WAIT_SEGMENT) {
		uint32_t seg_end = seg->seq + (uint32_t)seg->payload_len;

		if (seq_le(seg->seq, end) && seq_lt(end, seg_end)) {
			size_t off = end - seg->seq, n = seg->payload_len - off;

			if (n > (size_t)(TRACE_BYTES - t->nbytes))
				n = TRACE_BYTES - t->nbytes;
			memcpy(t->bytes + t->nbytes, seg->payload + off, n);
			t->nbytes = (uint16_t)(t->nbytes + n);
		}
	}
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
	len = probe_build_keepalive(pkt, sizeof(pkt), &t->tmpl, t->bytes_seq, 255, t->next_ipid++);
	if (t->next_ipid == 0)
		t->next_ipid = 1;
	if (len == 0 || t->ops.send(t->ops.ctx, pkt, len, t->tmpl.src.family, &sent) < 0)
		tlog(t, "keep-alive not sent");
	else {
		t->stats.keepalives++;
		t->keepalive_dups = 1;
	}
}

/* A duplicate ACK whose D-SACK block is exactly one probe's byte: the visitor answered it. */
static bool
dsack_answer(struct trace *t, const struct pkt_tcp *seg, uint64_t now)
{
	struct trace_probe *p;
	struct proto_reply r;

	if (seg->nsack == 0 || !seq_lt(seg->sack[0][0], seg->ack) ||
	    seg->sack[0][1] != seg->sack[0][0] + 1 ||
	    (p = probe_by_seq(t, seg->sack[0][0])) == NULL)
		return false;
	memset(&r, 0, sizeof(r));
	r.from = t->client;
	r.kind = REPLY_DESTINATION;
	r.rtt_us = (uint32_t)(now - p->sent_us);
	r.reply_ttl = seg->ttl;
	r.size = seg->size;
	t->stats.dupacks++;
	record(t, p, &r);
	return true;
}

enum trace_verdict
trace_segment(struct trace *t, const struct pkt_tcp *seg, bool outgoing, uint64_t now)
{
	enum trace_verdict v = TRACE_ACCEPT;

	if (t->state == TRACE_DONE || (seg->flags & TCP_SYN))
		return TRACE_ACCEPT;
	if (seg->flags & (TCP_FIN | TCP_RST)) {
		finish(t, "closed");
		return TRACE_ACCEPT;
	}
	if (outgoing) {
		learn_outgoing(t, seg, now);
		return TRACE_ACCEPT;
	}
	if (!(seg->flags & TCP_ACK))
		return TRACE_ACCEPT;

	if (t->state == TRACE_PROBING && seg->payload_len == 0 && seq_le(seg->ack, t->visitor_ack)) {
		if (dsack_answer(t, seg, now)) {
			/* It exists only because of our probe: the server's TCP need not see it. */
			if (seg->window == t->visitor_window && seg->ack == t->visitor_ack)
				v = TRACE_DROP;
		} else if (seg->nsack == 0 && seg->ack == t->visitor_ack &&
		    seg->window == t->visitor_window) {
			/*
			 * The first may be the keep-alive's. Letting it go costs a
			 * SACK-less visitor one of a hop's duplicate ACKs at most;
			 * with SACK, probes are answered with D-SACK (above).
			 */
			if (t->keepalive_dups > 0)
				t->keepalive_dups--;
			else {
				t->unexplained_dupacks++;
				t->dupack_us = now;
			}
		}
	}
	if (!t->have_ack || seq_lt(t->visitor_ack, seg->ack)) {
		t->visitor_ack = seg->ack;
		t->visitor_ttl = seg->ttl;
		t->have_ack = true;
	}
	t->visitor_window = seg->window;

	if (t->state == TRACE_WAIT_ACK && t->nbytes > 0 && seq_lt(t->bytes_seq, t->visitor_ack))
		start_probing(t, now);
	if (t->state == TRACE_PROBING)
		settle(t, now);
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

enum trace_verdict
trace_icmp(struct trace *t, const struct pkt_icmp *err, uint64_t now)
{
	struct trace_probe *p;
	struct proto_reply r;

	if (t->state != TRACE_PROBING || !trace_quotes(t, err) ||
	    (p = probe_by_seq(t, err->qseq)) == NULL)
		return TRACE_ACCEPT;
	/* IPv4 routers quote the id we chose; a different one was not our probe. */
	if (err->qsrc.family == AF_INET && err->qipid != p->ipid)
		return TRACE_ACCEPT;
	memset(&r, 0, sizeof(r));
	r.from = err->src;
	r.kind = err->kind;
	r.code = err->kind == REPLY_PACKET_TOO_BIG ? err->mtu : err->code;
	r.rtt_us = (uint32_t)(now - p->sent_us);
	r.reply_ttl = err->ttl;
	reply_evidence(err, &r);
	if (record(t, p, &r) && err->kind == REPLY_TIME_EXCEEDED) {
		t->hops[p->ttl].router = true;
		/* A router this far means the visitor is further: keep two TTLs ahead. */
		send_up_to(t, p->ttl + 2, now);
	}
	settle(t, now);
	return TRACE_DROP;
}

void
trace_tick(struct trace *t, uint64_t now)
{
	if (t->state == TRACE_DONE)
		return;
	if (now >= t->start_us + t->cfg.deadline_us)
		finish(t, "deadline");
	else if (t->state == TRACE_WAIT_SEGMENT && now >= t->wait_until_us)
		finish(t, "no-segment");
	else if (t->state == TRACE_WAIT_ACK && now >= t->wait_until_us)
		finish(t, "no-ack");
	else if (t->state == TRACE_WAIT_ACK && t->keepalive_due)
		send_keepalive(t);
	else if (t->state == TRACE_PROBING)
		settle(t, now);
}

void
trace_abort(struct trace *t, const char *reason)
{
	finish(t, reason);
}

uint64_t
trace_next_timeout(const struct trace *t)
{
	uint64_t next = t->start_us + t->cfg.deadline_us;

	switch (t->state) {
	case TRACE_DONE:
		return UINT64_MAX;
	case TRACE_WAIT_SEGMENT:
	case TRACE_WAIT_ACK:
		return t->wait_until_us < next ? t->wait_until_us : next;
	case TRACE_PROBING:
		if (t->emitted < t->sent_max && t->hops[t->emitted + 1].deadline_us < next)
			next = t->hops[t->emitted + 1].deadline_us;
		return next;
	}
	return next;
}
