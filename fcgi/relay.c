/*
 * The head of a 200 trace response and the broker's messages after it,
 * read from the client and fed to the stream until END or the deadline.
 */
#include "relay.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "stream.h"

void
relay_fill(struct render_trace *t, const struct proto_msg *m, const char *prefix)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->id, m->id, sizeof(t->id));
	t->live = m->verb == PROTO_STARTED;
	if (m->verb == PROTO_STORED)
		t->conn = m->req;
	t->unstored = m->stored == 0;
	t->started_ms = m->started_ms;
	/* Only the visitor who took a stored trace gets its token: in STARTED, never in STORED. */
	if (t->live && m->stored == 1)
		memcpy(t->token, m->token, sizeof(t->token));
	t->addr_mode = m->addr_mode;
	t->retention_s = m->retention_s;
	memcpy(t->vantage, m->vantage, sizeof(t->vantage));
	t->prefix = prefix;
}

/* Appends to buf (size bytes) at *len; *len counts what did not fit too. */
static void __attribute__((format(printf, 4, 5)))
head_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + (*len < size ? *len : size - 1), *len < size ? size - *len : 1, fmt,
	    ap);
	va_end(ap);
	*len += n > 0 ? (size_t)n : 0;
}

/*
 * The head of a trace response. A trace the helper will not store has no
 * permalink, and says so. Where other pages may read the response (ro->cors:
 * the live trace in JSON lines), they may read its id, permalink and note
 * too, never its delete token.
 */
static int
head(struct out *o, const struct reply_opts *ro, const struct render_trace *t)
{
	char extra[REPLY_PREFIX_MAX + 512], expose[128];
	size_t n = 0, e = 0;

	head_add(extra, sizeof(extra), &n, "X-Trace-Id: %s\r\n", t->id);
	head_add(expose, sizeof(expose), &e, "X-Trace-Id");
	if (t->unstored) {
		head_add(extra, sizeof(extra), &n, "X-Trace-Stored: no\r\n");
		head_add(expose, sizeof(expose), &e, ", X-Trace-Stored");
	} else {
		head_add(extra, sizeof(extra), &n, "Link: <%s/trace/%s>; rel=\"bookmark\"\r\n",
		    ro->prefix, t->id);
		head_add(expose, sizeof(expose), &e, ", Link");
	}
	if (t->token[0])
		head_add(extra, sizeof(extra), &n, "X-Trace-Delete-Token: %s\r\n", t->token);
	/* JSON lines have no room for a note: a client learns of the proxy here. */
	if (t->conn.proxy) {
		head_add(extra, sizeof(extra), &n, "X-Trace-Proxy: %s\r\n",
		    proto_proxy_name(t->conn.proxy));
		head_add(expose, sizeof(expose), &e, ", X-Trace-Proxy");
	}
	if (ro->cors)
		head_add(extra, sizeof(extra), &n, "Access-Control-Expose-Headers: %s\r\n", expose);
	if (n >= sizeof(extra))
		return -1;	/* cannot happen: prefix is bounded */
	return reply_head(o, 200, ro->r->content_type, reply_flags(ro), extra);
}

static int
no_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

/*
 * A live trace's output: a flush waits while the broker's next line is
 * already here, so that hops settled together leave in one write, one
 * segment, not one each (under load every segment of a traced connection
 * passes the engine's queue, and its ACK too).
 */
struct held {
	struct out *o;
	int dirty;		/* written since the last real flush */
};

static int
held_write(void *ctx, const char *buf, size_t len)
{
	struct held *h = ctx;

	h->dirty = 1;
	return h->o->write(h->o->ctx, buf, len);
}

static int
held_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

/* The real flush, when something waits for it and no line of the broker's does. */
static int
held_release(struct held *h, struct bclient *c)
{
	if (!h->dirty || (c != NULL && bclient_ready(c)))
		return 0;
	h->dirty = 0;
	return out_flush(h->o);
}

void
relay_body(struct out *o, const struct reply_opts *ro, struct render_trace *t,
    struct bclient *c, int64_t deadline)
{
	/* A stored trace comes whole: one flush at the end, not one per hop. */
	struct out lazy = { o->write, no_flush, o->ctx };
	struct held h = { o, 0 };
	struct out live = { held_write, held_flush, &h };
	struct out *so = t->live ? &live : &lazy;
	struct proto_msg m;
	struct stream s;
	enum stream_status ss;
	enum bclient_status st;

	memset(&m, 0, sizeof(m));
	stream_init(&s, ro->r, so, t);
	/* Live: the engine learns the connection from this first segment, so it leaves now. */
	if (head(o, ro, t) < 0 || (!ro->head_only && stream_begin(&s) != STREAM_MORE) ||
	    ((t->live || ro->head_only) && out_flush(o) < 0))
		ss = STREAM_OUT_FAILED;
	else
		ss = ro->head_only ? STREAM_DONE : STREAM_MORE;
	while (ss == STREAM_MORE) {
		if (held_release(&h, c) < 0) {
			ss = STREAM_OUT_FAILED;
			break;
		}
		if ((st = bclient_read(c, &m, deadline)) != BCLIENT_OK) {
			if (st == BCLIENT_TIMEOUT)
				log_warnx("trace %s: no END from the broker in time", t->id);
			else
				log_warnx("trace %s: %s", t->id, c->why);
			ss = stream_fail(&s, st == BCLIENT_TIMEOUT ?
			    "the tracing helper stopped answering" : "the tracing helper failed");
			break;
		}
		ss = m.verb == PROTO_INFO ? stream_info(&s, &m, c->body, c->body_len) :
		    stream_feed(&s, &m);
		if (ss == STREAM_UNEXPECTED || ss == STREAM_NOMEM) {
			if (ss == STREAM_NOMEM)
				log_warn("trace %s", t->id);
			else if (m.verb == PROTO_ERROR)
				log_warnx("trace %s: broker error after the head: %s: %s", t->id,
				    m.code, m.msg);
			else
				log_warnx("trace %s: unexpected message from the broker (verb %d)",
				    t->id, m.verb);
			ss = stream_fail(&s, "the tracing helper failed");
		}
	}
	if (ss != STREAM_OUT_FAILED && !t->live && !ro->head_only && out_flush(o) < 0)
		ss = STREAM_OUT_FAILED;
	if (ss != STREAM_OUT_FAILED && held_release(&h, NULL) < 0)
		ss = STREAM_OUT_FAILED;
	if (ss == STREAM_OUT_FAILED)
		log_debug("trace %s: the visitor went away", t->id);
	else if (m.verb == PROTO_END)
		log_debug("trace %s: %s after %d hops, %d ignored; info or names of %d addresses, "
		    "%d INFO or NAME left out%s", t->id, m.code, m.hops, s.ignored, t->info.n,
		    t->info.dropped, m.stored == 0 ? "; not stored" : "");
	stream_free(&s);
}
