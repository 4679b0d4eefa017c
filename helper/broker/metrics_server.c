/*
 * The metrics endpoint (docs/metrics.md): its listening sockets, opened
 * before the broker drops root, and its connections in the broker's loop,
 * never blocking: a request read, one answer, then the connection closes.
 * The engine's counters come from STATUS's round trip (sites.c).
 */
#define _GNU_SOURCE		/* accept4, open_memstream */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"
#include "metrics_http.h"

#define METRICS_IDLE_MS		10000	/* for a whole request, and for the answer to be taken */
#define METRICS_LINGER_MS	1000	/* after the answer, for the scraper's own close */
#define METRICS_BACKLOG		16
#define ACCEPT_PAUSE_MS		1000	/* after running out of descriptors */

enum mconn_state {
	MC_FREE = 0,
	MC_READING,	/* the request's head */
	MC_WAITING,	/* for the engine's counters */
	MC_WRITING,	/* the answer */
	MC_DRAINING,	/* answered, written shut: for the scraper to close first (no RST) */
};

struct mconn {
	int fd;
	enum mconn_state state;
	enum metrics_req req;
	bool head;		/* HEAD: the answer without its body */
	char in[METRICS_REQUEST_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	uint64_t deadline_ms;
};

struct metrics_server {
	int lfd[CONFIG_METRICS_ADDRS];
	int nlfd;
	struct sockfile file;	/* the unix socket's file, when it is one */
	struct mconn conn[METRICS_CONNS];
	int nconns;
	uint64_t accept_paused_until;
};

/* A listening TCP socket on addr (numeric) and port; -1 with errno set. */
static int
tcp_listen(const char *addr, uint16_t port)
{
	struct addrinfo hints, *ai;
	char serv[8];
	int fd = -1, on = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(serv, sizeof(serv), "%u", (unsigned)port);
	if ((e = getaddrinfo(addr, serv, &hints, &ai)) != 0) {
		errno = e == EAI_SYSTEM ? errno : EINVAL;
		return -1;
	}
	/* [::]:PORT is IPv6 alone: IPv4 is the operator's to name. */
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
	    sizeof(on)) < 0) || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, METRICS_BACKLOG) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(ai);
	return fd;
}

int
metrics_open(struct broker *b)
{
	const struct config *cfg = b->cfg;
	struct config_metrics where;
	struct metrics_server *m;
	char why[256], addr[ADDR_STRLEN];

	/* config_check took the value already. */
	if (config_metrics(cfg->metrics, &where, why, sizeof(why)) < 0) {
		log_warnx("broker: metrics: %s", why);
		return -1;
	}
	if (where.kind == CONFIG_METRICS_OFF)
		return 0;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("broker: metrics");
		return -1;
	}
	b->metrics = m;
	if (where.kind == CONFIG_METRICS_UNIX) {
		m->file.path = cfg->metrics;
		if ((m->lfd[0] = sockfile_listen(&m->file, cfg)) < 0)
			return -1;
		m->nlfd = 1;
		log_info("broker: metrics at http://localhost/metrics on %s", cfg->metrics);
		return 0;
	}
	for (int i = 0; i < where.naddrs; i++) {
		int fd = tcp_listen(addr_format(&where.addr[i], addr), where.port);

		/* Loopback without IPv6 (or IPv4) still serves the other. */
		if (fd < 0 && where.loopback && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)) {
			log_info("broker: metrics: %s port %u: %s; not there", addr, where.port,
			    strerror(errno));
			continue;
		}
		if (fd < 0) {
			log_warn("broker: metrics: cannot listen on %s port %u", addr, where.port);
			return -1;
		}
		m->lfd[m->nlfd++] = fd;
		log_info("broker: metrics at http://%s%s%s:%u/metrics", where.addr[i].family ==
		    AF_INET6 ? "[" : "", addr, where.addr[i].family == AF_INET6 ? "]" : "",
		    where.port);
	}
	if (m->nlfd == 0) {
		log_warnx("broker: metrics: no loopback address to listen on");
		return -1;
	}
	return 0;
}

static void
conn_close(struct metrics_server *m, struct mconn *c)
{
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	m->nconns--;
}

void
metrics_close(struct broker *b)
{
	struct metrics_server *m = b->metrics;

	if (m == NULL)
		return;
	for (int i = 0; i < METRICS_CONNS; i++)
		if (m->conn[i].state != MC_FREE)
			conn_close(m, &m->conn[i]);
	for (int i = 0; i < m->nlfd; i++)
		close(m->lfd[i]);
	sockfile_remove(&m->file);
	free(m);
	b->metrics = NULL;
}

/* Sends what the scraper takes now; the whole answer out, the write side is shut. */
static void
conn_flush(struct metrics_server *m, struct mconn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			log_debug("broker: metrics: fd %d: send: %s", c->fd, strerror(errno));
			conn_close(m, c);
			return;
		}
		c->outoff += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = MC_DRAINING;
	c->deadline_ms = time_ms(CLOCK_MONOTONIC) + METRICS_LINGER_MS;
}

/* Answers r, with body (len bytes) unless the method was HEAD; then closes. */
static void
conn_answer(struct metrics_server *m, struct mconn *c, enum metrics_req r, const char *body,
    size_t len)
{
	char head[256];
	size_t sent = c->head ? 0 : len;
	int n;

	if ((n = metrics_response_head(head, sizeof(head), r, len)) < 0 ||
	    (c->out = malloc((size_t)n + sent)) == NULL) {
		conn_close(m, c);
		return;
	}
	memcpy(c->out, head, (size_t)n);
	memcpy(c->out + n, body, sent);
	c->outlen = (size_t)n + sent;
	c->state = MC_WRITING;
	c->deadline_ms = time_ms(CLOCK_MONOTONIC) + METRICS_IDLE_MS;
	log_debug("broker: metrics: fd %d: %.3s, %zu bytes", c->fd, head + 9, len);
	conn_flush(m, c);
}

/* Reads the request; a whole one waits for the engine's counters, a bad one is answered. */
static void
conn_read(struct broker *b, struct metrics_server *m, struct mconn *c)
{
	ssize_t n;

	if (c->state == MC_DRAINING) {
		char sink[512];

		/* Whatever the scraper still sends is dropped; its close ends ours. */
		if ((n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT)) == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_close(m, c);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(m, c);
		return;
	}
	c->inlen += (size_t)n;
	switch ((c->req = metrics_request_parse(c->in, c->inlen, &c->head))) {
	case METRICS_REQ_MORE:
		return;
	case METRICS_REQ_GET:
	case METRICS_REQ_HEAD:
		/* The idle deadline stays: an engine that never answers does not hold the scraper. */
		c->state = MC_WAITING;
		status_ask(b);
		return;
	default:
		conn_answer(m, c, c->req, metrics_error_body(c->req),
		    strlen(metrics_error_body(c->req)));
		return;
	}
}

/*
 * The connection still reading its request that came first, or NULL: when
 * every slot is taken, it gives way, so that idle connections (any local
 * user may open them) never keep a scraper out.
 */
static struct mconn *
oldest_reading(struct metrics_server *m)
{
	struct mconn *old = NULL;

	for (int i = 0; i < METRICS_CONNS; i++)
		if (m->conn[i].state == MC_READING &&
		    (old == NULL || m->conn[i].deadline_ms < old->deadline_ms))
			old = &m->conn[i];
	return old;
}

/* Accepts what waits, a few rounds' worth at most: the loop has other work. */
static void
accept_conns(struct metrics_server *m, int lfd)
{
	for (int n = 0; n < 2 * METRICS_CONNS; n++) {
		struct mconn *c = NULL;
		int fd;

		if (m->nconns == METRICS_CONNS && oldest_reading(m) == NULL)
			return;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* Out of descriptors or memory: the socket stays readable, so pause. */
				log_warn("broker: metrics: accept");
				m->accept_paused_until = time_ms(CLOCK_MONOTONIC) + ACCEPT_PAUSE_MS;
			}
			return;
		}
		if (m->nconns == METRICS_CONNS) {
			c = oldest_reading(m);
			log_debug("broker: metrics: fd %d gives way to a new connection", c->fd);
			conn_close(m, c);
		}
		/* A free slot: the one just given up, or one of those below METRICS_CONNS. */
		for (int i = 0; c == NULL; i++)
			if (m->conn[i].state == MC_FREE)
				c = &m->conn[i];
		c->fd = fd;
		c->state = MC_READING;
		c->deadline_ms = time_ms(CLOCK_MONOTONIC) + METRICS_IDLE_MS;
		m->nconns++;
	}
}

nfds_t
metrics_pollfds(struct broker *b, struct pollfd *pfd)
{
	static const short events[] = {
		[MC_FREE] = 0, [MC_READING] = POLLIN, [MC_WAITING] = 0, [MC_WRITING] = POLLOUT,
		[MC_DRAINING] = POLLIN,
	};
	struct metrics_server *m = b->metrics;
	bool accepting;

	if (m == NULL)
		return 0;
	/* Full of answers under way, the listeners wait: the kernel's backlog holds the next. */
	accepting = (m->nconns < METRICS_CONNS || oldest_reading(m) != NULL) &&
	    m->accept_paused_until <= time_ms(CLOCK_MONOTONIC);
	for (int i = 0; i < CONFIG_METRICS_ADDRS; i++) {
		pfd[i].fd = accepting && i < m->nlfd ? m->lfd[i] : -1;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	for (int i = 0; i < METRICS_CONNS; i++) {
		struct pollfd *p = &pfd[CONFIG_METRICS_ADDRS + i];

		p->fd = m->conn[i].state != MC_FREE ? m->conn[i].fd : -1;
		p->events = events[m->conn[i].state];
		p->revents = 0;
	}
	return METRICS_PFDS;
}

void
metrics_events(struct broker *b, const struct pollfd *pfd)
{
	struct metrics_server *m = b->metrics;
	uint64_t now = time_ms(CLOCK_MONOTONIC);

	if (m == NULL)
		return;
	for (int i = 0; i < METRICS_CONNS; i++) {
		struct mconn *c = &m->conn[i];
		short rev = pfd[CONFIG_METRICS_ADDRS + i].revents;

		if (c->state == MC_FREE)
			continue;
		if (rev & POLLOUT)
			conn_flush(m, c);
		if (c->state != MC_FREE && (rev & POLLIN))
			conn_read(b, m, c);
		/* Gone while it waits (POLLHUP comes whatever the events), or its time is up. */
		if (c->state != MC_FREE && ((rev & (POLLHUP | POLLERR)) && !(rev & POLLIN)))
			conn_close(m, c);
		else if (c->state != MC_FREE && now >= c->deadline_ms) {
			log_debug("broker: metrics: fd %d timed out", c->fd);
			conn_close(m, c);
		}
	}
	for (int i = 0; i < m->nlfd; i++)
		if (pfd[i].revents & POLLIN)
			accept_conns(m, m->lfd[i]);
}

uint64_t
metrics_next_ms(const struct broker *b)
{
	const struct metrics_server *m = b->metrics;
	uint64_t next = UINT64_MAX;

	if (m == NULL)
		return next;
	for (int i = 0; i < METRICS_CONNS; i++)
		if (m->conn[i].state != MC_FREE && m->conn[i].deadline_ms < next)
			next = m->conn[i].deadline_ms;
	if (m->accept_paused_until > time_ms(CLOCK_MONOTONIC) && m->accept_paused_until < next)
		next = m->accept_paused_until;
	return next;
}

/*
 * The sites for the text: each with its user's name (asked once; a site's
 * uid stays), as tracetroutd --status names it. NULL if out of memory.
 */
static struct metrics_site *
sites_of(struct broker *b)
{
	struct metrics_site *ms = calloc(b->nsites ? b->nsites : 1, sizeof(*ms));

	for (size_t i = 0; ms != NULL && i < b->nsites; i++) {
		struct site *s = &b->sites[i];

		if (s->name[0] == '\0') {
			struct passwd *pw = getpwuid(s->uid);

			if (pw != NULL && strlen(pw->pw_name) < sizeof(s->name))
				snprintf(s->name, sizeof(s->name), "%s", pw->pw_name);
			else
				snprintf(s->name, sizeof(s->name), "%u", (unsigned)s->uid);
		}
		ms[i] = (struct metrics_site){ (uint32_t)s->uid, "", s->running, s->done,
		    s->refused, s->stored };
		memcpy(ms[i].name, s->name, sizeof(ms[i].name));
	}
	return ms;
}

/* The whole text, malloc'd into *text; its length, or -1. */
static ssize_t
metrics_text(struct broker *b, const struct proto_status *ps, const struct emsg_status *es,
    char **text)
{
	struct metrics_counts mc;
	struct metrics_site *sites;
	size_t len = 0;
	FILE *fp;
	int rc;

	memset(&mc, 0, sizeof(mc));
	mc.st = *ps;
	mc.reasons = b->reasons;
	mc.commit = b->commits;
	mc.start_ms = b->started_real_ms;
	mc.rss_engine = es->rss_bytes;
	mc.rss_broker = statm_rss(b->statm_fd);
	/* Stored counts only from a database read now; without one they say nothing. */
	mc.stored_known = sites_count(b) == 0 && b->st != NULL;
	if ((sites = sites_of(b)) == NULL)
		return -1;
	mc.sites = sites;
	mc.nsites = b->nsites;
	*text = NULL;
	if ((fp = open_memstream(text, &len)) == NULL) {
		free(sites);
		return -1;
	}
	rc = metrics_write(fp, &mc);
	rc |= fclose(fp);
	free(sites);
	if (rc != 0) {
		free(*text);
		*text = NULL;
		return -1;
	}
	return (ssize_t)len;
}

void
metrics_answer(struct broker *b, const struct proto_status *ps, const struct emsg_status *es)
{
	struct metrics_server *m = b->metrics;
	char *text = NULL;
	ssize_t len = -1;

	for (int i = 0; m != NULL && i < METRICS_CONNS; i++) {
		struct mconn *c = &m->conn[i];

		if (c->state != MC_WAITING)
			continue;
		if (text == NULL && (len = metrics_text(b, ps, es, &text)) < 0) {
			log_warn("broker: metrics");
			conn_close(m, c);
			continue;
		}
		conn_answer(m, c, c->req, text, (size_t)len);
	}
	free(text);
}
