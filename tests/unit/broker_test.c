/*
 * Tests of the broker (helper/broker/, docs/broker.md): it runs in a child process on a
 * socket in a temporary directory, and this test plays both its clients and its engine.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "broker.h"
#include "brokerclient.h"
#include "config.h"
#include "emsg.h"
#include "overload.h"
#include "proto.h"
#include "tap.h"

/* The rows of the trace with this id: sql/007-seq.sql keys them by its row number. */
#define OF_TRACE(id)	"trace_seq = (SELECT seq FROM traces WHERE id = '" id "')"

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

/*
 * The test's connections to the broker go through common/brokerclient.c. A
 * test holds one by its descriptor (and may close() it): conns[fd] is its
 * client, replaced when a new connection gets the same descriptor.
 */
static struct bclient *conns[256];

static struct bclient *
cl_of(int fd)
{
	return fd >= 0 && fd < (int)(sizeof(conns) / sizeof(conns[0])) ? conns[fd] : NULL;
}

/* Connects and reads the greeting, waiting for the broker's socket; returns the descriptor or -1. */
static int
cl_connect(void)
{
	struct bclient *c = malloc(sizeof(*c));
	enum bclient_status st = BCLIENT_UNREACHABLE;

	for (int i = 0; c != NULL && st == BCLIENT_UNREACHABLE && i < WAIT_MS / 10; i++) {
		if ((st = bclient_open(c, cfg.socket_path, WAIT_MS)) == BCLIENT_UNREACHABLE)
			usleep(10000);
	}
	if (c == NULL || st != BCLIENT_OK || c->fd >= (int)(sizeof(conns) / sizeof(conns[0]))) {
		printf("# connect: %s\n", c ? c->why : "out of memory");
		if (c != NULL)
			bclient_close(c);
		free(c);
		return -1;
	}
	if (conns[c->fd] != NULL)
		free(conns[c->fd]->body);
	free(conns[c->fd]);
	conns[c->fd] = c;
	return c->fd;
}

/* Reads one line into buf (NUL-terminated, with its '\n'); returns its length, 0 at EOF, -1 on timeout. */
static int
cl_line(int fd, char *buf, size_t len)
{
	struct bclient *c = cl_of(fd);
	struct proto_msg m;
	enum bclient_status st;

	buf[0] = '\0';
	if (c == NULL)
		return -1;
	st = bclient_read(c, &m, bclient_deadline(WAIT_MS));
	if (c->line == NULL)
		return st == BCLIENT_CLOSED ? 0 : -1;
	snprintf(buf, len, "%.*s", (int)c->line_len, c->line);
	return (int)strlen(buf);
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
	struct bclient *c = cl_of(fd);

	if (c == NULL || bclient_send(c, s, len, bclient_deadline(WAIT_MS)) != BCLIENT_OK)
		printf("# send: %s\n", c ? c->why : "not connected");
}

#define cl_puts(fd, s) cl_send(fd, s, strlen(s))

/* Connects and checks the greeting. */
static int
cl_open(const char *what)
{
	char line[PROTO_LINE_MAX + 1] = "";
	int fd = cl_connect();

	ok(fd >= 0, "%s: connects", what);
	if (fd >= 0)
		snprintf(line, sizeof(line), "%.*s", (int)conns[fd]->line_len, conns[fd]->line);
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

static void eng_hop_from(uint32_t handle, int ttl, int sent, int nreplies, const char *from);

static void
eng_hop(uint32_t handle, int ttl, int sent, int nreplies)
{
	eng_hop_from(handle, ttl, sent, nreplies, "192.0.2.1");
}

/* A settled hop whose replies all come from one address. */
static void
eng_hop_from(uint32_t handle, int ttl, int sent, int nreplies, const char *from)
{
	struct emsg m;

	memset(&m, 0, sizeof(m));
	m.type = EMSG_HOP;
	m.trace = handle;
	m.u.hop.ttl = ttl;
	m.u.hop.sent = sent;
	m.u.hop.nreplies = nreplies;
	for (int i = 0; i < nreplies; i++) {
		addr_parse(from, &m.u.hop.r[i].from);
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
	is_int(sb.st_mode & 0777, 0660, "socket mode 0660 (the default)");
	if (cfg.socket_group[0] != '\0') {
		struct group *gr = getgrnam(cfg.socket_group);

		ok(gr != NULL && sb.st_gid == gr->gr_gid, "the socket's group is %s",
		    cfg.socket_group);
	}
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
	is_int(pm.stored, 1, "trace A will be stored");
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
	is_str(line, "HOP ttl=1 sent=3 reply=192.0.2.1,400,time-exceeded,0,64,0,0,0,-,- "
	    "reply=192.0.2.1,401,time-exceeded,0,64,0,0,0,-,-\n", "hop 2 is shown as 1, hop 1 dropped");
	cl_line(a, line, sizeof(line));
	is_str(line, "HOP ttl=2 sent=3\n", "a silent hop");
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_END && strcmp(pm.code, "destination") == 0 &&
	    pm.hops == 2 && pm.stored == 1, "END after the offset, stored: %.*s", LINE(line));
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

	/* Refused busy by the engine, overloaded: its retry= passes through, and busy counts it. */
	a = cl_open("overloaded");
	cl_puts(a, REQ_B);
	hb = eng_expect_start("overloaded", REQ_B);
	memset(&m, 0, sizeof(m));
	m.type = EMSG_REFUSED;
	m.trace = hb;
	snprintf(m.u.end.code, sizeof(m.u.end.code), "busy");
	snprintf(m.u.end.text, sizeof(m.u.end.text), "the tracing engine is overloaded");
	m.u.end.retry_s = 1;
	send(efd, &m, sizeof(m), MSG_NOSIGNAL);
	cl_line(a, line, sizeof(line));
	is_str(line, "ERROR code=busy retry=1 msg=the_tracing_engine_is_overloaded;_try_again_in_1_s\n",
	    "REFUSED busy with retry_s is ERROR busy retry=N");
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
	ok(strncmp(line, "ERROR code=busy retry=5 ", 24) == 0, "the fourth trace is busy: %.*s",
	    LINE(line));
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
	    "(SELECT * FROM hops WHERE " OF_TRACE("%s") " ORDER BY ttl)", id);
	is_str(q1(line), "1:3 2:3", "its hops, renumbered");
	snprintf(line, sizeof(line), "SELECT count(*) FROM replies WHERE " OF_TRACE("%s"), id);
	is_str(q1(line), "2", "its replies");
	/*
	 * The one that did not read got the same TTLs again and again: a hop
	 * insert failed, so it is not kept, rather than kept without hops.
	 */
	is_str(q1("SELECT group_concat(reason, ' ') FROM (SELECT reason FROM traces ORDER BY reason)"),
	    "closed destination engine-down",
	    "every trace stored whole is stored with its end (the refused one is not)");
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
	ok(strncmp(line, "STARTED id=", 11) == 0 && strstr(line, " stored=0 ") != NULL,
	    "started without a database: stored=0: %.*s", LINE(line));
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
	    pm.hops == 0 && pm.stored == 0, "SIGTERM ends the running trace: %.*s", LINE(line));
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
	struct emsg m;
	uint32_t h;
	int a;

	/* A reply flag this version does not know is as malformed as a bad kind. */
	memset(&m, 0, sizeof(m));
	m.type = EMSG_HOP;
	m.u.hop.ttl = 1;
	m.u.hop.sent = 1;
	m.u.hop.nreplies = 1;
	addr_parse("192.0.2.1", &m.u.hop.r[0].from);
	m.u.hop.r[0].kind = REPLY_TIME_EXCEEDED;
	m.u.hop.r[0].flags = PROTO_RF_ALL;
	is_int(emsg_check(&m, sizeof(m)), 0, "a hop with every known reply flag is well-formed");
	m.u.hop.r[0].flags = 0x20;
	is_int(emsg_check(&m, sizeof(m)), -1, "a hop with an unknown reply flag is malformed");

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


/* Connects (the greeting read) and sends a TRACE for client addr; the engine answers nothing yet. */
static int
trace_from(const char *addr, int cport)
{
	char req[200];
	int fd = cl_connect();

	snprintf(req, sizeof(req), "TRACE client=%s cport=%d server=%s sport=443\n", addr, cport,
	    strchr(addr, ':') ? "2001:db8::10" : "192.0.2.10");
	cl_puts(fd, req);
	return fd;
}

/* Expects START from the broker, answers STARTED, and checks the client got it. */
static uint32_t
started(const char *what, int fd)
{
	char line[PROTO_LINE_MAX + 1];
	struct emsg m;

	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START, "%s: the engine gets START", what);
	eng_send(EMSG_STARTED, m.trace, NULL, NULL, 0);
	cl_line(fd, line, sizeof(line));
	ok(strncmp(line, "STARTED id=", 11) == 0, "%s: %.*s", what, LINE(line));
	return m.trace;
}

/* The client's answer is ERROR code=busy with this retry and a message containing what. */
static void
expect_busy(const char *desc, int fd, int retry, const char *what)
{
	char line[PROTO_LINE_MAX + 1], want[64];
	struct proto_msg pm;
	int n = cl_line(fd, line, sizeof(line));

	snprintf(want, sizeof(want), "ERROR code=busy retry=%d ", retry);
	ok(strncmp(line, want, strlen(want)) == 0 && proto_parse(line, (size_t)n, &pm) ==
	    PROTO_ERROR && pm.retry == retry && strstr(pm.msg, what) != NULL &&
	    strstr(pm.msg, "try again in") != NULL, "%s: %.*s", desc, LINE(line));
	ok(cl_eof(fd), "%s: then the broker closes", desc);
	close(fd);
}

static void
test_limits(void)
{
	char line[PROTO_LINE_MAX + 1];
	uint32_t h1, h2, h4, hy, h6a, h6b;
	int a1, a2, a3, a4, a5, y, v6a, v6b, v6c, z;
	struct emsg m;

	/* client-rate 1 (bursts of 3), client-max 2, max-traces 4. */
	cfg.client_rate = 1;
	cfg.client_max = 2;
	cfg.global_rate = 50;
	cfg.max_traces = 4;
	start_broker();
	a1 = trace_from("198.51.100.20", 1001);
	h1 = started("visitor X, trace 1", a1);
	a2 = trace_from("198.51.100.20", 1002);
	h2 = started("visitor X, trace 2", a2);
	a3 = trace_from("198.51.100.20", 1003);
	expect_busy("a third running at once (client-max 2)", a3, 5, "running for this address");

	eng_send(EMSG_END, h1, "destination", "", 1);
	ok(cl_line(a1, line, sizeof(line)) > 0 && strncmp(line, "END ", 4) == 0, "trace 1 ends");
	close(a1);
	a4 = trace_from("198.51.100.20", 1004);
	h4 = started("visitor X, trace 3 of its burst of 3, once one ended", a4);
	eng_send(EMSG_END, h2, "destination", "", 1);
	eng_send(EMSG_END, h4, "destination", "", 1);
	cl_line(a2, line, sizeof(line));
	cl_line(a4, line, sizeof(line));
	close(a2);
	close(a4);
	a5 = trace_from("198.51.100.20", 1005);
	expect_busy("a fourth in its first second (client-rate 1, burst 3)", a5, 1,
	    "started for this address");

	y = trace_from("198.51.100.21", 2001);
	hy = started("another visitor is not held back", y);
	v6a = trace_from("2001:db8:1:2::1", 3001);
	h6a = started("IPv6 visitor ::1", v6a);
	v6b = trace_from("2001:db8:1:2::2", 3002);
	h6b = started("IPv6 visitor ::2 of the same /64", v6b);
	v6c = trace_from("2001:db8:1:2:ffff::3", 3003);
	expect_busy("a third in the same /64 counts as the same visitor", v6c, 5,
	    "running for this address");
	a1 = trace_from("198.51.100.22", 4001);
	(void)started("a fourth trace in all", a1);
	z = trace_from("198.51.100.23", 4002);
	expect_busy("a fifth running at once (max-traces 4)", z, 5, "too many traces running");

	/* After a second a token is back; room is made for a trace. */
	sleep(1);
	eng_send(EMSG_END, hy, "destination", "", 1);
	cl_line(y, line, sizeof(line));
	a5 = trace_from("198.51.100.20", 1006);
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START, "visitor X again after 1 s");
	eng_send(EMSG_REFUSED, m.trace, "traced", "this connection is being traced", 0);
	cl_line(a5, line, sizeof(line));
	ok(strncmp(line, "ERROR code=traced msg=", 22) == 0, "the engine's refusal passes through, "
	    "without retry: %.*s", LINE(line));
	close(a5);
	(void)h6a;
	(void)h6b;
	close(efd);
	broker_wait();
	close(y);
	close(v6a);
	close(v6b);
	close(a1);

	/* global-rate 1: bursts of 2 in all. */
	cfg.global_rate = 1;
	cfg.max_traces = 64;
	start_broker();
	/* Requests the engine refuses cost neither the global bucket nor the visitor's. */
	for (int i = 0; i < 4; i++) {
		a1 = trace_from("198.51.100.30", 5000 + i);
		ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START,
		    "a bogus request %d for one visitor reaches the engine", i + 1);
		eng_send(EMSG_REFUSED, m.trace, "not-found", "no", 0);
		cl_line(a1, line, sizeof(line));
		close(a1);
	}
	for (int i = 0; i < 2; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "198.51.100.%d", 30 + i);
		a1 = trace_from(addr, 5010 + i);
		ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START,
		    "global burst: trace %d (the visitor's bucket is still full)", i + 1);
		eng_send(EMSG_STARTED, m.trace, "", "", 0);
		eng_send(EMSG_END, m.trace, "destination", "", 1);
		cl_line(a1, line, sizeof(line));
		cl_line(a1, line, sizeof(line));
		close(a1);
	}
	a1 = trace_from("198.51.100.40", 5009);
	expect_busy("a third from a new visitor beyond the global burst", a1, 1, "traces started");
	a1 = cl_open("status after busy");
	cl_puts(a1, "STATUS\n");
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_STATUS && m.trace == 0,
	    "STATUS: the engine is asked for its counters");
	memset(&m, 0, sizeof(m));
	m.type = EMSG_STATUS_ANSWER;
	send(efd, &m, sizeof(m), MSG_NOSIGNAL);
	cl_line(a1, line, sizeof(line));
	ok(strstr(line, " busy=1 ") != NULL && strstr(line, " traces_refused=4 ") != NULL,
	    "STATUS counts the busy and the refused: %.*s", LINE(line));
	close(a1);
	close(efd);
	broker_wait();
	cfg.global_rate = 100000;

	/* Many /64s of one /48, one trace each: prefix-rate 2 (bursts of 6) refuses the 7th. */
	cfg.prefix_rate = 2;
	start_broker();
	for (int i = 0; i < 7; i++) {
		char addr[48];

		snprintf(addr, sizeof(addr), "2001:db8:77:%x::1", 0x100 * i + 1);
		a1 = trace_from(addr, 6000 + i);
		if (i == 6) {
			expect_busy("a 7th /64 of one /48 (prefix-rate 2)", a1, 1,
			    "started for this network");
			break;
		}
		ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START, "/64 number %d of one /48",
		    i + 1);
		eng_send(EMSG_STARTED, m.trace, "", "", 0);
		eng_send(EMSG_END, m.trace, "destination", "", 1);
		cl_line(a1, line, sizeof(line));
		cl_line(a1, line, sizeof(line));
		close(a1);
	}
	a1 = trace_from("2001:db8:78::1", 6100);
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START, "another /48 is not held back");
	eng_send(EMSG_REFUSED, m.trace, "not-found", "no", 0);
	cl_line(a1, line, sizeof(line));
	close(a1);
	close(efd);
	broker_wait();
	cfg.prefix_rate = 1000;

	/* site-rate 1 (bursts of 2): every request counts, refused or not. */
	cfg.site_rate = 1;
	start_broker();
	for (int i = 0; i < 2; i++) {
		a1 = trace_from("198.51.100.50", 7000 + i);
		ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START, "site request %d", i + 1);
		eng_send(EMSG_REFUSED, m.trace, "not-found", "no", 0);
		cl_line(a1, line, sizeof(line));
		close(a1);
	}
	a1 = trace_from("198.51.100.51", 7002);
	expect_busy("a third request of the site in its first second (site-rate 1)", a1, 1,
	    "requests from this site");
	close(efd);
	broker_wait();
	cfg.site_rate = 100000;

	/* site-share 50 of max-traces 4: a site holds 2, each visitor its own. */
	cfg.site_share = 50;
	cfg.max_traces = 4;
	start_broker();
	a1 = trace_from("198.51.100.60", 8001);
	(void)started("site share: trace 1", a1);
	a2 = trace_from("198.51.100.61", 8002);
	(void)started("site share: trace 2", a2);
	expect_busy("a third trace of one site (site-share 50 of 4)",
	    trace_from("198.51.100.62", 8003), 5, "running for this site");
	close(efd);
	broker_wait();
	close(a1);
	close(a2);
	cfg.site_share = 100;
	cfg.client_rate = 1000;
	cfg.client_max = 1000;
	cfg.max_traces = 3;
}

/*
 * A late answer for no trace (the broker ignores it quietly) that the engine
 * stamped late_us before sending it: the broker's loop took that long to it.
 */
static void
eng_late_record(uint64_t late_us)
{
	struct timespec ts;
	struct emsg m;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(&m, 0, sizeof(m));
	m.type = EMSG_LATE;
	m.trace = 999999;
	m.sent_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000 - late_us;
	m.u.hop.ttl = 3;
	m.u.hop.sent = 3;
	m.u.hop.nreplies = 1;
	m.u.hop.r[0].from.family = AF_INET;
	m.u.hop.r[0].kind = REPLY_TIME_EXCEEDED;
	m.u.hop.r[0].flags = PROTO_RF_LATE;
	if (send(efd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		printf("# engine send: %s\n", strerror(errno));
}

/*
 * The broker's own overload (overload.h): the engine's records waiting four
 * times the target (20 ms; 200 ms in a sanitized build) for its loop make it
 * refuse a new trace busy retry=1 without asking the engine; records read at
 * once again end it; STATUS adds its refusals to the engine's.
 */
static void
test_overload(void)
{
	char line[PROTO_LINE_MAX + 1];
	struct pollfd pf;
	struct proto_msg pm;
	struct emsg m;
	int a, n;

	start_broker();
	/* Over two whole intervals (100 ms each) and more: a record that late every millisecond. */
	for (int i = 0; i < 300; i++) {
		eng_late_record(4 * OVERLOAD_BROKER_TARGET_US);
		usleep(1000);
	}
	a = trace_from("198.51.100.50", 6000);
	expect_busy("the engine's records wait 4 times the target: overloaded", a, 1, "overloaded");
	pf = (struct pollfd){ efd, POLLIN, 0 };
	ok(poll(&pf, 1, 200) == 0, "the engine is not asked");
	for (int i = 0; i < 150; i++) {
		eng_late_record(0);
		usleep(1000);
	}
	a = trace_from("198.51.100.51", 6001);
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_START,
	    "records read at once for a whole interval: the next trace goes to the engine");
	ok(m.sent_us != 0, "START carries the time the broker sent it");
	eng_send(EMSG_REFUSED, m.trace, "not-found", "no", 0);
	cl_line(a, line, sizeof(line));
	close(a);
	a = cl_open("status after overload");
	cl_puts(a, "STATUS\n");
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_STATUS, "STATUS: EMSG_STATUS");
	memset(&m, 0, sizeof(m));
	m.type = EMSG_STATUS_ANSWER;
	m.u.status.overload_refused = 2;
	send(efd, &m, sizeof(m), MSG_NOSIGNAL);
	n = cl_line(a, line, sizeof(line));
	ok(n > 0 && proto_parse(line, (size_t)n, &pm) == PROTO_STATUS &&
	    pm.status.overload_refused == 3 && pm.status.busy == 1, "overload_refused: the engine's 2 and the broker's 1; busy counts it");
	close(a);
	close(efd);
	broker_wait();
}

/* A trace of REQ_A that the engine starts and ends (destination, 2 hops), read to its END. */
static void
trace_to_end(const char *what)
{
	char line[PROTO_LINE_MAX + 1];
	uint32_t h;
	int a = cl_open(what);

	cl_puts(a, REQ_A);
	h = eng_expect_start(what, REQ_A);
	eng_send(EMSG_STARTED, h, NULL, NULL, 0);
	cl_line(a, line, sizeof(line));
	eng_send(EMSG_END, h, "destination", "", 2);
	cl_line(a, line, sizeof(line));
	close(a);
}

static void
test_status(void)
{
	char line[PROTO_LINE_MAX + 1], out[2048];
	struct proto_msg pm;
	struct emsg m;
	int a, b, n, pfd[2], status;
	pid_t p;

	start_broker();
	trace_to_end("status");

	a = cl_open("status 1");
	b = cl_open("status 2");
	cl_puts(a, "STATUS\n");
	cl_puts(b, "STATUS\n");
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_STATUS, "STATUS: EMSG_STATUS");
	{
		struct pollfd pf = { efd, POLLIN, 0 };

		ok(poll(&pf, 1, 300) == 0, "two callers at once: one record to the engine");
	}
	memset(&m, 0, sizeof(m));
	m.type = EMSG_STATUS_ANSWER;
	m.u.status.probes_sent = 42;
	m.u.status.replies_matched = 40;
	m.u.status.icmp_unmatched = 3;
	m.u.status.icmp_foreign = 4;
	m.u.status.bad_packets = 5;
	m.u.status.overload_refused = 6;
	send(efd, &m, sizeof(m), MSG_NOSIGNAL);
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_STATUS, "the answer: %.*s", LINE(line));
	ok(pm.status.probes_sent == 42 && pm.status.replies_matched == 40 &&
	    pm.status.icmp_unmatched == 3 && pm.status.icmp_foreign == 4 &&
	    pm.status.bad_packets == 5 && pm.status.overload_refused == 6, "the engine's counters");
	ok(pm.status.traces_done == 1 && pm.status.traces_running == 0 &&
	    pm.status.db_errors == 0 && pm.status.enrich_requests == 0 &&
	    pm.status.uptime_s < 60, "the broker's counters");
	ok(pm.status.fleet_connected == PROTO_STATUS_UNKNOWN && strstr(line, "fleet_") == NULL,
	    "without PostgreSQL, no fleet counters");
	ok(pm.status.queue_drops == PROTO_STATUS_UNKNOWN && strstr(line, "queue_drops") == NULL,
	    "queue drops are left out when no queue of ours is in the kernel's table");
	ok(cl_eof(a), "then the broker closes");
	cl_line(b, line, sizeof(line));
	ok(strncmp(line, "STATUS uptime_s=", 16) == 0, "the second caller gets the same answer");
	close(a);
	close(b);

	/* tracetroutd --status, in a child: we play the engine. */
	if (pipe(pfd) < 0)
		return;
	fflush(stdout);
	if ((p = fork()) == 0) {
		FILE *fp = fdopen(pfd[1], "w");

		close(pfd[0]);
		_exit(broker_status(&cfg, fp));
	}
	close(pfd[1]);
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_STATUS, "--status asks the engine");
	memset(&m, 0, sizeof(m));
	m.type = EMSG_STATUS_ANSWER;
	m.u.status.probes_sent = 7;
	send(efd, &m, sizeof(m), MSG_NOSIGNAL);
	n = 0;
	for (ssize_t r; (r = read(pfd[0], out + n, sizeof(out) - 1 - (size_t)n)) > 0;)
		n += (int)r;
	out[n] = '\0';
	close(pfd[0]);
	waitpid(p, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "--status exits 0");
	ok(strncmp(out, "uptime_s ", 9) == 0 && strstr(out, "\nprobes_sent 7\n") &&
	    strstr(out, "\ntraces_done 1\n") && strstr(out, "\nenrich_requests 0\n"),
	    "--status prints the counters one a line");

	close(efd);
	broker_wait();
	fflush(stdout);
	if ((p = fork()) == 0) {
		FILE *fp = fopen("/dev/null", "w");

		(void)freopen("/dev/null", "w", stderr);
		_exit(broker_status(&cfg, fp));
	}
	waitpid(p, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1,
	    "--status without a helper running exits 1");
}

/* A connection to the metrics' unix socket (cfg.metrics), waiting for it to exist; -1 if none. */
static int
metrics_connect(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, cfg.metrics, strlen(cfg.metrics));
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		close(fd);
		usleep(10000);
	}
	return -1;
}

/* What comes back on fd until the broker closes it (WAIT_MS at most), NUL-terminated; its length. */
static size_t
metrics_read(int fd, char *buf, size_t len)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t n = 0;
	ssize_t r;

	while (n < len - 1 && poll(&p, 1, WAIT_MS) > 0 && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

/* Sends req on a new connection to the metrics; the answer in buf, its length returned. */
static size_t
metrics_ask(const char *req, size_t reqlen, char *buf, size_t len)
{
	int fd = metrics_connect();
	size_t n = 0;

	buf[0] = '\0';
	if (fd >= 0 && write(fd, req, reqlen) == (ssize_t)reqlen)
		n = metrics_read(fd, buf, len);
	if (fd >= 0)
		close(fd);
	return n;
}

/* Is nothing more sent to the engine within 300 ms? */
static bool
engine_quiet(void)
{
	struct pollfd pf = { efd, POLLIN, 0 };

	return poll(&pf, 1, 300) == 0;
}

/*
 * The metrics on a unix socket: a scrape and a STATUS share one question
 * to the engine; the text has the engine's counters and the broker's own
 * (a trace ended by reason, its site, the store's commits); a request that
 * is not one is answered at once without asking the engine.
 */
static void
test_metrics(void)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
	char line[PROTO_LINE_MAX + 1], out[65536], want[256], *body;
	struct passwd *pw = getpwuid(getuid());
	struct emsg m;
	size_t n;
	int s, g;

	snprintf(cfg.metrics, sizeof(cfg.metrics), "%s/run/metrics.sock", tmpdir);
	start_broker();
	trace_to_end("metrics");

	g = metrics_connect();
	ok(g >= 0 && write(g, get, sizeof(get) - 1) == (ssize_t)sizeof(get) - 1,
	    "metrics: a scrape on %s", cfg.metrics);
	s = cl_open("metrics and STATUS");
	cl_puts(s, "STATUS\n");
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_STATUS, "the engine is asked");
	ok(engine_quiet(), "a scrape and a STATUS at once: one record to the engine");
	memset(&m, 0, sizeof(m));
	m.type = EMSG_STATUS_ANSWER;
	m.u.status.probes_sent = 77;
	m.u.status.icmp_unmatched = 5;
	m.u.status.rss_bytes = 409600;
	send(efd, &m, sizeof(m), MSG_NOSIGNAL);
	n = metrics_read(g, out, sizeof(out));
	close(g);
	body = strstr(out, "\r\n\r\n");
	ok(strncmp(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\n", 73) == 0, "200, the text format's type");
	snprintf(want, sizeof(want), "\r\nContent-Length: %zu\r\n",
	    body != NULL ? n - (size_t)(body + 4 - out) : 0);
	ok(body != NULL && strstr(out, want) != NULL && strstr(out, "\r\nConnection: close\r\n"),
	    "Content-Length is the body's (%zu bytes), and the connection closes", n);
	ok(body != NULL && strstr(body, "\ntracetrout_probes_sent_total 77\n") &&
	    strstr(body, "\ntracetrout_icmp_unmatched_total 5\n"), "the engine's counters");
	ok(body != NULL && strstr(body, "\ntracetrout_resident_memory_bytes{process=\"engine\"} "
	    "409600\n") && strstr(body, "\ntracetrout_resident_memory_bytes{process=\"broker\"} "),
	    "the engine's memory as it said, and the broker's");
	ok(body != NULL && strstr(body, "\ntracetrout_traces_ended_total{reason=\"destination\"} "
	    "1\n") && strstr(body, "\ntracetrout_traces_ended_total{reason=\"gap-limit\"} 0\n"),
	    "the trace ended, by its reason");
	snprintf(want, sizeof(want), "\ntracetrout_site_traces_ended_total{site=\"%s\",uid=\"%u\"} 1\n",
	    pw != NULL ? pw->pw_name : "?", (unsigned)getuid());
	ok(body != NULL && strstr(body, want) != NULL, "its site, by the user's name: %.*s",
	    (int)strlen(want) - 2, want + 1);
	ok(body != NULL && strstr(body, "\ntracetrout_site_traces_stored{site=") != NULL &&
	    strstr(body, "\ntracetrout_db_commit_duration_seconds_count 0\n") == NULL &&
	    strstr(body, "\ntracetrout_db_commit_duration_seconds_bucket{le=\"+Inf\"} ") != NULL,
	    "a database: stored counts, and its commits timed");
	ok(body != NULL && strstr(body, "198.51.100.7") == NULL, "no visitor's address");
	cl_line(s, line, sizeof(line));
	ok(strncmp(line, "STATUS uptime_s=", 16) == 0 && strstr(line, " probes_sent=77 "),
	    "STATUS got the same answer: %.*s", LINE(line));
	close(s);

	n = metrics_ask("\x16\x03\x01\x02\x00\x01", 6, out, sizeof(out));
	ok(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "garbage: 400 at once (%zu bytes)",
	    n);
	metrics_ask("POST /metrics HTTP/1.1\r\n\r\n", 27, out, sizeof(out));
	ok(strncmp(out, "HTTP/1.1 405 ", 13) == 0 && strstr(out, "\r\nAllow: GET, HEAD\r\n"),
	    "POST: 405 with Allow");
	metrics_ask("GET / HTTP/1.0\r\n\r\n", 18, out, sizeof(out));
	ok(strncmp(out, "HTTP/1.1 404 ", 13) == 0, "GET /: 404");
	ok(engine_quiet(), "none of them asked the engine");

	/* HEAD: the length the body would have, no body. */
	g = metrics_connect();
	ok(g >= 0 && write(g, "HEAD /metrics HTTP/1.1\r\n\r\n", 27) == 27, "HEAD");
	ok(eng_recv(&m) == (int)sizeof(m) && m.type == EMSG_STATUS, "HEAD asks the engine too");
	memset(&m, 0, sizeof(m));
	m.type = EMSG_STATUS_ANSWER;
	send(efd, &m, sizeof(m), MSG_NOSIGNAL);
	n = metrics_read(g, out, sizeof(out));
	close(g);
	body = strstr(out, "\r\n\r\n");
	ok(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0 && body != NULL && body[4] == '\0' &&
	    strstr(out, "\r\nContent-Length: 0\r\n") == NULL, "HEAD: 200, a length, no body");

	close(efd);
	ok(broker_wait() >= 0, "the broker stops with its engine");
	ok(access(cfg.metrics, F_OK) < 0 && errno == ENOENT, "its metrics socket is removed");
	cfg.metrics[0] = '\0';
}

/* A child connecting as nobody:nogroup; returns 0 if it was let in (PONG), 1 if forbidden. */
static int
as_nobody(void)
{
	int status;
	pid_t p;

	fflush(stdout);
	if ((p = fork()) == 0) {
		char line[PROTO_LINE_MAX + 1];
		int fd;

		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		/* A greeting other than TRACETROUT 1 fails here too. */
		if ((fd = cl_connect()) < 0)
			_exit(4);
		cl_puts(fd, "PING\n");
		cl_line(fd, line, sizeof(line));
		if (strcmp(line, "PONG\n") == 0)
			_exit(0);
		if (strncmp(line, "ERROR code=forbidden ", 21) == 0 && cl_eof(fd))
			_exit(1);
		_exit(6);
	}
	waitpid(p, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_forbidden(void)
{
	char line[PROTO_LINE_MAX + 1], users[sizeof(cfg.allow_users)];
	int a;

	snprintf(users, sizeof(users), "%s", cfg.allow_users);
	if (getuid() == 0) {
		/* nobody must reach the socket: the test's directories and the socket open to all. */
		chmod(tmpdir, 0755);
		cfg.socket_mode = 0666;
		snprintf(cfg.allow_users, sizeof(cfg.allow_users), "root");
		snprintf(cfg.allow_groups, sizeof(cfg.allow_groups), "%s", "");
		start_broker();
		is_int(as_nobody(), 1, "a uid not allowed gets ERROR code=forbidden after the "
		    "greeting, then a closed connection");
		a = cl_open("root");
		cl_puts(a, "PING\n");
		cl_line(a, line, sizeof(line));
		is_str(line, "PONG\n", "root is always allowed");
		close(a);
		close(efd);
		broker_wait();
		snprintf(cfg.allow_users, sizeof(cfg.allow_users), "daemon, nobody");
		start_broker();
		is_int(as_nobody(), 0, "allow-users names the user: let in");
		close(efd);
		broker_wait();
		snprintf(cfg.allow_users, sizeof(cfg.allow_users), "root");
		snprintf(cfg.allow_groups, sizeof(cfg.allow_groups), "nogroup");
		start_broker();
		is_int(as_nobody(), 0, "allow-groups names its group: let in");
		close(efd);
		broker_wait();
		cfg.socket_mode = 0660;
	} else {
		snprintf(cfg.allow_users, sizeof(cfg.allow_users), "root");
		snprintf(cfg.allow_groups, sizeof(cfg.allow_groups), "%s", "");
		start_broker();
		a = cl_open("not allowed");
		cl_line(a, line, sizeof(line));
		ok(strncmp(line, "ERROR code=forbidden ", 21) == 0, "a uid not allowed: %.*s",
		    LINE(line));
		ok(cl_eof(a), "then the broker closes");
		close(a);
		close(efd);
		broker_wait();
		ok(1, "allow-users names the user # SKIP not root: cannot connect as another");
		ok(1, "allow-groups names its group # SKIP not root");
	}
	snprintf(cfg.allow_users, sizeof(cfg.allow_users), "no-such-user-tt");
	start_broker();
	is_int(broker_wait(), 1, "an allow-users name that does not exist stops the start");
	close(efd);
	snprintf(cfg.allow_users, sizeof(cfg.allow_users), "%s", users);
	snprintf(cfg.allow_groups, sizeof(cfg.allow_groups), "www-data");
	snprintf(cfg.socket_group, sizeof(cfg.socket_group), "no-such-group-tt");
	start_broker();
	is_int(broker_wait(), 1, "a socket-group that does not exist stops the start");
	close(efd);
	snprintf(cfg.socket_group, sizeof(cfg.socket_group), "%s",
	    getuid() == 0 && getgrnam("www-data") ? "www-data" : "");
}

static int
dbx(const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open_v2(cfg.db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static char last_token[PROTO_ID_LEN + 1];	/* the last one_trace's delete token */

/* A whole trace of two hops; returns the STARTED and END lines' stored= and the id. */
static void
one_trace(const char *what, int *st_started, int *st_end, char *id)
{
	char line[PROTO_LINE_MAX + 1];
	struct proto_msg pm;
	uint32_t h;
	int a, n;

	a = cl_open(what);
	cl_puts(a, REQ_B);
	h = eng_expect_start(what, REQ_B);
	eng_send(EMSG_STARTED, h, NULL, NULL, 0);
	n = cl_line(a, line, sizeof(line));
	*st_started = proto_parse(line, (size_t)n, &pm) == PROTO_STARTED ? pm.stored : -9;
	snprintf(id, PROTO_ID_LEN + 1, "%s", pm.id);
	snprintf(last_token, sizeof(last_token), "%s", pm.token);
	eng_hop(h, 1, 3, 1);
	eng_hop(h, 2, 3, 2);
	eng_send(EMSG_END, h, "destination", "", 2);
	cl_line(a, line, sizeof(line));
	cl_line(a, line, sizeof(line));
	n = cl_line(a, line, sizeof(line));
	ok(n > 0 && proto_parse(line, (size_t)n, &pm) == PROTO_END, "%s: the trace streams to its "
	    "END: %.*s", what, LINE(line));
	*st_end = pm.stored;
	close(a);
}

static enum proto_verb ask(const char *, const char *, char *, size_t, struct proto_msg *);

static void
test_storage(void)
{
	char id[PROTO_ID_LEN + 1], sql[256], line[PROTO_LINE_MAX + 1];
	struct proto_msg pm;
	struct emsg m;
	uint32_t h;
	int s1, s2, a, n;

	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db/storage.db", tmpdir);
	cfg.hop_offset = 0;
	start_broker();
	one_trace("stored", &s1, &s2, id);
	ok(s1 == 1 && s2 == 1, "a trace stored whole: STARTED and END say stored=1");
	snprintf(sql, sizeof(sql), "SELECT (ended_at IS NOT NULL) || ' ' || (SELECT count(*) FROM "
	    "hops WHERE " OF_TRACE("%s") ") FROM traces WHERE id = '%s'", id, id);
	is_str(q1(sql), "1 2", "it is in the database, ended, with its hops");

	/* A disk that is full from the start: the insert of the trace fails. */
	ok(dbx("CREATE TRIGGER full BEFORE INSERT ON traces BEGIN "
	    "SELECT RAISE(ABORT, 'database or disk is full (test)'); END") == 0,
	    "the trace insert now fails (a trigger stands in for a full disk)");
	one_trace("full disk", &s1, &s2, id);
	ok(s1 == 0 && s2 == 0, "STARTED stored=0, END stored=0, and the trace still streams");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM traces WHERE id = '%s'", id);
	is_str(q1(sql), "0", "it is not in the database");

	/* Full in the middle: the trace row went in, a hop does not. */
	ok(dbx("DROP TRIGGER full; CREATE TRIGGER full BEFORE INSERT ON hops WHEN NEW.ttl = 2 "
	    "BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END") == 0,
	    "the second hop's insert now fails");
	one_trace("full mid-trace", &s1, &s2, id);
	ok(s1 == 1 && s2 == 0, "STARTED stored=1, then END stored=0");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM traces WHERE id = '%s'", id);
	is_str(q1(sql), "0", "the incomplete trace is removed, not kept without its hop");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM hops WHERE " OF_TRACE("%s"), id);
	is_str(q1(sql), "0", "... with its first hop");

	ok(dbx("DROP TRIGGER full") == 0, "the disk has room again");
	one_trace("room again", &s1, &s2, id);
	ok(s1 == 1 && s2 == 1, "stored again");
	is_str(q1("PRAGMA integrity_check"), "ok", "the database passes integrity_check");

	a = cl_open("db errors");
	cl_puts(a, "STATUS\n");
	eng_recv(&m);
	memset(&m, 0, sizeof(m));
	m.type = EMSG_STATUS_ANSWER;
	send(efd, &m, sizeof(m), MSG_NOSIGNAL);
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_STATUS && pm.status.db_errors == 2 &&
	    pm.status.traces_done == 4, "STATUS counts the 2 failed writes: %.*s", LINE(line));
	close(a);

	/* Root (the administrator) sees every site: here root's own traces. */
	a = cl_open("sites");
	cl_puts(a, "SITES\n");
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_SITE && pm.site.uid == 0 &&
	    pm.site.done == 4 && pm.site.stored == 2 && pm.site.running == 0 &&
	    pm.site.refused == 0, "SITES: four traces ended, two stored: %.*s", LINE(line));
	snprintf(sql, sizeof(sql), "UPDATE traces SET uid = 33 WHERE id = '%s'", id);
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_LIST && cl_eof(a), "then LIST and the end");
	close(a);
	ok(dbx(sql) == 0, "one stored trace now belongs to uid 33");
	a = cl_open("sites again");
	cl_puts(a, "SITES\n");
	n = cl_line(a, line, sizeof(line));
	n += cl_line(a, line + n, sizeof(line) - (size_t)n);
	ok(strcmp(line, "SITE uid=0 running=0 done=4 refused=0 stored=1\n"
	    "SITE uid=33 running=0 done=0 refused=0 stored=1\n") == 0,
	    "a site with stored traces only is listed too");
	close(a);

	/* proxy= is kept with the trace, and read back. */
	a = cl_open("proxy");
	cl_puts(a, "TRACE client=2001:db8::7 cport=40001 server=2001:db8::10 sport=80 proxy=via\n");
	h = eng_expect_start("proxy", "TRACE client=2001:db8::7 cport=40001 server=2001:db8::10 "
	    "sport=80 proxy=via\n");
	eng_send(EMSG_STARTED, h, NULL, NULL, 0);
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_STARTED && pm.req.proxy == PROTO_PROXY_VIA,
	    "STARTED repeats proxy=via: %.*s", LINE(line));
	snprintf(id, sizeof(id), "%s", pm.id);
	eng_send(EMSG_END, h, "destination", "", 0);
	cl_line(a, line, sizeof(line));
	close(a);
	snprintf(sql, sizeof(sql), "GET id=%s\n", id);
	ok(ask("proxy GET", sql, line, sizeof(line), &pm) == PROTO_STORED &&
	    pm.req.proxy == PROTO_PROXY_VIA, "GET's STORED says proxy=via: %.*s", LINE(line));
	close(efd);
	broker_wait();

	/* A database that cannot be opened: traces run, not stored. */
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db", tmpdir);	/* a directory */
	start_broker();
	one_trace("no database", &s1, &s2, id);
	ok(s1 == 0 && s2 == 0, "a database that cannot be opened: stored=0, the trace runs");
	close(efd);
	broker_wait();
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db/tt.db", tmpdir);
}

/* Sends one request line and returns the first answer line's verb; the answer stays in line. */
static enum proto_verb
ask(const char *what, const char *req, char *line, size_t len, struct proto_msg *pm)
{
	int a = cl_open(what), n;

	cl_puts(a, req);
	n = cl_line(a, line, len);
	close(a);
	return n > 0 ? proto_parse(line, (size_t)n, pm) : PROTO_BAD;
}

static void
test_history(void)
{
	char id[PROTO_ID_LEN + 1], tok[PROTO_ID_LEN + 1], req[256], sql[256];
	char line[PROTO_LINE_MAX + 1];
	struct proto_msg pm;
	int s1, s2, a, n;

	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db/history.db", tmpdir);
	cfg.hop_offset = 0;
	start_broker();
	one_trace("for history", &s1, &s2, id);
	snprintf(tok, sizeof(tok), "%s", last_token);
	ok(strlen(tok) == PROTO_ID_LEN && strcmp(tok, id) != 0,
	    "STARTED gives a delete token that is not the id");

	/* GET: STORED, the hops as they streamed, END, then the broker closes. */
	a = cl_open("get");
	snprintf(req, sizeof(req), "GET id=%s\n", id);
	cl_puts(a, req);
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_STORED && strcmp(pm.id, id) == 0 &&
	    pm.req.cport == 40000 && pm.addr_mode == PROTO_ADDR_FULL && pm.started_ms > 0 &&
	    pm.retention_s == 30 * 86400 && pm.token[0] == '\0', "GET: STORED first, no token: %.*s",
	    LINE(line));
	cl_line(a, line, sizeof(line));
	is_str(line, "HOP ttl=1 sent=3 reply=192.0.2.1,400,time-exceeded,0,64,0,0,0,-,-\n",
	    "GET: hop 1 as it streamed, without at_us");
	cl_line(a, line, sizeof(line));
	is_str(line, "HOP ttl=2 sent=3 reply=192.0.2.1,400,time-exceeded,0,64,0,0,0,-,- "
	    "reply=192.0.2.1,401,time-exceeded,0,64,0,0,0,-,-\n", "GET: hop 2");
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_END && strcmp(pm.code, "destination") == 0 &&
	    pm.hops == 2 && pm.stored == 1, "GET: END: %.*s", LINE(line));
	ok(cl_eof(a), "GET: then the broker closes");
	close(a);
	is_int(ask("get unknown", "GET id=0123456789abcdef0123456789abcdef\n", line, sizeof(line),
	    &pm), PROTO_ERROR, "GET of an unknown id");
	is_str(pm.code, "unknown-trace", "... is unknown-trace");
	is_int(ask("get bad", "GET id=../../etc/passwd\n", line, sizeof(line), &pm), PROTO_ERROR,
	    "GET of a malformed id");
	is_str(pm.code, "bad-request", "... is bad-request");

	/* HISTORY of REQ_B's visitor. */
	a = cl_open("history");
	cl_puts(a, "HISTORY client=2001:db8::7 limit=5\n");
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_ITEM && strcmp(pm.id, id) == 0 &&
	    pm.path_len == 19 && memcmp(pm.path, "192.0.2.1,192.0.2.1", 19) == 0,
	    "HISTORY: an ITEM with the path: %.*s", LINE(line));
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_LIST && pm.more == 0, "HISTORY: LIST more=0");
	ok(cl_eof(a), "HISTORY: then the broker closes");
	close(a);
	is_int(ask("history other", "HISTORY client=2001:db8::8\n", line, sizeof(line), &pm),
	    PROTO_LIST, "another visitor's history is empty");

	/* DELETE needs the token. */
	snprintf(req, sizeof(req), "DELETE id=%s token=%s\n", id, id);
	is_int(ask("delete wrong", req, line, sizeof(line), &pm), PROTO_ERROR, "DELETE, wrong token");
	is_str(pm.code, "bad-token", "... is bad-token");
	snprintf(req, sizeof(req), "DELETE id=%s token=%s\n", id, tok);
	is_int(ask("delete", req, line, sizeof(line), &pm), PROTO_DELETED, "DELETE with the token");
	snprintf(req, sizeof(req), "GET id=%s\n", id);
	is_int(ask("get deleted", req, line, sizeof(line), &pm), PROTO_ERROR, "GET after DELETE");
	is_str(pm.code, "unknown-trace", "... is unknown-trace");

	/* store=0: traced, not kept, no token. */
	a = cl_open("nostore");
	cl_puts(a, "TRACE client=2001:db8::7 cport=40000 server=2001:db8::10 sport=80 store=0\n");
	{
		uint32_t h = eng_expect_start("nostore", REQ_B);

		eng_send(EMSG_STARTED, h, NULL, NULL, 0);
		n = cl_line(a, line, sizeof(line));
		ok(proto_parse(line, (size_t)n, &pm) == PROTO_STARTED && pm.stored == 0 &&
		    pm.token[0] == '\0', "store=0: STARTED stored=0 without a token: %.*s", LINE(line));
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM traces WHERE id = '%s'", pm.id);
		eng_send(EMSG_END, h, "destination", "", 0);
	}
	cl_line(a, line, sizeof(line));
	close(a);
	is_str(q1(sql), "0", "store=0: nothing in the database");

	/* A trace older than the retention, then a restart: the sweep at start deletes it. */
	ok(dbx("UPDATE traces SET started_at = 1") == 0, "every trace made 56 years old");
	one_trace("before restart", &s1, &s2, id);
	close(efd);
	broker_wait();
	cfg.truncate_clients = 1;
	start_broker();
	is_int(atoi(q1("SELECT count(*) FROM traces WHERE started_at = 1")), 0,
	    "the retention sweep at start deleted the old traces");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM traces WHERE id = '%s'", id);
	is_str(q1(sql), "1", "... and kept the new one");

	/* Truncated addresses: stored as the /24, no history. */
	one_trace("truncated", &s1, &s2, id);
	snprintf(sql, sizeof(sql), "SELECT client || ' ' || client_prefix FROM traces WHERE id = '%s'",
	    id);
	is_str(q1(sql), "2001:db8:: 1", "truncate-clients stores the /48");
	snprintf(req, sizeof(req), "GET id=%s\n", id);
	is_int(ask("get truncated", req, line, sizeof(line), &pm), PROTO_STORED,
	    "a truncated trace is served by its permalink");
	is_int(pm.addr_mode, PROTO_ADDR_PREFIX, "... saying addr=prefix");
	is_int(ask("history off", "HISTORY client=2001:db8::7\n", line, sizeof(line), &pm),
	    PROTO_ERROR, "HISTORY with truncation");
	is_str(pm.code, "history-off", "... is history-off");
	close(efd);
	broker_wait();
	cfg.truncate_clients = 0;

	cfg.db_path[0] = '\0';
	start_broker();
	is_int(ask("no db", "GET id=0123456789abcdef0123456789abcdef\n", line, sizeof(line), &pm),
	    PROTO_ERROR, "GET without a database");
	is_str(pm.code, "no-storage", "... is no-storage");
	close(efd);
	broker_wait();
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db/tt.db", tmpdir);
}

/* --- hop enrichment against tests/lib/infoserver.py, the stand-in for whereabouts --- */

static pid_t infopid;
static int infoport;

static int
info_start(void)
{
	char portfile[300], script[600];
	FILE *f;

	snprintf(portfile, sizeof(portfile), "%s/info.port", tmpdir);
	snprintf(script, sizeof(script), "%s/tests/lib/infoserver.py",
	    getenv("top_srcdir") ? getenv("top_srcdir") : "..");
	if ((infopid = fork()) == 0) {
		execlp("python3", "python3", script, "--listen", "127.0.0.1:0", "--port-file",
		    portfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		if ((f = fopen(portfile, "r")) != NULL) {
			int ok1 = fscanf(f, "%d", &infoport) == 1;

			fclose(f);
			if (ok1)
				return 0;
		}
		usleep(50000);
	}
	return -1;
}

/* The service's request count (GET /count's total), through curl; -1 if unknown. */
static int
info_count(void)
{
	char cmd[200], buf[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "curl -s http://127.0.0.1:%d/count | sed -n "
	    "'s/.*\"total\": *\\([0-9]*\\).*/\\1/p'", infoport);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), p) == NULL)
		buf[0] = '\0';
	pclose(p);
	return buf[0] ? atoi(buf) : -1;
}

/* The body (len bytes and '\n') after the INFO line cl_line read last; 0 if it is all there. */
static int
cl_body(int fd, size_t len, char *buf, size_t size)
{
	struct bclient *c = cl_of(fd);

	if (c == NULL || c->body == NULL || c->body_len != len || len + 2 > size)
		return -1;
	memcpy(buf, c->body, len);
	buf[len] = '\n';
	buf[len + 1] = '\0';
	return 0;
}

/* A trace of one hop answered from addr; the lines it got, their verbs in order, in got. */
static void
enrich_trace(const char *what, const char *req, const char *addr, char *id, char *got, size_t glen,
    char *body, size_t blen)
{
	char line[PROTO_LINE_MAX + 1];
	struct proto_msg pm;
	uint32_t h;
	int a, n;

	got[0] = '\0';
	body[0] = '\0';
	a = cl_open(what);
	cl_puts(a, req);
	h = eng_expect_start(what, req);
	eng_send(EMSG_STARTED, h, NULL, NULL, 0);
	n = cl_line(a, line, sizeof(line));
	if (proto_parse(line, (size_t)n, &pm) == PROTO_STARTED)
		snprintf(id, PROTO_ID_LEN + 1, "%s", pm.id);
	eng_hop_from(h, 1, 2, 2, addr);
	eng_send(EMSG_END, h, "destination", "", 1);
	while ((n = cl_line(a, line, sizeof(line))) > 0) {
		enum proto_verb v = proto_parse(line, (size_t)n, &pm);

		snprintf(got + strlen(got), glen - strlen(got), "%s%.*s", got[0] ? " " : "",
		    (int)strcspn(line, " \n"), line);
		if (v == PROTO_INFO && cl_body(a, pm.info_len, body, blen) < 0)
			snprintf(got + strlen(got), glen - strlen(got), "(body?)");
		if (v == PROTO_INFO)
			snprintf(got + strlen(got), glen - strlen(got), "(%s)",
			    pm.info.country[0] ? "country" : "-");
	}
	close(a);
}

/* One reply of a hop, or of a late answer, from one address, quoting edst when not NULL. */
static void
eng_reply(uint32_t type, uint32_t handle, int ttl, const char *from, const char *edst)
{
	struct emsg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.trace = handle;
	m.u.hop.ttl = ttl;
	m.u.hop.sent = 1;
	m.u.hop.nreplies = 1;
	addr_parse(from, &m.u.hop.r[0].from);
	if (edst != NULL)
		addr_parse(edst, &m.u.hop.r[0].edst);
	m.u.hop.r[0].rtt_us = 700;
	m.u.hop.r[0].kind = type == EMSG_LATE ? REPLY_TIME_EXCEEDED : REPLY_DESTINATION;
	m.u.hop.r[0].reply_ttl = 60;
	m.u.hop.r[0].flags = type == EMSG_LATE ? PROTO_RF_LATE : 0;
	if (send(efd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		printf("# engine send: %s\n", strerror(errno));
}

/*
 * truncate-clients (issue 13): the visitor 198.51.100.7 is kept as
 * 198.51.100.0, and so is every hop address in its /24 (a host of its
 * network, the visitor's own answer, a late one, a NAT's quoted
 * destination): on the live lines, in the database, and never asked of the
 * info service, nor in the log.
 */
static void
test_truncated_hops(void)
{
	const char *req = "TRACE client=198.51.100.7 cport=40000 server=192.0.2.10 sport=80 wait=1\n";
	char id[PROTO_ID_LEN + 1] = "", line[PROTO_LINE_MAX + 1], got[2048] = "", sql[512];
	struct proto_msg pm;
	uint32_t h;
	int a, n, c0;

	cfg.truncate_clients = 1;
	start_broker();
	c0 = info_count();
	a = cl_open("truncated hops");
	cl_puts(a, req);
	h = eng_expect_start("truncated hops", req);
	eng_send(EMSG_STARTED, h, NULL, NULL, 0);
	n = cl_line(a, line, sizeof(line));
	if (proto_parse(line, (size_t)n, &pm) == PROTO_STARTED)
		snprintf(id, sizeof(id), "%s", pm.id);
	eng_reply(EMSG_HOP, h, 1, "203.0.113.1", NULL);
	eng_reply(EMSG_HOP, h, 2, "203.0.113.2", "198.51.100.9");
	eng_reply(EMSG_HOP, h, 3, "198.51.100.1", NULL);
	eng_reply(EMSG_HOP, h, 4, "198.51.100.7", NULL);
	eng_send(EMSG_END, h, "destination", "", 4);
	while ((n = cl_line(a, line, sizeof(line))) > 0) {
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%.*s|", LINE(line));
		if (proto_parse(line, (size_t)n, &pm) == PROTO_INFO) {
			char body[1024];

			cl_body(a, pm.info_len, body, sizeof(body));
		}
	}
	close(a);
	/* After the end, when the trace is gone: a late answer from the visitor itself. */
	eng_reply(EMSG_LATE, h, 3, "198.51.100.7", NULL);
	ok(strstr(got, "198.51.100.7") == NULL && strstr(got, "198.51.100.1,") == NULL &&
	    strstr(got, "198.51.100.9") == NULL, "the live lines never show the visitor's /24 "
	    "but as 198.51.100.0: %s", got);
	ok(strstr(got, "HOP ttl=4 sent=1 reply=198.51.100.0,") != NULL &&
	    strstr(got, "HOP ttl=3 sent=1 reply=198.51.100.0,") != NULL,
	    "... the visitor's answer and its network's router show as 198.51.100.0");
	ok(strstr(got, "HOP ttl=2 sent=1 reply=203.0.113.2,") != NULL &&
	    strstr(strstr(got, "HOP ttl=2 "), ",198.51.100.0,") != NULL,
	    "... and so does a NAT's quoted destination there");
	usleep(200000);
	snprintf(sql, sizeof(sql), "SELECT client || ' ' || (SELECT group_concat(addr || '>' || "
	    "coalesce(edst, '-'), ' ') FROM (SELECT addr, edst FROM replies WHERE " OF_TRACE("%s") " "
	    "ORDER BY ttl, idx)) FROM traces WHERE id = '%s'", id, id);
	is_str(q1(sql), "198.51.100.0 203.0.113.1>- 203.0.113.2>198.51.100.0 198.51.100.0>- "
	    "198.51.100.0>- 198.51.100.0>-", "stored: the visitor, its network's hops, the NAT's "
	    "quoted destination and the late answer, all as 198.51.100.0");
	is_str(q1("SELECT count(*) FROM lookups WHERE addr LIKE '198.51.100.%'"), "0",
	    "nothing of the visitor's /24 in the look-up cache");
	is_int(info_count() - c0, 2, "the info service was asked about the two routers only");
	close(efd);
	broker_wait();
	cfg.truncate_clients = 0;
}

static void
test_enrich(void)
{
	char id[PROTO_ID_LEN + 1], got[256], body[1024], req[256];
	const char *trace_wait = "TRACE client=2001:db8::7 cport=40000 server=2001:db8::10 sport=80 wait=1\n";
	const char *trace_nowait = "TRACE client=2001:db8::7 cport=40000 server=2001:db8::10 sport=80\n";
	int c0, a, n;
	char line[PROTO_LINE_MAX + 1];
	struct proto_msg pm;
	uint64_t t0;

	if (info_start() < 0) {
		ok(0, "infoserver.py runs");
		return;
	}
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db/enrich.db", tmpdir);
	snprintf(cfg.info_uri, sizeof(cfg.info_uri), "http://127.0.0.1:%d/ip/{ip}", infoport);
	cfg.names = 0;
	cfg.hop_offset = 0;
	start_broker();

	c0 = info_count();
	enrich_trace("first", trace_wait, "10.77.3.1", id, got, sizeof(got), body, sizeof(body));
	is_str(got, "HOP INFO(country) END", "wait=1: the hop at once, then its INFO, then END");
	ok(body[0] == '{' && strstr(body, "\"country\"") != NULL, "... with the service's body: %.60s",
	    body);
	enrich_trace("cached", trace_wait, "10.77.3.1", id, got, sizeof(got), body, sizeof(body));
	is_str(got, "INFO(country) HOP END", "a cached answer comes before its HOP");
	is_int(info_count() - c0, 1, "two traces of one address: one request to the service");
	{
		struct emsg em;

		a = cl_open("status enriched");
		cl_puts(a, "STATUS\n");
		eng_recv(&em);
		memset(&em, 0, sizeof(em));
		em.type = EMSG_STATUS_ANSWER;
		send(efd, &em, sizeof(em), MSG_NOSIGNAL);
		n = cl_line(a, line, sizeof(line));
		ok(proto_parse(line, (size_t)n, &pm) == PROTO_STATUS && pm.status.enrich_requests == 1,
		    "STATUS counts the one look-up that ended, not the cache's answer: %.*s",
		    LINE(line));
		close(a);
	}
	snprintf(req, sizeof(req), "GET id=%s\n", id);
	a = cl_open("get enriched");
	cl_puts(a, req);
	cl_line(a, line, sizeof(line));
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_INFO && cl_body(a, pm.info_len, body,
	    sizeof(body)) == 0, "GET: the info kept with the trace follows STORED: %.*s", LINE(line));
	n = cl_line(a, line, sizeof(line));
	ok(strncmp(line, "HOP ", 4) == 0, "... before the HOP");
	close(a);
	close(efd);
	broker_wait();

	/* A slow service: without wait=1, END does not wait; the answer is still kept. */
	snprintf(cfg.info_uri, sizeof(cfg.info_uri), "http://127.0.0.1:%d/slow/ip/{ip}", infoport);
	start_broker();
	t0 = (uint64_t)time(NULL);
	enrich_trace("slow", trace_nowait, "10.77.4.1", id, got, sizeof(got), body, sizeof(body));
	is_str(got, "HOP END", "without wait=1 a slow service does not hold END");
	usleep(900000);
	snprintf(req, sizeof(req), "GET id=%s\n", id);
	a = cl_open("get slow");
	cl_puts(a, req);
	cl_line(a, line, sizeof(line));
	n = cl_line(a, line, sizeof(line));
	ok(proto_parse(line, (size_t)n, &pm) == PROTO_INFO, "... and its answer, come later, is "
	    "kept with the stored trace: %.*s", LINE(line));
	close(a);
	(void)t0;
	close(efd);
	broker_wait();

	/* A failing service: no INFO, END after the failure, and the negative cache holds. */
	snprintf(cfg.info_uri, sizeof(cfg.info_uri), "http://127.0.0.1:%d/500/ip/{ip}", infoport);
	start_broker();
	c0 = info_count();
	enrich_trace("failing", trace_wait, "10.77.5.1", id, got, sizeof(got), body, sizeof(body));
	is_str(got, "HOP END", "a failing service: no INFO, the trace whole");
	enrich_trace("failing again", trace_wait, "10.77.5.1", id, got, sizeof(got), body, sizeof(body));
	is_str(got, "HOP END", "... again");
	is_int(info_count() - c0, 1, "the negative cache held the retry back");
	close(efd);
	broker_wait();

	/* Not JSON: a failure too. */
	snprintf(cfg.info_uri, sizeof(cfg.info_uri), "http://127.0.0.1:%d/bad/ip/{ip}", infoport);
	start_broker();
	enrich_trace("not json", trace_wait, "10.77.6.1", id, got, sizeof(got), body, sizeof(body));
	is_str(got, "HOP END", "a body that is not JSON is no info");
	close(efd);
	broker_wait();

	test_truncated_hops();

	kill(infopid, SIGTERM);
	waitpid(infopid, NULL, 0);
	cfg.info_uri[0] = '\0';
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db/tt.db", tmpdir);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (tap_tmpdir(tmpdir) < 0)
		return 1;
	config_defaults(&cfg);
	snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s/run/tt.sock", tmpdir);
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/db/tt.db", tmpdir);
	cfg.hop_offset = 1;
	cfg.max_traces = 3;
	/* No reverse DNS: it would ask this machine's resolver, outside the test. */
	cfg.names = 0;
	cfg.foreground = 1;
	/* The limits have their own test; elsewhere they stay out of the way. */
	cfg.client_rate = 1000;
	cfg.client_max = 1000;
	cfg.global_rate = 100000;
	cfg.subnet_rate = cfg.prefix_rate = 1000;
	cfg.subnet_max = cfg.prefix_max = 1000;
	cfg.site_share = 100;
	cfg.site_rate = 100000;
	/* Root (always allowed) can give the socket www-data's group; others cannot. */
	if (getuid() != 0 || getgrnam("www-data") == NULL)
		cfg.socket_group[0] = '\0';
	if (getuid() != 0)
		snprintf(cfg.allow_users, sizeof(cfg.allow_users), "%u", (unsigned)getuid());

	test_requests();
	test_sigterm();
	test_malformed();
	test_history();
	test_enrich();
	cfg.hop_offset = 0;
	test_limits();
	test_status();
	test_metrics();
	test_overload();
	test_forbidden();
	test_storage();

	tap_tmpdir_remove(tmpdir);
	return tap_done();
}
