/* Orders a trace's hops by TTL and hands them to a renderer; no I/O but through struct out. */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_common.h"

void
stream_init(struct stream *s, const struct renderer *r, struct out *out,
    struct render_trace *t)
{
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->out = out;
	s->t = t;
	memset(&t->st, 0, sizeof(t->st));
	memset(&t->info, 0, sizeof(t->info));
	s->next = 1;
}

static void
held_free(struct stream *s)
{
	for (int i = 0; i <= STREAM_TTL_MAX; i++) {
		free(s->held[i]);
		s->held[i] = NULL;
	}
}

void
stream_free(struct stream *s)
{
	struct render_infos *in = &s->t->info;

	held_free(s);
	for (int i = 0; i < in->n && i < RENDER_INFO_ADDRS; i++) {
		free(in->e[i]->body);
		free(in->e[i]);
		in->e[i] = NULL;
	}
	in->n = 0;
	in->bytes = 0;
}

enum stream_status
stream_begin(struct stream *s)
{
	if (s->r->begin && s->r->begin(s->out, s->t) < 0)
		return STREAM_OUT_FAILED;
	return STREAM_MORE;
}

/* Did the visitor answer at this hop in time? A late answer does not end the path there. */
static bool
reached(const struct proto_hop *h)
{
	for (int i = 0; i < h->nreplies && i < PROTO_MAX_REPLIES; i++)
		if (h->r[i].kind == REPLY_DESTINATION && !(h->r[i].flags & PROTO_RF_LATE))
			return true;
	return false;
}

static struct render_info *
entry(struct render_infos *in, const struct tt_addr *a)
{
	for (int i = 0; i < in->n && i < RENDER_INFO_ADDRS; i++)
		if (addr_equal(&in->e[i]->addr, a))
			return in->e[i];
	return NULL;
}

/* The first hop of each address shown, so the summary lists addresses in path order. */
static void
note_shown(struct render_infos *in, const struct proto_hop *h)
{
	/* A silent hop's reused router is shown at it too (after its replies: it has none). */
	for (int i = 0; i <= h->nreplies && i <= PROTO_MAX_REPLIES; i++) {
		const struct tt_addr *a = i < h->nreplies && i < PROTO_MAX_REPLIES ? &h->r[i].from :
		    hopstats_reused(h);
		struct render_info *e;
		int k;

		if (a == NULL)
			continue;
		for (k = 0; k < in->nshown; k++)
			if (addr_equal(&in->shown[k].addr, a))
				break;
		if (k == in->nshown && k < RENDER_SHOWN_MAX) {
			in->shown[k].addr = *a;
			in->shown[k].ttl = h->ttl;
			in->nshown++;
		}
		if ((e = entry(in, a)) != NULL && e->ttl == 0)
			e->ttl = h->ttl;
	}
}

/* Shows the hop at s->next and moves on; nothing is shown past the visitor. */
static int
show(struct stream *s, const struct proto_hop *h)
{
	if (s->r->hop(s->out, s->t, h) < 0)
		return -1;
	note_shown(&s->t->info, h);
	s->next++;
	if (reached(h)) {
		s->reached = true;
		held_free(s);
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

/* The entry of a, made if the table has room; NULL if not. */
static struct render_info *
entry_new(struct render_infos *in, const struct tt_addr *a)
{
	struct render_info *e;

	if ((e = entry(in, a)) != NULL)
		return e;
	if (in->n >= RENDER_INFO_ADDRS || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->addr = *a;
	/* Its hop may be shown already: INFO fetched after the HOP. */
	for (int k = 0; k < in->nshown; k++)
		if (addr_equal(&in->shown[k].addr, a))
			e->ttl = in->shown[k].ttl;
	in->e[in->n++] = e;
	return e;
}

enum stream_status
stream_info(struct stream *s, const struct proto_msg *m, const char *body, size_t len)
{
	struct render_infos *in = &s->t->info;
	struct render_info *e;
	char *compact = NULL;
	size_t clen = 0;

	if (m->verb != PROTO_INFO && m->verb != PROTO_NAME)
		return STREAM_UNEXPECTED;
	/* Enrichment is extra: whatever does not fit is left out, and the trace goes on. */
	if ((e = entry_new(in, &m->addr)) == NULL) {
		in->dropped++;
		return STREAM_MORE;
	}
	if (m->verb == PROTO_NAME) {
		snprintf(e->name, sizeof(e->name), "%s", m->name);
		return STREAM_MORE;
	}
	e->info = true;
	e->f = m->info;
	in->bytes -= e->body_len;
	free(e->body);
	e->body = NULL;
	e->body_len = 0;
	if (body == NULL)
		return STREAM_MORE;
	if (json_compact(body, len, RENDER_INFO_BYTES - in->bytes, &compact, &clen) != JSON_OK) {
		in->dropped++;
		return STREAM_MORE;
	}
	e->body = compact;
	e->body_len = clen;
	in->bytes += clen;
	return STREAM_MORE;
}

enum stream_status
stream_feed(struct stream *s, const struct proto_msg *m)
{
	switch (m->verb) {
	case PROTO_HOP:
		return feed_hop(s, &m->hop);
	case PROTO_END:
		return feed_end(s, m);
	case PROTO_INFO:
	case PROTO_NAME:
		return stream_info(s, m, NULL, 0);
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
