/*
 * The broker: one poll loop over the listening socket, the clients and the engine's
 * socketpair, turning requests into engine records and engine records into rows and lines.
 */
#define _GNU_SOURCE		/* accept4, ppoll, struct ucred */
#include "broker.h"

#include <sys/fsuid.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "check.h"
#include "emsg.h"
#include "limit.h"
#include "enrich.h"
#include "internal.h"
#include "log.h"
#include "util.h"
#include "proto.h"
#include "sockdiag.h"
#include "store.h"

#define STOP_FLUSH_MS		1000		/* at exit, for clients to take their END lines */
#define BUSY_RUNNING_RETRY	5		/* retry= when a limit on running traces is hit: a trace takes seconds */
#define STATUS_CLIENTS_MAX	64		/* callers waiting for one STATUS answer */

volatile sig_atomic_t broker_stop_signal;

static void
on_signal(int sig)
{
	broker_stop_signal = sig;
}

uint64_t
now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* --- limits --- */

static unsigned int
visitor_hash(const struct tt_addr *key, int bits)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < sizeof(key->u.b); i++)
		h = (h ^ key->u.b[i]) * 16777619u;
	return (h ^ (uint32_t)key->family ^ (uint32_t)bits << 8) % VISITOR_HASH;
}

/*
 * Forgets visitors with no trace whose bucket has been full for a while:
 * they would be made again exactly as they were. Oldest first, so a
 * visitor with a trace still running only delays those behind it.
 */
static void
visitor_prune(struct broker *b, uint64_t now)
{
	uint64_t refill = (uint64_t)3 * 1000000 + 1000000;	/* burst / rate seconds, and 1 s */
	struct visitor *v;

	while ((v = TAILQ_FIRST(&b->vlru)) != NULL && v->running == 0 &&
	    now - v->touched_us > refill) {
		TAILQ_REMOVE(&b->vlru, v, lru);
		LIST_REMOVE(v, hash);
		b->nvisitors--;
		free(v);
	}
}

static void
visitor_touch(struct broker *b, struct visitor *v, uint64_t now)
{
	v->touched_us = now;
	TAILQ_REMOVE(&b->vlru, v, lru);
	TAILQ_INSERT_TAIL(&b->vlru, v, lru);
}

/*
 * The entry of an address cut to bits; a new one (full bucket) if create.
 * NULL if none or no memory.
 */
static struct visitor *
visitor_get(struct broker *b, const struct tt_addr *a, int bits, int create, uint64_t now)
{
	struct tt_addr key;
	struct visitor *v;
	unsigned int h;

	addr_mask(a, bits, &key);
	h = visitor_hash(&key, bits);
	LIST_FOREACH(v, &b->vhash[h], hash)
		if (v->bits == bits && addr_equal(&v->key, &key))
			return v;
	if (!create || (v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->key = key;
	v->bits = bits;
	v->touched_us = now;
	LIST_INSERT_HEAD(&b->vhash[h], v, hash);
	TAILQ_INSERT_TAIL(&b->vlru, v, lru);
	b->nvisitors++;
	return v;
}

static void
visitor_release(struct broker *b, struct visitor *v)
{
	if (v->running > 0)
		v->running--;
	visitor_touch(b, v, mono_us());
}

/* Each level's cap on running traces and rate, from the settings. */
static void
level_limits(const struct config *cfg, enum limit_level l, int *max, int *rate)
{
	*max = l == LIMIT_VISITOR ? cfg->client_max : l == LIMIT_SUBNET ? cfg->subnet_max :
	    cfg->prefix_max;
	*rate = l == LIMIT_VISITOR ? cfg->client_rate : l == LIMIT_SUBNET ? cfg->subnet_rate :
	    cfg->prefix_rate;
}

static const char *const level_why[LIMIT_LEVELS][2] = {
	{ "too many traces running for this address", "too many traces started for this address" },
	{ "too many traces running for this /56", "too many traces started for this /56" },
	{ "too many traces running for this network", "too many traces started for this network" },
};

/* Releases what a trace holds; with refund, gives back the rate tokens it was charged. */
void
limits_release(struct broker *b, struct trace *t, int refund)
{
	struct site *s = site_get(b, t->uid);
	int max, rate;

	if (s != NULL && s->active > 0 && t->visitor[LIMIT_VISITOR] != NULL)
		s->active--;
	if (refund && t->visitor[LIMIT_VISITOR] != NULL)
		bucket_give(&b->global_rate, 2 * (uint64_t)b->cfg->global_rate);
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (t->visitor[l] == NULL)
			continue;
		level_limits(b->cfg, (enum limit_level)l, &max, &rate);
		if (refund)
			bucket_give(&t->visitor[l]->rate, 3 * (uint64_t)rate);
		visitor_release(b, t->visitor[l]);
		t->visitor[l] = NULL;
	}
}

/*
 * Charges the site's request bucket (every TRACE, accepted or not: no site
 * gets free conntrack look-ups), then checks every other limit before any is
 * charged. On success t holds its visitor and prefixes, each charged one
 * running trace and one token; the tokens go back if the engine refuses the
 * trace (limits_release), so that bogus requests cannot empty the buckets of
 * a visitor or of all. Returns 0, or -1 after answering busy (or internal,
 * out of memory).
 */
int
limits_take(struct broker *b, struct client *c, struct trace *t, const struct tt_addr *client)
{
	const struct config *cfg = b->cfg;
	uint64_t now = mono_us();
	struct limit_check chk[2 + LIMIT_LEVELS];
	struct bucket fresh[LIMIT_LEVELS];
	struct visitor *v[LIMIT_LEVELS] = { NULL };
	struct site *s = site_get(b, c->uid);
	int n = 0, w, max, rate;
	const char *why;

	if (s == NULL) {
		client_error(b, c, "internal", "out of memory");
		return -1;
	}
	if ((w = bucket_wait(&s->requests, (uint64_t)cfg->site_rate, 2 * (uint64_t)cfg->site_rate,
	    now)) > 0) {
		client_busy(b, c, w, "too many requests from this site");
		return -1;
	}
	bucket_take(&s->requests);
	visitor_prune(b, now);
	chk[n++] = (struct limit_check){ "too many traces running", NULL, b->ntraces,
	    cfg->max_traces, &b->global_rate, (uint64_t)cfg->global_rate,
	    2 * (uint64_t)cfg->global_rate };
	chk[n - 1].why_rate = "too many traces started";
	chk[n++] = (struct limit_check){ "too many traces running for this site", NULL, s->active,
	    limit_site_max(cfg->max_traces, cfg->site_share), NULL, 0, 0 };
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		int bits = limit_bits(client->family, (enum limit_level)l);

		if (bits == 0)
			continue;
		level_limits(cfg, (enum limit_level)l, &max, &rate);
		/* One not seen lately has a full bucket: look, do not make one yet. */
		v[l] = visitor_get(b, client, bits, 0, now);
		memset(&fresh[l], 0, sizeof(fresh[l]));
		chk[n++] = (struct limit_check){ level_why[l][0], level_why[l][1],
		    v[l] != NULL ? v[l]->running : 0, max, v[l] != NULL ? &v[l]->rate : &fresh[l],
		    (uint64_t)rate, 3 * (uint64_t)rate };
	}
	if ((w = limits_check(chk, n, BUSY_RUNNING_RETRY, now, &why)) > 0) {
		client_busy(b, c, w, why);
		return -1;
	}
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (limit_bits(client->family, (enum limit_level)l) == 0 || v[l] != NULL)
			continue;
		if ((v[l] = visitor_get(b, client, limit_bits(client->family, (enum limit_level)l),
		    1, now)) == NULL) {
			log_warn("broker: visitor");
			client_error(b, c, "internal", "out of memory");
			return -1;	/* the entries made stay, full and idle: pruned later */
		}
		v[l]->rate = fresh[l];
	}
	bucket_take(&b->global_rate);
	s->active++;
	for (int l = 0; l < LIMIT_LEVELS; l++) {
		if (v[l] == NULL)
			continue;
		bucket_take(&v[l]->rate);
		v[l]->running++;
		visitor_touch(b, v[l], now);
		t->visitor[l] = v[l];
	}
	return 0;
}

/* --- SITES --- */

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
	struct trace *t;
	int n;

	(void)m;
	c->requested = 1;
	for (size_t i = 0; i < b->nsites; i++)
		b->sites[i].running = b->sites[i].stored = 0;
	/* Without a database every site has nothing stored; that is not an error here. */
	if (store_sites(b->st, site_stored, b) < 0) {
		client_error(b, c, "internal", "the database could not be read");
		return;
	}
	TAILQ_FOREACH(t, &b->traces, entry) {
		struct site *s;

		if (t->state != TRACE_ENDED && (s = site_get(b, t->uid)) != NULL)
			s->running++;
	}
	for (size_t i = 0; i < b->nsites; i++) {
		const struct site *s = &b->sites[i];

		if (c->uid != 0 && s->uid != c->uid)
			continue;
		ps = (struct proto_site){ s->uid, s->running, s->done, s->refused, s->stored };
		if ((n = proto_fmt_site(line, sizeof(line), &ps)) > 0)
			client_write(b, c, line, (size_t)n);
	}
	if ((n = proto_fmt_list(line, sizeof(line), 0)) > 0)
		client_write(b, c, line, (size_t)n);
	client_close_after(c);
}

/* --- STATUS --- */

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
	if (!b->status_asked) {
		b->status_asked = 1;
		engine_send(b, EMSG_STATUS, 0, NULL);
	}
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
	ps.uptime_s = (now_ms(CLOCK_MONOTONIC) - b->started_ms) / 1000;
	ps.traces_running = (uint64_t)b->ntraces;
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
	if ((n = proto_fmt_status(line, sizeof(line), &ps)) < 0)
		return;
	TAILQ_FOREACH(c, &b->clients, entry)
		if (c->want_status && !c->dead) {
			c->want_status = 0;
			client_write(b, c, line, (size_t)n);
			if (!c->dead)
				client_close_after(c);
		}
}

/* --- the loop --- */

static void
reap_clients(struct broker *b)
{
	struct client *c, *next;
	uint64_t now = now_ms(CLOCK_MONOTONIC);

	for (c = TAILQ_FIRST(&b->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->dead && c->deadline_ms != 0 && now >= c->deadline_ms) {
			log_debug("broker: client fd %d timed out", c->fd);
			client_gone(b, c);
		}
		if (c->dead)
			client_free(b, c);
	}
}

/* The poll timeout: until the nearest client deadline or accept pause ends. */
static int
poll_timeout(struct broker *b)
{
	uint64_t now = now_ms(CLOCK_MONOTONIC), next = UINT64_MAX;
	struct client *c;
	int t;

	TAILQ_FOREACH(c, &b->clients, entry)
		if (c->deadline_ms != 0 && c->deadline_ms < next)
			next = c->deadline_ms;
	if (b->accept_paused_until > now && b->accept_paused_until < next)
		next = b->accept_paused_until;
	if (b->cfg->retention_us != 0 && b->next_sweep_ms < next)
		next = b->next_sweep_ms;
	if (ended_next(b) < next)
		next = ended_next(b);
	if (b->enrich && (t = enrich_timeout_ms(b->enrich)) >= 0 && now + (uint64_t)t < next)
		next = now + (uint64_t)t;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

/* Runs until a signal or the engine's end; returns with b->engine_down or broker_stop_signal set. */
static void
loop(struct broker *b, const sigset_t *waitmask)
{
	while (!broker_stop_signal && !b->engine_down) {
		uint64_t now = now_ms(CLOCK_MONOTONIC);
		struct client *c;
		struct timespec ts, *tsp = NULL;
		nfds_t n = 2;
		int timeout;

		b->pfd[0].fd = b->accept_paused_until > now ? -1 : b->lfd;
		b->pfd[0].events = POLLIN;
		b->pfd[1].fd = b->efd;
		b->pfd[1].events = POLLIN | (b->eqlen ? POLLOUT : 0);
		TAILQ_FOREACH(c, &b->clients, entry) {
			b->pfd[n].fd = c->fd;
			b->pfd[n].events = (c->rdshut ? 0 : POLLIN) | (c->outlen ? POLLOUT : 0);
			b->pcl[n] = c;
			n++;
		}
		/* The look-ups' sockets last, so the clients' indexes stay as they are. */
		b->nenrich_fds = b->enrich ? enrich_pollfds(b->enrich, b->pfd + n, b->enrich_slots) : 0;
		if ((timeout = poll_timeout(b)) >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000;
			tsp = &ts;
		}
		/* ppoll unblocks SIGINT and SIGTERM only while waiting: none is lost. */
		if (ppoll(b->pfd, n + (nfds_t)b->nenrich_fds, tsp, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("broker: poll");
			b->engine_down = 1;
			return;
		}
		if (b->pfd[1].revents & POLLOUT)
			engine_flush(b);
		if (b->pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			engine_read(b);
		if (b->engine_down)
			return;
		for (nfds_t i = 2; i < n; i++) {
			short rev = b->pfd[i].revents;

			c = b->pcl[i];
			if (c->dead || rev == 0)
				continue;
			if (rev & POLLOUT)
				client_flush(b, c);
			if (rev & (POLLIN | POLLHUP | POLLERR))
				client_read(b, c, rev);
		}
		if (b->pfd[0].revents & POLLIN)
			accept_clients(b);
		if (b->enrich)
			enrich_events(b->enrich, b->pfd + n, b->nenrich_fds);
		ended_traces(b);
		reap_clients(b);
		sweep(b);
	}
}

/* Gives clients up to ms milliseconds to take their last lines. */
static void
flush_clients(struct broker *b, int ms)
{
	uint64_t end = now_ms(CLOCK_MONOTONIC) + (uint64_t)ms;
	struct client *c;

	for (;;) {
		uint64_t now = now_ms(CLOCK_MONOTONIC);
		nfds_t n = 0;

		TAILQ_FOREACH(c, &b->clients, entry)
			if (!c->dead && c->outlen > 0) {
				b->pfd[n].fd = c->fd;
				b->pfd[n].events = POLLOUT;
				b->pcl[n] = c;
				n++;
			}
		if (n == 0 || now >= end)
			return;
		if (poll(b->pfd, n, (int)(end - now)) < 0 && errno != EINTR)
			return;
		for (nfds_t i = 0; i < n; i++)
			if (b->pfd[i].revents & (POLLOUT | POLLHUP | POLLERR))
				client_flush(b, b->pcl[i]);
		for (nfds_t i = 0; i < n; i++)
			if (b->pfd[i].revents & (POLLHUP | POLLERR))
				b->pcl[i]->dead = 1;
	}
}

int
broker_main(const struct config *cfg, int engine_fd, pid_t engine_pid,
    int (*drop)(const struct config *cfg))
{
	struct broker b;
	struct sigaction sa;
	sigset_t block, waitmask;
	struct client *c;
	struct visitor *v;
	char badnet[64];
	int rc = 1, stopped;

	memset(&b, 0, sizeof(b));
	b.cfg = cfg;
	b.lfd = -1;
	b.queue_stats_fd = -1;
	b.efd = engine_fd;
	b.epid = engine_pid;
	b.next_handle = 1;
	b.started_ms = now_ms(CLOCK_MONOTONIC);
	TAILQ_INIT(&b.clients);
	TAILQ_INIT(&b.traces);
	TAILQ_INIT(&b.vlru);
	for (int i = 0; i < VISITOR_HASH; i++)
		LIST_INIT(&b.vhash[i]);

	broker_stop_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	/* START and CANCEL per trace, one STATUS, and slack. */
	b.eqcap = 2 * (size_t)cfg->max_traces + 3;
	b.eq = calloc(b.eqcap, sizeof(*b.eq));
	/* Look-ups: a socket per request, a resolver's pipe each, and c-ares's few. */
	b.enrich_slots = 2 * cfg->info_max_requests + 16;
	b.pfd = calloc(CLIENT_MAX + 2 + (size_t)b.enrich_slots, sizeof(*b.pfd));
	b.pcl = calloc(CLIENT_MAX + 2, sizeof(*b.pcl));
	if (b.eq == NULL || b.pfd == NULL || b.pcl == NULL) {
		log_warn("broker");
		goto out;
	}
	/* config_check took the list already: this cannot fail. */
	if ((b.nproxies = config_proxies(cfg->proxies, b.proxies, badnet, sizeof(badnet))) < 0) {
		log_warnx("broker: proxies: \"%s\" is not an address or a network", badnet);
		goto out;
	}
	if (allow_lists(&b) < 0)
		goto out;
	/* The socket first: its directory must stay open to clients if the database shares it. */
	if (listen_socket(&b) < 0)
		goto out;
	/* Root's file; a broker that cannot read it leaves queue_drops out of STATUS. */
	if ((b.queue_stats_fd = open("/proc/self/net/netfilter/nfnetlink_queue",
	    O_RDONLY | O_CLOEXEC)) < 0)
		log_debug("broker: the queue's counters: %s; STATUS leaves queue_drops out",
		    strerror(errno));
	/* Root was needed for the socket's group; nothing after it, input included, runs as root. */
	if (drop != NULL && drop(cfg) < 0)
		goto out;
	if (cfg->db_path[0] == '\0')
		log_info("broker: no database configured; traces are not stored");
	else
		store_retry(&b);
	/* Without look-ups traces still run: a broken resolver setup is logged, not fatal. */
	enrich_setup(&b);

	loop(&b, &waitmask);
	stopped = broker_stop_signal != 0 && !b.engine_down;
	if (stopped)
		log_info("broker: signal %d; stopping", (int)broker_stop_signal);
	else
		log_warnx("broker: the engine is gone; stopping");
	remove_socket(&b);
	end_all(&b);
	flush_clients(&b, STOP_FLUSH_MS);
	if (stopped)
		rc = 0;
out:
	/* Closing our end is the engine's signal to end its traces and clear the marks. */
	if (b.efd >= 0)
		close(b.efd);
	b.efd = -1;
	if (wait_engine(b.epid) < 0)
		rc = 1;
	remove_socket(&b);
	while ((c = TAILQ_FIRST(&b.clients)) != NULL)
		client_free(&b, c);
	if (b.st != NULL && store_errors(b.st) > 0)
		log_warnx("broker: %lu store errors in this run", store_errors(b.st));
	enrich_free(b.enrich);
	store_close(b.st);
	while ((v = TAILQ_FIRST(&b.vlru)) != NULL) {
		TAILQ_REMOVE(&b.vlru, v, lru);
		free(v);
	}
	free(b.allow_uids);
	free(b.allow_gids);
	free(b.sites);
	if (b.diag != NULL)
		mnl_socket_close(b.diag);
	if (b.queue_stats_fd >= 0)
		close(b.queue_stats_fd);
	free(b.eq);
	free(b.pfd);
	free(b.pcl);
	return rc;
}
