/*
 * Output formats of a trace. Each renderer is pure: it turns parsed broker
 * messages into bytes written through struct out, and never flushes.
 */
#ifndef TT_RENDER_H
#define TT_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "out.h"
#include "proto.h"

/* What a renderer knows of the trace it writes. */
struct render_trace {
	char id[PROTO_ID_LEN + 1];
	struct proto_trace_req conn;	/* the visitor's connection */
	bool unstored;			/* STARTED said stored=0: the helper will not store it */
};

/* Each function returns 0, or -1 if the output failed; NULL ones write nothing. */
struct renderer {
	const char *content_type;
	/* The first body bytes, sent with the head. */
	int (*begin)(struct out *, const struct render_trace *);
	/* One settled hop, in TTL order. */
	int (*hop)(struct out *, const struct render_trace *, const struct proto_hop *);
	/* The broker's END. */
	int (*end)(struct out *, const struct render_trace *, const struct proto_msg *);
	/* The trace broke off after the head; msg is for the visitor. */
	int (*fail)(struct out *, const struct render_trace *, const char *msg);
	/* The body of an error response sent instead of a trace. */
	int (*error)(struct out *, const char *msg);
};

extern const struct renderer render_json;	/* the original's JSON lines: the default */
extern const struct renderer render_text;	/* traceroute(8)-style text */

#endif
