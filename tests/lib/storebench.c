/*
 * storebench [-j] [-a MS] FILE N: the broker's store alone
 * (helper/broker/store.c, the same calls the broker makes) writing N traces
 * of 5 hops and 7 replies into the SQLite file FILE, committed as the broker
 * commits (once the open batch is COMMIT_EVERY_MS old), as fast as it can:
 * how many traces a second the SQLite backend sustains without any tracing.
 * -j makes FILE a fleet's journal (the traces wait to be shipped), -a dates
 * the traces MS ms in the past. Prints "traces=N seconds=S rate=R". For
 * scripts/bench.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

int
main(int argc, char **argv)
{
	struct proto_trace_req req;
	struct proto_hop h;
	struct store *st;
	char err[512], id[PROTO_ID_LEN + 1], client[ADDR_STRLEN], hop[ADDR_STRLEN];
	uint64_t t0, batch_ms = 0;
	long n, ago_ms = 0;
	bool journal = false;
	int opt;

	while ((opt = getopt(argc, argv, "ja:")) != -1) {
		if (opt == 'j')
			journal = true;
		else if (opt == 'a')
			ago_ms = strtol(optarg, NULL, 10);
		else
			break;
	}
	if (opt != -1 || argc - optind != 2 || (n = strtol(argv[optind + 1], NULL, 10)) <= 0 ||
	    ago_ms < 0) {
		fprintf(stderr, "usage: storebench [-j] [-a MS] FILE N\n");
		return 2;
	}
	if ((st = store_open(argv[optind], err, sizeof(err))) == NULL) {
		fprintf(stderr, "storebench: %s\n", err);
		return 1;
	}
	if (journal && store_journal(st, (int)n + 1) < 0)
		return 1;
	memset(&req, 0, sizeof(req));
	addr_parse("192.0.2.10", &req.server);
	req.sport = 443;
	t0 = time_ms(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++) {
		int64_t now = (int64_t)time_ms(CLOCK_REALTIME) - ago_ms;

		snprintf(id, sizeof(id), "%032lx", 0x5eed0000L + i);
		snprintf(client, sizeof(client), "10.%ld.%ld.%ld", i / 65536 % 256, i / 256 % 256,
		    i % 256);
		addr_parse(client, &req.client);
		req.cport = (uint16_t)(40000 + i % 20000);
		if (store_trace_begin(st, id, 33, &req, now, id, false) < 0)
			return 1;
		for (int ttl = 1; ttl <= 5; ttl++) {
			memset(&h, 0, sizeof(h));
			h.ttl = ttl;
			h.sent = ttl == 5 ? 3 : 1;
			h.nreplies = ttl == 5 ? 3 : 1;
			snprintf(hop, sizeof(hop), "192.0.2.%d", ttl);
			for (int k = 0; k < h.nreplies; k++)
				reply_at(&h.r[k], ttl == 5 ? client : hop,
				    ttl == 5 ? REPLY_DESTINATION : REPLY_TIME_EXCEEDED,
				    (uint32_t)(100 * ttl + k));
			if (store_hop(st, id, &h) < 0)
				return 1;
		}
		if (store_trace_end(st, id, "destination", 5, now + 15, 15000) < 0)
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
