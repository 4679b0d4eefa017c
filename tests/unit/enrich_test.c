/*
 * Tests of helper/broker/enrich.c with real parts on loopback: tests/lib/infoserver.py
 * plays the INFO service, dnsmasq the DNS server, and a small forked server
 * sends what infoserver.py does not (an endless body or endless headers).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "enrich.h"
#include "tap.h"
#include "util.h"

#define SLACK_MS 800		/* on top of a timeout, for a loaded CI machine */

static char tmpdir[] = "/tmp/tt-enrich-XXXXXX";
static pid_t info_pid = -1, dns_pid = -1, raw_pid = -1;
static int info_port, dns_port, raw_port, silent_port, silent_fd = -1;

struct result {
	enum enrich_kind kind;
	char addr[ADDR_STRLEN];
	bool ok;
	char *data;
	size_t len;
	char why[128];
	double ms;		/* since the test's t0 */
};

static struct result results[64];
static int nresults;
static int in_start;		/* set around enrich_start: done must not come then */
static int done_in_start;
static int done_after_free;
static int freed;
static double t0;

static double
now_ms(void)
{
	return (double)time_us(CLOCK_MONOTONIC) / 1000;
}

static void
on_done(void *ctx, enum enrich_kind kind, const struct tt_addr *a, bool ok, const char *data,
    size_t len, const char *why)
{
	struct result *r;

	(void)ctx;
	if (in_start)
		done_in_start++;
	if (freed)
		done_after_free++;
	if (nresults == (int)(sizeof(results) / sizeof(results[0])))
		return;
	r = &results[nresults++];
	r->kind = kind;
	r->ms = now_ms() - t0;
	addr_format(a, r->addr);
	r->ok = ok;
	r->data = NULL;
	r->len = len;
	if (ok && data != NULL) {
		r->data = malloc(len + 1);
		memcpy(r->data, data, len);
		r->data[len] = '\0';
	}
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

static void
clear_results(void)
{
	for (int i = 0; i < nresults; i++)
		free(results[i].data);
	nresults = 0;
}

static struct result *
find_result(enum enrich_kind kind, const char *addr)
{
	for (int i = 0; i < nresults; i++)
		if (results[i].kind == kind && strcmp(results[i].addr, addr) == 0)
			return &results[i];
	return NULL;
}

static struct tt_addr
A(const char *s)
{
	struct tt_addr a;

	if (addr_parse(s, &a) < 0) {
		fprintf(stderr, "bad address %s\n", s);
		exit(1);
	}
	return a;
}

static int
start(struct enrich *e, enum enrich_kind kind, const char *addr)
{
	struct tt_addr a = A(addr);
	int rc;

	in_start = 1;
	rc = enrich_start(e, kind, &a);
	in_start = 0;
	return rc;
}

/* The broker's loop in small: until nothing is pending or max_ms have passed. */
static void
run(struct enrich *e, int max_ms)
{
	double end = now_ms() + max_ms;

	while (enrich_pending(e) > 0 && now_ms() < end) {
		struct pollfd pfd[256];
		int n, t, left = (int)(end - now_ms());

		n = enrich_nfds(e);
		if (n > 256)
			n = 256;
		n = enrich_pollfds(e, pfd, n);
		t = enrich_timeout_ms(e);
		if (t < 0 || t > left)
			t = left > 0 ? left : 0;
		if (poll(pfd, (nfds_t)n, t) < 0 && errno != EINTR) {
			perror("poll");
			exit(1);
		}
		enrich_events(e, pfd, n);
	}
}

/* ---- helpers: processes, ports, a blocking HTTP client ---- */

static int
free_port(int type)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, type, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("free_port");
		exit(1);
	}
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static pid_t
spawn(char *const argv[], const char *log)
{
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void
stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(-*pid, SIGTERM);
	kill(*pid, SIGTERM);
	waitpid(*pid, NULL, 0);
	*pid = -1;
}

/* GET or POST path on the info server; the body, or NULL. Blocking: for the test's own checks. */
static char *
http(const char *method, int port, const char *path, size_t *blen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[512], *buf = NULL, *body;
	size_t len = 0, cap = 0;
	int fd;
	ssize_t r;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	    method, path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 8192;
			buf = realloc(buf, cap);
		}
		if ((r = read(fd, buf + len, cap - len - 1)) <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (buf == NULL)
		return NULL;
	buf[len] = '\0';
	if ((body = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return NULL;
	}
	body += 4;
	if (blen != NULL)
		*blen = len - (size_t)(body - buf);
	memmove(buf, body, len - (size_t)(body - buf) + 1);
	return buf;
}

static int
wait_port_file(const char *path, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		FILE *fp = fopen(path, "r");
		int port = 0;

		if (fp != NULL) {
			if (fscanf(fp, "%d", &port) != 1)
				port = 0;
			fclose(fp);
			if (port > 0)
				return port;
		}
		usleep(20000);
	}
	return -1;
}

static const char *
find_infoserver(void)
{
	static char path[1024];
	const char *top = getenv("top_srcdir");
	const char *tries[] = { top, ".", "..", "../.." };

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (tries[i] == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/tests/lib/infoserver.py", tries[i]);
		if (access(path, R_OK) == 0)
			return path;
	}
	return NULL;
}

static int
start_infoserver(void)
{
	char portfile[256], log[256], listen[] = "127.0.0.1:0";
	const char *script = find_infoserver();

	if (script == NULL) {
		fprintf(stderr, "tests/lib/infoserver.py not found (set top_srcdir)\n");
		return -1;
	}
	snprintf(portfile, sizeof(portfile), "%s/info.port", tmpdir);
	snprintf(log, sizeof(log), "%s/info.log", tmpdir);
	{
		char *argv[] = { (char *)"python3", (char *)script, (char *)"--listen", listen,
		    (char *)"--port-file", portfile, NULL };

		info_pid = spawn(argv, log);
	}
	if ((info_port = wait_port_file(portfile, 10000)) < 0) {
		fprintf(stderr, "infoserver.py did not start; see %s\n", log);
		return -1;
	}
	return 0;
}

static const char *
find_dnsmasq(void)
{
	static const char *const paths[] = { "/usr/sbin/dnsmasq", "/usr/local/sbin/dnsmasq",
	    "/sbin/dnsmasq", "/usr/bin/dnsmasq" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/*
 * dnsmasq answers PTR queries for 192.0.2.1, .3 and .4 (bad names), .5 and
 * 2001:db8::1, NXDOMAIN for the rest of 192.0.2/24 and 2001:db8::/32.
 */
static int
start_dnsmasq(void)
{
	const char *bin = find_dnsmasq();
	char port[32], log[256], conf[300];
	FILE *fp;

	if (bin == NULL)
		return -1;
	dns_port = free_port(SOCK_DGRAM);
	snprintf(port, sizeof(port), "--port=%d", dns_port);
	snprintf(log, sizeof(log), "%s/dnsmasq.log", tmpdir);
	/* An empty file of our own: not the system's dnsmasq.conf (nor /dev/null, which may not be one). */
	snprintf(conf, sizeof(conf), "--conf-file=%s/dnsmasq.conf", tmpdir);
	if ((fp = fopen(conf + strlen("--conf-file="), "w")) == NULL)
		return -1;
	fclose(fp);
	{
		char *argv[] = { (char *)bin, (char *)"--keep-in-foreground",
		    conf, (char *)"--no-resolv", (char *)"--no-hosts",
		    (char *)"--listen-address=127.0.0.1", (char *)"--bind-interfaces", port,
		    (char *)"--pid-file=", (char *)"--log-facility=-",
		    (char *)"--local=/2.0.192.in-addr.arpa/",
		    (char *)"--local=/8.b.d.0.1.0.0.2.ip6.arpa/",
		    (char *)"--ptr-record=1.2.0.192.in-addr.arpa,r1.example.net",
		    (char *)"--ptr-record=3.2.0.192.in-addr.arpa,bad*name.example.net",
		    (char *)"--ptr-record=4.2.0.192.in-addr.arpa,bad/name.example.net",
		    (char *)"--ptr-record=5.2.0.192.in-addr.arpa,trailing.example.net.",
		    (char *)"--ptr-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa,r6.example.net",
		    NULL };

		dns_pid = spawn(argv, log);
	}
	/* Up when its port is taken. */
	for (int i = 0; i < 250; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)dns_port) };
		int fd = socket(AF_INET, SOCK_DGRAM, 0), busy;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		busy = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno == EADDRINUSE;
		close(fd);
		if (busy)
			return 0;
		if (waitpid(dns_pid, NULL, WNOHANG) == dns_pid) {
			dns_pid = -1;
			break;
		}
		usleep(20000);
	}
	fprintf(stderr, "dnsmasq did not start; see %s\n", log);
	{ char cmd[300]; snprintf(cmd, sizeof(cmd), "cat %s >&2", log); if (system(cmd)) {} }
	return -1;
}

/*
 * A server for what infoserver.py does not do: GET /endless answers 200
 * without a length and sends bytes until the client goes; GET /headers
 * sends header lines forever.
 */
static void
raw_serve(int fd)
{
	char req[2048], chunk[4096];
	size_t len = 0;
	ssize_t r;
	int headers;

	while (len < sizeof(req) - 1 && (r = read(fd, req + len, sizeof(req) - 1 - len)) > 0) {
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[len] = '\0';
	headers = strstr(req, "GET /headers") == req;
	memset(chunk, 'x', sizeof(chunk));
	if (headers) {
		static const char head[] = "HTTP/1.1 200 OK\r\n";

		if (write(fd, head, sizeof(head) - 1) < 0)
			return;
		for (int i = 0;; i++) {
			char line[128];
			int n = snprintf(line, sizeof(line), "X-Filler-%d: %.80s\r\n", i, chunk);

			if (write(fd, line, (size_t)n) < 0)
				return;
		}
	} else {
		static const char head[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";

		if (write(fd, head, sizeof(head) - 1) < 0)
			return;
		while (write(fd, chunk, sizeof(chunk)) > 0)
			;
	}
}

static void
start_raw(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("raw server");
		exit(1);
	}
	raw_port = ntohs(sin.sin_port);
	fflush(stdout);
	if ((raw_pid = fork()) < 0) {
		perror("fork");
		exit(1);
	}
	if (raw_pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_IGN);
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				continue;
			if (fork() == 0) {
				raw_serve(fd);
				_exit(0);
			}
			close(fd);
		}
	}
	close(lfd);
}

/* Defaults, with the template http://127.0.0.1:PORT/PATH on the info server (NULL: no INFO). */
static void
cfg_defaults(struct enrich_cfg *c, const char *path)
{
	static char buf[512];

	memset(c, 0, sizeof(*c));
	buf[0] = '\0';
	if (path != NULL)
		snprintf(buf, sizeof(buf), "http://127.0.0.1:%d%s", info_port, path);
	c->uri_template = buf;
	c->names = false;
	c->skip_private = false;
	c->connect_timeout_ms = 1000;
	c->timeout_ms = 2000;
	c->max_bytes = 65536;
	c->max_requests = 16;
	c->dns_server = "";
}

/* ---- the tests ---- */

static void
test_url(void)
{
	static const struct {
		const char *tmpl, *addr, *want;
	} cases[] = {
		{ "http://h:8080/ip/{ip}", "192.0.2.1", "http://h:8080/ip/192.0.2.1" },
		{ "http://h/ip/{ip}", "2001:db8::1", "http://h/ip/2001%3Adb8%3A%3A1" },
		{ "https://h/ip/{ip}", "2001:DB8:0:0:1::ff", "https://h/ip/2001%3Adb8%3A%3A1%3A0%3A0%3Aff" },
		{ "http://h/ip/{ip}", "::ffff:192.0.2.7", "http://h/ip/192.0.2.7" },
		{ "http://h/{ip}/x?a={ip}&b={ip}", "198.51.100.2",
		    "http://h/198.51.100.2/x?a=198.51.100.2&b=198.51.100.2" },
		{ "http://h/{ip}{ip}", "::1", "http://h/%3A%3A1%3A%3A1" },
		{ "http://h/{ip", "192.0.2.1", "http://h/{ip" },
		{ "http://h/{IP}/{ip}}", "192.0.2.1", "http://h/{IP}/192.0.2.1}" },
		{ "http://h/{{ip}}", "192.0.2.1", "http://h/{192.0.2.1}" },
		{ "http://h/", "192.0.2.1", "http://h/" },
	};
	char buf[256];
	struct tt_addr a = A("192.0.2.1");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tt_addr x = A(cases[i].addr);

		buf[0] = '\0';
		ok(enrich_url(cases[i].tmpl, &x, buf, sizeof(buf)) == 0 &&
		    strcmp(buf, cases[i].want) == 0, "enrich_url(\"%s\", %s) = \"%s\" (got \"%s\")",
		    cases[i].tmpl, cases[i].addr, cases[i].want, buf);
	}
	/* "http://h/192.0.2.1" is 18 bytes: 19 fit with the NUL, 18 do not. */
	ok(enrich_url("http://h/{ip}", &a, buf, 19) == 0 && strcmp(buf, "http://h/192.0.2.1") == 0,
	    "enrich_url fills a buffer exactly");
	is_int(enrich_url("http://h/{ip}", &a, buf, 18), -1, "enrich_url: one byte short is -1");
	is_int(enrich_url("http://h/{ip}", &a, buf, 0), -1, "enrich_url: no room is -1");
	is_int(enrich_url(NULL, &a, buf, sizeof(buf)), -1, "enrich_url: no template is -1");
}

static void
test_private(void)
{
	static const struct {
		const char *addr;
		bool priv;
	} cases[] = {
		{ "10.0.0.1", true }, { "10.255.255.255", true }, { "9.255.255.255", false },
		{ "11.0.0.0", false }, { "172.16.0.1", true }, { "172.31.255.255", true },
		{ "172.15.255.255", false }, { "172.32.0.0", false }, { "192.168.1.1", true },
		{ "192.169.0.0", false }, { "100.64.0.1", true }, { "100.127.255.255", true },
		{ "100.63.255.255", false }, { "100.128.0.0", false }, { "127.0.0.1", true },
		{ "127.255.0.1", true }, { "169.254.1.1", true }, { "169.255.0.1", false },
		{ "192.0.2.1", true }, { "192.0.3.1", false }, { "198.51.100.9", true },
		{ "198.51.101.1", false }, { "203.0.113.200", true }, { "203.0.114.1", false },
		{ "0.0.0.0", true }, { "0.1.2.3", true }, { "8.8.8.8", false },
		{ "1.1.1.1", false }, { "::ffff:10.1.2.3", true }, { "::ffff:8.8.4.4", false },
		{ "::1", true }, { "::", true }, { "::2", false }, { "fc00::1", true },
		{ "fdff:ffff::1", true }, { "fe00::1", false }, { "fe80::1", true },
		{ "febf:ffff::1", true }, { "fec0::1", false }, { "2001:db8::1", true },
		{ "2001:db8:ffff::1", true }, { "2001:db9::1", false }, { "2001:4860::8888", false },
		{ "2a00:1450::1", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tt_addr a = A(cases[i].addr);

		is_int(enrich_addr_private(&a), cases[i].priv, "enrich_addr_private(%s) is %s",
		    cases[i].addr, cases[i].priv ? "true" : "false");
	}
	ok(!enrich_addr_private(NULL), "enrich_addr_private(NULL) is false");
}

static void
test_new(void)
{
	struct enrich_cfg c;
	struct enrich *e;
	char err[256] = "";
	static const char *const bad_tmpl[] = { "ftp://h/{ip}", "file:///etc/{ip}", "h/{ip}",
	    "http://h/ip/", "gopher://h/{ip}" };
	static const char *const bad_dns[] = { "localhost", "1.2.3.4:0", "1.2.3.4:70000",
	    "2001:db8::1:53x", "[1.2.3.4]:53", "[2001:db8::1", "1.2.3.4:" };
	static const char *const good_dns[] = { "127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:53",
	    "[2001:db8::53]" };

	for (size_t i = 0; i < sizeof(bad_tmpl) / sizeof(bad_tmpl[0]); i++) {
		cfg_defaults(&c, NULL);
		c.uri_template = bad_tmpl[i];
		err[0] = '\0';
		e = enrich_new(&c, on_done, NULL, err, sizeof(err));
		ok(e == NULL && err[0] != '\0', "enrich_new refuses template \"%s\" (%s)", bad_tmpl[i],
		    err);
		enrich_free(e);
	}
	for (size_t i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++) {
		cfg_defaults(&c, NULL);
		c.dns_server = bad_dns[i];
		err[0] = '\0';
		e = enrich_new(&c, on_done, NULL, err, sizeof(err));
		ok(e == NULL && err[0] != '\0', "enrich_new refuses dns server \"%s\" (%s)",
		    bad_dns[i], err);
		enrich_free(e);
	}
	for (size_t i = 0; i < sizeof(good_dns) / sizeof(good_dns[0]); i++) {
		cfg_defaults(&c, NULL);
		c.dns_server = good_dns[i];
		c.names = true;
		err[0] = '\0';
		e = enrich_new(&c, on_done, NULL, err, sizeof(err));
		ok(e != NULL, "enrich_new takes dns server \"%s\" (%s)", good_dns[i], err);
		enrich_free(e);
	}
	cfg_defaults(&c, NULL);
	c.timeout_ms = 0;
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	ok(e == NULL, "enrich_new refuses a timeout of 0 (%s)", err);
	enrich_free(e);
	enrich_free(NULL);
	ok(1, "enrich_free(NULL) is harmless");

	/* Everything off: nothing starts, nothing waits. */
	cfg_defaults(&c, NULL);
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	ok(e != NULL, "enrich_new with info and names off (%s)", err);
	is_int(start(e, ENRICH_INFO, "8.8.8.8"), 0, "INFO off: enrich_start returns 0");
	is_int(start(e, ENRICH_NAME, "8.8.8.8"), 0, "names off: enrich_start returns 0");
	is_int(enrich_pending(e), 0, "nothing pending");
	is_int(enrich_timeout_ms(e), -1, "no timer when idle");
	is_int(enrich_nfds(e), 0, "no sockets when idle");
	enrich_free(e);
}

static void
test_info_ok(void)
{
	struct enrich_cfg c;
	struct enrich *e;
	struct result *r;
	char err[256] = "", *want4, *want6, *count;
	size_t len4 = 0, len6 = 0;

	free(http("POST", info_port, "/reset", NULL));
	want4 = http("GET", info_port, "/ip/10.77.1.1", &len4);
	want6 = http("GET", info_port, "/ip/2001:db8:77::1", &len6);
	free(http("POST", info_port, "/reset", NULL));
	cfg_defaults(&c, "/ip/{ip}");
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	ok(e != NULL, "enrich_new (%s)", err);
	clear_results();
	done_in_start = 0;
	t0 = now_ms();
	is_int(start(e, ENRICH_INFO, "10.77.1.1"), 1, "INFO look-up of 10.77.1.1 starts");
	is_int(start(e, ENRICH_INFO, "2001:db8:77::1"), 1, "INFO look-up of 2001:db8:77::1 starts");
	/* The same address again, while it runs: no second request. */
	for (int i = 0; i < 5; i++)
		is_int(start(e, ENRICH_INFO, "10.77.1.1"), 1, "again %d: 1, nothing new", i);
	is_int(enrich_pending(e), 2, "two look-ups pending");
	ok(enrich_timeout_ms(e) >= 0, "a timer is set (%d)", enrich_timeout_ms(e));
	run(e, 5000);
	is_int(enrich_pending(e), 0, "nothing pending after the answers");
	is_int(nresults, 2, "done called twice");
	is_int(done_in_start, 0, "done never called from enrich_start");
	r = find_result(ENRICH_INFO, "10.77.1.1");
	ok(r && r->ok && want4 && r->len == len4 && memcmp(r->data, want4, len4) == 0,
	    "10.77.1.1: the service's exact body (%s)", r && r->data ? r->data : r ? r->why : "-");
	r = find_result(ENRICH_INFO, "2001:db8:77::1");
	ok(r && r->ok && want6 && r->len == len6 && memcmp(r->data, want6, len6) == 0,
	    "2001:db8:77::1 (as %%3A): the service's exact body (%s)",
	    r && r->data ? r->data : r ? r->why : "-");
	ok(want4 && strstr(want4, "\"country\"") != NULL, "and that body has a country");
	count = http("GET", info_port, "/count", NULL);
	ok(count && strstr(count, "\"total\":2") != NULL, "two requests in all (%s)",
	    count ? count : "-");
	ok(count && strstr(count, "\"/ip/10.77.1.1\":1") != NULL,
	    "one request for 10.77.1.1 though asked 6 times");
	ok(count && strstr(count, "\"/ip/2001%3Adb8%3A77%3A%3A1\":1") != NULL,
	    "the IPv6 address requested with %%3A");
	ok(count && strstr(count, "\"tracetrout/") != NULL, "User-Agent tracetrout/VERSION");
	free(count);

	/* Once done came, the address may be looked up again. */
	clear_results();
	is_int(start(e, ENRICH_INFO, "10.77.1.1"), 1, "after done, a new look-up starts");
	is_int(enrich_pending(e), 1, "pending 1");
	run(e, 5000);
	ok(nresults == 1 && results[0].ok, "and answers");
	enrich_free(e);
	free(want4);
	free(want6);
}

static void
test_cap(void)
{
	struct enrich_cfg c;
	struct enrich *e;
	char err[256] = "", addr[32], *count;
	double last = 0, first = 1e9;
	int oks = 0;

	free(http("POST", info_port, "/reset", NULL));
	cfg_defaults(&c, "/slow/ip/{ip}");
	c.max_requests = 2;
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	clear_results();
	t0 = now_ms();
	for (int i = 1; i <= 6; i++) {
		snprintf(addr, sizeof(addr), "10.77.2.%d", i);
		start(e, ENRICH_INFO, addr);
	}
	is_int(enrich_pending(e), 6, "6 look-ups pending with max_requests 2");
	run(e, 10000);
	for (int i = 0; i < nresults; i++) {
		oks += results[i].ok;
		if (results[i].ms > last)
			last = results[i].ms;
		if (results[i].ms < first)
			first = results[i].ms;
	}
	is_int(oks, 6, "all 6 answered");
	/* First in, first out: two by two. */
	ok(find_result(ENRICH_INFO, "10.77.2.1") - results < 2 &&
	    find_result(ENRICH_INFO, "10.77.2.2") - results < 2 &&
	    find_result(ENRICH_INFO, "10.77.2.5") - results >= 4 &&
	    find_result(ENRICH_INFO, "10.77.2.6") - results >= 4,
	    "FIFO: 10.77.2.1 and .2 answered first, .5 and .6 last");
	count = http("GET", info_port, "/count", NULL);
	ok(count && strstr(count, "\"in_flight_max\":2") != NULL,
	    "the server saw at most 2 at once (%s)", count ? count : "-");
	ok(last >= 1400, "3 rounds of 500 ms: the last after %.0f ms (>= 1400)", last);
	ok(first >= 450 && first < 1000, "the first after %.0f ms", first);
	printf("# max_requests 2, 6 look-ups of 500 ms: first %.0f ms, last %.0f ms\n", first, last);
	free(count);
	enrich_free(e);
}

/*
 * A flood of distinct hop addresses (issue 13: forged errors can name any):
 * at most max_jobs are queued or running, the rest are refused at once; a
 * queued look-up nobody waits for is dropped; the queue drains to nothing.
 */
static void
test_flood(void)
{
	struct enrich_cfg c;
	struct enrich *e;
	struct tt_addr a;
	char err[256] = "", addr[32], *count;
	int took = 0, refused = 0, dropped = 0;

	free(http("POST", info_port, "/reset", NULL));
	cfg_defaults(&c, "/ip/{ip}");
	c.max_requests = 2;
	c.max_jobs = 8;
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	clear_results();
	for (int i = 0; i < 10000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", 100 + i / 65536, i / 256 % 256, i % 256);
		addr_parse(addr, &a);
		if (enrich_start(e, ENRICH_INFO, &a) == 1)
			took++;
		else
			refused++;
	}
	is_int(took, 8, "10000 distinct addresses, max_jobs 8: 8 look-ups taken");
	is_int(refused, 9992, "... the other 9992 refused at once");
	is_int((int)enrich_refused(e), 9992, "... and counted");
	is_int(enrich_pending(e), 8, "... 8 pending: 2 running, 6 queued");
	addr_parse("10.100.0.0", &a);
	is_int(enrich_cancel(e, ENRICH_INFO, &a), 0, "a running look-up is not dropped");
	for (int i = 2; i < 8; i++) {
		snprintf(addr, sizeof(addr), "10.100.0.%d", i);
		addr_parse(addr, &a);
		dropped += enrich_cancel(e, ENRICH_INFO, &a);
	}
	is_int(dropped, 6, "the 6 queued look-ups nobody waits for are dropped");
	is_int(enrich_pending(e), 2, "... leaving the 2 running");
	addr_parse("10.100.0.2", &a);
	is_int(enrich_start(e, ENRICH_INFO, &a), 1, "a dropped address can be asked again");
	run(e, 5000);
	is_int(nresults, 3, "only the 3 look-ups still wanted ended (done for each)");
	is_int(enrich_pending(e), 0, "the queue is empty");
	count = http("GET", info_port, "/count", NULL);
	ok(count && strstr(count, "\"total\":3") != NULL, "the service was asked 3 times (%s)",
	    count ? count : "-");
	free(count);
	enrich_free(e);
}

/* A poll set with room for one socket: the others are checked by enrich_events itself. */
static void
test_little_room(void)
{
	struct enrich_cfg c;
	struct enrich *e;
	char err[256] = "", addr[32];
	double end, last = 0;
	int oks = 0, most = 0;

	cfg_defaults(&c, "/slow/ip/{ip}");
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	clear_results();
	t0 = now_ms();
	for (int i = 1; i <= 4; i++) {
		snprintf(addr, sizeof(addr), "10.77.5.%d", i);
		start(e, ENRICH_INFO, addr);
	}
	end = now_ms() + 5000;
	while (enrich_pending(e) > 0 && now_ms() < end) {
		struct pollfd pfd[1];
		int n, t;

		if (enrich_nfds(e) > most)
			most = enrich_nfds(e);
		n = enrich_pollfds(e, pfd, 1);
		t = enrich_timeout_ms(e);
		poll(pfd, (nfds_t)n, t < 0 || t > 1000 ? 1000 : t);
		enrich_events(e, pfd, n);
	}
	for (int i = 0; i < nresults; i++) {
		oks += results[i].ok;
		if (results[i].ms > last)
			last = results[i].ms;
	}
	ok(most >= 4, "4 requests wanted %d sockets at most", most);
	is_int(oks, 4, "with room for 1 socket, all 4 answered");
	ok(last >= 450 && last <= 500 + SLACK_MS, "the last after %.0f ms (each takes 500 ms)", last);
	printf("# room for 1 of %d sockets, 4 look-ups of 500 ms: the last after %.0f ms\n", most,
	    last);
	enrich_free(e);
}

static void
test_failures(void)
{
	static const struct {
		const char *path;	/* the template's, on the chosen server */
		int raw;		/* 1: the raw server, 2: a closed port */
		const char *addr;
		int ok;
		const char *why;	/* a prefix */
		int min_ms, max_ms;
	} cases[] = {
		{ "/slower/ip/{ip}", 0, "10.77.3.1", 0, "timeout", 1900, 2000 + SLACK_MS },
		{ "/drip/ip/{ip}", 0, "10.77.3.2", 0, "timeout", 1900, 2000 + SLACK_MS },
		{ "/422/ip/{ip}", 0, "10.77.3.3", 0, "HTTP 422", 0, SLACK_MS },
		{ "/500/ip/{ip}", 0, "10.77.3.4", 0, "HTTP 500", 0, SLACK_MS },
		{ "/huge/ip/{ip}", 0, "10.77.3.5", 0, "body over 65536 bytes", 0, SLACK_MS },
		{ "/redirect/ip/{ip}", 0, "10.77.3.6", 0, "redirect", 0, SLACK_MS },
		{ "/close/ip/{ip}", 0, "10.77.3.7", 0, "connection closed", 0, SLACK_MS },
		{ "/bad/ip/{ip}", 0, "10.77.3.8", 1, "", 0, SLACK_MS },
		{ "/markup/ip/{ip}", 0, "10.77.3.9", 1, "", 0, SLACK_MS },
		{ "/type/ip/{ip}", 0, "10.77.3.10", 1, "", 0, SLACK_MS },
		{ "/endless?{ip}", 1, "10.77.3.11", 0, "body over 65536 bytes", 0, SLACK_MS },
		{ "/headers?{ip}", 1, "10.77.3.12", 0, "headers over 65536 bytes", 0, SLACK_MS },
		{ "/ip/{ip}", 2, "10.77.3.13", 0, "cannot connect", 0, SLACK_MS },
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct enrich *e[N];
	struct enrich_cfg c;
	char err[256] = "";
	int closed_port = free_port(SOCK_STREAM);

	/* One module per case: each has its own template; all run at once. */
	clear_results();
	t0 = now_ms();
	for (int i = 0; i < N; i++) {
		char tmpl[256];

		snprintf(tmpl, sizeof(tmpl), "http://127.0.0.1:%d%s",
		    cases[i].raw == 1 ? raw_port : cases[i].raw == 2 ? closed_port : info_port,
		    cases[i].path);
		cfg_defaults(&c, NULL);
		c.uri_template = tmpl;
		e[i] = enrich_new(&c, on_done, NULL, err, sizeof(err));
		if (e[i] == NULL) {
			printf("# enrich_new: %s\n", err);
			exit(1);
		}
		start(e[i], ENRICH_INFO, cases[i].addr);
	}
	for (;;) {
		struct pollfd pfd[256];
		int n = 0, t = -1, pending = 0, at[N + 1];

		for (int i = 0; i < N; i++) {
			int tt = enrich_timeout_ms(e[i]);

			at[i] = n;
			n += enrich_pollfds(e[i], pfd + n, 256 / N);
			pending += enrich_pending(e[i]);
			if (tt >= 0 && (t < 0 || tt < t))
				t = tt;
		}
		at[N] = n;
		if (pending == 0 || now_ms() - t0 > 10000)
			break;
		poll(pfd, (nfds_t)n, t < 0 || t > 1000 ? 1000 : t);
		for (int i = 0; i < N; i++)
			enrich_events(e[i], pfd + at[i], at[i + 1] - at[i]);
	}
	for (int i = 0; i < N; i++) {
		struct result *r = find_result(ENRICH_INFO, cases[i].addr);
		const char *what = cases[i].path;

		if (r == NULL) {
			ok(0, "%s: no done", what);
			continue;
		}
		if (cases[i].ok)
			ok(r->ok && r->len > 0, "%s: ok, %zu bytes handed over as they are", what, r->len);
		else
			ok(!r->ok && strncmp(r->why, cases[i].why, strlen(cases[i].why)) == 0,
			    "%s: fails with \"%s\" (got \"%s\")", what, cases[i].why, r->why);
		ok(r->ms >= cases[i].min_ms && r->ms <= cases[i].max_ms,
		    "%s: ended after %.0f ms (%d..%d)", what, r->ms, cases[i].min_ms, cases[i].max_ms);
		printf("# %-40s %-28s %6.0f ms\n", what, r->ok ? "ok" : r->why, r->ms);
	}
	{
		struct result *r = find_result(ENRICH_INFO, "10.77.3.9");

		ok(r && r->data && strstr(r->data, "<script>") != NULL,
		    "markup passes through unchanged (the broker and renderers escape)");
	}
	for (int i = 0; i < N; i++)
		enrich_free(e[i]);
}

static void
test_skip_private(void)
{
	struct enrich_cfg c;
	struct enrich *e;
	char err[256] = "";

	cfg_defaults(&c, "/ip/{ip}");
	c.names = true;
	c.dns_server = "127.0.0.1:9";	/* never asked here */
	c.skip_private = true;
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	ok(e != NULL, "enrich_new with skip_private (%s)", err);
	clear_results();
	is_int(start(e, ENRICH_INFO, "192.0.2.1"), 0, "skip_private: no INFO for 192.0.2.1");
	is_int(start(e, ENRICH_NAME, "10.1.2.3"), 0, "skip_private: no NAME for 10.1.2.3");
	is_int(start(e, ENRICH_INFO, "fe80::1"), 0, "skip_private: no INFO for fe80::1");
	is_int(start(e, ENRICH_INFO, "::ffff:127.0.0.1"), 0, "skip_private: none for ::ffff:127.0.0.1");
	is_int(enrich_pending(e), 0, "nothing pending");
	is_int(start(e, ENRICH_INFO, "8.8.8.8"), 1, "skip_private: 8.8.8.8 is looked up");
	run(e, 5000);
	ok(nresults == 1 && results[0].ok, "and answered (%s)", nresults ? results[0].why : "-");
	enrich_free(e);

	cfg_defaults(&c, "/ip/{ip}");
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	clear_results();
	is_int(start(e, ENRICH_INFO, "192.0.2.1"), 1, "without skip_private 192.0.2.1 is looked up");
	run(e, 5000);
	ok(nresults == 1 && results[0].ok && strcmp(results[0].data, "{}") == 0,
	    "and the service answers {} for it");
	enrich_free(e);
}

static void
test_names(void)
{
	struct enrich_cfg c;
	struct enrich *e;
	struct result *r;
	char err[256] = "", server[64];
	double t;

	if (start_dnsmasq() < 0) {
		for (int i = 0; i < 13; i++)
			printf("ok %d - # SKIP name test %d: dnsmasq missing or did not start\n",
			    ++tap_n, i);
		return;
	}
	snprintf(server, sizeof(server), "127.0.0.1:%d", dns_port);
	cfg_defaults(&c, NULL);
	c.names = true;
	c.dns_server = server;
	c.timeout_ms = 2000;
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	ok(e != NULL, "enrich_new with names, dns server %s (%s)", server, err);
	clear_results();
	done_in_start = 0;
	t0 = now_ms();
	is_int(start(e, ENRICH_NAME, "192.0.2.1"), 1, "NAME look-up of 192.0.2.1 starts");
	is_int(start(e, ENRICH_NAME, "192.0.2.1"), 1, "again: nothing new");
	start(e, ENRICH_NAME, "2001:db8::1");
	start(e, ENRICH_NAME, "192.0.2.99");
	start(e, ENRICH_NAME, "192.0.2.3");
	start(e, ENRICH_NAME, "192.0.2.4");
	start(e, ENRICH_NAME, "192.0.2.5");
	start(e, ENRICH_NAME, "2001:db8::2");
	is_int(enrich_pending(e), 7, "7 pending");
	ok(enrich_nfds(e) >= 1, "c-ares's socket is in the poll set (%d)", enrich_nfds(e));
	run(e, 5000);
	is_int(nresults, 7, "7 done");
	is_int(done_in_start, 0, "done never called from enrich_start");
	r = find_result(ENRICH_NAME, "192.0.2.1");
	ok(r && r->ok && strcmp(r->data, "r1.example.net") == 0, "192.0.2.1 is r1.example.net (%s)",
	    r ? (r->ok ? r->data : r->why) : "-");
	r = find_result(ENRICH_NAME, "2001:db8::1");
	ok(r && r->ok && strcmp(r->data, "r6.example.net") == 0,
	    "2001:db8::1 is r6.example.net (%s)", r ? (r->ok ? r->data : r->why) : "-");
	r = find_result(ENRICH_NAME, "192.0.2.99");
	ok(r && !r->ok && strcmp(r->why, "no PTR record") == 0, "192.0.2.99 has no PTR record (%s)",
	    r ? r->why : "-");
	r = find_result(ENRICH_NAME, "2001:db8::2");
	ok(r && !r->ok && strcmp(r->why, "no PTR record") == 0,
	    "2001:db8::2 has no PTR record (%s)", r ? r->why : "-");
	r = find_result(ENRICH_NAME, "192.0.2.3");
	ok(r && !r->ok && strcmp(r->why, "not a DNS name") == 0,
	    "192.0.2.3's name with a '*' is refused (%s)", r ? r->why : "-");
	r = find_result(ENRICH_NAME, "192.0.2.4");
	ok(r && !r->ok && strcmp(r->why, "not a DNS name") == 0,
	    "192.0.2.4's name with a '/' is refused (%s)", r ? r->why : "-");
	r = find_result(ENRICH_NAME, "192.0.2.5");
	ok(r && r->ok && strcmp(r->data, "trailing.example.net") == 0,
	    "192.0.2.5 is trailing.example.net, no trailing dot (%s)",
	    r ? (r->ok ? r->data : r->why) : "-");
	for (int i = 0; i < nresults; i++)
		printf("# NAME %-12s %-8s %s (%.0f ms)\n", results[i].addr, results[i].ok ? "ok" : "failed",
		    results[i].ok ? results[i].data : results[i].why, results[i].ms);
	enrich_free(e);

	/* A server that never answers: the query ends by timeout_ms. */
	snprintf(server, sizeof(server), "127.0.0.1:%d", silent_port);
	cfg_defaults(&c, NULL);
	c.names = true;
	c.dns_server = server;
	c.timeout_ms = 600;
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	clear_results();
	t0 = now_ms();
	start(e, ENRICH_NAME, "192.0.2.1");
	run(e, 5000);
	t = nresults ? results[0].ms : -1;
	ok(nresults == 1 && !results[0].ok && strcmp(results[0].why, "timeout") == 0,
	    "a silent DNS server: \"timeout\" (%s)", nresults ? results[0].why : "-");
	ok(t >= 550 && t <= 600 + SLACK_MS, "after %.0f ms (600 ms timeout)", t);
	printf("# NAME against a silent server, timeout 600 ms: failed after %.0f ms\n", t);
	enrich_free(e);
}

static void
test_free_running(void)
{
	struct enrich_cfg c;
	struct enrich *e;
	char err[256] = "", server[64], addr[32];

	snprintf(server, sizeof(server), "127.0.0.1:%d", silent_port);
	cfg_defaults(&c, "/drip/ip/{ip}");
	c.names = true;
	c.dns_server = server;
	c.max_requests = 2;
	e = enrich_new(&c, on_done, NULL, err, sizeof(err));
	clear_results();
	for (int i = 1; i <= 5; i++) {
		snprintf(addr, sizeof(addr), "10.77.4.%d", i);
		start(e, ENRICH_INFO, addr);
		start(e, ENRICH_NAME, addr);
	}
	/* Let the requests get going, then drop everything. */
	{
		double end = now_ms() + 300;

		while (now_ms() < end) {
			struct pollfd pfd[64];
			int n = enrich_pollfds(e, pfd, 64);

			poll(pfd, (nfds_t)n, 50);
			enrich_events(e, pfd, n);
		}
	}
	is_int(enrich_pending(e), 10, "10 look-ups running or queued");
	ok(enrich_nfds(e) >= 2, "their sockets are watched (%d)", enrich_nfds(e));
	freed = 1;
	enrich_free(e);
	is_int(nresults, 0, "enrich_free called no done");
	is_int(done_after_free, 0, "and none came later");
	freed = 0;
}

int
main(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	signal(SIGPIPE, SIG_IGN);
	/* The test's servers are on loopback: no proxy from the environment. */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	if (tap_tmpdir(tmpdir) < 0)
		return 1;
	test_url();
	test_private();
	test_new();

	/* A UDP socket nobody reads: a DNS server that never answers. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((silent_fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(silent_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(silent_fd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("silent socket");
		return 1;
	}
	silent_port = ntohs(sin.sin_port);

	if (start_infoserver() < 0) {
		ok(0, "infoserver.py runs");
	} else {
		start_raw();
		test_info_ok();
		test_cap();
		test_flood();
		test_little_room();
		test_failures();
		test_skip_private();
		test_free_running();
	}
	test_names();
	clear_results();
	stop(&info_pid);
	stop(&dns_pid);
	stop(&raw_pid);
	close(silent_fd);
	tap_tmpdir_remove(tmpdir);
	return tap_done();
}
