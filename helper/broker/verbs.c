/*
 * The broker's verbs: each request line goes to the handler of its verb, as
 * in lldpd's client_handles[]. A handler answers on the client (lines, then
 * client_close_after, or an ERROR) and marks it requested: one request per
 * connection, except PING.
 */
#include "internal.h"
#include "log.h"

static void
request_ping(struct broker *b, struct client *c, const struct proto_msg *m)
{
	(void)m;
	client_write(b, c, "PONG\n", 5);
}

static const struct verb {
	enum proto_verb verb;
	const char *name;	/* for the log */
	void (*handle)(struct broker *b, struct client *c, const struct proto_msg *m);
} verbs[] = {
	{ PROTO_PING, "PING", request_ping },		/* here */
	{ PROTO_TRACE, "TRACE", request_trace },	/* session.c */
	{ PROTO_STATUS, "STATUS", request_status },	/* sites.c */
	{ PROTO_SITES, "SITES", request_sites },	/* sites.c */
	{ PROTO_GET, "GET", request_get },		/* history.c */
	{ PROTO_HISTORY, "HISTORY", request_history },	/* history.c */
	{ PROTO_DELETE, "DELETE", request_delete },	/* history.c */
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
			verbs[i].handle(b, c, &m);
			return;
		}
	/* Answers (PONG, STARTED...) are the broker's to send, not a client's. */
	client_error(b, c, "bad-request", "unknown verb or malformed request");
}
