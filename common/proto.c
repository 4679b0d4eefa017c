/* The broker's line protocol (docs/protocol.md): parsing and formatting, shared by both ends. */
#include "proto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_TOKENS	(PROTO_MAX_REPLIES + 8)

/* The STATUS counters in the order they are sent; names are protocol (docs/protocol.md). */
static const struct {
	const char *key;
	size_t off;
} status_keys[] = {
#define K(f) { #f, offsetof(struct proto_status, f) }
	K(uptime_s),
	K(traces_running),
	K(traces_done),
	K(traces_refused),
	K(busy),
	K(forbidden),
	K(probes_sent),
	K(replies_matched),
	K(icmp_unmatched),
	K(icmp_foreign),
	K(bad_packets),
	K(queue_drops),
	K(db_errors),
	K(enrich_requests),
	K(overload_refused),
	K(fleet_connected),
	K(fleet_waiting),
	K(fleet_shipped),
	K(fleet_failures),
#undef K
};

#define NSTATUS	(sizeof(status_keys) / sizeof(status_keys[0]))

static const char *kind_names[] = {
	[REPLY_TIME_EXCEEDED] = "time-exceeded",
	[REPLY_UNREACHABLE] = "unreachable",
	[REPLY_PACKET_TOO_BIG] = "packet-too-big",
	[REPLY_DESTINATION] = "destination",
};

const char *
reply_kind_name(enum reply_kind k)
{
	if ((size_t)k < sizeof(kind_names) / sizeof(kind_names[0]) && kind_names[k])
		return kind_names[k];
	return "?";
}

/* A reply kind's name (not "?") into *k; returns 0, or -1 for a name not known. */
static int
kind_parse(const char *s, size_t n, enum reply_kind *k)
{
	for (size_t i = 1; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strlen(kind_names[i]) == n && memcmp(kind_names[i], s, n) == 0) {
			*k = (enum reply_kind)i;
			return 0;
		}
	return -1;
}

/* Parses a decimal number of at most 19 digits into *v, no sign; returns 0 or -1. */
static int
num_parse(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

/* Copies token value s[0..n) into a NUL-terminated buffer of size len; -1 if too long. */
static int
str_copy(char *dst, size_t len, const char *s, size_t n)
{
	if (n >= len)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

struct tok {
	const char *s;
	size_t n;
};

/* Splits on single spaces; returns the count, or -1 on empty tokens or too many. */
static int
split(const char *line, size_t len, struct tok *t, int max)
{
	int n = 0;
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && line[j] != ' ')
			j++;
		if (j == i || n == max)
			return -1;
		t[n].s = line + i;
		t[n].n = j - i;
		n++;
		i = j + 1;
		if (j < len && i == len)
			return -1;	/* trailing space */
	}
	return n;
}

/* Is token t "key=..."? If so, points *v at the value. */
static bool
kv(const struct tok *t, const char *key, struct tok *v)
{
	size_t k = strlen(key);

	if (t->n <= k || memcmp(t->s, key, k) != 0 || t->s[k] != '=')
		return false;
	v->s = t->s + k + 1;
	v->n = t->n - k - 1;
	return true;
}

/* What a line holds of one optional key (id_key, stored_key). */
enum kv_found {
	KV_ABSENT = 0,		/* not this key */
	KV_OK,			/* the key, well formed: its value was stored */
	KV_BAD,			/* the key, malformed */
};

static int pct_decode(char *dst, size_t len, const struct tok *v);
static int fmt_pct(char *buf, size_t len, const char *key, const char *v);

/* A token's value as an address (addr_parse's rules); returns 0, or -1. */
static int
addr_tok(const struct tok *v, struct tt_addr *a)
{
	char buf[ADDR_STRLEN];

	if (str_copy(buf, sizeof(buf), v->s, v->n) < 0)
		return -1;
	return addr_parse(buf, a);
}

/* Splits v at sep into at most max fields; returns the count, or -1 if there are more. */
static int
fields(const struct tok *v, char sep, struct tok *f, int max)
{
	size_t start = 0;
	int nf = 0;

	for (size_t i = 0; i <= v->n; i++) {
		if (i == v->n || v->s[i] == sep) {
			if (nf == max)
				return -1;
			f[nf].s = v->s + start;
			f[nf].n = i - start;
			nf++;
			start = i + 1;
		}
	}
	return nf;
}

/*
 * LABEL/EXP/S/TTL+...: the MPLS label stack, top first; "-" for none.
 * Returns 0, or -1 if malformed.
 */
static int
mpls_parse(const struct tok *v, struct proto_reply *r)
{
	struct tok e[PROTO_MAX_MPLS], f[4];
	uint64_t x[4];
	int ne;

	if (v->n == 1 && v->s[0] == '-')
		return 0;
	if ((ne = fields(v, '+', e, PROTO_MAX_MPLS)) < 0)
		return -1;
	for (int i = 0; i < ne; i++) {
		if (fields(&e[i], '/', f, 4) != 4 ||
		    num_parse(f[0].s, f[0].n, 0xfffff, &x[0]) < 0 ||
		    num_parse(f[1].s, f[1].n, 7, &x[1]) < 0 ||
		    num_parse(f[2].s, f[2].n, 1, &x[2]) < 0 ||
		    num_parse(f[3].s, f[3].n, 255, &x[3]) < 0)
			return -1;
		r->mpls[i].label = (uint32_t)x[0];
		r->mpls[i].exp = (uint8_t)x[1];
		r->mpls[i].s = (uint8_t)x[2];
		r->mpls[i].ttl = (uint8_t)x[3];
	}
	r->nmpls = ne;
	return 0;
}

/*
 * FROM,RTT_US,KIND,CODE,REPLY_TTL, then (optional as a group, for brokers
 * before extensions) QUOTED_TTL,SIZE,EXT,EDST,MPLS, then (optional, left
 * out when 0) FLAGS. Returns 0, or -1 if malformed.
 */
static int
reply_parse(const struct tok *v, struct proto_reply *r)
{
	struct tok f[11];
	uint64_t x;
	int nf;

	if ((nf = fields(v, ',', f, 11)) != 5 && nf != 10 && nf != 11)
		return -1;
	if (addr_tok(&f[0], &r->from) < 0)
		return -1;
	if (num_parse(f[1].s, f[1].n, UINT32_MAX, &x) < 0)
		return -1;
	r->rtt_us = (uint32_t)x;
	if (kind_parse(f[2].s, f[2].n, &r->kind) < 0)
		return -1;
	if (num_parse(f[3].s, f[3].n, UINT32_MAX, &x) < 0)
		return -1;
	r->code = (uint32_t)x;
	if (num_parse(f[4].s, f[4].n, 255, &x) < 0)
		return -1;
	r->reply_ttl = (uint8_t)x;
	if (nf == 5)
		return 0;
	if (num_parse(f[5].s, f[5].n, 255, &x) < 0)
		return -1;
	r->quoted_ttl = (uint8_t)x;
	if (num_parse(f[6].s, f[6].n, UINT16_MAX, &x) < 0)
		return -1;
	r->size = (uint16_t)x;
	if (num_parse(f[7].s, f[7].n, PROTO_EXT_RFC4884, &x) < 0)
		return -1;
	r->ext = (enum proto_ext)x;
	if (!(f[8].n == 1 && f[8].s[0] == '-') && addr_tok(&f[8], &r->edst) < 0)
		return -1;
	if (mpls_parse(&f[9], r) < 0)
		return -1;
	if (nf == 10)
		return 0;
	if (num_parse(f[10].s, f[10].n, 255, &x) < 0 || (x & ~(uint64_t)PROTO_RF_ALL) != 0)
		return -1;
	r->flags = (uint8_t)x;
	return 0;
}

static int
verb_is(const struct tok *t, const char *verb)
{
	return t->n == strlen(verb) && memcmp(t->s, verb, t->n) == 0;
}

/* proxy=WHY: a known reason, never empty; returns 0, or -1. */
static int
proxy_value(const struct tok *v, enum proto_proxy *p)
{
	return proto_proxy_parse(v->s, v->n, p) < 0 || *p == PROTO_PROXY_NONE ? -1 : 0;
}

static enum proto_verb
parse_trace(const struct tok *t, int n, struct proto_msg *m)
{
	int have = 0;
	char buf[8];
	struct tok v;

	for (int i = 1; i < n; i++) {
		if (kv(&t[i], "client", &v)) {
			if (addr_tok(&v, &m->req.client) < 0)
				return PROTO_BAD;
			have |= 1;
		} else if (kv(&t[i], "server", &v)) {
			if (addr_tok(&v, &m->req.server) < 0)
				return PROTO_BAD;
			have |= 2;
		} else if (kv(&t[i], "cport", &v)) {
			if (str_copy(buf, sizeof(buf), v.s, v.n) < 0 || port_parse(buf, &m->req.cport) < 0)
				return PROTO_BAD;
			have |= 4;
		} else if (kv(&t[i], "sport", &v)) {
			if (str_copy(buf, sizeof(buf), v.s, v.n) < 0 || port_parse(buf, &m->req.sport) < 0)
				return PROTO_BAD;
			have |= 8;
		} else if (kv(&t[i], "store", &v)) {
			if (v.n != 1 || (v.s[0] != '0' && v.s[0] != '1'))
				return PROTO_BAD;
			m->req.nostore = v.s[0] == '0';
		} else if (kv(&t[i], "names", &v)) {
			if (v.n != 1 || (v.s[0] != '0' && v.s[0] != '1'))
				return PROTO_BAD;
			m->req.nonames = v.s[0] == '0';
		} else if (kv(&t[i], "wait", &v)) {
			if (v.n != 1 || (v.s[0] != '0' && v.s[0] != '1'))
				return PROTO_BAD;
			m->req.wait = v.s[0] == '1';
		} else if (kv(&t[i], "proxy", &v)) {
			if (proxy_value(&v, &m->req.proxy) < 0)
				return PROTO_BAD;
		}
	}
	if (have != 15 || m->req.client.family != m->req.server.family)
		return PROTO_BAD;
	return PROTO_TRACE;
}

/*
 * stored=0|1 anywhere among the tokens, into *stored (-1 when absent);
 * returns KV_BAD at the first malformed one.
 */
static enum kv_found
stored_key(const struct tok *t, int n, int *stored)
{
	struct tok v;

	*stored = -1;
	for (int i = 1; i < n; i++)
		if (kv(&t[i], "stored", &v)) {
			if (v.n != 1 || (v.s[0] != '0' && v.s[0] != '1'))
				return KV_BAD;
			*stored = v.s[0] - '0';
		}
	return *stored < 0 ? KV_ABSENT : KV_OK;
}

static uint64_t *
status_field(struct proto_status *st, size_t i)
{
	return (uint64_t *)(void *)((char *)st + status_keys[i].off);
}

/* STATUS alone is the request; with keys, the answer. Unknown keys are ignored. */
static enum proto_verb
parse_status(const struct tok *t, int n, struct proto_msg *m)
{
	struct tok v;
	uint64_t x;

	for (size_t k = 0; k < NSTATUS; k++)
		*status_field(&m->status, k) = PROTO_STATUS_UNKNOWN;
	for (int i = 1; i < n; i++)
		for (size_t k = 0; k < NSTATUS; k++)
			if (kv(&t[i], status_keys[k].key, &v)) {
				if (num_parse(v.s, v.n, PROTO_STATUS_UNKNOWN - 1, &x) < 0)
					return PROTO_BAD;
				*status_field(&m->status, k) = x;
			}
	return PROTO_STATUS;
}

/* reused=ADDR,AGE_MS: a silent hop's remembered router (docs/protocol.md). Returns 0, or -1. */
static int
reused_parse(const struct tok *v, struct proto_hop *h)
{
	struct tok f[2];
	uint64_t x;

	if (fields(v, ',', f, 2) != 2 || addr_tok(&f[0], &h->reused) < 0 ||
	    num_parse(f[1].s, f[1].n, PROTO_REUSED_AGE_MAX, &x) < 0)
		return -1;
	h->reused_age_ms = (uint32_t)x;
	return 0;
}

static enum proto_verb
parse_hop(const struct tok *t, int n, struct proto_msg *m)
{
	struct proto_hop *h = &m->hop;
	int have = 0;
	uint64_t x;
	struct tok v;

	for (int i = 1; i < n; i++) {
		if (kv(&t[i], "ttl", &v)) {
			if (num_parse(v.s, v.n, 255, &x) < 0 || x == 0)
				return PROTO_BAD;
			h->ttl = (int)x;
			have |= 1;
		} else if (kv(&t[i], "sent", &v)) {
			if (num_parse(v.s, v.n, PROTO_MAX_REPLIES, &x) < 0)
				return PROTO_BAD;
			h->sent = (int)x;
			have |= 2;
		} else if (kv(&t[i], "at_us", &v)) {
			if (num_parse(v.s, v.n, UINT64_MAX / 2, &x) < 0)
				return PROTO_BAD;
			h->at_us = x;
		} else if (kv(&t[i], "reply", &v)) {
			if (h->nreplies == PROTO_MAX_REPLIES ||
			    reply_parse(&v, &h->r[h->nreplies]) < 0)
				return PROTO_BAD;
			h->nreplies++;
		} else if (kv(&t[i], "reused", &v)) {
			if (reused_parse(&v, h) < 0)
				return PROTO_BAD;
		}
	}
	/* A reused router stands in for no answer: a hop with replies has none. */
	if (h->reused.family != 0 && h->nreplies > 0)
		return PROTO_BAD;
	return have == 3 ? PROTO_HOP : PROTO_BAD;
}

static enum proto_verb
parse_end(const struct tok *t, int n, struct proto_msg *m)
{
	int have = 0;
	uint64_t x;
	struct tok v;

	for (int i = 1; i < n; i++) {
		if (kv(&t[i], "reason", &v)) {
			if (str_copy(m->code, sizeof(m->code), v.s, v.n) < 0)
				return PROTO_BAD;
			have |= 1;
		} else if (kv(&t[i], "hops", &v)) {
			if (num_parse(v.s, v.n, 255, &x) < 0)
				return PROTO_BAD;
			m->hops = (int)x;
		} else if (kv(&t[i], "duration_us", &v)) {
			if (num_parse(v.s, v.n, UINT64_MAX / 2, &x) < 0)
				return PROTO_BAD;
			m->duration_us = x;
		}
	}
	if (stored_key(t, n, &m->stored) == KV_BAD)
		return PROTO_BAD;
	return have ? PROTO_END : PROTO_BAD;
}

static enum proto_verb
parse_error(const struct tok *t, int n, struct proto_msg *m)
{
	struct tok v;
	uint64_t x;
	int have = 0;

	for (int i = 1; i < n; i++) {
		if (kv(&t[i], "code", &v)) {
			if (str_copy(m->code, sizeof(m->code), v.s, v.n) < 0)
				return PROTO_BAD;
			have = 1;
		} else if (kv(&t[i], "retry", &v)) {
			if (num_parse(v.s, v.n, 86400, &x) < 0)
				return PROTO_BAD;
			m->retry = (int)x;
		} else if (kv(&t[i], "msg", &v)) {
			if (v.n >= sizeof(m->msg))
				v.n = sizeof(m->msg) - 1;
			str_copy(m->msg, sizeof(m->msg), v.s, v.n);
			for (char *p = m->msg; *p; p++)
				if (*p == '_')
					*p = ' ';
		}
	}
	return have ? PROTO_ERROR : PROTO_BAD;
}

/* key=HEX, 32 lowercase hex digits, into dst, when token t is key's. */
static enum kv_found
id_key(const struct tok *t, const char *key, char *dst)
{
	struct tok v;

	if (!kv(t, key, &v))
		return KV_ABSENT;
	if (!proto_id_ok(v.s, v.n))
		return KV_BAD;
	memcpy(dst, v.s, PROTO_ID_LEN);
	dst[PROTO_ID_LEN] = '\0';
	return KV_OK;
}

/*
 * STARTED and STORED: id= first, then stored=, token=, started_ms=, addr=,
 * retention_s=, and for STORED the connection (client= cport= server= sport=).
 */
static enum proto_verb
parse_header(const struct tok *t, int n, struct proto_msg *m, enum proto_verb verb)
{
	struct tok v;
	uint64_t x;
	enum kv_found r;

	if (n < 2 || id_key(&t[1], "id", m->id) != KV_OK)
		return PROTO_BAD;
	if (stored_key(t, n, &m->stored) == KV_BAD)
		return PROTO_BAD;
	for (int i = 2; i < n; i++) {
		if ((r = id_key(&t[i], "token", m->token)) != KV_ABSENT) {
			if (r == KV_BAD)
				return PROTO_BAD;
		} else if (kv(&t[i], "started_ms", &v)) {
			if (num_parse(v.s, v.n, UINT64_MAX / 2, &x) < 0)
				return PROTO_BAD;
			m->started_ms = x;
		} else if (kv(&t[i], "retention_s", &v)) {
			if (num_parse(v.s, v.n, UINT64_MAX / 2, &x) < 0)
				return PROTO_BAD;
			m->retention_s = x;
		} else if (kv(&t[i], "proxy", &v)) {
			if (proxy_value(&v, &m->req.proxy) < 0)
				return PROTO_BAD;
		} else if (kv(&t[i], "vantage", &v)) {
			if (!proto_vantage_ok(v.s, v.n))
				return PROTO_BAD;
			memcpy(m->vantage, v.s, v.n);
			m->vantage[v.n] = '\0';
		} else if (kv(&t[i], "addr", &v)) {
			if (v.n == 4 && memcmp(v.s, "full", 4) == 0)
				m->addr_mode = PROTO_ADDR_FULL;
			else if (v.n == 6 && memcmp(v.s, "prefix", 6) == 0)
				m->addr_mode = PROTO_ADDR_PREFIX;
			else
				return PROTO_BAD;
		}
	}
	if (verb == PROTO_STORED && parse_trace(t, n, m) != PROTO_TRACE)
		return PROTO_BAD;
	return verb;
}

/* SITE uid= running= done= refused= stored=, all required. */
static enum proto_verb
parse_site(const struct tok *t, int n, struct proto_msg *m)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "uid", offsetof(struct proto_site, uid) },
		{ "running", offsetof(struct proto_site, running) },
		{ "done", offsetof(struct proto_site, done) },
		{ "refused", offsetof(struct proto_site, refused) },
		{ "stored", offsetof(struct proto_site, stored) },
	};
	unsigned have = 0;
	struct tok v;

	for (int i = 1; i < n; i++)
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (kv(&t[i], keys[k].key, &v)) {
				if (num_parse(v.s, v.n, UINT64_MAX / 2,
				    (uint64_t *)((char *)&m->site + keys[k].off)) < 0)
					return PROTO_BAD;
				have |= 1U << k;
			}
	return have == (1U << (sizeof(keys) / sizeof(keys[0]))) - 1 ? PROTO_SITE : PROTO_BAD;
}

/* HISTORY client=ADDR [before=ID] [limit=N] */
static enum proto_verb
parse_history(const struct tok *t, int n, struct proto_msg *m)
{
	struct tok v;
	uint64_t x;
	int have = 0;

	m->limit = 20;
	for (int i = 1; i < n; i++) {
		if (kv(&t[i], "client", &v)) {
			if (addr_tok(&v, &m->req.client) < 0)
				return PROTO_BAD;
			have = 1;
		} else if (kv(&t[i], "limit", &v)) {
			if (num_parse(v.s, v.n, PROTO_HISTORY_MAX, &x) < 0 || x == 0)
				return PROTO_BAD;
			m->limit = (int)x;
		} else if (id_key(&t[i], "before", m->id) == KV_BAD)
			return PROTO_BAD;
	}
	return have ? PROTO_HISTORY : PROTO_BAD;
}

/*
 * A path: hops separated by ',', each "*" or addresses joined by '+' ("*+" and
 * addresses for a hop answered only late); "-" for no hops.
 */
static int
path_ok(const struct tok *v)
{
	for (size_t i = 0; i < v->n; i++) {
		char c = v->s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '.' || c == ':' ||
		    c == ',' || c == '+' || c == '*' || c == '-'))
			return 0;
	}
	return v->n > 0;
}

/* ITEM id= started_ms= reason= hops= duration_us= [vantage=] path= */
static enum proto_verb
parse_item(const struct tok *t, int n, struct proto_msg *m)
{
	struct tok v;
	int have = 0;

	if (parse_end(t, n, m) != PROTO_END)
		return PROTO_BAD;
	for (int i = 1; i < n; i++) {
		if (id_key(&t[i], "id", m->id) == KV_OK) {
			have |= 1;
		} else if (kv(&t[i], "started_ms", &v)) {
			uint64_t x;

			if (num_parse(v.s, v.n, UINT64_MAX / 2, &x) < 0)
				return PROTO_BAD;
			m->started_ms = x;
		} else if (kv(&t[i], "vantage", &v)) {
			if (!proto_vantage_ok(v.s, v.n))
				return PROTO_BAD;
			memcpy(m->vantage, v.s, v.n);
			m->vantage[v.n] = '\0';
		} else if (kv(&t[i], "path", &v)) {
			if (!path_ok(&v))
				return PROTO_BAD;
			m->path = v.s;
			m->path_len = v.n;
			have |= 2;
		} else if (kv(&t[i], "client", &v)) {
			if (addr_tok(&v, &m->req.client) < 0)
				return PROTO_BAD;
			m->has_client = true;
		} else if (kv(&t[i], "site", &v)) {
			if (!proto_vantage_ok(v.s, v.n))
				return PROTO_BAD;
			memcpy(m->site_name, v.s, v.n);
			m->site_name[v.n] = '\0';
		}
	}
	return have == 3 ? PROTO_ITEM : PROTO_BAD;
}

/* ADDRESS or ADDRESS/BITS (0..32 or 0..128; an address alone is all its bits). */
static int
prefix_tok(const struct tok *v, struct tt_addr *a, int *bits)
{
	struct tok f[2];
	uint64_t x;
	int nf = fields(v, '/', f, 2);

	if (nf < 1 || addr_tok(&f[0], a) < 0)
		return -1;
	*bits = a->family == AF_INET ? 32 : 128;
	if (nf == 2) {
		if (num_parse(f[1].s, f[1].n, (uint64_t)*bits, &x) < 0)
			return -1;
		*bits = (int)x;
	}
	return 0;
}

/* 0 or 1. */
static int
flag_tok(const struct tok *v, bool *flag)
{
	if (v->n != 1 || (v->s[0] != '0' && v->s[0] != '1'))
		return -1;
	*flag = v->s[0] == '1';
	return 0;
}

/* Letters, digits and '-': an END reason, 1-31 of them. */
static bool
reason_ok(const struct tok *v)
{
	if (v->n == 0 || v->n >= sizeof(((struct proto_query *)0)->reason))
		return false;
	for (size_t i = 0; i < v->n; i++)
		if (!isalnum((unsigned char)v->s[i]) && v->s[i] != '-')
			return false;
	return true;
}

/* QUERY: every key optional, each at most once in effect (the last one given counts). */
static enum proto_verb
parse_query(const struct tok *t, int n, struct proto_msg *m)
{
	struct proto_query *q = &m->query;
	struct tok v;
	uint64_t x;

	q->visitor_bits = q->hop_bits = -1;
	q->limit = 20;
	for (int i = 1; i < n; i++) {
		enum kv_found r = id_key(&t[i], "before", m->id);

		if (r == KV_BAD)
			return PROTO_BAD;
		if (r == KV_OK)
			continue;
		if (kv(&t[i], "visitor", &v)) {
			if (prefix_tok(&v, &q->visitor, &q->visitor_bits) < 0)
				return PROTO_BAD;
		} else if (kv(&t[i], "hop", &v)) {
			if (prefix_tok(&v, &q->hop, &q->hop_bits) < 0)
				return PROTO_BAD;
		} else if (kv(&t[i], "since_ms", &v)) {
			if (num_parse(v.s, v.n, UINT64_MAX / 2, &q->since_ms) < 0)
				return PROTO_BAD;
		} else if (kv(&t[i], "until_ms", &v)) {
			if (num_parse(v.s, v.n, UINT64_MAX / 2, &q->until_ms) < 0)
				return PROTO_BAD;
		} else if (kv(&t[i], "as", &v)) {
			if (num_parse(v.s, v.n, UINT32_MAX, &x) < 0 || x == 0)
				return PROTO_BAD;
			q->asn = (uint32_t)x;
		} else if (kv(&t[i], "country", &v)) {
			if (pct_decode(q->country, sizeof(q->country), &v) < 0 || q->country[0] == '\0')
				return PROTO_BAD;
		} else if (kv(&t[i], "reason", &v)) {
			if (!reason_ok(&v))
				return PROTO_BAD;
			memcpy(q->reason, v.s, v.n);
			q->reason[v.n] = '\0';
		} else if (kv(&t[i], "site", &v)) {
			if (!proto_vantage_ok(v.s, v.n) || v.n >= sizeof(q->site))
				return PROTO_BAD;
			memcpy(q->site, v.s, v.n);
			q->site[v.n] = '\0';
		} else if (kv(&t[i], "vantage", &v)) {
			if (!proto_vantage_ok(v.s, v.n))
				return PROTO_BAD;
			memcpy(q->vantage, v.s, v.n);
			q->vantage[v.n] = '\0';
		} else if (kv(&t[i], "changed", &v)) {
			if (flag_tok(&v, &q->changed) < 0)
				return PROTO_BAD;
		} else if (kv(&t[i], "count", &v)) {
			if (flag_tok(&v, &q->count) < 0)
				return PROTO_BAD;
		} else if (kv(&t[i], "limit", &v)) {
			if (num_parse(v.s, v.n, PROTO_QUERY_MAX, &x) < 0 || x == 0)
				return PROTO_BAD;
			q->limit = (int)x;
		} else
			return PROTO_BAD;
	}
	return PROTO_QUERY;
}

/* GET id=, DELETE id= token=, DELETED id= */
static enum proto_verb
parse_id_verb(const struct tok *t, int n, struct proto_msg *m, enum proto_verb verb)
{
	enum kv_found r;
	int have = 0;

	for (int i = 1; i < n; i++) {
		if ((r = id_key(&t[i], "id", m->id)) == KV_BAD)
			return PROTO_BAD;
		if (r == KV_OK)
			have |= 1;
		if (verb == PROTO_DELETE) {
			if ((r = id_key(&t[i], "token", m->token)) == KV_BAD)
				return PROTO_BAD;
			if (r == KV_OK)
				have |= 2;
		}
	}
	return have == (verb == PROTO_DELETE ? 3 : 1) ? verb : PROTO_BAD;
}

int
proto_id_ok(const char *s, size_t n)
{
	if (n != PROTO_ID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
proto_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > PROTO_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

/* Percent-decodes a token value into dst (size len); -1 if malformed or too long. */
static int
pct_decode(char *dst, size_t len, const struct tok *v)
{
	size_t k = 0;

	for (size_t i = 0; i < v->n; i++) {
		int c = (unsigned char)v->s[i], hi, lo;

		if (c == '%') {
			if (i + 2 >= v->n || (hi = hex_digit(v->s[i + 1])) < 0 ||
			    (lo = hex_digit(v->s[i + 2])) < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
			if (c == 0)
				return -1;
		}
		if (k + 1 >= len)
			return -1;
		dst[k++] = (char)c;
	}
	dst[k] = '\0';
	return 0;
}

/* INFO addr= len= [country= city= asn= org=] */
static enum proto_verb
parse_info(const struct tok *t, int n, struct proto_msg *m)
{
	struct proto_info *f = &m->info;
	struct tok v;
	uint64_t x;
	int have = 0;

	for (int i = 1; i < n; i++) {
		if (kv(&t[i], "addr", &v)) {
			if (addr_tok(&v, &m->addr) < 0)
				return PROTO_BAD;
			have |= 1;
		} else if (kv(&t[i], "len", &v)) {
			if (num_parse(v.s, v.n, PROTO_INFO_MAX, &x) < 0)
				return PROTO_BAD;
			m->info_len = (size_t)x;
			have |= 2;
		} else if ((kv(&t[i], "country", &v) &&
		    pct_decode(f->country, sizeof(f->country), &v) < 0) ||
		    (kv(&t[i], "city", &v) && pct_decode(f->city, sizeof(f->city), &v) < 0) ||
		    (kv(&t[i], "asn", &v) && pct_decode(f->asn, sizeof(f->asn), &v) < 0) ||
		    (kv(&t[i], "org", &v) && pct_decode(f->org, sizeof(f->org), &v) < 0))
			return PROTO_BAD;
	}
	return have == 3 ? PROTO_INFO : PROTO_BAD;
}

/* NAME addr= name= */
static enum proto_verb
parse_name(const struct tok *t, int n, struct proto_msg *m)
{
	struct tok v;
	int have = 0;

	for (int i = 1; i < n; i++) {
		if (kv(&t[i], "addr", &v)) {
			if (addr_tok(&v, &m->addr) < 0)
				return PROTO_BAD;
			have |= 1;
		} else if (kv(&t[i], "name", &v)) {
			if (!proto_name_ok(v.s, v.n))
				return PROTO_BAD;
			memcpy(m->name, v.s, v.n);
			m->name[v.n] = '\0';
			have |= 2;
		}
	}
	return have == 3 ? PROTO_NAME : PROTO_BAD;
}

enum proto_verb
proto_parse(const char *line, size_t len, struct proto_msg *m)
{
	struct tok t[MAX_TOKENS], v;
	uint64_t x;
	int n;

	memset(m, 0, sizeof(*m));
	m->stored = -1;
	if (line == NULL)
		return PROTO_BAD;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0 || len >= PROTO_LINE_MAX)
		return PROTO_BAD;
	for (size_t i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return PROTO_BAD;
	n = split(line, len, t, MAX_TOKENS);
	if (n <= 0)
		return PROTO_BAD;

	if (verb_is(&t[0], "TRACE"))
		m->verb = parse_trace(t, n, m);
	else if (verb_is(&t[0], "HOP"))
		m->verb = parse_hop(t, n, m);
	else if (verb_is(&t[0], "END"))
		m->verb = parse_end(t, n, m);
	else if (verb_is(&t[0], "ERROR"))
		m->verb = parse_error(t, n, m);
	else if (verb_is(&t[0], "PING") && n == 1)
		m->verb = PROTO_PING;
	else if (verb_is(&t[0], "PONG") && n == 1)
		m->verb = PROTO_PONG;
	else if (verb_is(&t[0], "STATUS"))
		m->verb = parse_status(t, n, m);
	else if (verb_is(&t[0], "SITES") && n == 1)
		m->verb = PROTO_SITES;
	else if (verb_is(&t[0], "SITE"))
		m->verb = parse_site(t, n, m);
	else if (verb_is(&t[0], "STARTED"))
		m->verb = parse_header(t, n, m, PROTO_STARTED);
	else if (verb_is(&t[0], "STORED"))
		m->verb = parse_header(t, n, m, PROTO_STORED);
	else if (verb_is(&t[0], "GET"))
		m->verb = parse_id_verb(t, n, m, PROTO_GET);
	else if (verb_is(&t[0], "DELETE"))
		m->verb = parse_id_verb(t, n, m, PROTO_DELETE);
	else if (verb_is(&t[0], "DELETED"))
		m->verb = parse_id_verb(t, n, m, PROTO_DELETED);
	else if (verb_is(&t[0], "HISTORY"))
		m->verb = parse_history(t, n, m);
	else if (verb_is(&t[0], "ITEM"))
		m->verb = parse_item(t, n, m);
	else if (verb_is(&t[0], "QUERY"))
		m->verb = parse_query(t, n, m);
	else if (verb_is(&t[0], "COUNT") && n == 2 && kv(&t[1], "n", &v) &&
	    num_parse(v.s, v.n, UINT64_MAX / 2, &m->count) == 0)
		m->verb = PROTO_COUNT;
	else if (verb_is(&t[0], "INFO"))
		m->verb = parse_info(t, n, m);
	else if (verb_is(&t[0], "NAME"))
		m->verb = parse_name(t, n, m);
	else if (verb_is(&t[0], "LIST") && n == 2 && kv(&t[1], "more", &v) && v.n == 1 &&
	    (v.s[0] == '0' || v.s[0] == '1')) {
		m->more = v.s[0] - '0';
		m->verb = PROTO_LIST;
	} else if (verb_is(&t[0], "TRACETROUT") && n == 2 &&
	    num_parse(t[1].s, t[1].n, 1000000, &x) == 0) {
		m->version = (int)x;
		m->verb = PROTO_GREETING;
	} else
		m->verb = PROTO_BAD;
	return m->verb;
}

static int __attribute__((format(printf, 3, 4)))
fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= len) ? -1 : n;
}

int
proto_fmt_trace(char *buf, size_t len, const struct proto_trace_req *req)
{
	char c[ADDR_STRLEN], s[ADDR_STRLEN];

	return fmt(buf, len, "TRACE client=%s cport=%u server=%s sport=%u%s%s%s%s%s\n",
	    addr_format(&req->client, c), req->cport, addr_format(&req->server, s), req->sport,
	    req->nostore ? " store=0" : "", req->nonames ? " names=0" : "",
	    req->wait ? " wait=1" : "", req->proxy ? " proxy=" : "", proto_proxy_name(req->proxy));
}

static const char *const proxy_names[] = {
	[PROTO_PROXY_NONE] = "",
	[PROTO_PROXY_FORWARDED] = "forwarded",
	[PROTO_PROXY_XFF] = "x-forwarded-for",
	[PROTO_PROXY_VIA] = "via",
	[PROTO_PROXY_LISTED] = "listed",
};

const char *
proto_proxy_name(enum proto_proxy p)
{
	return (size_t)p < sizeof(proxy_names) / sizeof(proxy_names[0]) ? proxy_names[p] : "";
}

int
proto_proxy_parse(const char *s, size_t n, enum proto_proxy *p)
{
	for (size_t i = 0; i < sizeof(proxy_names) / sizeof(proxy_names[0]); i++)
		if (strlen(proxy_names[i]) == n && memcmp(proxy_names[i], s, n) == 0) {
			*p = (enum proto_proxy)i;
			return 0;
		}
	return -1;
}

static const char *
addr_mode_name(enum proto_addr_mode a)
{
	return a == PROTO_ADDR_PREFIX ? "prefix" : "full";
}

bool
proto_vantage_ok(const char *s, size_t n)
{
	if (n == 0 || n > PROTO_VANTAGE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* id= stored= [token=] started_ms= addr= retention_s= [proxy=] [vantage=] */
static int
fmt_header(char *buf, size_t len, const char *verb, const struct proto_msg *m, bool token)
{
	bool v = proto_vantage_ok(m->vantage, strlen(m->vantage));

	return fmt(buf, len, "%s id=%s stored=%d%s%s started_ms=%llu addr=%s retention_s=%llu%s%s"
	    "%s%s", verb, m->id, m->stored == 1 ? 1 : 0, token ? " token=" : "",
	    token ? m->token : "", (unsigned long long)m->started_ms, addr_mode_name(m->addr_mode),
	    (unsigned long long)m->retention_s, m->req.proxy ? " proxy=" : "",
	    proto_proxy_name(m->req.proxy), v ? " vantage=" : "", v ? m->vantage : "");
}

int
proto_fmt_started(char *buf, size_t len, const struct proto_msg *m)
{
	int n = fmt_header(buf, len, "STARTED", m, m->stored == 1 && m->token[0]);

	if (n < 0 || fmt(buf + n, len - (size_t)n, "\n") < 0)
		return -1;
	return n + 1;
}

int
proto_fmt_stored(char *buf, size_t len, const struct proto_msg *m)
{
	char c[ADDR_STRLEN], s[ADDR_STRLEN];
	int n = fmt_header(buf, len, "STORED", m, false), k;

	if (n < 0 || (k = fmt(buf + n, len - (size_t)n, " client=%s cport=%u server=%s sport=%u\n",
	    addr_format(&m->req.client, c), m->req.cport, addr_format(&m->req.server, s),
	    m->req.sport)) < 0)
		return -1;
	return n + k;
}

int
proto_fmt_get(char *buf, size_t len, const char *id)
{
	return fmt(buf, len, "GET id=%s\n", id);
}

int
proto_fmt_history(char *buf, size_t len, const struct tt_addr *client, const char *before,
    int limit)
{
	char c[ADDR_STRLEN];

	return fmt(buf, len, "HISTORY client=%s%s%s limit=%d\n", addr_format(client, c),
	    before ? " before=" : "", before ? before : "", limit);
}

int
proto_fmt_item(char *buf, size_t len, const char *id, uint64_t started_ms, const char *reason,
    int hops, uint64_t duration_us, const char *vantage, const char *client, const char *site,
    const char *path)
{
	bool v = vantage != NULL && proto_vantage_ok(vantage, strlen(vantage));
	bool s = site != NULL && proto_vantage_ok(site, strlen(site));

	return fmt(buf, len, "ITEM id=%s started_ms=%llu reason=%s hops=%d duration_us=%llu "
	    "%s%s%s%s%s%s%s%s%spath=%s\n", id, (unsigned long long)started_ms, reason, hops,
	    (unsigned long long)duration_us, v ? "vantage=" : "", v ? vantage : "", v ? " " : "",
	    client ? "client=" : "", client ? client : "", client ? " " : "",
	    s ? "site=" : "", s ? site : "", s ? " " : "", path[0] ? path : "-");
}

int
proto_fmt_query(char *buf, size_t len, const struct proto_query *q, const char *before)
{
	char a[ADDR_STRLEN];
	int n, m;

	if ((n = fmt(buf, len, "QUERY limit=%d", q->limit)) < 0)
		return -1;
#define ADD(...) do { \
	if ((m = fmt(buf + n, len - (size_t)n, __VA_ARGS__)) < 0) \
		return -1; \
	n += m; \
} while (0)
	if (q->visitor_bits >= 0)
		ADD(" visitor=%s/%d", addr_format(&q->visitor, a), q->visitor_bits);
	if (q->hop_bits >= 0)
		ADD(" hop=%s/%d", addr_format(&q->hop, a), q->hop_bits);
	if (q->since_ms)
		ADD(" since_ms=%llu", (unsigned long long)q->since_ms);
	if (q->until_ms)
		ADD(" until_ms=%llu", (unsigned long long)q->until_ms);
	if (q->asn)
		ADD(" as=%lu", (unsigned long)q->asn);
	if (q->reason[0])
		ADD(" reason=%s", q->reason);
	if (q->site[0])
		ADD(" site=%s", q->site);
	if (q->vantage[0])
		ADD(" vantage=%s", q->vantage);
	if (q->changed)
		ADD(" changed=1");
	if (q->count)
		ADD(" count=1");
	if (before)
		ADD(" before=%s", before);
#undef ADD
	if ((m = fmt_pct(buf + n, len - (size_t)n, "country", q->country)) < 0)
		return -1;
	n += m;
	if ((m = fmt(buf + n, len - (size_t)n, "\n")) < 0)
		return -1;
	return n + m;
}

int
proto_fmt_count(char *buf, size_t len, uint64_t n)
{
	return fmt(buf, len, "COUNT n=%llu\n", (unsigned long long)n);
}

int
proto_fmt_list(char *buf, size_t len, int more)
{
	return fmt(buf, len, "LIST more=%d\n", more ? 1 : 0);
}

int
proto_fmt_site(char *buf, size_t len, const struct proto_site *s)
{
	return fmt(buf, len, "SITE uid=%llu running=%llu done=%llu refused=%llu stored=%llu\n",
	    (unsigned long long)s->uid, (unsigned long long)s->running,
	    (unsigned long long)s->done, (unsigned long long)s->refused,
	    (unsigned long long)s->stored);
}

int
proto_fmt_delete(char *buf, size_t len, const char *id, const char *token)
{
	return fmt(buf, len, "DELETE id=%s token=%s\n", id, token);
}

/* " key=VALUE", the value percent-encoded (space, '%', '=' and anything unprintable); "" if empty. */
static int
fmt_pct(char *buf, size_t len, const char *key, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	int n;

	if (*v == '\0')
		return fmt(buf, len, "%s", "");
	if ((n = fmt(buf, len, " %s=", key)) < 0)
		return -1;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if ((size_t)n + 4 > len)
			return -1;
		if (c <= 0x20 || c >= 0x7f || c == '%' || c == '=') {
			buf[n++] = '%';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		} else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return n;
}

int
proto_fmt_info(char *buf, size_t len, const struct tt_addr *a, size_t body_len,
    const struct proto_info *info)
{
	const char *keys[] = { "country", "city", "asn", "org" };
	const char *vals[] = { info->country, info->city, info->asn, info->org };
	char ab[ADDR_STRLEN];
	int n, m;

	if (body_len > PROTO_INFO_MAX)
		return -1;
	n = fmt(buf, len, "INFO addr=%s len=%zu", addr_format(a, ab), body_len);
	for (size_t i = 0; n >= 0 && i < 4; i++) {
		m = fmt_pct(buf + n, len - (size_t)n, keys[i], vals[i]);
		n = m < 0 ? -1 : n + m;
	}
	if (n < 0 || (m = fmt(buf + n, len - (size_t)n, "\n")) < 0)
		return -1;
	return n + m;
}

int
proto_fmt_name(char *buf, size_t len, const struct tt_addr *a, const char *name)
{
	char ab[ADDR_STRLEN];

	if (!proto_name_ok(name, strlen(name)))
		return -1;
	return fmt(buf, len, "NAME addr=%s name=%s\n", addr_format(a, ab), name);
}

int
proto_fmt_deleted(char *buf, size_t len, const char *id)
{
	return fmt(buf, len, "DELETED id=%s\n", id);
}

int
proto_fmt_mpls(char *buf, size_t len, const struct proto_reply *r)
{
	int n = 0, m;

	if (r->nmpls == 0)
		return fmt(buf, len, "-");
	for (int i = 0; n >= 0 && i < r->nmpls && i < PROTO_MAX_MPLS; i++) {
		m = fmt(buf + n, len - (size_t)n, "%s%u/%u/%u/%u", i ? "+" : "",
		    r->mpls[i].label, r->mpls[i].exp, r->mpls[i].s, r->mpls[i].ttl);
		n = m < 0 ? -1 : n + m;
	}
	return n;
}

int
proto_parse_mpls(const char *s, struct proto_reply *r)
{
	struct tok v = { s, strlen(s) };

	r->nmpls = 0;
	return mpls_parse(&v, r);
}

/*
 * ",QTTL,SIZE,EXT,EDST,MPLS" after a reply's first five fields, then
 * ",FLAGS" when any is set: a reply without flags reads as before them.
 */
static int
fmt_reply_ext(char *buf, size_t len, const struct proto_reply *r)
{
	char a[ADDR_STRLEN];
	int n, m;

	n = fmt(buf, len, ",%u,%u,%d,%s,", r->quoted_ttl, r->size, (int)r->ext,
	    r->edst.family ? addr_format(&r->edst, a) : "-");
	if (n < 0 || (m = proto_fmt_mpls(buf + n, len - (size_t)n, r)) < 0)
		return -1;
	n += m;
	if (r->flags == 0)
		return n;
	m = fmt(buf + n, len - (size_t)n, ",%u", r->flags);
	return m < 0 ? -1 : n + m;
}

int
proto_fmt_hop(char *buf, size_t len, const struct proto_hop *hop)
{
	char a[ADDR_STRLEN];
	int n, m;

	n = fmt(buf, len, "HOP ttl=%d sent=%d", hop->ttl, hop->sent);
	if (n >= 0 && hop->at_us) {
		m = fmt(buf + n, len - (size_t)n, " at_us=%llu", (unsigned long long)hop->at_us);
		n = m < 0 ? -1 : n + m;
	}
	/* Only on a hop without replies, as the parser insists. */
	if (n >= 0 && hop->reused.family != 0 && hop->nreplies == 0) {
		m = fmt(buf + n, len - (size_t)n, " reused=%s,%u", addr_format(&hop->reused, a),
		    hop->reused_age_ms);
		n = m < 0 ? -1 : n + m;
	}
	for (int i = 0; n >= 0 && i < hop->nreplies && i < PROTO_MAX_REPLIES; i++) {
		const struct proto_reply *r = &hop->r[i];

		m = fmt(buf + n, len - (size_t)n, " reply=%s,%u,%s,%u,%u",
		    addr_format(&r->from, a), r->rtt_us, reply_kind_name(r->kind),
		    r->code, r->reply_ttl);
		n = m < 0 ? -1 : n + m;
		if (n >= 0) {
			m = fmt_reply_ext(buf + n, len - (size_t)n, r);
			n = m < 0 ? -1 : n + m;
		}
	}
	if (n < 0 || (m = fmt(buf + n, len - (size_t)n, "\n")) < 0)
		return -1;
	return n + m;
}

int
proto_fmt_end(char *buf, size_t len, const char *reason, int hops, uint64_t duration_us,
    int stored)
{
	return fmt(buf, len, "END reason=%s hops=%d duration_us=%llu stored=%d\n", reason, hops,
	    (unsigned long long)duration_us, stored ? 1 : 0);
}

/* Spaces become '_' and anything unprintable '?', so the message stays one token. */
static void
msg_token(char *m, size_t len, const char *msg)
{
	size_t i;

	for (i = 0; msg[i] && i < len - 1; i++)
		m[i] = msg[i] == ' ' ? '_' : (msg[i] < 0x21 || msg[i] > 0x7e) ? '?' : msg[i];
	m[i] = '\0';
}

int
proto_fmt_error(char *buf, size_t len, const char *code, const char *msg)
{
	char m[256];

	msg_token(m, sizeof(m), msg);
	return fmt(buf, len, "ERROR code=%s msg=%s\n", code, m);
}

int
proto_fmt_error_retry(char *buf, size_t len, const char *code, int retry, const char *msg)
{
	char m[256];

	msg_token(m, sizeof(m), msg);
	return fmt(buf, len, "ERROR code=%s retry=%d msg=%s\n", code, retry < 1 ? 1 : retry, m);
}

const char *
proto_status_key(size_t i, const struct proto_status *st, uint64_t *v)
{
	if (i >= NSTATUS)
		return NULL;
	*v = *(const uint64_t *)(const void *)((const char *)st + status_keys[i].off);
	return status_keys[i].key;
}

int
proto_fmt_status(char *buf, size_t len, const struct proto_status *st)
{
	const char *key;
	uint64_t v;
	int n, m;

	if ((n = fmt(buf, len, "STATUS")) < 0)
		return -1;
	for (size_t i = 0; (key = proto_status_key(i, st, &v)) != NULL; i++) {
		if (v == PROTO_STATUS_UNKNOWN)
			continue;
		if ((m = fmt(buf + n, len - (size_t)n, " %s=%llu", key, (unsigned long long)v)) < 0)
			return -1;
		n += m;
	}
	if ((m = fmt(buf + n, len - (size_t)n, "\n")) < 0)
		return -1;
	return n + m;
}
