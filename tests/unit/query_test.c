/*
 * Tests of helper/broker/store_query.c, an operator's search of the stored
 * traces, on real SQLite files filled through the store's own calls: each
 * filter alone and together, the edges of IPv4 and IPv6 prefixes, AS and
 * country from each shape of look-up, late answers, paging, counts and
 * changed paths. Each search runs twice: driven by its rarest filter's index
 * (few traces here), and by time with every filter tested row by row (what
 * a common filter does among a million traces).
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"
#include "tap.h"

static char tmpdir[] = "/tmp/tt-query-XXXXXX";

#define T0	1700000000000LL		/* trace n starts at T0 + n seconds unless said */
#define TOK	"00112233445566778899aabbccddeeff"

/* Trace n's id: n in hex, 32 digits. */
static const char *
tid(int n, char *buf)
{
	snprintf(buf, PROTO_ID_LEN + 1, "%032x", n);
	return buf;
}

static struct store *
open_store(const char *name)
{
	char path[512], err[512];
	struct store *st;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((st = store_open(path, err, sizeof(err))) == NULL)
		ok(0, "store_open %s: %s", name, err);
	return st;
}

/*
 * Begins trace n of uid for visitor client (stored as its /24 or /48 with
 * prefix) at, and stores its hops from path: hops by ',', a hop's addresses
 * by '+', "*" a silent hop. The visitor's address answers as the visitor.
 */
static void
begin(struct store *st, int n, uid_t uid, const char *client, bool prefix, int64_t at,
    const char *path)
{
	struct proto_trace_req req;
	char id[PROTO_ID_LEN + 1], buf[512], *save = NULL;
	struct proto_hop h;
	int ttl = 0;

	memset(&req, 0, sizeof(req));
	addr_parse(client, &req.client);
	addr_parse(strchr(client, ':') ? "2001:db8::10" : "192.0.2.10", &req.server);
	req.cport = 40000;
	req.sport = 443;
	if (store_trace_begin(st, tid(n, id), uid, &req, at, TOK, prefix) < 0)
		ok(0, "trace %d begun", n);
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *hop = strtok_r(buf, ",", &save); hop != NULL; hop = strtok_r(NULL, ",", &save)) {
		char *s2 = NULL;

		memset(&h, 0, sizeof(h));
		h.ttl = ++ttl;
		h.sent = 3;
		for (char *a = strtok_r(hop, "+", &s2); a != NULL && strcmp(a, "*") != 0;
		    a = strtok_r(NULL, "+", &s2)) {
			struct proto_reply *r = &h.r[h.nreplies++];

			addr_parse(a, &r->from);
			r->kind = addr_equal(&r->from, &req.client) ? REPLY_DESTINATION : REPLY_TIME_EXCEEDED;
			r->rtt_us = 1000u * (unsigned)ttl;
			r->reply_ttl = 60;
		}
		if (store_hop(st, id, &h) < 0)
			ok(0, "trace %d: hop %d stored", n, ttl);
	}
}

static void
end(struct store *st, int n, const char *reason)
{
	char id[PROTO_ID_LEN + 1];

	if (store_trace_end(st, tid(n, id), reason, 3, T0 + n * 1000 + 50, 50000) < 0)
		ok(0, "trace %d ended", n);
}

/* A finished trace n, started at T0 + n s, its reason destination. */
static void
put(struct store *st, int n, uid_t uid, const char *client, bool prefix, const char *path)
{
	begin(st, n, uid, client, prefix, T0 + n * 1000, path);
	end(st, n, "destination");
}

/* A late answer from addr at hop ttl of trace n. */
static void
late(struct store *st, int n, int ttl, const char *addr)
{
	char id[PROTO_ID_LEN + 1];
	struct proto_reply r;

	memset(&r, 0, sizeof(r));
	addr_parse(addr, &r.from);
	r.kind = REPLY_TIME_EXCEEDED;
	r.rtt_us = 900000;
	r.reply_ttl = 60;
	if (store_late_reply(st, tid(n, id), ttl, &r) < 0)
		ok(0, "trace %d: a late answer at hop %d stored", n, ttl);
}

static void
info(struct store *st, int n, const char *addr, const char *body)
{
	char id[PROTO_ID_LEN + 1];

	if (store_trace_lookup(st, tid(n, id), addr, "info", body, strlen(body)) < 0)
		ok(0, "trace %d: a look-up of %s kept", n, addr);
}

/* A search with nothing set but its limit: every finished trace. */
static void
all(struct store_query *q)
{
	memset(q, 0, sizeof(*q));
	q->limit = STORE_QUERY_MAX;
}

static void
visitor(struct store_query *q, const char *prefix)
{
	q->has_visitor = addr_prefix_parse(prefix, &q->visitor, &q->visitor_bits) == 0;
	if (!q->has_visitor)
		ok(0, "%s parses", prefix);
}

static void
hop(struct store_query *q, const char *prefix)
{
	q->has_hop = addr_prefix_parse(prefix, &q->hop, &q->hop_bits) == 0;
	if (!q->has_hop)
		ok(0, "%s parses", prefix);
}

/* What a search found: trace numbers, newest first, and the rows as they came. */
struct found {
	char list[1024];
	int n;
	struct store_query_item items[16];
};

static int
found_row(void *ctx, const struct store_query_item *qi)
{
	struct found *f = ctx;

	snprintf(f->list + strlen(f->list), sizeof(f->list) - strlen(f->list), "%s%ld",
	    f->n ? " " : "", strtol(qi->item.id, NULL, 16));
	if (f->n < 16)
		f->items[f->n] = *qi;
	f->n++;
	return 0;
}

/*
 * Runs q both ways (driven by its rarest filter's index, and by time with
 * each filter tested), says whether they agree, and that the count is the
 * number found when q has all of them; the first run's rows in f.
 */
static const char *
search(struct store *st, const struct store_query *q, struct found *f, bool *more)
{
	static char out[2200];
	struct found other;
	bool more2;
	long long n = -1;

	memset(f, 0, sizeof(*f));
	memset(&other, 0, sizeof(other));
	store_query_drive(st, -1);
	if (store_query(st, q, found_row, f, more) != 0)
		return "(failed)";
	store_query_drive(st, 0);
	if (store_query(st, q, found_row, &other, &more2) != 0)
		return "(failed by time)";
	store_query_drive(st, -1);
	if (strcmp(f->list, other.list) != 0 || *more != more2) {
		snprintf(out, sizeof(out), "(by index: %s; by time: %s)", f->list, other.list);
		return out;
	}
	if (!q->before[0] && !*more && (store_query_count(st, q, &n) != 0 || n != f->n)) {
		snprintf(out, sizeof(out), "(found %d, counted %lld)", f->n, n);
		return out;
	}
	return f->list;
}

/* The list alone, with no limit reached. */
static const char *
list(struct store *st, const struct store_query *q)
{
	static struct found f;
	bool more;
	const char *l = search(st, q, &f, &more);

	return more ? "(more)" : l;
}

/* Visitor prefixes: the first and last address of each in, the ones just outside out. */
static void
test_visitor(void)
{
	static const char *const clients[] = {
		NULL, "10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0",
		"198.51.100.0", "198.51.100.255", "198.51.99.255", "198.51.101.0",
		"198.51.100.7", "198.51.100.6", "198.51.100.8",
		"2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "2001:db8:0:ffff:ffff:ffff:ffff:ffff",
		"2001:db8:2::", "2001:db8:1::7", "2001:db8:1::6", "2001:db8:1::8",
	};
	static const struct {
		const char *prefix, *want;
	} cases[] = {
		{ "10.0.0.0/8", "2 1" },
		{ "198.51.100.0/24", "11 10 9 6 5" },
		{ "198.51.100.7/32", "9" },
		{ "198.51.100.7", "9" },
		{ "0.0.0.0/0", "19 11 10 9 8 7 6 5 4 3 2 1" },
		{ "2001:db8:1::/48", "18 17 16 13 12" },
		{ "2001:db8:1::7/128", "16" },
		{ "2001:db8:1::7", "16" },
		{ "::/0", "20 18 17 16 15 14 13 12" },
		/* Stored as a prefix: found by a prefix that holds all of it, never by a part. */
		{ "203.0.113.0/24", "19" },
		{ "203.0.0.0/16", "19" },
		{ "203.0.113.0/25", "" },
		{ "203.0.113.0/32", "" },
		{ "203.0.113.77", "" },
		{ "2001:db8:5::/48", "20" },
		{ "2001:db8::/32", "20 18 17 16 15 14 13 12" },
		{ "2001:db8:5::/56", "" },
		{ "2001:db8:5:6::9", "" },
	};
	struct store_query q;
	struct found f;
	bool more;
	struct store *st = open_store("visitor.db");

	if (st == NULL)
		return;
	for (int n = 1; n < (int)(sizeof(clients) / sizeof(clients[0])); n++)
		put(st, n, 33, clients[n], false, strchr(clients[n], ':') ? "2001:db8::1" : "192.0.2.1");
	put(st, 19, 33, "203.0.113.77", true, "192.0.2.1");
	put(st, 20, 33, "2001:db8:5:6::9", true, "2001:db8::1");
	begin(st, 21, 33, "198.51.100.9", false, T0 + 21000, "192.0.2.1");	/* still running */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		all(&q);
		visitor(&q, cases[i].prefix);
		is_str(list(st, &q), cases[i].want, "visitor %s", cases[i].prefix);
	}
	all(&q);
	visitor(&q, "198.51.100.9");
	is_str(list(st, &q), "", "a trace still running is never found");
	all(&q);
	visitor(&q, "203.0.113.0/24");
	search(st, &q, &f, &more);
	ok(f.n == 1 && f.items[0].client_prefix && strcmp(f.items[0].client, "203.0.113.0") == 0 &&
	    !f.items[0].compared, "... its visitor the stored prefix's first address, never compared");
	all(&q);
	visitor(&q, "2001:db8:1::7");
	search(st, &q, &f, &more);
	ok(f.n == 1 && !f.items[0].client_prefix && strcmp(f.items[0].client, "2001:db8:1::7") == 0 &&
	    f.items[0].uid == 33 && strcmp(f.items[0].item.path, "2001:db8::1") == 0 &&
	    f.items[0].item.started_ms == T0 + 16000 && f.items[0].item.hops == 3 &&
	    strcmp(f.items[0].item.reason, "destination") == 0 &&
	    f.items[0].item.duration_us == 50000, "a row as ITEM has it, its client and site");
	is_int(store_errors(st), 0, "no errors");
	store_close(st);
}

/* Hop prefixes: edges, several addresses at one hop, the visitor's answer, late answers. */
static void
test_hops(void)
{
	static const struct {
		const char *prefix, *want;
	} cases[] = {
		{ "203.0.113.0/24", "8 5 2 1" },
		{ "203.0.113.9", "5" },
		{ "203.0.113.10", "8" },
		{ "192.0.2.77", "2" },
		{ "192.0.2.1/32", "8 5 4 3 2 1" },
		{ "198.51.100.7", "8 5 4 3 2 1" },
		{ "0.0.0.0/0", "8 5 4 3 2 1" },
		{ "2001:db8:ff::/48", "6" },
		{ "2001:db8:fe:ffff:ffff:ffff:ffff:ffff/128", "7" },
		{ "2001:db8:100::", "7" },
		{ "::/0", "7 6" },
		{ "203.0.113.5", "" },
	};
	struct store_query q;
	struct store *st = open_store("hops.db");

	if (st == NULL)
		return;
	put(st, 1, 33, "198.51.100.7", false, "192.0.2.1,203.0.113.0,198.51.100.7");
	put(st, 2, 33, "198.51.100.7", false, "192.0.2.1,203.0.113.255+192.0.2.77,198.51.100.7");
	put(st, 3, 33, "198.51.100.7", false, "192.0.2.1,203.0.112.255,198.51.100.7");
	put(st, 4, 33, "198.51.100.7", false, "192.0.2.1,203.0.114.0,198.51.100.7");
	/* A late answer after the end, and one before it. */
	put(st, 5, 33, "198.51.100.7", false, "192.0.2.1,*,198.51.100.7");
	late(st, 5, 2, "203.0.113.9");
	put(st, 6, 33, "2001:db8::7", false,
	    "2001:db8:ff::,2001:db8:ff:ffff:ffff:ffff:ffff:ffff,2001:db8::7");
	put(st, 7, 33, "2001:db8::7", false,
	    "2001:db8:fe:ffff:ffff:ffff:ffff:ffff,2001:db8:100::,2001:db8::7");
	begin(st, 8, 33, "198.51.100.7", false, T0 + 8000, "192.0.2.1,*,198.51.100.7");
	late(st, 8, 2, "203.0.113.10");
	end(st, 8, "destination");
	begin(st, 9, 33, "198.51.100.7", false, T0 + 9000, "192.0.2.1,203.0.113.5");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		all(&q);
		hop(&q, cases[i].prefix);
		is_str(list(st, &q), cases[i].want, "hop %s", cases[i].prefix);
	}
	is_int(store_errors(st), 0, "no errors");
	store_close(st);
}

/* AS and country from the look-ups kept with a trace, in each service's shape. */
static void
test_lookups(void)
{
	static const struct {
		uint32_t asn;
		const char *country, *want;
	} cases[] = {
		{ 15169, "", "1" }, { 0, "us", "1" },
		{ 64500, "", "2" }, { 0, "DE", "2" },
		{ 3356, "", "3" }, { 0, "FR", "3" },
		{ 0, "France", "" },			/* the code is kept where there is one */
		{ 64501, "", "4" }, { 0, "nl", "4" },
		{ 0, "JP", "5" },
		{ 0, "ATLANTIS", "6" },			/* a name where there is no code */
		{ 64999, "", "9" },			/* the visitor's own AS */
		{ 15169, "DE", "" },
		{ 64502, "", "" }, { 0, "XX", "" },
	};
	struct store_query q;
	struct store *st = open_store("lookups.db");

	if (st == NULL)
		return;
	/* ipinfo, the answer kept after the trace ended. */
	put(st, 1, 33, "198.51.100.7", false, "192.0.2.1,198.51.100.7");
	info(st, 1, "192.0.2.1", "{\"ip\":\"192.0.2.1\",\"country\":\"US\",\"org\":\"AS15169 Google LLC\"}");
	/* ipinfo's asn object, kept before the end. */
	begin(st, 2, 33, "198.51.100.7", false, T0 + 2000, "192.0.2.2,198.51.100.7");
	info(st, 2, "192.0.2.2", "{\"country\":\"DE\",\"asn\":{\"asn\":\"AS64500\","
	    "\"name\":\"Example Transit\",\"type\":\"isp\"}}");
	end(st, 2, "destination");
	/* ip-api. */
	put(st, 3, 33, "198.51.100.7", false, "192.0.2.3,198.51.100.7");
	info(st, 3, "192.0.2.3", "{\"status\":\"success\",\"country\":\"France\",\"countryCode\":\"FR\","
	    "\"as\":\"AS3356 Level 3\",\"org\":\"Lumen\"}");
	/* whereabouts: country an object with a code, a numeric asn. */
	put(st, 4, 33, "198.51.100.7", false, "192.0.2.4,198.51.100.7");
	info(st, 4, "192.0.2.4", "{\"continent\":{\"code\":\"EU\",\"name\":\"Europe\"},"
	    "\"country\":{\"code\":\"NL\",\"name\":\"Netherlands\"},\"asn\":64501}");
	/* MaxMind's iso_code. */
	put(st, 5, 33, "198.51.100.7", false, "192.0.2.5,198.51.100.7");
	info(st, 5, "192.0.2.5", "{\"country\":{\"iso_code\":\"JP\",\"name\":\"Japan\"}}");
	/* A country's name only. */
	put(st, 6, 33, "198.51.100.7", false, "192.0.2.6,198.51.100.7");
	info(st, 6, "192.0.2.6", "{\"country\":\"Atlantis\"}");
	/* Names, an empty answer and an address not in the trace give nothing. */
	put(st, 7, 33, "198.51.100.7", false, "192.0.2.7,198.51.100.7");
	store_trace_lookup(st, "00000000000000000000000000000007", "192.0.2.7", "name", "XX", 2);
	info(st, 7, "192.0.2.8", "{\"country\":\"XX\",\"asn\":64502}");
	put(st, 8, 33, "198.51.100.7", false, "192.0.2.8,198.51.100.7");
	info(st, 8, "192.0.2.8", "{}");
	/* The visitor's own address, looked up as every hop's. */
	put(st, 9, 33, "203.0.113.9", false, "192.0.2.9,203.0.113.9");
	info(st, 9, "203.0.113.9", "{\"country\":\"SE\",\"asn\":{\"asn\":\"AS64999\"}}");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		all(&q);
		q.asn = cases[i].asn;
		snprintf(q.country, sizeof(q.country), "%s", cases[i].country);
		is_str(list(st, &q), cases[i].want, "AS %u, country \"%s\"", (unsigned)cases[i].asn,
		    cases[i].country);
	}
	/* A look-up kept again with another answer: the search follows it. */
	info(st, 1, "192.0.2.1", "{\"country\":\"US\",\"org\":\"AS15170 Example\"}");
	all(&q);
	q.asn = 15169;
	is_str(list(st, &q), "", "an answer replaced: the old AS is gone");
	q.asn = 15170;
	is_str(list(st, &q), "1", "... the new one found");
	is_int(store_errors(st), 0, "no errors");
	store_close(st);
}

/*
 * Reason, time, site, the filters together, and paging: limit, more and
 * before, through traces that started in the same millisecond.
 */
static void
test_filters(void)
{
	struct store_query q;
	struct found f;
	struct store *st = open_store("filters.db");
	char id[PROTO_ID_LEN + 1];
	bool more;

	if (st == NULL)
		return;
	for (int n = 1; n <= 12; n++) {
		begin(st, n, n % 2 ? 33 : 34, n <= 6 ? "198.51.100.7" : "203.0.113.7", false,
		    T0 + n * 1000, n % 3 ? "192.0.2.1,203.0.113.1" : "192.0.2.1,203.0.113.2");
		end(st, n, n % 4 ? "destination" : "gap-limit");
		info(st, n, "203.0.113.1", "{\"country\":\"SE\",\"asn\":64510}");
		info(st, n, "203.0.113.2", "{\"country\":\"NO\",\"asn\":64511}");
	}
	/* Two that started together: ordered by id, as store_history does. */
	begin(st, 14, 33, "198.51.100.7", false, T0 + 13000, "192.0.2.1");
	end(st, 14, "destination");
	begin(st, 13, 33, "198.51.100.7", false, T0 + 13000, "192.0.2.1");
	end(st, 13, "destination");

	all(&q);
	is_str(list(st, &q), "14 13 12 11 10 9 8 7 6 5 4 3 2 1", "no filter: every finished trace");
	snprintf(q.reason, sizeof(q.reason), "gap-limit");
	is_str(list(st, &q), "12 8 4", "reason");
	q.since_ms = T0 + 4000;
	q.until_ms = T0 + 12000;
	is_str(list(st, &q), "8 4", "reason and time: since is in, until out");
	all(&q);
	q.since_ms = T0 + 12000;
	is_str(list(st, &q), "14 13 12", "since alone");
	all(&q);
	q.until_ms = T0 + 3000;
	is_str(list(st, &q), "2 1", "until alone");
	all(&q);
	q.has_uid = true;
	q.uid = 34;
	is_str(list(st, &q), "12 10 8 6 4 2", "one site's");
	visitor(&q, "198.51.100.0/24");
	is_str(list(st, &q), "6 4 2", "a site's and a visitor prefix");
	all(&q);
	hop(&q, "203.0.113.2");
	q.asn = 64511;
	is_str(list(st, &q), "12 9 6 3", "a hop and its AS");
	q.asn = 64510;
	is_str(list(st, &q), "", "a hop and an AS none of its traces has");
	all(&q);
	snprintf(q.country, sizeof(q.country), "no");
	snprintf(q.reason, sizeof(q.reason), "gap-limit");
	q.has_uid = true;
	q.uid = 34;
	is_str(list(st, &q), "12", "country, reason and site");
	visitor(&q, "203.0.113.7");
	hop(&q, "203.0.113.0/24");
	q.asn = 64511;
	q.since_ms = T0 + 12000;
	q.until_ms = T0 + 12001;
	is_str(list(st, &q), "12", "every filter at once");
	q.until_ms = T0 + 12000;
	is_str(list(st, &q), "", "... but for one millisecond");

	/* Pages of two, by before=, and the count of them all. */
	all(&q);
	visitor(&q, "198.51.100.7");
	q.limit = 2;
	ok(strcmp(search(st, &q, &f, &more), "14 13") == 0 && more, "a page of two, and more");
	snprintf(q.before, sizeof(q.before), "%s", tid(14, id));
	ok(strcmp(search(st, &q, &f, &more), "13 6") == 0 && more,
	    "before the first of two that started together: the other one, then older ones");
	snprintf(q.before, sizeof(q.before), "%s", tid(3, id));
	ok(strcmp(search(st, &q, &f, &more), "2 1") == 0 && !more, "the last page, no more");
	q.limit = 3;
	snprintf(q.before, sizeof(q.before), "%s", tid(6, id));
	ok(strcmp(search(st, &q, &f, &more), "5 4 3") == 0 && more, "limit 3");
	q.limit = 4;
	ok(strcmp(search(st, &q, &f, &more), "5 4 3 2") == 0 && more, "limit 4");
	q.limit = 5;
	ok(strcmp(search(st, &q, &f, &more), "5 4 3 2 1") == 0 && !more,
	    "limit 5: exactly what is left, no more");
	{
		long long n = -1;

		is_int(store_query_count(st, &q, &n), 0, "a count");
		is_int(n, 8, "... ignores limit and before");
	}
	snprintf(q.before, sizeof(q.before), "%s", tid(99, id));
	ok(strcmp(search(st, &q, &f, &more), "") == 0 && !more, "before an unknown trace: nothing");
	snprintf(q.before, sizeof(q.before), "%s", tid(6, id));
	q.has_uid = true;
	q.uid = 33;
	ok(strcmp(search(st, &q, &f, &more), "") == 0 && !more,
	    "a site's search before another site's trace: nothing, as an unknown one");
	q.uid = 34;
	ok(strcmp(search(st, &q, &f, &more), "4 2") == 0 && !more, "... before its own: its older");
	q.has_uid = false;
	hop(&q, "192.0.2.0/24");
	snprintf(q.before, sizeof(q.before), "%s", tid(9, id));
	ok(strcmp(search(st, &q, &f, &more), "6 5 4 3 2") == 0 && more,
	    "a search of all sites may page past any site's trace");

	/* Refused: not a search. */
	all(&q);
	q.limit = 0;
	is_int(store_query(st, &q, found_row, &f, &more), -1, "limit 0 is refused");
	q.limit = STORE_QUERY_MAX + 1;
	is_int(store_query(st, &q, found_row, &f, &more), -1, "a limit past STORE_QUERY_MAX too");
	all(&q);
	visitor(&q, "198.51.100.0/24");
	q.visitor_bits = 33;
	is_int(store_query(st, &q, found_row, &f, &more), -1, "an IPv4 prefix of 33 bits too");
	all(&q);
	snprintf(q.before, sizeof(q.before), "not-an-id");
	is_int(store_query(st, &q, found_row, &f, &more), -1, "a before that is no trace id too");
	is_int(store_query(NULL, &q, found_row, &f, &more), STORE_NONE, "no store: none");
	is_int(store_errors(st), 0, "no errors");
	store_close(st);
}

/* A trace from another server of a fleet (store_import), for visitor client. */
static void
import(struct store *st, int n, const char *client, const char *addr)
{
	char json[2048], id[PROTO_ID_LEN + 1];

	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"vantage\":\"fra1\",\"family\":4,"
	    "\"client\":\"%s\",\"cport\":51000,\"server\":\"192.0.2.10\",\"sport\":443,"
	    "\"started_at\":%lld,\"ended_at\":%lld,\"reason\":\"destination\",\"hops\":1,"
	    "\"duration_us\":50000,\"token\":null,\"client_prefix\":0,\"proxy\":null,"
	    "\"hoplist\":[{\"ttl\":1,\"sent\":1,\"reused_addr\":null,\"reused_age_ms\":null}],"
	    "\"replies\":[{\"ttl\":1,\"idx\":0,\"addr\":\"%s\",\"rtt_us\":300,"
	    "\"kind\":\"time-exceeded\",\"code\":0,\"reply_ttl\":64,\"quoted_ttl\":1,\"size\":56,"
	    "\"ext\":0,\"edst\":null,\"mpls\":null,\"flags\":0}],\"lookups\":[]}", tid(n, id), client,
	    T0 + n * 1000, T0 + n * 1000 + 50, addr);
	is_int(store_import(st, json, 33), 0, "another server's trace %d kept", n);
}

/*
 * Changed paths: against the visitor's previous finished trace, by
 * path_diff's rules (a silent hop is never a change), of the same vantage
 * point, and of the same site in a site's search.
 */
static void
test_changed(void)
{
	struct store_query q;
	struct found f;
	bool more;
	long long n = -1;
	struct store *st = open_store("changed.db");

	if (st == NULL)
		return;
	put(st, 1, 33, "198.51.100.7", false, "192.0.2.1,192.0.2.2,192.0.2.3");
	put(st, 2, 33, "198.51.100.7", false, "192.0.2.1,192.0.2.9,192.0.2.3");	/* replaced */
	put(st, 3, 33, "198.51.100.7", false, "192.0.2.1,*,192.0.2.3");		/* silent */
	put(st, 4, 33, "198.51.100.7", false, "192.0.2.1,192.0.2.9,192.0.2.3,192.0.2.4");
	put(st, 5, 34, "198.51.100.7", false, "192.0.2.1,192.0.2.8,192.0.2.3,192.0.2.4");
	import(st, 6, "198.51.100.7", "203.0.113.66");		/* fra1's own path */
	put(st, 7, 33, "198.51.100.7", false, "192.0.2.1,192.0.2.8,192.0.2.3,192.0.2.4");
	put(st, 8, 33, "198.51.100.8", false, "192.0.2.1,192.0.2.2,192.0.2.3");
	/* Answered only late at hop 2: the same router. */
	put(st, 9, 33, "198.51.100.8", false, "192.0.2.1,*,192.0.2.3");
	late(st, 9, 2, "192.0.2.2");
	/* Stored as a prefix: a prefix is several visitors, never compared. */
	put(st, 10, 33, "203.0.113.7", true, "192.0.2.1,192.0.2.2");
	put(st, 11, 33, "203.0.113.8", true, "192.0.2.1,192.0.2.5");

	all(&q);
	q.changed = true;
	is_str(list(st, &q), "5 4 2", "changed, every site's: against the one before whatever its site");
	search(st, &q, &f, &more);
	ok(f.n == 3 && f.items[0].compared && f.items[0].change.replaced == 1 &&
	    f.items[0].change.first_ttl == 2 && f.items[1].change.added == 1 &&
	    f.items[1].change.replaced == 0 && f.items[1].change.first_ttl == 4 &&
	    f.items[2].change.replaced == 1, "... each with what changed: replaced at 2, added at 4");
	q.has_uid = true;
	q.uid = 33;
	is_str(list(st, &q), "7 4 2", "one site's: against that site's previous trace");
	q.uid = 34;
	is_str(list(st, &q), "", "the other site: nothing of its own before");
	q.has_uid = false;
	visitor(&q, "198.51.100.8");
	is_str(list(st, &q), "", "late answers from the same router: no change");
	visitor(&q, "203.0.113.0/24");
	is_str(list(st, &q), "", "prefixes never change");
	all(&q);
	q.changed = true;
	q.limit = 2;
	ok(strcmp(search(st, &q, &f, &more), "5 4") == 0 && more, "changed, two a page, more");
	snprintf(q.before, sizeof(q.before), "00000000000000000000000000000004");
	ok(strcmp(search(st, &q, &f, &more), "2") == 0 && !more, "... then the last");
	is_int(store_query_count(st, &q, &n), 0, "a count of changed ones walks them");
	is_int(n, 3, "... three");

	/* Without changed, every row still says what changed (the table's mark). */
	all(&q);
	visitor(&q, "198.51.100.7");
	search(st, &q, &f, &more);
	ok(f.n == 7 && f.items[0].compared && !path_changed(&f.items[0].change) &&
	    strcmp(f.items[1].item.vantage, "fra1") == 0 && !f.items[1].compared &&
	    f.items[4].compared && !path_changed(&f.items[4].change) && !f.items[6].compared,
	    "every row compared: 7 as 5 (no change), fra1's first its own, 3 as 2 (silent), "
	    "1 the first");
	is_int(store_errors(st), 0, "no errors");
	store_close(st);
}

int
main(void)
{
	if (tap_tmpdir(tmpdir) < 0)
		return 1;
	test_visitor();
	test_hops();
	test_lookups();
	test_filters();
	test_changed();
	tap_tmpdir_remove(tmpdir);
	return tap_done();
}
