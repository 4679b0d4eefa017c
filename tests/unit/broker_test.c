/*
 * Tests of helper/broker.c: the broker runs in a child process on a socket in
 * a temporary directory, and this test plays both its clients and its engine.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "broker.h"
#include "config.h"
#include "emsg.h"
#include "proto.h"
#include "tap.h"

#define WAIT_MS 5000
/* A received line for a test description, without its newline. */
#define LINE(l) (int)strcspn(l, "\n"), l

static char tmpdir[] = "/tmp/tt-broker-XXXXXX";
static struct config cfg;
static int efd = -1;		/* our end of the socketpair: we are the engine */
static pid_t bpid;

static void
start_broker(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
	fflush(stdout);
	if ((bpid = fork()) < 0) {
		perror("fork");
		exit(1);
	}
	if (bpid == 0) {
		close(sv[0]);
		_exit(broker_main(&cfg, sv[1], 0, NULL));
	}
	close(sv[1]);
	efd = sv[0];
}

/* Waits for the broker to exit; returns its exit status, or -1 after WAIT_MS. */
static int
broker_wait(void)
{
	int status;

	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (waitpid(bpid, &status, WNOHANG) == bpid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	kill(bpid, SIGKILL);
	waitpid(bpid, &status, 0);
	return -1;
}

/* The broker's address; main() made the path short enough. */
static void
broker_addr(struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, cfg.socket_path, strlen(cfg.socket_path));
}

static int
cl_connect(void)
{
	struct sockaddr_un sun;
	int fd;

	broker_addr(&sun);
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		close(fd);
		usleep(10000);
	}
	return -1;
}

/* Reads one line into buf (NUL-terminated, with its '\n'); returns its length, 0 at EOF, -1 on timeout. */
static int
cl_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, WAIT_MS) <= 0)
			return -1;
		r = recv(fd, buf + n, 1, 0);
		if (r < 0 && errno == ECONNRESET)
			r = 0;
		if (r <= 0) {
			buf[n] = '\0';
			return 0;
		}
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

static int
cl_eof(int fd)
{
	char buf[PROTO_LINE_MAX + 1];

	return cl_line(fd, buf, sizeof(buf)) == 0;
}

static void
cl_send(int fd, const char *s, size_t len)
{
	if (send(fd, s, len, MSG_NOSIGNAL) != (ssize_t)len)
		printf("# send: %s\n", strerror(errno));
}

#define cl_puts(fd, s) cl_send(fd, s, strlen(s))

/* Connects and checks the greeting. */
static int
cl_open(const char *what)
{
	char line[PROTO_LINE_MAX + 1];
	int fd = cl_connect();

	ok(fd >= 0, "%s: connects", what);
	cl_line(fd, line, sizeof(line));
	is_str(line, "TRACETROUT 1\n", "%s: greeting", what);
	return fd;
}

/* Receives one engine record; returns its length, 0 at EOF, -1 on timeout. */
static int
eng_recv(struct emsg *m)
{
	struct pollfd p = { efd, POLLIN, 0 };
	ssize_t n;

	memset(m, 0, sizeof(*m));
	if (poll(&p, 1, WAIT_MS) <= 0)
		return -1;
	n = recv(efd, m, sizeof(*m), 0);
	return n < 0 ? -1 : (int)n;
}

/* Expects an EMSG_START for the request line's tuple; returns its handle. */
static uint32_t
eng_expect_start(const char *what, const char *req)
{
	struct proto_msg pm;
	struct emsg m;

	proto_parse(req, strlen(req), &pm);
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START, "%s: the engine gets START", what);
	ok(addr_equal(&m.u.start.client, &pm.req.client) &&
	    addr_equal(&m.u.start.server, &pm.req.server) && m.u.start.cport == pm.req.cport &&
	    m.u.start.sport == pm.req.sport, "%s: START carries the tuple", what);
	ok(m.trace != 0, "%s: handle %u", what, m.trace);
	return m.trace;
}

static void
eng_send(uint32_t type, uint32_t handle, const char *code, const char *text, int hops)
{
	struct emsg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.trace = handle;
	if (code != NULL) {
		snprintf(m.u.end.code, sizeof(m.u.end.code), "%s", code);
		snprintf(m.u.end.text, sizeof(m.u.end.text), "%s", text);
		m.u.end.hops = hops;
	}
	if (send(efd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		printf("# engine send: %s\n", strerror(errno));
}

static void
eng_hop(uint32_t handle, int ttl, int sent, int nreplies)
{
	struct emsg m;

	memset(&m, 0, sizeof(m));
	m.type = EMSG_HOP;
	m.trace = handle;
	m.u.hop.ttl = ttl;
	m.u.hop.sent = sent;
	m.u.hop.nreplies = nreplies;
	for (int i = 0; i < nreplies; i++) {
		addr_parse("192.0.2.1", &m.u.hop.r[i].from);
		m.u.hop.r[i].rtt_us = 400 + (uint32_t)i;
		m.u.hop.r[i].kind = REPLY_TIME_EXCEEDED;
		m.u.hop.r[i].reply_ttl = 64;
	}
	if (send(efd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		printf("# engine send: %s\n", strerror(errno));
}

static const char *
q1(const char *sql)
{
	static char out[512];
	sqlite3 *db;
	sqlite3_stmt *s;

	out[0] = '\0';
	if (sqlite3_open_v2(cfg.db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return "cannot open";
	}
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
			snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	} else
		snprintf(out, sizeof(out), "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	return out;
}

static const char REQ_A[] = "TRACE client=198.51.100.7 cport=51234 server=192.0.2.10 sport=443\n";
static const char REQ_B[] = "TRACE client=2001:db8::7 cport=40000 server=2001:db8::10 sport=80\n";
static const char REQ_C[] = "TRACE client=::ffff:198.51.100.8 cport=4000 server=192.0.2.10 sport=80\n";

static void
test_requests(void)
{
	char line[PROTO_LINE_MAX + 1], big[1100], id[PROTO_ID_LEN + 1];
	struct proto_msg pm;
	struct stat sb;
	struct emsg m;
	uint32_t ha, hb, hc1, hc2, hov;
	int a, b, c1, c2, c3, ov, n;

	start_broker();
	a = cl_open("ping");
	ok(stat(cfg.socket_path, &sb) == 0 && S_ISSOCK(sb.st_mode), "the socket exists, "
	    "its directory made");
	is_int(sb.st_mode & 0777, 0666, "socket mode 0666");
	cl_puts(a, "PING\n");
	cl_line(a, line, sizeof(line));
	is_str(line, "PONG\n", "PING is answered");
	cl_puts(a, "PING\nPING\n");
	cl_line(a, line, sizeof(line));
	cl_line(a, line + 5, sizeof(line) - 5);
	is_str(line, "PONG\nPONG\n", "two PINGs in one write");
	close(a);

	a = cl_open("bad verb");
	cl_puts(a, "HELLO\n");
	cl_line(a, line, sizeof(line));
	ok(strncmp(line, "ERROR code=bad-request msg=", 27) == 0, "unknown verb: %.*s", LINE(line));
	ok(cl_eof(a), "then the broker closes");
	close(a);

	a = cl_open("long line");
	memset(big, 'A', sizeof(big));
	cl_send(a, big, sizeof(big));
	cl_line(a, line, sizeof(line));
	ok(strncmp(line, "ERROR code=bad-request msg=", 27) == 0, "a 1100-byte line: %.*s", LINE(line));
	ok(cl_eof(a), "then the broker closes");
	close(a);

	a = cl_open("control bytes");
	cl_puts(a, "PI\x01NG\n");
	cl_line(a, line, sizeof(line));
	ok(strncmp(line, "ERROR code=bad-request", 22) == 0, "a control byte: %.*s", LINE(line));
	ok(cl_eof(a), "then the broker closes");
	close(a);

	a = cl_open("port");
	cl_puts(a, "TRACE client=198.51.100.7 cport=51234 server=192.0.2.10 sport=22\n");
	cl_line(a, line, sizeof(line));
	ok(strncmp(line, "ERROR code=port-not-allowed", 27) == 0, "sport 22: %.*s", LINE(line));
	ok(cl_eof(a), "then the broker closes");
	close(a);

	/* A whole trace, with HOP_OFFSET 1, while another client misbehaves. */
	a = cl_open("trace A");
	cl_puts(a, REQ_A);
	ha = eng_expect_start("trace A", REQ_A);
	eng_send(EMSG_STARTED, ha, NULL, NULL, 0);
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_STARTED, "trace A: %.*s", LINE(line));
	snprintf(id, sizeof(id), "%s", pm.id);
	b = cl_open("garbage");
	cl_send(b, "\x00\xff\xfe garbage\n", 11);
	cl_line(b, line, sizeof(line));
	ok(strncmp(line, "ERROR code=bad-request", 22) == 0, "garbage gets an error");
	ok(cl_eof(b), "the garbage client is closed");
	close(b);
	eng_hop(ha, 1, 3, 1);		/* hidden by the offset */
	eng_hop(ha, 2, 3, 2);
	eng_hop(ha, 3, 3, 0);
	eng_send(EMSG_END, ha, "destination", "", 3);
	cl_line(a, line, sizeof(line));
	is_str(line, "HOP ttl=1 sent=3 reply=192.0.2.1,400,time-exceeded,0,64 "
	    "reply=192.0.2.1,401,time-exceeded,0,64\n", "hop 2 is shown as 1, hop 1 dropped");
	cl_line(a, line, sizeof(line));
	is_str(line, "HOP ttl=2 sent=3\n", "a silent hop");
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_END && strcmp(pm.code, "destination") == 0 &&
	    pm.hops == 2, "END after the offset: %.*s", LINE(line));
	ok(cl_eof(a), "the broker closes after END");
	close(a);

	/* Refused by the engine. */
	a = cl_open("refused");
	cl_puts(a, REQ_B);
	hb = eng_expect_start("refused", REQ_B);
	ok(hb != ha, "handles are not reused");
	eng_send(EMSG_REFUSED, hb, "not-found", "connection not in conntrack", 0);
	cl_line(a, line, sizeof(line));
	is_str(line, "ERROR code=not-found msg=connection_not_in_conntrack\n", "REFUSED is an ERROR");
	ok(cl_eof(a), "then the broker closes");
	close(a);

	/* max_traces is 3: a fourth is busy. */
	c1 = cl_open("busy 1");
	cl_puts(c1, REQ_A);
	hc1 = eng_expect_start("busy 1", REQ_A);
	c2 = cl_open("busy 2");
	cl_puts(c2, REQ_C);
	hc2 = eng_expect_start("busy 2", REQ_C);
	ov = cl_open("overflow");
	cl_puts(ov, REQ_A);
	hov = eng_expect_start("overflow", REQ_A);
	c3 = cl_open("busy 3");
	cl_puts(c3, REQ_A);
	cl_line(c3, line, sizeof(line));
	ok(strncmp(line, "ERROR code=busy", 15) == 0, "the fourth trace is busy: %.*s", LINE(line));
	close(c3);
	ok(hc1 != hc2 && hc2 != hov && hc1 != hb && hc1 != ha, "every handle is new");
	eng_send(EMSG_STARTED, hc1, NULL, NULL, 0);
	eng_send(EMSG_STARTED, hc2, NULL, NULL, 0);
	eng_send(EMSG_STARTED, hov, NULL, NULL, 0);
	cl_line(c1, line, sizeof(line));
	ok(strncmp(line, "STARTED id=", 11) == 0, "busy 1 started");
	cl_line(c2, line, sizeof(line));
	ok(strncmp(line, "STARTED id=", 11) == 0, "busy 2 started");

	/* A client that leaves early: its trace is cancelled, its END still stored. */
	close(c1);
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_CANCEL && m.trace == hc1,
	    "closing the client cancels its trace");
	eng_hop(hc1, 2, 3, 1);
	eng_send(EMSG_END, hc1, "closed", "", 2);

	/* A record for an unknown trace is ignored. */
	eng_hop(4242, 1, 1, 0);
	a = cl_open("after unknown");
	cl_puts(a, "PING\n");
	cl_line(a, line, sizeof(line));
	is_str(line, "PONG\n", "the broker still answers");
	close(a);

	/* A client that does not read is dropped and its trace cancelled. */
	for (int i = 0; i < 3000; i++)
		eng_hop(hov, 2 + i % 200, 16, 16);
	for (;;) {
		n = eng_recv(&m);
		if (n != (int)sizeof(m) || m.type == EMSG_CANCEL)
			break;
	}
	ok(n == (int)sizeof(m) && m.type == EMSG_CANCEL && m.trace == hov,
	    "a client that does not read is cancelled");
	eng_send(EMSG_END, hov, "closed", "", 201);
	close(ov);

	/* The engine goes away: the running trace ends with engine-down, the broker exits 1. */
	close(efd);
	n = cl_line(c2, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_END && strcmp(pm.code, "engine-down") == 0,
	    "engine gone: %.*s", LINE(line));
	ok(cl_eof(c2), "then the broker closes");
	close(c2);
	is_int(broker_wait(), 1, "the broker exits 1 when the engine goes");
	ok(access(cfg.socket_path, F_OK) < 0, "the socket file is removed");

	snprintf(line, sizeof(line), "SELECT uid || ' ' || client || ' ' || reason || ' ' || hops "
	    "|| ' ' || (duration_us >= 0) || ' ' || (ended_at >= started_at) FROM traces WHERE "
	    "id = '%s'", id);
	snprintf(big, sizeof(big), "%u 198.51.100.7 destination 2 1 1", (unsigned)getuid());
	is_str(q1(line), big, "trace A is stored with the caller's uid");
	snprintf(line, sizeof(line), "SELECT group_concat(ttl || ':' || sent, ' ') FROM "
	    "(SELECT * FROM hops WHERE trace_id = '%s' ORDER BY ttl)", id);
	is_str(q1(line), "1:3 2:3", "its hops, renumbered");
	snprintf(line, sizeof(line), "SELECT count(*) FROM replies WHERE trace_id = '%s'", id);
	is_str(q1(line), "2", "its replies");
	is_str(q1("SELECT group_concat(reason, ' ') FROM (SELECT reason FROM traces ORDER BY reason)"),
	    "closed closed destination engine-down",
	    "every started trace is stored with its end (the refused one is not)");
	is_str(q1("SELECT hops FROM traces WHERE client = '198.51.100.8'"), "0",
	    "the mapped client is stored as IPv4");
}

static void
test_sigterm(void)
{
	char line[PROTO_LINE_MAX + 1];
	struct sockaddr_un sun;
	struct proto_msg pm;
	struct emsg m;
	uint32_t h;
	int a, fd, n;

	/* A stale socket file from a crash is replaced. */
	broker_addr(&sun);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "a stale socket file exists");
	close(fd);
	cfg.db_path[0] = '\0';
	cfg.hop_offset = 0;
	start_broker();
	a = cl_open("sigterm");
	cl_puts(a, REQ_A);
	h = eng_expect_start("sigterm", REQ_A);
	eng_send(EMSG_STARTED, h, NULL, NULL, 0);
	cl_line(a, line, sizeof(line));
	ok(strncmp(line, "STARTED id=", 11) == 0, "started without a database");
	eng_hop(h, 1, 3, 1);
	cl_line(a, line, sizeof(line));
	ok(strncmp(line, "HOP ttl=1 sent=3 reply=", 23) == 0, "hop 1 shown without an offset");

	/* A second broker on the same socket refuses to start. */
	{
		int sv[2], status;
		pid_t p;

		socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
		fflush(stdout);
		if ((p = fork()) == 0) {
			close(sv[0]);
			_exit(broker_main(&cfg, sv[1], 0, NULL));
		}
		close(sv[1]);
		waitpid(p, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		    "a second broker on a live socket exits 1");
		close(sv[0]);
	}

	kill(bpid, SIGTERM);
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_END && strcmp(pm.code, "engine-down") == 0 &&
	    pm.hops == 0, "SIGTERM ends the running trace: %.*s", LINE(line));
	ok(cl_eof(a), "then the broker closes");
	close(a);
	is_int(eng_recv(&m), 0, "the broker closes the engine's socket");
	close(efd);
	is_int(broker_wait(), 0, "the broker exits 0 on SIGTERM");
	ok(access(cfg.socket_path, F_OK) < 0, "the socket file is removed");
}

static void
test_malformed(void)
{
	char line[PROTO_LINE_MAX + 1];
	uint32_t h;
	int a;

	start_broker();
	a = cl_open("malformed");
	cl_puts(a, REQ_A);
	h = eng_expect_start("malformed", REQ_A);
	eng_send(EMSG_STARTED, h, NULL, NULL, 0);
	cl_line(a, line, sizeof(line));
	if (send(efd, "bad", 3, 0) != 3)
		printf("# send: %s\n", strerror(errno));
	cl_line(a, line, sizeof(line));
	ok(strncmp(line, "END reason=engine-down", 22) == 0, "a malformed record ends the traces");
	close(a);
	is_int(broker_wait(), 1, "and the broker exits 1");
	close(efd);
}

int
main(void)
{
	char cmd[600];

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	config_defaults(&cfg);
	snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s/run/tt.sock", tmpdir);
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db/tt.db", tmpdir);
	cfg.hop_offset = 1;
	cfg.max_traces = 3;
	cfg.foreground = 1;

	test_requests();
	test_sigterm();
	test_malformed();

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return tap_done();
}
