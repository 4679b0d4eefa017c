/*
 * The broker's sessions: a TRACE request from its start through the engine's
 * answers to its END, and the look-ups it may still wait for after that.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "log.h"

#define END_WAIT_SLACK_MS	1000		/* wait=1: END at the latest this after the info timeout */
#define ENDED_KEEP_MS		10000		/* an ended trace kept for its look-ups, at most */

void
trace_free(struct broker *b, struct trace *t)
{
	lookups_drop(b, t);
	limits_release(b, t, 0);
	if (t->client != NULL)
		t->client->trace = NULL;
	TAILQ_REMOVE(&b->traces, t, entry);
	/* An ended trace stopped counting as running at its end. */
	if (t->state != TRACE_ENDED)
		b->ntraces--;
	free(t->lk);
	free(t);
}

int
trace_id_new(char *id)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[PROTO_ID_LEN / 2];
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 15];
	}
	id[PROTO_ID_LEN] = '\0';
	return 0;
}

void
request_trace(struct broker *b, struct client *c, const struct proto_msg *m)
{
	const struct proto_trace_req *req = &m->req;
	struct trace *t;

	c->requested = 1;
	c->deadline_ms = 0;
	/* The engine checks the port too; refusing here saves it the round trip. */
	if (!check_port_allowed(b->cfg, req->sport)) {
		client_error(b, c, "port-not-allowed", "sport is not a traced port");
		return;
	}
	if (b->engine_down) {
		client_error(b, c, "engine-down", "the packet engine is not running");
		return;
	}
	if (b->next_handle == 0) {
		/* 2^32 traces in one run: start again rather than reuse a handle. */
		client_error(b, c, "internal", "trace handles exhausted");
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("broker: trace");
		client_error(b, c, "internal", "out of memory");
		return;
	}
	t->uid = c->uid;
	if (limits_take(b, c, t, &req->client) < 0) {
		free(t);
		return;
	}
	if (trace_id_new(t->id) < 0) {
		log_warn("broker: getrandom");
		limits_release(b, t, 1);
		free(t);
		client_error(b, c, "internal", "no random bytes");
		return;
	}
	t->handle = b->next_handle++;
	t->state = TRACE_STARTING;
	t->client = c;
	t->uid = c->uid;
	t->req = *req;
	/* The administrator's list says more than a header anyone may send. */
	for (int i = 0; i < b->nproxies; i++)
		if (addr_in_prefix(&req->client, &b->proxies[i].net, b->proxies[i].bits))
			t->req.proxy = PROTO_PROXY_LISTED;
	c->trace = t;
	TAILQ_INSERT_TAIL(&b->traces, t, entry);
	b->ntraces++;
	engine_send(b, EMSG_START, t->handle, req);
}

struct trace *
trace_find(struct broker *b, uint32_t handle)
{
	struct trace *t;

	TAILQ_FOREACH(t, &b->traces, entry)
		if (t->handle == handle)
			return t;
	return NULL;
}

void
send_line_hop(struct broker *b, struct trace *t, struct proto_hop *hop)
{
	char line[PROTO_LINE_MAX + 1];
	int n;

	/*
	 * Sixteen IPv6 replies do not fit a 1024-byte line: the client gets the
	 * replies that fit, the database keeps them all.
	 */
	while ((n = proto_fmt_hop(line, sizeof(line), hop)) < 0 && hop->nreplies > 0)
		hop->nreplies--;
	if (n < 0)
		return;
	client_write(b, t->client, line, (size_t)n);
}

/*
 * Unlinks a trace that is ending from its client, so that a client dropped
 * while taking the last line does not cancel a trace the engine already ended.
 */
static struct client *
trace_detach(struct trace *t)
{
	struct client *c = t->client;

	t->client = NULL;
	if (c != NULL)
		c->trace = NULL;
	return c;
}

/* Sends an ended trace's END (if its client is there) and closes the client. */
void
trace_end_line(struct broker *b, struct trace *t)
{
	char line[PROTO_LINE_MAX + 1];
	struct client *c = trace_detach(t);
	int n;

	if (c == NULL)
		return;
	if ((n = proto_fmt_end(line, sizeof(line), t->end_reason, t->end_hops, t->end_dur_us,
	    t->end_stored)) > 0)
		client_write(b, c, line, (size_t)n);
	if (!c->dead)
		client_close_after(c);
}

/*
 * Ends a started trace: stores its end and logs one line. END goes out at
 * once, or, when the client asked wait=1 and look-ups are pending, when they
 * end (trace_lookups_ended). A trace with look-ups pending stays until they
 * end, to keep their answers with it.
 */
void
trace_end(struct broker *b, struct trace *t, const char *reason, int hops)
{
	char addr[VISITOR_STRLEN];
	uint64_t dur = mono_us() - t->started_us;
	int stored = 0;

	/* A trace missing a hop is not kept: every trace stored with an end is whole. */
	if (t->stored && !t->store_failed &&
	    store_trace_end(b->st, t->id, reason, hops, (int64_t)now_ms(CLOCK_REALTIME), dur) == 0)
		stored = 1;
	else if (t->stored) {
		store_trace_forget(b->st, t->id);
		t->store_failed = 1;
	}
	if (stored) {
		struct ended *x = &b->ended[b->ended_next];

		b->ended_next = (b->ended_next + 1) % LATE_TRACES;
		x->handle = t->handle;
		snprintf(x->id, sizeof(x->id), "%s", t->id);
		x->client = t->req.client;
	}
	b->traces_done++;
	site_count(b, t->uid, 1, 0);
	log_info("trace %s: client %s port %u uid %u: %s, %d hops, %llu.%03llu ms%s", t->id,
	    visitor_format(b, &t->req.client, addr), t->req.cport, (unsigned)t->uid, reason, hops,
	    (unsigned long long)(dur / 1000), (unsigned long long)(dur % 1000),
	    stored ? "" : ", not stored");
	/* The engine is done with it, and its visitor may start another. */
	t->state = TRACE_ENDED;
	t->cancelled = 1;
	b->ntraces--;
	limits_release(b, t, 0);
	snprintf(t->end_reason, sizeof(t->end_reason), "%s", reason);
	t->end_hops = hops;
	t->end_stored = stored;
	t->end_dur_us = dur;
	t->end_by_ms = now_ms(CLOCK_MONOTONIC) + b->cfg->info_timeout_us / 1000 + END_WAIT_SLACK_MS;
	if (broker_stop_signal || b->engine_down) {
		trace_end_line(b, t);
		trace_free(b, t);
		return;
	}
	/*
	 * wait=1: the look-ups start now and END goes once they end. Otherwise
	 * END goes now and they start when their batch is due, after the
	 * response has ended: on a small machine their setup would compete
	 * with the web server and the app for the end of this very trace.
	 */
	if (t->req.wait) {
		lookups_start(b, t);
		if (t->lk_pending > 0)
			return;
	}
	trace_end_line(b, t);
	if (t->lk_pending == 0 && t->lk_start_ms == 0)
		trace_free(b, t);
}

/* Ends a trace that never started: the client gets an ERROR. */
void
trace_refused(struct broker *b, struct trace *t, const char *code, const char *text)
{
	char addr[VISITOR_STRLEN];
	struct client *c = trace_detach(t);

	if (c != NULL && !c->dead)
		client_error(b, c, code, *text ? text : code);
	b->traces_refused++;
	site_count(b, t->uid, 0, 1);
	/* Only traces the engine accepted cost the visitor's and the global buckets. */
	limits_release(b, t, 1);
	log_info("trace for client %s port %u uid %u refused: %s (%s)",
	    visitor_format(b, &t->req.client, addr), t->req.cport, (unsigned)t->uid, code, text);
	trace_free(b, t);
}

/*
 * Look-ups due to start (LOOKUP_BATCH_MS after a hop), and ended traces
 * whose look-ups take too long: END by end_by_ms, gone ENDED_KEEP_MS later.
 */
void
ended_traces(struct broker *b)
{
	uint64_t now = now_ms(CLOCK_MONOTONIC);
	struct trace *t, *next;

	for (t = TAILQ_FIRST(&b->traces); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->lk_start_ms != 0 && now >= t->lk_start_ms) {
			lookups_start(b, t);
			/* An ended trace stays only while its look-ups run. */
			if (t->state == TRACE_ENDED && t->lk_pending == 0) {
				trace_end_line(b, t);
				trace_free(b, t);
				continue;
			}
		}
		if (t->state != TRACE_ENDED || now < t->end_by_ms)
			continue;
		trace_end_line(b, t);
		if (now >= t->end_by_ms + ENDED_KEEP_MS)
			trace_free(b, t);
	}
}

/* The next deadline of ended_traces, for the poll timeout; UINT64_MAX if none. */
uint64_t
ended_next(const struct broker *b)
{
	uint64_t next = UINT64_MAX;
	const struct trace *t;

	TAILQ_FOREACH(t, &b->traces, entry) {
		if (t->lk_start_ms != 0 && t->lk_start_ms < next)
			next = t->lk_start_ms;
		if (t->state == TRACE_ENDED) {
			uint64_t at = t->client != NULL ? t->end_by_ms : t->end_by_ms + ENDED_KEEP_MS;

			if (at < next)
				next = at;
		}
	}
	return next;
}

/* STARTED: the id, what the visitor's address is kept as, and for how long. */
int
started_line(const struct broker *b, const struct trace *t, char *line, size_t len)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	memcpy(m.id, t->id, sizeof(m.id));
	memcpy(m.token, t->token, sizeof(m.token));
	m.stored = t->stored;
	m.started_ms = t->started_ms;
	m.addr_mode = b->cfg->truncate_clients ? PROTO_ADDR_PREFIX : PROTO_ADDR_FULL;
	m.retention_s = b->cfg->retention_us / 1000000;
	m.req.proxy = t->req.proxy;
	return proto_fmt_started(line, len, &m);
}
