/*
 * libFuzzer target: one queued packet, parsed and then handed to a trace in
 * every state, as the engine would; and the D-SACK block taken out of it, as
 * the engine does for an ACK that goes on. Nothing may crash or read out of
 * bounds, and a stripped segment still parses, with one SACK block less.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
f_send(void *ctx, const uint8_t *pkt, size_t len, int family, uint64_t *sent_us)
{
	(void)ctx; (void)pkt; (void)len; (void)family; (void)sent_us;
	return 0;
}

static void f_hop(void *ctx, const struct proto_hop *hop) { (void)ctx; (void)hop; }
static void f_end(void *ctx, const char *reason, int hops) { (void)ctx; (void)reason; (void)hops; }

/* A trace that has learnt a segment and an ACK, so probes are in flight. */
static void
probing_trace(struct trace *t, const struct pkt *p)
{
	static const struct trace_cfg cfg = { .hop_timeout_us = 1000000, .probes_per_hop = 3,
	    .max_hops = 30, .gap_limit = 5, .deadline_us = 30000000, .start_timeout_us = 3000000 };
	static const struct trace_ops ops = { .send = f_send, .hop = f_hop, .end = f_end };
	struct pkt_tcp seg;
	struct tt_addr c, s;
	uint16_t cport = 51000, sport = 443;
	static const uint8_t body[256];

	/* Use the packet's own addresses so that it can match the trace. */
	if (p->kind == PKT_TCP) {
		s = p->u.tcp.src, c = p->u.tcp.dst, sport = p->u.tcp.sport, cport = p->u.tcp.dport;
	} else {
		s = p->u.icmp.qsrc, c = p->u.icmp.qdst, sport = p->u.icmp.qsport, cport = p->u.icmp.qdport;
	}
	trace_init(t, &cfg, &ops, &c, cport, &s, sport, 1, 0);
	memset(&seg, 0, sizeof(seg));
	seg.src = s, seg.dst = c, seg.sport = sport, seg.dport = cport;
	seg.seq = p->kind == PKT_ICMP ? p->u.icmp.qseq : 1000;
	seg.flags = TCP_ACK;
	seg.payload = body;
	seg.payload_len = sizeof(body);
	trace_segment(t, &seg, true, 10);
	seg.src = c, seg.dst = s, seg.sport = cport, seg.dport = sport;
	seg.ack = seg.seq + sizeof(body);
	seg.ttl = 60;
	seg.payload_len = 0;
	trace_segment(t, &seg, false, 20);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace t;
	static uint8_t copy[0x10000];
	struct pkt p, q;
	bool out;

	if (size > sizeof(copy) || pkt_parse(data, size, &p) != PKT_OK)
		return 0;
	memcpy(copy, data, size);
	if (pkt_strip_sack(copy, size, 1) == 0 &&
	    (pkt_parse(copy, size, &q) != PKT_OK || q.kind != PKT_TCP ||
	    q.u.tcp.nsack != (p.u.tcp.nsack == 4 ? q.u.tcp.nsack : p.u.tcp.nsack - 1)))
		abort();
	probing_trace(&t, &p);
	if (p.kind == PKT_TCP && trace_owns(&t, &p.u.tcp, &out))
		trace_segment(&t, &p.u.tcp, out, 30);
	else if (p.kind == PKT_ICMP && trace_quotes(&t, &p.u.icmp))
		trace_icmp(&t, &p.u.icmp, 30);
	trace_tick(&t, 2000000);
	return 0;
}
