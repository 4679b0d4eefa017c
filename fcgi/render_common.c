/* Escaping and shared sentences of the formats; pure. */
#include "render_common.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

int
out_escaped(struct out *o, const char *str, escape_fn esc)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), start = 0, i = 0, k;
	char buf[8];

	/* The run of bytes kept is written at once, then the replacement of the byte after it. */
	while (i < n) {
		const char *r = esc(s + i, n - i, &k, buf);

		if (r == NULL) {
			i += k;
			continue;
		}
		if ((i > start && o->write(o->ctx, str + start, i - start) < 0) ||
		    out_puts(o, r) < 0)
			return -1;
		start = ++i;
	}
	if (i > start && o->write(o->ctx, str + start, i - start) < 0)
		return -1;
	return 0;
}

static const char *
json_esc(const unsigned char *s, size_t n, size_t *k, char *buf)
{
	*k = 1;
	if (s[0] == '"')
		return "\\\"";
	if (s[0] == '\\')
		return "\\\\";
	if (s[0] < 0x20 || s[0] == 0x7f) {
		snprintf(buf, 8, "\\u%04x", s[0]);
		return buf;
	}
	return (*k = utf8_seq(s, n)) == 0 ? "\\ufffd" : NULL;
}

int
json_str(struct out *o, const char *s)
{
	return out_puts(o, "\"") < 0 || out_escaped(o, s, json_esc) < 0 ? -1 : out_puts(o, "\"");
}

static const char *
text_esc(const unsigned char *s, size_t n, size_t *k, char *buf)
{
	(void)buf;
	/* C1 controls are two bytes in UTF-8 (C2 80 .. C2 9F); terminals act on them too. */
	if (s[0] >= 0x20 && s[0] != 0x7f && (*k = utf8_seq(s, n)) != 0 &&
	    !(*k == 2 && s[0] == 0xc2 && s[1] < 0xa0))
		return NULL;
	return "?";
}

int
text_safe(struct out *o, const char *s)
{
	return out_escaped(o, s, text_esc);
}

bool
render_seen_before(const struct proto_hop *hop, int i)
{
	for (int j = 0; j < i; j++)
		if (addr_equal(&hop->r[j].from, &hop->r[i].from))
			return true;
	return false;
}

/* traceroute(8)'s marks after an RTT: why a router answered other than time-exceeded. */
const char *
render_mark(const struct proto_reply *r, char *buf, size_t len)
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

const char *
render_mark_title(const struct proto_reply *r)
{
	char m[16];
	const char *k = render_mark(r, m, sizeof(m));

	if (r->kind == REPLY_PACKET_TOO_BIG)
		return "packet too big: the MTU the router gave";
	if (r->kind != REPLY_UNREACHABLE)
		return "";
	switch (k[2]) {
	case 'N': return "network unreachable";
	case 'H': return "host unreachable";
	case 'P': return "protocol or port unreachable";
	case 'X': return "communication administratively prohibited";
	case 'S': return "source route failed, or beyond the scope of the source";
	case 'V': return "host precedence violation";
	case 'C': return "precedence cutoff";
	}
	return "destination unreachable, with this ICMP code";
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

const char *
render_reason(const char *code)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].code, code) == 0)
			return reasons[i].text;
	return NULL;
}

const char *
render_retention(uint64_t s, char *buf, size_t len)
{
	static const struct {
		uint64_t secs;
		const char *one, *many;
	} units[] = {
		{ 86400, "day", "days" }, { 3600, "hour", "hours" }, { 60, "minute", "minutes" },
		{ 1, "second", "seconds" },
	};

	buf[0] = '\0';
	for (size_t i = 0; s > 0 && i < sizeof(units) / sizeof(units[0]); i++) {
		if (s % units[i].secs == 0) {
			snprintf(buf, len, "%llu %s", (unsigned long long)(s / units[i].secs),
			    s == units[i].secs ? units[i].one : units[i].many);
			break;
		}
	}
	return buf;
}

const char *
render_privacy(const struct render_trace *t, int stored, char *buf, size_t len)
{
	char r[32], keep[64];

	if (!stored) {
		snprintf(buf, len, "This trace was not stored: nothing about it is kept.");
		return buf;
	}
	if (t->addr_mode == PROTO_ADDR_UNSAID)
		return NULL;
	if (t->retention_s)
		snprintf(keep, sizeof(keep), "for %s, then deleted",
		    render_retention(t->retention_s, r, sizeof(r)));
	else
		snprintf(keep, sizeof(keep), "until it is deleted");
	if (t->addr_mode == PROTO_ADDR_PREFIX)
		snprintf(buf, len, "%s address is stored only as its %s prefix, not in full; the "
		    "trace is kept %s.", t->live ? "Your" : "The visitor's",
		    t->conn.client.family == AF_INET6 ? "/48" : "/24", keep);
	else
		snprintf(buf, len, "%s address is stored in full with the trace; the trace is kept "
		    "%s.", t->live ? "Your" : "The visitor's", keep);
	return buf;
}

const char *
render_time(uint64_t ms, int iso, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%s", iso ? "1970-01-01T00:00:00Z" : "unknown");
	return buf;
}

const char *
render_prefix(const struct render_trace *t)
{
	return t->prefix ? t->prefix : "";
}

int
render_stored(const struct render_trace *t, const struct proto_msg *end)
{
	return !t->unstored && (end == NULL || end->stored != 0) && t->id[0] != '\0';
}
