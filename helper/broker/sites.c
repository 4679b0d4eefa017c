/*
 * The broker's sites and status: per-site counters (a site is the uid of the
 * app that asks), the SITES and STATUS verbs, and the engine's counters that
 * STATUS and the metrics ask for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"

#define STATUS_CLIENTS_MAX	64		/* callers waiting for one STATUS answer */

/* uid's counters, made if new; NULL only when out of memory. */
struct site *
site_get(struct broker *b, uid_t uid)
{
	struct site *p;

	for (size_t i = 0; i < b->nsites; i++)
		if (b->sites[i].uid == uid)
			return &b->sites[i];
	if ((p = reallocarray(b->sites, b->nsites + 1, sizeof(*p))) == NULL) {
		log_warn("broker: site");
		return NULL;
	}
	b->sites = p;
	p = &b->sites[b->nsites++];
	memset(p, 0, sizeof(*p));
	p->uid = uid;
	return p;
}

void
site_count(struct broker *b, uid_t uid, int done, int refused)
{
	struct site *s = site_get(b, uid);

	if (s != NULL) {
		s->done += (uint64_t)done;
		s->refused += (uint64_t)refused;
	}
}

static int
site_stored(void *ctx, uid_t uid, uint64_t n)
{
	struct site *s = site_get(ctx, uid);

	if (s == NULL)
		return -1;
	s->stored = n;
	return 0;
}

int
sites_count(struct broker *b)
{
	struct session *s;

	for (size_t i = 0; i < b->nsites; i++)
		b->sites[i].running = b->sites[i].stored = 0;
	TAILQ_FOREACH(s, &b->sessions, entry) {
		struct site *site;

		if (s->state != SESSION_ENDED && (site = site_get(b, s->uid)) != NULL)
			site->running++;
	}
	/* Without a database every site has nothing stored; that is not an error here. */
	return store_sites(b->st, site_stored, b);
}

/*
 * Traces per site: running now, ended and refused since the start, stored.
 * Root (the administrator's tracetroutd --status) sees every site; a site
 * sees its own line only.
 */
void
request_sites(struct broker *b, struct client *c, const struct proto_msg *m)
{
	char line[PROTO_LINE_MAX + 1];
	struct proto_site ps;
	int n;

	(void)m;
	c->requested = 1;
	if (sites_count(b) < 0) {
		client_error(b, c, "internal", "the database could not be read");
		return;
	}
	for (size_t i = 0; i < b->nsites; i++) {
		const struct site *site = &b->sites[i];

		if (c->uid != 0 && site->uid != c->uid)
			continue;
		ps = (struct proto_site){ site->uid, site->running, site->done, site->refused, site->stored };
		if ((n = proto_fmt_site(line, sizeof(line), &ps)) > 0)
			client_write(b, c, line, (size_t)n);
	}
	if ((n = proto_fmt_list(line, sizeof(line), 0)) > 0)
		client_write(b, c, line, (size_t)n);
	client_close_after(c);
}

void
status_ask(struct broker *b)
{
	if (!b->status_asked) {
		b->status_asked = 1;
		engine_send(b, EMSG_STATUS, 0, NULL);
	}
}

/*
 * Asks the engine for its counters; every caller waiting when the answer
 * comes gets it, so one record is out at a time whatever the callers do.
 */
void
request_status(struct broker *b, struct client *c, const struct proto_msg *m)
{
	struct client *o;
	int waiting = 0;

	(void)m;
	c->requested = 1;
	if (b->engine_down) {
		client_error(b, c, "engine-down", "the packet engine is not running");
		return;
	}
	TAILQ_FOREACH(o, &b->clients, entry)
		waiting += o->want_status && !o->dead;
	if (waiting >= STATUS_CLIENTS_MAX) {
		client_busy(b, c, BUSY_CONN_RETRY, "too many status requests");
		return;
	}
	c->want_status = 1;
	/* The idle deadline stays: an engine that never answers does not hold the caller. */
	status_ask(b);
}

/*
 * The kernel's drops on our queue: queue_dropped (the queue was full; with
 * fail-open those packets passed unseen) plus user_dropped (netlink could not
 * deliver them), from our queue's line of /proc/net/netfilter/nfnetlink_queue.
 * The file is root's (0440): it was opened before the drop, and is read again
 * from offset 0 each time. PROTO_STATUS_UNKNOWN if it cannot be read.
 */
static uint64_t
queue_drops(const struct broker *b)
{
	char buf[4096], *line, *save = NULL;
	ssize_t n;

	if (b->queue_stats_fd < 0 || (n = pread(b->queue_stats_fd, buf, sizeof(buf) - 1, 0)) < 0)
		return PROTO_STATUS_UNKNOWN;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long f[7];

		/* queue portid waiting copy_mode copy_range queue_dropped user_dropped ... */
		if (sscanf(line, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3],
		    &f[4], &f[5], &f[6]) == 7 && f[0] == b->cfg->queue)
			return (uint64_t)f[5] + (uint64_t)f[6];
	}
	return PROTO_STATUS_UNKNOWN;
}

static unsigned long
db_errors(const struct broker *b)
{
	return b->db_errors_before + store_errors(b->st);
}

void
status_answer(struct broker *b, const struct emsg_status *es)
{
	char line[PROTO_LINE_MAX + 1];
	struct proto_status ps;
	struct client *c;
	int n;

	b->status_asked = 0;
	memset(&ps, 0, sizeof(ps));
	ps.uptime_s = (time_ms(CLOCK_MONOTONIC) - b->started_ms) / 1000;
	ps.traces_running = (uint64_t)b->nrunning;
	ps.traces_done = b->traces_done;
	ps.traces_refused = b->traces_refused;
	ps.busy = b->busy;
	ps.forbidden = b->forbidden;
	ps.probes_sent = es->probes_sent;
	ps.replies_matched = es->replies_matched;
	ps.icmp_unmatched = es->icmp_unmatched;
	ps.icmp_foreign = es->icmp_foreign;
	ps.bad_packets = es->bad_packets;
	ps.queue_drops = queue_drops(b);
	ps.db_errors = db_errors(b);
	ps.enrich_requests = b->enrich_done;
	ps.overload_refused = es->overload_refused + b->overload_refused;
	if (b->fleet != NULL) {
		fleet_counts(b->fleet, &ps.fleet_connected, &ps.fleet_shipped, &ps.fleet_failures);
		ps.fleet_waiting = (uint64_t)store_waiting(b->st);
	} else
		ps.fleet_connected = ps.fleet_waiting = ps.fleet_shipped = ps.fleet_failures =
		    PROTO_STATUS_UNKNOWN;
	n = proto_fmt_status(line, sizeof(line), &ps);
	TAILQ_FOREACH(c, &b->clients, entry)
		if (n > 0 && c->want_status && !c->dead) {
			c->want_status = 0;
			client_write(b, c, line, (size_t)n);
			if (!c->dead)
				client_close_after(c);
		}
	metrics_answer(b, &ps, es);
}
