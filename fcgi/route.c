/*
 * Routing: the app's own path under whatever mount the web server gives it,
 * the route and its method, the output format, and every parameter a
 * handler takes, checked here so that only valid ids, tokens and addresses
 * ever reach the broker.
 */
#include "route.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "assets.h"
#include "history.h"
#include "live.h"
#include "log.h"
#include "render_common.h"
#include "reply.h"
#include "stored.h"
#include "util.h"

#define VALUE_MAX	64	/* a query or form value we read: the longest valid one is 32 bytes */

static void __attribute__((format(printf, 5, 6)))
deny(struct route *rt, int status, const char *msg, bool warn, const char *fmt, ...)
{
	va_list ap;

	rt->action = ROUTE_ERROR;
	rt->status = status;
	rt->msg = msg;
	rt->warn = warn;
	va_start(ap, fmt);
	vsnprintf(rt->why, sizeof(rt->why), fmt, ap);
	va_end(ap);
}

/* Copies at most 64 bytes of s for a log line, unprintable bytes masked. */
static const char *
quote(const char *s, size_t n, char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < n && i < 64 && i + 1 < size; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* What a query string or a form holds of one key. */
enum form_found {
	FORM_ABSENT = 0,	/* not given, or empty */
	FORM_OK,		/* given and well formed: the value was written */
	FORM_BAD,		/* given and malformed */
};

/*
 * The value of key in n bytes of application/x-www-form-urlencoded text (a
 * query string or a form body; pairs split by '&' or ';'), percent-decoded
 * into buf. Returns FORM_OK when found with a value, FORM_ABSENT when
 * absent or empty, FORM_BAD when a value of key is malformed: a bad
 * escape, a decoded byte that is not printable ASCII (NUL, controls,
 * non-UTF-8 and UTF-8 alike: no valid value has one), or too long for buf.
 * The last occurrence wins; each must be well formed. Other keys are not
 * looked at.
 */
static enum form_found
form_value(const char *s, size_t n, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	enum form_found found = FORM_ABSENT;

	while (n > 0) {
		size_t f = 0, k = 0;

		while (f < n && s[f] != '&' && s[f] != ';')
			f++;
		if (f > klen && memcmp(s, key, klen) == 0 && s[klen] == '=') {
			const char *v = s + klen + 1;
			size_t vn = f - klen - 1;

			for (size_t i = 0; i < vn; i++) {
				int c = (unsigned char)v[i], hi, lo;

				if (c == '%') {
					if (i + 2 >= vn || (hi = hex_digit(v[i + 1])) < 0 ||
					    (lo = hex_digit(v[i + 2])) < 0)
						return FORM_BAD;
					c = hi << 4 | lo;
					i += 2;
				} else if (c == '+')
					c = ' ';
				if (c <= 0x20 || c >= 0x7f || k + 1 >= size)
					return FORM_BAD;
				buf[k++] = (char)c;
			}
			buf[k] = '\0';
			found = k > 0 ? FORM_OK : FORM_ABSENT;
		}
		s += f;
		n -= f;
		if (n > 0) {
			s++;
			n--;
		}
	}
	return found;
}

static const struct {
	const char *name;
	const struct renderer *r;
} formats[] = {
	{ "json", &render_json },
	{ "text", &render_text },
	{ "html", &render_html },
	{ "atlas", &render_atlas },
};

/*
 * The format asked for with ?format=. Returns FORM_OK and sets *r when there
 * is one, FORM_ABSENT when there is none, FORM_BAD for an unknown or
 * malformed value.
 */
static enum form_found
query_format(const char *q, const struct renderer **r)
{
	char v[VALUE_MAX];
	enum form_found found = form_value(q, strlen(q), "format", v, sizeof(v));

	if (found != FORM_OK)
		return found;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcasecmp(v, formats[i].name) == 0) {
			*r = formats[i].r;
			return FORM_OK;
		}
	return FORM_BAD;
}

/* An Accept q-value in thousandths: "1", "0.5", "0.125"; -1 if malformed. */
static int
qvalue(const char *s, size_t n)
{
	int q, scale = 100;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return -1;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * How an Accept header ranks type, through its most specific matching
 * range (RFC 9110 12.5.1): the q-value in thousandths (-1 if no range
 * matches), the specificity (3 the type itself, 2 its major type with a
 * wildcard, 1 the catch-all) and the position of the range in the header.
 */
struct accept_rank {
	int q, spec, pos;
};

static void
accept_q(const char *accept, const char *type, struct accept_rank *best)
{
	size_t tlen = strlen(type), major = strcspn(type, "/");

	best->q = -1;
	best->spec = 0;
	best->pos = 0;
	for (int pos = 0; *accept; pos++) {
		size_t n = strcspn(accept, ","), m, i;
		const char *s = accept;
		int spec = 0, q = 1000;

		accept += n;
		if (*accept)
			accept++;
		while (n > 0 && is_space(*s)) {
			s++;
			n--;
		}
		for (m = 0; m < n && s[m] != ';'; m++)
			;
		i = m;
		while (m > 0 && is_space(s[m - 1]))
			m--;
		if (m == tlen && strncasecmp(s, type, m) == 0)
			spec = 3;
		else if (m == major + 2 && strncasecmp(s, type, major + 1) == 0 && s[major + 1] == '*')
			spec = 2;
		else if (m == 3 && strncmp(s, "*/*", 3) == 0)
			spec = 1;
		if (spec == 0 || spec < best->spec)
			continue;
		/* Parameters: only q matters here. */
		while (i < n) {
			size_t start, end;

			i++;	/* the ';' */
			while (i < n && is_space(s[i]))
				i++;
			start = i;
			while (i < n && s[i] != ';')
				i++;
			end = i;
			while (end > start && is_space(s[end - 1]))
				end--;
			if (end - start >= 2 && (s[start] == 'q' || s[start] == 'Q') &&
			    s[start + 1] == '=' && (q = qvalue(s + start + 2, end - start - 2)) < 0)
				q = 0;	/* a malformed q never wins */
		}
		if (spec > best->spec || q > best->q) {
			best->spec = spec;
			best->q = q;
			best->pos = pos;
		}
	}
}

/*
 * The format an Accept header prefers: the highest q, then the most
 * specific range, then the range named first; JSON on a full tie, as for
 * no Accept and the catch-all range that curl and fetch() send (the
 * original's default, kept for its clients). A browser names text/html and
 * gets the page. Atlas has no media type of its own: only ?format=atlas.
 */
static const struct renderer *
accept_format(const char *accept)
{
	static const struct {
		const char *type;
		const struct renderer *r;
	} types[] = {
		{ "application/json", &render_json },
		{ "text/plain", &render_text },
		{ "text/html", &render_html },
	};
	const struct renderer *r = &render_json;
	struct accept_rank best = { 0, 0, 0 }, a;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		accept_q(accept, types[i].type, &a);
		if (a.q <= 0)
			continue;
		if (a.q > best.q || (a.q == best.q && (a.spec > best.spec ||
		    (a.spec == best.spec && a.pos < best.pos)))) {
			best = a;
			r = types[i].r;
		}
	}
	return r;
}

/*
 * Splits the request's path into the app's own prefix and the path inside
 * the app. PATH_INFO, where the server gives one, is the path inside and
 * SCRIPT_NAME the prefix. Otherwise (nginx without fastcgi_split_path_info,
 * Apache's proxy) the whole path comes in SCRIPT_NAME or DOCUMENT_URI, and
 * only its tail tells the route: "/" is the app's root; "/history",
 * "/tracetrout.css", "/tracetrout.js", "/trace/ID" and "/trace/ID/delete"
 * are the app's pages under the prefix before them; anything else is
 * unknown. Returns 0, or -1 when there is no path.
 */
static int
split_path(const struct request *req, const char **prefix, size_t *plen, const char **rel,
    size_t *rlen)
{
	static const char *const pages[] = { "/history", "/tracetrout.css", "/tracetrout.js" };
	const char *p, *s1 = NULL, *s2 = NULL, *s3 = NULL;
	size_t n;

	if (req->path_info[0]) {
		*prefix = req->script_name;
		*plen = strlen(req->script_name);
		*rel = req->path_info;
		*rlen = strlen(req->path_info);
		return 0;
	}
	if (req->script_name[0])
		p = req->script_name;
	else if (req->document_uri[0])
		p = req->document_uri;
	else
		p = req->request_uri;
	/* REQUEST_URI carries the query; the others never do. */
	n = strcspn(p, "?");
	if (n == 0)
		return -1;
	/* The last three slashes: s1 before the last segment, s2 and s3 before it. */
	for (size_t i = 0; i < n; i++)
		if (p[i] == '/') {
			s3 = s2;
			s2 = s1;
			s1 = p + i;
		}
	*prefix = p;
	*rel = p;
	if (p[n - 1] == '/') {
		*rel = p + n - 1;
	} else if (s1) {
		size_t last = (size_t)(p + n - s1);	/* the last segment with its slash */

		for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
			if (last == strlen(pages[i]) && memcmp(s1, pages[i], last) == 0)
				*rel = s1;
		if (*rel == p && s3 && s2 - s3 == 6 && memcmp(s3, "/trace", 6) == 0 &&
		    last == 7 && memcmp(s1, "/delete", 7) == 0)
			*rel = s3;
		else if (*rel == p && s2 && s1 - s2 == 6 && memcmp(s2, "/trace", 6) == 0)
			*rel = s2;
	}
	*plen = (size_t)(*rel - p);
	*rlen = n - *plen;
	return 0;
}

/* Percent-encodes what may not stand in a URI path; the server gave us the decoded path. */
static int
escape_path(const char *s, size_t n, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~!$&'()*+,;=:@/", c) != NULL) {
			if (k + 1 >= size)
				return -1;
			buf[k++] = (char)c;
		} else {
			if (k + 3 >= size)
				return -1;
			buf[k++] = '%';
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		}
	}
	buf[k] = '\0';
	return 0;
}

/*
 * An address as a web server passes it: lighttpd, bound to one IPv6
 * address, writes SERVER_ADDR in brackets ("[2001:db8::1]"). Returns 0,
 * or -1 if it is not an address.
 */
static int
server_addr_parse(const char *s, struct tt_addr *a)
{
	char buf[ADDR_STRLEN];
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		s = buf;
	}
	return addr_parse(s, a);
}

/* The visitor's connection from REMOTE_* and SERVER_*; the web server's fault when absent. */
static void
decide_conn(const struct request *req, struct route *rt)
{
	static const char msg[] = "the web server did not describe this connection";
	struct proto_trace_req *c = &rt->conn;
	char q[80];

	if (server_addr_parse(req->remote_addr, &c->client) < 0)
		deny(rt, 400, msg, true, "REMOTE_ADDR \"%s\" is not an address",
		    quote(req->remote_addr, strlen(req->remote_addr), q, sizeof(q)));
	else if (port_parse(req->remote_port, &c->cport) < 0)
		deny(rt, 400, msg, true, "REMOTE_PORT \"%s\" is not a port",
		    quote(req->remote_port, strlen(req->remote_port), q, sizeof(q)));
	else if (server_addr_parse(req->server_addr, &c->server) < 0)
		deny(rt, 400, msg, true, "SERVER_ADDR \"%s\" is not an address",
		    quote(req->server_addr, strlen(req->server_addr), q, sizeof(q)));
	else if (port_parse(req->server_port, &c->sport) < 0)
		deny(rt, 400, msg, true, "SERVER_PORT \"%s\" is not a port",
		    quote(req->server_port, strlen(req->server_port), q, sizeof(q)));
	else if (c->client.family != c->server.family)
		/* A translator (NAT64, a proxy) joins two connections: neither is ours to trace. */
		deny(rt, 422, "this connection cannot be traced: it crosses a protocol translator",
		    false, "REMOTE_ADDR and SERVER_ADDR are of different families");
	else {
		c->proxy = req->proxy;
		rt->action = ROUTE_TRACE;
	}
}

/*
 * Whether an If-None-Match header names etag (weak comparison, RFC 9110
 * 13.1.2: W/ is ignored); "*" matches anything. etag is given with or
 * without its quotes.
 */
static bool
etag_match(const char *list, const char *etag)
{
	size_t elen = strlen(etag);

	if (elen >= 2 && etag[0] == '"' && etag[elen - 1] == '"') {
		etag++;
		elen -= 2;
	}
	while (*list) {
		size_t n;

		while (is_space(*list) || *list == ',')
			list++;
		if (*list == '*' && (list[1] == '\0' || list[1] == ',' || is_space(list[1])))
			return true;
		if (strncmp(list, "W/", 2) == 0)
			list += 2;
		n = strcspn(list, ",");
		while (n > 0 && is_space(list[n - 1]))
			n--;
		if (n == elen + 2 && list[0] == '"' && list[n - 1] == '"' &&
		    memcmp(list + 1, etag, elen) == 0)
			return true;
		list += strcspn(list, ",");
	}
	return false;
}

/* A form's media type: application/x-www-form-urlencoded, with parameters or not. */
static bool
is_form(const char *ctype)
{
	static const char form[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(form) - 1;

	if (strncasecmp(ctype, form, n) != 0)
		return false;
	ctype += n;
	while (is_space(*ctype))
		ctype++;
	return *ctype == '\0' || *ctype == ';';
}

/* The app's pages, by the path inside the app. */
enum page {
	PAGE_NONE = 0,
	PAGE_ROOT,		/* / */
	PAGE_TRACE,		/* /trace/ID */
	PAGE_DELETE,		/* /trace/ID/delete */
	PAGE_BAD_ID,		/* /trace/ anything else */
	PAGE_HISTORY,		/* /history */
	PAGE_ASSET,		/* /tracetrout.css, /tracetrout.js */
};

static enum page
page_of(const char *rel, size_t n, char *id)
{
	if (n == 1 && rel[0] == '/')
		return PAGE_ROOT;
	if (n == 8 && memcmp(rel, "/history", 8) == 0)
		return PAGE_HISTORY;
	if ((n == 15 && memcmp(rel, "/tracetrout.css", 15) == 0) ||
	    (n == 14 && memcmp(rel, "/tracetrout.js", 14) == 0))
		return PAGE_ASSET;
	if (n < 7 || memcmp(rel, "/trace/", 7) != 0)
		return PAGE_NONE;
	rel += 7;
	n -= 7;
	if (n < PROTO_ID_LEN || !proto_id_ok(rel, PROTO_ID_LEN))
		return PAGE_BAD_ID;
	memcpy(id, rel, PROTO_ID_LEN);
	id[PROTO_ID_LEN] = '\0';
	if (n == PROTO_ID_LEN)
		return PAGE_TRACE;
	if (n == PROTO_ID_LEN + 7 && memcmp(rel + PROTO_ID_LEN, "/delete", 7) == 0)
		return PAGE_DELETE;
	return PAGE_BAD_ID;
}

/* Checks the method against a page's; false after answering 405 with Allow. */
static bool
method_ok(const struct request *req, struct route *rt, enum page page)
{
	static const struct {
		enum page page;
		const char *methods[3];
		const char *msg, *allow;
	} allowed[] = {
		{ PAGE_ROOT, { "GET", "HEAD" }, "method not allowed: use GET", "Allow: GET, HEAD\r\n" },
		{ PAGE_TRACE, { "GET", "HEAD", "DELETE" }, "method not allowed: use GET or DELETE",
		    "Allow: GET, HEAD, DELETE\r\n" },
		{ PAGE_DELETE, { "POST" }, "method not allowed: use POST", "Allow: POST\r\n" },
		{ PAGE_HISTORY, { "GET", "HEAD" }, "method not allowed: use GET", "Allow: GET, HEAD\r\n" },
		{ PAGE_ASSET, { "GET", "HEAD" }, "method not allowed: use GET", "Allow: GET, HEAD\r\n" },
	};
	char q[80];

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (allowed[i].page != page)
			continue;
		for (size_t k = 0; k < 3 && allowed[i].methods[k]; k++)
			if (strcmp(req->method, allowed[i].methods[k]) == 0)
				return true;
		deny(rt, 405, allowed[i].msg, false, "method \"%s\"",
		    quote(req->method, strlen(req->method), q, sizeof(q)));
		rt->extra = allowed[i].allow;
		return false;
	}
	/* Not reached: every page is listed. */
	deny(rt, 404, "not found", false, "page %d has no methods", (int)page);
	return false;
}

/* GET /: the visitor's connection, whether to store its trace, and whether to name its hops. */
static void
decide_root(const struct request *req, struct route *rt)
{
	char v[VALUE_MAX], q[80];

	switch (form_value(req->query, strlen(req->query), "store", v, sizeof(v))) {
	case FORM_ABSENT:
		break;
	case FORM_OK:
		if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0) {
			rt->conn.nostore = v[0] == '0';
			break;
		}
		/* FALLTHROUGH */
	case FORM_BAD:
		deny(rt, 400, "store= takes 0 (do not keep the trace) or 1", false,
		    "QUERY_STRING \"%s\"", quote(req->query, strlen(req->query), q, sizeof(q)));
		return;
	}
	/* names=0: no reverse DNS names, as traceroute -n. */
	switch (form_value(req->query, strlen(req->query), "names", v, sizeof(v))) {
	case FORM_ABSENT:
		break;
	case FORM_OK:
		if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0) {
			rt->conn.nonames = v[0] == '0';
			break;
		}
		/* FALLTHROUGH */
	case FORM_BAD:
		deny(rt, 400, "names= takes 0 (no host names) or 1", false,
		    "QUERY_STRING \"%s\"", quote(req->query, strlen(req->query), q, sizeof(q)));
		return;
	}
	/* HEAD answers without tracing: a link checker must not start probes. */
	if (rt->head_only)
		rt->action = ROUTE_HEAD;
	else
		decide_conn(req, rt);
}

static const char token_msg[] = "a delete token is 32 lowercase hex digits";

/* DELETE /trace/ID: the token from X-Delete-Token, else ?token=. */
static void
decide_delete(const struct request *req, struct route *rt)
{
	char v[VALUE_MAX], q[80];
	enum form_found found;

	if (req->delete_token[0]) {
		if (!proto_id_ok(req->delete_token, strlen(req->delete_token))) {
			deny(rt, 400, token_msg, false, "X-Delete-Token \"%s\"",
			    quote(req->delete_token, strlen(req->delete_token), q, sizeof(q)));
			return;
		}
		memcpy(rt->token, req->delete_token, sizeof(rt->token));
		rt->action = ROUTE_DELETE;
		return;
	}
	found = form_value(req->query, strlen(req->query), "token", v, sizeof(v));
	if (found == FORM_ABSENT)
		deny(rt, 400, "no delete token: send it in X-Delete-Token or ?token=", false,
		    "DELETE without a token");
	else if (found == FORM_BAD || !proto_id_ok(v, strlen(v)))
		deny(rt, 400, token_msg, false, "QUERY_STRING \"%s\"",
		    quote(req->query, strlen(req->query), q, sizeof(q)));
	else {
		memcpy(rt->token, v, sizeof(rt->token));
		rt->action = ROUTE_DELETE;
	}
}

/* POST /trace/ID/delete: the page's form, token=HEX in the body. */
static void
decide_delete_form(const struct request *req, struct route *rt)
{
	char v[VALUE_MAX], q[80];
	enum form_found found;

	switch (req->body_status) {
	case REQ_BODY_TOOLARGE:
		deny(rt, 413, "request body too large", false, "body over %d bytes", REQ_BODY_MAX);
		return;
	case REQ_BODY_BADLENGTH:
	case REQ_BODY_SHORT:
		deny(rt, 400, "incomplete request body", false, "CONTENT_LENGTH \"%s\", %zu bytes read",
		    quote(req->content_length, strlen(req->content_length), q, sizeof(q)),
		    req->body_len);
		return;
	default:
		break;
	}
	if (!is_form(req->content_type)) {
		deny(rt, 415, "send the token as a form (application/x-www-form-urlencoded)", false,
		    "CONTENT_TYPE \"%s\"", quote(req->content_type, strlen(req->content_type), q,
		    sizeof(q)));
		return;
	}
	found = form_value(req->body, req->body_len, "token", v, sizeof(v));
	if (found == FORM_ABSENT)
		deny(rt, 400, "no delete token in the form", false, "body without token=");
	else if (found == FORM_BAD || !proto_id_ok(v, strlen(v)))
		deny(rt, 400, token_msg, false, "body \"%s\"",
		    quote(req->body, req->body_len, q, sizeof(q)));
	else {
		memcpy(rt->token, v, sizeof(rt->token));
		rt->action = ROUTE_DELETE;
	}
}

/* GET /history: whose (REMOTE_ADDR), and from where (?before=ID). */
static void
decide_history(const struct request *req, struct route *rt)
{
	char v[VALUE_MAX], q[80];

	if (rt->r == &render_atlas) {
		deny(rt, 400, "history has no atlas format: use format=html, json or text", false,
		    "history as atlas");
		return;
	}
	switch (form_value(req->query, strlen(req->query), "before", v, sizeof(v))) {
	case FORM_ABSENT:
		break;
	case FORM_OK:
		if (proto_id_ok(v, strlen(v))) {
			memcpy(rt->before, v, sizeof(rt->before));
			break;
		}
		/* FALLTHROUGH */
	case FORM_BAD:
		deny(rt, 400, "before= takes a trace id (32 lowercase hex digits)", false,
		    "QUERY_STRING \"%s\"", quote(req->query, strlen(req->query), q, sizeof(q)));
		return;
	}
	if (server_addr_parse(req->remote_addr, &rt->conn.client) < 0) {
		deny(rt, 400, "the web server did not describe this connection", true,
		    "REMOTE_ADDR \"%s\" is not an address",
		    quote(req->remote_addr, strlen(req->remote_addr), q, sizeof(q)));
		return;
	}
	rt->action = ROUTE_HISTORY;
}

/* GET /tracetrout.css, /tracetrout.js (rel, n bytes): 304 when the visitor has this version. */
static void
decide_asset(const struct request *req, struct route *rt, const char *rel, size_t n)
{
	char name[32], q[80];

	/* rel is "/tracetrout.css" or "/tracetrout.js", and may run on into a query. */
	if (n < 2 || n - 1 >= sizeof(name)) {
		deny(rt, 404, "not found", false, "no asset \"%s\"", quote(rel, n, q, sizeof(q)));
		return;
	}
	memcpy(name, rel + 1, n - 1);
	name[n - 1] = '\0';
	if ((rt->asset = asset_find(name)) == NULL) {
		/* The build left it out: the page still works, without style or script. */
		deny(rt, 404, "not found", true, "no asset \"%s\" compiled in", name);
		return;
	}
	/* The same bytes whatever the Accept. */
	rt->vary = false;
	rt->action = req->if_none_match[0] && etag_match(req->if_none_match, rt->asset->etag) ?
	    ROUTE_NOT_MODIFIED : ROUTE_ASSET;
}

void
route_decide(const struct request *req, struct route *rt)
{
	const char *prefix, *rel;
	size_t plen, rlen;
	enum page page;
	char q[80];

	memset(rt, 0, sizeof(*rt));
	rt->r = &render_json;
	rt->head_only = strcmp(req->method, "HEAD") == 0;
	if (req->toolong) {
		deny(rt, 400, "request too large", false, "%s too long", req->toolong);
		return;
	}
	switch (query_format(req->query, &rt->r)) {
	case FORM_OK:
		break;
	case FORM_ABSENT:
		rt->r = accept_format(req->accept);
		rt->vary = true;
		break;
	case FORM_BAD:
		rt->r = &render_json;
		deny(rt, 400, "unknown format: use format=json, text, html or atlas", false,
		    "QUERY_STRING \"%s\"", quote(req->query, strlen(req->query), q, sizeof(q)));
		return;
	}
	if (split_path(req, &prefix, &plen, &rel, &rlen) < 0) {
		deny(rt, 400, "the web server passed no path", true,
		    "no SCRIPT_NAME, PATH_INFO, DOCUMENT_URI or REQUEST_URI");
		return;
	}
	switch ((page = page_of(rel, rlen, rt->id))) {
	case PAGE_NONE:
		deny(rt, 404, "not found", false, "no route for \"%s\"", quote(rel, rlen, q, sizeof(q)));
		return;
	case PAGE_BAD_ID:
		/* Only a well-formed id may reach the broker. */
		deny(rt, 404, "no such trace", false, "no trace \"%s\"", quote(rel, rlen, q, sizeof(q)));
		return;
	default:
		break;
	}
	if (!method_ok(req, rt, page))
		return;
	/*
	 * "//host/..." in a Link or a form's action is another site: leading
	 * slashes collapse to one, and slashes alone are the root.
	 */
	while (plen > 0 && prefix[0] == '/' && (plen == 1 || prefix[1] == '/')) {
		prefix++;
		plen--;
	}
	if (escape_path(prefix, plen, rt->prefix, sizeof(rt->prefix)) < 0) {
		deny(rt, 400, "request too large", false, "path too long");
		return;
	}
	switch (page) {
	case PAGE_ROOT:
		decide_root(req, rt);
		break;
	case PAGE_TRACE:
		if (strcmp(req->method, "DELETE") == 0)
			decide_delete(req, rt);
		else
			rt->action = ROUTE_STORED;
		break;
	case PAGE_DELETE:
		decide_delete_form(req, rt);
		break;
	case PAGE_HISTORY:
		decide_history(req, rt);
		break;
	case PAGE_ASSET:
		decide_asset(req, rt, rel, rlen);
		break;
	default:
		break;
	}
}

/* An asset, or 304 when the visitor has it: cacheable for a day, validated by its ETag. */
static void
serve_asset(struct out *o, const struct route *rt)
{
	const struct asset *a = rt->asset;
	bool quoted = a->etag[0] == '"' || strncmp(a->etag, "W/", 2) == 0;
	char extra[256];
	int n;

	if (rt->action == ROUTE_NOT_MODIFIED)
		n = snprintf(extra, sizeof(extra), "ETag: %s%s%s\r\n", quoted ? "" : "\"", a->etag,
		    quoted ? "" : "\"");
	else
		n = snprintf(extra, sizeof(extra), "ETag: %s%s%s\r\nContent-Length: %zu\r\n",
		    quoted ? "" : "\"", a->etag, quoted ? "" : "\"", (size_t)a->len);
	if (n < 0 || (size_t)n >= sizeof(extra)) {
		log_warnx("asset %s: ETag too long", a->name);
		extra[0] = '\0';
	}
	if (reply_head(o, rt->action == ROUTE_NOT_MODIFIED ? 304 : 200, a->content_type,
	    REPLY_CACHE, extra) < 0 ||
	    (rt->action == ROUTE_ASSET && !rt->head_only && o->write(o->ctx, a->body, a->len) < 0) ||
	    out_flush(o) < 0)
		log_debug("asset %s: the visitor went away", a->name);
}

void
route_serve(const struct request *req, struct out *o, const struct broker_cfg *cfg)
{
	struct route rt;
	struct reply_opts ro;

	route_decide(req, &rt);
	ro.r = rt.r;
	ro.vary = rt.vary;
	ro.head_only = rt.head_only;
	ro.prefix = rt.prefix;
	ro.server = render_server_kind(req->server_software);
	/* As the original: the live trace in JSON lines, and nothing else, for any page to read. */
	ro.cors = (rt.action == ROUTE_TRACE || rt.action == ROUTE_HEAD) && rt.r == &render_json;
	switch (rt.action) {
	case ROUTE_ERROR:
		if (rt.warn)
			log_warnx("%d: %s", rt.status, rt.why);
		else
			log_debug("%d: %s", rt.status, rt.why);
		if (reply_error(o, &ro, rt.status, rt.extra, rt.msg) < 0)
			log_debug("the visitor went away before the error response");
		break;
	case ROUTE_HEAD:
		if (reply_head(o, 200, rt.r->content_type, reply_flags(&ro), NULL) < 0 ||
		    out_flush(o) < 0)
			log_debug("the visitor went away before the head");
		break;
	case ROUTE_TRACE:
		live_serve(o, cfg, &ro, &rt.conn);
		break;
	case ROUTE_STORED:
		stored_serve(o, cfg, &ro, rt.id);
		break;
	case ROUTE_DELETE:
		stored_delete(o, cfg, &ro, rt.id, rt.token);
		break;
	case ROUTE_HISTORY:
		history_serve(o, cfg, &ro, &rt.conn.client, rt.before[0] ? rt.before : NULL);
		break;
	case ROUTE_ASSET:
	case ROUTE_NOT_MODIFIED:
		serve_asset(o, &rt);
		break;
	}
}
