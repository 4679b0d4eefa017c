/*
 * The live trace handler: one broker conversation per request. Before the
 * head, failures become error statuses; after it, the renderer says what it can.
 */
#include "live.h"

#include <stddef.h>

#include "brokerclient.h"
#include "log.h"
#include "refusal.h"
#include "relay.h"
#include "render.h"
#include "slots.h"
#include "util.h"

/* The trace itself: the broker's answer, then the hops as they settle. */
static void
live_trace(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const struct proto_trace_req *conn)
{
	char line[PROTO_REQUEST_MAX];
	struct proto_trace_req req;
	struct render_trace t;
	struct proto_msg m;
	struct bclient c;
	enum bclient_status st;
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
		refusal_write(o, ro, &refusal_failed);
		return;
	}
	if ((st = bclient_ask(&c, cfg->socket_path, cfg->connect_ms, line, (size_t)n,
	    cfg->start_ms, &m)) != BCLIENT_OK) {
		refusal_write_client(o, ro, "before STARTED", &c, st);
		return;
	}
	if (m.verb != PROTO_STARTED) {
		refusal_write_msg(o, ro, "TRACE", &m);
		bclient_close(&c);
		return;
	}
	relay_fill(&t, &m, ro->prefix);
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
	relay_body(o, ro, &t, &c, bclient_deadline(cfg->run_ms));
	bclient_close(&c);
}

/*
 * Every slot holds a trace: 503 at once, without asking the broker, so that
 * this thread is free again in a moment. Logged at most every SLOTS_LOG_S.
 */
static void
live_busy(struct out *o, const struct reply_opts *ro, struct slots *s)
{
	struct refusal f;

	if (slots_log_due(s, (int64_t)(time_ms(CLOCK_MONOTONIC) / 1000)))
		log_warnx("%d live traces are running (TRACETROUT_THREADS): more trace requests get "
		    "503 at once; %llu so far", s->max, (unsigned long long)atomic_load(&s->refused));
	refusal_for_code("busy", SLOTS_RETRY_S, &f);
	refusal_write(o, ro, &f);
}

void
live_serve(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const struct proto_trace_req *conn)
{
	if (cfg->slots != NULL && !slots_take(cfg->slots)) {
		live_busy(o, ro, cfg->slots);
		return;
	}
	live_trace(o, cfg, ro, conn);
	if (cfg->slots != NULL)
		slots_give(cfg->slots);
}
