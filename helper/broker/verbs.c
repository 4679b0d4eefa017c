/*
 * The broker's verbs: each request line goes to the handler of its verb, as
 * in lldpd's client_handles[]. A handler answers on the client (lines, then
 * client_close_after, or an ERROR) and marks it requested: one request per
 * connection, except PING. Each verb is a site's, an operator's, or anyone's
 * who may connect (auth.c).
 */
#include "internal.h"
#include "log.h"

static void
request_ping(struct broker *b, struct client *c, const struct proto_msg *m)
{
	(void)m;
	client_write(b, c, "PONG\n", 5);
}

enum role { ANYONE, SITE, ADMIN };

static const struct verb {
	enum proto_verb verb;
	const char *name;	/* for the log */
	enum role role;
	void (*handle)(struct broker *b, struct client *c, const struct proto_msg *m);
} verbs[] = {
	{ PROTO_PING, "PING", ANYONE, request_ping },		/* here */
	{ PROTO_TRACE, "TRACE", SITE, request_trace },		/* session.c */
	{ PROTO_STATUS, "STATUS", ANYONE, request_status },	/* sites.c */
	{ PROTO_SITES, "SITES", ANYONE, request_sites },	/* sites.c */
	{ PROTO_GET, "GET", SITE, request_get },		/* history.c */
	{ PROTO_HISTORY, "HISTORY", SITE, request_history },	/* history.c */
	{ PROTO_DELETE, "DELETE", SITE, request_delete },	/* history.c */
	{ PROTO_QUERY, "QUERY", ADMIN, request_query },		/* history.c */
};

/* One complete request line, with its '\n'. */
void
client_line(struct broker *b, struct client *c, const char *line, size_t len)
{
	struct proto_msg m;
	enum proto_verb v;

	c->deadline_ms = time_ms(CLOCK_MONOTONIC) + CLIENT_IDLE_MS;
	v = proto_parse(line, len, &m);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == v) {
			log_debug("broker: client fd %d: %s", c->fd, verbs[i].name);
			if ((verbs[i].role == SITE && !c->site) || (verbs[i].role == ADMIN && !c->admin)) {
				b->forbidden++;
				c->requested = 1;
				client_error(b, c, "forbidden", verbs[i].role == SITE ?
				    "only a site may ask this" : "only root, admin-users and admin-groups "
				    "may search every site's traces");
				return;
			}
			verbs[i].handle(b, c, &m);
			return;
		}
	/* Answers (PONG, STARTED...) are the broker's to send, not a client's. */
	client_error(b, c, "bad-request", "unknown verb or malformed request");
}
