/*
 * tracetroutd --status: a client of the running helper's socket, like the
 * app, that prints what the STATUS and SITES verbs answer.
 */
#include "broker.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

/* Reads one line (with its '\n') within the socket's receive timeout; returns its length or -1. */
static int
status_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = recv(fd, buf + n, 1, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n++] == '\n') {
			buf[n] = '\0';
			return (int)n;
		}
	}
	return -1;
}

/*
 * Connects to the running helper, reads its greeting and sends request.
 * Returns the socket, or -1 after saying why on stderr.
 */
static int
status_ask(const struct config *cfg, const char *request)
{
	struct timeval tv = { 5, 0 };
	struct sockaddr_un sun;
	char line[PROTO_LINE_MAX + 1];
	struct proto_msg m;
	size_t len = strlen(request);
	int fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(cfg->socket_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "tracetroutd: socket path too long: %s\n", cfg->socket_path);
		return -1;
	}
	strcpy(sun.sun_path, cfg->socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "tracetroutd: socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "tracetroutd: the helper is not running (cannot connect to %s: %s)\n",
		    cfg->socket_path, strerror(errno));
		goto fail;
	}
	if ((n = status_line(fd, line, sizeof(line))) < 0 ||
	    proto_parse(line, (size_t)n, &m) != PROTO_GREETING) {
		fprintf(stderr, "tracetroutd: no greeting from %s\n", cfg->socket_path);
		goto fail;
	}
	if (m.version != PROTO_VERSION) {
		fprintf(stderr, "tracetroutd: %s speaks protocol version %d, not %d\n",
		    cfg->socket_path, m.version, PROTO_VERSION);
		goto fail;
	}
	if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "tracetroutd: cannot ask %s: %s\n", cfg->socket_path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* An answer that is not the one expected: the helper's refusal or what it said. */
static void
status_unexpected(const char *request, const char *line, const struct proto_msg *m)
{
	if (m->verb == PROTO_ERROR)
		fprintf(stderr, "tracetroutd: the helper refused %s: %s: %s\n", request, m->code,
		    m->msg);
	else
		fprintf(stderr, "tracetroutd: unexpected answer to %s: %.*s\n", request,
		    (int)strcspn(line, "\n"), line);
}

/* The SITE lines: one per site, with the user's name when it has one. */
static int
status_sites(const struct config *cfg, FILE *out)
{
	char line[PROTO_LINE_MAX + 1];
	struct proto_msg m;
	struct passwd *pw;
	int fd, n, rc = 1;

	if ((fd = status_ask(cfg, "SITES\n")) < 0)
		return 1;
	while ((n = status_line(fd, line, sizeof(line))) > 0) {
		enum proto_verb v = proto_parse(line, (size_t)n, &m);

		if (v == PROTO_LIST) {
			rc = 0;
			break;
		}
		if (v != PROTO_SITE) {
			status_unexpected("SITES", line, &m);
			break;
		}
		pw = getpwuid((uid_t)m.site.uid);
		fprintf(out, "site uid=%llu user=%s running=%llu done=%llu refused=%llu stored=%llu\n",
		    (unsigned long long)m.site.uid, pw ? pw->pw_name : "-",
		    (unsigned long long)m.site.running, (unsigned long long)m.site.done,
		    (unsigned long long)m.site.refused, (unsigned long long)m.site.stored);
	}
	if (n <= 0)
		fprintf(stderr, "tracetroutd: no whole answer to SITES from %s\n", cfg->socket_path);
	close(fd);
	return rc;
}

int
broker_status(const struct config *cfg, FILE *out)
{
	char line[PROTO_LINE_MAX + 1];
	struct proto_msg m;
	const char *key;
	uint64_t v;
	int fd, n, rc = 1;

	if ((fd = status_ask(cfg, "STATUS\n")) < 0)
		return 1;
	if ((n = status_line(fd, line, sizeof(line))) < 0) {
		fprintf(stderr, "tracetroutd: no answer to STATUS from %s\n", cfg->socket_path);
		goto out;
	}
	if (proto_parse(line, (size_t)n, &m) != PROTO_STATUS) {
		status_unexpected("STATUS", line, &m);
		goto out;
	}
	for (size_t i = 0; (key = proto_status_key(i, &m.status, &v)) != NULL; i++)
		if (v != PROTO_STATUS_UNKNOWN)
			fprintf(out, "%s %llu\n", key, (unsigned long long)v);
	/* Then the traces of each site, which the administrator reads per uid. */
	rc = status_sites(cfg, out);
	if (fflush(out) != 0)
		rc = 1;
out:
	close(fd);
	return rc;
}
