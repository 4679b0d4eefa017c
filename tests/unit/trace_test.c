/*
 * The trace state machine driven with simulated time: segments and ICMP errors
 * are built as bytes and parsed as the engine would, and every probe sent is
 * parsed back and checked (seq below the visitor's ACK, never reused, the real
 * byte). Both families run through the same scenarios.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"
#include "probe.h"
#include "trace.h"
#include "tap.h"
#include "fixtures.h"

#define MS	1000ull
#define SEC	1000000ull
#define T0	(1000 * SEC)	/* the trace starts at simulated time 1000 s */
#define ISS	0xfffffe00u	/* first response byte: the pool wraps past 2^32 */
#define CSEQ	0x10002000u	/* the visitor's seq: the server's ack */
#define RESP	1400		/* response bytes the harness can send */
#define MAXSENT	(TRACE_MAX_TTL * TRACE_MAX_PER_HOP + 16)

struct sent {
	uint64_t at;
	uint8_t pkt[PROBE_MAX_LEN];
	size_t len;
	struct pkt_tcp tcp;	/* parsed back; payload points into pkt */
};

struct env {
	struct trace t;
	struct trace_cfg cfg;
	int family;
	struct tt_addr client, server;
	uint16_t cport, sport;
	uint8_t resp[RESP];

	/* What the harness knows: the time of the call in progress and the connection. */
	uint64_t now;
	uint32_t acked;		/* the visitor's latest ACK, as sent */
	uint16_t cwin;
	uint8_t cttl;		/* TTL of the visitor's segments on arrival */
	uint32_t tsval;		/* the server's latest timestamp */
	uint32_t flowlabel;	/* the server's current flow label */

	/* Recorded through the callbacks. */
	int nkeepalives;	/* keep-alives sent (seq ISS - 1, no payload), not counted as probes */
	struct pkt_tcp keepalive;	/* the last of them */
	int nsent;
	struct sent sent[MAXSENT];
	int bad_probes;		/* probes that do not parse, or break a rule */
	char bad_why[160];
	bool used[RESP];	/* response bytes used by a probe */
	int nhops;
	struct proto_hop hops[TRACE_MAX_TTL + 2];
	int nend;
	char reason[32];
	int end_hops;
	int hops_at_end;
};

static void
bad(struct env *e, const char *why, int i)
{
	if (e->bad_probes++ == 0)
		snprintf(e->bad_why, sizeof(e->bad_why), "%s (probe %d)", why, i);
}

/*
 * The send callback: parses the probe and checks it against what the
 * connection allows. A probe leaves at the time of the call in progress.
 */
static int
cb_send(void *ctx, const uint8_t *pkt, size_t len, int family, uint64_t *sent_us)
{
	struct env *e = ctx;
	struct sent *s;
	struct pkt p;
	uint32_t off;
	int i = e->nsent;

	if (e->nsent >= MAXSENT) {
		bad(e, "too many probes", i);
		return -1;
	}
	*sent_us = e->now;
	s = &e->sent[e->nsent++];
	s->at = e->now;
	s->len = len > sizeof(s->pkt) ? sizeof(s->pkt) : len;
	memcpy(s->pkt, pkt, s->len);
	if (family != e->family || len > PROBE_MAX_LEN || pkt_parse(s->pkt, s->len, &p) != PKT_OK ||
	    p.kind != PKT_TCP) {
		bad(e, "probe does not parse", i);
		return 0;
	}
	/* A keep-alive: the one segment without payload the trace sends. */
	if (p.u.tcp.payload_len == 0) {
		e->nsent--;
		e->nkeepalives++;
		e->keepalive = p.u.tcp;
		if (p.u.tcp.seq != ISS - 1 || p.u.tcp.flags != TCP_ACK || p.u.tcp.ttl != 255)
			bad(e, "keep-alive not at ISS - 1, not a bare ACK, or TTL not 255", i);
		return 0;
	}
	s->tcp = p.u.tcp;
	off = s->tcp.seq - ISS;
	if (!addr_equal(&s->tcp.src, &e->server) || !addr_equal(&s->tcp.dst, &e->client) ||
	    s->tcp.sport != e->sport || s->tcp.dport != e->cport)
		bad(e, "probe of another connection", i);
	else if (s->tcp.payload_len != 1)
		bad(e, "probe payload is not one byte", i);
	else if (!seq_lt(s->tcp.seq, e->acked))
		bad(e, "probe seq not below the visitor's ACK", i);
	else if (off >= RESP)
		bad(e, "probe seq outside the response", i);
	else if (e->used[off])
		bad(e, "a byte used twice", i);
	else if (s->tcp.payload[0] != e->resp[off])
		bad(e, "probe byte is not the real byte", i);
	else if (s->tcp.flags != TCP_ACK || s->tcp.nsack != 0)
		bad(e, "probe flags or SACK", i);
	else if (family == AF_INET && s->tcp.ipid == 0)
		bad(e, "IPv4 id 0", i);
	if (off < RESP)
		e->used[off] = true;
	if (!fx_l4_csum_ok(s->pkt, s->len))
		bad(e, "bad TCP checksum", i);
	return 0;
}

static void
cb_hop(void *ctx, const struct proto_hop *hop)
{
	struct env *e = ctx;

	if (e->nend)
		e->hops_at_end++;	/* a hop after the end */
	if (e->nhops < (int)(sizeof(e->hops) / sizeof(e->hops[0])))
		e->hops[e->nhops++] = *hop;
}

static void
cb_end(void *ctx, const char *reason, int hops)
{
	struct env *e = ctx;

	if (e->nend++ == 0) {
		snprintf(e->reason, sizeof(e->reason), "%s", reason);
		e->end_hops = hops;
	}
}

static void
cb_log(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
}

static struct trace_cfg
default_cfg(void)
{
	struct trace_cfg c = {
		.hop_timeout_us = 1 * SEC,
		.probes_per_hop = 3,
		.max_hops = 30,
		.gap_limit = 5,
		.deadline_us = 30 * SEC,
		.start_timeout_us = 3 * SEC,
	};

	return c;
}

static struct env *
env_new(int family, const struct trace_cfg *cfg, uint16_t ipid_base)
{
	struct env *e = calloc(1, sizeof(*e));
	struct trace_ops ops = { cb_send, cb_hop, cb_end, cb_log, NULL };

	if (e == NULL)
		abort();
	e->family = family;
	e->cfg = *cfg;
	if (family == AF_INET) {
		e->client = fx_addr("198.51.100.7");
		e->server = fx_addr("192.0.2.1");
	} else {
		e->client = fx_addr("2001:db8:1::7");
		e->server = fx_addr("2001:db8::1");
	}
	e->cport = 50000;
	e->sport = 443;
	for (int i = 0; i < RESP; i++)
		e->resp[i] = (uint8_t)(i * 151 + 17);	/* every neighbour differs */
	e->acked = ISS;
	e->cwin = 2000;
	e->cttl = 60;
	e->tsval = 7000;
	e->flowlabel = 0x5a5a5;
	ops.ctx = e;
	e->now = T0;
	trace_init(&e->t, cfg, &ops, &e->client, e->cport, &e->server, e->sport, ipid_base, T0);
	return e;
}

/* The server sends response bytes [off, off+len) with flags (ACK added). */
static enum trace_verdict
out_seg(struct env *e, uint64_t at, uint32_t off, size_t len, uint8_t flags)
{
	uint8_t b[1600];
	struct fx_seg s = {
		.src = e->server, .dst = e->client, .sport = e->sport, .dport = e->cport,
		.seq = ISS + off, .ack = CSEQ, .flags = (uint8_t)(flags | TCP_ACK), .window = 502,
		.ttl = 64, .tos = 0x28, .flowlabel = e->flowlabel, .ipid = 0x3333,
		.ts = true, .tsval = ++e->tsval, .tsecr = 4242,
		.payload = e->resp + off, .plen = len,
	};
	size_t n = fx_tcp_seg(b, sizeof(b), &s);
	struct pkt p;
	bool out = false;

	e->now = at;
	if (pkt_parse(b, n, &p) != PKT_OK || !trace_owns(&e->t, &p.u.tcp, &out) || !out)
		abort();
	return trace_segment(&e->t, &p.u.tcp, true, at);
}

/* The visitor's segment: an ACK, with SACK blocks if nsack > 0. */
static enum trace_verdict
in_seg(struct env *e, uint64_t at, uint32_t ack, int nsack, const uint32_t sack[][2], uint8_t flags)
{
	uint8_t b[200];
	struct fx_seg s = {
		.src = e->client, .dst = e->server, .sport = e->cport, .dport = e->sport,
		.seq = CSEQ, .ack = ack, .flags = (uint8_t)(flags | TCP_ACK), .window = e->cwin,
		.ttl = e->cttl, .flowlabel = 0x11111, .ipid = 0x4444,
		.ts = true, .tsval = 99, .tsecr = e->tsval, .nsack = nsack,
	};
	size_t n;
	struct pkt p;
	bool out = true;

	for (int i = 0; i < nsack; i++)
		s.sack[i][0] = sack[i][0], s.sack[i][1] = sack[i][1];
	n = fx_tcp_seg(b, sizeof(b), &s);
	e->now = at;
	if (seq_lt(e->acked, ack))
		e->acked = ack;
	if (pkt_parse(b, n, &p) != PKT_OK || !trace_owns(&e->t, &p.u.tcp, &out) || out)
		abort();
	return trace_segment(&e->t, &p.u.tcp, false, at);
}

static enum trace_verdict
ack(struct env *e, uint64_t at, uint32_t off)
{
	return in_seg(e, at, ISS + off, 0, NULL, 0);
}

/* The visitor's duplicate ACK with a D-SACK block for probe i's byte. */
static enum trace_verdict
dsack(struct env *e, uint64_t at, int i)
{
	uint32_t blk[1][2] = { { e->sent[i].tcp.seq, e->sent[i].tcp.seq + 1 } };

	return in_seg(e, at, e->acked, 1, blk, 0);
}

static struct tt_addr
router(int family, int hop)
{
	char s[64];

	if (family == AF_INET)
		snprintf(s, sizeof(s), "192.0.2.%d", 100 + hop);
	else
		snprintf(s, sizeof(s), "2001:db8:ff::%d", hop);
	return fx_addr(s);
}

enum rkind { R_TE, R_UNREACH, R_PTB };

/*
 * An ICMP error from `from` quoting qlen bytes of the packet q as the router
 * saw it (TTL 1); parsed as the engine would. *quotes says whether
 * trace_quotes() claimed it. As the engine (engine.c), trace_icmp() is then
 * called only for an error that trace_quotes() claimed; otherwise always.
 */
/* Changes a parsed error before the trace sees it: extensions the fixture builder does not write. */
static void (*icmp_tweak)(struct pkt_icmp *);

static void
add_mpls(struct pkt_icmp *err)
{
	err->has_ext = true;
	err->rfc4884 = true;
	err->nmpls = 5;		/* more than a reply keeps */
	for (int i = 0; i < 5; i++) {
		err->mpls[i].label = 16000 + (uint32_t)i;
		err->mpls[i].exp = (uint8_t)i;
		err->mpls[i].s = i == 4;
		err->mpls[i].ttl = (uint8_t)(250 + i);
	}
	err->qttl = 2;
}

static enum trace_verdict
icmp_raw(struct env *e, uint64_t at, const struct tt_addr *from, uint8_t ttl, enum rkind k,
    uint32_t mtu, const uint8_t *q, size_t qlen, bool *quotes, bool as_engine)
{
	uint8_t b[300], quote[PROBE_MAX_LEN];
	uint8_t type, code;
	size_t n;
	struct pkt p;

	memcpy(quote, q, qlen);
	if (e->family == AF_INET) {
		quote[8] = 1;
		fx_put16(quote + 10, 0);
		fx_put16(quote + 10, fx_csum(quote, 20, 0));
		type = k == R_TE ? 11 : 3;
		code = k == R_TE ? 0 : k == R_UNREACH ? 13 : 4;
	} else {
		quote[7] = 1;
		type = k == R_TE ? 3 : k == R_UNREACH ? 1 : 2;
		code = k == R_UNREACH ? 1 : 0;
	}
	n = fx_icmp(b, sizeof(b), from, &e->server, ttl, type, code, k == R_PTB ? mtu : 0, quote, qlen);
	e->now = at;
	if (pkt_parse(b, n, &p) != PKT_OK || p.kind != PKT_ICMP)
		abort();
	if (quotes)
		*quotes = trace_quotes(&e->t, &p.u.icmp);
	if (as_engine && !trace_quotes(&e->t, &p.u.icmp))
		return TRACE_ACCEPT;
	if (icmp_tweak)
		icmp_tweak(&p.u.icmp);
	return trace_icmp(&e->t, &p.u.icmp, at);
}

/* Router `hop` answers probe i, quoting its first 28 (IPv4) or 48 (IPv6) bytes. */
static enum trace_verdict
icmp(struct env *e, uint64_t at, int i, int hop, enum rkind k)
{
	struct tt_addr r = router(e->family, hop);
	size_t qlen = e->family == AF_INET ? 28 : 48;

	return icmp_raw(e, at, &r, (uint8_t)(256 - hop), k, 1400, e->sent[i].pkt, qlen, NULL, false);
}

/* Index of the n-th probe (from 0) sent with this TTL, or -1. */
static int
probe_at(const struct env *e, int ttl, int n)
{
	for (int i = 0; i < e->nsent; i++)
		if (e->sent[i].tcp.ttl == ttl && n-- == 0)
			return i;
	return -1;
}

static int
count_ttl(const struct env *e, int ttl)
{
	int c = 0;

	for (int i = 0; i < e->nsent; i++)
		c += e->sent[i].tcp.ttl == ttl;
	return c;
}

static int
max_ttl(const struct env *e)
{
	int m = 0;

	for (int i = 0; i < e->nsent; i++)
		if (e->sent[i].tcp.ttl > m)
			m = e->sent[i].tcp.ttl;
	return m;
}

/* Every router on 1..last answers each probe of its TTL. */
static void
routers_answer(struct env *e, uint64_t at, int first, int last)
{
	for (int h = first; h <= last; h++)
		for (int k = 0; probe_at(e, h, k) >= 0; k++)
			icmp(e, at, probe_at(e, h, k), h, R_TE);
}

static void
check_probes_ok(struct env *e, const char *name)
{
	ok(e->bad_probes == 0, "%s: every probe a copy of the connection with one unused acknowledged byte", name);
	if (e->bad_probes)
		printf("#   %d bad probes, first: %s\n", e->bad_probes, e->bad_why);
	is_int(e->hops_at_end, 0, "%s: no hop reported after the end", name);
	ok(e->nend <= 1, "%s: the end is reported once", name);
}

/* The common start: first segments at +10 ms and +11 ms, the visitor's ACK of 600 bytes at +50 ms. */
static void
start(struct env *e, uint8_t visitor_ttl)
{
	out_seg(e, T0 + 10 * MS, 0, 600, TCP_PSH);
	out_seg(e, T0 + 11 * MS, 600, 600, TCP_PSH);
	e->cttl = visitor_ttl;
	ack(e, T0 + 50 * MS, 600);
}

static void
tick(struct env *e, uint64_t at)
{
	e->now = at;
	trace_tick(&e->t, at);
}

static const char *
fam(const struct env *e)
{
	return e->family == AF_INET ? "IPv4" : "IPv6";
}

/*
 * The main path: 4 routers and the visitor at hop 5 (TTL 60); router replies
 * out of order; the visitor's D-SACKs for the probes of hops 7, 5 and 6.
 */
static void
test_destination(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 0x1000);
	const char *f = fam(e);
	const uint64_t sent_at = T0 + 50 * MS;
	int ok_order = 1, distinct = 1;

	is_int(trace_next_timeout(&e->t), T0 + 3 * SEC, "%s destination: waits start-timeout for the first segment", f);
	ack(e, T0 + 5 * MS, 0);		/* the visitor's ACK of the handshake or request */
	is_int(e->nsent, 0, "%s destination: no probe on the visitor's ACK before any data", f);
	is_int(out_seg(e, T0 + 10 * MS, 0, 600, TCP_PSH), TRACE_ACCEPT, "%s destination: the server's segment is accepted", f);
	is_int(e->t.state, TRACE_WAIT_ACK, "%s destination: waiting for the visitor's ACK", f);
	is_int(trace_next_timeout(&e->t), T0 + 10 * MS + 3 * SEC, "%s destination: start-timeout again for the ACK", f);
	out_seg(e, T0 + 11 * MS, 600, 600, TCP_PSH);
	is_int(e->nsent, 0, "%s destination: no probe before the visitor's ACK", f);
	e->cttl = 60;
	is_int(ack(e, T0 + 20 * MS, 0), TRACE_ACCEPT, "%s destination: an ACK of no new data is accepted", f);
	is_int(e->nsent, 0, "%s destination: no probe on an ACK that covers no response byte", f);
	e->flowlabel = 0x2f00d;
	out_seg(e, T0 + 30 * MS, 1200, 100, TCP_PSH);	/* the newest segment: the template */
	is_int(ack(e, sent_at, 600), TRACE_ACCEPT, "%s destination: the visitor's ACK is accepted", f);

	is_int(e->t.estimate, 5, "%s destination: TTL 60 -> visitor at hop 5", f);
	is_int(e->nsent, 21, "%s destination: hops 1..7 (estimate + 2) at 3 probes each, at once", f);
	for (int h = 1; h <= 7; h++)
		if (count_ttl(e, h) != 3)
			ok_order = 0;
	ok(ok_order && max_ttl(e) == 7, "%s destination: 3 probes with each TTL 1..7", f);
	for (int i = 0; i < e->nsent; i++) {
		if (e->sent[i].at != sent_at || (i > 0 && e->sent[i].tcp.ttl < e->sent[i - 1].tcp.ttl))
			ok_order = 0;
		for (int j = 0; j < i; j++)
			if (e->sent[j].tcp.seq == e->sent[i].tcp.seq ||
			    (family == AF_INET && e->sent[j].tcp.ipid == e->sent[i].tcp.ipid))
				distinct = 0;
	}
	ok(ok_order, "%s destination: all sent at the ACK's time, in TTL order", f);
	ok(distinct, "%s destination: distinct seqs (and IPv4 ids)", f);
	if (family == AF_INET)
		is_int(e->sent[0].tcp.ipid, 0x1000, "%s destination: ids start from the base", f);
	ok(e->sent[0].tcp.tsval == e->tsval && e->sent[20].tcp.tsval == e->tsval && e->sent[0].tcp.tsecr == 4242,
	    "%s destination: timestamps from the newest server segment", f);
	ok(e->sent[0].tcp.ack == CSEQ && e->sent[0].tcp.window == 502 && e->sent[0].tcp.tos == 0x28,
	    "%s destination: ack, window, TOS of the connection", f);
	if (family == AF_INET6)
		is_int(e->sent[5].tcp.flowlabel, 0x2f00d, "%s destination: the current flow label", f);
	is_int(trace_next_timeout(&e->t), sent_at + 1 * SEC, "%s destination: next timeout is hop 1's", f);

	/* Replies out of order: hop 3, then 1, then 2. */
	routers_answer(e, T0 + 60 * MS, 3, 3);
	is_int(e->nhops, 0, "%s destination: hop 3 answered first: nothing reported yet", f);
	is_int(icmp(e, T0 + 62 * MS, probe_at(e, 1, 1), 1, R_TE), TRACE_DROP, "%s destination: a router's error is consumed", f);
	icmp(e, T0 + 62 * MS, probe_at(e, 1, 0), 1, R_TE);
	is_int(e->nhops, 0, "%s destination: hop 1 with 2 of 3 replies waits", f);
	icmp(e, T0 + 63 * MS, probe_at(e, 1, 2), 1, R_TE);
	is_int(e->nhops, 1, "%s destination: hop 1 complete: reported", f);
	routers_answer(e, T0 + 64 * MS, 2, 2);
	is_int(e->nhops, 3, "%s destination: hop 2 complete: hops 2 and 3 follow", f);
	icmp_tweak = add_mpls;
	routers_answer(e, T0 + 70 * MS, 4, 4);
	icmp_tweak = NULL;
	is_int(e->nhops, 4, "%s destination: hop 4 reported", f);
	ok(e->hops[3].r[0].ext == PROTO_EXT_RFC4884 && e->hops[3].r[0].nmpls == PROTO_MAX_MPLS &&
	    e->hops[3].r[0].mpls[0].label == 16000 && e->hops[3].r[0].mpls[3].label == 16003 &&
	    e->hops[3].r[0].mpls[3].exp == 3 && e->hops[3].r[0].mpls[3].ttl == 253,
	    "%s destination: MPLS labels reach the hop, the top %d kept", f, PROTO_MAX_MPLS);
	is_int(e->hops[3].r[0].quoted_ttl, 2, "%s destination: a quoted TTL of 2 is kept", f);
	ok(e->hops[3].nreplies == 3 && e->hops[3].r[2].nmpls == PROTO_MAX_MPLS && e->t.nmpls == 1,
	    "%s destination: the hop's three replies share one kept label stack", f);
	is_int(e->nsent, 21, "%s destination: no probe beyond hop 7 yet", f);

	/* Hop 1's replies, in the order the probes were sent, with RTTs from the simulated clock. */
	ok(e->hops[0].ttl == 1 && e->hops[0].sent == 3 && e->hops[0].nreplies == 3, "%s destination: hop 1 has 3 of 3", f);
	is_int(e->hops[0].r[0].rtt_us, 12 * MS, "%s destination: RTT of hop 1's first probe (reply 12 ms later)", f);
	is_int(e->hops[0].r[2].rtt_us, 13 * MS, "%s destination: RTT of hop 1's third probe", f);
	is_int(e->hops[0].r[0].kind, REPLY_TIME_EXCEEDED, "%s destination: hop 1 time exceeded", f);
	{
		struct tt_addr r1 = router(family, 1);

		ok(addr_equal(&e->hops[0].r[1].from, &r1), "%s destination: hop 1 from its router", f);
	}
	is_int(e->hops[0].r[0].reply_ttl, 255, "%s destination: the reply's TTL", f);
	is_int(e->hops[0].r[0].quoted_ttl, 1, "%s destination: the quoted TTL", f);
	is_int(e->hops[0].r[0].size, family == AF_INET ? 56 : 96, "%s destination: the reply's size", f);
	is_int(e->hops[0].r[0].ext, PROTO_EXT_NONE, "%s destination: no ICMP extension", f);
	ok(e->hops[1].ttl == 2 && e->hops[2].ttl == 3 && e->hops[3].ttl == 4, "%s destination: hops in TTL order", f);
	is_int(e->hops[2].r[0].rtt_us, 10 * MS, "%s destination: RTT of hop 3", f);

	/* The visitor's D-SACKs: hop 7's first, then 5, then 6. */
	is_int(dsack(e, T0 + 90 * MS, probe_at(e, 7, 0)), TRACE_DROP, "%s destination: a D-SACK for a probe is consumed", f);
	dsack(e, T0 + 90 * MS, probe_at(e, 7, 1));
	dsack(e, T0 + 90 * MS, probe_at(e, 5, 0));
	dsack(e, T0 + 91 * MS, probe_at(e, 5, 1));
	is_int(e->nend, 0, "%s destination: hop 5 with 2 of 3 answers waits", f);
	dsack(e, T0 + 92 * MS, probe_at(e, 5, 2));
	is_int(e->nhops, 5, "%s destination: hop 5 reported", f);
	ok(e->hops[4].ttl == 5 && e->hops[4].nreplies == 3 && e->hops[4].r[0].kind == REPLY_DESTINATION &&
	    e->hops[4].r[2].kind == REPLY_DESTINATION, "%s destination: hop 5 is the destination", f);
	ok(addr_equal(&e->hops[4].r[0].from, &e->client), "%s destination: from the visitor", f);
	is_int(e->hops[4].r[0].rtt_us, 40 * MS, "%s destination: RTT of a D-SACK answer", f);
	is_int(e->hops[4].r[0].reply_ttl, 60, "%s destination: the duplicate ACK's TTL", f);
	is_int(e->hops[4].r[0].quoted_ttl, 0, "%s destination: the visitor quotes nothing", f);
	ok(e->hops[4].r[0].size > 0, "%s destination: the duplicate ACK's size", f);
	is_str(e->reason, "destination", "%s destination: ends \"destination\"", f);
	is_int(e->end_hops, 5, "%s destination: with 5 hops", f);
	ok(e->nhops == 5 && e->nend == 1, "%s destination: nothing beyond hop 5 reported", f);
	is_int(e->t.stats.probes_sent, 21, "%s destination: stats: 21 probes", f);
	is_int(e->t.stats.replies_matched, 17, "%s destination: stats: 12 router and 5 visitor replies", f);
	is_int(e->t.stats.dupacks, 5, "%s destination: stats: 5 D-SACK duplicate ACKs", f);
	is_int(trace_next_timeout(&e->t), UINT64_MAX, "%s destination: nothing pending after the end", f);
	dsack(e, T0 + 93 * MS, probe_at(e, 6, 0));
	tick(e, T0 + 40 * SEC);
	ok(e->nhops == 5 && e->nend == 1, "%s destination: later input and ticks change nothing", f);
	check_probes_ok(e, "destination");
	free(e);
}

/* A silent hop is reported only at its timeout; a hop with 2 of 3 replies too. */
static void
test_silent_hop(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	const uint64_t sent_at = T0 + 50 * MS;

	start(e, 61);	/* visitor at hop 4: hops 1..6 */
	is_int(e->nsent, 18, "%s silent hop: hops 1..6 sent", f);
	routers_answer(e, T0 + 60 * MS, 1, 1);
	icmp(e, T0 + 61 * MS, probe_at(e, 3, 0), 3, R_TE);
	icmp(e, T0 + 61 * MS, probe_at(e, 3, 2), 3, R_TE);
	e->cwin = 2100;		/* the visitor's window grew: the server's TCP must see this one */
	is_int(dsack(e, T0 + 70 * MS, probe_at(e, 4, 0)), TRACE_ACCEPT,
	    "%s silent hop: a D-SACK that also updates the window is passed on", f);
	is_int(e->t.stats.replies_matched, 3 + 2 + 1, "%s silent hop: but still counted as an answer", f);
	for (int k = 1; k < 3; k++)
		dsack(e, T0 + 70 * MS, probe_at(e, 4, k));
	is_int(e->nhops, 1, "%s silent hop: hop 2 silent: only hop 1 reported", f);
	is_int(trace_next_timeout(&e->t), sent_at + SEC, "%s silent hop: next timeout is hop 2's", f);
	tick(e, sent_at + SEC - 1);
	ok(e->nhops == 1 && e->nend == 0, "%s silent hop: not reported 1 us before its timeout", f);
	tick(e, sent_at + SEC);
	is_int(e->nhops, 4, "%s silent hop: at the timeout, hops 2, 3 and 4", f);
	ok(e->hops[1].ttl == 2 && e->hops[1].sent == 3 && e->hops[1].nreplies == 0, "%s silent hop: sent=3 nreplies=0", f);
	ok(e->hops[2].ttl == 3 && e->hops[2].sent == 3 && e->hops[2].nreplies == 2, "%s silent hop: hop 3 has 2 of 3", f);
	is_str(e->reason, "destination", "%s silent hop: ends \"destination\"", f);
	is_int(e->end_hops, 4, "%s silent hop: at hop 4", f);
	check_probes_ok(e, "silent hop");
	free(e);
}

/*
 * A reply after its hop settled, and a second reply to one probe: neither is
 * a new reply; both are counted. Also: probes sent later carry the newer
 * template (flow label, timestamps).
 */
static void
test_late_and_dup(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 0xfffe);
	const char *f = fam(e);
	const uint64_t sent_at = T0 + 50 * MS;
	int late;

	start(e, 64);	/* estimate 1: hops 1..3 */
	is_int(e->nsent, 9, "%s late/dup: hops 1..3 sent", f);
	if (family == AF_INET)
		ok(e->sent[0].tcp.ipid == 0xfffe && e->sent[1].tcp.ipid == 0xffff && e->sent[2].tcp.ipid == 1 &&
		    e->sent[3].tcp.ipid == 2, "%s late/dup: ids wrap from 0xffff to 1, never 0", f);
	e->flowlabel = 0x0beef;
	out_seg(e, T0 + 55 * MS, 1200, 100, TCP_PSH);	/* a newer template for later probes */
	icmp(e, T0 + 60 * MS, probe_at(e, 1, 0), 1, R_TE);
	icmp(e, T0 + 60 * MS, probe_at(e, 1, 1), 1, R_TE);
	is_int(e->nsent, 9, "%s late/dup: a router at hop 1: hop 3 is already two ahead", f);
	routers_answer(e, T0 + 61 * MS, 2, 2);	/* a router at 2: keep two ahead, hop 4 */
	ok(e->nsent == 12 && count_ttl(e, 4) == 3 && e->sent[9].at == T0 + 61 * MS,
	    "%s late/dup: a router at hop 2 sends hop 4 at once", f);
	routers_answer(e, T0 + 70 * MS, 3, 3);	/* and a router at 3, hop 5 */
	ok(e->nsent == 15 && count_ttl(e, 5) == 3 && e->sent[12].at == T0 + 70 * MS,
	    "%s late/dup: a router at hop 3 sends hop 5 at once", f);
	ok(e->sent[9].tcp.tsval == e->tsval && e->sent[14].tcp.tsval == e->tsval && e->sent[0].tcp.tsval != e->tsval,
	    "%s late/dup: later probes carry the newest timestamps", f);
	if (family == AF_INET6)
		ok(e->sent[9].tcp.flowlabel == 0x0beef && e->sent[0].tcp.flowlabel == 0x5a5a5,
		    "%s late/dup: later probes carry the current flow label", f);
	is_int(e->nhops, 0, "%s late/dup: hop 1 has 2 of 3: nothing yet", f);
	is_int(trace_next_timeout(&e->t), sent_at + SEC, "%s late/dup: next timeout is hop 1's", f);
	tick(e, sent_at + SEC);
	is_int(e->nhops, 3, "%s late/dup: hops 1..3 reported at hop 1's timeout", f);
	is_int(e->hops[0].nreplies, 2, "%s late/dup: hop 1 with 2 replies", f);
	is_int(trace_next_timeout(&e->t), T0 + 61 * MS + SEC, "%s late/dup: next timeout is hop 4's", f);

	late = (int)e->t.stats.late_or_dup;
	is_int(icmp(e, sent_at + SEC + 1 * MS, probe_at(e, 1, 2), 1, R_TE), TRACE_DROP,
	    "%s late/dup: a late error for a probe is still consumed", f);
	is_int(e->t.stats.late_or_dup, late + 1, "%s late/dup: counted as late", f);
	is_int(e->nhops, 3, "%s late/dup: and no hop reported again", f);

	icmp(e, sent_at + SEC + 2 * MS, probe_at(e, 4, 0), 4, R_TE);
	is_int(icmp(e, sent_at + SEC + 3 * MS, probe_at(e, 4, 0), 4, R_TE), TRACE_DROP,
	    "%s late/dup: a duplicate error is consumed", f);
	is_int(e->t.stats.late_or_dup, late + 2, "%s late/dup: counted as duplicate", f);
	icmp(e, sent_at + SEC + 4 * MS, probe_at(e, 4, 1), 4, R_TE);
	is_int(e->nhops, 3, "%s late/dup: the duplicate did not complete hop 4", f);
	icmp(e, sent_at + SEC + 5 * MS, probe_at(e, 4, 2), 4, R_TE);
	ok(e->nhops == 4 && e->hops[3].nreplies == 3 &&
	    e->hops[3].r[0].rtt_us == sent_at + SEC + 2 * MS - (T0 + 61 * MS),
	    "%s late/dup: hop 4 with 3 replies, the first reply's RTT kept", f);
	is_int(e->t.stats.replies_matched, 2 + 3 + 3 + 3, "%s late/dup: replies matched exclude late and duplicate", f);

	/* A second D-SACK for one probe. */
	dsack(e, sent_at + SEC + 6 * MS, probe_at(e, 5, 0));
	is_int(dsack(e, sent_at + SEC + 7 * MS, probe_at(e, 5, 0)), TRACE_DROP,
	    "%s late/dup: a repeated D-SACK is consumed", f);
	is_int(e->t.stats.late_or_dup, late + 3, "%s late/dup: and counted", f);
	dsack(e, sent_at + SEC + 8 * MS, probe_at(e, 5, 1));
	is_int(e->nend, 0, "%s late/dup: the repeated D-SACK did not complete hop 5", f);
	dsack(e, sent_at + SEC + 9 * MS, probe_at(e, 5, 2));
	ok(e->nhops == 5 && e->hops[4].nreplies == 3, "%s late/dup: hop 5 with 3 distinct answers", f);
	is_str(e->reason, "destination", "%s late/dup: ends \"destination\"", f);
	check_probes_ok(e, "late/dup");
	free(e);
}

/* Errors that are not answers to our probes are accepted unchanged and change nothing. */
static void
test_foreign_icmp(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 0x2000);
	const char *f = fam(e);
	struct tt_addr r = router(family, 1);
	uint8_t q[PROBE_MAX_LEN];
	size_t qlen = family == AF_INET ? 28 : 48, ipl = family == AF_INET ? 20 : 40;
	const int i0 = 0;	/* the probe whose quote is forged */
	bool quotes;

	out_seg(e, T0 + 10 * MS, 0, 600, TCP_PSH);
	{
		/* Before probing, even a quote of the connection is not ours. */
		uint8_t fake[PROBE_MAX_LEN];
		struct fx_seg s = {
			.src = e->server, .dst = e->client, .sport = e->sport, .dport = e->cport,
			.seq = ISS, .ack = CSEQ, .flags = TCP_ACK, .ttl = 1, .ipid = 0x2000,
		};
		size_t n = fx_tcp_seg(fake, sizeof(fake), &s);

		is_int(icmp_raw(e, T0 + 20 * MS, &r, 255, R_TE, 0, fake, n < qlen ? n : qlen, NULL, false), TRACE_ACCEPT,
		    "%s foreign: an error before probing is accepted", f);
	}
	e->cttl = 62;
	ack(e, T0 + 50 * MS, 600);
	is_int(e->nsent, 15, "%s foreign: hops 1..5 sent", f);

	/* A seq never sent: just past the last probe, and just before the first. */
	memcpy(q, e->sent[e->nsent - 1].pkt, qlen);
	fx_put32(q + ipl + 4, e->sent[e->nsent - 1].tcp.seq + 1);
	is_int(icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, false), TRACE_ACCEPT,
	    "%s foreign: a seq after the last probe: accepted", f);
	memcpy(q, e->sent[i0].pkt, qlen);
	fx_put32(q + ipl + 4, e->sent[i0].tcp.seq - 1);
	is_int(icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, false), TRACE_ACCEPT,
	    "%s foreign: a seq before the first probe: accepted", f);
	fx_put32(q + ipl + 4, e->sent[i0].tcp.seq + 1000);
	is_int(icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, false), TRACE_ACCEPT,
	    "%s foreign: a seq far away: accepted", f);

	if (family == AF_INET) {
		memcpy(q, e->sent[i0].pkt, qlen);
		fx_put16(q + 4, e->sent[i0].tcp.ipid ^ 0x0100);
		is_int(icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, false), TRACE_ACCEPT,
		    "%s foreign: right seq, wrong id: accepted", f);
		ok(quotes, "%s foreign: (it does quote the connection)", f);
	}

	/*
	 * Another connection: other visitor port; other visitor address. Right
	 * seq (and id). As the engine does it: trace_quotes() first. (Calling
	 * trace_icmp() alone: test_icmp_contract.)
	 */
	memcpy(q, e->sent[i0].pkt, qlen);
	fx_put16(q + ipl + 2, e->cport + 1);
	is_int(icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, true), TRACE_ACCEPT,
	    "%s foreign: another connection's port with a probe's seq: accepted", f);
	ok(!quotes, "%s foreign: trace_quotes says it is not the connection", f);
	memcpy(q, e->sent[i0].pkt, qlen);
	q[family == AF_INET ? 19 : 39] ^= 1;
	is_int(icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, true), TRACE_ACCEPT,
	    "%s foreign: another visitor's address with a probe's seq: accepted", f);
	ok(!quotes, "%s foreign: trace_quotes says it is not the connection", f);

	is_int(e->t.stats.replies_matched, 0, "%s foreign: nothing matched", f);
	is_int(e->t.stats.late_or_dup, 0, "%s foreign: nothing counted late", f);
	ok(!e->t.probes[0].answered, "%s foreign: the first probe is still unanswered", f);

	/* The real answer still counts. */
	is_int(icmp(e, T0 + 70 * MS, i0, 1, R_TE), TRACE_DROP, "%s foreign: the real reply is then matched", f);
	is_int(e->t.stats.replies_matched, 1, "%s foreign: once", f);
	{
		struct tt_addr r1 = router(family, 1);

		ok(e->t.probes[0].answered && addr_equal(&e->t.probes[0].reply.from, &r1) &&
		    e->t.probes[0].reply.rtt_us == 20 * MS, "%s foreign: with the real router and RTT", f);
	}

	/* Plain ACKs and SACKs that are not D-SACKs of probes are the connection's own. */
	{
		uint32_t blk[1][2] = { { ISS + 700, ISS + 800 } };
		uint32_t two[1][2] = { { e->sent[3].tcp.seq, e->sent[3].tcp.seq + 2 } };

		is_int(in_seg(e, T0 + 80 * MS, ISS + 600, 1, blk, 0), TRACE_ACCEPT,
		    "%s foreign: a SACK above the ACK is accepted", f);
		is_int(in_seg(e, T0 + 80 * MS, ISS + 600, 1, two, 0), TRACE_ACCEPT,
		    "%s foreign: a D-SACK of 2 bytes is no probe's", f);
		is_int(ack(e, T0 + 81 * MS, 700), TRACE_ACCEPT, "%s foreign: a new ACK is accepted", f);
		is_int(e->t.stats.dupacks, 0, "%s foreign: no duplicate ACK counted", f);
	}
	check_probes_ok(e, "foreign");
	free(e);
}

static void
test_waits(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e;
	const char *f = family == AF_INET ? "IPv4" : "IPv6";

	/* No segment at all. */
	e = env_new(family, &cfg, 1);
	ack(e, T0 + 5 * MS, 0);
	tick(e, T0 + 3 * SEC - 1);
	is_int(e->nend, 0, "%s no-segment: still waiting 1 us before start-timeout", f);
	tick(e, T0 + 3 * SEC);
	is_str(e->reason, "no-segment", "%s no-segment: ends \"no-segment\"", f);
	ok(e->end_hops == 0 && e->nhops == 0 && e->nsent == 0, "%s no-segment: no hop, no probe", f);
	is_int(trace_next_timeout(&e->t), UINT64_MAX, "%s no-segment: nothing pending", f);
	free(e);

	/* A segment of no data does not start the wait for the ACK. */
	e = env_new(family, &cfg, 1);
	out_seg(e, T0 + 5 * MS, 0, 0, 0);
	is_int(e->t.state, TRACE_WAIT_SEGMENT, "%s no-segment: a data-less segment is not the response", f);
	free(e);

	/* A segment, then no ACK for it. */
	e = env_new(family, &cfg, 1);
	out_seg(e, T0 + 5 * MS, 0, 300, TCP_PSH);
	ack(e, T0 + 100 * MS, 0);
	tick(e, T0 + 5 * MS + 3 * SEC - 1);
	is_int(e->nend, 0, "%s no-ack: still waiting before start-timeout", f);
	tick(e, T0 + 5 * MS + 3 * SEC);
	is_str(e->reason, "no-ack", "%s no-ack: ends \"no-ack\"", f);
	is_int(e->nsent, 0, "%s no-ack: no probe ever", f);
	ok(e->nkeepalives == 1 && e->bad_probes == 0, "%s no-ack: one keep-alive, at ISS - 1 with "
	    "the template's ACK, TTL 255 (%d; %s)", f, e->nkeepalives, e->bad_why);
	free(e);

	/*
	 * The keep-alive goes at the first tick after the first segment (once
	 * the segment has had its verdict), once; the visitor's prompt ACK of
	 * it starts the probes.
	 */
	e = env_new(family, &cfg, 1);
	out_seg(e, T0 + 5 * MS, 0, 300, TCP_PSH);
	is_int(e->nkeepalives, 0, "%s keep-alive: not before the segment's verdict", f);
	tick(e, T0 + 5 * MS + 10);
	tick(e, T0 + 5 * MS + 20);
	is_int(e->nkeepalives, 1, "%s keep-alive: one, at the tick after the segment", f);
	e->cttl = 62;
	ack(e, T0 + 6 * MS, 300);
	is_int(e->t.state, TRACE_PROBING, "%s keep-alive: its ACK starts the probes", f);
	ok(e->nsent > 0 && e->nkeepalives == 1, "%s keep-alive: then probes, no other keep-alive", f);
	free(e);

	/*
	 * A visitor that acknowledged the segment at once answers the
	 * keep-alive with one more duplicate ACK, without SACK, while the probes
	 * are out: it is no probe's answer, so a hop no router answered stays
	 * silent.
	 */
	e = env_new(family, &cfg, 1);
	out_seg(e, T0 + 5 * MS, 0, 300, TCP_PSH);
	tick(e, T0 + 5 * MS + 10);
	e->cttl = 61;	/* visitor at hop 4 */
	ack(e, T0 + 6 * MS, 300);
	ack(e, T0 + 6 * MS + 100, 300);	/* the keep-alive's duplicate ACK */
	routers_answer(e, T0 + 10 * MS, 2, 3);
	tick(e, T0 + 6 * MS + cfg.hop_timeout_us + 1);
	ok(e->nhops >= 1 && e->hops[0].nreplies == 0, "%s keep-alive: its duplicate ACK is not "
	    "taken for the visitor at a silent hop 1 (%d replies)", f,
	    e->nhops >= 1 ? e->hops[0].nreplies : -1);
	free(e);

	/* FIN or RST: closed, at any stage. */
	e = env_new(family, &cfg, 1);
	out_seg(e, T0 + 5 * MS, 0, 300, TCP_PSH);
	out_seg(e, T0 + 6 * MS, 300, 0, TCP_FIN);
	is_str(e->reason, "closed", "%s closed: the server's FIN while waiting for the ACK", f);
	ok(e->nsent == 0 && e->nhops == 0, "%s closed: nothing sent", f);
	free(e);

	e = env_new(family, &cfg, 1);
	start(e, 62);
	routers_answer(e, T0 + 60 * MS, 1, 1);
	in_seg(e, T0 + 70 * MS, ISS + 600, 0, NULL, TCP_RST);
	is_str(e->reason, "closed", "%s closed: the visitor's RST while probing", f);
	ok(e->end_hops == 1 && e->nhops == 1, "%s closed: with the hop reported before it", f);
	is_int(e->t.state, TRACE_DONE, "%s closed: done", f);
	routers_answer(e, T0 + 80 * MS, 2, 2);
	is_int(e->nhops, 1, "%s closed: replies after the end change nothing", f);
	free(e);

	/* The trace's deadline, before any hop timeout. */
	cfg.deadline_us = 2 * SEC;
	cfg.hop_timeout_us = 5 * SEC;
	e = env_new(family, &cfg, 1);
	start(e, 62);
	is_int(trace_next_timeout(&e->t), T0 + 2 * SEC, "%s deadline: next timeout is the deadline", f);
	tick(e, T0 + 2 * SEC - 1);
	is_int(e->nend, 0, "%s deadline: not yet 1 us before", f);
	tick(e, T0 + 2 * SEC);
	is_str(e->reason, "deadline", "%s deadline: ends \"deadline\"", f);
	free(e);

	/* The deadline also bounds the waits before probing. */
	cfg.deadline_us = 1 * SEC;
	e = env_new(family, &cfg, 1);
	is_int(trace_next_timeout(&e->t), T0 + 1 * SEC, "%s deadline: bounds the wait for the segment", f);
	tick(e, T0 + 1 * SEC);
	is_str(e->reason, "deadline", "%s deadline: ends \"deadline\" before start-timeout", f);
	free(e);
}

static void
test_unreachable(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);

	start(e, 60);
	is_int(icmp(e, T0 + 60 * MS, probe_at(e, 1, 0), 1, R_PTB), TRACE_DROP, "%s unreachable: packet-too-big consumed", f);
	icmp(e, T0 + 60 * MS, probe_at(e, 1, 1), 1, R_TE);
	icmp(e, T0 + 60 * MS, probe_at(e, 1, 2), 1, R_TE);
	ok(e->nhops == 1 && e->hops[0].r[0].kind == REPLY_PACKET_TOO_BIG && e->hops[0].r[0].code == 1400,
	    "%s unreachable: packet-too-big recorded with the MTU as its code", f);
	is_int(e->nend, 0, "%s unreachable: packet-too-big does not end the trace", f);
	for (int k = 0; k < 3; k++)
		is_int(icmp(e, T0 + 70 * MS, probe_at(e, 2, k), 2, R_UNREACH), TRACE_DROP,
		    "%s unreachable: error %d consumed", f, k);
	ok(e->nhops == 2 && e->hops[1].r[0].kind == REPLY_UNREACHABLE && e->hops[1].r[0].code == (family == AF_INET ? 13 : 1),
	    "%s unreachable: hop 2 unreachable, with its code", f);
	is_str(e->reason, "unreachable", "%s unreachable: ends \"unreachable\"", f);
	is_int(e->end_hops, 2, "%s unreachable: at hop 2", f);
	check_probes_ok(e, "unreachable");
	free(e);
}

static void
test_gap_limit(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e;
	const char *f = family == AF_INET ? "IPv4" : "IPv6";
	const uint64_t sent_at = T0 + 50 * MS;

	cfg.gap_limit = 3;
	e = env_new(family, &cfg, 1);
	start(e, 62);	/* hops 1..5 */
	routers_answer(e, T0 + 60 * MS, 1, 2);
	is_int(e->nhops, 2, "%s gap 3: hops 1, 2 reported", f);
	tick(e, sent_at + SEC);
	is_int(e->nhops, 5, "%s gap 3: hops 3..5 silent", f);
	is_str(e->reason, "gap-limit", "%s gap 3: ends \"gap-limit\"", f);
	is_int(e->end_hops, 5, "%s gap 3: at hop 5", f);
	is_int(e->nsent, 15, "%s gap 3: nothing sent beyond", f);
	free(e);

	cfg.gap_limit = 5;
	e = env_new(family, &cfg, 1);
	start(e, 62);
	routers_answer(e, T0 + 60 * MS, 1, 2);
	tick(e, sent_at + SEC);
	ok(e->nhops == 5 && e->nend == 0, "%s gap 5: 3 silent hops: go on", f);
	ok(e->nsent == 21 && count_ttl(e, 6) == 3 && count_ttl(e, 7) == 3 && e->sent[15].at == sent_at + SEC,
	    "%s gap 5: hops 6 and 7 sent at the timeout (up to the gap limit)", f);
	is_int(trace_next_timeout(&e->t), sent_at + 2 * SEC, "%s gap 5: next timeout is hop 6's", f);
	tick(e, sent_at + 2 * SEC);
	is_str(e->reason, "gap-limit", "%s gap 5: ends \"gap-limit\"", f);
	is_int(e->end_hops, 7, "%s gap 5: at hop 7", f);
	check_probes_ok(e, "gap");
	free(e);
}

static void
test_max_hops(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e;
	const char *f = family == AF_INET ? "IPv4" : "IPv6";

	cfg.max_hops = 4;
	e = env_new(family, &cfg, 1);
	start(e, 50);	/* estimate 15 */
	is_int(e->nsent, 12, "%s max-hops 4: only hops 1..4 sent", f);
	is_int(max_ttl(e), 4, "%s max-hops 4: no TTL above 4", f);
	routers_answer(e, T0 + 60 * MS, 1, 4);
	is_str(e->reason, "max-hops", "%s max-hops 4: ends \"max-hops\"", f);
	is_int(e->end_hops, 4, "%s max-hops 4: at hop 4", f);
	ok(e->nsent == 12 && e->nhops == 4, "%s max-hops 4: nothing more sent or reported", f);
	check_probes_ok(e, "max-hops");
	free(e);
}

/* Without SACK: duplicate ACKs credit the lowest hop that no router answered. */
static void
test_no_sack(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	const uint64_t sent_at = T0 + 50 * MS;
	int dropped = 0, nhops;

	start(e, 61);	/* visitor at hop 4: hops 1..6 */
	routers_answer(e, T0 + 60 * MS, 1, 3);
	is_int(e->nhops, 3, "%s no SACK: hops 1..3 reported", f);
	for (int k = 0; k < 9; k++)	/* the probes of hops 4, 5 and 6 all reach the visitor */
		dropped += ack(e, T0 + 80 * MS, 600) == TRACE_DROP;
	is_int(dropped, 0, "%s no SACK: duplicate ACKs without D-SACK are passed on", f);
	nhops = e->nhops;
	if (nhops != 4) {	/* say what happens instead, for the failure report */
		tick(e, sent_at + SEC);
		if (e->nhops >= 4)
			printf("#   hop 4 was reported only at its timeout, with %d of 3 replies\n", e->hops[3].nreplies);
	}
	is_int(nhops, 4, "%s no SACK: hop 4 reported as soon as its 3 duplicate ACKs are in", f);
	ok(e->hops[3].ttl == 4 && e->hops[3].nreplies == 3 && e->hops[3].r[0].kind == REPLY_DESTINATION &&
	    addr_equal(&e->hops[3].r[1].from, &e->client), "%s no SACK: hop 4 credited as the destination", f);
	is_int(e->hops[3].r[0].rtt_us, 80 * MS - 50 * MS, "%s no SACK: RTT from the duplicate ACK's time", f);
	is_str(e->reason, "destination", "%s no SACK: ends \"destination\"", f);
	is_int(e->end_hops, 4, "%s no SACK: at hop 4", f);
	check_probes_ok(e, "no SACK");
	free(e);

	/* A window update is not a duplicate ACK. */
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, T0 + 60 * MS, 1, 3);
	for (int k = 0; k < 3; k++) {
		e->cwin = (uint16_t)(e->cwin + 100);
		ack(e, T0 + 80 * MS, 600);
	}
	ok(e->nhops == 3 && e->nend == 0, "%s no SACK: ACKs that change the window credit nothing", f);
	free(e);
}

/* The distance estimate from the visitor's TTL, and the first round up to two beyond. */
static void
test_estimates(int family)
{
	static const struct { uint8_t ttl; int est, first; } c[] = {
		{ 64, 1, 3 }, { 60, 5, 7 }, { 33, 32, 30 }, { 128, 1, 3 }, { 120, 9, 11 },
		{ 255, 1, 3 }, { 250, 6, 8 }, { 65, 64, 30 },
	};
	struct trace_cfg cfg = default_cfg();
	const char *f = family == AF_INET ? "IPv4" : "IPv6";

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct env *e = env_new(family, &cfg, 1);

		start(e, c[i].ttl);
		ok(e->t.estimate == c[i].est && max_ttl(e) == c[i].first && e->nsent == 3 * c[i].first,
		    "%s estimate: TTL %d -> hop %d, first round up to %d", f, c[i].ttl, c[i].est, c[i].first);
		if (e->t.estimate != c[i].est || max_ttl(e) != c[i].first)
			printf("#   estimate %d, first round up to %d, %d probes\n", e->t.estimate, max_ttl(e), e->nsent);
		free(e);
	}
}

/* The visitor acknowledged only 10 bytes: probes use only those. */
static void
test_few_bytes(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	int below = 1;

	out_seg(e, T0 + 10 * MS, 0, 600, TCP_PSH);
	e->cttl = 60;
	ack(e, T0 + 50 * MS, 10);
	is_int(e->nsent, 10, "%s 10 bytes acknowledged: 10 probes", f);
	for (int i = 0; i < e->nsent; i++)
		below &= seq_lt(e->sent[i].tcp.seq, ISS + 10);
	ok(below, "%s 10 bytes acknowledged: every seq below the ACK", f);
	ack(e, T0 + 60 * MS, 600);
	routers_answer(e, T0 + 70 * MS, 1, 4);
	tick(e, T0 + 50 * MS + SEC);
	check_probes_ok(e, "few bytes");
	free(e);
}

static int send_calls, log_calls;

static int
cb_send_fail(void *ctx, const uint8_t *pkt, size_t len, int family, uint64_t *sent_us)
{
	(void)ctx, (void)pkt, (void)len, (void)family, (void)sent_us;
	send_calls++;
	return -1;
}

static void
cb_log_count(void *ctx, const char *msg)
{
	(void)ctx;
	log_calls += msg != NULL;
}

/* Sends that fail are lost probes: the hops time out as silent. Then: cancelled. */
static void
test_send_failure(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e;
	const char *f;
	const uint64_t sent_at = T0 + 50 * MS;

	cfg.gap_limit = 10;
	e = env_new(family, &cfg, 1);
	f = fam(e);
	e->t.ops.send = cb_send_fail;
	e->t.ops.log = cb_log_count;
	send_calls = log_calls = 0;
	start(e, 62);
	ok(send_calls == 15 && e->t.stats.probes_sent == 15, "%s send failure: 15 sends tried", f);
	ok(log_calls >= 1, "%s send failure: logged", f);
	tick(e, sent_at + SEC);
	ok(e->nhops == 5 && e->hops[0].sent == 3 && e->hops[0].nreplies == 0 && e->nend == 0,
	    "%s send failure: hops 1..5 time out as silent", f);
	trace_abort(&e->t, "cancelled");
	is_str(e->reason, "cancelled", "%s abort: ends with the given reason", f);
	is_int(e->end_hops, 5, "%s abort: with the hops reported so far", f);
	trace_abort(&e->t, "engine-stop");
	tick(e, sent_at + 3 * SEC);
	ok(e->nend == 1 && e->nhops == 5, "%s abort: a second abort and later ticks change nothing", f);
	free(e);
}

/* trace_icmp() on its own must not take another connection's error as an answer. */
static void
test_icmp_contract(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	struct tt_addr r = router(family, 1);
	uint8_t q[PROBE_MAX_LEN];
	size_t qlen = family == AF_INET ? 28 : 48, ipl = family == AF_INET ? 20 : 40;
	bool quotes;
	enum trace_verdict v;

	start(e, 62);
	memcpy(q, e->sent[0].pkt, qlen);
	fx_put16(q + ipl + 2, e->cport + 1);	/* another visitor port, our seq and id */
	v = icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, false);
	ok(!quotes, "%s trace_icmp contract: trace_quotes rejects the other connection", f);
	is_int(v, TRACE_ACCEPT, "%s trace_icmp contract: another connection's error is not an answer", f);
	is_int(e->t.stats.replies_matched, 0, "%s trace_icmp contract: and is not recorded", f);
	free(e);
}

int
main(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		test_destination(fams[i]);
		test_silent_hop(fams[i]);
		test_late_and_dup(fams[i]);
		test_foreign_icmp(fams[i]);
		test_waits(fams[i]);
		test_unreachable(fams[i]);
		test_gap_limit(fams[i]);
		test_max_hops(fams[i]);
		test_no_sack(fams[i]);
		test_estimates(fams[i]);
		test_few_bytes(fams[i]);
		test_send_failure(fams[i]);
		test_icmp_contract(fams[i]);
	}
	return tap_done();
}
