/*
 * Hop enrichment: INFO_URI_TEMPLATE look-ups with the libcurl multi interface
 * and PTR names with c-ares, every socket in the broker's own poll set.
 */
#include "enrich.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ares.h>
#include <arpa/nameser.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "proto.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define ENRICH_URL_MAX	8192	/* a 512-byte template full of {ip} still fits */
#define ENRICH_BUCKETS	256	/* of the (kind, address) table that dedupes look-ups */
#define ENRICH_WHY_MAX	96
#define ENRICH_LEFT_OUT_MS 10	/* how often sockets without room in the poll set are checked */

enum owner {
	OWN_CURL = 1,
	OWN_ARES,
};

/* A socket libcurl or c-ares asked us to watch. */
struct esock {
	int fd;
	short events;		/* POLLIN | POLLOUT; 0: in the table but not watched */
	unsigned char owner;
};

enum job_state {
	JOB_QUEUED,		/* INFO waiting for a free request slot */
	JOB_RUNNING,
	JOB_FINISHED,		/* ended; done() comes in the next enrich_events */
};

struct job {
	struct enrich *e;
	enum enrich_kind kind;
	struct tt_addr addr;
	enum job_state state;
	TAILQ_ENTRY(job) entry;	/* in e->queue, e->running or e->finished */
	struct job *hnext;	/* the dedupe table's chain */
	CURL *easy;		/* INFO while running */
	char *data;		/* INFO: the body (NUL-terminated); NAME: the name */
	size_t len, cap;
	size_t header_bytes;
	int too_big;
	int ok;
	char why[ENRICH_WHY_MAX];
};

TAILQ_HEAD(jobq, job);

struct enrich {
	enrich_done_fn done;
	void *ctx;
	char *uri_template;	/* NULL: no INFO */
	int names;
	int skip_private;
	long connect_timeout_ms, timeout_ms;
	size_t max_bytes;
	int max_requests;
	int max_jobs;
	unsigned long refused;	/* enrich_start calls over max_jobs */
	char user_agent[64];

	CURLM *multi;
	int curl_inited;
	uint64_t curl_deadline_ms;	/* monotonic; 0: no curl timer */
	ares_channel channel;
	int ares_inited;

	struct esock *socks;	/* what both libraries wait on */
	int nsocks, capsocks;
	struct esock *snap;	/* what enrich_pollfds handed out, slot by slot */
	int nsnap, capsnap;
	int left_out;		/* the last enrich_pollfds had no room for some */
	int warned_room;

	struct job *buckets[ENRICH_BUCKETS];
	struct jobq queue, running, finished;
	int njobs;		/* every job: queued, running or finished */
	int info_running;
	int freeing;
};

/* ---- pure parts ---- */

int
enrich_url(const char *tmpl, const struct tt_addr *a, char *buf, size_t len)
{
	char ip[ADDR_STRLEN], esc[3 * ADDR_STRLEN];
	size_t o = 0, elen = 0;

	if (tmpl == NULL || a == NULL || buf == NULL || len == 0)
		return -1;
	if (a->family != AF_INET && a->family != AF_INET6)
		return -1;
	addr_format(a, ip);
	/* What RFC 6570 {ip} gives, as the original's uritemplates did: ':' is reserved. */
	for (const char *p = ip; *p; p++) {
		if (*p == ':') {
			memcpy(esc + elen, "%3A", 3);
			elen += 3;
		} else
			esc[elen++] = *p;
	}
	while (*tmpl) {
		const char *s;
		size_t n;

		if (strncmp(tmpl, "{ip}", 4) == 0) {
			s = esc;
			n = elen;
			tmpl += 4;
		} else {
			s = tmpl;
			n = 1;
			tmpl++;
		}
		if (n >= len - o)
			return -1;
		memcpy(buf + o, s, n);
		o += n;
	}
	buf[o] = '\0';
	return 0;
}

/* Is the first bits of a equal to those of the prefix p (same family)? */
static bool
in_prefix(const struct tt_addr *a, const uint8_t *p, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a->u.b, p, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a->u.b[full] ^ p[full]) & (0xff << (8 - rest))) == 0;
}

bool
enrich_addr_private(const struct tt_addr *a)
{
	static const struct {
		uint8_t p[4];
		int bits;
	} v4[] = {
		{ { 0, 0, 0, 0 }, 8 },		/* "this network" */
		{ { 10, 0, 0, 0 }, 8 },		/* RFC 1918 */
		{ { 100, 64, 0, 0 }, 10 },	/* shared address space (CGN) */
		{ { 127, 0, 0, 0 }, 8 },	/* loopback */
		{ { 169, 254, 0, 0 }, 16 },	/* link-local */
		{ { 172, 16, 0, 0 }, 12 },	/* RFC 1918 */
		{ { 192, 0, 2, 0 }, 24 },	/* documentation */
		{ { 192, 168, 0, 0 }, 16 },	/* RFC 1918 */
		{ { 198, 51, 100, 0 }, 24 },	/* documentation */
		{ { 203, 0, 113, 0 }, 24 },	/* documentation */
	};
	static const struct {
		uint8_t p[16];
		int bits;
	} v6[] = {
		{ { 0 }, 128 },					/* unspecified */
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128 },	/* loopback */
		{ { 0xfc }, 7 },				/* unique local */
		{ { 0xfe, 0x80 }, 10 },				/* link-local */
		{ { 0x20, 0x01, 0x0d, 0xb8 }, 32 },		/* documentation */
	};

	if (a == NULL)
		return false;
	if (a->family == AF_INET) {
		for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
			if (in_prefix(a, v4[i].p, v4[i].bits))
				return true;
	} else if (a->family == AF_INET6) {
		for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
			if (in_prefix(a, v6[i].p, v6[i].bits))
				return true;
	}
	return false;
}

/* ---- the socket table ---- */

static struct esock *
sock_find(struct enrich *e, int owner, int fd)
{
	for (int i = 0; i < e->nsocks; i++)
		if (e->socks[i].fd == fd && e->socks[i].owner == owner)
			return &e->socks[i];
	return NULL;
}

/* Watches fd for events on behalf of owner; events 0 forgets it. */
static void
sock_set(struct enrich *e, int owner, int fd, short events)
{
	struct esock *s = sock_find(e, owner, fd);

	if (events == 0) {
		if (s != NULL)
			*s = e->socks[--e->nsocks];
		return;
	}
	if (s == NULL) {
		if (e->nsocks == e->capsocks) {
			int cap = e->capsocks ? 2 * e->capsocks : 16;
			struct esock *n = reallocarray(e->socks, (size_t)cap, sizeof(*n));

			if (n == NULL) {
				/* The transfer or query then ends by its timeout. */
				log_warn("enrich: socket table");
				return;
			}
			e->socks = n;
			e->capsocks = cap;
		}
		s = &e->socks[e->nsocks++];
		s->fd = fd;
		s->owner = (unsigned char)owner;
	}
	s->events = events;
}

static int
on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct enrich *e = userp;
	short ev = 0;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= POLLOUT;
	sock_set(e, OWN_CURL, fd, ev);
	return 0;
}

static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct enrich *e = userp;

	(void)multi;
	/* The monotonic clock is never 0 here: 0 can mean "no timer". */
	e->curl_deadline_ms = timeout_ms < 0 ? 0 : time_ms(CLOCK_MONOTONIC) + (uint64_t)timeout_ms;
	return 0;
}

static void
on_ares_socket(void *data, ares_socket_t fd, int readable, int writable)
{
	struct enrich *e = data;

	sock_set(e, OWN_ARES, fd, (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0)));
}

/* ---- jobs ---- */

static unsigned int
job_hash(enum enrich_kind kind, const struct tt_addr *a)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;	/* FNV-1a */

	for (size_t i = 0; i < addr_len(a); i++)
		h = (h ^ a->u.b[i]) * 16777619u;
	return h % ENRICH_BUCKETS;
}

static struct job *
job_find(struct enrich *e, enum enrich_kind kind, const struct tt_addr *a)
{
	for (struct job *j = e->buckets[job_hash(kind, a)]; j != NULL; j = j->hnext)
		if (j->kind == kind && addr_equal(&j->addr, a))
			return j;
	return NULL;
}

static void
job_unhash(struct enrich *e, struct job *j)
{
	struct job **pp = &e->buckets[job_hash(j->kind, &j->addr)];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == j) {
			*pp = j->hnext;
			return;
		}
}

static struct jobq *
job_list(struct enrich *e, struct job *j)
{
	switch (j->state) {
	case JOB_QUEUED:
		return &e->queue;
	case JOB_RUNNING:
		return &e->running;
	case JOB_FINISHED:
		break;
	}
	return &e->finished;
}

/* Ends j (ok, or failed saying why); done() comes from enrich_events. */
static void
job_finish(struct job *j, int ok, const char *why)
{
	struct enrich *e = j->e;

	TAILQ_REMOVE(job_list(e, j), j, entry);
	if (j->easy != NULL) {
		curl_multi_remove_handle(e->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
		e->info_running--;
	}
	j->ok = ok;
	if (!ok) {
		snprintf(j->why, sizeof(j->why), "%s", why);
		free(j->data);
		j->data = NULL;
		j->len = 0;
	}
	j->state = JOB_FINISHED;
	TAILQ_INSERT_TAIL(&e->finished, j, entry);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->easy != NULL)
		curl_easy_cleanup(j->easy);
	free(j->data);
	free(j);
}

/* ---- INFO through libcurl ---- */

/* The body, kept up to max_bytes; one byte more ends the transfer. */
static size_t
body_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb, max = j->e->max_bytes;

	if (n > max - j->len) {
		j->too_big = 1;
		return 0;	/* anything but n ends the transfer */
	}
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 1024;
		char *d;

		while (cap < j->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		if ((d = realloc(j->data, cap)) == NULL)
			return 0;
		j->data = d;
		j->cap = cap;
	}
	memcpy(j->data + j->len, p, n);
	j->len += n;
	j->data[j->len] = '\0';
	return n;
}

/* Headers count against the same limit: a server cannot send them forever either. */
static size_t
header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb;

	(void)p;
	j->header_bytes += n;
	if (j->header_bytes > j->e->max_bytes) {
		j->too_big = 2;
		return 0;
	}
	return n;
}

#define SETOPT(opt, val) do { \
	if (curl_easy_setopt(j->easy, opt, val) != CURLE_OK) \
		goto fail; \
} while (0)

/* Starts j's request; on failure j is finished with the reason. */
static void
info_run(struct enrich *e, struct job *j)
{
	char url[ENRICH_URL_MAX];
	const char *why = "cannot set up the request";

	TAILQ_REMOVE(&e->queue, j, entry);
	j->state = JOB_RUNNING;
	TAILQ_INSERT_TAIL(&e->running, j, entry);
	if (enrich_url(e->uri_template, &j->addr, url, sizeof(url)) < 0) {
		job_finish(j, 0, "URL too long");
		return;
	}
	if ((j->easy = curl_easy_init()) == NULL)
		goto fail;
	e->info_running++;
	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_PRIVATE, j);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, e->connect_timeout_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, e->timeout_ms);
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)e->max_bytes);
	SETOPT(CURLOPT_WRITEFUNCTION, body_cb);
	SETOPT(CURLOPT_WRITEDATA, j);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, j);
	SETOPT(CURLOPT_USERAGENT, e->user_agent);
	if (curl_multi_add_handle(e->multi, j->easy) != CURLM_OK)
		goto fail;
	return;
fail:
	job_finish(j, 0, why);
}

#undef SETOPT

/* Starts queued requests while there is room, oldest first. */
static void
info_run_queued(struct enrich *e)
{
	struct job *j;

	while (e->info_running < e->max_requests && (j = TAILQ_FIRST(&e->queue)) != NULL)
		info_run(e, j);
}

/* A transfer ended with res: finish its job with the body or the reason. */
static void
info_done(struct job *j, CURLcode res)
{
	char why[ENRICH_WHY_MAX];
	long code = 0;
	curl_off_t connect_us = 0;

	if (j->too_big || res == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, sizeof(why), "%s over %zu bytes", j->too_big == 2 ? "headers" : "body",
		    j->e->max_bytes);
		job_finish(j, 0, why);
		return;
	}
	switch (res) {
	case CURLE_OK:
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200) {
			if (j->data == NULL && (j->data = strdup("")) == NULL) {
				job_finish(j, 0, "out of memory");
				return;
			}
			job_finish(j, 1, NULL);
			return;
		}
		if (code >= 300 && code <= 399)
			snprintf(why, sizeof(why), "redirect (HTTP %ld)", code);
		else
			snprintf(why, sizeof(why), "HTTP %ld", code);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(j->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
		snprintf(why, sizeof(why), "%s", connect_us > 0 ? "timeout" : "connect timeout");
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		snprintf(why, sizeof(why), "connection closed");
		break;
	case CURLE_COULDNT_CONNECT:
		snprintf(why, sizeof(why), "cannot connect");
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(why, sizeof(why), "cannot resolve the service's host");
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(why, sizeof(why), "protocol not allowed");
		break;
	default:
		snprintf(why, sizeof(why), "%s", curl_easy_strerror(res));
		break;
	}
	job_finish(j, 0, why);
}

static void
info_collect(struct enrich *e)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		struct job *j = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
		if (j != NULL)
			info_done(j, m->data.result);
	}
}

/* ---- NAME through c-ares ---- */

/* a's reverse DNS name: 1.2.0.192.in-addr.arpa, or 32 nibbles and ip6.arpa. */
static void
ptr_name(const struct tt_addr *a, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (a->family == AF_INET) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a->u.b[3], a->u.b[2], a->u.b[1],
		    a->u.b[0]);
		return;
	}
	for (int i = 15; i >= 0 && o + 4 < len; i--) {
		buf[o++] = hex[a->u.b[i] & 0xf];
		buf[o++] = '.';
		buf[o++] = hex[a->u.b[i] >> 4];
		buf[o++] = '.';
	}
	snprintf(buf + o, len - o, "ip6.arpa");
}

/* The PTR query's answer (ares_query rather than ares_gethostbyaddr, which reports a timeout as "not found"). */
static void
name_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct job *j = arg;
	struct hostent *he = NULL;
	size_t n;
	int rc;

	(void)timeouts;
	if (j->e->freeing || status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
		return;		/* enrich_free: no done() */
	switch (status) {
	case ARES_SUCCESS:
		break;
	case ARES_ENOTFOUND:	/* NXDOMAIN */
	case ARES_ENODATA:	/* the name, but no PTR */
		job_finish(j, 0, "no PTR record");
		return;
	case ARES_ETIMEOUT:
		job_finish(j, 0, "timeout");
		return;
	case ARES_ECONNREFUSED:
		job_finish(j, 0, "DNS server unreachable");
		return;
	default:
		job_finish(j, 0, ares_strerror(status));
		return;
	}
	/* c-ares refuses names with bytes a host name cannot have (EBADRESP). */
	if ((rc = ares_parse_ptr_reply(abuf, alen, j->addr.u.b, (int)addr_len(&j->addr),
	    j->addr.family, &he)) != ARES_SUCCESS || he == NULL || he->h_name == NULL) {
		job_finish(j, 0, rc == ARES_ENODATA ? "no PTR record" : rc == ARES_EBADRESP ?
		    "not a DNS name" : ares_strerror(rc));
		if (he != NULL)
			ares_free_hostent(he);
		return;
	}
	n = strlen(he->h_name);
	if (n > 0 && he->h_name[n - 1] == '.')
		n--;
	if (!proto_name_ok(he->h_name, n)) {
		ares_free_hostent(he);
		job_finish(j, 0, "not a DNS name");
		return;
	}
	if ((j->data = malloc(n + 1)) == NULL) {
		ares_free_hostent(he);
		job_finish(j, 0, "out of memory");
		return;
	}
	memcpy(j->data, he->h_name, n);
	j->data[n] = '\0';
	j->len = n;
	ares_free_hostent(he);
	job_finish(j, 1, NULL);
}

/* ---- the interface ---- */

/* "IP", "IPv4:PORT" or "[IPv6]:PORT" as c-ares's "[IPv6]:PORT" list form; -1 if it is none. */
static int
dns_server_csv(const char *s, char *out, size_t len)
{
	char buf[ADDR_STRLEN];
	struct tt_addr a;
	uint16_t p;

	if (addr_port_parse(s, &a, &p) < 0)
		return -1;
	addr_format(&a, buf);
	if ((size_t)snprintf(out, len, a.family == AF_INET6 ? "[%s]:%u" : "%s:%u", buf,
	    p != 0 ? (unsigned)p : 53u) >= len)
		return -1;
	return 0;
}

struct enrich *
enrich_new(const struct enrich_cfg *cfg, enrich_done_fn done, void *ctx, char *err, size_t errlen)
{
	struct enrich *e;
	struct ares_options ao;
	char csv[ADDR_STRLEN + 16];
	int rc;

	if (cfg == NULL || done == NULL) {
		seterr(err, errlen, "enrich: no configuration");
		return NULL;
	}
	if (cfg->connect_timeout_ms == 0 || cfg->timeout_ms == 0 || cfg->max_bytes == 0 ||
	    cfg->max_requests < 1 || cfg->connect_timeout_ms > LONG_MAX ||
	    cfg->timeout_ms > LONG_MAX || cfg->max_bytes > SIZE_MAX / 2) {
		seterr(err, errlen, "enrich: timeouts, size and request limit must be positive");
		return NULL;
	}
	if (cfg->uri_template != NULL && cfg->uri_template[0] != '\0' &&
	    ((strncasecmp(cfg->uri_template, "http://", 7) != 0 &&
	    strncasecmp(cfg->uri_template, "https://", 8) != 0) ||
	    strstr(cfg->uri_template, "{ip}") == NULL)) {
		seterr(err, errlen, "enrich: \"%s\" is not an http:// or https:// URL with {ip}",
		    cfg->uri_template);
		return NULL;
	}
	if (cfg->dns_server != NULL && cfg->dns_server[0] != '\0' &&
	    dns_server_csv(cfg->dns_server, csv, sizeof(csv)) < 0) {
		seterr(err, errlen, "enrich: dns server \"%s\" is not IP or IP:PORT", cfg->dns_server);
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		seterr(err, errlen, "enrich: %s", strerror(errno));
		return NULL;
	}
	e->done = done;
	e->ctx = ctx;
	e->names = cfg->names;
	e->skip_private = cfg->skip_private;
	e->connect_timeout_ms = (long)cfg->connect_timeout_ms;
	e->timeout_ms = (long)cfg->timeout_ms;
	e->max_bytes = cfg->max_bytes;
	e->max_requests = cfg->max_requests;
	e->max_jobs = cfg->max_jobs > 0 ? cfg->max_jobs : INT_MAX;
	snprintf(e->user_agent, sizeof(e->user_agent), "tracetrout/%s", PACKAGE_VERSION);
	TAILQ_INIT(&e->queue);
	TAILQ_INIT(&e->running);
	TAILQ_INIT(&e->finished);
	if (cfg->uri_template != NULL && cfg->uri_template[0] != '\0' &&
	    (e->uri_template = strdup(cfg->uri_template)) == NULL) {
		seterr(err, errlen, "enrich: %s", strerror(errno));
		goto fail;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		seterr(err, errlen, "enrich: curl_global_init failed");
		goto fail;
	}
	e->curl_inited = 1;
	if ((e->multi = curl_multi_init()) == NULL ||
	    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)cfg->max_requests) != CURLM_OK) {
		seterr(err, errlen, "enrich: cannot set up libcurl's multi handle");
		goto fail;
	}

	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		seterr(err, errlen, "enrich: c-ares: %s", ares_strerror(rc));
		goto fail;
	}
	e->ares_inited = 1;
	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = on_ares_socket;
	ao.sock_state_cb_data = e;
	/*
	 * Two tries whose timeouts add up to timeout_ms with one server (c-ares
	 * doubles the second), less with more. PTR queries go to DNS only, never
	 * /etc/hosts (a file read in the event loop for every look-up).
	 */
	ao.timeout = (int)(cfg->timeout_ms / 3 > 0 ? (cfg->timeout_ms / 3 > INT_MAX ?
	    INT_MAX : cfg->timeout_ms / 3) : 1);
	ao.tries = 2;
	if ((rc = ares_init_options(&e->channel, &ao, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES)) != ARES_SUCCESS) {
		seterr(err, errlen, "enrich: c-ares: %s", ares_strerror(rc));
		e->channel = NULL;
		goto fail;
	}
	if (cfg->dns_server != NULL && cfg->dns_server[0] != '\0' &&
	    (rc = ares_set_servers_ports_csv(e->channel, csv)) != ARES_SUCCESS) {
		seterr(err, errlen, "enrich: dns server %s: %s", csv, ares_strerror(rc));
		goto fail;
	}
	return e;
fail:
	enrich_free(e);
	return NULL;
}

void
enrich_free(struct enrich *e)
{
	struct jobq *lists[3];
	struct job *j;

	if (e == NULL)
		return;
	e->freeing = 1;
	/* Transfers first: their handles must leave the multi handle before it goes. */
	while ((j = TAILQ_FIRST(&e->running)) != NULL) {
		TAILQ_REMOVE(&e->running, j, entry);
		if (j->easy != NULL) {
			curl_multi_remove_handle(e->multi, j->easy);
			curl_easy_cleanup(j->easy);
			j->easy = NULL;
		}
		j->state = JOB_FINISHED;
		TAILQ_INSERT_TAIL(&e->finished, j, entry);
	}
	if (e->multi != NULL)
		curl_multi_cleanup(e->multi);
	/* Calls the NAME callbacks with ARES_EDESTRUCTION: they do nothing now. */
	if (e->channel != NULL)
		ares_destroy(e->channel);
	if (e->ares_inited)
		ares_library_cleanup();
	if (e->curl_inited)
		curl_global_cleanup();
	lists[0] = &e->queue;
	lists[1] = &e->running;
	lists[2] = &e->finished;
	for (int i = 0; i < 3; i++)
		while ((j = TAILQ_FIRST(lists[i])) != NULL) {
			TAILQ_REMOVE(lists[i], j, entry);
			job_free(j);
		}
	free(e->socks);
	free(e->snap);
	free(e->uri_template);
	free(e);
}

int
enrich_start(struct enrich *e, enum enrich_kind kind, const struct tt_addr *a)
{
	struct job *j;
	unsigned int h;

	if (e == NULL || a == NULL || (a->family != AF_INET && a->family != AF_INET6) ||
	    (kind != ENRICH_INFO && kind != ENRICH_NAME)) {
		errno = EINVAL;
		return -1;
	}
	if ((kind == ENRICH_INFO && e->uri_template == NULL) || (kind == ENRICH_NAME && !e->names))
		return 0;
	if (e->skip_private && enrich_addr_private(a))
		return 0;
	if (job_find(e, kind, a) != NULL)
		return 1;
	/* Hop addresses are whatever routers, or forged errors, say: the work has a ceiling. */
	if (e->njobs >= e->max_jobs) {
		e->refused++;
		return 0;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->e = e;
	j->kind = kind;
	memset(&j->addr, 0, sizeof(j->addr));
	j->addr.family = a->family;
	memcpy(j->addr.u.b, a->u.b, addr_len(a));
	h = job_hash(kind, a);
	j->hnext = e->buckets[h];
	e->buckets[h] = j;
	e->njobs++;
	if (kind == ENRICH_INFO) {
		j->state = JOB_QUEUED;
		TAILQ_INSERT_TAIL(&e->queue, j, entry);
		info_run_queued(e);
	} else {
		char qname[80];

		j->state = JOB_RUNNING;
		TAILQ_INSERT_TAIL(&e->running, j, entry);
		ptr_name(a, qname, sizeof(qname));
		/* The callback may come at once (no server, say): then j is finished. */
		ares_query(e->channel, qname, C_IN, T_PTR, name_cb, j);
	}
	return 1;
}

int
enrich_cancel(struct enrich *e, enum enrich_kind kind, const struct tt_addr *a)
{
	struct job *j;

	if (e == NULL || a == NULL || (j = job_find(e, kind, a)) == NULL || j->state != JOB_QUEUED)
		return 0;
	TAILQ_REMOVE(&e->queue, j, entry);
	job_unhash(e, j);
	e->njobs--;
	job_free(j);
	return 1;
}

unsigned long
enrich_refused(const struct enrich *e)
{
	return e == NULL ? 0 : e->refused;
}

int
enrich_pending(const struct enrich *e)
{
	return e == NULL ? 0 : e->njobs;
}

int
enrich_nfds(const struct enrich *e)
{
	int n = 0;

	if (e == NULL)
		return 0;
	for (int i = 0; i < e->nsocks; i++)
		if (e->socks[i].events != 0)
			n++;
	return n;
}

int
enrich_pollfds(struct enrich *e, struct pollfd *pfd, int n)
{
	int want, filled = 0;

	if (e == NULL)
		return 0;
	e->nsnap = 0;
	want = enrich_nfds(e);
	e->left_out = want > (n > 0 ? n : 0);
	if (pfd == NULL || n <= 0)
		return 0;
	if (want > e->capsnap) {
		struct esock *s = reallocarray(e->snap, (size_t)want, sizeof(*s));

		if (s == NULL) {
			e->left_out = 1;
			return 0;
		}
		e->snap = s;
		e->capsnap = want;
	}
	if (e->left_out && !e->warned_room) {
		log_warnx("enrich: room for %d of %d sockets in the poll set; the rest are "
		    "checked every %d ms", n, want, ENRICH_LEFT_OUT_MS);
		e->warned_room = 1;
	}
	for (int i = 0; i < e->nsocks && filled < n; i++) {
		if (e->socks[i].events == 0)
			continue;
		pfd[filled].fd = e->socks[i].fd;
		pfd[filled].events = e->socks[i].events;
		pfd[filled].revents = 0;
		e->snap[filled] = e->socks[i];
		filled++;
	}
	e->nsnap = filled;
	return filled;
}

/* Hands the finished jobs to done(), those that were finished when called. */
static void
deliver(struct enrich *e)
{
	struct jobq now;
	struct job *j;

	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &e->finished, entry);
	while ((j = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, j, entry);
		/* Gone from the table first: done() may start a new look-up of the address. */
		job_unhash(e, j);
		e->njobs--;
		e->done(e->ctx, j->kind, &j->addr, j->ok, j->ok ? j->data : NULL,
		    j->ok ? j->len : 0, j->ok ? NULL : j->why);
		job_free(j);
	}
}

/* Gives a socket's poll result to the library that watches it. */
static void
dispatch(struct enrich *e, const struct esock *s, short rev)
{
	int running;

	if (rev == 0 || sock_find(e, s->owner, s->fd) == NULL)
		return;		/* closed meanwhile, perhaps reused by the other library */
	if (s->owner == OWN_CURL) {
		int mask = 0;

		if (rev & (POLLIN | POLLHUP))
			mask |= CURL_CSELECT_IN;
		if (rev & POLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (rev & (POLLERR | POLLNVAL))
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(e->multi, s->fd, mask, &running);
	} else {
		ares_process_fd(e->channel,
		    rev & (POLLIN | POLLHUP | POLLERR | POLLNVAL) ? s->fd : ARES_SOCKET_BAD,
		    rev & POLLOUT ? s->fd : ARES_SOCKET_BAD);
	}
}

/* The sockets enrich_pollfds had no room for: a poll of our own that does not wait. */
static void
poll_left_out(struct enrich *e)
{
	struct pollfd *pfd;
	struct esock *s;
	int n = 0;

	if ((pfd = calloc((size_t)e->nsocks, sizeof(*pfd))) == NULL ||
	    (s = calloc((size_t)e->nsocks, sizeof(*s))) == NULL) {
		free(pfd);
		return;
	}
	for (int i = 0; i < e->nsocks; i++) {
		int seen = 0;

		for (int k = 0; k < e->nsnap && !seen; k++)
			seen = e->snap[k].fd == e->socks[i].fd && e->snap[k].owner == e->socks[i].owner;
		if (seen || e->socks[i].events == 0)
			continue;
		s[n] = e->socks[i];
		pfd[n].fd = s[n].fd;
		pfd[n].events = s[n].events;
		n++;
	}
	if (n > 0 && poll(pfd, (nfds_t)n, 0) > 0)
		for (int i = 0; i < n; i++)
			dispatch(e, &s[i], pfd[i].revents);
	free(pfd);
	free(s);
}

void
enrich_events(struct enrich *e, const struct pollfd *pfd, int n)
{
	int running;

	if (e == NULL)
		return;
	if (e->left_out)
		poll_left_out(e);
	for (int i = 0; pfd != NULL && i < n && i < e->nsnap; i++)
		if (pfd[i].fd == e->snap[i].fd)
			dispatch(e, &e->snap[i], pfd[i].revents);
	e->nsnap = 0;
	e->left_out = 0;
	if (e->curl_deadline_ms != 0 && time_ms(CLOCK_MONOTONIC) >= e->curl_deadline_ms) {
		e->curl_deadline_ms = 0;
		curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	/* Queries past their time. */
	ares_process_fd(e->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	info_collect(e);
	info_run_queued(e);
	deliver(e);
}

int
enrich_timeout_ms(struct enrich *e)
{
	struct timeval tv, *tvp;
	long long t = -1;

	if (e == NULL)
		return -1;
	if (!TAILQ_EMPTY(&e->finished))
		return 0;
	if (e->curl_deadline_ms != 0) {
		uint64_t now = time_ms(CLOCK_MONOTONIC);

		t = e->curl_deadline_ms > now ? (long long)(e->curl_deadline_ms - now) : 0;
	}
	if ((tvp = ares_timeout(e->channel, NULL, &tv)) != NULL) {
		long long a = (long long)tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000;

		if (t < 0 || a < t)
			t = a;
	}
	if (e->left_out && (t < 0 || t > ENRICH_LEFT_OUT_MS))
		t = ENRICH_LEFT_OUT_MS;
	return t > INT_MAX ? INT_MAX : (int)t;
}
