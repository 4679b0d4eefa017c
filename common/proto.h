/* The broker's line protocol (docs/protocol.md): parsing and formatting, shared by both ends. */
#ifndef TT_PROTO_H
#define TT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PROTO_VERSION	1
#define PROTO_LINE_MAX	1024
#define PROTO_MAX_REPLIES 16
#define PROTO_ID_LEN	32	/* hex digits of a trace id */

enum reply_kind {
	REPLY_TIME_EXCEEDED = 1,
	REPLY_UNREACHABLE,
	REPLY_PACKET_TOO_BIG,
	REPLY_DESTINATION,
};

struct proto_reply {
	struct tt_addr from;
	uint32_t rtt_us;
	enum reply_kind kind;
	uint32_t code;		/* ICMP code; the MTU for packet-too-big */
	uint8_t reply_ttl;
};

struct proto_hop {
	int ttl;
	int sent;
	int nreplies;
	struct proto_reply r[PROTO_MAX_REPLIES];
};

struct proto_trace_req {
	struct tt_addr client, server;
	uint16_t cport, sport;
};

enum proto_verb {
	PROTO_BAD = 0,		/* unparsable */
	PROTO_GREETING,		/* TRACETROUT <version> */
	PROTO_TRACE,
	PROTO_PING,
	PROTO_PONG,
	PROTO_STARTED,
	PROTO_HOP,
	PROTO_END,
	PROTO_ERROR,
	PROTO_STATUS,		/* the request (no keys), or the answer with counters */
};

/* Counters of a STATUS answer; a counter not known is PROTO_STATUS_UNKNOWN and not sent. */
#define PROTO_STATUS_UNKNOWN	UINT64_MAX

struct proto_status {
	uint64_t uptime_s;		/* since the broker started */
	uint64_t traces_running;	/* started or starting, not ended */
	uint64_t traces_done;		/* ended since start (any reason) */
	uint64_t traces_refused;	/* refused by the engine (not-found, not-local ...) */
	uint64_t busy;			/* requests refused by a limit */
	uint64_t forbidden;		/* connections refused by authorization */
	uint64_t probes_sent;		/* engine */
	uint64_t replies_matched;	/* engine: ICMP errors and dup ACKs matched to a probe */
	uint64_t icmp_unmatched;	/* engine: quoting a traced connection, no probe: forged or stray */
	uint64_t icmp_foreign;		/* engine: queued ICMP errors of no trace, passed on */
	uint64_t bad_packets;		/* engine: queued packets that did not parse */
	uint64_t queue_drops;		/* kernel: dropped, or passed unseen, by the queue */
	uint64_t db_errors;		/* failed database writes */
	uint64_t enrich_requests;	/* enrichment look-ups (none yet) */
};

/* One parsed line. Strings point into the caller's line buffer. */
struct proto_msg {
	enum proto_verb verb;
	int version;				/* GREETING */
	struct proto_trace_req req;		/* TRACE */
	char id[PROTO_ID_LEN + 1];		/* STARTED */
	struct proto_hop hop;			/* HOP */
	char code[32];				/* ERROR code, END reason */
	char msg[256];				/* ERROR msg, spaces restored */
	int hops;				/* END */
	uint64_t duration_us;			/* END */
	int stored;				/* STARTED, END: 1, 0, or -1 without the key */
	int retry;				/* ERROR: retry=N seconds, 0 without it */
	struct proto_status status;		/* STATUS answer; all PROTO_STATUS_UNKNOWN in a request */
};

/*
 * Parses one line (without or with its trailing newline; len bytes, not
 * NUL-terminated necessarily). Returns the verb; PROTO_BAD on any error.
 */
enum proto_verb proto_parse(const char *line, size_t len, struct proto_msg *m);

/* Each formatter writes a whole line with '\n' and a NUL; returns its length, or -1 if it did not fit. */
int proto_fmt_trace(char *buf, size_t len, const struct proto_trace_req *req);
/* stored: 1 if the trace is being stored, 0 if not (the key stored=0|1). */
int proto_fmt_started(char *buf, size_t len, const char *id, int stored);
int proto_fmt_hop(char *buf, size_t len, const struct proto_hop *hop);
/* stored: 1 if the whole trace is in the database, 0 if not. */
int proto_fmt_end(char *buf, size_t len, const char *reason, int hops, uint64_t duration_us,
    int stored);
int proto_fmt_error(char *buf, size_t len, const char *code, const char *msg);
/* ERROR with retry=N (seconds until a retry may succeed; N >= 1), as busy sends. */
int proto_fmt_error_retry(char *buf, size_t len, const char *code, int retry, const char *msg);
/* The STATUS answer: every known counter as key=value. */
int proto_fmt_status(char *buf, size_t len, const struct proto_status *st);
/* Counter i of a STATUS answer (0 .. until NULL): its key, and *v its value in st. */
const char *proto_status_key(size_t i, const struct proto_status *st, uint64_t *v);

const char *reply_kind_name(enum reply_kind k);

#endif
