/* The broker's verbs: each request line goes to the handler of its verb. */
#include "internal.h"

/* One complete request line, with its '\n'. */
void
client_line(struct broker *b, struct client *c, const char *line, size_t len)
{
	struct proto_msg m;

	c->deadline_ms = now_ms(CLOCK_MONOTONIC) + CLIENT_IDLE_MS;
	switch (proto_parse(line, len, &m)) {
	case PROTO_PING:
		client_write(b, c, "PONG\n", 5);
		break;
	case PROTO_TRACE:
		request_trace(b, c, &m.req);
		break;
	case PROTO_STATUS:
		request_status(b, c);
		break;
	case PROTO_SITES:
		request_sites(b, c);
		break;
	case PROTO_GET:
		request_get(b, c, m.id);
		break;
	case PROTO_HISTORY:
		request_history(b, c, &m);
		break;
	case PROTO_DELETE:
		request_delete(b, c, &m);
		break;
	default:
		client_error(b, c, "bad-request", "unknown verb or malformed request");
		break;
	}
}
