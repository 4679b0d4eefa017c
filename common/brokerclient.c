/* The broker connection: a non-blocking unix socket where every wait is a poll() with a deadline. */
#include "brokerclient.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int64_t
bclient_deadline(int timeout_ms)
{
	return (int64_t)time_ms(CLOCK_MONOTONIC) + timeout_ms;
}

static int
remaining(int64_t deadline)
{
	int64_t r = deadline - (int64_t)time_ms(CLOCK_MONOTONIC);

	return r < 0 ? 0 : r > INT_MAX ? INT_MAX : (int)r;
}

/* Says why a step failed; err is the errno of the system call behind it, 0 if none failed. */
static enum bclient_status __attribute__((format(printf, 4, 5)))
fail(struct bclient *c, enum bclient_status st, int err, const char *fmt, ...)
{
	va_list ap;

	c->err = err;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return st;
}

/*
 * Waits until fd is ready for events or the deadline passes. Returns 1
 * when ready, 0 on timeout, -1 on error (errno set).
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	for (;;) {
		n = poll(&p, 1, remaining(deadline));
		if (n >= 0 || errno != EINTR)
			return n < 0 ? -1 : n > 0;
	}
}

static enum bclient_status
connect_deadline(struct bclient *c, const char *path, int64_t deadline)
{
	struct sockaddr_un sun;
	socklen_t len;
	int err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return fail(c, BCLIENT_UNREACHABLE, 0, "socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path));
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return BCLIENT_OK;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* A unix socket's backlog is full: the broker is slow, not gone. Retry. */
			if (remaining(deadline) == 0)
				return fail(c, BCLIENT_TIMEOUT, errno, "connect %s: backlog full", path);
			poll(NULL, 0, remaining(deadline) < 10 ? remaining(deadline) : 10);
			continue;
		}
		/*
		 * Permissions: the socket (socket-mode, socket-group) or a directory
		 * on its path keeps this user out. Say who, so the fix is plain.
		 */
		if (errno == EACCES || errno == EPERM)
			return fail(c, BCLIENT_DENIED, errno, "connect %s: %s: this app runs as uid %u gid %u; "
			    "the socket's group (socket-group in tracetrout.conf) must be one of its "
			    "groups, and every directory on the path searchable by it", path,
			    strerror(errno), (unsigned)geteuid(), (unsigned)getegid());
		if (errno != EINPROGRESS)
			return fail(c, BCLIENT_UNREACHABLE, errno, "connect %s: %s", path, strerror(errno));
		switch (wait_fd(c->fd, POLLOUT, deadline)) {
		case 0:
			return fail(c, BCLIENT_TIMEOUT, 0, "connect %s: timed out", path);
		case -1:
			return fail(c, BCLIENT_IOERR, errno, "poll: %s", strerror(errno));
		}
		len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return fail(c, BCLIENT_IOERR, errno, "getsockopt: %s", strerror(errno));
		if (err != 0)
			return fail(c, BCLIENT_UNREACHABLE, err, "connect %s: %s", path, strerror(err));
		return BCLIENT_OK;
	}
}

enum bclient_status
bclient_open(struct bclient *c, const char *path, int timeout_ms)
{
	int64_t deadline = bclient_deadline(timeout_ms);
	struct proto_msg m;
	enum bclient_status st;

	c->off = c->len = 0;
	c->line = NULL;
	c->line_len = 0;
	c->why[0] = '\0';
	c->err = 0;
	c->body = NULL;
	c->body_len = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail(c, BCLIENT_IOERR, errno, "socket: %s", strerror(errno));
	if ((st = connect_deadline(c, path, deadline)) != BCLIENT_OK)
		goto bad;
	if ((st = bclient_read(c, &m, deadline)) != BCLIENT_OK) {
		/* Say which step hung: a frozen helper still completes connect(). */
		if (st == BCLIENT_TIMEOUT)
			fail(c, st, 0, "no greeting from %s in %d ms", path, timeout_ms);
		goto bad;
	}
	if (m.verb != PROTO_GREETING) {
		st = fail(c, BCLIENT_GARBAGE, 0, "expected a greeting from %s", path);
		goto bad;
	}
	if (m.version != PROTO_VERSION) {
		st = fail(c, BCLIENT_GARBAGE, 0, "%s speaks protocol version %d, not %d", path,
		    m.version, PROTO_VERSION);
		goto bad;
	}
	return BCLIENT_OK;
bad:
	bclient_close(c);
	return st;
}

enum bclient_status
bclient_send(struct bclient *c, const char *line, size_t len, int64_t deadline)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return fail(c, BCLIENT_CLOSED, errno, "the broker closed the connection");
		if (errno != EAGAIN)
			return fail(c, BCLIENT_IOERR, errno, "send: %s", strerror(errno));
		switch (wait_fd(c->fd, POLLOUT, deadline)) {
		case 0:
			return fail(c, BCLIENT_TIMEOUT, 0, "the broker reads no requests");
		case -1:
			return fail(c, BCLIENT_IOERR, errno, "poll: %s", strerror(errno));
		}
	}
	return BCLIENT_OK;
}

/* Takes the first line (n bytes) out of the buffer and parses it; the line stays where it is. */
static enum bclient_status
take_line(struct bclient *c, size_t n, struct proto_msg *m)
{
	const char *line = c->buf + c->off;
	enum proto_verb v = proto_parse(line, n, m);
	size_t i, k;

	if (v == PROTO_BAD) {
		/* Quote the start of the line, unprintable bytes masked, so the log stays one line. */
		k = (size_t)snprintf(c->why, sizeof(c->why), "unparsable line from the broker: ");
		for (i = 0; i < n && line[i] != '\n' && k + 1 < sizeof(c->why); i++)
			c->why[k++] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
		c->why[k] = '\0';
		c->err = 0;
	}
	c->line = line;
	c->line_len = n;
	c->off += n;
	return v == PROTO_BAD ? BCLIENT_GARBAGE : BCLIENT_OK;
}

/*
 * Reads what the socket has, at most len bytes, into dst, waiting for some
 * until the deadline; *n gets the count. what names the thing being read,
 * for c->why.
 */
static enum bclient_status
read_some(struct bclient *c, char *dst, size_t len, int64_t deadline, size_t *n,
    const char *what)
{
	ssize_t r;

	for (;;) {
		r = read(c->fd, dst, len);
		if (r > 0) {
			*n = (size_t)r;
			return BCLIENT_OK;
		}
		if (r == 0)
			return fail(c, BCLIENT_CLOSED, 0, "the broker closed the connection%s%s",
			    what ? " in the middle of " : "", what ? what : "");
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return fail(c, BCLIENT_CLOSED, errno, "the broker reset the connection");
		if (errno != EAGAIN)
			return fail(c, BCLIENT_IOERR, errno, "read: %s", strerror(errno));
		switch (wait_fd(c->fd, POLLIN, deadline)) {
		case 0:
			return fail(c, BCLIENT_TIMEOUT, 0, "the broker did not send %s in time",
			    what ? what : "a line");
		case -1:
			return fail(c, BCLIENT_IOERR, errno, "poll: %s", strerror(errno));
		}
	}
}

/*
 * An INFO's body: len bytes and a '\n' after its line, first from what the
 * buffer holds, then from the socket straight into the heap, never past
 * the body's end (the next line stays in the socket for c->buf).
 */
static enum bclient_status
read_body(struct bclient *c, size_t len, int64_t deadline)
{
	size_t want = len + 1, got, n;
	enum bclient_status st;
	char *b;

	if (len > PROTO_INFO_MAX)	/* the parser refuses it already */
		return fail(c, BCLIENT_GARBAGE, 0, "an INFO body of %zu bytes is too long", len);
	if ((b = malloc(want)) == NULL)
		return fail(c, BCLIENT_IOERR, errno, "an INFO body of %zu bytes: %s", len, strerror(errno));
	got = c->len - c->off < want ? c->len - c->off : want;
	memcpy(b, c->buf + c->off, got);
	c->off += got;
	while (got < want) {
		if ((st = read_some(c, b + got, want - got, deadline, &n, "an INFO body")) !=
		    BCLIENT_OK) {
			free(b);
			return st;
		}
		got += n;
	}
	if (b[len] != '\n') {
		free(b);
		return fail(c, BCLIENT_GARBAGE, 0, "an INFO body of %zu bytes does not end with a "
		    "newline", len);
	}
	b[len] = '\0';
	c->body = b;
	c->body_len = len;
	return BCLIENT_OK;
}

bool
bclient_ready(const struct bclient *c)
{
	return memchr(c->buf + c->off, '\n', c->len - c->off) != NULL;
}

enum bclient_status
bclient_read(struct bclient *c, struct proto_msg *m, int64_t deadline)
{
	enum bclient_status st;
	const char *nl;
	size_t n;

	free(c->body);
	c->body = NULL;
	c->body_len = 0;
	c->line = NULL;
	c->line_len = 0;
	for (;;) {
		if ((nl = memchr(c->buf + c->off, '\n', c->len - c->off)) != NULL) {
			st = take_line(c, (size_t)(nl - (c->buf + c->off)) + 1, m);
			if (st == BCLIENT_OK && m->verb == PROTO_INFO)
				st = read_body(c, m->info_len, deadline);
			return st;
		}
		/* Only now, with no whole line left, move the partial one to the front. */
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->buf))
			return fail(c, BCLIENT_GARBAGE, 0, "a line from the broker is longer than %d bytes",
			    PROTO_LINE_MAX);
		if ((st = read_some(c, c->buf + c->len, sizeof(c->buf) - c->len, deadline, &n,
		    c->len ? "a line" : NULL)) != BCLIENT_OK)
			return st;
		c->len += n;
	}
}

enum bclient_status
bclient_ask(struct bclient *c, const char *path, int connect_ms, const char *line, size_t len,
    int answer_ms, struct proto_msg *m)
{
	enum bclient_status st;
	int64_t deadline;

	if ((st = bclient_open(c, path, connect_ms)) != BCLIENT_OK)
		return st;
	deadline = bclient_deadline(answer_ms);
	st = bclient_send(c, line, len, deadline);
	/*
	 * A broker that refuses this caller (forbidden) writes its ERROR and
	 * closes without reading: the send may fail, but the reason is there
	 * to read, and it is worth more than "closed".
	 */
	if (st == BCLIENT_OK || st == BCLIENT_CLOSED) {
		enum bclient_status sent = st;

		if ((st = bclient_read(c, m, deadline)) == BCLIENT_OK && sent == BCLIENT_CLOSED &&
		    m->verb != PROTO_ERROR)
			st = fail(c, BCLIENT_CLOSED, 0, "the broker closed the connection");
	}
	if (st != BCLIENT_OK)
		bclient_close(c);
	return st;
}

void
bclient_close(struct bclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->off = c->len = 0;
	c->line = NULL;
	c->line_len = 0;
	free(c->body);
	c->body = NULL;
	c->body_len = 0;
}
