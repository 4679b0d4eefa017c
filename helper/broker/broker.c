/*
 * The broker: one poll loop over the listening socket, the clients and the engine's
 * socketpair, turning requests into engine records and engine records into rows and lines.
 * This file holds the loop and the broker's lifetime; docs/broker.md maps the other jobs.
 */
#define _GNU_SOURCE		/* ppoll */
#include "broker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "internal.h"
#include "log.h"

#define STOP_FLUSH_MS		1000		/* at exit, for clients to take their END lines */

volatile sig_atomic_t broker_stop_signal;

static void
on_signal(int sig)
{
	broker_stop_signal = sig;
}

static void
reap_clients(struct broker *b)
{
	struct client *c, *next;
	uint64_t now = time_ms(CLOCK_MONOTONIC);

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
	uint64_t now = time_ms(CLOCK_MONOTONIC), next = UINT64_MAX;
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
	if (store_batch_since(b->st) != 0 && store_batch_since(b->st) + COMMIT_EVERY_MS < next)
		next = store_batch_since(b->st) + COMMIT_EVERY_MS;
	if (fleet_next_ms(b->fleet) < next)
		next = fleet_next_ms(b->fleet);
	if (metrics_next_ms(b) < next)
		next = metrics_next_ms(b);
	if (b->enrich && (t = enrich_timeout_ms(b->enrich)) >= 0 && now + (uint64_t)t < next)
		next = now + (uint64_t)t;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

/*
 * Runs until a signal or the engine's end; returns with b->engine_down or
 * broker_stop_signal set.
 */
static void
loop(struct broker *b, const sigset_t *waitmask)
{
	while (!broker_stop_signal && !b->engine_down) {
		uint64_t now = time_ms(CLOCK_MONOTONIC);
		struct client *c;
		struct timespec ts, *tsp = NULL;
		nfds_t n = 2, nmetrics;
		struct pollfd *fleet_pfd, *metrics_pfd;
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
		/* The fleet's connection after them (-1 when it has none: poll skips it). */
		fleet_pfd = &b->pfd[n + (nfds_t)b->nenrich_fds];
		fleet_pfd->fd = fleet_pollfd(b->fleet, &fleet_pfd->events);
		fleet_pfd->revents = 0;
		/* The metrics' sockets last of all. */
		metrics_pfd = fleet_pfd + 1;
		nmetrics = metrics_pollfds(b, metrics_pfd);
		if ((timeout = poll_timeout(b)) >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000;
			tsp = &ts;
		}
		/* ppoll unblocks SIGINT and SIGTERM only while waiting: none is lost. */
		if (ppoll(b->pfd, n + (nfds_t)b->nenrich_fds + 1 + nmetrics, tsp, waitmask) < 0) {
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
		metrics_events(b, metrics_pfd);
		if (b->enrich)
			enrich_events(b->enrich, b->pfd + n, b->nenrich_fds);
		ended_sessions(b);
		sweep(b);
		/* The writes of the last few ms in one commit; the ENDs that waited for it go. */
		if (commit_due(b, time_ms(CLOCK_MONOTONIC)))
			sessions_commit(b);
		/* After the commit: only committed traces are shipped. */
		fleet_event(b->fleet, b->st, fleet_pfd->revents);
		fleet_tick(b->fleet, b->st, time_ms(CLOCK_MONOTONIC));
		clients_flush(b);
		reap_clients(b);
	}
}

/* Gives clients up to ms milliseconds to take their last lines. */
static void
flush_clients(struct broker *b, int ms)
{
	uint64_t end = time_ms(CLOCK_MONOTONIC) + (uint64_t)ms;
	struct client *c;

	for (;;) {
		uint64_t now = time_ms(CLOCK_MONOTONIC);
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
	char badnet[64], badsite[128];
	int rc = 1, stopped;

	memset(&b, 0, sizeof(b));
	b.cfg = cfg;
	b.lfd = -1;
	b.queue_stats_fd = -1;
	b.statm_fd = -1;
	b.efd = engine_fd;
	b.epid = engine_pid;
	b.next_handle = 1;
	b.started_ms = time_ms(CLOCK_MONOTONIC);
	b.started_real_ms = time_ms(CLOCK_REALTIME);
	metrics_reasons_init(&b.reasons);
	TAILQ_INIT(&b.clients);
	TAILQ_INIT(&b.sessions);
	admit_init(&b.admit, cfg);
	overload_init(&b.load, time_us(CLOCK_MONOTONIC), OVERLOAD_BROKER_TARGET_US);

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
	/* The listening socket, the engine's, the clients', the look-ups', the fleet's, the metrics'. */
	b.pfd = calloc(CLIENT_MAX + 2 + (size_t)b.enrich_slots + 1 + METRICS_PFDS, sizeof(*b.pfd));
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
	/* Ports below 1024 and the socket's group want root too. */
	if (metrics_open(&b) < 0)
		goto out;
	/* Root's file; a broker that cannot read it leaves queue_drops out of STATUS. */
	if ((b.queue_stats_fd = open("/proc/self/net/netfilter/nfnetlink_queue",
	    O_RDONLY | O_CLOEXEC)) < 0)
		log_debug("broker: the queue's counters: %s; STATUS leaves queue_drops out",
		    strerror(errno));
	/* Its own memory, for the metrics; /proc may hide a dropped, undumpable process later. */
	if ((b.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) < 0)
		log_debug("broker: /proc/self/statm: %s; its memory is not reported", strerror(errno));
	/* Root was needed for the socket's group; nothing after it, input included, runs as root. */
	if (drop != NULL && drop(cfg) < 0)
		goto out;
	if (cfg->db_path[0] == '\0')
		log_info("broker: no database configured; traces are not stored");
	else
		store_retry(&b);
	/* config_check took site-names already; a struct config made otherwise may not. */
	if (site_names_init(&b.names, cfg->site_names, badsite, sizeof(badsite)) < 0)
		log_warnx("broker: site-names: %s; sites keep their users' names", badsite);
	/* PostgreSQL: the local file is its journal; the connection is made in the loop. */
	if (config_is_pg(cfg) && (b.fleet = fleet_new(cfg, &b.names, fleet_answered, &b)) == NULL)
		goto out;
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
	metrics_close(&b);
	while ((c = TAILQ_FIRST(&b.clients)) != NULL)
		client_free(&b, c);
	if (b.st != NULL && store_errors(b.st) > 0)
		log_warnx("broker: %lu store errors in this run", store_errors(b.st));
	enrich_free(b.enrich);
	fleet_free(b.fleet);
	store_close(b.st);
	admit_free(&b.admit);
	allow_lists_free(&b);
	free(b.sites);
	if (b.diag != NULL)
		mnl_socket_close(b.diag);
	if (b.queue_stats_fd >= 0)
		close(b.queue_stats_fd);
	if (b.statm_fd >= 0)
		close(b.statm_fd);
	free(b.eq);
	free(b.pfd);
	free(b.pcl);
	return rc;
}
