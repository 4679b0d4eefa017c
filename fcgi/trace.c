/*
 * The trace handler: one broker conversation per request. Before the head,
 * failures become error statuses; after it, the renderer says what it can.
 */
#include "trace.h"

#include <stdarg.h>
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
	/* Another request on the same connection (an HTTP/2 stream, say) is tracing it now. */
	{ "traced", { 409, "this connection is being traced for another request on it; try "
	    "again when that trace has ended", NULL, BUSY_RETRY_DEFAULT } },
	{ "engine-down", { 503, "the tracing engine is not running", NULL, 0 } },
	/* The helper does not let this app's user in: the site's setup, not the visitor. */
	{ "forbidden", { 500, "tracing is not set up correctly on this site", NULL, 0 } },
	/* Stored traces (GET, HISTORY, DELETE). */
	{ "unknown-trace", { 404, "no such trace (it may have been deleted or expired)", NULL, 0 } },
	{ "bad-token", { 403, "wrong delete token for this trace", NULL, 0 } },
	{ "no-storage", { 404, "this server does not keep traces", NULL, 0 } },
	{ "history-off", { 404, "history is off on this server: it stores visitor addresses "
	    "truncated, and a truncated address is shared by other people (permalinks still work)",
	    NULL, 0 } },
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
	/* The site's setup, not the visitor: the log says which socket and which user. */
	static const struct trace_refusal denied = { 500, "tracing is not set up correctly on "
	    "this site: the web server's user may not open the tracing helper's socket", NULL, 0 };
	static const struct trace_refusal slow = { 503, "the tracing helper is not answering", NULL, 0 };

	switch (st) {
	case CLIENT_UNREACHABLE:
		*f = down;
		break;
	case CLIENT_DENIED:
		*f = denied;
		break;
	case CLIENT_TIMEOUT:
		*f = slow;
		break;
	default:
		*f = helper_failed;
		break;
	}
}

void
trace_refuse(struct out *o, const struct reply_opts *ro, const struct trace_refusal *f)
{
	char extra[256];

	snprintf(extra, sizeof(extra), "%s", f->extra ? f->extra : "");
	if (f->retry > 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    "Retry-After: %d\r\n", f->retry);
	if (reply_error(o, ro, f->status, extra[0] ? extra : NULL, f->msg) < 0)
		log_debug("the visitor went away before the error response");
}

void
trace_refuse_msg(struct out *o, const struct reply_opts *ro, const char *verb,
    const struct proto_msg *m)
{
	struct trace_refusal f;

	if (m->verb != PROTO_ERROR) {
		log_warnx("broker answered %s with an unexpected message (verb %d)", verb, m->verb);
		f = helper_failed;
	} else {
		trace_refusal_for_code(m->code, m->retry, &f);
		/*
		 * The helper failing is a warning; refusing a trace is worth a line;
		 * a stale permalink or a wrong token is the visitor's business.
		 */
		if (f.status >= 500)
			log_warnx("broker refused %s: %s: %s", verb, m->code, m->msg);
		else if (f.status == 404 || strcmp(m->code, "bad-token") == 0)
			log_debug("broker refused %s: %s: %s", verb, m->code, m->msg);
		else
			log_info("broker refused %s: %s: %s", verb, m->code, m->msg);
	}
	trace_refuse(o, ro, &f);
}

void
trace_refuse_client(struct out *o, const struct reply_opts *ro, const char *verb,
    const struct client *c, enum client_status st)
{
	struct trace_refusal f;

	log_warnx("broker, %s: %s", verb, c->why);
	trace_refusal_for_client(st, &f);
	trace_refuse(o, ro, &f);
}

void
trace_fill(struct render_trace *t, const struct proto_msg *m, const char *prefix)
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
	char extra[TRACE_PREFIX_MAX + 512], expose[128];
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

void
trace_body(struct out *o, const struct reply_opts *ro, struct render_trace *t,
    struct client *c, int64_t deadline)
{
	/* A stored trace comes whole: one flush at the end, not one per hop. */
	struct out lazy = { o->write, no_flush, o->ctx };
	struct out *so = t->live ? o : &lazy;
	struct proto_msg m;
	struct stream s;
	enum stream_status ss;
	enum client_status st;

	memset(&m, 0, sizeof(m));
	stream_init(&s, ro->r, so, t);
	/* Live: the engine learns the connection from this first segment, so it leaves now. */
	if (head(o, ro, t) < 0 || (!ro->head_only && stream_begin(&s) != STREAM_MORE) ||
	    ((t->live || ro->head_only) && out_flush(o) < 0))
		ss = STREAM_OUT_FAILED;
	else
		ss = ro->head_only ? STREAM_DONE : STREAM_MORE;
	while (ss == STREAM_MORE) {
		if ((st = client_read(c, &m, deadline)) != CLIENT_OK) {
			if (st == CLIENT_TIMEOUT)
				log_warnx("trace %s: no END from the broker in time", t->id);
			else
				log_warnx("trace %s: %s", t->id, c->why);
			ss = stream_fail(&s, st == CLIENT_TIMEOUT ?
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
	if (ss == STREAM_OUT_FAILED)
		log_debug("trace %s: the visitor went away", t->id);
	else if (m.verb == PROTO_END)
		log_debug("trace %s: %s after %d hops, %d ignored; info or names of %d addresses, "
		    "%d INFO or NAME left out%s", t->id, m.code, m.hops, s.ignored, t->info.n,
		    t->info.dropped, m.stored == 0 ? "; not stored" : "");
	stream_free(&s);
}

void
trace_serve(struct out *o, const struct trace_cfg *cfg, const struct reply_opts *ro,
    const struct proto_trace_req *conn)
{
	char line[PROTO_REQUEST_MAX];
	struct proto_trace_req req;
	struct render_trace t;
	struct proto_msg m;
	struct client c;
	enum client_status st;
	int n;

	/*
	 * Text and the page show the hops' names and places in their summary,
	 * so END waits for the look-ups (the hops themselves never do). JSON
	 * lines, like the original, have only what is known at each hop's line,
	 * and Atlas has no such fields: their END comes at once.
	 */
	req = *conn;
	req.wait = ro->r == &render_text || ro->r == &render_html;
	if ((n = proto_fmt_trace(line, sizeof(line), &req)) < 0) {
		/* Cannot happen: two addresses and two ports. */
		log_warnx("TRACE line does not fit");
		trace_refuse(o, ro, &helper_failed);
		return;
	}
	if ((st = client_ask(&c, cfg->socket_path, cfg->connect_ms, line, (size_t)n,
	    cfg->start_ms, &m)) != CLIENT_OK) {
		trace_refuse_client(o, ro, "before STARTED", &c, st);
		return;
	}
	if (m.verb != PROTO_STARTED) {
		trace_refuse_msg(o, ro, "TRACE", &m);
		client_close(&c);
		return;
	}
	trace_fill(&t, &m, ro->prefix);
	t.conn = *conn;
	/* truncate-clients: the visitor as the helper keeps it, its network, in every format. */
	if (t.addr_mode == PROTO_ADDR_PREFIX)
		addr_visitor_net(&conn->client, &t.conn.client);
	/* The broker's word: the app's header, or the helper's list of proxies. */
	t.conn.proxy = m.req.proxy;
	t.server = ro->server;
	if (conn->nostore)
		log_debug("trace %s: not stored, as the visitor asked", t.id);
	else if (m.stored == 0)
		log_info("trace %s: the helper will not store it", t.id);
	/* A broker that goes silent mid-trace must not hold the visitor forever. */
	trace_body(o, ro, &t, &c, client_deadline(cfg->run_ms));
	client_close(&c);
}
