/* Routing and whole responses: every route, method and status, from request structs and a scripted broker. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "brokercfg.h"
#include "fcgi_test.h"
#include "history_render.h"
#include "live.h"
#include "log.h"
#include "refusal.h"
#include "request.h"
#include "render_common.h"
#include "route.h"
#include "slots.h"
#include "stored.h"
#include "tap.h"

#define ID	"0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5"
#define ID2	"1f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5"
#define TOKEN	"8d1e0c4b7a2f9e3d5c6b1a0f2e4d6c8b"
#define TRACE_LINE "TRACE client=198.51.100.7 cport=51234 server=192.0.2.10 sport=443"
#define STORED_LINE "> STORED id=" ID " stored=1 started_ms=1764180000123 addr=full " \
	"retention_s=2592000 client=198.51.100.7 cport=51234 server=192.0.2.10 sport=443"
#define HOP1	"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64 reply=192.0.2.1,398,time-exceeded,0,64"
#define HOP3	"> HOP ttl=3 sent=3 reply=198.51.100.7,1210,destination,0,62"
#define END3	"> END reason=destination hops=3 duration_us=5120 stored=1"
#define HTML	"text/html; charset=utf-8"
#define TEXT	"text/plain; charset=utf-8"
#define JSON	"application/json"

static char sockpath[108];
static struct broker_cfg cfg;

/* A GET of the app mounted at /trace-me, as lighttpd passes it. */
static void
base(struct request *req)
{
	memset(req, 0, sizeof(*req));
	request_param(req, "REQUEST_METHOD", "GET");
	request_param(req, "SCRIPT_NAME", "/trace-me");
	request_param(req, "PATH_INFO", "/");
	request_param(req, "REMOTE_ADDR", "198.51.100.7");
	request_param(req, "REMOTE_PORT", "51234");
	request_param(req, "SERVER_ADDR", "192.0.2.10");
	request_param(req, "SERVER_PORT", "443");
}

/* A request body in memory, read through request_read_body as main.c reads FCGX's. */
struct memsrc {
	const char *p;
	size_t n;
	int fail;	/* the read fails (the web server went away) */
};

static int
mem_read(void *ctx, char *buf, size_t len)
{
	struct memsrc *m = ctx;
	size_t k = len < m->n ? len : m->n;

	if (m->fail)
		return -1;
	/* A byte at a time at most 7, as a slow stream would give it. */
	if (k > 7)
		k = 7;
	memcpy(buf, m->p, k);
	m->p += k;
	m->n -= k;
	return (int)k;
}

/* base(), then NAME, VALUE pairs up to a NULL name; the name "BODY" gives the request body. */
static void
vbuild(struct request *req, va_list ap)
{
	struct memsrc src = { "", 0, 0 };
	const char *name, *value;

	base(req);
	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (strcmp(name, "BODY") == 0) {
			src.p = value;
			src.n = strlen(value);
		} else
			request_param(req, name, value);
	}
	request_read_body(req, mem_read, &src);
}

static void
decide(struct route *rt, ...)
{
	struct request req;
	va_list ap;

	va_start(ap, rt);
	vbuild(&req, ap);
	va_end(ap);
	route_decide(&req, rt);
}

/* The whole response to base() with the pairs set on top. */
static const char *
serve(struct membuf *mb, ...)
{
	struct out o = mem_out(mb);
	struct request req;
	va_list ap;

	va_start(ap, mb);
	vbuild(&req, ap);
	va_end(ap);
	route_serve(&req, &o, &cfg);
	return mb->buf;
}

/* Serves a request against a broker playing script; returns the broker's exit code. */
static int
serve_broker(struct membuf *mb, const char *const *script, double *ms, ...)
{
	struct out o = mem_out(mb);
	struct timespec t0;
	struct request req;
	va_list ap;
	pid_t pid;

	va_start(ap, ms);
	vbuild(&req, ap);
	va_end(ap);
	pid = broker_start(sockpath, script);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	route_serve(&req, &o, &cfg);
	if (ms)
		*ms = elapsed_ms(&t0);
	return broker_stop(pid, sockpath, 2000);
}

/* The body of a response, after its head. */
static const char *
body_of(const struct membuf *mb)
{
	const char *b = strstr(mb->buf, "\r\n\r\n");

	return b ? b + 4 : "";
}

/* Whether the head of a response has this header line (without its "\r\n"). */
static bool
has_header(const struct membuf *mb, const char *line)
{
	const char *end = strstr(mb->buf, "\r\n\r\n");
	size_t n = strlen(line);

	for (const char *p = mb->buf; end && p < end; p = strstr(p, "\r\n") + 2)
		if (strncmp(p, line, n) == 0 && p[n] == '\r')
			return true;
	return false;
}

static bool
status_is(const struct membuf *mb, int status)
{
	char want[32];

	snprintf(want, sizeof(want), "Status: %d ", status);
	return strncmp(mb->buf, want, strlen(want)) == 0;
}

/* s for a test's name: unprintable bytes as '?', so every TAP line stays one line. */
static const char *
shown(const char *s)
{
	static char buf[4][96];
	static int k;
	char *b = buf[k++ % 4];
	size_t i;

	if (s == NULL)
		return "(missing)";
	for (i = 0; s[i] && i + 1 < sizeof(buf[0]); i++)
		b[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	b[i] = '\0';
	return b;
}

#define HEAD_COMMON \
	"Cache-Control: no-cache, no-store, must-revalidate\r\n" \
	"X-Accel-Buffering: no\r\n"
/* The live trace in JSON lines, and only it, may be read by any page. */
#define HEAD_CORS \
	"Cache-Control: no-cache, no-store, must-revalidate\r\n" \
	"Access-Control-Allow-Origin: *\r\n" \
	"X-Accel-Buffering: no\r\n"

static void
test_paths(void)
{
	static const struct {
		const char *script, *pinfo, *docuri, *requri;
		int action;
		const char *prefix;
		const char *what;
	} cases[] = {
		{ "/trace-me", "/", "", "", ROUTE_TRACE, "/trace-me", "SCRIPT_NAME + PATH_INFO (lighttpd)" },
		{ "", "/", "", "", ROUTE_TRACE, "", "mounted at / (fix-root-scriptname)" },
		{ "/trace-me/", "", "/trace-me/", "", ROUTE_TRACE, "/trace-me", "whole path in SCRIPT_NAME (nginx)" },
		{ "/", "", "", "", ROUTE_TRACE, "", "/ in SCRIPT_NAME" },
		{ "", "", "/x/y/", "", ROUTE_TRACE, "/x/y", "DOCUMENT_URI only" },
		{ "", "", "", "/x/?format=json", ROUTE_TRACE, "/x", "REQUEST_URI only, query cut" },
		{ "/trace-me/favicon.ico", "", "", "", ROUTE_ERROR, NULL, "unknown tail: 404" },
		{ "/trace-me", "/favicon.ico", "", "", ROUTE_ERROR, NULL, "unknown PATH_INFO: 404" },
		{ "/trace-me", "/foo/", "", "", ROUTE_ERROR, NULL, "PATH_INFO is exact: 404" },
		{ "/trace-me", "", "", "", ROUTE_ERROR, NULL, "no trailing slash, no PATH_INFO: 404" },
		{ "/a b\"<x>\r\n", "/", "", "", ROUTE_TRACE, "/a%20b%22%3Cx%3E%0D%0A",
		    "the prefix is escaped for the Link header" },
		/* The pages under the app, from PATH_INFO and from the tail of a whole path. */
		{ "/trace-me", "/trace/" ID, "", "", ROUTE_STORED, "/trace-me", "PATH_INFO /trace/ID" },
		{ "/trace-me/trace/" ID, "", "", "", ROUTE_STORED, "/trace-me", "a whole path /trace/ID" },
		{ "/trace/" ID, "", "", "", ROUTE_STORED, "", "a whole path /trace/ID at the root" },
		{ "", "", "", "/t/trace/" ID "?format=text", ROUTE_STORED, "/t", "REQUEST_URI /trace/ID?query" },
		{ "/trace-me", "/history", "", "", ROUTE_HISTORY, "/trace-me", "PATH_INFO /history" },
		{ "/trace-me/history", "", "", "", ROUTE_HISTORY, "/trace-me", "a whole path /history" },
		{ "", "", "/history", "", ROUTE_HISTORY, "", "DOCUMENT_URI /history at the root" },
		{ "/trace/history", "", "", "", ROUTE_HISTORY, "/trace", "mounted at /trace: /trace/history" },
		{ "/trace-me", "/tracetrout.css", "", "", ROUTE_ASSET, "/trace-me", "PATH_INFO asset" },
		{ "/trace-me/tracetrout.js", "", "", "", ROUTE_ASSET, "/trace-me", "a whole path asset" },
		{ "", "", "", "/tracetrout.css?v=1", ROUTE_ASSET, "", "REQUEST_URI asset with a query" },
		{ "/trace-me/trace/" ID "/delete", "", "", "", ROUTE_ERROR, NULL,
		    "a whole path /trace/ID/delete: found, but GET is 405" },
		{ "/trace-me/history/", "", "", "", ROUTE_TRACE, "/trace-me/history",
		    "a path ending in / is always an app root" },
		{ "/trace-me/trace/" ID "x", "", "", "", ROUTE_ERROR, NULL, "a 33-digit id: 404" },
		{ "/trace-me/x/history.html", "", "", "", ROUTE_ERROR, NULL, "history.html: 404" },
		/* A prefix starting "//" would make the Link and the delete form point off-site. */
		{ "//evil.example/", "", "", "", ROUTE_TRACE, "/evil.example",
		    "//evil.example/: leading slashes collapse" },
		{ "", "", "", "///evil.example/trace/" ID, ROUTE_STORED, "/evil.example",
		    "///evil.example/trace/ID in REQUEST_URI" },
		{ "//evil.example", "/", "", "", ROUTE_TRACE, "/evil.example",
		    "SCRIPT_NAME //evil.example with PATH_INFO" },
		{ "//", "", "", "", ROUTE_TRACE, "", "// is the root" },
		{ "/a//b/", "", "", "", ROUTE_TRACE, "/a//b", "inner slashes stay" },
	};
	struct request req;
	struct route rt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base(&req);
		request_param(&req, "SCRIPT_NAME", cases[i].script);
		request_param(&req, "PATH_INFO", cases[i].pinfo);
		request_param(&req, "DOCUMENT_URI", cases[i].docuri);
		request_param(&req, "REQUEST_URI", cases[i].requri);
		route_decide(&req, &rt);
		is_int(rt.action, cases[i].action, "%s: action", cases[i].what);
		if (cases[i].prefix)
			is_str(rt.prefix, cases[i].prefix, "%s: prefix", cases[i].what);
		else
			ok(rt.status == 404 || rt.status == 405, "%s: status %d", cases[i].what,
			    rt.status);
	}
	base(&req);
	request_param(&req, "SCRIPT_NAME", "/trace-me/trace/" ID);
	request_param(&req, "PATH_INFO", "");
	route_decide(&req, &rt);
	is_str(rt.id, ID, "the id is taken from the path");
	base(&req);
	request_param(&req, "SCRIPT_NAME", NULL);
	request_param(&req, "PATH_INFO", NULL);
	route_decide(&req, &rt);
	ok(rt.action == ROUTE_ERROR && rt.status == 400 && rt.warn,
	    "no path at all: 400, and a warning for the operator");
}

/* Every page with every method: the action, or the status and the Allow header. */
static void
test_methods(void)
{
	static const struct {
		const char *method, *path;
		int action, status;
		const char *allow;
	} cases[] = {
		{ "GET", "/", ROUTE_TRACE, 0, NULL },
		{ "HEAD", "/", ROUTE_HEAD, 0, NULL },
		{ "POST", "/", ROUTE_ERROR, 405, "Allow: GET, HEAD\r\n" },
		{ "DELETE", "/", ROUTE_ERROR, 405, "Allow: GET, HEAD\r\n" },
		{ "OPTIONS", "/", ROUTE_ERROR, 405, "Allow: GET, HEAD\r\n" },
		{ "get", "/", ROUTE_ERROR, 405, "Allow: GET, HEAD\r\n" },
		{ "", "/", ROUTE_ERROR, 405, "Allow: GET, HEAD\r\n" },
		{ "GET", "/trace/" ID, ROUTE_STORED, 0, NULL },
		{ "HEAD", "/trace/" ID, ROUTE_STORED, 0, NULL },
		{ "DELETE", "/trace/" ID, ROUTE_DELETE, 0, NULL },
		{ "POST", "/trace/" ID, ROUTE_ERROR, 405, "Allow: GET, HEAD, DELETE\r\n" },
		{ "PUT", "/trace/" ID, ROUTE_ERROR, 405, "Allow: GET, HEAD, DELETE\r\n" },
		{ "POST", "/trace/" ID "/delete", ROUTE_DELETE, 0, NULL },
		{ "GET", "/trace/" ID "/delete", ROUTE_ERROR, 405, "Allow: POST\r\n" },
		{ "HEAD", "/trace/" ID "/delete", ROUTE_ERROR, 405, "Allow: POST\r\n" },
		{ "DELETE", "/trace/" ID "/delete", ROUTE_ERROR, 405, "Allow: POST\r\n" },
		{ "GET", "/history", ROUTE_HISTORY, 0, NULL },
		{ "HEAD", "/history", ROUTE_HISTORY, 0, NULL },
		{ "POST", "/history", ROUTE_ERROR, 405, "Allow: GET, HEAD\r\n" },
		{ "DELETE", "/history", ROUTE_ERROR, 405, "Allow: GET, HEAD\r\n" },
		{ "GET", "/tracetrout.css", ROUTE_ASSET, 0, NULL },
		{ "HEAD", "/tracetrout.js", ROUTE_ASSET, 0, NULL },
		{ "POST", "/tracetrout.js", ROUTE_ERROR, 405, "Allow: GET, HEAD\r\n" },
		/* Paths that are no page, whatever the method: 404 before 405. */
		{ "GET", "/tracetrout.png", ROUTE_ERROR, 404, NULL },
		{ "POST", "/nope", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/", ROUTE_ERROR, 404, NULL },
		{ "DELETE", "/trace/xyz", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/0F3C9A5E1D2B4C6A8E7F90A1B2C3D4E5", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/" ID "0", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/" ID "/", ROUTE_ERROR, 404, NULL },
		{ "POST", "/trace/" ID "/delete/", ROUTE_ERROR, 404, NULL },
		{ "POST", "/trace/" ID "/deletex", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/" ID ".json", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/../history", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/%2e%2e/history", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/" ID "%00", ROUTE_ERROR, 404, NULL },
		{ "GET", "/trace/g3c9a5e1d2b4c6a8e7f90a1b2c3d4e5", ROUTE_ERROR, 404, NULL },
		{ "GET", "/history/", ROUTE_ERROR, 404, NULL },
		{ "GET", "/History", ROUTE_ERROR, 404, NULL },
		{ "GET", "//history", ROUTE_ERROR, 404, NULL },
		{ "GET", "/../tracetrout.css", ROUTE_ERROR, 404, NULL },
	};
	struct route rt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(&rt, "REQUEST_METHOD", cases[i].method, "PATH_INFO", cases[i].path,
		    "QUERY_STRING", "token=" TOKEN, "CONTENT_TYPE", "application/x-www-form-urlencoded",
		    "BODY", "token=" TOKEN, NULL);
		if (cases[i].action != ROUTE_ERROR) {
			is_int(rt.action, cases[i].action, "%s %s: action %d", cases[i].method,
			    cases[i].path, cases[i].action);
			continue;
		}
		ok(rt.action == ROUTE_ERROR && rt.status == cases[i].status, "%s %s: %d",
		    cases[i].method, cases[i].path, cases[i].status);
		if (cases[i].allow)
			is_str(rt.extra, cases[i].allow, "... %s", shown(cases[i].allow));
		if (cases[i].status == 404 && strncmp(cases[i].path, "/trace/", 7) == 0)
			is_str(rt.msg, "no such trace", "... no such trace, without asking the broker");
	}
	decide(&rt, "REQUEST_METHOD", "HEAD", "PATH_INFO", "/trace/" ID, NULL);
	ok(rt.head_only, "HEAD: head only");
	decide(&rt, NULL);
	ok(!rt.head_only, "GET: a body");
}

static const char *
fmt_name(const struct renderer *r)
{
	return r ? r->name : "(none)";
}

static void
test_formats(void)
{
	static const char browser[] =
	    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
	static const struct {
		const char *name, *value;
		const struct renderer *r;
		bool vary;
	} cases[] = {
		{ NULL, NULL, &render_json, true },
		{ "QUERY_STRING", "format=text", &render_text, false },
		{ "QUERY_STRING", "_=123&format=TEXT", &render_text, false },
		{ "QUERY_STRING", "format=json", &render_json, false },
		{ "QUERY_STRING", "format=html", &render_html, false },
		{ "QUERY_STRING", "format=atlas", &render_atlas, false },
		{ "QUERY_STRING", "format=Atlas", &render_atlas, false },
		{ "QUERY_STRING", "format=%68tml", &render_html, false },
		{ "QUERY_STRING", "format=json&format=text", &render_text, false },
		{ "QUERY_STRING", "format=json;x=1", &render_json, false },
		{ "QUERY_STRING", "format=", &render_json, true },
		{ "QUERY_STRING", "xformat=text&format2=text", &render_json, true },
		{ "QUERY_STRING", "x=%zz&format=text", &render_text, false },
		{ "HTTP_ACCEPT", "text/plain", &render_text, true },
		{ "HTTP_ACCEPT", "text/*", &render_text, true },
		{ "HTTP_ACCEPT", "*/*", &render_json, true },
		{ "HTTP_ACCEPT", "", &render_json, true },
		{ "HTTP_ACCEPT", browser, &render_html, true },
		{ "HTTP_ACCEPT", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", &render_html, true },
		{ "HTTP_ACCEPT", "application/json", &render_json, true },
		{ "HTTP_ACCEPT", "application/json, text/html", &render_json, true },
		{ "HTTP_ACCEPT", "text/html;q=0.5, application/json", &render_json, true },
		{ "HTTP_ACCEPT", "text/html, text/plain", &render_html, true },
		{ "HTTP_ACCEPT", "text/plain, text/html", &render_text, true },
		{ "HTTP_ACCEPT", "text/html, */*", &render_html, true },
		{ "HTTP_ACCEPT", "text/html;q=0, */*", &render_json, true },
		{ "HTTP_ACCEPT", "application/xhtml+xml", &render_json, true },
		{ "HTTP_ACCEPT", "application/vnd.ripe.atlas+json", &render_json, true },
		{ "HTTP_ACCEPT", "text/plain;q=0.5, application/json", &render_json, true },
		{ "HTTP_ACCEPT", "application/json;q=0.5, text/plain", &render_text, true },
		{ "HTTP_ACCEPT", "application/json; q=0.5 ,TEXT/PLAIN ; q=0.9", &render_text, true },
		{ "HTTP_ACCEPT", "text/plain;q=0", &render_json, true },
		{ "HTTP_ACCEPT", "text/plain;q=bogus, application/json;q=0.1", &render_json, true },
		{ "HTTP_ACCEPT", "text/plain;q=0.8, */*;q=0.9", &render_json, true },
		{ "HTTP_ACCEPT", "text/plain;q=0.9, */*;q=0.8", &render_text, true },
		{ "HTTP_ACCEPT", ";;,,, ;q=, /", &render_json, true },
		{ "HTTP_ACCEPT", "\xff\xfe\x80, text/html;q=1.0000", &render_json, true },
		{ "HTTP_ACCEPT", "text/html;q=9999999999999999999", &render_json, true },
	};
	struct request req;
	struct route rt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(&rt, cases[i].name, cases[i].value, NULL);
		ok(rt.action == ROUTE_TRACE && rt.r == cases[i].r && rt.vary == cases[i].vary,
		    "%s: %s -> %s%s (got %s)", cases[i].name ? cases[i].name : "nothing",
		    shown(cases[i].value), fmt_name(cases[i].r),
		    cases[i].vary ? ", Vary: Accept" : "", fmt_name(rt.r));
	}
	base(&req);
	request_param(&req, "HTTP_ACCEPT", "text/plain");
	request_param(&req, "QUERY_STRING", "format=json");
	route_decide(&req, &rt);
	ok(rt.r == &render_json, "?format= wins over Accept");
	decide(&rt, "QUERY_STRING", "format=html", "PATH_INFO", "/trace/" ID, NULL);
	ok(rt.action == ROUTE_STORED && rt.r == &render_html, "stored traces in every format");
	decide(&rt, "QUERY_STRING", "format=atlas", "PATH_INFO", "/trace/" ID, NULL);
	ok(rt.action == ROUTE_STORED && rt.r == &render_atlas, "... atlas too");
	decide(&rt, "HTTP_ACCEPT", browser, "PATH_INFO", "/history", NULL);
	ok(rt.action == ROUTE_HISTORY && rt.r == &render_html && rt.vary, "history: html for a browser");
	decide(&rt, "QUERY_STRING", "format=atlas", "PATH_INFO", "/history", NULL);
	ok(rt.action == ROUTE_ERROR && rt.status == 400 && rt.r == &render_atlas,
	    "history as atlas: 400");
	decide(&rt, "QUERY_STRING", "format=text", "PATH_INFO", "/tracetrout.css", NULL);
	ok(rt.action == ROUTE_ASSET && !rt.vary, "an asset does not vary");

	static const char *const bad[] = {
		"format=xml", "format=json%00", "format=%00", "format=%ff", "format=%zz", "format=%4",
		"format=js%6fn%", "format=json;format=bad", "format=json+", "format=json%20",
		"format=%E2%80%AEjson", "format=<script>", "format=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		decide(&rt, "QUERY_STRING", bad[i], NULL);
		ok(rt.action == ROUTE_ERROR && rt.status == 400 &&
		    strcmp(rt.msg, "unknown format: use format=json, text, html or atlas") == 0,
		    "%s: 400 listing the formats", bad[i]);
	}
}

/* Every parameter a route reads, good and hostile. */
static void
test_params(void)
{
	static const struct {
		const char *path, *method, *name, *value;
		int status;	/* 0: routed */
		const char *what;
	} cases[] = {
		{ "/", "GET", "QUERY_STRING", "store=0", 0, "store=0" },
		{ "/", "GET", "QUERY_STRING", "store=1", 0, "store=1" },
		{ "/", "GET", "QUERY_STRING", "store=%30", 0, "store=%30 is store=0" },
		{ "/", "GET", "QUERY_STRING", "store=", 0, "store= is no store=" },
		{ "/", "GET", "QUERY_STRING", "store=2", 400, "store=2" },
		{ "/", "GET", "QUERY_STRING", "store=no", 400, "store=no" },
		{ "/", "GET", "QUERY_STRING", "store=0%00", 400, "store=0%00" },
		{ "/", "HEAD", "QUERY_STRING", "store=x", 400, "HEAD with store=x" },
		{ "/", "GET", "QUERY_STRING", "names=0", 0, "names=0" },
		{ "/", "GET", "QUERY_STRING", "names=1", 0, "names=1" },
		{ "/", "GET", "QUERY_STRING", "names=", 0, "names= is no names=" },
		{ "/", "GET", "QUERY_STRING", "names=no", 400, "names=no" },
		{ "/", "GET", "QUERY_STRING", "names=00", 400, "names=00" },
		{ "/", "GET", "QUERY_STRING", "names=0%20wait=0", 400, "names=0 wait=0: no injection" },
		{ "/", "GET", "QUERY_STRING", "store=0&names=x", 400, "a good store=, a bad names=" },
		{ "/", "HEAD", "QUERY_STRING", "names=x", 400, "HEAD with names=x" },
		{ "/history", "GET", "QUERY_STRING", "before=" ID, 0, "before=ID" },
		{ "/history", "GET", "QUERY_STRING", "before=", 0, "before= is the newest" },
		{ "/history", "GET", "QUERY_STRING", "before=abc", 400, "before=abc" },
		{ "/history", "GET", "QUERY_STRING", "before=0F3C9A5E1D2B4C6A8E7F90A1B2C3D4E5", 400,
		    "before= in upper case" },
		{ "/history", "GET", "QUERY_STRING", "before=" ID "%00", 400, "before=ID%00" },
		{ "/history", "GET", "QUERY_STRING", "before=" ID "%20limit=100", 400,
		    "before=ID limit=100: no protocol injection" },
		{ "/history", "GET", "QUERY_STRING", "before=%27%20OR%201=1--", 400, "before=' OR 1=1--" },
		{ "/history", "GET", "REMOTE_ADDR", "198.51.100.7 limit=100", 400, "REMOTE_ADDR with a key" },
		{ "/history", "GET", "REMOTE_ADDR", "198.51.100.7\nHISTORY client=192.0.2.1", 400,
		    "REMOTE_ADDR with a newline" },
		{ "/history", "GET", "REMOTE_ADDR", "", 400, "no REMOTE_ADDR" },
		{ "/history", "GET", "REMOTE_PORT", "x", 0, "history needs no port" },
		{ "/trace/" ID, "DELETE", "HTTP_X_DELETE_TOKEN", TOKEN, 0, "X-Delete-Token" },
		{ "/trace/" ID, "DELETE", "HTTP_X_DELETE_TOKEN", "xyz", 400, "X-Delete-Token: xyz" },
		{ "/trace/" ID, "DELETE", "HTTP_X_DELETE_TOKEN", "8D1E0C4B7A2F9E3D5C6B1A0F2E4D6C8B", 400,
		    "X-Delete-Token in upper case" },
		{ "/trace/" ID, "DELETE", "HTTP_X_DELETE_TOKEN", TOKEN "0", 400, "33 digits" },
		{ "/trace/" ID, "DELETE", "HTTP_X_DELETE_TOKEN", TOKEN "\r\nX-Evil: 1", 400,
		    "X-Delete-Token with a header injected" },
		{ "/trace/" ID, "DELETE", "HTTP_X_DELETE_TOKEN", TOKEN " id=" ID2, 400,
		    "X-Delete-Token with a key" },
		{ "/trace/" ID, "DELETE", "QUERY_STRING", "token=" TOKEN, 0, "?token=" },
		{ "/trace/" ID, "DELETE", "QUERY_STRING", "token=%38d1e0c4b7a2f9e3d5c6b1a0f2e4d6c8b", 0,
		    "?token= percent-encoded" },
		{ "/trace/" ID, "DELETE", "QUERY_STRING", "token=" TOKEN "%0a", 400, "?token=...%0a" },
		{ "/trace/" ID, "DELETE", "QUERY_STRING", "token=", 400, "?token= empty" },
		{ "/trace/" ID, "DELETE", "QUERY_STRING", "", 400, "no token at all" },
		{ "/trace/" ID, "DELETE", "QUERY_STRING", "token=" TOKEN "&token=x", 400, "a second, bad token" },
	};
	char big[300];
	struct route rt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(&rt, "PATH_INFO", cases[i].path, "REQUEST_METHOD", cases[i].method,
		    cases[i].name, cases[i].value, NULL);
		if (cases[i].status == 0)
			ok(rt.action != ROUTE_ERROR, "%s: routed (%s)", cases[i].what,
			    rt.action == ROUTE_ERROR ? rt.msg : "ok");
		else
			ok(rt.action == ROUTE_ERROR && rt.status == cases[i].status, "%s: %d",
			    cases[i].what, cases[i].status);
	}
	decide(&rt, "QUERY_STRING", "store=0", NULL);
	ok(rt.action == ROUTE_TRACE && rt.conn.nostore, "store=0: TRACE ... store=0");
	decide(&rt, "QUERY_STRING", "store=1", NULL);
	ok(rt.action == ROUTE_TRACE && !rt.conn.nostore, "store=1: stored");
	decide(&rt, "QUERY_STRING", "names=0&store=0", NULL);
	ok(rt.action == ROUTE_TRACE && rt.conn.nonames && rt.conn.nostore,
	    "names=0: TRACE ... names=0, with store=0 too");
	decide(&rt, "QUERY_STRING", "names=1", NULL);
	ok(rt.action == ROUTE_TRACE && !rt.conn.nonames, "names=1: names");
	decide(&rt, "QUERY_STRING", "names=x", NULL);
	is_str(rt.msg, "names= takes 0 (no host names) or 1", "names=x: the message says why");
	decide(&rt, "PATH_INFO", "/history", "QUERY_STRING", "before=" ID, NULL);
	is_str(rt.before, ID, "before= is kept");
	decide(&rt, "PATH_INFO", "/history", "REMOTE_ADDR", "::ffff:198.51.100.7", NULL);
	ok(rt.action == ROUTE_HISTORY && rt.conn.client.family == AF_INET,
	    "history of an IPv4-mapped REMOTE_ADDR is the IPv4 address's");
	decide(&rt, "PATH_INFO", "/trace/" ID, "REQUEST_METHOD", "DELETE",
	    "HTTP_X_DELETE_TOKEN", TOKEN, "QUERY_STRING", "token=" ID2, NULL);
	ok(rt.action == ROUTE_DELETE && strcmp(rt.token, TOKEN) == 0 && strcmp(rt.id, ID) == 0,
	    "the header wins over ?token=");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	decide(&rt, "PATH_INFO", "/trace/" ID, "REQUEST_METHOD", "DELETE",
	    "HTTP_X_DELETE_TOKEN", big, NULL);
	ok(rt.action == ROUTE_ERROR && rt.status == 400, "a huge X-Delete-Token: 400");
}

/* POST /trace/ID/delete: the form's body and its headers. */
static void
test_form(void)
{
	static const char form[] = "application/x-www-form-urlencoded";
	static const struct {
		const char *ctype, *length, *body;
		int status;
		const char *what;
	} cases[] = {
		{ form, NULL, "token=" TOKEN, 0, "a form" },
		{ form, "38", "token=" TOKEN, 0, "a form with its length" },
		{ "Application/X-WWW-Form-Urlencoded; charset=UTF-8", NULL, "token=" TOKEN, 0,
		    "a form type with a charset, any case" },
		{ form, NULL, "submit=Delete&token=" TOKEN, 0, "the token after another field" },
		{ form, NULL, "token=" TOKEN "&", 0, "a trailing &" },
		{ form, NULL, "", 400, "an empty form" },
		{ form, NULL, "token=", 400, "an empty token" },
		{ form, NULL, "token=xyz", 400, "token=xyz" },
		{ form, NULL, "token=" TOKEN "%00", 400, "token with a NUL" },
		{ form, NULL, "token=%", 400, "token=%" },
		{ form, NULL, "token=\xff\xfe", 400, "token, not UTF-8" },
		{ form, NULL, "TOKEN=" TOKEN, 400, "TOKEN= is not token=" },
		{ "text/plain", NULL, "token=" TOKEN, 415, "text/plain: 415" },
		{ "multipart/form-data; boundary=x", NULL, "token=" TOKEN, 415, "multipart: 415" },
		{ "application/x-www-form-urlencodedx", NULL, "token=" TOKEN, 415, "a longer type: 415" },
		{ "", NULL, "token=" TOKEN, 415, "no type: 415" },
		{ form, "2000", "token=" TOKEN, 413, "CONTENT_LENGTH 2000: 413, unread" },
		{ form, "99999999999999999999999", "token=" TOKEN, 413, "a huge CONTENT_LENGTH: 413" },
		{ form, "1025", "token=" TOKEN, 413, "CONTENT_LENGTH 1025: 413" },
		{ form, "abc", "token=" TOKEN, 400, "CONTENT_LENGTH abc: 400" },
		{ form, "-1", "token=" TOKEN, 400, "CONTENT_LENGTH -1: 400" },
		{ form, "50", "token=" TOKEN, 400, "fewer bytes than CONTENT_LENGTH: 400" },
		{ form, "10", "token=" TOKEN, 400, "CONTENT_LENGTH cuts the token: 400" },
	};
	char big[2000];
	struct request req;
	struct route rt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(&rt, "REQUEST_METHOD", "POST", "PATH_INFO", "/trace/" ID "/delete",
		    "CONTENT_TYPE", cases[i].ctype, "CONTENT_LENGTH", cases[i].length,
		    "BODY", cases[i].body, NULL);
		if (cases[i].status == 0)
			ok(rt.action == ROUTE_DELETE && strcmp(rt.token, TOKEN) == 0 &&
			    strcmp(rt.id, ID) == 0, "%s: delete (%s)", cases[i].what,
			    rt.action == ROUTE_ERROR ? rt.msg : "ok");
		else
			ok(rt.action == ROUTE_ERROR && rt.status == cases[i].status, "%s",
			    cases[i].what);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "token=" TOKEN "&x=", 41);
	decide(&rt, "REQUEST_METHOD", "POST", "PATH_INFO", "/trace/" ID "/delete",
	    "CONTENT_TYPE", form, "BODY", big, NULL);
	ok(rt.action == ROUTE_ERROR && rt.status == 413, "2 kB of body without a length: 413");

	/* request_read_body itself. */
	{
		struct memsrc src = { "token=" TOKEN, 38, 0 };

		base(&req);
		request_param(&req, "REQUEST_METHOD", "POST");
		request_read_body(&req, mem_read, &src);
		ok(req.body_status == REQ_BODY_OK && req.body_len == 38 &&
		    strcmp(req.body, "token=" TOKEN) == 0, "a body read to its end");
		src = (struct memsrc){ "token=" TOKEN, 38, 0 };
		base(&req);
		request_read_body(&req, mem_read, &src);
		ok(req.body_status == REQ_BODY_NONE && req.body_len == 0 && src.n == 38,
		    "GET: the body is not read");
		src = (struct memsrc){ "token=" TOKEN, 38, 1 };
		base(&req);
		request_param(&req, "REQUEST_METHOD", "POST");
		request_read_body(&req, mem_read, &src);
		ok(req.body_status == REQ_BODY_SHORT, "a failing read: short");
		src = (struct memsrc){ "token=" TOKEN, 38, 0 };
		base(&req);
		request_param(&req, "REQUEST_METHOD", "POST");
		request_param(&req, "CONTENT_LENGTH", "6");
		request_read_body(&req, mem_read, &src);
		ok(req.body_status == REQ_BODY_OK && req.body_len == 6 && src.n == 32,
		    "CONTENT_LENGTH bounds the read");
		src = (struct memsrc){ big, sizeof(big) - 1, 0 };
		base(&req);
		request_param(&req, "REQUEST_METHOD", "POST");
		request_read_body(&req, mem_read, &src);
		ok(req.body_status == REQ_BODY_TOOLARGE && src.n == sizeof(big) - 1 - REQ_BODY_MAX - 1,
		    "no length: at most REQ_BODY_MAX + 1 bytes are read");
	}
}

static void
test_hostile(void)
{
	static const struct {
		const char *name, *value;
		int status;
	} cases[] = {
		{ "REMOTE_ADDR", NULL, 400 },
		{ "REMOTE_ADDR", "", 400 },
		{ "REMOTE_ADDR", "example.com", 400 },
		{ "REMOTE_ADDR", "198.51.100.7 ", 400 },
		{ "REMOTE_ADDR", "fe80::1%eth0", 400 },
		{ "REMOTE_PORT", NULL, 400 },
		{ "REMOTE_PORT", "abc", 400 },
		{ "REMOTE_PORT", "0", 400 },
		{ "REMOTE_PORT", "65536", 400 },
		{ "REMOTE_PORT", "-1", 400 },
		{ "REMOTE_PORT", "1234567", 400 },
		{ "SERVER_ADDR", "256.0.0.1", 400 },
		{ "SERVER_PORT", "44 3", 400 },
		{ "SERVER_ADDR", "2001:db8::10", 422 },
		{ "SERVER_ADDR", "[192.0.2.10", 400 },
		{ "SERVER_ADDR", "[]", 400 },
		{ "SERVER_ADDR", "[[2001:db8::10]]", 400 },
		{ "REQUEST_METHOD", "POST", 405 },
		{ "REQUEST_METHOD", "", 405 },
		{ "REQUEST_METHOD", "GETTTTTTTTTTTTTTTTTTTTTT", 400 },
		{ "PATH_INFO", "/\xff\xfe", 404 },
		{ "PATH_INFO", "/trace/\xc3\xa9", 404 },
		{ "PATH_INFO", "/trace/" ID "\n", 404 },
		{ "PATH_INFO", "/trace/<script>alert(1)</script>", 404 },
		{ "PATH_INFO", "/trace/' OR '1'='1", 404 },
		{ "PATH_INFO", "/trace/" ID "/delete/../../history", 404 },
	};
	char big[8192];
	struct route rt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(&rt, cases[i].name, cases[i].value, NULL);
		ok(rt.action == ROUTE_ERROR && rt.status == cases[i].status, "%s=%s: %d",
		    cases[i].name, shown(cases[i].value), cases[i].status);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	static const char *const long_ones[] = {
		"QUERY_STRING", "PATH_INFO", "SCRIPT_NAME", "HTTP_ACCEPT", "REQUEST_URI",
		"HTTP_X_DELETE_TOKEN", "CONTENT_TYPE", "HTTP_IF_NONE_MATCH", "CONTENT_LENGTH",
	};
	for (size_t i = 0; i < sizeof(long_ones) / sizeof(long_ones[0]); i++) {
		decide(&rt, long_ones[i], big, NULL);
		ok(rt.action == ROUTE_ERROR && rt.status == 400 &&
		    strcmp(rt.msg, "request too large") == 0, "a huge %s: 400", long_ones[i]);
	}
	decide(&rt, "REMOTE_ADDR", "::ffff:198.51.100.7", NULL);
	ok(rt.action == ROUTE_TRACE && rt.conn.client.family == AF_INET,
	    "IPv4-mapped REMOTE_ADDR becomes IPv4");
	decide(&rt, "SERVER_ADDR", "[192.0.2.10]", NULL);
	ok(rt.action == ROUTE_TRACE && rt.conn.server.family == AF_INET,
	    "a bracketed SERVER_ADDR (lighttpd bound to one address) is read");
	decide(&rt, "REQUEST_METHOD", "HEAD", NULL);
	is_int(rt.action, ROUTE_HEAD, "HEAD: the head, no trace");
}

/* Whole responses that need no broker. */
static void
test_responses(void)
{
	struct membuf mb;

	is_str(serve(&mb, "PATH_INFO", "/nope", NULL),
	    "Status: 404 Not Found\r\nContent-Type: application/json\r\n" HEAD_COMMON
	    "Vary: Accept\r\n\r\n{\"error\":\"not found\"}\n", "404 in JSON, Vary: Accept");
	is_str(serve(&mb, "PATH_INFO", "/nope", "QUERY_STRING", "format=json", NULL),
	    "Status: 404 Not Found\r\nContent-Type: application/json\r\n" HEAD_COMMON "\r\n"
	    "{\"error\":\"not found\"}\n", "?format=: no Vary");
	is_str(serve(&mb, "REQUEST_METHOD", "DELETE", NULL),
	    "Status: 405 Method Not Allowed\r\nContent-Type: application/json\r\n" HEAD_COMMON
	    "Vary: Accept\r\nAllow: GET, HEAD\r\n\r\n{\"error\":\"method not allowed: use GET\"}\n",
	    "405 with Allow");
	is_str(serve(&mb, "QUERY_STRING", "format=xml", NULL),
	    "Status: 400 Bad Request\r\nContent-Type: application/json\r\n" HEAD_COMMON "\r\n"
	    "{\"error\":\"unknown format: use format=json, text, html or atlas\"}\n", "400 in JSON");
	is_str(serve(&mb, "REMOTE_PORT", "x", "QUERY_STRING", "format=json", NULL),
	    "Status: 400 Bad Request\r\nContent-Type: application/json\r\n" HEAD_COMMON "\r\n"
	    "{\"error\":\"the web server did not describe this connection\"}\n",
	    "400 for a bad REMOTE_PORT");
	is_str(serve(&mb, "REQUEST_METHOD", "HEAD", NULL),
	    "Status: 200 OK\r\nContent-Type: application/json\r\n" HEAD_CORS "Vary: Accept\r\n\r\n",
	    "HEAD: 200, the headers, no body");
	is_int(mb.flushes, 1, "HEAD: flushed");
	serve(&mb, "REQUEST_METHOD", "HEAD", "HTTP_ACCEPT", "text/html", NULL);
	ok(has_header(&mb, "Content-Type: " HTML) && *body_of(&mb) == '\0', "HEAD for a browser: html");
	is_str(serve(&mb, "REQUEST_METHOD", "HEAD", "PATH_INFO", "/nope", "HTTP_ACCEPT", "text/plain",
	    NULL), "Status: 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    HEAD_COMMON "Vary: Accept\r\n\r\n", "HEAD of an error: no body");

	{
		char big[2000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		serve(&mb, "REQUEST_METHOD", "HEAD", "QUERY_STRING", big, NULL);
		ok(status_is(&mb, 400) && *body_of(&mb) == '\0', "HEAD of a request too large: no body");
	}
	serve(&mb, "PATH_INFO", "/trace/nope", "HTTP_ACCEPT", "text/html", NULL);
	ok(status_is(&mb, 404) && has_header(&mb, "Content-Type: " HTML) &&
	    strstr(body_of(&mb), "no such trace") != NULL, "a malformed id: 404 in html");
	serve(&mb, "PATH_INFO", "/trace/nope", "QUERY_STRING", "format=text", NULL);
	is_str(body_of(&mb), "error: no such trace\n", "... in text");
	serve(&mb, "PATH_INFO", "/history", "QUERY_STRING", "format=atlas", NULL);
	ok(status_is(&mb, 400) && has_header(&mb, "Content-Type: " JSON) &&
	    strstr(body_of(&mb), "atlas") != NULL, "history as atlas: 400 in JSON");
	serve(&mb, "REQUEST_METHOD", "PUT", "PATH_INFO", "/trace/" ID, NULL);
	ok(status_is(&mb, 405) && has_header(&mb, "Allow: GET, HEAD, DELETE"),
	    "405 on a permalink: Allow: GET, HEAD, DELETE");
	serve(&mb, "REQUEST_METHOD", "POST", "PATH_INFO", "/trace/" ID "/delete",
	    "CONTENT_TYPE", "application/x-www-form-urlencoded", "CONTENT_LENGTH", "5000", NULL);
	ok(status_is(&mb, 413) && strncmp(mb.buf, "Status: 413 Content Too Large\r\n", 31) == 0,
	    "413 Content Too Large");
	serve(&mb, "REQUEST_METHOD", "POST", "PATH_INFO", "/trace/" ID "/delete",
	    "CONTENT_TYPE", "text/plain", "BODY", "token=" TOKEN, NULL);
	ok(strncmp(mb.buf, "Status: 415 Unsupported Media Type\r\n", 36) == 0,
	    "415 Unsupported Media Type");
}

/* The assets: from asset_find, cacheable, validated by ETag. */
static void
test_assets(void)
{
	struct membuf mb;
	char etag[256], weak[300], list[400];
	const char *e, *css;
	size_t n, len;

	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_ACCEPT", "text/html", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: text/css; charset=utf-8") &&
	    has_header(&mb, "Cache-Control: public, max-age=86400") &&
	    !has_header(&mb, "Vary: Accept"), "css: 200, text/css, cached for a day, no Vary");
	e = strstr(mb.buf, "\r\nETag: ");
	ok(e != NULL, "... with an ETag");
	if (e == NULL)
		return;
	e += 8;
	n = strcspn(e, "\r");
	snprintf(etag, sizeof(etag), "%.*s", (int)n, e);
	ok(etag[0] == '"' && etag[n - 1] == '"' && n > 2, "... quoted: %s", etag);
	e = strstr(mb.buf, "\r\nContent-Length: ");
	len = e ? strtoul(e + 18, NULL, 10) : 0;
	css = body_of(&mb);
	ok(len > 0 && strlen(css) == len, "... Content-Length %zu, the body's length", len);

	serve(&mb, "PATH_INFO", "/tracetrout.js", NULL);
	ok(status_is(&mb, 200) && strstr(mb.buf, "Content-Type: text/javascript") != NULL &&
	    *body_of(&mb) != '\0', "js: 200, text/javascript, a body");
	serve(&mb, "PATH_INFO", "/tracetrout.css", "REQUEST_METHOD", "HEAD", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: text/css; charset=utf-8") &&
	    *body_of(&mb) == '\0', "HEAD css: the head only");

	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_IF_NONE_MATCH", etag, NULL);
	ok(strncmp(mb.buf, "Status: 304 Not Modified\r\n", 26) == 0 && *body_of(&mb) == '\0' &&
	    strstr(mb.buf, "ETag: ") != NULL && has_header(&mb, "Cache-Control: public, max-age=86400"),
	    "If-None-Match with its ETag: 304, no body");
	snprintf(weak, sizeof(weak), "W/%s", etag);
	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_IF_NONE_MATCH", weak, NULL);
	ok(status_is(&mb, 304), "a weak ETag matches too");
	snprintf(list, sizeof(list), "\"old\", %s ,\"other\"", etag);
	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_IF_NONE_MATCH", list, NULL);
	ok(status_is(&mb, 304), "an ETag in a list matches");
	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_IF_NONE_MATCH", "*", NULL);
	ok(status_is(&mb, 304), "* matches");
	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_IF_NONE_MATCH", "\"old\"", NULL);
	ok(status_is(&mb, 200), "another ETag: 200");
	serve(&mb, "PATH_INFO", "/tracetrout.js", "HTTP_IF_NONE_MATCH", etag, NULL);
	ok(status_is(&mb, 200), "css's ETag does not match the js");
	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_IF_NONE_MATCH", "\"", NULL);
	ok(status_is(&mb, 200), "a broken ETag: 200");
	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_IF_NONE_MATCH", ",,, W/", NULL);
	ok(status_is(&mb, 200), "a junk If-None-Match: 200");
	serve(&mb, "PATH_INFO", "/tracetrout.css", "HTTP_IF_NONE_MATCH", "*x", NULL);
	ok(status_is(&mb, 200), "*x is not *");
}

static void
test_refusals(void)
{
	static const struct {
		const char *code;
		const char *status;
		const char *extra;
	} cases[] = {
		{ "bad-request", "400 Bad Request", "" },
		{ "not-found", "422 Unprocessable Content", "" },
		{ "not-local", "422 Unprocessable Content", "" },
		{ "port-not-allowed", "403 Forbidden", "" },
		{ "busy", "503 Service Unavailable", "Retry-After: 5\r\n" },
		{ "traced", "409 Conflict", "Retry-After: 5\r\n" },
		{ "engine-down", "503 Service Unavailable", "" },
		{ "forbidden", "500 Internal Server Error", "" },
		{ "internal", "502 Bad Gateway", "" },
		{ "some-later-code", "502 Bad Gateway", "" },
	};
	char want[512], line[128];
	struct refusal f;
	struct membuf mb;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE, line, NULL };

		snprintf(line, sizeof(line), "> ERROR code=%s msg=the_full_reason", cases[i].code);
		is_int(serve_broker(&mb, script, NULL, "QUERY_STRING", "format=json", NULL), 0,
		    "%s: the broker got TRACE", cases[i].code);
		refusal_for_code(cases[i].code, 0, &f);
		snprintf(want, sizeof(want), "Status: %s\r\nContent-Type: application/json\r\n"
		    HEAD_CORS "%s\r\n{\"error\":\"%s\"}\n", cases[i].status, cases[i].extra, f.msg);
		is_str(mb.buf, want, "ERROR code=%s: %s", cases[i].code, cases[i].status);
	}
	{
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE,
		    "> ERROR code=busy msg=too_many", NULL };

		serve_broker(&mb, script, NULL, "QUERY_STRING", "format=text", NULL);
		is_str(mb.buf, "Status: 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    HEAD_COMMON "Retry-After: 5\r\n\r\n"
		    "error: too many traces are running; try again in a few seconds\n",
		    "an error before the head, in text");
	}
	{
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE,
		    "> ERROR code=busy retry=7 msg=too_many_traces_started_for_this_address", NULL };

		serve_broker(&mb, script, NULL, NULL);
		refusal_for_code("busy", 7, &f);
		snprintf(want, sizeof(want), "Status: 503 Service Unavailable\r\n"
		    "Content-Type: application/json\r\n" HEAD_CORS "Vary: Accept\r\nRetry-After: 7\r\n\r\n"
		    "{\"error\":\"%s\"}\n", f.msg);
		is_str(mb.buf, want, "busy with retry=7: 503 with Retry-After: 7");
	}
	{
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE,
		    "> ERROR code=not-found retry=2 msg=x", NULL };

		serve_broker(&mb, script, NULL, NULL);
		ok(strncmp(mb.buf, "Status: 422", 11) == 0 && strstr(mb.buf, "Retry-After: 2\r\n"),
		    "retry= on another code becomes Retry-After too");
	}
	{
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE,
		    "> ERROR code=busy msg=x", NULL };

		serve_broker(&mb, script, NULL, "HTTP_ACCEPT", "text/html", NULL);
		ok(status_is(&mb, 503) && has_header(&mb, "Content-Type: " HTML) &&
		    has_header(&mb, "Vary: Accept") && strstr(body_of(&mb), "too many traces") != NULL,
		    "an error for a browser: an html page");
	}
}

/* The live-trace slots: a trace beyond them is 503 at once, without the broker; other pages go on. */
static void
test_slots(void)
{
	static const char *const live[] = {
		"> TRACETROUT 1", "< " TRACE_LINE,
		"> STARTED id=" ID " stored=1 token=" TOKEN " started_ms=1764180000123 "
		    "addr=full retention_s=2592000",
		"> END reason=max-hops hops=0 duration_us=900 stored=1", NULL
	};
	struct slots sl;
	struct membuf mb;

	is_int(slots_threads(64), 96, "64 live traces at once: 96 threads, 32 for everything else");
	is_int(slots_threads(15), 22, "15: 22 threads");
	is_int(slots_threads(3), 4, "3: 4 threads");
	is_int(slots_threads(1), 2, "1: 2 threads");
	slots_init(&sl, 1);
	cfg.slots = &sl;
	serve_broker(&mb, live, NULL, "QUERY_STRING", "format=json", NULL);
	ok(status_is(&mb, 200) && atomic_load(&sl.used) == 0,
	    "a free slot: the trace runs, and gives its slot back");
	ok(slots_take(&sl), "a trace holds the only slot");
	ok(!slots_take(&sl), "a second finds none");
	/* No broker runs: asking it would be a 503 without Retry-After. */
	serve(&mb, "QUERY_STRING", "format=json", NULL);
	ok(status_is(&mb, 503) && has_header(&mb, "Retry-After: 1") &&
	    strstr(body_of(&mb), "too many traces") != NULL,
	    "every slot taken: 503 with Retry-After: 1 at once, the broker not asked");
	is_int(atomic_load(&sl.refused), 2, "both refusals counted");
	is_int(atomic_load(&sl.used), 1, "the refused take no slot");
	serve(&mb, "PATH_INFO", "/tracetrout.css", NULL);
	ok(status_is(&mb, 200), "other pages are served meanwhile");
	slots_give(&sl);
	ok(slots_take(&sl), "the slot given back is free again");
	slots_give(&sl);
	slots_init(&sl, 1);
	ok(slots_log_due(&sl, 100), "the first refusal is logged");
	ok(!slots_log_due(&sl, 100 + SLOTS_LOG_S - 1), "then none for %d s", SLOTS_LOG_S);
	ok(slots_log_due(&sl, 100 + SLOTS_LOG_S), "then one again");
	cfg.slots = NULL;
}

static void
test_broken_broker(void)
{
	static const char *const noaccept[] = { "noaccept", NULL };
	static const char *const nogreeting[] = { "hang", NULL };
	static const char *const garbage[] = { "> TRACETROUT 1", "< TRACE", "> HELLO there", NULL };
	static const char *const version[] = { "> TRACETROUT 2", NULL };
	static const char *const closes[] = { "> TRACETROUT 1", "< TRACE", NULL };
	static const char *const silent[] = { "> TRACETROUT 1", "< TRACE", "hang", NULL };
	static const char *const stored[] = { "> TRACETROUT 1", "< TRACE", STORED_LINE, NULL };
	struct membuf mb;
	double ms;
	const char *s503 = "Status: 503 Service Unavailable\r\n";
	const char *s502 = "Status: 502 Bad Gateway\r\n";
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	unlink(sockpath);
	serve(&mb, NULL);
	ms = elapsed_ms(&t0);
	ok(strncmp(mb.buf, s503, strlen(s503)) == 0 && strstr(mb.buf, "not running"),
	    "no socket (helper stopped): 503, not running");
	ok(ms < 1000, "... within 1 s (%.0f ms)", ms);

	serve_broker(&mb, noaccept, &ms, NULL);
	ok(strncmp(mb.buf, s503, strlen(s503)) == 0 && strstr(mb.buf, "not answering"),
	    "a broker that never accepts: 503, not answering");
	ok(ms < 1000, "... within 1 s (%.0f ms)", ms);
	serve_broker(&mb, nogreeting, &ms, NULL);
	ok(strncmp(mb.buf, s503, strlen(s503)) == 0, "a broker that never greets: 503");
	ok(ms < 1000, "... within 1 s (%.0f ms)", ms);

	serve_broker(&mb, garbage, NULL, NULL);
	ok(strncmp(mb.buf, s502, strlen(s502)) == 0, "garbage instead of STARTED: 502");
	serve_broker(&mb, version, NULL, NULL);
	ok(strncmp(mb.buf, s502, strlen(s502)) == 0, "an unknown protocol version: 502");
	serve_broker(&mb, closes, NULL, NULL);
	ok(strncmp(mb.buf, s502, strlen(s502)) == 0, "closed before STARTED: 502");
	serve_broker(&mb, stored, NULL, NULL);
	ok(strncmp(mb.buf, s502, strlen(s502)) == 0, "STORED instead of STARTED: 502");

	cfg.start_ms = 300;
	serve_broker(&mb, silent, &ms, NULL);
	ok(strncmp(mb.buf, s503, strlen(s503)) == 0 && strstr(mb.buf, "not answering"),
	    "no answer to TRACE: 503, not answering");
	ok(ms < 1000, "... after the start timeout (%.0f ms)", ms);
	cfg.start_ms = BROKER_START_MS;
}

static void
test_trace(void)
{
	static const char *const good[] = {
		"> TRACETROUT 1", "< " TRACE_LINE, "> STARTED id=" ID,
		"> HOP ttl=2 sent=3", HOP1, HOP3,
		"> END reason=destination hops=3 duration_us=5120", NULL
	};
	static const char *const silent[] = {
		"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID,
		"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64", "hang", NULL
	};
	static const char *const closes[] = {
		"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID,
		"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64",
		"raw HOP ttl=2 sent=", NULL
	};
	static const char *const gone[] = {
		"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID, "sleep 50",
		"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64", "eof", NULL
	};
	const char *head200 =
	    "Status: 200 OK\r\nContent-Type: application/json\r\n" HEAD_CORS
	    "X-Trace-Id: " ID "\r\n"
	    "Link: </trace-me/trace/" ID ">; rel=\"bookmark\"\r\n"
	    "Access-Control-Expose-Headers: X-Trace-Id, Link\r\n\r\n";
	char want[2048];
	struct membuf mb;
	double ms;

	is_int(serve_broker(&mb, good, NULL, "QUERY_STRING", "format=json", NULL), 0,
	    "the broker got the visitor's TRACE");
	snprintf(want, sizeof(want), "%s"
	    " {\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412,0.398]}\n"
	    "{\"ttl\":2,\"timeout\":true}\n"
	    "{\"ttl\":3,\"ip\":\"198.51.100.7\",\"rtt\":[1.210]}\n", head200);
	is_str(mb.buf, want, "a whole trace: head and a space, then the hops in order");
	/* The broker's lines came together: the hops leave in one write after the head's. */
	ok(mb.flushes >= 2 && mb.flushed == mb.len,
	    "flushed after the head, then once the lines waiting were shown (%d)", mb.flushes);

	is_int(serve_broker(&mb, good, NULL, "REMOTE_ADDR", "::ffff:198.51.100.7", NULL), 0,
	    "an IPv4-mapped REMOTE_ADDR is sent as IPv4");
	ok(has_header(&mb, "Vary: Accept"), "a negotiated trace: Vary: Accept");

	serve_broker(&mb, good, NULL, "QUERY_STRING", "format=text", NULL);
	{
		static const char text[] = "traceroute to 198.51.100.7 (198.51.100.7) port 51234, "
		    "from 192.0.2.10 port 443, trace " ID "\n 1  192.0.2.1  0.412 ms  0.398 ms *\n"
		    " 2  * * *\n 3  198.51.100.7  1.210 ms * *\nend: ";

		ok(strncmp(body_of(&mb), text, sizeof(text) - 1) == 0, "the same trace in text");
	}
	ok(strstr(mb.buf, "Content-Type: text/plain; charset=utf-8\r\n") != NULL, "text's type");
	serve_broker(&mb, good, NULL, "HTTP_ACCEPT", "text/html,*/*;q=0.8", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: " HTML) &&
	    has_header(&mb, "Vary: Accept") && strstr(body_of(&mb), "198.51.100.7") != NULL,
	    "the same trace for a browser: html from the renderer");
	serve_broker(&mb, good, NULL, "QUERY_STRING", "format=atlas", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: " JSON) &&
	    !has_header(&mb, "Vary: Accept") && strstr(body_of(&mb), "198.51.100.7") != NULL,
	    "... and as atlas: application/json, no Vary");

	{
		static const char *const unstored[] = {
			"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID " stored=0",
			"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64",
			"> END reason=max-hops hops=1 duration_us=900 stored=0", NULL
		};
		static const char *const asked[] = {
			"> TRACETROUT 1", "< " TRACE_LINE " store=0",
			"> STARTED id=" ID " stored=0 started_ms=1764180000123 addr=full retention_s=2592000",
			"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64",
			"> END reason=max-hops hops=1 duration_us=900 stored=0", NULL
		};
		static const char *const failed[] = {
			"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID " stored=1",
			"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64",
			"> END reason=max-hops hops=1 duration_us=900 stored=0", NULL
		};
		static const char *const stored[] = {
			"> TRACETROUT 1", "< " TRACE_LINE,
			"> STARTED id=" ID " stored=1 token=" TOKEN " started_ms=1764180000123 "
			    "addr=full retention_s=2592000",
			"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64",
			"> END reason=max-hops hops=1 duration_us=900 stored=1", NULL
		};

		serve_broker(&mb, unstored, NULL, "QUERY_STRING", "format=json", NULL);
		snprintf(want, sizeof(want), "Status: 200 OK\r\nContent-Type: application/json\r\n"
		    HEAD_CORS "X-Trace-Id: " ID "\r\nX-Trace-Stored: no\r\n"
		    "Access-Control-Expose-Headers: X-Trace-Id, X-Trace-Stored\r\n\r\n"
		    " {\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412]}\n");
		is_str(mb.buf, want, "STARTED stored=0: X-Trace-Stored: no, no permalink, "
		    "JSON only hop lines");
		is_int(serve_broker(&mb, asked, NULL, "QUERY_STRING", "store=0&format=json", NULL), 0,
		    "?store=0: the broker got TRACE ... store=0");
		ok(has_header(&mb, "X-Trace-Stored: no") && strstr(mb.buf, "Link:") == NULL &&
		    strstr(mb.buf, "X-Trace-Delete-Token") == NULL,
		    "... X-Trace-Stored: no, no permalink, no token");
		serve_broker(&mb, unstored, NULL, "QUERY_STRING", "format=text", NULL);
		ok(strstr(mb.buf, "X-Trace-Stored: no\r\n") != NULL &&
		    strstr(body_of(&mb), "not stored") != NULL, "... in text, it says so");
		serve_broker(&mb, failed, NULL, "QUERY_STRING", "format=text", NULL);
		ok(strstr(mb.buf, "X-Trace-Stored") == NULL && strstr(mb.buf, "Link: <") != NULL &&
		    strstr(mb.buf, "X-Trace-Delete-Token") == NULL &&
		    strstr(body_of(&mb), "not stored") != NULL,
		    "stored=1 without a token, then END stored=0: the head did not know; the "
		    "text says so at the end");
		serve_broker(&mb, failed, NULL, "QUERY_STRING", "format=json", NULL);
		ok(strstr(mb.buf, "note") == NULL && strstr(body_of(&mb), "stored") == NULL,
		    "... and JSON stays hop lines only");
		serve_broker(&mb, stored, NULL, "QUERY_STRING", "format=json", NULL);
		snprintf(want, sizeof(want), "Status: 200 OK\r\nContent-Type: application/json\r\n"
		    HEAD_CORS "X-Trace-Id: " ID "\r\n"
		    "Link: </trace-me/trace/" ID ">; rel=\"bookmark\"\r\n"
		    "X-Trace-Delete-Token: " TOKEN "\r\n"
		    "Access-Control-Expose-Headers: X-Trace-Id, Link\r\n\r\n"
		    " {\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412]}\n");
		is_str(mb.buf, want, "stored with a token: X-Trace-Delete-Token, not exposed");
		serve_broker(&mb, stored, NULL, "QUERY_STRING", "format=text", NULL);
		ok(strstr(body_of(&mb), "not stored") == NULL && strstr(mb.buf, "X-Trace-Stored") == NULL,
		    "stored=1 both times: no note, no header");
	}

	cfg.run_ms = 300;
	serve_broker(&mb, silent, &ms, "QUERY_STRING", "format=text", NULL);
	ok(strstr(mb.buf, " 1  192.0.2.1  0.412 ms * *\n") != NULL &&
	    strstr(mb.buf, "error: the tracing helper stopped answering\n") != NULL,
	    "a broker silent mid-trace: the response ends with an error line");
	ok(ms < 1000, "... after the trace bound (%.0f ms)", ms);
	serve_broker(&mb, silent, NULL, "QUERY_STRING", "format=json", NULL);
	ok(strstr(mb.buf, "\r\n\r\n {\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412]}\n") != NULL &&
	    strstr(mb.buf, "error") == NULL, "... in JSON, nothing but hop lines");
	cfg.run_ms = BROKER_RUN_MS;

	serve_broker(&mb, closes, NULL, "QUERY_STRING", "format=text", NULL);
	ok(strstr(mb.buf, "error: the tracing helper failed\n") != NULL,
	    "the broker closing mid-line, mid-trace: an error line");

	{
		struct out o = mem_out(&mb);
		struct request req;
		pid_t pid = broker_start(sockpath, gone);

		base(&req);
		request_param(&req, "QUERY_STRING", "format=json");
		mb.fail_at = strlen(head200) + 10;
		route_serve(&req, &o, &cfg);
		is_int(broker_stop(pid, sockpath, 2000), 0,
		    "the visitor gone: the broker connection is closed at once");
	}
}

/* A getter of FastCGI parameters from a NULL-terminated name, value list. */
static const char *
list_get(const char *name, void *ctx)
{
	const char *const *kv = ctx;

	for (; kv[0] != NULL; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

/*
 * Signs of a proxy: the first of Forwarded, X-Forwarded-For and Via goes to
 * the broker as proxy=, whatever its length; the broker's answer (which may
 * add its own list's verdict) reaches the head as X-Trace-Proxy.
 */
static void
test_proxy(void)
{
	static char chain[6000];
	static const char *const xff[] = {
		"> TRACETROUT 1", "< " TRACE_LINE " proxy=x-forwarded-for",
		"> STARTED id=" ID " stored=0 started_ms=1 addr=full retention_s=0 proxy=x-forwarded-for",
		END3, NULL
	};
	static const char *const listed[] = {
		"> TRACETROUT 1", "< " TRACE_LINE,
		"> STARTED id=" ID " stored=0 started_ms=1 addr=full retention_s=0 proxy=listed",
		END3, NULL
	};
	const char *params[] = {
		"REQUEST_METHOD", "GET", "SCRIPT_NAME", "/trace-me", "PATH_INFO", "/",
		"REMOTE_ADDR", "198.51.100.7", "REMOTE_PORT", "51234", "SERVER_ADDR", "192.0.2.10",
		"SERVER_PORT", "443", "SERVER_SOFTWARE", "nginx/1.22.1",
		"HTTP_VIA", "1.1 cache", "HTTP_X_FORWARDED_FOR", chain, NULL, NULL,
	};
	static const struct {
		const char *software;
		enum render_server kind;
	} servers[] = {
		{ "nginx/1.22.1", RENDER_SERVER_NGINX }, { "Apache/2.4.62 (Debian)", RENDER_SERVER_APACHE },
		{ "Apache", RENDER_SERVER_APACHE }, { "lighttpd/1.4.69", RENDER_SERVER_LIGHTTPD },
		{ "", RENDER_SERVER_OTHER }, { "Caddy", RENDER_SERVER_OTHER },
		{ "apache", RENDER_SERVER_OTHER },
	};
	struct request req;
	struct membuf mb;
	struct out o;
	pid_t pid;

	for (size_t i = 0; i + 16 < sizeof(chain); i += 16)
		memcpy(chain + i, "203.0.113.9,   ", 16);
	request_fill(&req, list_get, params);
	ok(req.toolong == NULL, "a 6000-byte X-Forwarded-For is no reason to refuse");
	is_int(req.proxy, PROTO_PROXY_XFF, "X-Forwarded-For wins over Via");
	is_str(req.server_software, "nginx/1.22.1", "SERVER_SOFTWARE kept");
	o = mem_out(&mb);
	pid = broker_start(sockpath, xff);
	route_serve(&req, &o, &cfg);
	is_int(broker_stop(pid, sockpath, 2000), 0, "TRACE carries proxy=x-forwarded-for");
	ok(has_header(&mb, "X-Trace-Proxy: x-forwarded-for") &&
	    strstr(mb.buf, "Access-Control-Expose-Headers: X-Trace-Id, X-Trace-Stored, "
	    "X-Trace-Proxy\r\n") != NULL, "the head says so, readable cross-origin");

	params[19] = "";	/* an empty X-Forwarded-For is no sign */
	request_fill(&req, list_get, params);
	is_int(req.proxy, PROTO_PROXY_VIA, "empty X-Forwarded-For: Via");
	params[16] = "HTTP_FORWARDED";
	params[17] = "for=198.51.100.7";
	request_fill(&req, list_get, params);
	is_int(req.proxy, PROTO_PROXY_FORWARDED, "Forwarded first");
	params[16] = NULL;
	request_fill(&req, list_get, params);
	is_int(req.proxy, PROTO_PROXY_NONE, "no header: no proxy");
	o = mem_out(&mb);
	pid = broker_start(sockpath, listed);
	route_serve(&req, &o, &cfg);
	is_int(broker_stop(pid, sockpath, 2000), 0, "no header: no proxy= in TRACE");
	ok(has_header(&mb, "X-Trace-Proxy: listed"), "the broker's list: X-Trace-Proxy: listed");

	for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++)
		is_int(render_server_kind(servers[i].software), servers[i].kind, "SERVER_SOFTWARE \"%s\"",
		    servers[i].software);
}

/* A renderer that keeps what it was given, to check render_trace as the handlers fill it. */
static struct render_trace seen;
static int seen_hops, seen_end;

static int
cap_begin(struct out *o, struct render_trace *t)
{
	seen = *t;
	return out_puts(o, "begin\n");
}

static int
cap_hop(struct out *o, struct render_trace *t, const struct proto_hop *h)
{
	(void)t;
	seen_hops++;
	return out_printf(o, "hop %d\n", h->ttl);
}

static int
cap_end(struct out *o, struct render_trace *t, const struct proto_msg *m)
{
	(void)t;
	seen_end++;
	return out_printf(o, "end %s\n", m->code);
}

static int
cap_error(struct out *o, const char *msg)
{
	return out_printf(o, "error %s\n", msg);
}

static const struct renderer capture = { "capture", "test/capture", cap_begin, cap_hop, cap_end,
	NULL, cap_error };

static void
test_render_trace(void)
{
	static const char *const live[] = {
		"> TRACETROUT 1", "< " TRACE_LINE,
		"> STARTED id=" ID " stored=1 token=" TOKEN " started_ms=1764180000123 addr=prefix "
		    "retention_s=86400", HOP3, END3, NULL
	};
	static const char *const stored[] = {
		"> TRACETROUT 1", "< GET id=" ID, STORED_LINE, HOP1, "> HOP ttl=2 sent=3", HOP3, END3, NULL
	};
	struct reply_opts ro = { &capture, false, false, "/trace-me", RENDER_SERVER_OTHER, false };
	struct membuf mb;
	struct out o = mem_out(&mb);
	struct proto_trace_req conn;
	struct tt_addr net;
	pid_t pid;

	memset(&conn, 0, sizeof(conn));
	addr_parse("198.51.100.7", &conn.client);
	addr_parse("198.51.100.0", &net);
	addr_parse("192.0.2.10", &conn.server);
	conn.cport = 51234;
	conn.sport = 443;
	memset(&seen, 0, sizeof(seen));
	pid = broker_start(sockpath, live);
	live_serve(&o, &cfg, &ro, &conn);
	is_int(broker_stop(pid, sockpath, 2000), 0, "live: TRACE sent");
	ok(seen.live && strcmp(seen.id, ID) == 0 && strcmp(seen.token, TOKEN) == 0 &&
	    seen.started_ms == 1764180000123ULL && seen.addr_mode == PROTO_ADDR_PREFIX &&
	    seen.retention_s == 86400 && !seen.unstored && seen.prefix &&
	    strcmp(seen.prefix, "/trace-me") == 0 && seen.conn.cport == 51234 &&
	    addr_equal(&seen.conn.client, &net), "live: render_trace from STARTED, the visitor as "
	    "its network (addr=prefix)");

	memset(&seen, 0, sizeof(seen));
	seen_hops = seen_end = 0;
	o = mem_out(&mb);
	pid = broker_start(sockpath, stored);
	stored_serve(&o, &cfg, &ro, ID);
	is_int(broker_stop(pid, sockpath, 2000), 0, "stored: GET id= sent");
	ok(!seen.live && strcmp(seen.id, ID) == 0 && seen.token[0] == '\0' &&
	    seen.started_ms == 1764180000123ULL && seen.addr_mode == PROTO_ADDR_FULL &&
	    seen.retention_s == 2592000 && !seen.unstored && strcmp(seen.prefix, "/trace-me") == 0 &&
	    seen.conn.cport == 51234 && seen.conn.sport == 443 &&
	    addr_equal(&seen.conn.client, &conn.client) && addr_equal(&seen.conn.server, &conn.server),
	    "stored: render_trace from STORED, no token");
	ok(seen_hops == 3 && seen_end == 1 && strcmp(body_of(&mb), "begin\nhop 1\nhop 2\nhop 3\n"
	    "end destination\n") == 0, "stored: through the same stream as live traces");
	is_int(mb.flushes, 1, "stored: one flush, at the end");
}

static void
test_stored(void)
{
	static const char *const good[] = {
		"> TRACETROUT 1", "< GET id=" ID, STORED_LINE, HOP1, "> HOP ttl=2 sent=3", HOP3, END3, NULL
	};
	static const struct {
		const char *format, *ctype, *body;
	} formats[] = {
		{ "format=json", JSON, "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412,0.398]}\n"
		    "{\"ttl\":2,\"timeout\":true}\n{\"ttl\":3,\"ip\":\"198.51.100.7\",\"rtt\":[1.210]}\n" },
		{ "format=text", TEXT, "traceroute to 198.51.100.7" },
		{ "format=html", HTML, "198.51.100.7" },
		{ "format=atlas", JSON, "198.51.100.7" },
	};
	struct membuf mb;
	double ms;

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		is_int(serve_broker(&mb, good, NULL, "PATH_INFO", "/trace/" ID, "QUERY_STRING",
		    formats[i].format, NULL), 0, "%s: the broker got GET id=" ID, formats[i].format);
		ok(status_is(&mb, 200) && has_header(&mb, "X-Trace-Id: " ID) &&
		    has_header(&mb, "Link: </trace-me/trace/" ID ">; rel=\"bookmark\"") &&
		    !has_header(&mb, "Vary: Accept") &&
		    has_header(&mb, "Cache-Control: no-cache, no-store, must-revalidate") &&
		    strstr(mb.buf, "X-Trace-Delete-Token") == NULL,
		    "%s: 200, id, permalink, no token", formats[i].format);
		ok(strstr(mb.buf, formats[i].ctype) != NULL &&
		    strncmp(strstr(mb.buf, "Content-Type: ") + 14, formats[i].ctype,
		    strlen(formats[i].ctype)) == 0, "... Content-Type: %s", formats[i].ctype);
		ok(strstr(body_of(&mb), formats[i].body) != NULL, "... the renderer's body");
	}
	serve_broker(&mb, good, NULL, "PATH_INFO", "/trace/" ID, "HTTP_ACCEPT",
	    "text/html,*/*;q=0.8", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: " HTML) &&
	    has_header(&mb, "Vary: Accept"), "a browser: html, Vary: Accept");
	serve_broker(&mb, good, NULL, "PATH_INFO", "/trace/" ID, NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: " JSON) &&
	    strncmp(body_of(&mb), "{\"ttl\":1,", 9) == 0, "no Accept: JSON lines");
	serve_broker(&mb, good, NULL, "PATH_INFO", "/trace/" ID, "REQUEST_METHOD", "HEAD", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "X-Trace-Id: " ID) && *body_of(&mb) == '\0',
	    "HEAD: the broker is asked, the head only");
	serve_broker(&mb, good, NULL, "SCRIPT_NAME", "/trace-me/trace/" ID, "PATH_INFO", "", NULL);
	ok(status_is(&mb, 200), "a whole path /trace-me/trace/ID (nginx): served");

	{
		static const struct {
			const char *line;
			int status;
			const char *msg;
		} errs[] = {
			{ "> ERROR code=unknown-trace msg=no_such_trace", 404,
			    "no such trace (it may have been deleted or expired)" },
			{ "> ERROR code=no-storage msg=no_database", 404, "this server does not keep traces" },
			{ "> ERROR code=busy retry=1 msg=too_many_connections", 503, NULL },
			{ "> ERROR code=forbidden msg=x", 500, NULL },
			{ "> ERROR code=internal msg=x", 502, NULL },
			{ "> STORED id=" ID2 " stored=1 started_ms=1 addr=full retention_s=0 client=198.51.100.7 "
			    "cport=51234 server=192.0.2.10 sport=443", 502, NULL },
			{ "> STARTED id=" ID, 502, NULL },
			{ "> HOP ttl=1 sent=1", 502, NULL },
			{ "> GARBAGE", 502, NULL },
		};
		char want[256];

		for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
			const char *script[] = { "> TRACETROUT 1", "< GET id=" ID, errs[i].line, NULL };

			serve_broker(&mb, script, NULL, "PATH_INFO", "/trace/" ID, "QUERY_STRING",
			    "format=json", NULL);
			ok(status_is(&mb, errs[i].status), "%s: %d", errs[i].line + 2, errs[i].status);
			if (errs[i].msg) {
				snprintf(want, sizeof(want), "{\"error\":\"%s\"}\n", errs[i].msg);
				is_str(body_of(&mb), want, "... %s", errs[i].msg);
			}
		}
	}
	{
		static const char *const cut[] = {
			"> TRACETROUT 1", "< GET", STORED_LINE, HOP1, "raw HOP ttl=2", NULL
		};

		serve_broker(&mb, cut, NULL, "PATH_INFO", "/trace/" ID, "QUERY_STRING", "format=text",
		    NULL);
		ok(status_is(&mb, 200) && strstr(body_of(&mb), "error: the tracing helper failed\n"),
		    "the broker breaking off a stored trace: an error line");
	}
	{
		static const char *const gone[] = {
			"> TRACETROUT 1", "< GET id=" ID, "> ERROR code=unknown-trace msg=x", NULL
		};

		serve_broker(&mb, gone, NULL, "PATH_INFO", "/trace/" ID, "REQUEST_METHOD", "HEAD", NULL);
		ok(status_is(&mb, 404) && *body_of(&mb) == '\0', "HEAD of a deleted trace: 404, no body");
	}
	unlink(sockpath);
	serve(&mb, "PATH_INFO", "/trace/" ID, NULL);
	ok(status_is(&mb, 503) && strstr(mb.buf, "not running") != NULL, "helper down: 503");
	{
		static const char *const hang[] = { "> TRACETROUT 1", "< GET", "hang", NULL };

		cfg.start_ms = 300;
		serve_broker(&mb, hang, &ms, "PATH_INFO", "/trace/" ID, NULL);
		ok(status_is(&mb, 503) && strstr(mb.buf, "not answering") != NULL && ms < 1000,
		    "a broker that does not answer GET: 503 (%.0f ms)", ms);
		cfg.start_ms = BROKER_START_MS;
	}
}

/*
 * Hop enrichment through the whole app: the TRACE line says names=0 and
 * wait=1 as the visitor and the format want; INFO bodies are read between
 * the lines and shown in each format.
 */
static void
test_enrichment(void)
{
	static const struct {
		const char *query, *line;
	} asks[] = {
		{ "format=json", "<= " TRACE_LINE },
		{ "format=atlas", "<= " TRACE_LINE },
		{ "format=text", "<= " TRACE_LINE " wait=1" },
		{ "format=html", "<= " TRACE_LINE " wait=1" },
		{ "format=json&names=0", "<= " TRACE_LINE " names=0" },
		{ "format=text&names=0&store=0", "<= " TRACE_LINE " store=0 names=0 wait=1" },
	};
	/* One INFO cached before its hop, one fetched after it, its body split over writes. */
	static const char *const live[] = {
		"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID,
		"raw INFO addr=192.0.2.1 len=17 city=Espoo\n{\"city\": \"Espoo\"}\n",
		"> NAME addr=192.0.2.1 name=r1.example.net", HOP1, "> HOP ttl=2 sent=3", HOP3,
		"raw INFO addr=198.51.100.7 len=16 country=FI\n{\"coun", "sleep 30",
		"raw try\":\"FI\"}\n", "> NAME addr=198.51.100.7 name=v.example.net",
		"> END reason=destination hops=3 duration_us=5120", NULL
	};
	static const char *const stored[] = {
		"> TRACETROUT 1", "< GET id=" ID, STORED_LINE,
		"raw INFO addr=198.51.100.7 len=16 country=FI\n{\"country\":\"FI\"}\n",
		"> NAME addr=198.51.100.7 name=v.example.net",
		HOP1, "> HOP ttl=2 sent=3", HOP3, END3, NULL
	};
	static const char *const broken[] = {
		"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID, HOP1,
		"raw INFO addr=192.0.2.1 len=2\n{}X\n", "hang", NULL
	};
	static const char *const stalled[] = {
		"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID, HOP1,
		"raw INFO addr=192.0.2.1 len=5\n{}\n", "hang", NULL
	};
	double ms;
	struct membuf mb;

	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		const char *script[] = { "> TRACETROUT 1", asks[i].line, "> STARTED id=" ID,
		    "> END reason=destination hops=0 duration_us=10", NULL };

		is_int(serve_broker(&mb, script, NULL, "QUERY_STRING", asks[i].query, NULL), 0,
		    "?%s: the broker got %s", asks[i].query, asks[i].line + 3);
	}

	is_int(serve_broker(&mb, live, NULL, "QUERY_STRING", "format=json", NULL), 0,
	    "json: the broker played it all");
	is_str(body_of(&mb), " {\"ttl\":1,\"ip\":\"192.0.2.1\",\"host\":\"r1.example.net\","
	    "\"rtt\":[0.412,0.398],\"info\":{\"city\":\"Espoo\"}}\n"
	    "{\"ttl\":2,\"timeout\":true}\n{\"ttl\":3,\"ip\":\"198.51.100.7\",\"rtt\":[1.210]}\n",
	    "json: info and host where they came before the hop, one line each; nothing after");
	serve_broker(&mb, live, NULL, "QUERY_STRING", "format=text", NULL);
	ok(strstr(body_of(&mb), "\n 1  r1.example.net (192.0.2.1)  0.412 ms") != NULL &&
	    strstr(body_of(&mb), "\n 3  198.51.100.7  1.210 ms") != NULL &&
	    strstr(body_of(&mb), "  1  192.0.2.1     r1.example.net, Espoo\n"
	    "  3  198.51.100.7  v.example.net, FI\n") != NULL,
	    "text: the name at the hop when known, all of it at the end");
	serve_broker(&mb, live, NULL, "QUERY_STRING", "format=html", NULL);
	ok(strstr(body_of(&mb), "<span class=\"ip\">192.0.2.1</span> <span class=\"host\">"
	    "r1.example.net</span><small class=\"place\">Espoo</small>") != NULL &&
	    strstr(body_of(&mb), "<tr><th scope=\"row\" class=\"ip\">198.51.100.7</th>"
	    "<td class=\"host\">v.example.net</td><td class=\"country\">FI</td>") != NULL,
	    "html: the row where known at it, the table at the end");
	serve_broker(&mb, live, NULL, "QUERY_STRING", "format=atlas", NULL);
	ok(status_is(&mb, 200) && strstr(body_of(&mb), "example") == NULL &&
	    strstr(body_of(&mb), "\"endtime\"") != NULL, "atlas: the same trace, nothing added");

	is_int(serve_broker(&mb, stored, NULL, "PATH_INFO", "/trace/" ID, "QUERY_STRING",
	    "format=json", NULL), 0, "a stored trace with INFO after STORED");
	ok(strstr(body_of(&mb), "{\"ttl\":3,\"ip\":\"198.51.100.7\",\"host\":\"v.example.net\","
	    "\"rtt\":[1.210],\"info\":{\"country\":\"FI\"}}\n") != NULL,
	    "... json shows it at the hop");

	serve_broker(&mb, broken, NULL, "QUERY_STRING", "format=text", NULL);
	ok(status_is(&mb, 200) && strstr(body_of(&mb), " 1  192.0.2.1  0.412 ms") &&
	    strstr(body_of(&mb), "\nerror: the tracing helper failed\n"),
	    "a body without its newline: the trace fails after the hops so far");
	cfg.run_ms = 300;
	serve_broker(&mb, stalled, &ms, "QUERY_STRING", "format=text", NULL);
	cfg.run_ms = BROKER_RUN_MS;
	ok(status_is(&mb, 200) && strstr(body_of(&mb), "\nerror: the tracing helper stopped "
	    "answering\n") && ms < 1000, "a body that stops coming: the trace's deadline holds "
	    "(%.0f ms)", ms);
}

/* ITEM lines for the history tests: id i, newest first. */
static void
item_line(char *buf, size_t len, int i)
{
	snprintf(buf, len, "> ITEM id=%08x5e1d2b4c6a8e7f90a1b2c3d4 started_ms=%llu reason=destination "
	    "hops=3 duration_us=5120 path=192.0.2.1,*,198.51.100.7", i,
	    1764180000123ULL - (unsigned long long)i * 60000);
}

static void
test_history(void)
{
	static const char *const three[] = {
		"> TRACETROUT 1", "< HISTORY client=198.51.100.7 limit=21",
		"> ITEM id=" ID " started_ms=1764180000123 reason=destination hops=3 duration_us=5120 "
		    "path=192.0.2.1,*,198.51.100.7",
		"> ITEM id=" ID2 " started_ms=1764170000123 reason=max-hops hops=2 duration_us=9000 "
		    "path=192.0.2.1+192.0.2.2,*",
		"> ITEM id=2f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 started_ms=1764160000123 reason=closed hops=0 "
		    "duration_us=10 path=-",
		"> LIST more=0", NULL
	};
	static const char *const page2[] = {
		"> TRACETROUT 1", "< HISTORY client=198.51.100.7 before=" ID " limit=21",
		"> ITEM id=" ID2 " started_ms=1764170000123 reason=max-hops hops=2 duration_us=9000 "
		    "path=192.0.2.1,*",
		"> LIST more=1", NULL
	};
	static const char *const none[] = {
		"> TRACETROUT 1", "< HISTORY client=2001:db8:1::7 limit=21", "> LIST more=0", NULL
	};
	static const struct {
		const char *format, *ctype;
	} formats[] = {
		{ "format=json", NULL }, { "format=text", NULL }, { "format=html", NULL },
	};
	const struct renderer *rs[] = { &render_json, &render_text, &render_html };
	static char lines[23][160];
	const char *full[30];
	struct membuf mb;
	int k = 0;

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char ct[80];

		is_int(serve_broker(&mb, three, NULL, "PATH_INFO", "/history", "QUERY_STRING",
		    formats[i].format, NULL), 0, "%s: HISTORY client=REMOTE_ADDR limit=21",
		    formats[i].format);
		snprintf(ct, sizeof(ct), "Content-Type: %s", history_content_type(rs[i]));
		ok(status_is(&mb, 200) && has_header(&mb, ct) && !has_header(&mb, "Vary: Accept") &&
		    has_header(&mb, "Cache-Control: no-cache, no-store, must-revalidate"),
		    "%s: 200, %s", formats[i].format, ct);
		ok(strstr(body_of(&mb), ID) != NULL && strstr(body_of(&mb), ID2) != NULL &&
		    strstr(body_of(&mb), "before=") == NULL, "... the items, no link to older ones");
	}
	serve_broker(&mb, three, NULL, "PATH_INFO", "/history", "HTTP_ACCEPT", "text/html", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Vary: Accept") &&
	    strstr(mb.buf, "Content-Type: text/html") != NULL, "a browser: html, Vary");
	serve_broker(&mb, three, NULL, "PATH_INFO", "/history", "REQUEST_METHOD", "HEAD", NULL);
	ok(status_is(&mb, 200) && *body_of(&mb) == '\0', "HEAD: the head only");
	is_int(serve_broker(&mb, page2, NULL, "PATH_INFO", "/history", "QUERY_STRING",
	    "before=" ID "&format=json", NULL), 0, "?before=ID: HISTORY ... before=ID");
	ok(status_is(&mb, 200) && strstr(body_of(&mb), "before=" ID2) != NULL,
	    "LIST more=1: a link to the next page, before the last item");
	is_int(serve_broker(&mb, none, NULL, "PATH_INFO", "/history", "REMOTE_ADDR", "2001:db8:1::7",
	    "QUERY_STRING", "format=json", NULL), 0, "IPv6 visitor");
	ok(status_is(&mb, 200), "no traces: 200");

	/* 21 items: 20 shown, the 21st only for the last row's change, and a next link. */
	full[k++] = "> TRACETROUT 1";
	full[k++] = "< HISTORY client=198.51.100.7 limit=21";
	for (int i = 1; i <= 21; i++) {
		item_line(lines[i], sizeof(lines[i]), i);
		full[k++] = lines[i];
	}
	full[k++] = "> LIST more=0";
	full[k] = NULL;
	serve_broker(&mb, full, NULL, "PATH_INFO", "/history", "QUERY_STRING", "format=json", NULL);
	ok(status_is(&mb, 200) && strstr(body_of(&mb), "before=000000145e1d2b4c6a8e7f90a1b2c3d4") != NULL,
	    "21 items: the next page starts before the 20th");
	ok(strstr(body_of(&mb), "000000015e1d2b4c6a8e7f90a1b2c3d4") != NULL, "... the 1st is shown");

	{
		static const struct {
			const char *line;
			int status;
			const char *msg;
		} errs[] = {
			{ "> ERROR code=history-off msg=addresses_are_truncated", 404, "truncated" },
			{ "> ERROR code=no-storage msg=no_database", 404, "does not keep traces" },
			{ "> ERROR code=internal msg=x", 502, NULL },
			{ "> STORED id=" ID " stored=1 started_ms=1 addr=full retention_s=0 "
			    "client=198.51.100.7 cport=1 server=192.0.2.10 sport=443", 502, NULL },
		};

		for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
			const char *script[] = { "> TRACETROUT 1", "< HISTORY", errs[i].line, NULL };

			serve_broker(&mb, script, NULL, "PATH_INFO", "/history", "HTTP_ACCEPT",
			    "text/html", NULL);
			ok(status_is(&mb, errs[i].status) && has_header(&mb, "Content-Type: " HTML) &&
			    (errs[i].msg == NULL || strstr(body_of(&mb), errs[i].msg) != NULL),
			    "%s: %d in html", errs[i].line + 2, errs[i].status);
		}
	}
	{
		static const char *const mid[] = {
			"> TRACETROUT 1", "< HISTORY",
			"> ITEM id=" ID " started_ms=1 reason=destination hops=1 duration_us=1 path=192.0.2.1",
			"> ERROR code=internal msg=x", NULL
		};
		static const char *const cut[] = {
			"> TRACETROUT 1", "< HISTORY",
			"> ITEM id=" ID " started_ms=1 reason=destination hops=1 duration_us=1 path=192.0.2.1",
			NULL
		};

		serve_broker(&mb, mid, NULL, "PATH_INFO", "/history", NULL);
		ok(status_is(&mb, 502), "an ERROR after ITEMs: 502, nothing half-written");
		serve_broker(&mb, cut, NULL, "PATH_INFO", "/history", NULL);
		ok(status_is(&mb, 502), "closed before LIST: 502");
	}
	unlink(sockpath);
	serve(&mb, "PATH_INFO", "/history", NULL);
	ok(status_is(&mb, 503), "helper down: 503");
}

static void
test_delete(void)
{
	static const char *const good[] = {
		"> TRACETROUT 1", "< DELETE id=" ID " token=" TOKEN, "> DELETED id=" ID, NULL
	};
	static const char *const form = "application/x-www-form-urlencoded";
	struct membuf mb;

	is_int(serve_broker(&mb, good, NULL, "REQUEST_METHOD", "DELETE", "PATH_INFO", "/trace/" ID,
	    "HTTP_X_DELETE_TOKEN", TOKEN, "QUERY_STRING", "format=json", NULL), 0,
	    "DELETE with X-Delete-Token: DELETE id= token=");
	is_str(mb.buf, "Status: 200 OK\r\nContent-Type: application/json\r\n" HEAD_COMMON "\r\n"
	    "{\"deleted\":\"" ID "\"}\n", "200 {\"deleted\":ID}");
	is_int(serve_broker(&mb, good, NULL, "REQUEST_METHOD", "DELETE", "PATH_INFO", "/trace/" ID,
	    "QUERY_STRING", "format=text&token=" TOKEN, NULL), 0, "DELETE with ?token=");
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: " TEXT) &&
	    strcmp(body_of(&mb), "deleted: trace " ID "\n") == 0, "... in text");
	is_int(serve_broker(&mb, good, NULL, "REQUEST_METHOD", "POST",
	    "PATH_INFO", "/trace/" ID "/delete", "CONTENT_TYPE", form, "CONTENT_LENGTH", "38",
	    "BODY", "token=" TOKEN, "HTTP_ACCEPT", "text/html,*/*;q=0.8", NULL), 0,
	    "POST the form: DELETE id= token=");
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: " HTML) &&
	    has_header(&mb, "Vary: Accept") && strstr(body_of(&mb), "deleted") != NULL &&
	    strstr(body_of(&mb), "href=\"/trace-me/\"") != NULL, "... an html page with a link back");
	serve_broker(&mb, good, NULL, "REQUEST_METHOD", "DELETE", "PATH_INFO", "/trace/" ID,
	    "HTTP_X_DELETE_TOKEN", TOKEN, "QUERY_STRING", "format=atlas", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Content-Type: " JSON) &&
	    strcmp(body_of(&mb), "{\"deleted\":\"" ID "\"}\n") == 0, "atlas asked: the JSON answer");
	{
		static const char *const prefixed[] = {
			"> TRACETROUT 1", "< DELETE", "> DELETED id=" ID, NULL
		};

		serve_broker(&mb, prefixed, NULL, "REQUEST_METHOD", "POST",
		    "SCRIPT_NAME", "/a'b&c\"<", "PATH_INFO", "/trace/" ID "/delete",
		    "CONTENT_TYPE", form, "BODY", "token=" TOKEN, "QUERY_STRING", "format=html", NULL);
		ok(strstr(body_of(&mb), "/a&#39;b&amp;c%22%3C/") != NULL &&
		    strstr(body_of(&mb), "a'b") == NULL, "the link back is escaped");
	}
	{
		static const struct {
			const char *line;
			int status;
		} errs[] = {
			{ "> ERROR code=bad-token msg=wrong_token", 403 },
			{ "> ERROR code=unknown-trace msg=no_such_trace", 404 },
			{ "> ERROR code=no-storage msg=x", 404 },
			{ "> DELETED id=" ID2, 502 },
			{ "> STORED id=" ID " stored=1 started_ms=1 addr=full retention_s=0 "
			    "client=198.51.100.7 cport=1 server=192.0.2.10 sport=443", 502 },
		};

		for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
			const char *script[] = { "> TRACETROUT 1", "< DELETE id=" ID " token=" TOKEN,
			    errs[i].line, NULL };

			serve_broker(&mb, script, NULL, "REQUEST_METHOD", "DELETE",
			    "PATH_INFO", "/trace/" ID, "HTTP_X_DELETE_TOKEN", TOKEN, NULL);
			ok(status_is(&mb, errs[i].status), "%s: %d", errs[i].line + 2, errs[i].status);
		}
	}
	serve_broker(&mb, (const char *const[]){ "> TRACETROUT 1", "< DELETE",
	    "> ERROR code=bad-token msg=x", NULL }, NULL, "REQUEST_METHOD", "POST",
	    "PATH_INFO", "/trace/" ID "/delete", "CONTENT_TYPE", form, "BODY", "token=" TOKEN,
	    "HTTP_ACCEPT", "text/html", NULL);
	ok(status_is(&mb, 403) && has_header(&mb, "Content-Type: " HTML) &&
	    strstr(body_of(&mb), "wrong delete token") != NULL, "the form with a wrong token: 403 page");
	unlink(sockpath);
	serve(&mb, "REQUEST_METHOD", "DELETE", "PATH_INFO", "/trace/" ID, "HTTP_X_DELETE_TOKEN",
	    TOKEN, NULL);
	ok(status_is(&mb, 503), "helper down: 503");
}

/*
 * CORS (issue 13): only the live trace in JSON lines is readable from other
 * pages, as the original's; its delete token is not. History, stored traces,
 * deletes, the other formats and the assets carry no CORS header at all.
 */
static void
test_cors(void)
{
	static const char *const live[] = {
		"> TRACETROUT 1", "< " TRACE_LINE,
		"> STARTED id=" ID " stored=1 token=" TOKEN " started_ms=1764180000123 "
		    "addr=full retention_s=2592000",
		"> END reason=max-hops hops=0 duration_us=900 stored=1", NULL
	};
	static const char *const busy[] = {
		"> TRACETROUT 1", "< " TRACE_LINE, "> ERROR code=busy retry=3 msg=busy", NULL
	};
	static const char *const stored[] = {
		"> TRACETROUT 1", "< GET id=" ID, STORED_LINE, HOP1, END3, NULL
	};
	static const char *const history[] = {
		"> TRACETROUT 1", "< HISTORY client=198.51.100.7 limit=21",
		"> ITEM id=" ID " started_ms=1764180000123 reason=destination hops=1 duration_us=5120 "
		    "path=192.0.2.1", "> LIST more=0", NULL
	};
	static const char *const del[] = {
		"> TRACETROUT 1", "< DELETE id=" ID " token=" TOKEN, "> DELETED id=" ID, NULL
	};
	static const char *const formats[] = { "format=text", "format=html", "format=atlas" };
	struct membuf mb;

	serve_broker(&mb, live, NULL, "QUERY_STRING", "format=json", NULL);
	ok(status_is(&mb, 200) && has_header(&mb, "Access-Control-Allow-Origin: *") &&
	    has_header(&mb, "Access-Control-Expose-Headers: X-Trace-Id, Link") &&
	    has_header(&mb, "X-Trace-Delete-Token: " TOKEN),
	    "live JSON: readable from any page, the token header there but not exposed");
	serve_broker(&mb, live, NULL, NULL);
	ok(has_header(&mb, "Access-Control-Allow-Origin: *"), "live JSON by Accept: CORS too");
	serve_broker(&mb, busy, NULL, "QUERY_STRING", "format=json", NULL);
	ok(status_is(&mb, 503) && has_header(&mb, "Access-Control-Allow-Origin: *"),
	    "live JSON refused: the error is readable too");
	serve(&mb, "REQUEST_METHOD", "HEAD", NULL);
	ok(has_header(&mb, "Access-Control-Allow-Origin: *"), "HEAD / in JSON: as GET's head");
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		serve_broker(&mb, live, NULL, "QUERY_STRING", formats[i], NULL);
		ok(status_is(&mb, 200) && strstr(mb.buf, "Access-Control") == NULL,
		    "live %s: no CORS header", formats[i]);
	}
	serve_broker(&mb, stored, NULL, "PATH_INFO", "/trace/" ID, "QUERY_STRING", "format=json",
	    NULL);
	ok(status_is(&mb, 200) && strstr(mb.buf, "Access-Control") == NULL,
	    "a stored trace in JSON: no CORS header");
	serve_broker(&mb, history, NULL, "PATH_INFO", "/history", "QUERY_STRING", "format=json",
	    NULL);
	ok(status_is(&mb, 200) && strstr(mb.buf, "Access-Control") == NULL,
	    "history in JSON: no CORS header");
	serve_broker(&mb, del, NULL, "REQUEST_METHOD", "DELETE", "PATH_INFO", "/trace/" ID,
	    "HTTP_X_DELETE_TOKEN", TOKEN, "QUERY_STRING", "format=json", NULL);
	ok(status_is(&mb, 200) && strstr(mb.buf, "Access-Control") == NULL,
	    "a delete: no CORS header");
	serve(&mb, "PATH_INFO", "/tracetrout.js", NULL);
	ok(status_is(&mb, 200) && strstr(mb.buf, "Access-Control") == NULL, "an asset: none");
	serve(&mb, "PATH_INFO", "/nope", "QUERY_STRING", "format=json", NULL);
	ok(status_is(&mb, 404) && strstr(mb.buf, "Access-Control") == NULL, "a 404: none");
}

int
main(void)
{
	log_init("fcgi_route_test", 1, 0);
	snprintf(sockpath, sizeof(sockpath), "/tmp/tt-fcgi-route-%ld.sock", (long)getpid());
	cfg.socket_path = sockpath;
	cfg.connect_ms = BROKER_CONNECT_MS;
	cfg.start_ms = BROKER_START_MS;
	cfg.run_ms = BROKER_RUN_MS;
	test_paths();
	test_methods();
	test_formats();
	test_params();
	test_form();
	test_hostile();
	test_responses();
	test_assets();
	test_refusals();
	test_slots();
	test_broken_broker();
	test_trace();
	test_render_trace();
	test_proxy();
	test_stored();
	test_enrichment();
	test_history();
	test_delete();
	test_cors();
	return tap_done();
}
