/*
 * Routing: the app's own path under whatever mount the web server gives it,
 * the output format, the method, and the visitor's connection.
 */
#include "route.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "reply.h"

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

/*
 * The format asked for with ?format=json|text. Returns 1 and sets *r when
 * there is one, 0 when there is none, -1 for an unknown value.
 */
static int
query_format(const char *q, const struct renderer **r)
{
	int found = 0;

	while (*q) {
		size_t n = strcspn(q, "&;");

		if (n > 7 && strncmp(q, "format=", 7) == 0) {
			if (n == 11 && strncasecmp(q + 7, "json", 4) == 0)
				*r = &render_json;
			else if (n == 11 && strncasecmp(q + 7, "text", 4) == 0)
				*r = &render_text;
			else
				return -1;
			found = 1;
		}
		q += n;
		if (*q)
			q++;
	}
	return found;
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
 * The q-value (thousandths) that an Accept header gives type through its
 * most specific matching range (RFC 9110 12.5.1); -1 if none matches.
 */
static int
accept_q(const char *accept, const char *type)
{
	size_t tlen = strlen(type), major = strcspn(type, "/");
	int best_spec = 0, best_q = -1;

	while (*accept) {
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
		if (spec == 0 || spec < best_spec)
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
		if (spec > best_spec || q > best_q) {
			best_spec = spec;
			best_q = q;
		}
	}
	return best_q;
}

/* Text only when the client prefers it to JSON; a browser's catch-all range keeps the default. */
static const struct renderer *
accept_format(const char *accept)
{
	int text = accept_q(accept, "text/plain");

	return text > 0 && text > accept_q(accept, "application/json") ?
	    &render_text : &render_json;
}

/*
 * Splits the request's path into the app's own prefix and the path inside
 * the app. PATH_INFO, where the server gives one, is the path inside and
 * SCRIPT_NAME the prefix. Otherwise (nginx without fastcgi_split_path_info,
 * Apache's proxy) the whole path comes in SCRIPT_NAME or DOCUMENT_URI, and
 * only its tail tells the route: "/" is the app's root, "/trace/ID" a
 * permalink, anything else is unknown. Returns -1 when there is no path.
 */
static int
split_path(const struct request *req, const char **prefix, size_t *plen, const char **rel,
    size_t *rlen)
{
	const char *p, *slash = NULL;
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
	for (size_t i = 0; i < n; i++)
		if (p[i] == '/')
			slash = p + i;
	*prefix = p;
	if (p[n - 1] == '/') {
		*plen = n - 1;
		*rel = p + n - 1;
	} else if (slash && (size_t)(slash - p) >= 6 && memcmp(slash - 6, "/trace", 6) == 0) {
		*plen = (size_t)(slash - 6 - p);
		*rel = slash - 6;
	} else {
		*plen = 0;
		*rel = p;
	}
	*rlen = n - (size_t)(*rel - p);
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
 * address, writes SERVER_ADDR in brackets ("[2001:db8::1]").
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
	else
		rt->action = ROUTE_TRACE;
}

void
route_decide(const struct request *req, struct route *rt)
{
	const char *prefix, *rel;
	size_t plen, rlen;
	char q[80];

	memset(rt, 0, sizeof(*rt));
	rt->r = &render_json;
	if (req->toolong) {
		deny(rt, 400, "request too large", false, "%s too long", req->toolong);
		return;
	}
	switch (query_format(req->query, &rt->r)) {
	case 0:
		rt->r = accept_format(req->accept);
		break;
	case -1:
		rt->r = &render_json;
		deny(rt, 400, "unknown format: use format=json or format=text", false,
		    "QUERY_STRING \"%s\"", quote(req->query, strlen(req->query), q, sizeof(q)));
		return;
	}
	if (split_path(req, &prefix, &plen, &rel, &rlen) < 0) {
		deny(rt, 400, "the web server passed no path", true,
		    "no SCRIPT_NAME, PATH_INFO, DOCUMENT_URI or REQUEST_URI");
		return;
	}
	/* The only page so far; /trace/ID, the permalink, comes with stored traces. */
	if (rlen != 1 || rel[0] != '/') {
		deny(rt, 404, "not found", false, "no route for \"%s\"", quote(rel, rlen, q, sizeof(q)));
		return;
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		deny(rt, 405, "method not allowed: use GET", false, "method \"%s\"",
		    quote(req->method, strlen(req->method), q, sizeof(q)));
		rt->extra = "Allow: GET, HEAD\r\n";
		return;
	}
	if (escape_path(prefix, plen, rt->prefix, sizeof(rt->prefix)) < 0) {
		deny(rt, 400, "request too large", false, "path too long");
		return;
	}
	/* HEAD answers without tracing: a link checker must not start probes. */
	if (strcmp(req->method, "HEAD") == 0)
		rt->action = ROUTE_HEAD;
	else
		decide_conn(req, rt);
}

void
route_serve(const struct request *req, struct out *o, const struct trace_cfg *cfg)
{
	bool head_only = strcmp(req->method, "HEAD") == 0;
	struct route rt;

	route_decide(req, &rt);
	switch (rt.action) {
	case ROUTE_ERROR:
		if (rt.warn)
			log_warnx("%d: %s", rt.status, rt.why);
		else
			log_debug("%d: %s", rt.status, rt.why);
		if (reply_error(o, rt.r, head_only, rt.status, rt.extra, rt.msg) < 0)
			log_debug("the visitor went away before the error response");
		break;
	case ROUTE_HEAD:
		if (reply_head(o, 200, rt.r->content_type, NULL) < 0 || out_flush(o) < 0)
			log_debug("the visitor went away before the head");
		break;
	case ROUTE_TRACE:
		trace_serve(o, cfg, rt.r, &rt.conn, rt.prefix);
		break;
	}
}
