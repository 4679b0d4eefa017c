/*
 * The pure core of a trace response: takes the broker's messages after
 * STARTED, puts the hops in TTL order, and drives one renderer.
 */
#ifndef TT_STREAM_H
#define TT_STREAM_H

#include <stdbool.h>

#include "out.h"
#include "proto.h"
#include "render.h"

#define STREAM_TTL_MAX	255

enum stream_status {
	STREAM_MORE = 0,	/* keep reading */
	STREAM_DONE,		/* END seen and rendered */
	STREAM_OUT_FAILED,	/* the output failed: the visitor has gone */
	STREAM_UNEXPECTED,	/* not a HOP or END; the caller logs it and fails the stream */
	STREAM_NOMEM,
};

struct stream {
	const struct renderer *r;
	struct out *out;
	struct render_trace *t;
	int next;			/* the next TTL to show */
	bool reached;			/* the visitor answered: later hops are not shown */
	int ignored;			/* duplicates and hops past the visitor */
	struct proto_hop *held[STREAM_TTL_MAX + 1];	/* settled before a lower TTL */
};

void stream_init(struct stream *s, const struct renderer *r, struct out *out,
    struct render_trace *t);
/* Writes the renderer's preamble (nothing for JSON); the caller flushes with the head. */
enum stream_status stream_begin(struct stream *s);
/*
 * Feeds one message. A HOP is shown, and the output flushed, as soon as it
 * and every lower TTL are settled. END shows what is still held, in order,
 * with never-reported TTLs below a held one as silent, then the summary.
 */
enum stream_status stream_feed(struct stream *s, const struct proto_msg *m);
/* The trace broke off: tells the visitor (text only) and flushes. */
enum stream_status stream_fail(struct stream *s, const char *msg);
/* Frees held hops; the struct itself is the caller's. */
void stream_free(struct stream *s);

#endif
