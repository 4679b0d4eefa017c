/* traceroute(8)-style text, for people and for tools that already read traceroute's output. */
#include "render.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int
text_begin(struct out *o, const struct render_trace *t)
{
	char c[ADDR_STRLEN], s[ADDR_STRLEN];

	addr_format(&t->conn.client, c);
	return out_printf(o, "traceroute to %s (%s) port %u, from %s port %u, trace %s\n",
	    c, c, t->conn.cport, addr_format(&t->conn.server, s), t->conn.sport, t->id);
}

/* traceroute(8)'s marks after an RTT: why a router answered other than time-exceeded. */
static const char *
mark(const struct proto_reply *r, char *buf, size_t len)
{
	if (r->kind == REPLY_PACKET_TOO_BIG) {
		snprintf(buf, len, " !F-%u", r->code);
		return buf;
	}
	if (r->kind != REPLY_UNREACHABLE)
		return "";
	if (r->from.family == AF_INET6) {
		switch (r->code) {
		case 0: return " !N";		/* no route */
		case 1: case 5: case 6: return " !X";	/* administratively prohibited */
		case 2: return " !S";		/* beyond scope */
		case 3: return " !H";		/* address unreachable */
		case 4: return " !P";		/* port unreachable */
		}
	} else {
		switch (r->code) {
		case 0: case 6: case 11: return " !N";
		case 1: case 7: case 12: return " !H";
		case 2: case 3: return " !P";
		case 5: return " !S";
		case 9: case 10: case 13: return " !X";
		case 14: return " !V";
		case 15: return " !C";
		}
	}
	snprintf(buf, len, " !<%u>", r->code);
	return buf;
}

/*
 * " 1  192.0.2.1  0.412 ms  0.398 ms *": an address when it changes, an
 * RTT per reply, a star per probe that got none.
 */
static int
text_hop(struct out *o, const struct render_trace *t, const struct proto_hop *hop)
{
	char a[ADDR_STRLEN], m[16];
	int stars = hop->sent - hop->nreplies;

	(void)t;
	if (out_printf(o, "%2d ", hop->ttl) < 0)
		return -1;
	for (int i = 0; i < hop->nreplies; i++) {
		const struct proto_reply *r = &hop->r[i];

		if ((i == 0 || !addr_equal(&r->from, &hop->r[i - 1].from)) &&
		    out_printf(o, " %s", addr_format(&r->from, a)) < 0)
			return -1;
		if (out_printf(o, "  %u.%03u ms%s", r->rtt_us / 1000, r->rtt_us % 1000,
		    mark(r, m, sizeof(m))) < 0)
			return -1;
	}
	/* A hop the broker never reported still shows as silent. */
	if (hop->nreplies == 0 && stars < 1)
		stars = 1;
	for (int i = 0; i < stars; i++)
		if (out_puts(o, " *") < 0)
			return -1;
	return out_puts(o, "\n");
}

static const struct {
	const char *code, *text;
} reasons[] = {
	{ "destination", "reached the visitor" },
	{ "max-hops", "maximum number of hops reached" },
	{ "gap-limit", "too many silent hops in a row" },
	{ "deadline", "time limit reached" },
	{ "closed", "the connection closed during the trace" },
	{ "unreachable", "a router answered destination unreachable" },
	{ "no-segment", "the web server sent no data in time (is it buffering the response?)" },
	{ "no-ack", "the visitor did not acknowledge the response in time" },
	{ "engine-down", "the packet engine stopped" },
	{ "internal", "internal error in the tracing helper" },
};

static int
text_end(struct out *o, const struct render_trace *t, const struct proto_msg *m)
{
	const char *why = m->code;

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].code, m->code) == 0)
			why = reasons[i].text;
	if (out_printf(o, "end: %s; %d hops in %llu.%03llu ms\n", why, m->hops,
	    (unsigned long long)(m->duration_us / 1000),
	    (unsigned long long)(m->duration_us % 1000)) < 0)
		return -1;
	/* The live result above is whole either way; only the history lacks it. */
	if (t->unstored)
		return out_puts(o, "note: this trace was not stored (the tracing helper has no "
		    "usable database: none set, read-only or full)\n");
	if (m->stored == 0)
		return out_puts(o, "note: this trace was not stored (a database write failed "
		    "during the trace)\n");
	return 0;
}

static int
text_error(struct out *o, const char *msg)
{
	return out_printf(o, "error: %s\n", msg);
}

/* A break after the head reads like an error before it: the visitor sees why it stopped. */
static int
text_fail(struct out *o, const struct render_trace *t, const char *msg)
{
	(void)t;
	return text_error(o, msg);
}

const struct renderer render_text = {
	.content_type = "text/plain; charset=utf-8",
	.begin = text_begin,
	.hop = text_hop,
	.end = text_end,
	.fail = text_fail,
	.error = text_error,
};
