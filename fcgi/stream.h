/*
 * The pure core of a trace response: takes the broker's messages after
 * STARTED, puts the hops in TTL order, and drives one renderer.
 */
#ifndef TT_FCGI_STREAM_H
#define TT_FCGI_STREAM_H

#include <stdbool.h>

#include "out.h"
#include "proto.h"
#include "render.h"

#define STREAM_TTL_MAX	255

enum stream_status {
	STREAM_MORE = 0,	/* keep reading */
	STREAM_DONE,		/* END seen and rendered */
	STREAM_OUT_FAILED,	/* the output failed: the visitor has gone */
	STREAM_UNEXPECTED,	/* not a HOP, END, INFO or NAME; the caller logs it and fails the stream */
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
 * INFO (without its body: stream_info) and NAME go to the trace's table.
 */
enum stream_status stream_feed(struct stream *s, const struct proto_msg *m);
/*
 * INFO (with body, len bytes: the broker's JSON, or NULL) or NAME: what
 * the broker says of an address, kept in s->t->info for the hops shown
 * after it and the summary. A later one for the same address replaces it.
 * Writes nothing. A body that is not one JSON value is not kept (the
 * fields are); so is nothing past the table's bounds (render.h): both
 * counted in s->t->info.dropped.
 */
enum stream_status stream_info(struct stream *s, const struct proto_msg *m, const char *body,
    size_t len);
/* The trace broke off: tells the visitor (text only) and flushes. */
enum stream_status stream_fail(struct stream *s, const char *msg);
/* Frees held hops and the trace's info table; the structs themselves are the caller's. */
void stream_free(struct stream *s);

#endif
