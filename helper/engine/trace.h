/*
 * One trace's state machine: learns the connection from its segments, sends
 * probe rounds, matches replies, settles hops in order. Pure: time comes in as
 * an argument and everything goes out through the callbacks in struct trace_ops.
 */
#ifndef TT_HELPER_ENGINE_TRACE_H
#define TT_HELPER_ENGINE_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "hopmem.h"
#include "pkt.h"
#include "probe.h"
#include "proto.h"

#define TRACE_MAX_TTL	64
#define TRACE_MAX_PER_HOP 10	/* 1 + HOP_RETRIES at most; the config caps it */
#define TRACE_SAMPLES	16	/* recent response segments whose first bytes fill probes */
#define TRACE_SAMPLE_BYTES 256	/* bytes kept of each: 127 probes, one byte in two */
#define TRACE_MPLS_STACKS 32	/* distinct MPLS label stacks kept; replies beyond keep none */
#define TRACE_DUPACKS	64	/* arrival times kept of duplicate ACKs that name no probe */
#define TRACE_STAGGER_US 1000	/* between re-probes of candidate TTLs: one answer each */
#define TRACE_GUESSES	16	/* quotes kept that suggest a seq offset, until two agree */

struct trace_cfg {
	uint64_t hop_timeout_us;
	int probes_per_hop;	/* 1 + HOP_RETRIES */
	int max_hops;
	int gap_limit;
	uint64_t deadline_us;	/* the whole trace: its time budget */
	int max_probes;		/* its probe budget; 0 (or more than a trace holds): all it holds */
	uint64_t start_timeout_us;	/* for the first segment, and for the visitor's ACK */
};

/* A verdict on a queued packet. */
enum trace_verdict {
	TRACE_ACCEPT = 0,
	TRACE_DROP,		/* consumed: an error or a duplicate ACK that our probe caused */
	TRACE_STRIP,		/* an ACK to pass on without the SACK blocks in trace.strip (probes') */
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
	/*
	 * An answer came after hop ttl was reported (also after the end, until
	 * HOP_TIMEOUT after the hop's last probe): r carries PROTO_RF_LATE.
	 * NULL: such answers are only counted.
	 */
	void (*late)(void *ctx, int ttl, const struct proto_reply *r);
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
	uint8_t flags;		/* PROTO_RF_* */
};

struct trace_probe {
	uint32_t seq;
	uint16_t ipid;
	uint8_t ttl;
	uint8_t byte;		/* its payload byte */
	bool answered;
	bool retired;		/* no longer counted: its answer may have merged (see recount) */
	uint16_t wave;		/* probes sent together share a wave; later waves count up */
	uint64_t sent_us;
	struct trace_reply reply;
};

/* The first bytes of one response segment, kept to fill probes. */
struct trace_sample {
	uint32_t seq;
	uint16_t len;
	uint16_t next;		/* the next offset a probe may take: every other byte */
	uint8_t b[TRACE_SAMPLE_BYTES];
};

struct trace_mpls {
	int n;
	struct proto_mpls e[PROTO_MAX_MPLS];
};

struct trace_hop {
	uint8_t nprobes;		/* sent with this TTL */
	uint8_t nanswered;
	uint64_t deadline_us;		/* HOP_TIMEOUT after its last probe */
	uint64_t sent_us;		/* when its last probe left, before it was asked again */
	uint64_t reask_us;		/* when the probe that asked again left, 0 if none */
	uint32_t max_rtt_us;		/* its slowest answer */
	uint16_t wave_answered;		/* the latest wave of its probes that was answered */
	bool router;			/* a router answered (quote exact): the visitor is further */
	bool dest;			/* the visitor answered a probe with this TTL */
	bool reprobed;			/* asked again: late, or a candidate for the visitor's distance */
	uint8_t owed;			/* probes held back beyond the trusted estimate (send_owed) */
	bool spared;			/* given one probe by the hop memory (tracemem_probes) */
	uint32_t dest_rtt_us;		/* the visitor's slowest answer at this TTL */
};

struct trace_stats {
	uint32_t probes_sent;
	uint32_t replies_matched;
	uint32_t dupacks;		/* the visitor's ACKs that named probes (D-SACK) */
	uint32_t stripped;		/* of those, passed on without the probes' D-SACK block */
	uint32_t counted;		/* duplicate ACKs without D-SACK taken for probes' answers */
	uint32_t keepalives;		/* keep-alives sent to hurry the visitor's first ACK */
	uint32_t late_or_dup;		/* a second reply to one probe, or a reply to no hop reported */
	uint32_t late;			/* answers after their hop was reported, passed to ops.late */
	uint32_t refuted;		/* errors with a changed IPv4 id at a TTL the visitor answered */
	uint32_t one_probe;		/* TTLs asked with one probe: the hop memory said enough */
	uint32_t reused;		/* silent hops reported with a remembered router */
};

struct trace {
	struct trace_cfg cfg;
	struct trace_ops ops;
	enum trace_state state;
	struct tt_addr client, server;
	uint16_t cport, sport;
	uint64_t start_us, wait_until_us;
	uint64_t drain_until_us;	/* after the end at the visitor: see DRAIN_MIN_US */
	uint64_t end_due_us;		/* the END may go though draining goes on: see trace_end_may_go */
	int drain_left;			/* probes whose answers the drain still awaits */
	unsigned strip;			/* TRACE_STRIP: bit b for SACK block b to take out */
	uint64_t late_until_us;		/* after the end: late answers are awaited until then */
	bool hole;			/* the visitor SACKed probes: the first segment lost or overtaken */
	uint32_t hole_end;		/* the end of the highest such block */

	struct probe_tmpl tmpl;		/* from the newest server segment */
	bool have_tmpl;

	/*
	 * Bytes for probes: the first bytes of the newest response segments.
	 * Probes take the newest bytes the visitor has acknowledged, so that a
	 * long response never leaves them outside a stateful firewall's window.
	 */
	uint32_t first_seq;		/* the response's first byte */
	uint32_t snd_nxt;		/* the end of the newest data the server sent */
	bool have_data;
	int nsamples, sample_next;	/* a ring */
	struct trace_sample samples[TRACE_SAMPLES];

	/*
	 * A keep-alive is due once the first response segment has had its
	 * verdict: the visitor may hold its ACK of that segment back (delayed
	 * ACK, 40 ms or more) and probing waits for it; a keep-alive is ACKed
	 * at once.
	 */
	bool keepalive_due;
	/*
	 * The keep-alive's answer, when the visitor had acknowledged the
	 * segment already, is one more duplicate ACK without SACK: counting
	 * the visitor's duplicate ACKs allows for it.
	 */
	bool keepalive_sent;
	uint8_t syn_ttl;		/* the TTL of the visitor's SYN, 0 if unknown */
	bool in_flight;			/* sending the wave right behind the first segment */
	bool in_flight_sent;		/* that wave was sent */
	uint64_t wave_ack_us;		/* when the visitor first acknowledged that segment */
	bool recounted;			/* the count of duplicate ACKs started over (once) */

	uint32_t visitor_ack;		/* highest ACK from the visitor */
	uint16_t visitor_window;
	uint8_t visitor_ttl;
	bool have_ack;
	bool visitor_fin;		/* the visitor half-closed: probing goes on */

	uint16_t next_ipid;
	uint16_t wave;			/* the current wave of probes */
	int sent_max;			/* highest TTL probed */
	int want;			/* TTLs up to this are to be probed */
	int emitted;			/* hops 1..emitted have been reported */
	int top_router;			/* highest TTL a router answered (quote exact) */
	int top_answered;		/* highest TTL anything answered */
	int estimate;			/* the visitor's TTL distance, 0 if unknown */
	int ahead;			/* TTLs probed beyond the furthest router */
	uint16_t dest_wave;		/* the latest wave the visitor answered */
	int visitor_found;		/* the lowest TTL the visitor answered, 0 if none */

	/* Hops asked again (one probe each), one every TRACE_STAGGER_US. */
	uint64_t restage_us;
	int nrestage;
	uint8_t restage[TRACE_MAX_TTL];

	/*
	 * A seq offset on the path (a firewall that randomizes sequence
	 * numbers), learned once quotes of two probes agree on it: a ring of
	 * what each such quote suggested, with its answer, kept to be recorded
	 * then.
	 */
	uint32_t seq_offset;
	bool have_offset;
	int nguesses, guess_next;
	struct trace_guess {
		uint32_t offset;
		int probe;
		uint8_t byte;		/* the probe's byte */
		bool by_id;		/* the quote named the probe by its IPv4 id */
		uint64_t at_us;		/* when the quote came */
		struct proto_reply reply;
	} guesses[TRACE_GUESSES];

	/* Duplicate ACKs that name no probe (a visitor without D-SACK). */
	int ndup;
	uint64_t dup_us[TRACE_DUPACKS], dup_last_us;
	uint64_t settled_us;	/* when settle last ran: a count's timer that it saw is spent */

	int nprobes;
	struct trace_probe probes[TRACE_MAX_TTL * (TRACE_MAX_PER_HOP + 1)];	/* + a re-probe a TTL */
	int nmpls;
	struct trace_mpls mpls[TRACE_MPLS_STACKS];
	struct trace_hop hops[TRACE_MAX_TTL + 1];
	struct trace_stats stats;
	/* Recent traces' hops toward servers (shared by the engine's traces); NULL: none. */
	struct hopmem *mem;
};

/* Sets up a trace of the connection client:cport <-> server:sport, starting now. */
void trace_init(struct trace *t, const struct trace_cfg *cfg, const struct trace_ops *ops,
    const struct tt_addr *client, uint16_t cport, const struct tt_addr *server, uint16_t sport,
    uint16_t ipid_base, uint64_t now_us);

/*
 * The TTL the visitor's SYN arrived with (the firewall rules keep it in the
 * connection's mark). Known, the first probes leave right behind the first
 * response segment, without waiting for the visitor's ACK of it.
 */
void trace_syn_ttl(struct trace *t, uint8_t ttl);

/*
 * The engine's memory of recent traces' hops (hopmem.h): with it, a TTL whose
 * router answered moments ago (or was seen rate-limiting) gets one probe, a
 * hop reported with no answer may carry the router a recent trace measured
 * there (proto_hop.reused), and the trace's own measured hops are added to
 * it when it ends. Without it (the default) none of this happens.
 */
void trace_memory(struct trace *t, struct hopmem *mem);

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
/*
 * Is the trace over, its connection free to leave the queue? Not during the
 * few ms after the end at the visitor while answers to probes sent beyond it
 * still come (the trace takes their D-SACKs out of the visitor's ACKs).
 */
bool trace_over(const struct trace *t, uint64_t now_us);
/*
 * After the end: until when errors that answer probes of the hops reported
 * are still awaited, as late answers (the connection out of the queue, only
 * its ICMP errors queued meanwhile); 0 when none are.
 */
uint64_t trace_late_until(const struct trace *t, uint64_t now);
/*
 * May the END go? The engine sends it once the connection left the queue,
 * the drain over, so that the response's last segments and FIN pass
 * unqueued; but a drain that waits for the server to fill a hole in what
 * the visitor received (up to HOP_TIMEOUT) lets it go after the drain's
 * usual length (twice the visitor's round trip, DRAIN_MIN_US at least).
 */
bool trace_end_may_go(const struct trace *t, uint64_t now_us);
/* When trace_tick must run next; UINT64_MAX when nothing is pending. */
uint64_t trace_next_timeout(const struct trace *t);

#endif
