/*
 * One trace's state machine: learns the connection from its segments, sends
 * probe rounds, matches replies, settles hops in order. Pure: time comes in as
 * an argument and everything goes out through the callbacks in struct trace_ops.
 */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"
#include "probe.h"
#include "proto.h"

#define TRACE_MAX_TTL	64
#define TRACE_MAX_PER_HOP 10	/* 1 + HOP_RETRIES at most; the config caps it */
#define TRACE_BYTES	1024	/* old bytes kept for probes: no byte is used twice */
#define TRACE_MPLS_STACKS 32	/* distinct MPLS label stacks kept; replies beyond keep none */

struct trace_cfg {
	uint64_t hop_timeout_us;
	int probes_per_hop;	/* 1 + HOP_RETRIES */
	int max_hops;
	int gap_limit;
	uint64_t deadline_us;	/* the whole trace */
	uint64_t start_timeout_us;	/* for the first segment, and for the visitor's ACK */
};

/* A verdict on a queued packet. */
enum trace_verdict {
	TRACE_ACCEPT = 0,
	TRACE_DROP,		/* consumed: an error or a duplicate ACK that our probe caused */
};

enum trace_state {
	TRACE_WAIT_SEGMENT,	/* for the server's first data segment */
	TRACE_WAIT_ACK,		/* for the visitor to acknowledge it */
	TRACE_PROBING,
	TRACE_DONE,
};

struct trace_ops {
	/*
	 * Sends a probe packet; returns 0 or -1. On success *sent_us is when it
	 * left, on the clock of now_us (CLOCK_MONOTONIC in the engine, read
	 * right before sendto(): the answer may be back, stamped, before
	 * sendto() returns). RTTs are now_us of the answer less *sent_us.
	 */
	int (*send)(void *ctx, const uint8_t *pkt, size_t len, int family, uint64_t *sent_us);
	/* A hop is settled; hops come in TTL order. */
	void (*hop)(void *ctx, const struct proto_hop *hop);
	/* The trace is over: reason as in docs/protocol.md, hops the last TTL reported. */
	void (*end)(void *ctx, const char *reason, int hops);
	void (*log)(void *ctx, const char *msg);
	void *ctx;
};

/*
 * A probe's answer, kept compact (a trace holds 640): a struct proto_reply
 * without NAT evidence (a matched quote names the visitor), its MPLS label
 * stack shared through trace.mpls, since a hop's probes mostly carry the same.
 */
struct trace_reply {
	struct tt_addr from;
	uint32_t rtt_us;
	uint32_t code;
	uint16_t size;
	uint8_t kind;		/* enum reply_kind */
	uint8_t reply_ttl, quoted_ttl;
	uint8_t ext;		/* enum proto_ext */
	uint8_t mpls;		/* 1 + its label stack's index in trace.mpls; 0: none */
};

struct trace_probe {
	uint32_t seq;
	uint16_t ipid;
	uint8_t ttl;
	bool answered;
	uint64_t sent_us;
	struct trace_reply reply;
};

struct trace_mpls {
	int n;
	struct proto_mpls e[PROTO_MAX_MPLS];
};

struct trace_hop {
	uint8_t nprobes;		/* sent with this TTL */
	uint8_t nanswered;
	uint16_t first;			/* index of its first probe in trace.probes */
	uint64_t deadline_us;
	bool router;			/* a router answered: the visitor is further */
};

struct trace_stats {
	uint32_t probes_sent;
	uint32_t replies_matched;
	uint32_t dupacks;		/* the visitor's duplicate ACKs caused by probes */
	uint32_t keepalives;		/* keep-alives sent to hurry the visitor's first ACK */
	uint32_t late_or_dup;		/* a second reply to one probe, or a reply after its hop settled */
};

struct trace {
	struct trace_cfg cfg;
	struct trace_ops ops;
	enum trace_state state;
	struct tt_addr client, server;
	uint16_t cport, sport;
	uint64_t start_us, wait_until_us;

	struct probe_tmpl tmpl;		/* from the newest server segment */
	bool have_tmpl;

	/* The connection's first response bytes, kept to fill probes. */
	uint32_t bytes_seq;		/* seq of bytes[0] */
	uint16_t nbytes;
	uint8_t bytes[TRACE_BYTES];
	uint32_t next_seq;		/* next byte not yet used by a probe */

	/*
	 * A keep-alive is due once the first response segment has had its
	 * verdict: the visitor may hold its ACK of that segment back (delayed
	 * ACK, 40 ms or more) and probing waits for it; a keep-alive is ACKed
	 * at once.
	 */
	bool keepalive_due;
	/*
	 * The keep-alive's answer, when the visitor had acknowledged the
	 * segment already, is one more duplicate ACK without SACK: it must not
	 * count as a probe's (unexplained_dupacks), so one such is let go.
	 */
	int keepalive_dups;

	uint32_t visitor_ack;		/* highest ACK from the visitor */
	uint16_t visitor_window;
	uint8_t visitor_ttl;
	bool have_ack;

	uint16_t next_ipid;
	int sent_max;			/* highest TTL probed */
	int emitted;			/* hops 1..emitted have been reported */
	int trailing_silent;		/* silent hops reported in a row */
	int estimate;			/* the visitor's TTL distance, 0 if unknown */
	uint32_t unexplained_dupacks;	/* duplicate ACKs without D-SACK (SACK off) */
	uint64_t dupack_us;

	int nprobes;
	struct trace_probe probes[TRACE_MAX_TTL * TRACE_MAX_PER_HOP];
	int nmpls;
	struct trace_mpls mpls[TRACE_MPLS_STACKS];
	struct trace_hop hops[TRACE_MAX_TTL + 1];
	struct trace_stats stats;
};

/* Sets up a trace of the connection client:cport <-> server:sport, starting now. */
void trace_init(struct trace *t, const struct trace_cfg *cfg, const struct trace_ops *ops,
    const struct tt_addr *client, uint16_t cport, const struct tt_addr *server, uint16_t sport,
    uint16_t ipid_base, uint64_t now_us);

/* Does this TCP segment belong to the traced connection? Sets *outgoing. */
bool trace_owns(const struct trace *t, const struct pkt_tcp *seg, bool *outgoing);
/* Does this ICMP error quote a segment of the traced connection (probe or not)? */
bool trace_quotes(const struct trace *t, const struct pkt_icmp *err);

enum trace_verdict trace_segment(struct trace *t, const struct pkt_tcp *seg, bool outgoing, uint64_t now_us);
/* Returns TRACE_DROP if the error answers one of our probes (recorded), else TRACE_ACCEPT. */
enum trace_verdict trace_icmp(struct trace *t, const struct pkt_icmp *err, uint64_t now_us);
/* Handles timeouts due by now. */
void trace_tick(struct trace *t, uint64_t now_us);
/* Ends the trace now with the given reason (cancelled, engine stop, connection gone). */
void trace_abort(struct trace *t, const char *reason);
/* When trace_tick must run next; UINT64_MAX when nothing is pending. */
uint64_t trace_next_timeout(const struct trace *t);

#endif
