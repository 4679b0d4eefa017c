/*
 * The trace handler: one broker conversation per request. Before the head,
 * failures become error statuses; after it, the renderer says what it can.
 */
#include "trace.h"

#include <stdio.h>
#include <string.h>

#define BUSY_RETRY_DEFAULT	5	/* Retry-After when a busy broker does not say (before retry=) */

#include "log.h"
#include "reply.h"
#include "stream.h"

static const struct {
	const char *code;
	struct trace_refusal f;
} refusals[] = {
	{ "bad-request", { 400, "the tracing helper rejected the request", NULL, 0 } },
	/* The connection as the web server describes it is not one this host holds: a proxy. */
	{ "not-found", { 422, "this connection cannot be traced: it is not established "
	    "on this server (is a proxy in front of it?)", NULL, 0 } },
	{ "not-local", { 422, "this connection cannot be traced: the server address is not "
	    "local (is a proxy in front of it?)", NULL, 0 } },
	/* The operator's configuration forbids it. */
	{ "port-not-allowed", { 403, "tracing is not enabled for this port", NULL, 0 } },
	{ "busy", { 503, "too many traces are running; try again in a few seconds", NULL,
	    BUSY_RETRY_DEFAULT } },
	{ "engine-down", { 503, "the tracing engine is not running", NULL, 0 } },
	/* The helper does not let this app's user in: the site's setup, not the visitor. */
	{ "forbidden", { 500, "tracing is not set up correctly on this site", NULL, 0 } },
};

static const struct trace_refusal helper_failed = { 502, "the tracing helper failed", NULL, 0 };

void
trace_refusal_for_code(const char *code, int retry, struct trace_refusal *f)
{
	*f = helper_failed;	/* internal, and codes of later versions */
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strcmp(refusals[i].code, code) == 0)
			*f = refusals[i].f;
	if (retry > 0)
		f->retry = retry;
}

void
trace_refusal_for_client(enum client_status st, struct trace_refusal *f)
{
	static const struct trace_refusal down = { 503, "the tracing helper is not running", NULL, 0 };
	static const struct trace_refusal slow = { 503, "the tracing helper is not answering", NULL, 0 };

	switch (st) {
	case CLIENT_UNREACHABLE:
		*f = down;
		break;
	case CLIENT_TIMEOUT:
		*f = slow;
		break;
	default:
		*f = helper_failed;
		break;
	}
}

static void
refuse(struct out *o, const struct renderer *r, const struct trace_refusal *f)
{
	char extra[256];

	snprintf(extra, sizeof(extra), "%s", f->extra ? f->extra : "");
	if (f->retry > 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    "Retry-After: %d\r\n", f->retry);
	if (reply_error(o, r, false, f->status, extra[0] ? extra : NULL, f->msg) < 0)
		log_debug("the visitor went away before the error response");
}

/*
 * Sends TRACE and waits for STARTED. Returns 0 with the id in *t, or -1
 * after writing an error response and logging the full reason.
 */
static int
start(struct client *c, struct out *o, const struct trace_cfg *cfg,
    const struct renderer *r, struct render_trace *t)
{
	char line[PROTO_LINE_MAX];
	struct trace_refusal f;
	struct proto_msg m;
	enum client_status st;
	int64_t deadline;
	int n;

	if ((st = client_open(c, cfg->socket_path, cfg->connect_ms)) != CLIENT_OK) {
		log_warnx("cannot reach the broker: %s", c->why);
		goto failed;
	}
	if ((n = proto_fmt_trace(line, sizeof(line), &t->conn)) < 0) {
		log_warnx("TRACE line does not fit");
		st = CLIENT_IOERR;
		goto failed;
	}
	deadline = client_deadline(cfg->start_ms);
	if ((st = client_send(c, line, (size_t)n, deadline)) != CLIENT_OK ||
	    (st = client_read(c, &m, deadline)) != CLIENT_OK) {
		log_warnx("broker, before STARTED: %s", c->why);
		goto failed;
	}
	switch (m.verb) {
	case PROTO_STARTED:
		memcpy(t->id, m.id, sizeof(t->id));
		t->unstored = m.stored == 0;
		if (m.stored == 0)
			log_info("trace %s: the helper will not store it", t->id);
		return 0;
	case PROTO_ERROR:
		trace_refusal_for_code(m.code, m.retry, &f);
		/* Refusing this one connection is routine; the helper failing is a warning. */
		if (f.status >= 500)
			log_warnx("broker refused: %s: %s", m.code, m.msg);
		else
			log_info("broker refused: %s: %s", m.code, m.msg);
		refuse(o, r, &f);
		return -1;
	default:
		log_warnx("broker answered TRACE with neither STARTED nor ERROR (verb %d)", m.verb);
		st = CLIENT_GARBAGE;
		goto failed;
	}
failed:
	trace_refusal_for_client(st, &f);
	refuse(o, r, &f);
	return -1;
}

/*
 * Writes the head and the renderer's preamble and flushes them at once:
 * the engine learns the connection from this first segment.
 */
static enum stream_status
head(struct out *o, const struct renderer *r, const struct render_trace *t,
    const char *prefix, struct stream *s)
{
	char extra[TRACE_PREFIX_MAX + 256];
	int n;

	/*
	 * Cross-origin pages may read the id and the permalink too. A trace the
	 * helper will not store has no permalink, and says so.
	 */
	if (t->unstored)
		n = snprintf(extra, sizeof(extra), "X-Trace-Id: %s\r\n"
		    "X-Trace-Stored: no\r\n"
		    "Access-Control-Expose-Headers: X-Trace-Id, X-Trace-Stored\r\n", t->id);
	else
		n = snprintf(extra, sizeof(extra), "X-Trace-Id: %s\r\n"
		    "Link: <%s/trace/%s>; rel=\"bookmark\"\r\n"
		    "Access-Control-Expose-Headers: X-Trace-Id, Link\r\n",
		    t->id, prefix, t->id);
	if (n < 0 || (size_t)n >= sizeof(extra))
		return STREAM_OUT_FAILED;	/* cannot happen: prefix is bounded */
	if (reply_head(o, 200, r->content_type, extra) < 0 || stream_begin(s) != STREAM_MORE ||
	    out_flush(o) < 0)
		return STREAM_OUT_FAILED;
	return STREAM_MORE;
}

void
trace_serve(struct out *o, const struct trace_cfg *cfg, const struct renderer *r,
    const struct proto_trace_req *conn, const char *prefix)
{
	struct render_trace t;
	struct proto_msg m;
	struct client c;
	struct stream s;
	enum stream_status ss;
	enum client_status st;
	int64_t deadline;

	memset(&t, 0, sizeof(t));
	memset(&m, 0, sizeof(m));
	t.conn = *conn;
	if (start(&c, o, cfg, r, &t) < 0) {
		client_close(&c);
		return;
	}
	/* A broker that goes silent mid-trace must not hold the visitor forever. */
	deadline = client_deadline(cfg->run_ms);
	stream_init(&s, r, o, &t);
	ss = head(o, r, &t, prefix, &s);
	while (ss == STREAM_MORE) {
		if ((st = client_read(&c, &m, deadline)) != CLIENT_OK) {
			if (st == CLIENT_TIMEOUT)
				log_warnx("trace %s: no END from the broker within %d ms", t.id,
				    cfg->run_ms);
			else
				log_warnx("trace %s: %s", t.id, c.why);
			ss = stream_fail(&s, st == CLIENT_TIMEOUT ?
			    "the tracing helper stopped answering" : "the tracing helper failed");
			break;
		}
		ss = stream_feed(&s, &m);
		if (ss == STREAM_UNEXPECTED || ss == STREAM_NOMEM) {
			if (ss == STREAM_NOMEM)
				log_warn("trace %s", t.id);
			else if (m.verb == PROTO_ERROR)
				log_warnx("trace %s: broker error after STARTED: %s: %s", t.id,
				    m.code, m.msg);
			else
				log_warnx("trace %s: unexpected message from the broker (verb %d)",
				    t.id, m.verb);
			ss = stream_fail(&s, "the tracing helper failed");
		}
	}
	if (ss == STREAM_OUT_FAILED)
		log_debug("trace %s: the visitor went away", t.id);
	else if (m.verb == PROTO_END)
		log_debug("trace %s: %s after %d hops, %d ignored%s", t.id, m.code, m.hops,
		    s.ignored, m.stored == 0 ? "; not stored" : "");
	stream_free(&s);
	client_close(&c);
}
