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
#define ENDED_KEEP_MS		10000		/* an ended session kept for its look-ups, at most */

/*
 * What each event does in each state. The engine sends one END or REFUSED
 * per trace; a second one for an ended session is ignored, since ending it
 * again would count it done twice and free a max-traces slot it never held.
 */
static const enum session_action steps[SESSION_STATES][SESSION_EVENTS] = {
	[SESSION_STARTING] = {
		[SESSION_EV_STARTED] = SESSION_DO_BEGIN,
		[SESSION_EV_REFUSED] = SESSION_DO_REFUSE,
		[SESSION_EV_HOP] = SESSION_DO_IGNORE,
		[SESSION_EV_END] = SESSION_DO_REFUSE,
		[SESSION_EV_ENGINE_DOWN] = SESSION_DO_REFUSE,
		[SESSION_EV_CLIENT_GONE] = SESSION_DO_CANCEL,
	},
	[SESSION_RUNNING] = {
		[SESSION_EV_STARTED] = SESSION_DO_IGNORE,
		[SESSION_EV_REFUSED] = SESSION_DO_END,	/* as "internal" */
		[SESSION_EV_HOP] = SESSION_DO_HOP,
		[SESSION_EV_END] = SESSION_DO_END,
		[SESSION_EV_ENGINE_DOWN] = SESSION_DO_END,
		[SESSION_EV_CLIENT_GONE] = SESSION_DO_CANCEL,
	},
	[SESSION_ENDED] = {
		[SESSION_EV_STARTED] = SESSION_DO_IGNORE,
		[SESSION_EV_REFUSED] = SESSION_DO_IGNORE,
		[SESSION_EV_HOP] = SESSION_DO_IGNORE,
		[SESSION_EV_END] = SESSION_DO_IGNORE,
		[SESSION_EV_ENGINE_DOWN] = SESSION_DO_CLOSE,
		[SESSION_EV_CLIENT_GONE] = SESSION_DO_NOTHING,	/* the engine is done with it */
	},
};

enum session_action
session_step(enum session_state state, enum session_event ev)
{
	if ((unsigned)state >= SESSION_STATES || (unsigned)ev >= SESSION_EVENTS)
		return SESSION_DO_IGNORE;
	return steps[state][ev];
}

/*
 * Admits a session for its client's site and its visitor (admit.h): on
 * success it holds its visitor and prefixes. Returns 0, or -1 after
 * answering busy (or internal, out of memory).
 */
static int
limits_take(struct broker *b, struct client *c, struct session *s, const struct tt_addr *client)
{
	struct site *site = site_get(b, c->uid);
	struct admit_busy busy;

	if (site == NULL) {
		client_error(b, c, "internal", "out of memory");
		return -1;
	}
	switch (admit_take(&b->admit, &site->admit, b->nrunning, client, time_us(CLOCK_MONOTONIC),
	    s->visitor, &busy)) {
	case ADMIT_OK:
		return 0;
	case ADMIT_BUSY:
		client_busy(b, c, busy.retry_s, busy.why);
		return -1;
	default:
		log_warn("broker: visitor");
		client_error(b, c, "internal", "out of memory");
		return -1;
	}
}

/* Releases what a session holds; with refund, gives back the rate tokens it was charged. */
static void
limits_release(struct broker *b, struct session *s, int refund)
{
	struct site *site = site_get(b, s->uid);

	admit_release(&b->admit, site != NULL ? &site->admit : NULL, s->visitor, refund,
	    time_us(CLOCK_MONOTONIC));
}

void
session_free(struct broker *b, struct session *s)
{
	lookups_drop(b, s);
	limits_release(b, s, 0);
	if (s->client != NULL)
		s->client->session = NULL;
	TAILQ_REMOVE(&b->sessions, s, entry);
	/* An ended session stopped counting as running at its end. */
	if (s->state != SESSION_ENDED)
		b->nrunning--;
	free(s->lk);
	free(s);
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
	struct session *s;

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
	if (overloaded_busy(b, c))
		return;
	if (b->next_handle == 0) {
		/* 2^32 traces in one run: start again rather than reuse a handle. */
		client_error(b, c, "internal", "trace handles exhausted");
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("broker: trace");
		client_error(b, c, "internal", "out of memory");
		return;
	}
	s->uid = c->uid;
	if (limits_take(b, c, s, &req->client) < 0) {
		free(s);
		return;
	}
	if (trace_id_new(s->id) < 0) {
		log_warn("broker: getrandom");
		limits_release(b, s, 1);
		free(s);
		client_error(b, c, "internal", "no random bytes");
		return;
	}
	s->handle = b->next_handle++;
	s->state = SESSION_STARTING;
	s->client = c;
	s->uid = c->uid;
	s->req = *req;
	/* The administrator's list says more than a header anyone may send. */
	for (int i = 0; i < b->nproxies; i++)
		if (addr_in_prefix(&req->client, &b->proxies[i].net, b->proxies[i].bits))
			s->req.proxy = PROTO_PROXY_LISTED;
	c->session = s;
	TAILQ_INSERT_TAIL(&b->sessions, s, entry);
	b->nrunning++;
	engine_send(b, EMSG_START, s->handle, req);
}

struct session *
session_find(struct broker *b, uint32_t handle)
{
	struct session *s;

	TAILQ_FOREACH(s, &b->sessions, entry)
		if (s->handle == handle)
			return s;
	return NULL;
}

static void
send_line_hop(struct broker *b, struct session *s, struct proto_hop *hop)
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
	client_write(b, s->client, line, (size_t)n);
}

/* STARTED: the id, what the visitor's address is kept as, and for how long. */
static int
started_line(const struct broker *b, const struct session *s, char *line, size_t len)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	memcpy(m.id, s->id, sizeof(m.id));
	memcpy(m.token, s->token, sizeof(m.token));
	m.stored = s->stored;
	m.started_ms = s->started_ms;
	m.addr_mode = b->cfg->truncate_clients ? PROTO_ADDR_PREFIX : PROTO_ADDR_FULL;
	m.retention_s = b->cfg->retention_us / 1000000;
	m.req.proxy = s->req.proxy;
	snprintf(m.vantage, sizeof(m.vantage), "%s", fleet_vantage(b->fleet));
	return proto_fmt_started(line, len, &m);
}

/* The engine started the trace: store it, and tell the client its id. */
void
session_begin(struct broker *b, struct session *s)
{
	char line[PROTO_LINE_MAX + 1];
	int n;

	s->state = SESSION_RUNNING;
	s->started_us = time_us(CLOCK_MONOTONIC);
	/* Before the app writes: what lets no-segment be told apart (no_segment_why). */
	s->segs0_ok = conn_segs(b, &s->req, &s->segs0) == 0;
	s->started_ms = time_ms(CLOCK_REALTIME);
	store_retry(b);
	/* The delete token is random apart from the id: knowing one never gives the other. */
	s->stored = b->st != NULL && !s->req.nostore && trace_id_new(s->token) == 0 &&
	    store_trace_begin(b->st, s->id, s->uid, &s->req, (int64_t)s->started_ms,
	    s->token, b->cfg->truncate_clients) == 0;
	/*
	 * STARTED goes before the commit: it says the trace is being stored.
	 * END says whether it was; should this batch or a later one of its hops
	 * be lost, END says not stored (sessions_commit).
	 */
	s->store_batch = store_batch(b->st);
	if (s->client != NULL && (n = started_line(b, s, line, sizeof(line))) > 0)
		client_write(b, s->client, line, (size_t)n);
}

/* A hop from the engine: stored, its addresses looked up, and sent. */
void
session_hop(struct broker *b, struct session *s, struct proto_hop *hop)
{
	int off = b->cfg->hop_offset;

	/* HOP_OFFSET hides the first hops (the site's own network), as the original did. */
	if (hop->ttl <= off)
		return;
	hop->ttl -= off;
	hop_truncate(b, &s->req.client, hop);
	if (s->stored && !s->store_failed && store_hop(b->st, s->id, hop) < 0)
		s->store_failed = 1;
	hop_lookups(b, s, hop);
	if (s->client != NULL)
		send_line_hop(b, s, hop);
}

/*
 * Unlinks a session that is ending from its client, so that a client dropped
 * while taking the last line does not cancel a trace the engine already ended.
 */
static struct client *
session_detach(struct session *s)
{
	struct client *c = s->client;

	s->client = NULL;
	if (c != NULL)
		c->session = NULL;
	return c;
}

/* Sends an ended session's END (if its client is there) and closes the client. */
void
session_end_line(struct broker *b, struct session *s)
{
	char line[PROTO_LINE_MAX + 1];
	struct client *c = session_detach(s);
	int n;

	if (c == NULL)
		return;
	if ((n = proto_fmt_end(line, sizeof(line), s->end_reason, s->end_hops, s->end_dur_us,
	    s->end_stored)) > 0)
		client_write(b, c, line, (size_t)n);
	if (!c->dead)
		client_close_after(c);
}

static void session_ended(struct broker *b, struct session *s);

/*
 * Ends a started session: stores its trace's end and logs one line. END goes
 * out once the end is committed (a stored trace's, at the round's end), or,
 * when the client asked wait=1 and look-ups are pending, when they end
 * (lookup_done). A session with look-ups pending stays until they end, to
 * keep their answers with it.
 */
void
session_end(struct broker *b, struct session *s, const char *reason, int hops)
{
	uint64_t dur = time_us(CLOCK_MONOTONIC) - s->started_us;

	/* A trace missing a hop is not kept: every trace stored with an end is whole. */
	s->end_stored = s->stored && !s->store_failed &&
	    store_trace_end(b->st, s->id, reason, hops, (int64_t)time_ms(CLOCK_REALTIME), dur) == 0;
	if (s->stored && !s->end_stored) {
		store_trace_forget(b->st, s->id);
		s->store_failed = 1;
	}
	/* The engine is done with it, and its visitor may start another. */
	s->state = SESSION_ENDED;
	b->nrunning--;
	limits_release(b, s, 0);
	snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
	s->end_hops = hops;
	s->end_dur_us = dur;
	s->end_by_ms = time_ms(CLOCK_MONOTONIC) + b->cfg->info_timeout_us / 1000 + END_WAIT_SLACK_MS;
	/* END says stored only once the end is committed: at the round's commit, with others'. */
	s->end_commit = s->end_stored;
	if (!s->end_commit)
		session_ended(b, s);
	else if (broker_stop_signal || b->engine_down)
		sessions_commit(b);	/* no round ends any more */
}

/*
 * Is it time to commit the store's batch? Once it is COMMIT_EVERY_MS old, or
 * at once when no trace is running (nothing more will join it soon). With
 * a commit each round the broker made 6.7 writes and 0.9 lock calls a
 * trace at 1,700 traces a second, 5.4 and 0.5 with 4 ms (issue 15): the
 * pages that traces share are written once for more of them.
 */
bool
commit_due(const struct broker *b, uint64_t now_ms)
{
	uint64_t since = store_batch_since(b->st);

	return since != 0 && (b->nrunning == 0 || now_ms - since >= COMMIT_EVERY_MS);
}

/*
 * store_commit, timed for the metrics when a batch was open: a commit of
 * nothing is no commit. Returns what store_commit returns.
 */
int
commit_timed(struct broker *b)
{
	uint64_t t0;
	int rc;

	if (store_batch_since(b->st) == 0)
		return store_commit(b->st);
	t0 = time_us(CLOCK_MONOTONIC);
	rc = store_commit(b->st);
	metrics_hist_add(&b->commits, time_us(CLOCK_MONOTONIC) - t0);
	return rc;
}

/* Commits the store's batch, then ends the sessions whose END waited for it. */
void
sessions_commit(struct broker *b)
{
	bool ok = commit_timed(b) == 0;
	struct session *s, *next;

	for (s = TAILQ_FIRST(&b->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (!s->end_commit)
			continue;
		s->end_commit = 0;
		if (!ok || store_lost_since(b->st, s->store_batch)) {
			s->end_stored = 0;
			s->store_failed = 1;
			store_trace_forget(b->st, s->id);
		}
		session_ended(b, s);
	}
}

/* An ended session, its END's stored flag settled: counted, logged, and its END sent or due. */
static void
session_ended(struct broker *b, struct session *s)
{
	char addr[VISITOR_STRLEN];

	if (s->end_stored) {
		struct ended *x = &b->ended[b->ended_next];

		b->ended_next = (b->ended_next + 1) % LATE_TRACES;
		x->handle = s->handle;
		snprintf(x->id, sizeof(x->id), "%s", s->id);
		x->client = s->req.client;
	}
	b->traces_done++;
	metrics_reason_add(&b->reasons, s->end_reason);
	site_count(b, s->uid, 1, 0);
	log_info("trace %s: client %s port %u uid %u: %s, %d hops, %llu.%03llu ms%s", s->id,
	    visitor_format(b, &s->req.client, addr), s->req.cport, (unsigned)s->uid,
	    s->end_reason, s->end_hops, (unsigned long long)(s->end_dur_us / 1000),
	    (unsigned long long)(s->end_dur_us % 1000), s->end_stored ? "" : ", not stored");
	if (broker_stop_signal || b->engine_down) {
		session_end_line(b, s);
		session_free(b, s);
		return;
	}
	/*
	 * wait=1: the look-ups start now and END goes once they end. Otherwise
	 * END goes now and they start when their batch is due, after the
	 * response has ended: on a small machine their setup would compete
	 * with the web server and the app for the end of this very trace.
	 */
	if (s->req.wait) {
		lookups_start(b, s);
		if (s->lk_pending > 0)
			return;
	}
	session_end_line(b, s);
	if (s->lk_pending == 0 && s->lk_start_ms == 0)
		session_free(b, s);
}

/*
 * Ends a session whose trace never started: the client gets an ERROR, with
 * retry_s as retry= for busy (the engine overloaded or full), which is also
 * counted and logged as the broker's own limits are: quietly, since at
 * overload there are hundreds a second.
 */
void
session_refused(struct broker *b, struct session *s, const char *code, const char *text,
    int retry_s)
{
	char addr[VISITOR_STRLEN];
	struct client *c = session_detach(s);
	int busy = strcmp(code, "busy") == 0;

	if (c != NULL && !c->dead && busy)
		client_busy(b, c, retry_s > 0 ? retry_s : 1, *text ? text : code);
	else if (c != NULL && !c->dead)
		client_error(b, c, code, *text ? text : code);
	b->traces_refused++;
	site_count(b, s->uid, 0, 1);
	/* Only traces the engine accepted cost the visitor's and the global buckets. */
	limits_release(b, s, 1);
	visitor_format(b, &s->req.client, addr);
	if (busy)
		log_debug("trace for client %s port %u uid %u refused: %s (%s)", addr, s->req.cport,
		    (unsigned)s->uid, code, text);
	else
		log_info("trace for client %s port %u uid %u refused: %s (%s)", addr, s->req.cport,
		    (unsigned)s->uid, code, text);
	session_free(b, s);
}

/*
 * Look-ups due to start (LOOKUP_BATCH_MS after a hop), and ended sessions
 * whose look-ups take too long: END by end_by_ms, gone ENDED_KEEP_MS later.
 */
void
ended_sessions(struct broker *b)
{
	uint64_t now = time_ms(CLOCK_MONOTONIC);
	struct session *s, *next;

	for (s = TAILQ_FIRST(&b->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->end_commit)
			continue;	/* sessions_commit ends it */
		if (s->lk_start_ms != 0 && now >= s->lk_start_ms) {
			lookups_start(b, s);
			/* An ended session stays only while its look-ups run. */
			if (s->state == SESSION_ENDED && s->lk_pending == 0) {
				session_end_line(b, s);
				session_free(b, s);
				continue;
			}
		}
		if (s->state != SESSION_ENDED || now < s->end_by_ms)
			continue;
		session_end_line(b, s);
		if (now >= s->end_by_ms + ENDED_KEEP_MS)
			session_free(b, s);
	}
}

/* The next deadline of ended_sessions, for the poll timeout; UINT64_MAX if none. */
uint64_t
ended_next(const struct broker *b)
{
	uint64_t next = UINT64_MAX;
	const struct session *s;

	TAILQ_FOREACH(s, &b->sessions, entry) {
		if (s->lk_start_ms != 0 && s->lk_start_ms < next)
			next = s->lk_start_ms;
		if (s->state == SESSION_ENDED) {
			uint64_t at = s->client != NULL ? s->end_by_ms : s->end_by_ms + ENDED_KEEP_MS;

			if (at < next)
				next = at;
		}
	}
	return next;
}
