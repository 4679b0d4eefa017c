/*
 * tracetroutd --status: a client of the running helper's socket, like the
 * app, that prints what the STATUS and SITES verbs answer.
 */
#include "broker.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "brokerclient.h"
#include "proto.h"

#define STATUS_MS	5000	/* each step: connect and greeting, the request, each line */

/*
 * Connects to the running helper, reads its greeting and sends request.
 * Returns 0, or -1 after saying why on stderr.
 */
static int
status_ask(const struct config *cfg, struct bclient *c, const char *request)
{
	enum bclient_status st = bclient_open(c, cfg->socket_path, STATUS_MS);

	/* connect() failed (c->err): nobody listens, or the socket's backlog stayed full. */
	if (c->err != 0 &&
	    (st == BCLIENT_UNREACHABLE || st == BCLIENT_DENIED || st == BCLIENT_TIMEOUT)) {
		fprintf(stderr, "tracetroutd: the helper is not running (cannot connect to "
		    "%s: %s)\n", cfg->socket_path, strerror(c->err));
		return -1;
	}
	if (st == BCLIENT_TIMEOUT || st == BCLIENT_CLOSED) {
		fprintf(stderr, "tracetroutd: no greeting from %s\n", cfg->socket_path);
		return -1;
	}
	/* Else the path, the protocol version, or a failed call: why says which. */
	if (st != BCLIENT_OK) {
		fprintf(stderr, "tracetroutd: %s\n", c->why);
		return -1;
	}
	if (bclient_send(c, request, strlen(request), bclient_deadline(STATUS_MS)) != BCLIENT_OK) {
		fprintf(stderr, "tracetroutd: cannot ask %s: %s\n", cfg->socket_path, c->why);
		bclient_close(c);
		return -1;
	}
	return 0;
}

/*
 * The next answer's verb, parsed into m; PROTO_BAD when it did not parse
 * (c->line is the line) or none came whole (c->line is NULL).
 */
static enum proto_verb
status_read(struct bclient *c, struct proto_msg *m)
{
	return bclient_read(c, m, bclient_deadline(STATUS_MS)) == BCLIENT_OK ? m->verb : PROTO_BAD;
}

/* An answer that is not the one expected: the helper's refusal or what it said. */
static void
status_unexpected(const char *request, const struct bclient *c, const struct proto_msg *m)
{
	if (m->verb == PROTO_ERROR)
		fprintf(stderr, "tracetroutd: the helper refused %s: %s: %s\n", request, m->code,
		    m->msg);
	else
		fprintf(stderr, "tracetroutd: unexpected answer to %s: %.*s\n", request,
		    (int)c->line_len - 1, c->line);
}

/* The SITE lines: one per site, with the user's name when it has one. */
static int
status_sites(const struct config *cfg, FILE *out)
{
	struct proto_msg m;
	struct passwd *pw;
	struct bclient c;
	enum proto_verb v;
	int rc = 1;

	if (status_ask(cfg, &c, "SITES\n") < 0)
		return 1;
	while ((v = status_read(&c, &m)) == PROTO_SITE) {
		pw = getpwuid((uid_t)m.site.uid);
		fprintf(out, "site uid=%llu user=%s running=%llu done=%llu refused=%llu stored=%llu\n",
		    (unsigned long long)m.site.uid, pw ? pw->pw_name : "-",
		    (unsigned long long)m.site.running, (unsigned long long)m.site.done,
		    (unsigned long long)m.site.refused, (unsigned long long)m.site.stored);
	}
	if (v == PROTO_LIST)
		rc = 0;
	else if (c.line == NULL)
		fprintf(stderr, "tracetroutd: no whole answer to SITES from %s\n", cfg->socket_path);
	else
		status_unexpected("SITES", &c, &m);
	bclient_close(&c);
	return rc;
}

int
broker_status(const struct config *cfg, FILE *out)
{
	struct proto_msg m;
	struct bclient c;
	const char *key;
	uint64_t v;
	int rc = 1;

	if (status_ask(cfg, &c, "STATUS\n") < 0)
		return 1;
	if (status_read(&c, &m) != PROTO_STATUS) {
		if (c.line == NULL)
			fprintf(stderr, "tracetroutd: no answer to STATUS from %s\n", cfg->socket_path);
		else
			status_unexpected("STATUS", &c, &m);
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
	bclient_close(&c);
	return rc;
}
