/* Orders a trace's hops by TTL and hands them to a renderer; no I/O but through struct out. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

void
stream_init(struct stream *s, const struct renderer *r, struct out *out,
    struct render_trace *t)
{
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->out = out;
	s->t = t;
	memset(&t->st, 0, sizeof(t->st));
	s->next = 1;
}

void
stream_free(struct stream *s)
{
	for (int i = 0; i <= STREAM_TTL_MAX; i++) {
		free(s->held[i]);
		s->held[i] = NULL;
	}
}

enum stream_status
stream_begin(struct stream *s)
{
	if (s->r->begin && s->r->begin(s->out, s->t) < 0)
		return STREAM_OUT_FAILED;
	return STREAM_MORE;
}

static bool
reached(const struct proto_hop *h)
{
	for (int i = 0; i < h->nreplies; i++)
		if (h->r[i].kind == REPLY_DESTINATION)
			return true;
	return false;
}

/* Shows the hop at s->next and moves on; nothing is shown past the visitor. */
static int
show(struct stream *s, const struct proto_hop *h)
{
	if (s->r->hop(s->out, s->t, h) < 0)
		return -1;
	s->next++;
	if (reached(h)) {
		s->reached = true;
		stream_free(s);
	}
	return 0;
}

/* Shows held hops while they are next in line. */
static int
release(struct stream *s)
{
	while (!s->reached && s->next <= STREAM_TTL_MAX && s->held[s->next]) {
		struct proto_hop *h = s->held[s->next];
		int rc;

		s->held[s->next] = NULL;
		rc = show(s, h);
		free(h);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static enum stream_status
feed_hop(struct stream *s, const struct proto_hop *h)
{
	if (s->reached || h->ttl < s->next || h->ttl > STREAM_TTL_MAX ||
	    s->held[h->ttl] != NULL) {
		s->ignored++;
		return STREAM_MORE;
	}
	if (h->ttl > s->next) {
		if ((s->held[h->ttl] = malloc(sizeof(*h))) == NULL)
			return STREAM_NOMEM;
		memcpy(s->held[h->ttl], h, sizeof(*h));
		return STREAM_MORE;
	}
	if (show(s, h) < 0 || release(s) < 0)
		return STREAM_OUT_FAILED;
	/* One flush per event that showed something: the lines leave at once. */
	if (out_flush(s->out) < 0)
		return STREAM_OUT_FAILED;
	return STREAM_MORE;
}

static enum stream_status
feed_end(struct stream *s, const struct proto_msg *m)
{
	int last = 0;

	/* What is still held lies past a TTL the broker never reported: show that one as silent. */
	for (int i = s->next; i <= STREAM_TTL_MAX; i++)
		if (s->held[i])
			last = i;
	while (!s->reached && s->next <= last) {
		if (s->held[s->next] == NULL) {
			struct proto_hop gap;

			memset(&gap, 0, sizeof(gap));
			gap.ttl = s->next;
			if (show(s, &gap) < 0)
				return STREAM_OUT_FAILED;
		} else if (release(s) < 0)
			return STREAM_OUT_FAILED;
	}
	if (s->r->end && s->r->end(s->out, s->t, m) < 0)
		return STREAM_OUT_FAILED;
	if (out_flush(s->out) < 0)
		return STREAM_OUT_FAILED;
	return STREAM_DONE;
}

enum stream_status
stream_feed(struct stream *s, const struct proto_msg *m)
{
	switch (m->verb) {
	case PROTO_HOP:
		return feed_hop(s, &m->hop);
	case PROTO_END:
		return feed_end(s, m);
	default:
		return STREAM_UNEXPECTED;
	}
}

enum stream_status
stream_fail(struct stream *s, const char *msg)
{
	if (s->r->fail && s->r->fail(s->out, s->t, msg) < 0)
		return STREAM_OUT_FAILED;
	if (out_flush(s->out) < 0)
		return STREAM_OUT_FAILED;
	return STREAM_DONE;
}
