/* Tests of common/brokerclient.c against a real unix-socket stand-in: good lines, garbage, silence. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "broker_standin.h"
#include "brokerclient.h"
#include "proto.h"
#include "tap.h"

#define ID	"0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5"

static char sockpath[108];

/* Opens against script with timeout_ms; *ms gets the time bclient_open took. */
static enum bclient_status
open_with(struct bclient *c, pid_t *pid, const char *const *script, int timeout_ms, double *ms)
{
	struct timespec t0;
	enum bclient_status st;

	*pid = broker_start(sockpath, script);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = bclient_open(c, sockpath, timeout_ms);
	if (ms)
		*ms = elapsed_ms(&t0);
	return st;
}

static void
test_conversation(void)
{
	static const char *const script[] = {
		"> TRACETROUT 1",
		"< TRACE client=198.51.100.7 cport=51234 server=192.0.2.10 sport=443",
		"raw STAR", "sleep 50", "raw TED id=" ID "\nHOP ttl=1 sent=1\n",
		"> END reason=destination hops=1 duration_us=10", NULL
	};
	struct proto_trace_req req;
	struct proto_msg m;
	struct bclient c;
	char line[PROTO_LINE_MAX];
	int64_t dl;
	pid_t pid;
	int n;

	is_int(open_with(&c, &pid, script, 800, NULL), BCLIENT_OK, "greeting accepted");
	memset(&req, 0, sizeof(req));
	addr_parse("198.51.100.7", &req.client);
	addr_parse("192.0.2.10", &req.server);
	req.cport = 51234;
	req.sport = 443;
	n = proto_fmt_trace(line, sizeof(line), &req);
	dl = bclient_deadline(1000);
	is_int(bclient_send(&c, line, (size_t)n, dl), BCLIENT_OK, "TRACE sent");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_STARTED &&
	    strcmp(m.id, ID) == 0, "STARTED, split over two writes");
	ok(c.line_len == 44 && memcmp(c.line, "STARTED id=" ID "\n", 44) == 0,
	    "... and the line as it came");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_HOP && m.hop.ttl == 1,
	    "HOP, from the same read as STARTED's end");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_END, "END");
	is_int(bclient_read(&c, &m, dl), BCLIENT_CLOSED, "then the broker closes");
	ok(c.line == NULL && c.err == 0, "... no line, and no system call failed");
	bclient_close(&c);
	bclient_close(&c);
	ok(c.fd == -1, "closing twice is harmless");
	is_int(broker_stop(pid, sockpath, 2000), 0, "the broker read the TRACE line it expected");
}

static void
test_unreachable(void)
{
	struct sockaddr_un sun;
	struct timespec t0;
	struct bclient c;
	char longpath[200];
	int fd;

	unlink(sockpath);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(bclient_open(&c, sockpath, 800), BCLIENT_UNREACHABLE, "no socket file: unreachable");
	ok(elapsed_ms(&t0) < 100, "... at once");
	ok(strstr(c.why, "No such file") != NULL, "... and why says so: %s", c.why);
	is_int(c.err, ENOENT, "... and err");

	/* A socket file left by a stopped helper: nobody listens. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	is_int(bclient_open(&c, sockpath, 800), BCLIENT_UNREACHABLE, "a stale socket file: unreachable");
	ok(strstr(c.why, "refused") != NULL, "... connection refused: %s", c.why);
	is_int(c.err, ECONNREFUSED, "... and err");
	unlink(sockpath);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	is_int(bclient_open(&c, longpath, 800), BCLIENT_UNREACHABLE, "a path too long for sun_path");
	is_int(c.err, 0, "... no system call failed");
	is_int(c.fd, -1, "... leaves no socket open");
}

static void
test_silence(void)
{
	static const char *const noaccept[] = { "noaccept", NULL };
	static const char *const hang[] = { "hang", NULL };
	static const char *const midway[] = { "> TRACETROUT 1", "> STARTED id=" ID, "hang", NULL };
	struct proto_msg m;
	struct bclient c;
	struct timespec t0;
	double ms;
	pid_t pid;

	is_int(open_with(&c, &pid, noaccept, 800, &ms), BCLIENT_TIMEOUT,
	    "a broker that never accepts: timeout");
	ok(ms >= 750 && ms < 1000, "... within 1 s (%.0f ms)", ms);
	broker_stop(pid, sockpath, 0);

	is_int(open_with(&c, &pid, hang, 300, &ms), BCLIENT_TIMEOUT,
	    "a broker that accepts and never greets: timeout");
	ok(ms >= 250 && ms < 500, "... after the timeout given (%.0f ms)", ms);
	ok(strstr(c.why, "no greeting") != NULL, "... why: %s", c.why);
	broker_stop(pid, sockpath, 0);

	is_int(open_with(&c, &pid, midway, 800, NULL), BCLIENT_OK, "greeted");
	ok(bclient_read(&c, &m, bclient_deadline(500)) == BCLIENT_OK && m.verb == PROTO_STARTED,
	    "STARTED");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(bclient_read(&c, &m, bclient_deadline(200)), BCLIENT_TIMEOUT,
	    "silence mid-trace: timeout");
	ms = elapsed_ms(&t0);
	ok(ms >= 150 && ms < 400, "... at the deadline (%.0f ms)", ms);
	bclient_close(&c);
	broker_stop(pid, sockpath, 0);
}

/* Expects the greeting to pass and the next read to give st with why containing what. */
static void
expect_read(const char *const *script, enum bclient_status st, const char *what, const char *name)
{
	struct proto_msg m;
	struct bclient c;
	pid_t pid;

	if (open_with(&c, &pid, script, 800, NULL) != BCLIENT_OK) {
		ok(0, "%s: greeted (%s)", name, c.why);
		broker_stop(pid, sockpath, 0);
		return;
	}
	is_int(bclient_read(&c, &m, bclient_deadline(500)), st, "%s", name);
	ok(strstr(c.why, what) != NULL, "... why: %s", c.why);
	bclient_close(&c);
	broker_stop(pid, sockpath, 0);
}

static void
test_garbage(void)
{
	static const char *const version[] = { "> TRACETROUT 2", NULL };
	static const char *const hello[] = { "> HELLO", NULL };
	static const char *const binary[] = { "> TRACETROUT 1", "raw \x01\x02\xff\n", "hang", NULL };
	/* PROTO_LINE_MAX (4096) bytes with the newline is the longest line. */
	static const char *const toolong[] = { "> TRACETROUT 1", "big 4096", "raw \n", "hang", NULL };
	static const char *const longest[] = { "> TRACETROUT 1", "big 4095", "raw \n", "hang", NULL };
	static const char *const huge[] = { "> TRACETROUT 1", "big 100000", NULL };
	static const char *const midline[] = { "> TRACETROUT 1", "raw HOP ttl=1 se", NULL };
	static const char *const badhop[] = { "> TRACETROUT 1", "> HOP ttl=0 sent=1", "hang", NULL };
	struct bclient c;
	pid_t pid;

	is_int(open_with(&c, &pid, version, 800, NULL), BCLIENT_GARBAGE, "protocol version 2: refused");
	ok(strstr(c.why, "version 2") != NULL, "... why: %s", c.why);
	is_int(c.fd, -1, "... and closed");
	broker_stop(pid, sockpath, 2000);
	is_int(open_with(&c, &pid, hello, 800, NULL), BCLIENT_GARBAGE, "no greeting but a word: garbage");
	broker_stop(pid, sockpath, 2000);

	expect_read(binary, BCLIENT_GARBAGE, "unparsable line from the broker: ???",
	    "unprintable bytes: garbage, masked in the log");
	expect_read(toolong, BCLIENT_GARBAGE, "longer than 4096", "a 4097-byte line: too long");
	expect_read(longest, BCLIENT_GARBAGE, "unparsable line from the broker: AAAA",
	    "a 4096-byte line is read whole (then refused by the parser)");
	expect_read(huge, BCLIENT_GARBAGE, "longer than", "100 kB without a newline: stops at the limit");
	expect_read(midline, BCLIENT_CLOSED, "middle of a line", "closed mid-line");
	expect_read(badhop, BCLIENT_GARBAGE, "HOP ttl=0", "a malformed HOP");

	/* A caller that quotes what it got (tracetroutd --status) finds the refused line whole. */
	if (open_with(&c, &pid, badhop, 800, NULL) == BCLIENT_OK) {
		struct proto_msg m;

		ok(bclient_read(&c, &m, bclient_deadline(500)) == BCLIENT_GARBAGE && c.line_len == 17 &&
		    memcmp(c.line, "HOP ttl=0 sent=1\n", 17) == 0, "a refused line is in c->line");
		bclient_close(&c);
	} else
		ok(0, "greeted (%s)", c.why);
	broker_stop(pid, sockpath, 0);
}

/* ITEM's path points into the client's buffer: it must stay put until the next read. */
static void
test_items(void)
{
	static const char *const script[] = {
		"> TRACETROUT 1", "< HISTORY client=198.51.100.7 limit=21",
		"raw ITEM id=" ID " started_ms=1 reason=destination hops=2 duration_us=5 "
		    "path=192.0.2.1,198.51.100.7\nITEM id=" ID " started_ms=2 reason=max-hops hops=1 "
		    "duration_us=6 path=*\nLIST more=1\n", NULL
	};
	struct proto_msg m;
	struct bclient c;
	char path[64];
	int64_t dl = bclient_deadline(1000);
	pid_t pid;

	pid = broker_start(sockpath, script);
	is_int(bclient_ask(&c, sockpath, 800, "HISTORY client=198.51.100.7 limit=21\n", 38, 1000, &m),
	    BCLIENT_OK, "bclient_ask: greeting, request, first answer");
	ok(m.verb == PROTO_ITEM && m.path_len == 22, "first ITEM");
	snprintf(path, sizeof(path), "%.*s", (int)m.path_len, m.path);
	is_str(path, "192.0.2.1,198.51.100.7", "... its path, read from the same buffer as the next lines");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_ITEM, "second ITEM");
	snprintf(path, sizeof(path), "%.*s", (int)m.path_len, m.path);
	is_str(path, "*", "... its own path");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_LIST && m.more == 1, "LIST more=1");
	bclient_close(&c);
	is_int(broker_stop(pid, sockpath, 2000), 0, "the broker got the request line");

	unlink(sockpath);
	is_int(bclient_ask(&c, sockpath, 800, "GET id=" ID "\n", 40, 1000, &m), BCLIENT_UNREACHABLE,
	    "bclient_ask without a helper: unreachable");
	is_int(c.fd, -1, "... nothing left open");
	{
		static const char *const hang[] = { "> TRACETROUT 1", "< GET", "hang", NULL };
		struct timespec t0;

		pid = broker_start(sockpath, hang);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		is_int(bclient_ask(&c, sockpath, 800, "GET id=" ID "\n", 40, 200, &m), BCLIENT_TIMEOUT,
		    "bclient_ask, no answer: timeout");
		ok(elapsed_ms(&t0) < 500, "... after the answer timeout");
		is_int(c.fd, -1, "... and closed");
		broker_stop(pid, sockpath, 0);
	}
}

/* INFO's body after its line: exactly len bytes and '\n', however the writes split them. */
static void
test_info_body(void)
{
	static const char *const script[] = {
		"> TRACETROUT 1",
		/* The body split over three writes; its '\n' in the same write as the next line. */
		"raw INFO addr=192.0.2.1 len=16 city=Espoo\n{\"ci", "sleep 50", "raw ty\":\"Es",
		"sleep 50", "raw poo\"}\nNAME addr=192.0.2.1 name=r1.example.net\n",
		/* An empty body; a body with newlines of its own; all of it in one write with the next line. */
		"raw INFO addr=192.0.2.2 len=0\n\nINFO addr=192.0.2.3 len=10\n{\n\"a\":\n1}\n\nHOP ttl=1 sent=1\n",
		/* The largest body the protocol allows. */
		"> INFO addr=192.0.2.4 len=1048576", "big 1048576", "raw \n",
		"> END reason=destination hops=1 duration_us=10", NULL
	};
	struct proto_msg m;
	struct bclient c;
	int64_t dl;
	pid_t pid;

	if (open_with(&c, &pid, script, 800, NULL) != BCLIENT_OK) {
		ok(0, "greeted (%s)", c.why);
		broker_stop(pid, sockpath, 0);
		return;
	}
	dl = bclient_deadline(3000);
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_INFO && m.info_len == 16 &&
	    strcmp(m.info.city, "Espoo") == 0, "INFO, its line");
	ok(c.body && c.body_len == 16 && strcmp(c.body, "{\"city\":\"Espoo\"}") == 0,
	    "... and its body, split over three writes");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_NAME &&
	    strcmp(m.name, "r1.example.net") == 0, "NAME, right after the body's newline");
	ok(c.body == NULL, "the body is gone at the next read");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_INFO && c.body &&
	    c.body_len == 0 && c.body[0] == '\0', "an empty body");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_INFO && c.body_len == 10 &&
	    strcmp(c.body, "{\n\"a\":\n1}\n") == 0, "a body with newlines in it, its last byte one");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_HOP, "then the HOP after it");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_INFO && c.body_len == 1048576 &&
	    c.body[0] == 'A' && c.body[1048575] == 'A' && c.body[1048576] == '\0',
	    "a body of 1 MiB, the most allowed");
	ok(bclient_read(&c, &m, dl) == BCLIENT_OK && m.verb == PROTO_END, "END");
	bclient_close(&c);
	ok(c.body == NULL, "closing frees the body");
	is_int(broker_stop(pid, sockpath, 2000), 0, "the broker played it all");
}

static void
test_info_garbage(void)
{
	static const char *const nonl[] = {
		"> TRACETROUT 1", "raw INFO addr=192.0.2.1 len=2\n{}X\n", "hang", NULL
	};
	static const char *const short_body[] = {
		"> TRACETROUT 1", "raw INFO addr=192.0.2.1 len=2\n{\nHOP ttl=1 sent=1\n", "hang", NULL
	};
	static const char *const toolong[] = {
		"> TRACETROUT 1", "> INFO addr=192.0.2.1 len=1048577", "big 1048578", "hang", NULL
	};
	static const char *const huge[] = {
		"> TRACETROUT 1", "> INFO addr=192.0.2.1 len=99999999999999999999", "hang", NULL
	};
	static const char *const closes[] = {
		"> TRACETROUT 1", "> INFO addr=192.0.2.1 len=10", "raw {\"a\"", NULL
	};
	static const char *const stalls[] = {
		"> TRACETROUT 1", "> INFO addr=192.0.2.1 len=1048576", "big 1000", "hang", NULL
	};
	static const char *const markup[] = {
		"> TRACETROUT 1", "> NAME addr=192.0.2.1 name=<script>", "hang", NULL
	};
	struct timespec t0;
	double ms;

	expect_read(nonl, BCLIENT_GARBAGE, "does not end with a newline",
	    "a body not followed by its newline: garbage");
	expect_read(short_body, BCLIENT_GARBAGE, "does not end with a newline",
	    "a body shorter than len (the next line eaten): garbage");
	expect_read(toolong, BCLIENT_GARBAGE, "unparsable line from the broker: INFO",
	    "len over 1 MiB: garbage, nothing read past the line");
	expect_read(huge, BCLIENT_GARBAGE, "unparsable", "a len of 20 digits: garbage");
	expect_read(closes, BCLIENT_CLOSED, "in the middle of an INFO body",
	    "closed in the middle of a body");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_read(stalls, BCLIENT_TIMEOUT, "did not send an INFO body in time",
	    "a body that stops coming: the read's deadline holds");
	ms = elapsed_ms(&t0);
	ok(ms < 1500, "... within the deadline (%.0f ms)", ms);
	expect_read(markup, BCLIENT_GARBAGE, "unparsable line from the broker: NAME",
	    "a NAME with markup: garbage");
}

/* A broker whose backlog is full: connect() says EAGAIN; the client retries until its deadline. */
static void
test_backlog(void)
{
	struct sockaddr_un sun;
	struct timespec t0;
	struct bclient c;
	int lfd, full = 0;
	double ms = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	unlink(sockpath);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 1) < 0) {
		ok(0, "listen");
		return;
	}
	for (int i = 0; i < 10 && !full; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (bclient_open(&c, sockpath, 100) == BCLIENT_TIMEOUT && strstr(c.why, "backlog")) {
			full = 1;
			ms = elapsed_ms(&t0);
		}
	}
	ok(full, "a full backlog is reported as a timeout");
	ok(ms >= 90 && ms < 300, "... after retrying until the deadline (%.0f ms)", ms);
	close(lfd);
	unlink(sockpath);
}

int
main(void)
{
	snprintf(sockpath, sizeof(sockpath), "/tmp/tt-brokerclient-%ld.sock", (long)getpid());
	test_conversation();
	test_unreachable();
	test_silence();
	test_garbage();
	test_items();
	test_info_body();
	test_info_garbage();
	test_backlog();
	return tap_done();
}
