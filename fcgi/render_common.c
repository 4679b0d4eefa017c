/* Escaping and shared sentences of the formats; pure. */
#include "render_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util.h"

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
	{ "budget", "the trace used up its probes" },
	{ "closed", "the connection closed during the trace" },
	{ "unreachable", "a router answered destination unreachable" },
	{ "no-segment", "the web server sent no data in time (is it buffering the response?)" },
	{ "buffered", "the web server is buffering this response, so the trace could not "
	    "follow it; turn off response buffering for this app" },
	{ "no-rules", "the response left without passing the tracing helper: the firewall "
	    "rules are missing (tracetrout-rules add)" },
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
render_end_reason(const struct render_trace *t, const char *code)
{
	/* Each server's setting, as DESIGN.md section 6 and docs/webservers.md give them. */
	static const char *const buffered[] = {
		[RENDER_SERVER_OTHER] = NULL,
		[RENDER_SERVER_NGINX] = "the web server is buffering this response; "
		    "set fastcgi_buffering off",
		[RENDER_SERVER_APACHE] = "the web server is buffering this response; set "
		    "flushpackets=on (mod_proxy_fcgi) or FcgidOutputBufferSize 0 (mod_fcgid)",
		[RENDER_SERVER_LIGHTTPD] = "the web server is buffering this response; "
		    "set server.stream-response-body = 2",
	};

	if (strcmp(code, "destination") == 0 && t->conn.proxy != PROTO_PROXY_NONE)
		return "reached the proxy in front of this server";
	if (strcmp(code, "buffered") == 0 && (size_t)t->server < sizeof(buffered) /
	    sizeof(buffered[0]) && buffered[t->server] != NULL)
		return buffered[t->server];
	return render_reason(code);
}

const char *
render_proxy_note(const struct render_trace *t, char *buf, size_t len)
{
	static const char *const header[] = {
		[PROTO_PROXY_FORWARDED] = "a Forwarded header",
		[PROTO_PROXY_XFF] = "X-Forwarded-For",
		[PROTO_PROXY_VIA] = "Via",
	};
	static const char follows[] = "the trace follows the proxy's connection to this "
	    "server, so it ends at the proxy, not at the visitor";

	if (t->conn.proxy == PROTO_PROXY_NONE)
		return NULL;
	if (t->conn.proxy == PROTO_PROXY_LISTED)
		snprintf(buf, len, "the client address is a proxy in front of this server (the "
		    "helper's proxies setting): %s", follows);
	else if ((size_t)t->conn.proxy < sizeof(header) / sizeof(header[0]))
		snprintf(buf, len, "the request came through a proxy (it carried %s): %s",
		    header[t->conn.proxy], follows);
	else
		return NULL;
	return buf;
}

enum render_server
render_server_kind(const char *software)
{
	if (strncmp(software, "nginx", 5) == 0)
		return RENDER_SERVER_NGINX;
	if (strncmp(software, "Apache", 6) == 0)
		return RENDER_SERVER_APACHE;
	if (strncmp(software, "lighttpd", 8) == 0)
		return RENDER_SERVER_LIGHTTPD;
	return RENDER_SERVER_OTHER;
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

/* The compact form of a JSON text, written to d, or only counted when d is NULL. */
struct jwalk {
	const unsigned char *s;
	size_t n, i;
	char *d;
	size_t k;
};

static void
jput(struct jwalk *w, const void *p, size_t len)
{
	if (w->d)
		memcpy(w->d + w->k, p, len);
	w->k += len;
}

static void
jspace(struct jwalk *w)
{
	while (w->i < w->n && (w->s[w->i] == ' ' || w->s[w->i] == '\t' || w->s[w->i] == '\n' ||
	    w->s[w->i] == '\r'))
		w->i++;
}

static int
jstring(struct jwalk *w)
{
	if (w->i >= w->n || w->s[w->i] != '"')
		return -1;
	jput(w, "\"", 1);
	w->i++;
	while (w->i < w->n) {
		unsigned char c = w->s[w->i];
		size_t k;

		if (c == '"') {
			jput(w, "\"", 1);
			w->i++;
			return 0;
		}
		if (c == '\\') {
			if (w->i + 1 >= w->n)
				return -1;
			c = w->s[w->i + 1];
			if (c == 'u') {
				if (w->i + 5 >= w->n || hex_digit(w->s[w->i + 2]) < 0 ||
				    hex_digit(w->s[w->i + 3]) < 0 || hex_digit(w->s[w->i + 4]) < 0 ||
				    hex_digit(w->s[w->i + 5]) < 0)
					return -1;
				k = 6;
			} else if (c && strchr("\"\\/bfnrt", c))
				k = 2;
			else
				return -1;
			jput(w, w->s + w->i, k);
			w->i += k;
		} else if (c < 0x20) {
			return -1;
		} else if (c == 0x7f || c == '<' || c == '>' || c == '&') {
			char u[8];

			/* Markup stays inert even where a page pastes the line into HTML. */
			snprintf(u, sizeof(u), "\\u%04x", c);
			jput(w, u, 6);
			w->i++;
		} else if (c < 0x80) {
			jput(w, &c, 1);
			w->i++;
		} else if ((k = utf8_seq(w->s + w->i, w->n - w->i)) == 0) {
			jput(w, "\\ufffd", 6);
			w->i++;
		} else if (k == 3 && c == 0xe2 && w->s[w->i + 1] == 0x80 &&
		    (w->s[w->i + 2] == 0xa8 || w->s[w->i + 2] == 0xa9)) {
			/* U+2028, U+2029: line breaks to JavaScript before ES2019. */
			jput(w, w->s[w->i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			w->i += 3;
		} else {
			jput(w, w->s + w->i, k);
			w->i += k;
		}
	}
	return -1;
}

static size_t
jdigits(struct jwalk *w)
{
	size_t start = w->i;

	while (w->i < w->n && w->s[w->i] >= '0' && w->s[w->i] <= '9')
		w->i++;
	return w->i - start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
jnumber(struct jwalk *w)
{
	size_t start = w->i;

	if (w->i < w->n && w->s[w->i] == '-')
		w->i++;
	if (w->i < w->n && w->s[w->i] == '0')
		w->i++;
	else if (jdigits(w) == 0)
		return -1;
	if (w->i < w->n && w->s[w->i] == '.') {
		w->i++;
		if (jdigits(w) == 0)
			return -1;
	}
	if (w->i < w->n && (w->s[w->i] == 'e' || w->s[w->i] == 'E')) {
		w->i++;
		if (w->i < w->n && (w->s[w->i] == '+' || w->s[w->i] == '-'))
			w->i++;
		if (jdigits(w) == 0)
			return -1;
	}
	jput(w, w->s + start, w->i - start);
	return 0;
}

static int
jliteral(struct jwalk *w)
{
	static const char *const lits[] = { "true", "false", "null" };

	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(lits[i]);

		if (w->n - w->i >= l && memcmp(w->s + w->i, lits[i], l) == 0) {
			jput(w, lits[i], l);
			w->i += l;
			return 0;
		}
	}
	return -1;
}

/* "key" then ':' (an object's member starts), spaces around skipped. */
static int
jkey(struct jwalk *w)
{
	jspace(w);
	if (jstring(w) < 0)
		return -1;
	jspace(w);
	if (w->i >= w->n || w->s[w->i] != ':')
		return -1;
	jput(w, ":", 1);
	w->i++;
	return 0;
}

/*
 * One walk over the text without recursion: the open containers are bits
 * of a stack (1 an object), so the depth is bounded and so is the C stack.
 */
static enum json_check
jwalk(struct jwalk *w)
{
	uint64_t stack = 0;
	int depth = 0, after = 0;
	unsigned char c;

	for (;;) {
		jspace(w);
		if (!after) {
			if (w->i >= w->n)
				return JSON_BAD;
			c = w->s[w->i];
			if (c == '{' || c == '[') {
				if (depth == JSON_DEPTH_MAX)
					return JSON_DEEP;
				stack = stack << 1 | (c == '{');
				depth++;
				jput(w, &c, 1);
				w->i++;
				jspace(w);
				if (w->i < w->n && w->s[w->i] == (c == '{' ? '}' : ']')) {
					jput(w, w->s + w->i, 1);
					w->i++;
					stack >>= 1;
					depth--;
					after = 1;
				} else if (c == '{' && jkey(w) < 0)
					return JSON_BAD;
				continue;
			}
			if ((c == '"' ? jstring(w) : c == '-' || (c >= '0' && c <= '9') ? jnumber(w) :
			    jliteral(w)) < 0)
				return JSON_BAD;
			after = 1;
			continue;
		}
		if (depth == 0)
			return w->i == w->n ? JSON_OK : JSON_BAD;
		if (w->i >= w->n)
			return JSON_BAD;
		c = w->s[w->i];
		if (c == ',') {
			jput(w, ",", 1);
			w->i++;
			if ((stack & 1) && jkey(w) < 0)
				return JSON_BAD;
			after = 0;
		} else if (c == ((stack & 1) ? '}' : ']')) {
			jput(w, &c, 1);
			w->i++;
			stack >>= 1;
			depth--;
		} else
			return JSON_BAD;
	}
}

enum json_check
json_compact(const char *s, size_t n, size_t max, char **out, size_t *outlen)
{
	struct jwalk w = { (const unsigned char *)s, n, 0, NULL, 0 };
	enum json_check r;

	*out = NULL;
	*outlen = 0;
	/* Once to check and count, once to write. */
	if ((r = jwalk(&w)) != JSON_OK)
		return r;
	if (w.k > max)
		return JSON_BIG;
	if ((w.d = malloc(w.k + 1)) == NULL)
		return JSON_NOMEM;
	*outlen = w.k;
	w.i = w.k = 0;
	jwalk(&w);
	w.d[w.k] = '\0';
	*out = w.d;
	return JSON_OK;
}

const struct render_info *
render_info_find(const struct render_trace *t, const struct tt_addr *a)
{
	for (int i = 0; i < t->info.n && i < RENDER_INFO_ADDRS; i++)
		if (addr_equal(&t->info.e[i]->addr, a))
			return t->info.e[i];
	return NULL;
}

bool
render_info_known(const struct render_info *e, bool body)
{
	if (e == NULL)
		return false;
	if (e->name[0] || e->f.country[0] || e->f.city[0] || e->f.asn[0] || e->f.org[0])
		return true;
	return body && e->body && strcmp(e->body, "{}") != 0 && strcmp(e->body, "[]") != 0;
}

const char *
render_place(const struct render_info *e, char *buf, size_t len)
{
	const char *parts[3] = { e->f.city, e->f.country, NULL };
	char net[sizeof(e->f.asn) + sizeof(e->f.org) + 1];
	size_t k = 0;

	snprintf(net, sizeof(net), "%s%s%s", e->f.asn, e->f.asn[0] && e->f.org[0] ? " " : "",
	    e->f.org);
	parts[2] = net;
	buf[0] = '\0';
	for (size_t i = 0; i < 3; i++) {
		if (parts[i][0] == '\0' || k >= len)
			continue;
		k += (size_t)snprintf(buf + k, len - k, "%s%s", k ? ", " : "", parts[i]);
	}
	return buf;
}

int
render_info_sorted(const struct render_trace *t, const struct render_info **list)
{
	int n = 0;

	/* Insertion sort: a few dozen entries, and equal hops keep their order of arrival. */
	for (int i = 0; i < t->info.n && i < RENDER_INFO_ADDRS; i++) {
		const struct render_info *e = t->info.e[i];
		int key = e->ttl ? e->ttl : HOPSTATS_TTL_MAX + 1, j = n++;

		while (j > 0 && (list[j - 1]->ttl ? list[j - 1]->ttl : HOPSTATS_TTL_MAX + 1) > key) {
			list[j] = list[j - 1];
			j--;
		}
		list[j] = e;
	}
	return n;
}
