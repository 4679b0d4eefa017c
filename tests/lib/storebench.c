/*
 * storebench [-j] [-q] [-a MS] FILE N: the broker's store alone
 * (helper/broker/store.c, the same calls the broker makes) writing N traces
 * of 5 hops and 7 replies into the SQLite file FILE, committed as the broker
 * commits (once the open batch is COMMIT_EVERY_MS old), as fast as it can:
 * how many traces a second the SQLite backend sustains without any tracing.
 * -j makes FILE a fleet's journal (the traces wait to be shipped), -a dates
 * the traces MS ms in the past. -q writes the traces a server of many
 * visitors keeps, for the searches' figures (below, mix_trace). Prints
 * "traces=N seconds=S rate=R". For scripts/bench.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include "addr.h"
#include "internal.h"
#include "proto.h"
#include "store.h"
#include "util.h"

static void
reply_at(struct proto_reply *r, const char *addr, enum reply_kind kind, uint32_t rtt_us)
{
	memset(r, 0, sizeof(*r));
	addr_parse(addr, &r->from);
	r->kind = kind;
	r->rtt_us = rtt_us;
	r->reply_ttl = 60;
	r->size = 56;
}

/* Fills hop t (from 0) of a trace: its replies from addrs[t], the visitor's at the last hop. */
static void
hop_at(struct proto_hop *h, int t, const char *addr, bool silent)
{
	memset(h, 0, sizeof(*h));
	h->ttl = t + 1;
	h->sent = t == 4 ? 3 : 1;
	h->nreplies = silent ? 0 : h->sent;
	for (int k = 0; k < h->nreplies; k++)
		reply_at(&h->r[k], addr, t == 4 ? REPLY_DESTINATION : REPLY_TIME_EXCEEDED,
		    (uint32_t)(100 * (t + 1) + k));
}

/* Trace i without -q: visitor 10.x.y.z (i's bytes), 192.0.2.1 to .4, then the visitor. */
static const char *
plain_trace(long i, struct proto_trace_req *req, struct proto_hop *h, char addrs[5][ADDR_STRLEN])
{
	for (int t = 0; t < 4; t++)
		snprintf(addrs[t], ADDR_STRLEN, "192.0.2.%d", t + 1);
	snprintf(addrs[4], ADDR_STRLEN, "10.%ld.%ld.%ld", i / 65536 % 256, i / 256 % 256, i % 256);
	addr_parse(addrs[4], &req->client);
	addr_parse("192.0.2.10", &req->server);
	for (int t = 0; t < 5; t++)
		hop_at(&h[t], t, addrs[t], false);
	return "destination";
}

/*
 * -q: MIX_VISITORS visitors (a quarter IPv6) each traced N / MIX_VISITORS
 * times, spread over the MIX_SPAN_MS before now; visitor v is
 * 10.(v % 256).(v / 256 % 256).(1 + v / 65536), so that a /16 holds about
 * 290 of them and a /24 one or two, or 2001:db8:(v % 256):(v / 256)::1.
 * Hops: the server's router, one of two next (by trace), a transit router
 * by the visitor's /16 (256 of them; one trace in 16 takes the next one
 * instead: a path that changed), one of 10,000 further routers by visitor
 * (silent in one trace in 7), then the visitor. One trace in 10 ends
 * otherwise (gap-limit, max-hops, deadline, closed), without the visitor.
 * Each transit router and the visitor have an info answer kept with the
 * trace after its end, as ipinfo, ip-api or whereabouts would answer:
 * 50 ASes and 16 countries for the first transit routers, 100 ASes for
 * the others, 1,000 ASes and 40 countries for visitors.
 */
#define MIX_VISITORS	100000L
#define MIX_SPAN_MS	(30LL * 86400 * 1000)

static const char *const countries[][2] = {
	{ "SE", "Sweden" }, { "DE", "Germany" }, { "FR", "France" }, { "NL", "Netherlands" },
	{ "US", "United States" }, { "JP", "Japan" }, { "BR", "Brazil" }, { "IN", "India" },
	{ "GB", "United Kingdom" }, { "FI", "Finland" }, { "NO", "Norway" }, { "PL", "Poland" },
	{ "ES", "Spain" }, { "IT", "Italy" }, { "CA", "Canada" }, { "AU", "Australia" },
	{ "ZA", "South Africa" }, { "KE", "Kenya" }, { "MX", "Mexico" }, { "AR", "Argentina" },
	{ "CL", "Chile" }, { "PE", "Peru" }, { "EG", "Egypt" }, { "NG", "Nigeria" },
	{ "TR", "Turkey" }, { "GR", "Greece" }, { "PT", "Portugal" }, { "IE", "Ireland" },
	{ "DK", "Denmark" }, { "AT", "Austria" }, { "CH", "Switzerland" }, { "BE", "Belgium" },
	{ "CZ", "Czechia" }, { "HU", "Hungary" }, { "RO", "Romania" }, { "UA", "Ukraine" },
	{ "KR", "South Korea" }, { "SG", "Singapore" }, { "NZ", "New Zealand" }, { "TH", "Thailand" },
};

/* An info answer for addr, of AS asn in country c, in one of three services' shapes. */
static int
mix_info(char *buf, size_t len, const char *addr, unsigned asn, int c, unsigned shape)
{
	const char *code = countries[c][0], *name = countries[c][1];

	if (shape % 3 == 0)
		return snprintf(buf, len, "{\"ip\":\"%s\",\"city\":\"Example\",\"country\":\"%s\","
		    "\"org\":\"AS%u Example Net\"}", addr, code, asn);
	if (shape % 3 == 1)
		return snprintf(buf, len, "{\"status\":\"success\",\"country\":\"%s\","
		    "\"countryCode\":\"%s\",\"as\":\"AS%u Example Net\",\"query\":\"%s\"}", name,
		    code, asn, addr);
	return snprintf(buf, len, "{\"continent\":{\"code\":\"EU\",\"name\":\"Europe\"},"
	    "\"country\":{\"code\":\"%s\",\"name\":\"%s\"},\"asn\":%u}", code, name, asn);
}

/* The hops of mix trace i (5, a silent one with none), its visitor in req; its reason. */
static const char *
mix_trace(long i, struct proto_trace_req *req, struct proto_hop *h, char addrs[5][ADDR_STRLEN])
{
	static const char *const other[] = { "gap-limit", "max-hops", "deadline", "closed" };
	long v = i * 7919 % MIX_VISITORS;	/* 7919 is prime: every visitor in turn */
	bool six = v / 256 % 4 == 3, moved = (i * 2654435761UL >> 8) % 16 == 0;
	long r3 = (v % 256 + moved) % 256, r4 = v % 10000;

	if (six) {
		snprintf(addrs[0], ADDR_STRLEN, "2001:db8::1");
		snprintf(addrs[1], ADDR_STRLEN, "2001:db8::%ld", 2 + i % 2);
		snprintf(addrs[2], ADDR_STRLEN, "2001:db8:ff:%lx::1", r3);
		snprintf(addrs[3], ADDR_STRLEN, "2001:db8:fe:%lx::1", r4);
		snprintf(addrs[4], ADDR_STRLEN, "2001:db8:%lx:%lx::1", v % 256, v / 256);
	} else {
		snprintf(addrs[0], ADDR_STRLEN, "192.0.2.1");
		snprintf(addrs[1], ADDR_STRLEN, "192.0.2.%ld", 2 + i % 2);
		snprintf(addrs[2], ADDR_STRLEN, "198.18.%ld.1", r3);
		snprintf(addrs[3], ADDR_STRLEN, "198.19.%ld.%ld", r4 / 256, r4 % 256);
		snprintf(addrs[4], ADDR_STRLEN, "10.%ld.%ld.%ld", v % 256, v / 256 % 256, 1 + v / 65536);
	}
	addr_parse(addrs[4], &req->client);
	addr_parse(six ? "2001:db8::10" : "192.0.2.10", &req->server);
	for (int t = 0; t < 5; t++)
		hop_at(&h[t], t, addrs[t], (t == 3 && i % 7 == 0) || (t == 4 && i % 100 >= 90));
	return i % 100 < 90 ? "destination" : other[i % 100 % 4];
}

/* Keeps the mix's info answers with trace id: its transit routers' and its visitor's. */
static int
mix_lookups(struct store *st, const char *id, long i, char addrs[5][ADDR_STRLEN])
{
	long v = i * 7919 % MIX_VISITORS, r3 = v % 256, r4 = v % 10000;
	const struct {
		int hop;
		unsigned asn;
		int country;
	} looked[] = {
		{ 2, 64512 + (unsigned)(r3 % 50), (int)(r3 % 16) },
		{ 3, 64600 + (unsigned)(r4 % 100), (int)(r4 % 16) },
		{ 4, 65000 + (unsigned)(v % 1000), (int)(v % 40) },
	};
	char body[512];

	for (size_t k = 0; k < sizeof(looked) / sizeof(looked[0]); k++) {
		int n = mix_info(body, sizeof(body), addrs[looked[k].hop], looked[k].asn,
		    looked[k].country, (unsigned)(v + k));

		if (store_trace_lookup(st, id, addrs[looked[k].hop], "info", body, (size_t)n) < 0)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct proto_trace_req req;
	struct proto_hop hops[5];
	struct store *st;
	char err[512], id[PROTO_ID_LEN + 1], addrs[5][ADDR_STRLEN];
	uint64_t t0, batch_ms = 0;
	long n, ago_ms = 0;
	bool journal = false, query_mix = false;
	int opt;

	while ((opt = getopt(argc, argv, "jqa:")) != -1) {
		if (opt == 'j')
			journal = true;
		else if (opt == 'q')
			query_mix = true;
		else if (opt == 'a')
			ago_ms = strtol(optarg, NULL, 10);
		else
			break;
	}
	if (opt != -1 || argc - optind != 2 || (n = strtol(argv[optind + 1], NULL, 10)) <= 0 ||
	    ago_ms < 0) {
		fprintf(stderr, "usage: storebench [-j] [-q] [-a MS] FILE N\n");
		return 2;
	}
	if ((st = store_open(argv[optind], err, sizeof(err))) == NULL) {
		fprintf(stderr, "storebench: %s\n", err);
		return 1;
	}
	if (journal && store_journal(st, (int)n + 1) < 0)
		return 1;
	memset(&req, 0, sizeof(req));
	req.sport = 443;
	t0 = time_ms(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++) {
		int64_t now = (int64_t)time_ms(CLOCK_REALTIME) - ago_ms;
		const char *reason = query_mix ? mix_trace(i, &req, hops, addrs) :
		    plain_trace(i, &req, hops, addrs);

		/* The mix's over its span, oldest first, as they would have come. */
		if (query_mix)
			now -= MIX_SPAN_MS - MIX_SPAN_MS * i / n;
		snprintf(id, sizeof(id), "%032lx", 0x5eed0000L + i);
		req.cport = (uint16_t)(40000 + i % 20000);
		if (store_trace_begin(st, id, 33, &req, now, id, false) < 0)
			return 1;
		for (int t = 0; t < 5; t++)
			if (store_hop(st, id, &hops[t]) < 0)
				return 1;
		if (store_trace_end(st, id, reason, 5, now + 15, 15000) < 0 ||
		    (query_mix && mix_lookups(st, id, i, addrs) < 0))
			return 1;
		if (batch_ms == 0)
			batch_ms = time_ms(CLOCK_MONOTONIC);
		if (time_ms(CLOCK_MONOTONIC) - batch_ms >= COMMIT_EVERY_MS) {
			if (store_commit(st) < 0)
				return 1;
			batch_ms = 0;
		}
	}
	if (store_commit(st) < 0)
		return 1;
	t0 = time_ms(CLOCK_MONOTONIC) - t0;
	printf("traces=%ld seconds=%.3f rate=%.0f\n", n, (double)t0 / 1000,
	    t0 ? (double)n * 1000 / (double)t0 : 0);
	store_close(st);
	return 0;
}
