/*
 * Messages between the broker and the engine over their socketpair
 * (SOCK_SEQPACKET): fixed-size records, validated on receipt by emsg_check().
 */
#ifndef TT_HELPER_EMSG_H
#define TT_HELPER_EMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

enum emsg_type {
	EMSG_START = 1,		/* broker -> engine: trace this connection */
	EMSG_CANCEL,		/* broker -> engine: the client went away */
	EMSG_STARTED,		/* engine -> broker: verified in conntrack, marked */
	EMSG_REFUSED,		/* engine -> broker: not traced; code says why */
	EMSG_HOP,		/* engine -> broker: a settled hop */
	EMSG_END,		/* engine -> broker: the trace is over; last message for it */
	EMSG_STATUS,		/* broker -> engine: send your counters (trace is 0) */
	EMSG_STATUS_ANSWER,	/* engine -> broker: the counters (trace is 0) */
	EMSG_LATE,		/* engine -> broker: an answer after its hop was reported, also after END */
};

/* The engine's counters since it started, for STATUS (docs/protocol.md). */
struct emsg_status {
	uint64_t traces;		/* traces started */
	uint64_t running;		/* traces running now */
	uint64_t packets;		/* queued packets seen */
	uint64_t bad_packets;		/* queued packets that did not parse */
	uint64_t probes_sent;
	uint64_t replies_matched;	/* answers matched to a probe */
	uint64_t icmp_unmatched;	/* errors quoting a traced connection but no probe */
	uint64_t icmp_foreign;		/* queued errors that belong to no trace */
	uint64_t overload_refused;	/* traces refused busy while overloaded (overload.h) */
	uint64_t rss_bytes;		/* the engine's resident memory; 0: not known */
};

#define EMSG_CODE_LEN	32
#define EMSG_TEXT_LEN	128
#define EMSG_RETRY_MAX	86400	/* a day: the most retry= a client parses (proto.c) */

struct emsg {
	uint32_t type;
	uint32_t trace;		/* the broker's handle for the trace, echoed back */
	/*
	 * When the sender had it ready (CLOCK_MONOTONIC, µs; 0: not said), so
	 * that the receiver knows how long it waited to be read (emsg_wait).
	 */
	uint64_t sent_us;
	union {
		struct proto_trace_req start;	/* EMSG_START */
		struct proto_hop hop;		/* EMSG_HOP: ttl before HOP_OFFSET; EMSG_LATE: one reply */
		struct {			/* EMSG_REFUSED, EMSG_END */
			char code[EMSG_CODE_LEN];	/* error code or end reason */
			char text[EMSG_TEXT_LEN];
			int32_t hops;		/* END: highest ttl reported */
			int32_t retry_s;	/* REFUSED busy: when trying again makes sense; 0: not said */
		} end;
		struct emsg_status status;	/* EMSG_STATUS_ANSWER */
	} u;
};

/*
 * Checks a received record: its size, type, and every field's range and
 * termination. Returns 0, or -1 if it is malformed (the receiver then exits).
 */
int emsg_check(const struct emsg *m, size_t len);

/*
 * How long a record waited for its receiver, now (CLOCK_MONOTONIC, µs), into
 * *wait: true, or false when it carries no stamp or one that cannot be right
 * (after now, or more than a second before it).
 */
bool emsg_wait(const struct emsg *m, uint64_t now, uint64_t *wait);

/*
 * Reads one record from the socketpair without waiting. Returns its whole
 * length, also when it was longer than a struct emsg (MSG_TRUNC: the kernel
 * drops the rest, and emsg_check must see that it was too long, not a
 * record's worth of its head); 0 when the peer closed; -1 with errno set
 * (EAGAIN: nothing to read).
 */
ssize_t emsg_recv(int fd, struct emsg *m);

#endif
