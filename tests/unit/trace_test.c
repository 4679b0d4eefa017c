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
#define RESP	(64 * 1024)	/* response bytes the harness can send */
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
	uint32_t snd_nxt;	/* the end of what the server sent */
	bool unacked_ok;	/* probes may copy bytes sent but not acknowledged (trace_syn_ttl) */
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
	int nlate;		/* late answers, with their hops' TTLs */
	int late_ttl[16];
	struct proto_reply late[16];
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
	else if (!seq_lt(s->tcp.seq, e->unacked_ok ? e->snd_nxt : e->acked))
		bad(e, "probe seq not below the visitor's ACK (or what was sent, right behind it)", i);
	else if (off >= RESP)
		bad(e, "probe seq outside the response", i);
	else if (e->used[off])
		bad(e, "a byte used twice", i);
	else if ((off > 0 && e->used[off - 1]) || (off + 1 < RESP && e->used[off + 1]))
		bad(e, "a probe next to another in sequence space", i);
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

static void
cb_late(void *ctx, int ttl, const struct proto_reply *r)
{
	struct env *e = ctx;

	if (e->nlate < (int)(sizeof(e->late) / sizeof(e->late[0]))) {
		e->late_ttl[e->nlate] = ttl;
		e->late[e->nlate++] = *r;
	}
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
	struct trace_ops ops = { cb_send, cb_hop, cb_end, cb_log, cb_late, NULL };

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
	e->snd_nxt = ISS;
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
	if (seq_lt(e->snd_nxt, ISS + off + (uint32_t)len))
		e->snd_nxt = ISS + off + (uint32_t)len;
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
	ok(e->bad_probes == 0, "%s: every probe a copy of the connection with one unused acknowledged "
	    "byte, none next to another", name);
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
 * out of order; the visitor's D-SACKs for the probes of hops 7, 5 and 6 (the
 * two TTLs beyond the estimate got one probe each).
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
	is_int(e->nsent, 17, "%s destination: hops 1..5 at 3 probes each, 6 and 7 (estimate + 2) at one, at once", f);
	for (int h = 1; h <= 7; h++)
		if (count_ttl(e, h) != (h <= 5 ? 3 : 1))
			ok_order = 0;
	ok(ok_order && max_ttl(e) == 7, "%s destination: 3 probes with each TTL 1..5, one with 6 and 7", f);
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
	ok(e->sent[0].tcp.tsval == e->tsval && e->sent[16].tcp.tsval == e->tsval && e->sent[0].tcp.tsecr == 4242,
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
	is_int(e->nsent, 17, "%s destination: no probe beyond hop 7 yet", f);

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
	/*
	 * Hop 7 answered while 5 and 6 had nothing: 6, still silent 1 ms later,
	 * was probed again. Hop 7, beyond the visitor, got nothing more.
	 */
	ok(e->nsent == 18 && e->sent[17].tcp.ttl == 6 && e->sent[17].at == T0 + 91 * MS,
	    "%s destination: hop 6 probed again 1 ms after hop 7 answered first", f);
	is_int(e->t.stats.probes_sent, 18, "%s destination: stats: 18 probes", f);
	is_int(e->t.stats.replies_matched, 16, "%s destination: stats: 12 router and 4 visitor replies", f);
	is_int(e->t.stats.dupacks, 4, "%s destination: stats: 4 D-SACK duplicate ACKs", f);
	/* Draining: the probes of hop 6 (its one and the one that asked again) still reach the visitor. */
	is_int(trace_next_timeout(&e->t), T0 + 92 * MS + 84 * MS,
	    "%s destination: drains for twice the visitor's slowest RTT (42 ms)", f);
	ok(!trace_over(&e->t, T0 + 175 * MS) && trace_over(&e->t, T0 + 176 * MS),
	    "%s destination: not over before that", f);
	ok(!trace_end_may_go(&e->t, T0 + 175 * MS),
	    "%s destination: the END waits for the drain (the response's tail then passes unqueued)", f);
	is_int(dsack(e, T0 + 93 * MS, probe_at(e, 6, 0)), TRACE_DROP,
	    "%s destination: a D-SACK for hop 6 while draining is still consumed", f);
	e->cwin = 4000;
	is_int(dsack(e, T0 + 94 * MS, probe_at(e, 6, 1)), TRACE_STRIP,
	    "%s destination: and one on a window update goes on without its block", f);
	is_int(e->t.stats.replies_matched, 16, "%s destination: neither is recorded", f);
	ok(trace_over(&e->t, T0 + 94 * MS) && trace_end_may_go(&e->t, T0 + 94 * MS),
	    "%s destination: and the drain is over with the last awaited, the END free to go", f);
	tick(e, T0 + 176 * MS);
	is_int(trace_next_timeout(&e->t), sent_at + SEC,
	    "%s destination: after the drain, the late answers' window (HOP_TIMEOUT after hop 5's probes)", f);
	ok(trace_over(&e->t, T0 + 176 * MS) && trace_late_until(&e->t, T0 + 176 * MS) == sent_at + SEC,
	    "%s destination: the connection may leave the queue, its errors still awaited", f);
	/* Router 4's third answer, 500 ms late, after the end: kept. */
	e->nlate = 0;
	is_int(icmp(e, sent_at + 500 * MS, probe_at(e, 4, 0), 4, R_TE), TRACE_DROP,
	    "%s destination: an error after the end, a probe of hop 4's, is a late answer", f);
	ok(e->nlate == 0, "%s destination: not hop 4's: it had all its answers (%d)", f, e->nlate);
	tick(e, sent_at + SEC);
	ok(trace_next_timeout(&e->t) == UINT64_MAX && trace_late_until(&e->t, sent_at + SEC) == 0,
	    "%s destination: nothing pending after the window", f);
	is_int(icmp(e, sent_at + SEC + 1, probe_at(e, 3, 0), 3, R_TE), TRACE_ACCEPT,
	    "%s destination: an error after the window is not ours", f);
	is_int(dsack(e, T0 + 177 * MS, probe_at(e, 7, 0)), TRACE_ACCEPT,
	    "%s destination: after it, the connection's segments are its own", f);
	tick(e, T0 + 40 * SEC);
	ok(e->nhops == 5 && e->nend == 1, "%s destination: later input and ticks change nothing", f);
	check_probes_ok(e, "destination");
	free(e);
}

/*
 * A silent hop, once the visitor answered beyond it: asked again (one probe)
 * as soon as the nearest answer beyond it shows it late, then settled after
 * the adaptive wait; a hop missing one answer of three likewise, without a
 * new probe. Before the visitor answers, only HOP_TIMEOUT settles.
 */
static void
test_silent_hop(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	const uint64_t sent_at = T0 + 50 * MS;
	int n;

	start(e, 61);	/* visitor at hop 4: hops 1..6 */
	is_int(e->nsent, 14, "%s silent hop: hops 1..6 sent (5 and 6 one probe each)", f);
	routers_answer(e, T0 + 60 * MS, 1, 1);
	icmp(e, T0 + 61 * MS, probe_at(e, 3, 0), 3, R_TE);	/* 11 ms */
	icmp(e, T0 + 61 * MS, probe_at(e, 3, 2), 3, R_TE);
	is_int(trace_next_timeout(&e->t), sent_at + SEC,
	    "%s silent hop: the visitor has not answered: hop 2 waits HOP_TIMEOUT", f);
	e->cwin = 2100;		/* the visitor's window grew: the server's TCP must see this one */
	is_int(dsack(e, T0 + 70 * MS, probe_at(e, 4, 0)), TRACE_STRIP,
	    "%s silent hop: a D-SACK that also updates the window is passed on without its block", f);
	is_int(e->t.stats.replies_matched, 3 + 2 + 1, "%s silent hop: but still counted as an answer", f);
	for (int k = 1; k < 3; k++)
		dsack(e, T0 + 70 * MS, probe_at(e, 4, k));
	is_int(e->nhops, 1, "%s silent hop: hop 2 silent: only hop 1 reported", f);
	n = e->nsent;
	/* Hop 3 answered in 11 ms: hop 2 was late 11 ms + 1 ms after its probes, before this. */
	is_int(trace_next_timeout(&e->t), sent_at + 21 * MS,
	    "%s silent hop: hop 2 is late: asked again a stagger after the visitor's answer", f);
	tick(e, sent_at + 21 * MS - 1);
	is_int(e->nsent, n, "%s silent hop: not 1 us before", f);
	tick(e, sent_at + 21 * MS);
	ok(e->nsent == n + 1 && e->sent[n].tcp.ttl == 2 && e->sent[n].at == sent_at + 21 * MS,
	    "%s silent hop: hop 2 asked again with one probe", f);
	/*
	 * Then 11 ms + 20 ms (the margin) after its first probes (+31 ms), or
	 * 11 ms + 1 ms after the new one (+33 ms), whichever is later.
	 */
	is_int(trace_next_timeout(&e->t), sent_at + 33 * MS,
	    "%s silent hop: settles 11 ms + 1 ms after the new probe, past 11 ms + 20 ms after the first", f);
	tick(e, sent_at + 33 * MS - 1);
	is_int(e->nhops, 1, "%s silent hop: not reported 1 us before", f);
	tick(e, sent_at + 33 * MS);
	is_int(e->nhops, 4, "%s silent hop: then reported, hops 3 and 4 with it", f);
	ok(e->hops[1].ttl == 2 && e->hops[1].sent == 4 && e->hops[1].nreplies == 0,
	    "%s silent hop: sent=4 nreplies=0", f);
	/* Hop 3 lost one answer: 11 ms + 20 ms after its probes, long past. */
	ok(e->nhops == 4 && e->hops[2].ttl == 3 && e->hops[2].sent == 3 && e->hops[2].nreplies == 2,
	    "%s silent hop: hop 3 with 2 of 3 follows at once, not asked again", f);
	is_str(e->reason, "destination", "%s silent hop: ends \"destination\"", f);
	is_int(e->end_hops, 4, "%s silent hop: at hop 4", f);
	is_int(e->nsent, n + 1, "%s silent hop: one probe more in all", f);
	/* The router was slow, not silent: its answers after the end are kept, marked late. */
	is_int(icmp(e, sent_at + 150 * MS, probe_at(e, 2, 0), 2, R_TE), TRACE_DROP,
	    "%s silent hop: hop 2's answer 150 ms late, after the end, is consumed", f);
	icmp(e, sent_at + 151 * MS, probe_at(e, 3, 1), 3, R_TE);
	ok(e->nlate == 2 && e->late_ttl[0] == 2 && e->late[0].rtt_us == 150 * MS &&
	    e->late[0].flags == PROTO_RF_LATE && e->late_ttl[1] == 3 && e->late[1].rtt_us == 151 * MS,
	    "%s silent hop: hop 2's and hop 3's lost one come as late answers", f);
	ok(e->nhops == 4 && e->hops[1].nreplies == 0, "%s silent hop: the hops reported stay as they were", f);
	check_probes_ok(e, "silent hop");
	free(e);

	/* The re-asked probe's answer comes: the router was there, a packet was lost. */
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, T0 + 51 * MS, 1, 1);
	routers_answer(e, T0 + 51 * MS, 3, 3);
	for (int k = 0; k < 3; k++)
		dsack(e, T0 + 52 * MS, probe_at(e, 4, k));
	n = e->nsent;
	tick(e, sent_at + 2 * MS);	/* late: 1 ms + 1 ms */
	tick(e, sent_at + 3 * MS);
	is_int(e->nsent, n + 1, "%s lost probe: hop 2 asked again", f);
	icmp(e, sent_at + 4 * MS, n, 2, R_TE);
	ok(e->nhops == 4 && e->hops[1].sent == 4 && e->hops[1].nreplies == 1 && e->hops[1].r[0].rtt_us == 1 * MS,
	    "%s lost probe: its answer settles hop 2 at once: 1 of 4, not silent", f);
	is_str(e->reason, "destination", "%s lost probe: ends \"destination\"", f);
	check_probes_ok(e, "lost probe");
	free(e);

	/* A slow path: the wait grows with the round trips measured (here 200 ms). */
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, sent_at + 100 * MS, 1, 1);
	icmp(e, sent_at + 200 * MS, probe_at(e, 3, 0), 3, R_TE);
	icmp(e, sent_at + 150 * MS, probe_at(e, 3, 1), 3, R_TE);
	for (int k = 0; k < 3; k++)
		dsack(e, sent_at + 210 * MS, probe_at(e, 4, k));
	n = e->nsent;
	tick(e, sent_at + 210 * MS);
	is_int(trace_next_timeout(&e->t), sent_at + 211 * MS,
	    "%s slow path: hop 2 late after hop 3's slowest answer (200 ms) and 1 ms: asked again", f);
	tick(e, sent_at + 211 * MS);
	is_int(e->nsent, n + 1, "%s slow path: asked again", f);
	is_int(trace_next_timeout(&e->t), sent_at + 211 * MS + 201 * MS,
	    "%s slow path: settles 200 ms and 1 ms after it (past 200 ms and half that after the first)", f);
	free(e);

	/* The ceiling: HOP_TIMEOUT, when the visitor has not answered by then. */
	cfg.hop_timeout_us = 250 * MS;
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, sent_at + 100 * MS, 1, 1);
	icmp(e, sent_at + 200 * MS, probe_at(e, 3, 0), 3, R_TE);
	tick(e, sent_at + 250 * MS - 1);
	is_int(e->nhops, 1, "%s ceiling: hop 2 waits", f);
	tick(e, sent_at + 250 * MS);
	ok(e->nhops >= 3 && e->hops[1].sent == 3 && e->hops[1].nreplies == 0 && e->hops[2].nreplies == 1 &&
	    count_ttl(e, 2) == 3, "%s ceiling: HOP_TIMEOUT settles hops 2 and 3, hop 2 not asked again", f);
	free(e);
}

/*
 * A reply after its hop settled, and a second reply to one probe: neither is
 * a new reply; both are counted. Also: probes sent later carry the newer
 * template (flow label, timestamps), and the routers beyond the estimate
 * answer the probes held back from them.
 */
static void
test_late_and_dup(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 0xfffe);
	const char *f = fam(e);
	const uint64_t sent_at = T0 + 50 * MS;
	int late;

	start(e, 61);	/* estimate 4: hops 1..6 */
	is_int(e->nsent, 14, "%s late/dup: hops 1..6 sent", f);
	if (family == AF_INET)
		ok(e->sent[0].tcp.ipid == 0xfffe && e->sent[1].tcp.ipid == 0xffff && e->sent[2].tcp.ipid == 1 &&
		    e->sent[3].tcp.ipid == 2, "%s late/dup: ids wrap from 0xffff to 1, never 0", f);
	e->flowlabel = 0x0beef;
	out_seg(e, T0 + 55 * MS, 1200, 100, TCP_PSH);	/* a newer template for later probes */
	icmp(e, T0 + 60 * MS, probe_at(e, 1, 0), 1, R_TE);
	icmp(e, T0 + 60 * MS, probe_at(e, 1, 1), 1, R_TE);
	routers_answer(e, T0 + 61 * MS, 2, 3);
	is_int(e->nsent, 14, "%s late/dup: routers at hops 1..3, within the estimate: nothing more", f);
	routers_answer(e, T0 + 70 * MS, 4, 4);	/* the visitor is further than its TTL said */
	ok(e->nsent == 30 && count_ttl(e, 5) == 3 && count_ttl(e, 6) == 3 && e->sent[14].tcp.ttl == 5 &&
	    e->sent[14].at == T0 + 70 * MS, "%s late/dup: a router at the estimated hop 4: hops 5 and 6 get "
	    "their other probes", f);
	ok(count_ttl(e, 7) == 3 && count_ttl(e, 10) == 3 && e->sent[18].tcp.ttl == 7 && e->sent[18].at == T0 + 70 * MS,
	    "%s late/dup: and hops 7..10 go at once, 3 probes each", f);
	ok(e->sent[18].tcp.tsval == e->tsval && e->sent[29].tcp.tsval == e->tsval && e->sent[0].tcp.tsval != e->tsval,
	    "%s late/dup: later probes carry the newest timestamps", f);
	if (family == AF_INET6)
		ok(e->sent[18].tcp.flowlabel == 0x0beef && e->sent[0].tcp.flowlabel == 0x5a5a5,
		    "%s late/dup: later probes carry the current flow label", f);
	routers_answer(e, T0 + 72 * MS, 5, 6);
	is_int(e->nhops, 0, "%s late/dup: hop 1 has 2 of 3: nothing yet", f);
	is_int(trace_next_timeout(&e->t), sent_at + SEC, "%s late/dup: next timeout is hop 1's", f);
	tick(e, sent_at + SEC);
	is_int(e->nhops, 6, "%s late/dup: hops 1..6 reported at hop 1's timeout", f);
	is_int(e->hops[0].nreplies, 2, "%s late/dup: hop 1 with 2 replies", f);
	ok(e->hops[4].sent == 3 && e->hops[4].nreplies == 3 && e->hops[5].sent == 3 && e->hops[5].nreplies == 3 &&
	    e->hops[4].r[0].rtt_us == 22 * MS && e->hops[4].r[1].rtt_us == 2 * MS,
	    "%s late/dup: routers 5 and 6 with 3 of 3, the first probe's RTT and those sent later", f);
	is_int(trace_next_timeout(&e->t), T0 + 70 * MS + SEC, "%s late/dup: next timeout is hop 7's", f);

	late = (int)e->t.stats.late_or_dup;
	is_int(icmp(e, sent_at + SEC + 1 * MS, probe_at(e, 1, 2), 1, R_TE), TRACE_DROP,
	    "%s late/dup: a late error for a probe is still consumed", f);
	ok(e->t.stats.late == 1 && e->nlate == 1 && e->late_ttl[0] == 1 &&
	    e->late[0].flags == PROTO_RF_LATE && e->late[0].kind == REPLY_TIME_EXCEEDED &&
	    e->late[0].rtt_us == SEC + 1 * MS, "%s late/dup: passed on as hop 1's late answer, its RTT true", f);
	is_int(e->nhops, 6, "%s late/dup: and no hop reported again", f);
	is_int(icmp(e, sent_at + SEC + 1 * MS, probe_at(e, 1, 2), 1, R_TE), TRACE_DROP,
	    "%s late/dup: the same late error again is consumed", f);
	ok(e->nlate == 1 && (int)e->t.stats.late_or_dup == late + 1, "%s late/dup: counted, not passed on", f);

	icmp(e, sent_at + SEC + 2 * MS, probe_at(e, 7, 0), 7, R_TE);
	is_int(icmp(e, sent_at + SEC + 3 * MS, probe_at(e, 7, 0), 7, R_TE), TRACE_DROP,
	    "%s late/dup: a duplicate error is consumed", f);
	is_int(e->t.stats.late_or_dup, late + 2, "%s late/dup: counted as duplicate", f);
	is_int(e->nlate, 1, "%s late/dup: not as a late answer", f);
	icmp(e, sent_at + SEC + 4 * MS, probe_at(e, 7, 1), 7, R_TE);
	is_int(e->nhops, 6, "%s late/dup: the duplicate did not complete hop 7", f);
	icmp(e, sent_at + SEC + 5 * MS, probe_at(e, 7, 2), 7, R_TE);
	ok(e->nhops == 7 && e->hops[6].nreplies == 3 &&
	    e->hops[6].r[0].rtt_us == sent_at + SEC + 2 * MS - (T0 + 70 * MS),
	    "%s late/dup: hop 7 with 3 replies, the first reply's RTT kept", f);
	is_int(e->t.stats.replies_matched, 2 + 3 + 3 + 3 + 3 + 3 + 3,
	    "%s late/dup: replies matched exclude late and duplicate", f);

	/* A second D-SACK for one probe. */
	dsack(e, sent_at + SEC + 6 * MS, probe_at(e, 8, 0));
	is_int(dsack(e, sent_at + SEC + 7 * MS, probe_at(e, 8, 0)), TRACE_DROP,
	    "%s late/dup: a repeated D-SACK is consumed", f);
	is_int(e->t.stats.late_or_dup, late + 3, "%s late/dup: and counted", f);
	dsack(e, sent_at + SEC + 8 * MS, probe_at(e, 8, 1));
	is_int(e->nend, 0, "%s late/dup: the repeated D-SACK did not complete hop 8", f);
	dsack(e, sent_at + SEC + 9 * MS, probe_at(e, 8, 2));
	ok(e->nhops == 8 && e->hops[7].nreplies == 3, "%s late/dup: hop 8 with 3 distinct answers", f);
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
	is_int(e->nsent, 11, "%s foreign: hops 1..5 sent", f);

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
		/* The id of another probe and a seq of none: one such quote teaches no offset. */
		memcpy(q, e->sent[i0].pkt, qlen);
		fx_put32(q + ipl + 4, e->sent[i0].tcp.seq + 77777);
		is_int(icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, false), TRACE_ACCEPT,
		    "%s foreign: a probe's id with a seq of no probe: accepted", f);
		ok(quotes, "%s foreign: (it does quote the connection)", f);
		is_int(icmp_raw(e, T0 + 60 * MS, &r, 255, R_TE, 0, q, qlen, &quotes, false), TRACE_ACCEPT,
		    "%s foreign: the same again: still no offset (one probe's quotes never agree)", f);
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
		uint32_t two[1][2] = { { ISS, ISS + 600 } };

		is_int(in_seg(e, T0 + 80 * MS, ISS + 600, 1, blk, 0), TRACE_ACCEPT,
		    "%s foreign: a SACK above the ACK is accepted", f);
		is_int(in_seg(e, T0 + 80 * MS, ISS + 600, 1, two, 0), TRACE_ACCEPT,
		    "%s foreign: a D-SACK of a whole segment (the server's own retransmission) names no probe", f);
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
	start(e, 62);	/* hops 1..5, 4 and 5 beyond the estimate with one probe each */
	routers_answer(e, T0 + 60 * MS, 1, 2);
	is_int(e->nhops, 2, "%s gap 3: hops 1, 2 reported", f);
	tick(e, sent_at + SEC);
	is_int(e->nhops, 5, "%s gap 3: hops 3..5 silent", f);
	is_str(e->reason, "gap-limit", "%s gap 3: ends \"gap-limit\"", f);
	is_int(e->end_hops, 5, "%s gap 3: at hop 5", f);
	is_int(e->nsent, 11, "%s gap 3: nothing sent beyond", f);
	free(e);

	cfg.gap_limit = 5;
	e = env_new(family, &cfg, 1);
	start(e, 62);
	routers_answer(e, T0 + 60 * MS, 1, 2);
	tick(e, sent_at + SEC);
	ok(e->nhops == 5 && e->nend == 0, "%s gap 5: 3 silent hops: go on", f);
	ok(e->nsent == 13 && count_ttl(e, 6) == 1 && count_ttl(e, 7) == 1 && e->sent[11].at == sent_at + SEC,
	    "%s gap 5: hops 6 and 7 sent at the timeout (up to the gap limit), beyond the estimate: one probe each", f);
	is_int(trace_next_timeout(&e->t), sent_at + 2 * SEC, "%s gap 5: next timeout is hop 6's", f);
	tick(e, sent_at + 2 * SEC);
	is_str(e->reason, "gap-limit", "%s gap 5: ends \"gap-limit\"", f);
	is_int(e->end_hops, 7, "%s gap 5: at hop 7", f);
	check_probes_ok(e, "gap");
	free(e);
}

/*
 * A limit that ends the trace once its hops settle: with cfg and the visitor at
 * visitor_ttl, nsent probes go out for hops 1..hops, every router answers, and
 * the trace ends with reason at the last of them, sending nothing more.
 */
static void
limit_ends(int family, const struct trace_cfg *cfg, uint8_t visitor_ttl, int nsent, int hops,
    const char *reason, const char *name)
{
	struct env *e = env_new(family, cfg, 1);
	const char *f = fam(e);

	start(e, visitor_ttl);
	is_int(e->nsent, nsent, "%s %s: %d probes sent", f, name, nsent);
	is_int(max_ttl(e), hops, "%s %s: no TTL above %d", f, name, hops);
	routers_answer(e, T0 + 60 * MS, 1, hops);
	is_str(e->reason, reason, "%s %s: ends \"%s\"", f, name, reason);
	is_int(e->end_hops, hops, "%s %s: at hop %d", f, name, hops);
	ok(e->nsent == nsent && e->nhops == hops, "%s %s: nothing more sent or reported", f, name);
	check_probes_ok(e, name);
	free(e);
}

static void
test_max_hops(int family)
{
	struct trace_cfg cfg = default_cfg();

	cfg.max_hops = 4;
	limit_ends(family, &cfg, 50, 12, 4, "max-hops", "max-hops 4");	/* estimate 15 */
}

/*
 * The probe budget: a trace that has spent max-probes ends "budget" once its
 * hops settle, where it would otherwise go further (a slow or forging visitor
 * must not hold a slot for long).
 */
static void
test_budget(int family)
{
	struct trace_cfg cfg = default_cfg();

	cfg.max_probes = 15;	/* hops 1..5 (the estimate), three probes each */
	limit_ends(family, &cfg, 60, 15, 5, "budget", "budget 15");
	cfg.max_probes = 14;	/* it ends inside hop 5, which gets the two left */
	limit_ends(family, &cfg, 60, 14, 5, "budget", "budget 14");
	/*
	 * Hop 6, beyond the estimate, gets its one probe; router 5 then shows
	 * the estimate wrong, and the budget leaves nothing for hop 6's others.
	 */
	cfg.max_probes = 16;
	limit_ends(family, &cfg, 60, 16, 6, "budget", "budget 16");
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
	for (int k = 0; k < 5; k++)	/* the probes of hops 4 (3), 5 and 6 (one each) all reach the visitor */
		dropped += ack(e, T0 + 80 * MS, 600) == TRACE_DROP;
	is_int(dropped, 5, "%s no SACK: duplicate ACKs that unanswered probes explain are dropped", f);
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
	is_int(e->nsent, 14, "%s no SACK: the visitor at the estimate: hops 5 and 6 got nothing more", f);
	is_str(e->reason, "destination", "%s no SACK: ends \"destination\"", f);
	is_int(e->end_hops, 4, "%s no SACK: at hop 4", f);
	check_probes_ok(e, "no SACK");
	free(e);

	/*
	 * The visitor's application reads while the probes arrive: some answers
	 * carry a new window. They count, and go on to the server as the window
	 * updates its TCP takes them for; the others are dropped.
	 */
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, T0 + 60 * MS, 1, 3);
	dropped = 0;
	for (int k = 0; k < 5; k++) {
		enum trace_verdict v;

		if (k == 1 || k == 3)
			e->cwin = (uint16_t)(e->cwin + 2);
		v = ack(e, T0 + 80 * MS, 600);
		dropped += v == TRACE_DROP;
		if (k == 1 || k == 3)
			is_int(v, TRACE_ACCEPT, "%s no SACK: an answer with a new window goes on (%d)", f, k);
	}
	is_int(dropped, 3, "%s no SACK: the answers with the same window are dropped", f);
	ok(e->nhops == 4 && e->hops[3].nreplies == 3 && e->hops[3].r[0].kind == REPLY_DESTINATION,
	    "%s no SACK: answers that change the window count: hop 4 is the destination", f);
	is_str(e->reason, "destination", "%s no SACK: and the trace ends there", f);
	free(e);
}

/*
 * The distance estimate from the visitor's TTL, and the first round up to two
 * beyond, one probe each beyond the estimate (three each up to it).
 */
static void
test_estimates(int family)
{
	static const struct { uint8_t ttl; int est, first, nsent; } c[] = {
		/* A TTL of exactly 64, 128 or 255 says nothing: six TTLs beyond, not two, three probes each. */
		{ 64, 1, 7, 21 }, { 60, 5, 7, 17 }, { 33, 32, 30, 90 }, { 128, 1, 7, 21 }, { 120, 9, 11, 29 },
		{ 255, 1, 7, 21 }, { 250, 6, 8, 20 }, { 65, 64, 30, 90 },
	};
	struct trace_cfg cfg = default_cfg();
	const char *f = family == AF_INET ? "IPv4" : "IPv6";

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct env *e = env_new(family, &cfg, 1);

		start(e, c[i].ttl);
		ok(e->t.estimate == c[i].est && max_ttl(e) == c[i].first && e->nsent == c[i].nsent,
		    "%s estimate: TTL %d -> hop %d, first round up to %d, %d probes", f, c[i].ttl, c[i].est,
		    c[i].first, c[i].nsent);
		if (e->t.estimate != c[i].est || max_ttl(e) != c[i].first || e->nsent != c[i].nsent)
			printf("#   estimate %d, first round up to %d, %d probes\n", e->t.estimate, max_ttl(e), e->nsent);
		free(e);
	}
}

/* The visitor acknowledged only 10 bytes: probes use only those, one byte in two. */
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
	is_int(e->nsent, 5, "%s 10 bytes acknowledged: 5 probes", f);
	for (int i = 0; i < e->nsent; i++)
		below &= seq_lt(e->sent[i].tcp.seq, ISS + 10);
	ok(below, "%s 10 bytes acknowledged: every seq below the ACK", f);
	ack(e, T0 + 60 * MS, 600);
	routers_answer(e, T0 + 70 * MS, 1, 4);
	tick(e, T0 + 50 * MS + SEC);
	check_probes_ok(e, "few bytes");
	free(e);
}

/* The visitor's ACK of ack_off with a D-SACK block [l, r) as given. */
static enum trace_verdict
dsack_range(struct env *e, uint64_t at, uint32_t ack_off, uint32_t l, uint32_t r)
{
	uint32_t blk[1][2] = { { l, r } };

	return in_seg(e, at, ISS + ack_off, 1, blk, 0);
}

/* Whether hop ttl (reported) is the visitor's, with n answers. */
static bool
dest_hop(const struct env *e, int ttl, int n)
{
	const struct proto_hop *h = ttl >= 1 && ttl <= e->nhops ? &e->hops[ttl - 1] : NULL;

	if (h == NULL || h->ttl != ttl || h->nreplies != n)
		return false;
	for (int i = 0; i < n; i++)
		if (h->r[i].kind != REPLY_DESTINATION || !addr_equal(&h->r[i].from, &e->client))
			return false;
	return true;
}

/*
 * The visitor's D-SACK rides on whatever ACK it can: one that acknowledges
 * new data (hop lines streamed meanwhile), one that changes the window, one
 * that covers two or three probes at once (a coalescing receiver). Every
 * probe it names is credited, and the ACK goes on without the block.
 */
static void
test_dsack_rides(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	uint32_t s0, s2;

	start(e, 62);	/* visitor at hop 3: hops 1..5 */
	routers_answer(e, T0 + 60 * MS, 1, 2);
	out_seg(e, T0 + 61 * MS, 600, 300, TCP_PSH);	/* hop lines the app streams */
	s0 = e->sent[probe_at(e, 3, 0)].tcp.seq;
	is_int(dsack_range(e, T0 + 70 * MS, 700, s0, s0 + 1), TRACE_STRIP,
	    "%s rides: a D-SACK on an ACK of new data is passed on without its block", f);
	ok(e->t.probes[probe_at(e, 3, 0)].answered, "%s rides: and credits its probe", f);
	s2 = e->sent[probe_at(e, 3, 1)].tcp.seq;
	ok(e->sent[probe_at(e, 3, 2)].tcp.seq == s2 + 2, "%s rides: (probes one byte apart)", f);
	is_int(dsack_range(e, T0 + 71 * MS, 800, s2, s2 + 3), TRACE_STRIP,
	    "%s rides: a block of two probes (coalesced) on an ACK of new data", f);
	ok(dest_hop(e, 3, 3), "%s rides: both credited: hop 3 is the visitor with 3 answers", f);
	is_str(e->reason, "destination", "%s rides: ends \"destination\"", f);
	is_int(e->t.stats.stripped, 2, "%s rides: stats: 2 ACKs stripped", f);
	check_probes_ok(e, "rides");
	free(e);

	/* Three probes in one block, with a window change: credited, stripped. */
	e = env_new(family, &cfg, 1);
	start(e, 62);
	routers_answer(e, T0 + 60 * MS, 1, 2);
	s0 = e->sent[probe_at(e, 3, 0)].tcp.seq;
	e->cwin = 3000;
	is_int(dsack_range(e, T0 + 70 * MS, 600, s0, s0 + 5), TRACE_STRIP,
	    "%s rides: a block of three probes with a new window is passed on without it", f);
	ok(dest_hop(e, 3, 3), "%s rides: all three credited at once", f);
	free(e);

	/* A block of three probes on a plain duplicate ACK: dropped. */
	e = env_new(family, &cfg, 1);
	start(e, 62);
	routers_answer(e, T0 + 60 * MS, 1, 2);
	s0 = e->sent[probe_at(e, 3, 0)].tcp.seq;
	is_int(dsack_range(e, T0 + 70 * MS, 600, s0, s0 + 5), TRACE_DROP,
	    "%s rides: a duplicate ACK that says nothing but the probes' block is dropped", f);
	ok(dest_hop(e, 3, 3), "%s rides: all three credited", f);
	free(e);
}

/*
 * The drain after the end at the visitor ends as soon as every probe sent
 * beyond it was answered: the connection leaves the queue before a download
 * that follows on it starts.
 */
static void
test_drain_ends(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);

	start(e, 62);	/* visitor at hop 3: hops 1..5 */
	routers_answer(e, T0 + 60 * MS, 1, 2);
	for (int k = 0; k < 3; k++)
		dsack(e, T0 + 61 * MS, probe_at(e, 3, k));
	ok(e->nend == 1 && !trace_over(&e->t, T0 + 61 * MS), "%s drain: ended, draining", f);
	ok(count_ttl(e, 4) == 1 && count_ttl(e, 5) == 1, "%s drain: hops 4 and 5 (beyond the estimate) got one probe each", f);
	for (int h = 4; h <= 5; h++)
		for (int k = 0; k < count_ttl(e, h); k++) {
			ok(!trace_over(&e->t, T0 + 61 * MS), "%s drain: probe %d of hop %d still awaited", f, k, h);
			is_int(dsack(e, T0 + 61 * MS + 100, probe_at(e, h, k)), TRACE_DROP,
			    "%s drain: its D-SACK is consumed", f);
		}
	ok(trace_over(&e->t, T0 + 61 * MS + 100), "%s drain: over with the last awaited answer", f);
	is_int(trace_next_timeout(&e->t), T0 + 50 * MS + SEC,
	    "%s drain: then only the late answers' window, HOP_TIMEOUT after the last probe", f);
	is_int(trace_late_until(&e->t, T0 + 61 * MS + 100), T0 + 50 * MS + SEC, "%s drain: which it says", f);
	free(e);
}

/*
 * Only the last D-SACK of a burst arrives (a receiver that acknowledges a
 * burst once names only its last duplicate): the TTLs below it that nothing
 * answered are probed again, one every TRACE_STAGGER_US, and the visitor
 * found at its real distance in a few ms, not placed too far after HOP_TIMEOUT.
 */
static void
test_burst_last_only(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	int n0, r5, r6;

	start(e, 61);	/* visitor at hop 4: hops 1..6 */
	routers_answer(e, T0 + 60 * MS, 1, 3);
	n0 = e->nsent;
	dsack(e, T0 + 70 * MS, probe_at(e, 6, 0));	/* the last probe sent (hop 6 got one) */
	is_int(e->nsent, n0, "%s last only: no re-probe at once (the burst's other answers may follow)", f);
	is_int(trace_next_timeout(&e->t), T0 + 71 * MS, "%s last only: next timeout is the first re-probe", f);
	tick(e, T0 + 71 * MS);
	ok(e->nsent == n0 + 1 && e->sent[n0].tcp.ttl == 4, "%s last only: hop 4 probed again", f);
	tick(e, T0 + 71 * MS + 999);
	is_int(e->nsent, n0 + 1, "%s last only: hop 5 not within 1 ms of it", f);
	tick(e, T0 + 72 * MS);
	ok(e->nsent == n0 + 2 && e->sent[n0 + 1].tcp.ttl == 5, "%s last only: hop 5 1 ms later", f);
	r5 = n0 + 1;
	r6 = n0;
	dsack(e, T0 + 73 * MS, r6);
	dsack(e, T0 + 74 * MS, r5);
	ok(dest_hop(e, 4, 1), "%s last only: hop 4 is the visitor, at once (its re-probe answered)", f);
	ok(e->nhops == 4 && e->hops[3].sent == 4, "%s last only: sent 4 with TTL 4", f);
	is_int(e->hops[3].r[0].rtt_us, 2 * MS, "%s last only: the re-probe's RTT", f);
	is_str(e->reason, "destination", "%s last only: ends \"destination\" at hop 4", f);
	is_int(e->end_hops, 4, "%s last only: with 4 hops", f);
	check_probes_ok(e, "last only");
	free(e);

	/* A router's error that comes within the stagger cancels its re-probe. */
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, T0 + 60 * MS, 1, 2);
	n0 = e->nsent;
	dsack(e, T0 + 70 * MS, probe_at(e, 4, 0));
	routers_answer(e, T0 + 70 * MS + 500, 3, 3);
	tick(e, T0 + 75 * MS);
	is_int(e->nsent, n0, "%s last only: hop 3 answered within 1 ms: not probed again", f);
	free(e);
}

/*
 * The visitor at hop 5 (hops 1..7 asked, 6 and 7 one probe each), routers 1..4
 * answered, one of its 5 duplicate ACKs lost.
 */
static struct env *
one_ack_lost(int family, const struct trace_cfg *cfg)
{
	struct env *e = env_new(family, cfg, 1);

	start(e, 60);
	routers_answer(e, T0 + 60 * MS, 1, 4);
	for (int k = 0; k < 4; k++)
		ack(e, T0 + 70 * MS, 600);
	return e;
}

/*
 * A visitor without D-SACK: its duplicate ACKs name no probe, and are
 * counted. With a silent router below answering routers the visitor is
 * never placed at or below a TTL a router answered.
 */
static void
test_no_dsack_silent(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	const uint64_t sent_at = T0 + 50 * MS;
	int dropped = 0;

	start(e, 60);	/* visitor at hop 5: hops 1..7, 6 and 7 one probe each */
	routers_answer(e, T0 + 60 * MS, 1, 1);
	routers_answer(e, T0 + 60 * MS, 3, 4);	/* hop 2 is silent */
	for (int k = 0; k < 5; k++)
		dropped += ack(e, T0 + 80 * MS + (uint64_t)k, 600) == TRACE_DROP;
	is_int(dropped, 5, "%s no D-SACK: 5 duplicate ACKs, all the probes', dropped", f);
	is_int(e->nhops, 1, "%s no D-SACK: hop 2 (silent, a router above it) waits for its timeout", f);
	tick(e, sent_at + SEC);
	ok(e->nhops == 5 && e->hops[1].nreplies == 0 && dest_hop(e, 5, 3),
	    "%s no D-SACK: hop 2 silent, the visitor at hop 5", f);
	ok(e->hops[4].r[0].flags == PROTO_RF_BY_COUNT, "%s no D-SACK: marked counted, exact", f);
	is_int(e->hops[4].r[0].rtt_us, 30 * MS, "%s no D-SACK: RTT from the first duplicate ACK", f);
	is_int(e->hops[4].r[2].rtt_us, 30 * MS + 2, "%s no D-SACK: and the third's", f);
	is_int(e->t.stats.counted, 3, "%s no D-SACK: stats: 3 counted", f);
	check_probes_ok(e, "no D-SACK");
	free(e);

	/* The last router's errors come after the visitor's duplicate ACKs. */
	e = env_new(family, &cfg, 1);
	start(e, 60);
	routers_answer(e, T0 + 60 * MS, 1, 3);
	for (int k = 0; k < 5; k++)
		ack(e, T0 + 70 * MS, 600);
	is_int(e->nhops, 3, "%s no D-SACK: hop 4 not yet answered: not taken for the visitor", f);
	routers_answer(e, T0 + 75 * MS, 4, 4);
	ok(e->nhops == 5 && e->hops[3].nreplies == 3 && dest_hop(e, 5, 3),
	    "%s no D-SACK: router 4's errors then settle hops 4 and 5 at once", f);
	free(e);

	/*
	 * One duplicate ACK lost (or merged with a data ACK): the count fits no
	 * distance, and starts over 20 ms after the last ACK and the last probe's
	 * round trip (20 ms here). One lost again: the best fit at the hop's
	 * timeout, marked ambiguous.
	 */
	e = one_ack_lost(family, &cfg);
	{
		int n0 = e->nsent;

		tick(e, T0 + 90 * MS - 1);
		is_int(e->nsent, n0, "%s no D-SACK: a count that fits no distance waits", f);
		tick(e, T0 + 90 * MS);
		ok(e->nsent == n0 + 9 && count_ttl(e, 5) == 6 && count_ttl(e, 7) == 4 && e->nhops == 4,
		    "%s no D-SACK: then starts over: hops 5..7 asked again, 3 probes each (%d probes)", f,
		    e->nsent - n0);
	}
	for (int k = 0; k < 8; k++)	/* one of 9 lost again */
		ack(e, T0 + 100 * MS, 600);
	tick(e, T0 + 90 * MS + SEC);
	ok(e->nhops >= 5 && dest_hop(e, 5, 3) && (e->hops[4].r[0].flags & PROTO_RF_AMBIGUOUS),
	    "%s no D-SACK: an inexact count again is marked ambiguous at the hop's timeout", f);
	free(e);

	/* Counted again whole: exact. */
	e = one_ack_lost(family, &cfg);
	tick(e, T0 + 90 * MS);
	for (int k = 0; k < 9; k++)
		ack(e, T0 + 100 * MS + (uint64_t)k, 600);
	ok(e->nhops == 5 && dest_hop(e, 5, 3) && e->hops[4].r[0].flags == PROTO_RF_BY_COUNT &&
	    e->hops[4].r[0].rtt_us == 10 * MS, "%s no D-SACK: a whole count the second time is exact", f);
	free(e);
}

/*
 * Without SACK, duplicate ACKs beyond what the probes explain are the
 * connection's own (a real loss): they go on, so the server still gets its
 * fast retransmit. The probes' own never reach it.
 */
static void
test_no_dsack_real_loss(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	int dropped = 0, passed = 0;

	start(e, 60);	/* visitor at hop 5: hops 1..7, 5 probes reach it */
	routers_answer(e, T0 + 60 * MS, 1, 4);
	out_seg(e, T0 + 61 * MS, 1200, 200, TCP_PSH);	/* data in flight, then lost */
	for (int k = 0; k < 5 + 4; k++) {
		enum trace_verdict v = ack(e, T0 + 70 * MS, 600);

		dropped += v == TRACE_DROP;
		passed += v == TRACE_ACCEPT;
	}
	ok(dropped == 5 && passed == 4, "%s real loss: 5 duplicate ACKs dropped (the probes'), "
	    "4 passed on (%d, %d)", f, dropped, passed);
	free(e);
}

/*
 * Without D-SACK, with the keep-alive sent: when the visitor had acknowledged
 * the first segment by itself, the keep-alive draws one more duplicate ACK,
 * first; when the keep-alive's answer was the ACK of the segment, none. The
 * count fits exactly either way.
 */
static void
test_no_dsack_keepalive(int family)
{
	struct trace_cfg cfg = default_cfg();
	const char *f = family == AF_INET ? "IPv4" : "IPv6";

	for (int extra = 0; extra <= 1; extra++) {
		struct env *e = env_new(family, &cfg, 1);
		int dropped = 0;

		out_seg(e, T0 + 10 * MS, 0, 600, TCP_PSH);
		tick(e, T0 + 10 * MS + 10);	/* the keep-alive */
		e->cttl = 60;			/* visitor at hop 5: hops 1..7, 6 and 7 one probe each */
		ack(e, T0 + 20 * MS, 600);
		if (extra)
			dropped += ack(e, T0 + 20 * MS + 5, 600) == TRACE_DROP;
		routers_answer(e, T0 + 25 * MS, 1, 4);
		for (int k = 0; k < 5; k++)
			dropped += ack(e, T0 + 30 * MS + (uint64_t)k, 600) == TRACE_DROP;
		ok(e->nkeepalives == 1 && dropped == 5 + extra, "%s keep-alive%s: %d duplicate ACKs dropped",
		    f, extra ? " and its duplicate ACK" : "", dropped);
		if (!extra) {
			ok(e->nhops == 4 && trace_next_timeout(&e->t) == T0 + 30 * MS + 4 + MS,
			    "%s keep-alive: a count that fits without the keep-alive's waits 1 ms for it", f);
			tick(e, T0 + 30 * MS + 4 + MS);
		}
		ok(dest_hop(e, 5, 3) && e->hops[4].r[0].flags == PROTO_RF_BY_COUNT,
		    "%s keep-alive%s: the visitor at hop 5, counted exactly", f,
		    extra ? " and its duplicate ACK" : "");
		is_int(e->hops[4].r[0].rtt_us, 10 * MS, "%s keep-alive%s: RTT from the probes' first duplicate ACK",
		    f, extra ? " and its duplicate ACK" : "");
		free(e);
	}
}

/* Five silent TTLs, then routers and the visitor: the gap limit does not cut the path. */
static void
test_gap_silent_start(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);

	start(e, 57);	/* visitor at hop 8: hops 1..10, 9 and 10 one probe each */
	routers_answer(e, T0 + 60 * MS, 6, 7);
	for (int k = 0; k < 3; k++)
		dsack(e, T0 + 70 * MS, probe_at(e, 8, k));
	is_int(e->nhops, 0, "%s silent start: hops 1..5 wait", f);
	for (int h = 1; h <= 5; h++)
		tick(e, T0 + (uint64_t)(70 + h) * MS);
	ok(e->nsent == 31 && count_ttl(e, 1) == 4 && count_ttl(e, 5) == 4 && e->sent[30].at == T0 + 75 * MS,
	    "%s silent start: each silent hop asked again, a stagger apart", f);
	tick(e, T0 + 85 * MS);
	is_int(e->nhops, 4, "%s silent start: 10 ms + 1 ms after its new probe, hop 4; hop 5 1 ms later", f);
	tick(e, T0 + 86 * MS);
	ok(e->nhops == 8 && e->hops[4].nreplies == 0 && e->hops[5].nreplies == 3 && dest_hop(e, 8, 3),
	    "%s silent start: 5 silent hops, routers 6 and 7, the visitor at 8", f);
	is_str(e->reason, "destination", "%s silent start: ends \"destination\", not \"gap-limit\"", f);
	free(e);
}

/*
 * Middleboxes. A NAT that rewrites IPv4 ids: the quote's seq names the probe,
 * the changed id is kept as evidence. An error with a changed id at the TTL
 * where the visitor answered is not a router's. A firewall that shifts
 * sequence numbers by a constant: learned from two probes' ids, then every
 * shifted quote matches.
 */
static void
test_middleboxes(void)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(AF_INET, &cfg, 0x100);
	struct tt_addr r2 = router(AF_INET, 2), r3 = router(AF_INET, 3);
	uint8_t q[PROBE_MAX_LEN];
	const uint32_t off = 0x31337;

	start(e, 61);	/* visitor at hop 4: hops 1..6 */
	routers_answer(e, T0 + 60 * MS, 1, 1);
	for (int k = 0; k < 3; k++) {
		memcpy(q, e->sent[probe_at(e, 2, k)].pkt, 28);
		fx_put16(q + 4, 0x7777);	/* the NAT's id */
		is_int(icmp_raw(e, T0 + 61 * MS, &r2, 254, R_TE, 0, q, 28, NULL, false), TRACE_DROP,
		    "IPv4 middlebox: an error with a rewritten id is probe %d's answer", k);
	}
	ok(e->nhops == 2 && e->hops[1].nreplies == 3 && addr_equal(&e->hops[1].r[0].from, &r2) &&
	    e->hops[1].r[0].flags == PROTO_RF_ID_CHANGED, "IPv4 middlebox: hop 2 with the id change as evidence");

	/* Router 3 quotes seqs shifted by a constant, with our ids. */
	memcpy(q, e->sent[probe_at(e, 3, 0)].pkt, 28);
	fx_put32(q + 24, e->sent[probe_at(e, 3, 0)].tcp.seq + off);
	is_int(icmp_raw(e, T0 + 62 * MS, &r3, 253, R_TE, 0, q, 28, NULL, false), TRACE_ACCEPT,
	    "IPv4 middlebox: one shifted quote is not yet an answer");
	for (int k = 1; k < 3; k++) {
		memcpy(q, e->sent[probe_at(e, 3, k)].pkt, 28);
		fx_put32(q + 24, e->sent[probe_at(e, 3, k)].tcp.seq + off);
		is_int(icmp_raw(e, T0 + 62 * MS, &r3, 253, R_TE, 0, q, 28, NULL, false), TRACE_DROP,
		    "IPv4 middlebox: a second probe's quote agrees: shifted quote %d matched", k);
	}
	ok(e->t.have_offset && e->t.seq_offset == off, "IPv4 middlebox: the offset is learned");
	ok(e->nhops == 3 && e->hops[2].nreplies == 3 && addr_equal(&e->hops[2].r[0].from, &r3) &&
	    e->hops[2].r[0].flags == PROTO_RF_SEQ_SHIFTED && e->hops[2].r[2].flags == PROTO_RF_SEQ_SHIFTED,
	    "IPv4 middlebox: hop 3 with all 3 answers (the first kept until the second agreed), marked shifted");

	/*
	 * An error quoting a probe that reached the visitor, with a changed id
	 * (forged, from the visitor's side): the visitor's own answers win.
	 */
	memcpy(q, e->sent[probe_at(e, 4, 0)].pkt, 28);
	fx_put16(q + 4, 0x4242);
	icmp_raw(e, T0 + 63 * MS, &e->client, 64, R_TE, 0, q, 28, NULL, false);
	dsack(e, T0 + 64 * MS, probe_at(e, 4, 1));
	dsack(e, T0 + 64 * MS, probe_at(e, 4, 2));
	tick(e, T0 + 50 * MS + SEC);
	ok(dest_hop(e, 4, 2), "IPv4 middlebox: a changed-id error at the visitor's TTL is taken back");
	is_int(e->t.stats.refuted, 1, "IPv4 middlebox: stats: 1 refuted");
	is_str(e->reason, "destination", "IPv4 middlebox: ends \"destination\" at hop 4");
	check_probes_ok(e, "middlebox");
	free(e);
}

/*
 * A firewall that shifts sequence numbers, in either family: router 3's
 * quotes name each probe by its payload byte (and in IPv4 also its id). The
 * first only suggests an offset; the second agrees, and all three count.
 * Copies of one probe's quote with other seqs (a visitor forging them)
 * never agree: no offset, no answer.
 */
static void
test_seq_shift(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 0x100);
	const char *f = fam(e);
	struct tt_addr r3 = router(family, 3);
	uint8_t q[PROBE_MAX_LEN];
	size_t ipl = family == AF_INET ? 20 : 40;
	const uint32_t off = 0x5a5a0000;

	start(e, 61);	/* visitor at hop 4: hops 1..6 */
	for (int i = 0; i < 5; i++) {
		const struct sent *p = &e->sent[probe_at(e, 4, 0)];

		memcpy(q, p->pkt, p->len);
		fx_put32(q + ipl + 4, p->tcp.seq + 0x40000000u + (uint32_t)i);
		is_int(icmp_raw(e, T0 + 55 * MS, &e->client, 64, R_TE, 0, q, p->len, NULL, false), TRACE_ACCEPT,
		    "%s seq shift: forged copy %d of one probe's quote with another seq: not an answer", f, i);
	}
	ok(!e->t.have_offset, "%s seq shift: the copies taught no offset", f);
	routers_answer(e, T0 + 60 * MS, 1, 2);
	for (int k = 0; k < 3; k++) {
		const struct sent *p = &e->sent[probe_at(e, 3, k)];

		memcpy(q, p->pkt, p->len);
		fx_put32(q + ipl + 4, p->tcp.seq + off);
		is_int(icmp_raw(e, T0 + 62 * MS + (uint64_t)k, &r3, 253, R_TE, 0, q, p->len, NULL, false),
		    k == 0 ? TRACE_ACCEPT : TRACE_DROP, "%s seq shift: shifted quote %d %s", f, k,
		    k == 0 ? "suggests an offset" : "is an answer");
	}
	ok(e->t.have_offset && e->t.seq_offset == off, "%s seq shift: the offset is learned", f);
	ok(e->nhops == 3 && e->hops[2].nreplies == 3 && addr_equal(&e->hops[2].r[0].from, &r3) &&
	    e->hops[2].r[0].flags == PROTO_RF_SEQ_SHIFTED && e->hops[2].r[0].rtt_us == 12 * MS,
	    "%s seq shift: hop 3 with all 3 answers, marked shifted, the first with its own RTT", f);
	check_probes_ok(e, "seq shift");
	free(e);
}

/* The visitor's FIN is a half-close: the trace goes on. The server's FIN ends it. */
static void
test_visitor_fin(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);

	start(e, 62);
	routers_answer(e, T0 + 60 * MS, 1, 1);
	is_int(in_seg(e, T0 + 61 * MS, ISS + 600, 0, NULL, TCP_FIN), TRACE_ACCEPT,
	    "%s FIN: the visitor's FIN is passed on", f);
	is_int(e->nend, 0, "%s FIN: and does not end the trace", f);
	routers_answer(e, T0 + 62 * MS, 2, 2);
	for (int k = 0; k < 3; k++)
		dsack(e, T0 + 63 * MS, probe_at(e, 3, k));
	ok(dest_hop(e, 3, 3), "%s FIN: the visitor still answers; hop 3", f);
	is_str(e->reason, "destination", "%s FIN: ends \"destination\"", f);
	free(e);
}

/*
 * A long response: probe bytes come from the newest data the visitor has
 * acknowledged, not from the response's start, so they stay inside a
 * stateful firewall's window.
 */
static void
test_recent_bytes(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	const char *f = fam(e);
	uint32_t o, lowest = UINT32_MAX;

	for (o = 0; o + 1400 <= 40000; o += 1400)
		out_seg(e, T0 + 10 * MS, o, 1400, 0);
	e->cttl = 60;
	ack(e, T0 + 50 * MS, 30800);	/* 22 segments acknowledged, 6 in flight */
	ok(e->nsent == 17, "%s recent bytes: 17 probes", f);
	for (int i = 0; i < e->nsent; i++)
		if (e->sent[i].tcp.seq - ISS < lowest)
			lowest = e->sent[i].tcp.seq - ISS;
	ok(lowest >= 30800 - 4 * 1400, "%s recent bytes: every probe's byte within 4 segments of "
	    "the ACK (lowest at %u of 30800)", f, lowest);
	check_probes_ok(e, "recent bytes");
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
	ok(send_calls == 11 && e->t.stats.probes_sent == 11, "%s send failure: 11 sends tried", f);
	ok(log_calls >= 1, "%s send failure: logged", f);
	tick(e, sent_at + SEC);
	ok(e->nhops == 5 && e->hops[0].sent == 3 && e->hops[0].nreplies == 0 && e->nend == 0,
	    "%s send failure: hops 1..5 time out as silent", f);
	trace_abort(&e->t, "cancelled");
	is_str(e->reason, "cancelled", "%s abort: ends with the given reason", f);
	ok(trace_over(&e->t, sent_at + SEC), "%s abort: over at once (nothing to drain)", f);
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

/*
 * With the visitor's SYN TTL known, the first probes leave right behind the
 * first response segment, copying its bytes before the visitor acknowledged
 * them; no keep-alive. The visitor's D-SACKs ride on its first ACK. A
 * visitor that lost the segment SACKs the probes' bytes: they are credited
 * and the ACK goes on unchanged, for the server's TCP to recover the loss.
 */
/* A trace that knows the visitor's SYN TTL, its first segment (len bytes) sent at `at`. */
static struct env *
in_flight_env(int family, const struct trace_cfg *cfg, uint8_t syn_ttl, uint64_t at, size_t len)
{
	struct env *e = env_new(family, cfg, 1);

	e->unacked_ok = true;
	trace_syn_ttl(&e->t, syn_ttl);
	out_seg(e, at, 0, len, TCP_PSH);
	return e;
}

static void
test_in_flight(int family)
{
	struct trace_cfg cfg = default_cfg();
	const uint64_t seg_at = T0 + 10 * MS, wave_at = seg_at + 10;
	struct env *e = in_flight_env(family, &cfg, 60, seg_at, 600);	/* visitor at hop 5 */
	const char *f = fam(e);
	uint32_t blk[2][2];
	bool inside = true;

	is_int(e->nsent, 0, "%s in flight: nothing before the segment's verdict", f);
	tick(e, wave_at);
	is_int(e->nsent, 17, "%s in flight: at the next tick, hops 1..7 (SYN TTL 60: hop 5, + 2, one probe each)", f);
	for (int i = 0; i < e->nsent; i++)
		inside &= seq_lt(e->sent[i].tcp.seq, ISS + 600) && e->sent[i].at == wave_at;
	ok(inside && e->nkeepalives == 0, "%s in flight: every byte from that segment, no keep-alive", f);
	is_int(e->t.state, TRACE_PROBING, "%s in flight: probing without the visitor's ACK", f);
	routers_answer(e, wave_at + 1 * MS, 1, 4);
	is_int(e->nhops, 4, "%s in flight: routers 1..4", f);
	/* The visitor's first ACK carries the first D-SACK; the others follow. */
	blk[0][0] = e->sent[probe_at(e, 5, 0)].tcp.seq;
	blk[0][1] = blk[0][0] + 1;
	is_int(in_seg(e, wave_at + 2 * MS, ISS + 600, 1, blk, 0), TRACE_STRIP,
	    "%s in flight: its ACK of the segment goes on without the D-SACK", f);
	dsack(e, wave_at + 2 * MS, probe_at(e, 5, 1));
	dsack(e, wave_at + 2 * MS, probe_at(e, 5, 2));
	ok(e->nhops == 5 && dest_hop(e, 5, 3) && e->hops[4].r[0].rtt_us == 2 * MS,
	    "%s in flight: the visitor at hop 5, RTT from the wave", f);
	is_str(e->reason, "destination", "%s in flight: ends \"destination\"", f);
	check_probes_ok(e, "in flight");
	free(e);

	/* The segment lost: the probes reach the visitor as data beyond a hole. */
	e = in_flight_env(family, &cfg, 62, seg_at, 600);	/* hop 3: hops 1..5 */
	tick(e, wave_at);
	routers_answer(e, wave_at + 1 * MS, 1, 2);
	blk[0][0] = e->sent[probe_at(e, 3, 0)].tcp.seq;
	blk[0][1] = blk[0][0] + 1;
	/*
	 * Its first ACK is no duplicate: it goes on without the probe's block
	 * (the server's TCP would take the segments before it for lost).
	 */
	ok(in_seg(e, wave_at + 2 * MS, ISS, 1, blk, 0) == TRACE_STRIP && e->t.strip == 1,
	    "%s lost segment: the visitor's SACK of a probe's byte is taken out", f);
	blk[1][0] = blk[0][0];
	blk[1][1] = blk[0][1];
	blk[0][0] = e->sent[probe_at(e, 3, 1)].tcp.seq;
	blk[0][1] = blk[0][0] + 1;
	is_int(in_seg(e, wave_at + 2 * MS, ISS, 2, blk, 0), TRACE_DROP,
	    "%s lost segment: a duplicate ACK with probes' blocks only is dropped", f);
	blk[0][0] = e->sent[probe_at(e, 3, 2)].tcp.seq;
	blk[0][1] = blk[0][0] + 1;
	blk[1][0] = ISS + 700;	/* and data beyond, which the visitor has: its block stays */
	blk[1][1] = ISS + 800;
	ok(in_seg(e, wave_at + 2 * MS, ISS, 2, blk, 0) == TRACE_STRIP && e->t.strip == 1,
	    "%s lost segment: with a block of real data, only the probe's is taken out", f);
	ok(e->nhops == 3 && dest_hop(e, 3, 3), "%s lost segment: its SACKs credit the visitor at hop 3", f);
	ok(!trace_end_may_go(&e->t, wave_at + 7 * MS - 1) && trace_end_may_go(&e->t, wave_at + 7 * MS) &&
	    !trace_over(&e->t, wave_at + 7 * MS),
	    "%s lost segment: draining on for the hole, the END goes after the usual drain (5 ms)", f);
	/* The server's retransmission fills the hole; the visitor D-SACKs the probes' bytes in it. */
	{
		int left = e->t.drain_left;

		blk[0][0] = e->sent[probe_at(e, 3, 0)].tcp.seq;
		blk[0][1] = blk[0][0] + 1;
		is_int(in_seg(e, wave_at + 4 * MS, ISS + 600, 1, blk, 0), TRACE_STRIP,
		    "%s lost segment: the ACK that fills the hole goes on without its D-SACK", f);
		ok(!trace_over(&e->t, wave_at + 4 * MS) && e->t.drain_left == left - 1 && !e->t.hole,
		    "%s lost segment: the drain waited for it (%d, then %d)", f, left, e->t.drain_left);
	}
	free(e);

	/* A short first segment: what finds no byte goes once the visitor acknowledges more. */
	e = in_flight_env(family, &cfg, 60, seg_at, 10);
	tick(e, wave_at);
	ok(e->nsent == 5 && count_ttl(e, 1) == 3 && count_ttl(e, 2) == 2,
	    "%s short segment: 5 bytes for probes: hop 1, and 2 of hop 2", f);
	out_seg(e, seg_at + 1 * MS, 10, 600, TCP_PSH);
	e->unacked_ok = false;
	ack(e, seg_at + 5 * MS, 610);
	ok(e->nsent == 16 && count_ttl(e, 3) == 3 && count_ttl(e, 5) == 3 && count_ttl(e, 7) == 1,
	    "%s short segment: hops 3..7 at the visitor's ACK (6 and 7 beyond the estimate)", f);
	check_probes_ok(e, "short segment");
	free(e);

	/*
	 * A visitor without D-SACK: its first ACK acknowledges the segment and
	 * answers the first probe that reached it; only the others draw
	 * duplicate ACKs. The count fits with it, and settles 1 ms after the
	 * last duplicate ACK (no later one came).
	 */
	e = in_flight_env(family, &cfg, 61, seg_at, 600);	/* hop 4: hops 1..6, 5 probes reach it */
	tick(e, wave_at);
	routers_answer(e, wave_at + 1 * MS, 1, 3);
	ack(e, wave_at + 2 * MS, 600);
	for (int k = 0; k < 4; k++)
		is_int(ack(e, wave_at + 2 * MS + (uint64_t)k, 600), TRACE_DROP,
		    "%s no D-SACK in flight: duplicate ACK %d is a probe's answer, dropped", f, k + 1);
	is_int(e->nhops, 3, "%s no D-SACK in flight: hop 4 waits for a later duplicate ACK", f);
	is_int(trace_next_timeout(&e->t), wave_at + 2 * MS + 3 + 1 * MS,
	    "%s no D-SACK in flight: for 1 ms after the last", f);
	tick(e, wave_at + 3 * MS + 3);
	ok(e->nhops == 4 && dest_hop(e, 4, 3) && e->hops[3].r[0].flags == PROTO_RF_BY_COUNT &&
	    e->hops[3].r[0].rtt_us == 2 * MS && e->hops[3].r[1].rtt_us == 2 * MS,
	    "%s no D-SACK in flight: the visitor at hop 4, counted, the first answer its ACK", f);
	free(e);

	/*
	 * The same visitor while its application held the socket: Linux sends
	 * one ACK for the segment and every probe taken from the backlog, so no
	 * duplicate ACK comes. 20 ms after it, the count starts over: hops
	 * 4..6 are asked again with acknowledged bytes, which the visitor
	 * answers one by one.
	 */
	e = in_flight_env(family, &cfg, 61, seg_at, 600);	/* hop 4: hops 1..6 */
	tick(e, wave_at);
	routers_answer(e, wave_at + 1 * MS, 1, 3);
	ack(e, wave_at + 2 * MS, 600);
	is_int(trace_next_timeout(&e->t), wave_at + 22 * MS,
	    "%s merged answers: the count starts over 20 ms after the visitor's only ACK", f);
	e->unacked_ok = false;
	tick(e, wave_at + 22 * MS);
	{
		bool acked = true;

		for (int i = 14; i < e->nsent; i++)
			acked &= seq_lt(e->sent[i].tcp.seq + 1, ISS + 600) && e->sent[i].at == wave_at + 22 * MS;
		ok(e->nsent == 23 && count_ttl(e, 4) == 6 && count_ttl(e, 6) == 4 && acked,
		    "%s merged answers: hops 4..6 asked again, 3 probes each (%d probes), bytes acknowledged", f,
		    e->nsent);
	}
	for (int k = 0; k < 9; k++)
		is_int(ack(e, wave_at + 23 * MS + (uint64_t)k, 600), TRACE_DROP,
		    "%s merged answers: duplicate ACK %d is a probe's answer, dropped", f, k + 1);
	ok(e->nhops == 4 && dest_hop(e, 4, 3) && e->hops[3].sent == 3 &&
	    e->hops[3].r[0].flags == PROTO_RF_BY_COUNT && e->hops[3].r[0].rtt_us == 1 * MS,
	    "%s merged answers: the visitor at hop 4, counted exactly, its first probes not taken for lost", f);
	is_str(e->reason, "destination", "%s merged answers: ends \"destination\"", f);
	free(e);
}

/*
 * Beyond the visitor's estimated distance, while the estimate is trusted, a
 * TTL gets one probe: it is there in case the visitor is further, and when
 * the estimate holds it is never reported. Once the estimate proves wrong (a
 * router at or beyond it, or the visitor's own answer beyond it, named or
 * counted), those TTLs get the probes held back, so that a hop reported
 * there has 1 + HOP_RETRIES probes like any other.
 */
static void
test_ahead_one(int family)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e;
	const char *f = family == AF_INET ? "IPv4" : "IPv6";
	int n0;

	/* The estimate holds: the one probe of hops 5 and 6 is all they get. */
	e = env_new(family, &cfg, 1);
	start(e, 61);	/* estimate 4: hops 1..6 */
	ok(e->nsent == 14 && count_ttl(e, 4) == 3 && count_ttl(e, 5) == 1 && count_ttl(e, 6) == 1,
	    "%s ahead: hops 1..4 at 3 probes, 5 and 6 beyond the estimate at one", f);
	routers_answer(e, T0 + 60 * MS, 1, 3);
	for (int k = 0; k < 3; k++)
		dsack(e, T0 + 70 * MS, probe_at(e, 4, k));
	ok(dest_hop(e, 4, 3) && e->nsent == 14, "%s ahead: the visitor at the estimate: nothing more sent", f);
	is_int(e->t.drain_left, 2, "%s ahead: the drain awaits the two probes beyond it", f);
	check_probes_ok(e, "ahead");
	free(e);

	/* A router at the estimate: hops 5 and 6 get their others, before 7..10 go. */
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, T0 + 60 * MS, 1, 3);
	is_int(e->nsent, 14, "%s ahead distrusted: routers below the estimate change nothing", f);
	routers_answer(e, T0 + 61 * MS, 4, 4);
	ok(count_ttl(e, 5) == 3 && count_ttl(e, 6) == 3 && e->sent[14].tcp.ttl == 5 && e->sent[16].tcp.ttl == 6 &&
	    e->sent[14].at == T0 + 61 * MS && e->t.probes[14].wave > e->t.probes[13].wave,
	    "%s ahead distrusted: hops 5 and 6 get 2 more probes each, in a wave of their own", f);
	ok(e->nsent == 30 && count_ttl(e, 7) == 3 && count_ttl(e, 10) == 3 && e->sent[18].tcp.ttl == 7,
	    "%s ahead distrusted: hops 7..10 (six beyond router 4) at 3 probes each", f);
	n0 = e->nsent;
	for (int k = 0; k < 3; k++)
		dsack(e, T0 + 62 * MS + (uint64_t)k * MS, probe_at(e, 5, k));
	ok(dest_hop(e, 5, 3) && e->hops[4].sent == 3 && e->nsent == n0,
	    "%s ahead distrusted: the visitor at hop 5 with 3 of 3 answers", f);
	ok(e->hops[4].r[0].rtt_us == 12 * MS && e->hops[4].r[1].rtt_us == 2 * MS,
	    "%s ahead distrusted: RTTs from each probe's own send", f);
	check_probes_ok(e, "ahead distrusted");
	free(e);

	/*
	 * Right behind the first segment, router 4 answers before the visitor
	 * acknowledged anything: the probes held back wait for bytes it has
	 * acknowledged, and go with its ACK.
	 */
	e = in_flight_env(family, &cfg, 61, T0 + 10 * MS, 600);
	tick(e, T0 + 10 * MS + 10);
	routers_answer(e, T0 + 11 * MS, 1, 4);
	ok(e->nsent == 14 && e->nhops == 4, "%s ahead in flight: router 4 answered, no byte acknowledged: "
	    "nothing more yet", f);
	e->unacked_ok = false;
	ack(e, T0 + 12 * MS, 600);
	ok(count_ttl(e, 5) == 3 && count_ttl(e, 6) == 3 && count_ttl(e, 10) == 3 && e->nsent == 30,
	    "%s ahead in flight: with the visitor's ACK, hops 5 and 6 get their others and 7..10 go", f);
	for (int k = 0; k < 3; k++)
		dsack(e, T0 + 13 * MS, probe_at(e, 5, k));
	ok(dest_hop(e, 5, 3), "%s ahead in flight: the visitor at hop 5 with 3 answers", f);
	check_probes_ok(e, "ahead in flight");
	free(e);

	/*
	 * Answers merged (no duplicate ACK), router 4 silent: the count starts
	 * over, asking hops 4..6 again with 3 probes each, so they owe nothing;
	 * the visitor, counted at hop 5 at hop 4's timeout, gets no more.
	 */
	e = in_flight_env(family, &cfg, 61, T0 + 10 * MS, 600);
	tick(e, T0 + 10 * MS + 10);
	routers_answer(e, T0 + 11 * MS, 1, 3);
	ack(e, T0 + 12 * MS, 600);
	e->unacked_ok = false;
	tick(e, T0 + 32 * MS);
	ok(e->nsent == 23 && count_ttl(e, 4) == 6 && count_ttl(e, 5) == 4 && count_ttl(e, 6) == 4,
	    "%s ahead recounted: hops 4..6 asked again, 3 probes each", f);
	for (int k = 0; k < 6; k++)
		ack(e, T0 + 33 * MS + (uint64_t)k, 600);
	tick(e, T0 + 32 * MS + SEC);
	ok(dest_hop(e, 5, 3) && e->hops[4].r[0].flags == PROTO_RF_BY_COUNT && e->hops[4].r[0].rtt_us == 1 * MS,
	    "%s ahead recounted: hop 4 silent, the visitor at hop 5, counted exactly", f);
	is_int(e->nsent, 23, "%s ahead recounted: no probe more", f);
	check_probes_ok(e, "ahead recounted");
	free(e);

	/*
	 * Router 4 silent: the visitor's D-SACK at hop 5, beyond the estimate,
	 * shows it further. Hop 4 is asked again; once it is reported, hop 5
	 * gets its two other probes and waits for their answers.
	 */
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, T0 + 60 * MS, 1, 3);
	dsack(e, T0 + 70 * MS, probe_at(e, 5, 0));	/* 20 ms */
	dsack(e, T0 + 70 * MS, probe_at(e, 6, 0));
	n0 = e->nsent;
	tick(e, T0 + 71 * MS);
	ok(e->nsent == n0 + 1 && e->sent[n0].tcp.ttl == 4, "%s ahead beyond: hop 4 asked again", f);
	/* Hop 4 settles 20 ms + 1 ms after its new probe (past 20 ms + 20 ms after its first). */
	is_int(trace_next_timeout(&e->t), T0 + 92 * MS, "%s ahead beyond: hop 4 waits for its new probe", f);
	tick(e, T0 + 92 * MS);
	ok(e->nhops == 4 && e->hops[3].nreplies == 0 && e->nend == 0,
	    "%s ahead beyond: hop 4 silent, hop 5 not reported with one probe", f);
	ok(e->nsent == n0 + 3 && count_ttl(e, 5) == 3 && count_ttl(e, 6) == 1 && e->sent[n0 + 1].at == T0 + 92 * MS,
	    "%s ahead beyond: hop 5 gets its 2 others; hop 6, beyond the visitor, nothing", f);
	is_int(trace_next_timeout(&e->t), T0 + 132 * MS,
	    "%s ahead beyond: and waits for them (20 ms and 20 ms more)", f);
	dsack(e, T0 + 112 * MS, probe_at(e, 5, 1));
	dsack(e, T0 + 112 * MS, probe_at(e, 5, 2));
	ok(dest_hop(e, 5, 3) && e->hops[4].sent == 3 && e->hops[4].r[2].rtt_us == 20 * MS,
	    "%s ahead beyond: the visitor at hop 5 with 3 of 3 answers", f);
	is_str(e->reason, "destination", "%s ahead beyond: ends \"destination\"", f);
	ok(e->nsent == n0 + 3, "%s ahead beyond: 3 probes more in all", f);
	check_probes_ok(e, "ahead beyond");
	free(e);

	/* The visitor answers at hop 5 before hop 4 is reported, and router 4 after all: no probe twice. */
	e = env_new(family, &cfg, 1);
	start(e, 61);
	routers_answer(e, T0 + 60 * MS, 1, 3);
	dsack(e, T0 + 70 * MS, probe_at(e, 5, 0));
	routers_answer(e, T0 + 70 * MS + 500, 4, 4);
	ok(count_ttl(e, 5) == 3 && count_ttl(e, 6) == 1 && count_ttl(e, 4) == 3,
	    "%s ahead beyond: router 4 then answers: hop 5 gets its others once, hop 6 nothing", f);
	free(e);

	/*
	 * A visitor without D-SACK at hop 5, router 4 silent, the keep-alive
	 * sent: two duplicate ACKs, the probes of hops 5 and 6, would fit hop 5
	 * and, with the keep-alive's, hop 6. At hop 4's timeout the count's
	 * nearest fit is hop 5, which got one probe: it and hop 6 get their
	 * others first, and the count then places the visitor exactly.
	 */
	for (int extra = 0; extra <= 1; extra++) {
		const char *x = extra ? " and the keep-alive's duplicate ACK" : "";

		e = env_new(family, &cfg, 1);
		out_seg(e, T0 + 10 * MS, 0, 600, TCP_PSH);
		tick(e, T0 + 10 * MS + 10);	/* the keep-alive */
		e->cttl = 61;
		ack(e, T0 + 20 * MS, 600);	/* estimate 4: hops 1..6 */
		if (extra)
			ack(e, T0 + 20 * MS + 5, 600);
		routers_answer(e, T0 + 25 * MS, 1, 3);
		ack(e, T0 + 30 * MS, 600);
		ack(e, T0 + 30 * MS + 1, 600);
		n0 = e->nsent;
		tick(e, T0 + 20 * MS + SEC);
		ok(e->nhops == 4 && e->hops[3].nreplies == 0 && e->nend == 0,
		    "%s ahead counted%s: hop 4 silent at its timeout; hop 5 not yet", f, x);
		ok(e->nsent == n0 + 4 && count_ttl(e, 5) == 3 && count_ttl(e, 6) == 3,
		    "%s ahead counted%s: hops 5 and 6 get their others", f, x);
		for (int k = 0; k < 4; k++)
			ack(e, T0 + 30 * MS + SEC + (uint64_t)k, 600);
		tick(e, T0 + 31 * MS + SEC + 3);
		ok(dest_hop(e, 5, 3) && e->hops[4].sent == 3 && e->hops[4].r[0].flags == PROTO_RF_BY_COUNT,
		    "%s ahead counted%s: the visitor at hop 5, 3 of 3, counted exactly", f, x);
		ok(e->hops[4].r[0].rtt_us == 10 * MS && e->hops[4].r[1].rtt_us == 10 * MS,
		    "%s ahead counted%s: RTTs of its first probe and of one sent later", f, x);
		check_probes_ok(e, "ahead counted");
		free(e);
	}
}

/*
 * The hop memory (docs/engine.md, "ICMP budget and reuse"): a recent trace
 * toward this server measured routers 1-3 and the visitor at 4, at
 * T0 + 50 ms - ago. Those routers get one probe when it was less than 1 s
 * ago; a router silent now is reported with the remembered one, marked
 * reused, when the hops around it match; the trace adds only what it
 * measured to the memory.
 */
static struct env *
env_remembering(int family, struct hopmem *m, uint64_t ago, int r2)
{
	struct trace_cfg cfg = default_cfg();
	struct env *e = env_new(family, &cfg, 1);
	struct hopmem_trace past;

	memset(&past, 0, sizeof(past));
	past.server = e->server;
	past.at_us = T0 + 50 * MS - ago;
	past.nttl = 4;
	for (int ttl = 1; ttl <= 4; ttl++) {
		past.hop[ttl].sent = past.hop[ttl].answered = 3;
		past.hop[ttl].at_us = past.at_us;
		past.hop[ttl].dest = ttl == 4;
		past.hop[ttl].addr = ttl == 4 ? e->client : router(family, ttl == 2 ? r2 : ttl);
	}
	if (ago > 0)
		hopmem_record(m, &past);
	trace_memory(&e->t, m);
	return e;
}

/* Routers 2 and 3 answer (TTL 2 from router r2), router 1 is silent, the visitor answers at 4. */
static void
silent_first(struct env *e, int r2)
{
	struct tt_addr from = router(e->family, r2);
	size_t qlen = e->family == AF_INET ? 28 : 48;

	for (int k = 0; probe_at(e, 2, k) >= 0; k++)
		icmp_raw(e, T0 + 51 * MS, &from, 254, R_TE, 0, e->sent[probe_at(e, 2, k)].pkt, qlen,
		    NULL, false);
	routers_answer(e, T0 + 51 * MS, 3, 3);
	for (int k = 0; probe_at(e, 4, k) >= 0; k++)
		dsack(e, T0 + 52 * MS, probe_at(e, 4, k));
	for (uint64_t at = T0 + 52 * MS; at < T0 + 2 * SEC && e->nend == 0; at += MS)
		tick(e, at);
}

static const struct hopmem_trace *
newest(const struct hopmem *m)
{
	return &m->ring[(m->next + HOPMEM_TRACES - 1) % HOPMEM_TRACES];
}

static void
test_memory(int family)
{
	struct hopmem *m = hopmem_new();
	struct env *e;
	struct tt_addr r1 = router(family, 1), r2 = router(family, 2);
	const struct hopmem_trace *n;
	const char *f = family == AF_INET ? "IPv4" : "IPv6";
	bool none = true;

	/* An empty memory: as without one. */
	e = env_remembering(family, m, 0, 2);
	start(e, 61);
	ok(e->nsent == 14 && count_ttl(e, 4) == 3 && count_ttl(e, 5) == 1,
	    "%s memory: empty: 3 probes with each TTL 1..4, one beyond, as without it", f);
	routers_answer(e, T0 + 51 * MS, 1, 3);
	for (int k = 0; k < 3; k++)
		dsack(e, T0 + 52 * MS, probe_at(e, 4, k));
	is_int(e->nhops, 4, "%s memory: empty: the trace as without it", f);
	for (int i = 0; i < e->nhops; i++)
		none &= e->hops[i].reused.family == 0;
	ok(none, "%s memory: no hop reused", f);
	n = newest(m);
	ok(m->n == 1 && n->nttl == 4 && addr_equal(&n->hop[1].addr, &r1) && n->hop[1].answered == 3 &&
	    n->hop[1].at_us == T0 + 51 * MS && n->hop[4].dest && addr_equal(&n->hop[4].addr, &e->client),
	    "%s memory: the trace left its measured hops 1..4 in the memory", f);
	check_probes_ok(e, "memory empty");
	free(e);
	hopmem_free(m);

	/*
	 * 300 ms ago: routers 1-3 get one probe each, the visitor's TTL all of
	 * its; beyond it one each, as without the memory.
	 */
	m = hopmem_new();
	e = env_remembering(family, m, 300 * MS, 2);
	start(e, 61);
	ok(e->nsent == 8 && count_ttl(e, 1) == 1 && count_ttl(e, 3) == 1 && count_ttl(e, 4) == 3 &&
	    count_ttl(e, 6) == 1, "%s memory: routers that answered 300 ms ago get one probe each", f);
	is_int(e->t.stats.one_probe, 3, "%s memory: counted", f);
	silent_first(e, 2);
	ok(e->nhops == 4 && e->hops[0].ttl == 1 && e->hops[0].nreplies == 0 && e->hops[0].sent == 3 &&
	    addr_equal(&e->hops[0].reused, &r1),
	    "%s memory: router 1 silent now (asked again with its 2 other probes): reported as a "
	    "timeout, router 1 reused", f);
	ok(e->hops[0].reused_age_ms >= 300 && e->hops[0].reused_age_ms < 400,
	    "%s memory: with its age (%u ms: since it answered)", f, e->hops[0].reused_age_ms);
	ok(e->hops[1].reused.family == 0 && e->hops[1].nreplies == 1 && e->hops[3].reused.family == 0,
	    "%s memory: hops that answered are as measured, none reused", f);
	is_str(e->reason, "destination", "%s memory: ends at the visitor", f);
	n = newest(m);
	ok(m->n == 2 && n->hop[1].addr.family == 0 && n->hop[1].answered == 0 &&
	    addr_equal(&n->hop[2].addr, &r2),
	    "%s memory: the reused hop is remembered as silent: only measured answers go in", f);
	check_probes_ok(e, "memory reuse");
	free(e);
	hopmem_free(m);

	/* 2 s ago: all probes again; reuse still. */
	m = hopmem_new();
	e = env_remembering(family, m, 2 * SEC, 2);
	start(e, 61);
	ok(e->nsent == 14 && count_ttl(e, 1) == 3 && count_ttl(e, 3) == 3,
	    "%s memory: answers 2 s old: 3 probes each up to the estimate", f);
	silent_first(e, 2);
	ok(e->nhops == 4 && addr_equal(&e->hops[0].reused, &r1) &&
	    e->hops[0].reused_age_ms >= 2000 && e->hops[0].reused_age_ms < 2100,
	    "%s memory: router 1 reused, 2 s old", f);
	free(e);
	hopmem_free(m);

	/* ECMP: another router at TTL 2 now than in the remembered trace: no reuse at TTL 1. */
	m = hopmem_new();
	e = env_remembering(family, m, 300 * MS, 2);
	start(e, 61);
	silent_first(e, 12);
	ok(e->nhops == 4 && e->hops[0].nreplies == 0 && e->hops[0].reused.family == 0,
	    "%s memory: another router at TTL 2 now (ECMP): TTL 1 is a timeout, nothing reused", f);
	free(e);
	hopmem_free(m);
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
		test_budget(fams[i]);
		test_no_sack(fams[i]);
		test_estimates(fams[i]);
		test_few_bytes(fams[i]);
		test_send_failure(fams[i]);
		test_icmp_contract(fams[i]);
		test_dsack_rides(fams[i]);
		test_burst_last_only(fams[i]);
		test_drain_ends(fams[i]);
		test_no_dsack_silent(fams[i]);
		test_no_dsack_real_loss(fams[i]);
		test_no_dsack_keepalive(fams[i]);
		test_ahead_one(fams[i]);
		test_gap_silent_start(fams[i]);
		test_visitor_fin(fams[i]);
		test_seq_shift(fams[i]);
		test_recent_bytes(fams[i]);
		test_in_flight(fams[i]);
		test_memory(fams[i]);
	}
	test_middleboxes();
	return tap_done();
}
