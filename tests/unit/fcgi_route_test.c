/* Routing and whole responses: every status, from request structs and a scripted broker. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fcgi_test.h"
#include "log.h"
#include "request.h"
#include "route.h"
#include "tap.h"
#include "trace.h"

#define ID	"0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5"
#define TRACE_LINE "TRACE client=198.51.100.7 cport=51234 server=192.0.2.10 sport=443"

static char sockpath[108];
static struct trace_cfg cfg;

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

static void
decide(struct route *rt, const char *name, const char *value)
{
	struct request req;

	base(&req);
	if (name)
		request_param(&req, name, value);
	route_decide(&req, rt);
}

/* The response to a request with name=value set on top of base(). */
static const char *
serve(struct membuf *mb, const char *name, const char *value)
{
	struct out o = mem_out(mb);
	struct request req;

	base(&req);
	if (name)
		request_param(&req, name, value);
	route_serve(&req, &o, &cfg);
	return mb->buf;
}

#define HEAD_COMMON \
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
		{ "/trace-me/trace/" ID, "", "", "", ROUTE_ERROR, NULL, "permalinks are not served yet: 404" },
		{ "/trace-me", "", "", "", ROUTE_ERROR, NULL, "no trailing slash, no PATH_INFO: 404" },
		{ "/a b\"<x>\r\n", "/", "", "", ROUTE_TRACE, "/a%20b%22%3Cx%3E%0D%0A",
		    "the prefix is escaped for the Link header" },
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
			is_int(rt.status, 404, "%s: status", cases[i].what);
	}
	base(&req);
	request_param(&req, "SCRIPT_NAME", NULL);
	request_param(&req, "PATH_INFO", NULL);
	route_decide(&req, &rt);
	ok(rt.action == ROUTE_ERROR && rt.status == 400 && rt.warn,
	    "no path at all: 400, and a warning for the operator");
}

static void
test_formats(void)
{
	static const struct {
		const char *name, *value;
		const struct renderer *r;
	} cases[] = {
		{ NULL, NULL, &render_json },
		{ "QUERY_STRING", "format=text", &render_text },
		{ "QUERY_STRING", "_=123&format=TEXT", &render_text },
		{ "QUERY_STRING", "format=json", &render_json },
		{ "QUERY_STRING", "format=", &render_json },
		{ "HTTP_ACCEPT", "text/plain", &render_text },
		{ "HTTP_ACCEPT", "text/*", &render_text },
		{ "HTTP_ACCEPT", "*/*", &render_json },
		{ "HTTP_ACCEPT", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", &render_json },
		{ "HTTP_ACCEPT", "text/plain;q=0.5, application/json", &render_json },
		{ "HTTP_ACCEPT", "application/json;q=0.5, text/plain", &render_text },
		{ "HTTP_ACCEPT", "application/json; q=0.5 ,TEXT/PLAIN ; q=0.9", &render_text },
		{ "HTTP_ACCEPT", "text/plain;q=0", &render_json },
		{ "HTTP_ACCEPT", "text/plain;q=bogus, application/json;q=0.1", &render_json },
		{ "HTTP_ACCEPT", "text/plain;q=0.8, */*;q=0.9", &render_json },
		{ "HTTP_ACCEPT", "text/plain;q=0.9, */*;q=0.8", &render_text },
		{ "HTTP_ACCEPT", ";;,,, ;q=, /", &render_json },
	};
	struct request req;
	struct route rt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(&rt, cases[i].name, cases[i].value);
		ok(rt.action == ROUTE_TRACE && rt.r == cases[i].r, "%s: %s -> %s",
		    cases[i].name ? cases[i].name : "nothing", cases[i].value ? cases[i].value : "",
		    cases[i].r == &render_text ? "text" : "json");
	}
	base(&req);
	request_param(&req, "HTTP_ACCEPT", "text/plain");
	request_param(&req, "QUERY_STRING", "format=json");
	route_decide(&req, &rt);
	ok(rt.r == &render_json, "?format= wins over Accept");
	decide(&rt, "QUERY_STRING", "format=xml");
	ok(rt.action == ROUTE_ERROR && rt.status == 400, "unknown format: 400");
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
	};
	char big[8192];
	struct route rt;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decide(&rt, cases[i].name, cases[i].value);
		ok(rt.action == ROUTE_ERROR && rt.status == cases[i].status, "%s=%s: %d",
		    cases[i].name, cases[i].value ? cases[i].value : "(missing)", cases[i].status);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	decide(&rt, "QUERY_STRING", big);
	ok(rt.action == ROUTE_ERROR && rt.status == 400, "a huge QUERY_STRING: 400");
	decide(&rt, "PATH_INFO", big);
	ok(rt.action == ROUTE_ERROR && rt.status == 400, "a huge PATH_INFO: 400");
	decide(&rt, "REMOTE_ADDR", "::ffff:198.51.100.7");
	ok(rt.action == ROUTE_TRACE && rt.conn.client.family == AF_INET,
	    "IPv4-mapped REMOTE_ADDR becomes IPv4");
	decide(&rt, "SERVER_ADDR", "[192.0.2.10]");
	ok(rt.action == ROUTE_TRACE && rt.conn.server.family == AF_INET,
	    "a bracketed SERVER_ADDR (lighttpd bound to one address) is read");
	decide(&rt, "REQUEST_METHOD", "HEAD");
	is_int(rt.action, ROUTE_HEAD, "HEAD: the head, no trace");
}

/* Whole responses that need no broker. */
static void
test_responses(void)
{
	struct membuf mb;

	is_str(serve(&mb, "PATH_INFO", "/nope"),
	    "Status: 404 Not Found\r\nContent-Type: application/json\r\n" HEAD_COMMON "\r\n"
	    "{\"error\":\"not found\"}\n", "404 in JSON");
	is_str(serve(&mb, "REQUEST_METHOD", "DELETE"),
	    "Status: 405 Method Not Allowed\r\nContent-Type: application/json\r\n" HEAD_COMMON
	    "Allow: GET, HEAD\r\n\r\n{\"error\":\"method not allowed: use GET\"}\n",
	    "405 with Allow");
	is_str(serve(&mb, "QUERY_STRING", "format=html"),
	    "Status: 400 Bad Request\r\nContent-Type: application/json\r\n" HEAD_COMMON "\r\n"
	    "{\"error\":\"unknown format: use format=json or format=text\"}\n", "400 in JSON");
	is_str(serve(&mb, "REMOTE_PORT", "x"),
	    "Status: 400 Bad Request\r\nContent-Type: application/json\r\n" HEAD_COMMON "\r\n"
	    "{\"error\":\"the web server did not describe this connection\"}\n",
	    "400 for a bad REMOTE_PORT");
	is_str(serve(&mb, "REQUEST_METHOD", "HEAD"),
	    "Status: 200 OK\r\nContent-Type: application/json\r\n" HEAD_COMMON "\r\n",
	    "HEAD: 200, the headers, no body");
	is_int(mb.flushes, 1, "HEAD: flushed");
	{
		struct out o = mem_out(&mb);
		struct request req;

		base(&req);
		request_param(&req, "REQUEST_METHOD", "HEAD");
		request_param(&req, "PATH_INFO", "/nope");
		request_param(&req, "HTTP_ACCEPT", "text/plain");
		route_serve(&req, &o, &cfg);
		is_str(mb.buf, "Status: 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    HEAD_COMMON "\r\n", "HEAD of an error: no body");
	}
}

/* Serves base() (plus name=value) against a broker playing script; returns the broker's exit code. */
static int
serve_broker(struct membuf *mb, const char *const *script, const char *name, const char *value,
    double *ms)
{
	struct timespec t0;
	pid_t pid = broker_start(sockpath, script);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	serve(mb, name, value);
	if (ms)
		*ms = elapsed_ms(&t0);
	return broker_stop(pid, sockpath, 2000);
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
		{ "engine-down", "503 Service Unavailable", "" },
		{ "forbidden", "500 Internal Server Error", "" },
		{ "internal", "502 Bad Gateway", "" },
		{ "some-later-code", "502 Bad Gateway", "" },
	};
	char want[512], line[128];
	struct trace_refusal f;
	struct membuf mb;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE, line, NULL };

		snprintf(line, sizeof(line), "> ERROR code=%s msg=the_full_reason", cases[i].code);
		is_int(serve_broker(&mb, script, NULL, NULL, NULL), 0, "%s: the broker got TRACE",
		    cases[i].code);
		trace_refusal_for_code(cases[i].code, 0, &f);
		snprintf(want, sizeof(want), "Status: %s\r\nContent-Type: application/json\r\n"
		    HEAD_COMMON "%s\r\n{\"error\":\"%s\"}\n", cases[i].status, cases[i].extra, f.msg);
		is_str(mb.buf, want, "ERROR code=%s: %s", cases[i].code, cases[i].status);
	}
	{
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE,
		    "> ERROR code=busy msg=too_many", NULL };

		serve_broker(&mb, script, "QUERY_STRING", "format=text", NULL);
		is_str(mb.buf, "Status: 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    HEAD_COMMON "Retry-After: 5\r\n\r\n"
		    "error: too many traces are running; try again in a few seconds\n",
		    "an error before the head, in text");
	}
	{
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE,
		    "> ERROR code=busy retry=7 msg=too_many_traces_started_for_this_address", NULL };

		serve_broker(&mb, script, NULL, NULL, NULL);
		trace_refusal_for_code("busy", 7, &f);
		snprintf(want, sizeof(want), "Status: 503 Service Unavailable\r\n"
		    "Content-Type: application/json\r\n" HEAD_COMMON "Retry-After: 7\r\n\r\n"
		    "{\"error\":\"%s\"}\n", f.msg);
		is_str(mb.buf, want, "busy with retry=7: 503 with Retry-After: 7");
	}
	{
		const char *script[] = { "> TRACETROUT 1", "< " TRACE_LINE,
		    "> ERROR code=not-found retry=2 msg=x", NULL };

		serve_broker(&mb, script, NULL, NULL, NULL);
		ok(strncmp(mb.buf, "Status: 422", 11) == 0 && strstr(mb.buf, "Retry-After: 2\r\n"),
		    "retry= on another code becomes Retry-After too");
	}
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
	struct membuf mb;
	double ms;
	const char *s503 = "Status: 503 Service Unavailable\r\n";
	const char *s502 = "Status: 502 Bad Gateway\r\n";
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	unlink(sockpath);
	serve(&mb, NULL, NULL);
	ms = elapsed_ms(&t0);
	ok(strncmp(mb.buf, s503, strlen(s503)) == 0 && strstr(mb.buf, "not running"),
	    "no socket (helper stopped): 503, not running");
	ok(ms < 1000, "... within 1 s (%.0f ms)", ms);

	serve_broker(&mb, noaccept, NULL, NULL, &ms);
	ok(strncmp(mb.buf, s503, strlen(s503)) == 0 && strstr(mb.buf, "not answering"),
	    "a broker that never accepts: 503, not answering");
	ok(ms < 1000, "... within 1 s (%.0f ms)", ms);
	serve_broker(&mb, nogreeting, NULL, NULL, &ms);
	ok(strncmp(mb.buf, s503, strlen(s503)) == 0, "a broker that never greets: 503");
	ok(ms < 1000, "... within 1 s (%.0f ms)", ms);

	serve_broker(&mb, garbage, NULL, NULL, NULL);
	ok(strncmp(mb.buf, s502, strlen(s502)) == 0, "garbage instead of STARTED: 502");
	serve_broker(&mb, version, NULL, NULL, NULL);
	ok(strncmp(mb.buf, s502, strlen(s502)) == 0, "an unknown protocol version: 502");
	serve_broker(&mb, closes, NULL, NULL, NULL);
	ok(strncmp(mb.buf, s502, strlen(s502)) == 0, "closed before STARTED: 502");

	cfg.start_ms = 300;
	serve_broker(&mb, silent, NULL, NULL, &ms);
	ok(strncmp(mb.buf, s503, strlen(s503)) == 0 && strstr(mb.buf, "not answering"),
	    "no answer to TRACE: 503, not answering");
	ok(ms < 1000, "... after the start timeout (%.0f ms)", ms);
	cfg.start_ms = TRACE_START_MS;
}

static void
test_trace(void)
{
	static const char *const good[] = {
		"> TRACETROUT 1", "< " TRACE_LINE, "> STARTED id=" ID,
		"> HOP ttl=2 sent=3",
		"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64 reply=192.0.2.1,398,time-exceeded,0,64",
		"> HOP ttl=3 sent=3 reply=198.51.100.7,1210,destination,0,62",
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
	    "Status: 200 OK\r\nContent-Type: application/json\r\n" HEAD_COMMON
	    "X-Trace-Id: " ID "\r\n"
	    "Link: </trace-me/trace/" ID ">; rel=\"bookmark\"\r\n"
	    "Access-Control-Expose-Headers: X-Trace-Id, Link\r\n\r\n";
	char want[2048];
	struct membuf mb;
	double ms;

	is_int(serve_broker(&mb, good, NULL, NULL, NULL), 0, "the broker got the visitor's TRACE");
	snprintf(want, sizeof(want), "%s"
	    "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412,0.398]}\n"
	    "{\"ttl\":2,\"timeout\":true}\n"
	    "{\"ttl\":3,\"ip\":\"198.51.100.7\",\"rtt\":[1.210]}\n", head200);
	is_str(mb.buf, want, "a whole trace: head, then the hops in order");
	ok(mb.flushes >= 4, "flushed after the head and as hops settle (%d)", mb.flushes);

	is_int(serve_broker(&mb, good, "REMOTE_ADDR", "::ffff:198.51.100.7", NULL), 0,
	    "an IPv4-mapped REMOTE_ADDR is sent as IPv4");

	serve_broker(&mb, good, "QUERY_STRING", "format=text", NULL);
	is_str(strstr(mb.buf, "\r\n\r\n") + 4,
	    "traceroute to 198.51.100.7 (198.51.100.7) port 51234, from 192.0.2.10 port 443, trace " ID "\n"
	    " 1  192.0.2.1  0.412 ms  0.398 ms *\n"
	    " 2  * * *\n"
	    " 3  198.51.100.7  1.210 ms * *\n"
	    "end: reached the visitor; 3 hops in 5.120 ms\n", "the same trace in text");
	ok(strstr(mb.buf, "Content-Type: text/plain; charset=utf-8\r\n") != NULL, "text's type");

	{
		static const char *const unstored[] = {
			"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID " stored=0",
			"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64",
			"> END reason=max-hops hops=1 duration_us=900 stored=0", NULL
		};
		static const char *const failed[] = {
			"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID " stored=1",
			"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64",
			"> END reason=max-hops hops=1 duration_us=900 stored=0", NULL
		};
		static const char *const stored[] = {
			"> TRACETROUT 1", "< TRACE", "> STARTED id=" ID " stored=1",
			"> HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64",
			"> END reason=max-hops hops=1 duration_us=900 stored=1", NULL
		};

		serve_broker(&mb, unstored, NULL, NULL, NULL);
		snprintf(want, sizeof(want), "Status: 200 OK\r\nContent-Type: application/json\r\n"
		    HEAD_COMMON "X-Trace-Id: " ID "\r\nX-Trace-Stored: no\r\n"
		    "Access-Control-Expose-Headers: X-Trace-Id, X-Trace-Stored\r\n\r\n"
		    "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412]}\n");
		is_str(mb.buf, want, "STARTED stored=0: X-Trace-Stored: no, no permalink, "
		    "JSON only hop lines");
		serve_broker(&mb, unstored, "QUERY_STRING", "format=text", NULL);
		ok(strstr(mb.buf, "X-Trace-Stored: no\r\n") != NULL &&
		    strstr(mb.buf, "end: maximum number of hops reached; 1 hops in 0.900 ms\n"
		    "note: this trace was not stored (the tracing helper has no usable database: "
		    "none set, read-only or full)\n") != NULL,
		    "... in text, a note after the end line");
		serve_broker(&mb, failed, "QUERY_STRING", "format=text", NULL);
		ok(strstr(mb.buf, "X-Trace-Stored") == NULL && strstr(mb.buf, "Link: <") != NULL &&
		    strstr(mb.buf, "note: this trace was not stored (a database write failed "
		    "during the trace)\n") != NULL,
		    "stored=1, then END stored=0: the head did not know; the text says so at the end");
		serve_broker(&mb, failed, NULL, NULL, NULL);
		ok(strstr(mb.buf, "note") == NULL && strstr(mb.buf, "stored") == NULL,
		    "... and JSON stays hop lines only");
		serve_broker(&mb, stored, "QUERY_STRING", "format=text", NULL);
		ok(strstr(mb.buf, "note:") == NULL && strstr(mb.buf, "X-Trace-Stored") == NULL,
		    "stored=1 both times: no note, no header");
	}

	cfg.run_ms = 300;
	serve_broker(&mb, silent, "QUERY_STRING", "format=text", &ms);
	ok(strstr(mb.buf, " 1  192.0.2.1  0.412 ms * *\nerror: the tracing helper stopped answering\n")
	    != NULL, "a broker silent mid-trace: the response ends with an error line");
	ok(ms < 1000, "... after the trace bound (%.0f ms)", ms);
	serve_broker(&mb, silent, NULL, NULL, NULL);
	ok(strstr(mb.buf, "\r\n\r\n{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412]}\n") != NULL &&
	    strstr(mb.buf, "error") == NULL, "... in JSON, nothing but hop lines");
	cfg.run_ms = TRACE_RUN_MS;

	serve_broker(&mb, closes, "QUERY_STRING", "format=text", NULL);
	ok(strstr(mb.buf, "error: the tracing helper failed\n") != NULL,
	    "the broker closing mid-line, mid-trace: an error line");

	{
		struct out o = mem_out(&mb);
		struct request req;
		pid_t pid = broker_start(sockpath, gone);

		base(&req);
		mb.fail_at = strlen(head200) + 10;
		route_serve(&req, &o, &cfg);
		is_int(broker_stop(pid, sockpath, 2000), 0,
		    "the visitor gone: the broker connection is closed at once");
	}
}

int
main(void)
{
	log_init("fcgi_route_test", 1, 0);
	snprintf(sockpath, sizeof(sockpath), "/tmp/tt-fcgi-route-%ld.sock", (long)getpid());
	cfg.socket_path = sockpath;
	cfg.connect_ms = TRACE_CONNECT_MS;
	cfg.start_ms = TRACE_START_MS;
	cfg.run_ms = TRACE_RUN_MS;
	test_paths();
	test_formats();
	test_hostile();
	test_responses();
	test_refusals();
	test_broken_broker();
	test_trace();
	return tap_done();
}
