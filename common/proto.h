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
};

/*
 * Parses one line (without or with its trailing newline; len bytes, not
 * NUL-terminated necessarily). Returns the verb; PROTO_BAD on any error.
 */
enum proto_verb proto_parse(const char *line, size_t len, struct proto_msg *m);

/* Each formatter writes a whole line with '\n' and a NUL; returns its length, or -1 if it did not fit. */
int proto_fmt_trace(char *buf, size_t len, const struct proto_trace_req *req);
int proto_fmt_started(char *buf, size_t len, const char *id);
int proto_fmt_hop(char *buf, size_t len, const struct proto_hop *hop);
int proto_fmt_end(char *buf, size_t len, const char *reason, int hops, uint64_t duration_us);
int proto_fmt_error(char *buf, size_t len, const char *code, const char *msg);

const char *reply_kind_name(enum reply_kind k);

#endif
