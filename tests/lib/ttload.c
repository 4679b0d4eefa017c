/*
 * ttload: HTTP/1.0 load on the server from the visitor's namespace, one connection a request
 * as curl and browsers ask for a trace, single-threaded on epoll. It replaces a Python asyncio
 * client that was slower than the server it measured.
 *
 *   ttload [-n TOTAL | -d SECONDS] [-c CONCURRENCY] [-r RATE] [-p PATH] [-T TIMEOUT_S]
 *          [-4 SERVER4] [-6 SERVER6] [-P PORT] [-S SRC4,SRC6,COUNT]
 *          [-H HOPS4] [-h HOPS6] [-w WRONGFILE] [-L LATFILE] [-R RETRIES]
 *
 * Closed loop by default: CONCURRENCY (64) requests in flight, a new one as each ends, TOTAL
 * (1000) in all or for SECONDS. -r: open loop, RATE starts a second evenly spaced (a periodic
 * timerfd) whatever the answers, at most CONCURRENCY in flight: a start due when they all are is
 * skipped, not queued (skipped ones count toward TOTAL). Request I goes to SERVER6 if I is odd
 * and both are given. A request connects to PATH (/) on PORT (8080), sends GET, reads until
 * the server closes, closes; it fails after TIMEOUT_S (30) from its connect. -S binds each
 * family's Kth request to the address K % COUNT past SRC4 or SRC6 (the last 32 bits counted
 * up). With -H/-h (which need -S), a 200 is "ok" only if the hops of its JSON lines are HOPS
 * ("*" silent) then the request's source address, measured now; "ok_reused" if they are only
 * when each timeout with a reused router (docs/formats.md) counts as that router; else
 * "wrong". -w appends each wrong 200, each ok_reused one (its line ends "reused") and each
 * status other than 200 and 503 to WRONGFILE after a "# request ..." line; -L writes the
 * latency of every 200 in ms, one a line, in the order they ended. -R: a 503 is asked again,
 * as a client honouring it does, after its Retry-After (1 s without one), up to RETRIES times a
 * request; the request keeps its slot meanwhile, its latency counts from its last try, and
 * retried= says how many times in all.
 * Prints key=value lines on stdout (the p*_ms keys only when there are such responses); cpu_pct
 * is its own CPU over the run's wall time, to show what headroom it had. Exits 0 when it ran,
 * whatever the answers, 2 on bad usage, 1 when it could not set up.
 */
#define _GNU_SOURCE	/* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RESP_INIT	8192
#define RESP_MAX	(1 << 20)	/* a trace is a few KB: past this something is wrong */
#define HOPS_TEXT	4096
#define ADDR_TEXT	INET6_ADDRSTRLEN
#define HOP_TEXT	(ADDR_TEXT + 1)	/* a hop_line: "~" and an address */
#define MAX_EVENTS	256
#define TIMER_ID	UINT32_MAX	/* epoll's tag for the open loop's timer */
#define KINDS		16		/* distinct error names, distinct Retry-After values */

struct ttload_slot {
	int fd;			/* -1: free */
	int fam;		/* 0 IPv4, 1 IPv6 */
	long id;		/* the request's number, from 0 */
	bool connected, in;	/* in: readable, not yet read to EAGAIN (edge-triggered) */
	size_t sent, len, cap;
	char *buf;
	double start;
	double wake;		/* waiting to try again (-R) until then; 0: not waiting */
	int tries;		/* 503s answered to it so far */
	char src[ADDR_TEXT];	/* the bound source address, "" without -S */
};

/* One family's server, and what a request to it sends and expects. */
struct ttload_dest {
	bool on, check;
	struct sockaddr_storage to, src;	/* src: -S's first address */
	socklen_t len;
	long nreq;		/* requests so far: the next source address */
	char req[1024];
	size_t reqlen;
	char hops[HOPS_TEXT];	/* -H or -h, normalised, comma-separated */
};

struct ttload_lats {
	double *v;
	size_t n, cap;
};

struct ttload {
	struct ttload_dest dest[2];
	long total, nsrc;
	double secs, rate, timeout;
	int conc, ep, timer, retries;
	FILE *wrongf, *latf;
	struct ttload_slot *slots;
	int *free, nfree;	/* a stack of free slots */
	long started, skipped, st200, st503, stother, ok, reused, wrong, errors, retried;
	struct { const char *name; long n; } err[KINDS];
	long retry[KINDS];
	int nerr, nretry;
	struct ttload_lats lat200, lat503;
	double t0, first, last, cpu0;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Own user and system CPU so far, in s. */
static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
usage(void)
{
	fprintf(stderr, "%s\n%s\n%s\n",
	    "usage: ttload [-n TOTAL | -d SECONDS] [-c CONCURRENCY] [-r RATE] [-p PATH]",
	    "              [-T TIMEOUT_S] [-4 SERVER4] [-6 SERVER6] [-P PORT] [-S SRC4,SRC6,COUNT]",
	    "              [-H HOPS4] [-h HOPS6] [-w WRONGFILE] [-L LATFILE] [-R RETRIES]");
	exit(2);
}

static void
bad(int opt, const char *arg, const char *why)
{
	fprintf(stderr, "ttload: -%c %s: %s\n", opt, arg, why);
	exit(2);
}

/* Option opt's number, within [min, max], a whole one if whole; exits on anything else. */
static double
arg_num(int opt, const char *arg, double min, double max, bool whole)
{
	char *end;
	double v;

	errno = 0;
	v = whole ? (double)strtol(arg, &end, 10) : strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "ttload: -%c %s: not a %s from %.15g to %.15g\n", opt, arg,
		    whole ? "whole number" : "number", min, max);
		exit(2);
	}
	return v;
}

static void *
sa_addr(struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return &((struct sockaddr_in *)ss)->sin_addr;
	return &((struct sockaddr_in6 *)ss)->sin6_addr;
}

/* Text into *ss as fam's address; its canonical form into norm (if not NULL). 0 or -1. */
static int
addr_parse(int fam, const char *text, struct sockaddr_storage *ss, char *norm)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)fam;
	if (inet_pton(fam, text, sa_addr(ss)) != 1)
		return -1;
	if (norm != NULL)
		inet_ntop(fam, sa_addr(ss), norm, ADDR_TEXT);
	return 0;
}

/* Address text in its canonical form into out, or as it is if it is no address. */
static void
addr_norm(const char *text, size_t len, char *out)
{
	unsigned char a[sizeof(struct in6_addr)];
	int fam = memchr(text, ':', len) != NULL ? AF_INET6 : AF_INET;

	if (len >= ADDR_TEXT)
		len = ADDR_TEXT - 1;
	memcpy(out, text, len);
	out[len] = '\0';
	if (inet_pton(fam, out, a) == 1)
		inet_ntop(fam, a, out, ADDR_TEXT);
}

/* The server's address and the request for it (Host: as curl writes it). */
static void
dest_set(struct ttload *l, int opt, const char *addr, long port, const char *path)
{
	struct ttload_dest *d = &l->dest[opt == '6'];
	int fam = opt == '6' ? AF_INET6 : AF_INET;
	char norm[ADDR_TEXT];
	int n;

	if (addr_parse(fam, addr, &d->to, norm) < 0)
		bad(opt, addr, fam == AF_INET ? "not an IPv4 address" : "not an IPv6 address");
	if (fam == AF_INET)
		((struct sockaddr_in *)&d->to)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&d->to)->sin6_port = htons((uint16_t)port);
	d->len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	n = snprintf(d->req, sizeof(d->req), "GET %s HTTP/1.0\r\nHost: %s%s%s:%ld\r\n"
	    "Accept: */*\r\nUser-Agent: ttload\r\n\r\n", path, fam == AF_INET6 ? "[" : "", norm,
	    fam == AF_INET6 ? "]" : "", port);
	d->reqlen = (size_t)n;
	d->on = true;
}

/* -S SRC4,SRC6,COUNT. */
static void
src_set(struct ttload *l, char *arg)
{
	char *a6 = strchr(arg, ','), *count = a6 != NULL ? strchr(a6 + 1, ',') : NULL;

	if (count == NULL)
		bad('S', arg, "not SRC4,SRC6,COUNT");
	*a6++ = *count++ = '\0';
	if (addr_parse(AF_INET, arg, &l->dest[0].src, NULL) < 0)
		bad('S', arg, "not an IPv4 address");
	if (addr_parse(AF_INET6, a6, &l->dest[1].src, NULL) < 0)
		bad('S', a6, "not an IPv6 address");
	l->nsrc = (long)arg_num('S', count, 1, 1 << 24, true);
}

/* -H or -h: the routers' hops, "*" or fam's addresses, in canonical form into d->hops. */
static void
hops_set(struct ttload_dest *d, int opt, int fam, const char *list)
{
	struct sockaddr_storage ss;
	char buf[HOPS_TEXT], norm[ADDR_TEXT], *tok, *save;
	size_t n = 0;

	if (strlen(list) >= sizeof(buf) || list[0] == '\0')
		bad(opt, list, "empty or too long");
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "*") == 0)
			strcpy(norm, "*");
		else if (addr_parse(fam, tok, &ss, norm) < 0)
			bad(opt, tok, fam == AF_INET ? "not an IPv4 address or *" :
			    "not an IPv6 address or *");
		n += (size_t)snprintf(d->hops + n, sizeof(d->hops) - n, "%s%s", n ? "," : "", norm);
	}
	d->check = true;
}

/* d's kth source address into *ss and, as text, into text: the last 32 bits plus k. */
static void
src_nth(const struct ttload_dest *d, long k, struct sockaddr_storage *ss, char *text)
{
	unsigned char *last;
	uint32_t w;

	*ss = d->src;
	last = (unsigned char *)sa_addr(ss) + (ss->ss_family == AF_INET ? 0 : 12);
	memcpy(&w, last, sizeof(w));
	w = htonl(ntohl(w) + (uint32_t)k);
	memcpy(last, &w, sizeof(w));
	inet_ntop(ss->ss_family, sa_addr(ss), text, ADDR_TEXT);
}

static const char *
json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/* Past the JSON string whose opening quote is at p; NULL if it does not end before end. */
static const char *
json_str_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Past the JSON value at p, whatever it nests: at the ',' or '}' after a scalar. */
static const char *
json_skip(const char *p, const char *end)
{
	int depth = 0;

	while (p < end) {
		if (*p == '"') {
			if ((p = json_str_end(p, end)) == NULL || depth == 0)
				return p;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && depth == 0)
			return p;
		else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return p + 1;
		} else if (*p == ',' && depth == 0)
			return p;
		p++;
	}
	return depth == 0 ? p : NULL;
}

/*
 * The value of key in the JSON object at p (its top-level keys only: "info"
 * and "late" nest an "ip" of their own) into [*v, *vend). 0, or -1 if the
 * object has no such key or is no object.
 */
static int
json_field(const char *p, const char *end, const char *key, const char **v, const char **vend)
{
	size_t want = strlen(key);

	p = json_ws(p, end);
	if (p == end || *p++ != '{')
		return -1;
	while ((p = json_ws(p, end)) < end && *p == '"') {
		const char *k = p + 1;

		if ((p = json_str_end(p, end)) == NULL)
			return -1;
		size_t klen = (size_t)(p - 1 - k);

		if ((p = json_ws(p, end)) == end || *p++ != ':')
			return -1;
		*v = p = json_ws(p, end);
		if ((p = json_skip(p, end)) == NULL)
			return -1;
		if (klen == want && memcmp(k, key, want) == 0) {
			*vend = p;
			return 0;
		}
		if ((p = json_ws(p, end)) == end || *p++ != ',')
			break;
	}
	return -1;
}

/* The address string of key in the object at p, canonical, into out (ADDR_TEXT). 0 or -1. */
static int
json_addr(const char *p, const char *end, const char *key, char *out)
{
	const char *v, *vend;

	if (json_field(p, end, key, &v, &vend) < 0 || vend - v < 2 || *v != '"')
		return -1;
	addr_norm(v + 1, (size_t)(vend - v - 2), out);
	return 0;
}

/*
 * The hop of one JSON line into hop (HOP_TEXT): its "ip", "*" if it timed
 * out, "~" and the router's address if it timed out and a router is reused
 * there ("reused": {"ip": ...}, docs/formats.md), "?" if it has no address.
 * 0, or -1 if the line is no object with a "ttl".
 */
static int
hop_line(const char *p, const char *end, char *hop)
{
	const char *v, *vend;

	if (json_field(p, end, "ttl", &v, &vend) < 0)
		return -1;
	if (json_field(p, end, "timeout", &v, &vend) == 0 && vend - v >= 4 &&
	    memcmp(v, "true", 4) == 0) {
		hop[0] = '~';
		if (json_field(p, end, "reused", &v, &vend) < 0 || json_addr(v, vend, "ip", hop + 1) < 0)
			strcpy(hop, "*");
	} else if (json_addr(p, end, "ip", hop) < 0)
		strcpy(hop, "?");
	return 0;
}

/* The hops of a body of JSON lines, comma-separated, into out (HOPS_TEXT); -1 if too many. */
static int
hop_list(const char *p, size_t len, char *out)
{
	const char *end = p + len, *eol;
	char hop[HOP_TEXT];
	size_t n = 0;

	out[0] = '\0';
	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (hop_line(p, eol, hop) < 0)
			continue;
		if (n + strlen(hop) + 2 > HOPS_TEXT)
			return -1;
		n += (size_t)sprintf(out + n, "%s%s", n ? "," : "", hop);
	}
	return 0;
}

struct ttload_resp {
	int status;
	long retry;		/* Retry-After in seconds, -1 if none */
	const char *body;
	size_t blen;
};

/* A response's status line, Retry-After and body. 0, or -1 without a status line. */
static int
resp_parse(const char *buf, size_t len, struct ttload_resp *r)
{
	const char *sp = memchr(buf, ' ', len), *p, *eol, *hend;

	if (len < 5 || memcmp(buf, "HTTP/", 5) != 0 || sp == NULL || buf + len - sp < 4 ||
	    sp[1] < '1' || sp[1] > '5' || sp[2] < '0' || sp[2] > '9' || sp[3] < '0' || sp[3] > '9')
		return -1;
	r->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + sp[3] - '0';
	hend = memmem(buf, len, "\r\n\r\n", 4);
	r->body = hend != NULL ? hend + 4 : buf + len;
	r->blen = (size_t)(buf + len - r->body);
	r->retry = -1;
	for (p = buf; (eol = memchr(p, '\n', (size_t)(r->body - p))) != NULL; p = eol + 1)
		if (eol - p > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
			r->retry = strtol(p + 12, NULL, 10);	/* the line's \r stops it */
	return 0;
}

static const char *
errno_name(int e)
{
#define E(e)	{ e, #e }
	static const struct { int e; const char *name; } names[] = {
		E(ECONNREFUSED), E(ECONNRESET), E(ETIMEDOUT), E(EHOSTUNREACH), E(ENETUNREACH),
		E(EADDRNOTAVAIL), E(EADDRINUSE), E(EPIPE), E(EMFILE), E(ENFILE), E(ENOBUFS),
	};
#undef E

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	return "other";
}

static void
lats_push(struct ttload_lats *v, double ms)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 4096;
		if ((v->v = realloc(v->v, v->cap * sizeof(*v->v))) == NULL) {
			perror("ttload: latencies");
			exit(1);
		}
	}
	v->v[v->n++] = ms;
}

/* Frees s's connection and slot: close after EOF, never an RST on purpose. */
static void
slot_end(struct ttload *l, struct ttload_slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	l->free[l->nfree++] = (int)(s - l->slots);
	l->last = now_s();
}

static void
slot_fail(struct ttload *l, struct ttload_slot *s, const char *name)
{
	int i;

	for (i = 0; i < l->nerr && strcmp(l->err[i].name, name) != 0; i++)
		;
	if (i == l->nerr && l->nerr < KINDS)
		l->err[l->nerr++].name = name;
	if (i < KINDS)
		l->err[i].n++;
	l->errors++;
	slot_end(l, s);
}

/* Takes the "~" of reused routers out of a hop list, in place: 0, or -1 if it had none. */
static int
unreused(char *hops)
{
	char *w = hops;
	int n = 0;

	for (const char *p = hops; *p != '\0'; p++)
		if (*p == '~')
			n++;
		else
			*w++ = *p;
	*w = '\0';
	return n > 0 ? 0 : -1;
}

/*
 * A wrong 200, one exact only with its reused routers (why: "reused"), or an
 * unexpected status into -w's file, for diagnosis; why ends the line.
 */
static void
note_wrong(struct ttload *l, struct ttload_slot *s, const struct ttload_resp *r, const char *hops,
    const char *why)
{
	char got[HOPS_TEXT];

	if (l->wrongf == NULL)
		return;
	if (hops == NULL && hop_list(r->body, r->blen, got) == 0)
		hops = got;
	fprintf(l->wrongf, "# request %ld IPv%d src %s status %d hops %s%s%s\n", s->id,
	    s->fam ? 6 : 4, s->src[0] ? s->src : "-", r->status, hops != NULL ? hops : "?",
	    why != NULL ? " " : "", why != NULL ? why : "");
	fwrite(r->body, 1, r->blen, l->wrongf);
	if (r->blen > 0 && r->body[r->blen - 1] != '\n')
		fputc('\n', l->wrongf);
}

/* The server closed: the response is complete; counted by its status and hops. */
static void
slot_done(struct ttload *l, struct ttload_slot *s)
{
	struct ttload_dest *d = &l->dest[s->fam];
	double ms = (now_s() - s->start) * 1000;
	char got[HOPS_TEXT], plain[HOPS_TEXT], want[HOPS_TEXT + ADDR_TEXT + 1];
	struct ttload_resp r;
	int i;

	if (resp_parse(s->buf, s->len, &r) < 0) {
		slot_fail(l, s, "nostatus");
		return;
	}
	for (i = 0; r.retry >= 0 && i < l->nretry && l->retry[i] != r.retry; i++)
		;
	if (r.retry >= 0 && i == l->nretry && l->nretry < KINDS)
		l->retry[l->nretry++] = r.retry;
	if (r.status == 200) {
		l->st200++;
		lats_push(&l->lat200, ms);
		if (d->check)
			snprintf(want, sizeof(want), "%s,%s", d->hops, s->src);
		if (!d->check)
			l->ok++;
		else if (hop_list(r.body, r.blen, got) < 0) {
			l->wrong++;
			note_wrong(l, s, &r, "?", NULL);
		} else if (strcmp(got, want) == 0)
			l->ok++;
		else if (unreused(strcpy(plain, got)) == 0 && strcmp(plain, want) == 0) {
			l->reused++;
			note_wrong(l, s, &r, got, "reused");
		} else {
			l->wrong++;
			note_wrong(l, s, &r, got, NULL);
		}
	} else if (r.status == 503 && s->tries < l->retries) {
		s->tries++;
		l->retried++;
		close(s->fd);
		s->fd = -1;
		s->wake = now_s() + (r.retry > 0 ? (double)r.retry : 1);
		return;		/* the slot stays its; expire starts it again */
	} else if (r.status == 503) {
		l->st503++;
		lats_push(&l->lat503, ms);
	} else {
		l->stother++;
		note_wrong(l, s, &r, NULL, NULL);
	}
	slot_end(l, s);
}

/* Reads what there is (edge-triggered: until EAGAIN) and ends the request at EOF. */
static void
slot_read(struct ttload *l, struct ttload_slot *s)
{
	ssize_t n;

	for (;;) {
		if (s->len == s->cap) {
			if (s->cap > RESP_MAX) {
				slot_fail(l, s, "toolarge");
				return;
			}
			s->cap = s->cap ? s->cap * 2 : RESP_INIT;
			s->cap = s->cap > RESP_MAX ? RESP_MAX + 1 : s->cap;
			if ((s->buf = realloc(s->buf, s->cap)) == NULL) {
				perror("ttload: response");
				exit(1);
			}
		}
		if ((n = read(s->fd, s->buf + s->len, s->cap - s->len)) > 0)
			s->len += (size_t)n;
		else if (n == 0) {
			slot_done(l, s);
			return;
		} else if (errno == EAGAIN) {
			s->in = false;
			return;
		} else if (errno != EINTR) {
			slot_fail(l, s, errno_name(errno));
			return;
		}
	}
}

/* An epoll event on s: the connect's outcome, then the request out, then the response in. */
static void
slot_event(struct ttload *l, struct ttload_slot *s, uint32_t events)
{
	struct ttload_dest *d = &l->dest[s->fam];
	socklen_t len = sizeof(int);
	int err = 0;
	ssize_t n;

	s->in |= (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
	if (!s->connected && (events & (EPOLLERR | EPOLLHUP))) {	/* the connect failed */
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		slot_fail(l, s, err != 0 ? errno_name(err) : "other");
		return;
	}
	if (!s->connected && !(events & EPOLLOUT))
		return;
	s->connected = true;
	if (s->sent < d->reqlen) {
		n = send(s->fd, d->req + s->sent, d->reqlen - s->sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			slot_fail(l, s, errno_name(errno));
			return;
		}
		s->sent += n > 0 ? (size_t)n : 0;
	}
	if (s->sent == d->reqlen && s->in)
		slot_read(l, s);
}

/* A try of s's request: socket, source address, nonblocking connect. */
static void
slot_connect(struct ttload *l, struct ttload_slot *s)
{
	struct ttload_dest *d = &l->dest[s->fam];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct sockaddr_storage src;
	int one = 1;

	s->connected = s->in = false;
	s->sent = s->len = 0;
	s->src[0] = '\0';
	s->wake = 0;
	s->start = now_s();
	if ((s->fd = socket(d->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	if (l->nsrc > 0) {
		src_nth(d, d->nreq++ % l->nsrc, &src, s->src);
		/* The port is chosen at connect, for the 4-tuple: no address runs out of ports. */
		setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(s->fd, (struct sockaddr *)&src, d->len) < 0)
			goto fail;
	}
	if (connect(s->fd, (struct sockaddr *)&d->to, d->len) < 0 && errno != EINPROGRESS)
		goto fail;
	/* Added ready, epoll reports it once: a connect that was at once needs nothing else. */
	ev.data.u32 = (uint32_t)(s - l->slots);
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		goto fail;
	return;
fail:
	slot_fail(l, s, errno_name(errno));
}

/* The next request in a free slot. */
static void
slot_start(struct ttload *l)
{
	struct ttload_slot *s = &l->slots[l->free[--l->nfree]];

	s->id = l->started++;
	s->fam = l->dest[0].on && l->dest[1].on ? (int)(s->id & 1) : l->dest[1].on;
	s->tries = 0;
	if (s->id == 0)
		l->first = now_s();
	slot_connect(l, s);
}

/* Ends the requests past their timeout and tries again those due (-R). The ms until the next
 * timeout or try, -1 if none is in flight and 0 if some ended (their slots are free). */
static int
expire(struct ttload *l)
{
	double now = now_s(), next = -1, due;
	int ended = 0;

	for (int i = 0; i < l->conc; i++) {
		if (l->slots[i].wake > 0 && l->slots[i].wake <= now)
			slot_connect(l, &l->slots[i]);
		if (l->slots[i].wake > 0) {
			if (next < 0 || l->slots[i].wake < next)
				next = l->slots[i].wake;
			continue;
		}
		if (l->slots[i].fd < 0)
			continue;
		if ((due = l->slots[i].start + l->timeout) <= now) {
			slot_fail(l, &l->slots[i], "timeout");
			ended++;
		} else if (next < 0 || due < next)
			next = due;
	}
	if (ended)
		return 0;
	return next < 0 ? -1 : (int)((next - now) * 1000) + 1;
}

static bool
more(const struct ttload *l)
{
	return l->secs > 0 ? now_s() < l->t0 + l->secs : l->started + l->skipped < l->total;
}

/* The open loop's timer expired n times since it was read: n starts are due. */
static void
on_timer(struct ttload *l)
{
	uint64_t n;

	if (read(l->timer, &n, sizeof(n)) != sizeof(n))
		return;
	for (; n > 0; n--) {
		if (!more(l)) {
			close(l->timer);	/* out of epoll with it */
			l->timer = -1;
			return;
		}
		if (l->nfree == 0)
			l->skipped++;
		else
			slot_start(l);
	}
}

/* The open loop's schedule: a periodic timer, so that starts keep their pace under load. */
static int
timer_start(struct ttload *l)
{
	long long ns = (long long)(1e9 / l->rate + 0.5);
	struct itimerspec it = { .it_interval = { ns / 1000000000, ns % 1000000000 } };
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TIMER_ID };

	it.it_value = it.it_interval;
	if ((l->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    timerfd_settime(l->timer, 0, &it, NULL) < 0 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->timer, &ev) < 0)
		return -1;
	slot_start(l);
	return 0;
}

static int
run(struct ttload *l)
{
	struct epoll_event ev[MAX_EVENTS];
	bool due;
	int n, ms;

	l->t0 = now_s();
	l->cpu0 = cpu_s();
	if (l->rate > 0 && timer_start(l) < 0)
		return -1;
	for (;;) {
		while (l->rate == 0 && l->nfree > 0 && more(l))
			slot_start(l);
		if (l->nfree == l->conc && !more(l))
			return 0;
		if ((ms = expire(l)) == 0)
			continue;
		if ((n = epoll_wait(l->ep, ev, MAX_EVENTS, ms)) < 0 && errno != EINTR)
			return -1;
		due = false;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == TIMER_ID)
				due = true;
			else if (l->slots[ev[i].data.u32].fd >= 0)
				slot_event(l, &l->slots[ev[i].data.u32], ev[i].events);
		}
		if (due)	/* last: slots freed by this round's events are free for it */
			on_timer(l);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
lats_sort(struct ttload_lats *v)
{
	if (v->n > 0)
		qsort(v->v, v->n, sizeof(*v->v), cmp_double);
}

/* The nearest-rank percentile p of v (sorted). */
static double
pct(const struct ttload_lats *v, double p)
{
	double x = p * (double)v->n;
	size_t r = (size_t)x;

	if ((double)r < x)
		r++;
	return v->v[r > 0 ? r - 1 : 0];
}

static void
report(struct ttload *l)
{
	double secs = l->last > l->first ? l->last - l->first : 0, cpu;

	printf("requests=%ld\nok=%ld\nok_reused=%ld\nstatus_200=%ld\nstatus_503=%ld\n"
	    "status_other=%ld\nwrong=%ld\nerrors=%ld", l->started, l->ok, l->reused, l->st200,
	    l->st503, l->stother, l->wrong, l->errors);
	for (int i = 0; i < l->nerr; i++)
		printf("%s%s %ld", i ? ", " : " (", l->err[i].name, l->err[i].n);
	printf("%s\nretried=%ld\nskipped=%ld\nseconds=%.3f\nrate=%.1f\n", l->nerr ? ")" : "",
	    l->retried, l->skipped, secs, secs > 0 ? (double)l->st200 / secs : 0);
	lats_sort(&l->lat200);
	lats_sort(&l->lat503);
	if (l->lat200.n > 0)
		printf("p50_ms=%.3f\np90_ms=%.3f\np99_ms=%.3f\nmax_ms=%.3f\n", pct(&l->lat200, .5),
		    pct(&l->lat200, .9), pct(&l->lat200, .99), l->lat200.v[l->lat200.n - 1]);
	if (l->lat503.n > 0)
		printf("p50_503_ms=%.3f\np99_503_ms=%.3f\n", pct(&l->lat503, .5),
		    pct(&l->lat503, .99));
	for (int i = 0; i < l->nretry; i++)
		printf("%s%ld", i ? "," : "retry_after=", l->retry[i]);
	if (l->nretry > 0)
		printf("\n");
	cpu = cpu_s() - l->cpu0;
	printf("cpu_s=%.3f\ncpu_pct=%.1f\n", cpu, secs > 0 ? cpu / secs * 100 : 0);
}

/* Slots, epoll, enough descriptors for -c, the output files. 0 or -1 (perror'd). */
static int
setup(struct ttload *l, const char *wrongfile, const char *latfile)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)l->conc + 16;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = need;
		if (rl.rlim_max < need)
			rl.rlim_max = need;	/* root may */
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			perror("ttload: RLIMIT_NOFILE for -c");
			return -1;
		}
	}
	l->slots = calloc((size_t)l->conc, sizeof(*l->slots));
	l->free = calloc((size_t)l->conc, sizeof(*l->free));
	if (l->slots == NULL || l->free == NULL) {
		perror("ttload: slots");
		return -1;
	}
	for (int i = 0; i < l->conc; i++) {
		l->slots[i].fd = -1;
		l->free[l->nfree++] = l->conc - 1 - i;
	}
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("ttload: epoll");
		return -1;
	}
	if ((wrongfile != NULL && (l->wrongf = fopen(wrongfile, "a")) == NULL) ||
	    (latfile != NULL && (l->latf = fopen(latfile, "w")) == NULL)) {
		perror(l->wrongf == NULL && wrongfile != NULL ? wrongfile : latfile);
		return -1;
	}
	return 0;
}

/* Everything freed, so that a build with sanitizers reports no leak (and exits 0). */
static void
teardown(struct ttload *l)
{
	for (int i = 0; l->slots != NULL && i < l->conc; i++)
		free(l->slots[i].buf);
	free(l->slots);
	free(l->free);
	free(l->lat200.v);
	free(l->lat503.v);
	if (l->timer >= 0)
		close(l->timer);
	if (l->ep >= 0)
		close(l->ep);
	if ((l->latf != NULL && fclose(l->latf) != 0) || (l->wrongf != NULL && fclose(l->wrongf) != 0))
		perror("ttload: -L or -w file");
}

int
main(int argc, char **argv)
{
	struct ttload l = { .total = 1000, .conc = 64, .timeout = 30, .ep = -1, .timer = -1 };
	const char *path = "/", *addr[2] = { NULL, NULL }, *hops[2] = { NULL, NULL };
	const char *wrongfile = NULL, *latfile = NULL;
	long port = 8080;
	bool total = false;
	int opt;

	while ((opt = getopt(argc, argv, "n:d:c:r:p:T:4:6:P:S:H:h:w:L:R:")) != -1) {
		switch (opt) {
		case 'n': l.total = (long)arg_num(opt, optarg, 1, 1e12, true); total = true; break;
		case 'd': l.secs = arg_num(opt, optarg, 0.001, 1e6, false); break;
		case 'c': l.conc = (int)arg_num(opt, optarg, 1, 1e6, true); break;
		case 'r': l.rate = arg_num(opt, optarg, 0.01, 1e6, false); break;
		case 'p': path = optarg; break;
		case 'T': l.timeout = arg_num(opt, optarg, 0.001, 1e6, false); break;
		case '4': addr[0] = optarg; break;
		case '6': addr[1] = optarg; break;
		case 'P': port = (long)arg_num(opt, optarg, 1, 65535, true); break;
		case 'S': src_set(&l, optarg); break;
		case 'H': hops[0] = optarg; break;
		case 'h': hops[1] = optarg; break;
		case 'w': wrongfile = optarg; break;
		case 'L': latfile = optarg; break;
		case 'R': l.retries = (int)arg_num(opt, optarg, 0, 1000, true); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (total && l.secs > 0) {
		fprintf(stderr, "ttload: -n and -d: one or the other\n");
		return 2;
	}
	if (addr[0] == NULL && addr[1] == NULL) {
		fprintf(stderr, "ttload: no server: -4 SERVER4, -6 SERVER6 or both\n");
		return 2;
	}
	if ((hops[0] != NULL || hops[1] != NULL) && l.nsrc == 0) {
		fprintf(stderr, "ttload: -H and -h need -S: the last hop is the source address\n");
		return 2;
	}
	if (path[0] != '/' || strpbrk(path, " \r\n") != NULL || strlen(path) > 900)
		bad('p', path, "not a path (a /, no spaces, at most 900 characters)");
	for (int f = 0; f < 2; f++) {
		if (addr[f] != NULL)
			dest_set(&l, f ? '6' : '4', addr[f], port, path);
		if (hops[f] != NULL)
			hops_set(&l.dest[f], f ? 'h' : 'H', f ? AF_INET6 : AF_INET, hops[f]);
	}
	if (setup(&l, wrongfile, latfile) < 0) {
		teardown(&l);
		return 1;
	}
	if (run(&l) < 0) {
		perror("ttload");
		teardown(&l);
		return 1;
	}
	/* Before report() sorts them: in the order they ended. */
	for (size_t i = 0; l.latf != NULL && i < l.lat200.n; i++)
		fprintf(l.latf, "%.3f\n", l.lat200.v[i]);
	report(&l);
	teardown(&l);
	return 0;
}
