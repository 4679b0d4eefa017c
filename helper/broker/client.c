/*
 * The broker's client connections: accepting them, reading request lines,
 * queueing output without blocking, and closing them when done or gone.
 */
#define _GNU_SOURCE		/* accept4, struct ucred */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"

/* Unsent output before a client is dropped: a stored trace of 64 full hops and an INFO fit. */
#define CLIENT_OUT_MAX		(69 * PROTO_LINE_MAX + PROTO_INFO_MAX)
#define CLIENT_LINGER_MS	5000		/* for a closing client to take its last lines */
#define CLIENT_READS		16		/* reads per client per poll round, for fairness */
/*
 * Lines wait for the round's end, so that the hops a round brings leave in
 * one send and the app writes them in one segment; a long answer (a stored
 * trace, a history) goes out as it fills this much.
 */
#define CLIENT_FLUSH_AT		16384
#define ACCEPT_PAUSE_MS		1000		/* after running out of descriptors */

/* Writes what the client will take now, without blocking. */
void
client_flush(struct broker *b, struct client *c)
{
	while (c->outlen > 0 && !c->dead) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_debug("broker: client fd %d: send: %s", c->fd, strerror(errno));
			client_gone(b, c);
			return;
		}
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	if (c->outlen == 0 && c->closing)
		c->dead = 1;
}

/*
 * Queues a line for the client. A client that lets CLIENT_OUT_MAX bytes pile
 * up is not reading: it is dropped (and its trace cancelled) rather than
 * letting it hold the broker up or grow without bound.
 */
void
client_write(struct broker *b, struct client *c, const char *line, size_t len)
{
	if (c == NULL || c->dead)
		return;
	if (c->outlen + len > CLIENT_OUT_MAX) {
		log_warnx("broker: client uid %u pid %ld is not reading; dropping it",
		    (unsigned)c->uid, (long)c->pid);
		client_gone(b, c);
		return;
	}
	if (c->outlen + len > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 1024;
		char *p;

		while (cap < c->outlen + len)
			cap *= 2;
		if (cap > CLIENT_OUT_MAX)
			cap = CLIENT_OUT_MAX;
		if ((p = realloc(c->out, cap)) == NULL) {
			log_warn("broker: client output");
			client_gone(b, c);
			return;
		}
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, line, len);
	c->outlen += len;
	/* Else at the round's end (clients_flush): a round's lines leave in one send. */
	if (c->outlen >= CLIENT_FLUSH_AT)
		client_flush(b, c);
}

void
clients_flush(struct broker *b)
{
	struct client *c;

	TAILQ_FOREACH(c, &b->clients, entry)
		if (c->outlen > 0 && !c->dead)
			client_flush(b, c);
}

/* Sends the last line, then closes once it is out (or after CLIENT_LINGER_MS). */
void
client_close_after(struct client *c)
{
	c->closing = 1;
	c->deadline_ms = time_ms(CLOCK_MONOTONIC) + CLIENT_LINGER_MS;
	if (c->outlen == 0)
		c->dead = 1;
}

void
client_error(struct broker *b, struct client *c, const char *code, const char *msg)
{
	char line[PROTO_LINE_MAX + 1];
	int n;

	if ((n = proto_fmt_error(line, sizeof(line), code, msg)) > 0)
		client_write(b, c, line, (size_t)n);
	client_close_after(c);
}

/* ERROR code=busy retry=N: a limit was hit, and N seconds is when trying again makes sense. */
void
client_busy(struct broker *b, struct client *c, int retry, const char *what)
{
	char line[PROTO_LINE_MAX + 1], msg[160];
	int n;

	b->busy++;
	snprintf(msg, sizeof(msg), "%s; try again in %d s", what, retry);
	if ((n = proto_fmt_error_retry(line, sizeof(line), "busy", retry, msg)) > 0)
		client_write(b, c, line, (size_t)n);
	client_close_after(c);
}

/* The client went away, or must: its trace goes on in the engine until the engine ends it. */
void
client_gone(struct broker *b, struct client *c)
{
	struct session *s = c->session;

	c->dead = 1;
	if (s == NULL)
		return;
	s->client = NULL;
	c->session = NULL;
	if (session_step(s->state, SESSION_EV_CLIENT_GONE) == SESSION_DO_CANCEL) {
		log_debug("broker: trace %s: client left; cancelling", s->id);
		engine_send(b, EMSG_CANCEL, s->handle, NULL);
	}
}

void
client_free(struct broker *b, struct client *c)
{
	if (c->session != NULL)
		client_gone(b, c);
	if (c->counted) {
		struct site *s = site_get(b, c->uid);

		if (s != NULL && s->conns > 0)
			s->conns--;
	}
	TAILQ_REMOVE(&b->clients, c, entry);
	b->nclients--;
	close(c->fd);
	free(c->out);
	free(c);
}

/* Takes bytes from the client into lines; stops at the first line that ends the conversation. */
static void
client_input(struct broker *b, struct client *c, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && !c->closing && !c->dead; i++) {
		char ch = buf[i];

		if (c->requested)
			return;	/* one request per connection; the rest is ignored */
		if (ch != '\n' && (ch < 0x20 || ch > 0x7e)) {
			client_error(b, c, "bad-request", "bytes that are not printable ASCII");
			return;
		}
		if (c->inlen == sizeof(c->in)) {
			client_error(b, c, "bad-request", "line longer than 1024 bytes");
			return;
		}
		c->in[c->inlen++] = ch;
		if (ch == '\n') {
			size_t len = c->inlen;

			c->inlen = 0;
			client_line(b, c, c->in, len);
		}
	}
}

void
client_read(struct broker *b, struct client *c, short revents)
{
	char buf[4096];

	for (int i = 0; i < CLIENT_READS && !c->rdshut && !c->dead; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("broker: client fd %d: recv: %s", c->fd, strerror(errno));
			client_gone(b, c);
			return;
		}
		if (n == 0) {
			c->rdshut = 1;
			/* Half-closed after its request: it may still read the trace. */
			if (c->session == NULL && !c->closing)
				client_close_after(c);
			break;
		}
		client_input(b, c, buf, (size_t)n);
	}
	/* POLLHUP: both directions are gone, nobody will read the trace. */
	if ((revents & (POLLHUP | POLLERR)) && !c->dead) {
		if (c->closing) {
			c->dead = 1;
			return;
		}
		client_gone(b, c);
	}
}

void
accept_clients(struct broker *b)
{
	char greeting[32], busy[128];
	int glen, blen;

	glen = snprintf(greeting, sizeof(greeting), "TRACETROUT %d\n", PROTO_VERSION);
	memcpy(busy, greeting, (size_t)glen);
	blen = proto_fmt_error_retry(busy + glen, sizeof(busy) - (size_t)glen, "busy",
	    BUSY_CONN_RETRY, "too many connections");
	blen = blen < 0 ? glen : glen + blen;
	for (int i = 0; i < 64; i++) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct client *c;
		struct site *s;
		int fd;

		if ((fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: the socket stays readable, so pause. */
			log_warn("broker: accept");
			b->accept_paused_until = time_ms(CLOCK_MONOTONIC) + ACCEPT_PAUSE_MS;
			return;
		}
		if (b->nclients >= CLIENT_MAX) {
			if (send(fd, busy, (size_t)blen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				log_debug("broker: send busy: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
			log_warn("broker: SO_PEERCRED");
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_warn("broker: client");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->pid = cred.pid;
		c->deadline_ms = time_ms(CLOCK_MONOTONIC) + CLIENT_IDLE_MS;
		TAILQ_INSERT_TAIL(&b->clients, c, entry);
		b->nclients++;
		log_debug("broker: client fd %d uid %u pid %ld", fd, (unsigned)c->uid, (long)c->pid);
		client_write(b, c, greeting, (size_t)glen);
		/* The greeting first: a client learns the version, then why it may not go on. */
		if (!caller_roles(b, fd, &cred, c)) {
			log_forbidden(b, &cred);
			c->requested = 1;
			client_error(b, c, "forbidden", "this user may not use tracetroutd");
			continue;
		}
		/* One site cannot take every connection from the others. */
		if ((s = site_get(b, c->uid)) == NULL || s->conns >= b->cfg->site_conns) {
			c->requested = 1;
			client_busy(b, c, BUSY_CONN_RETRY, "too many connections from this site");
			continue;
		}
		s->conns++;
		c->counted = 1;
	}
}
