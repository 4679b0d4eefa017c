/*
 * querybench FILE RUNS SPEC...: operators' searches of the traces stored in
 * the SQLite file FILE, through the store's own calls (store_query and
 * store_query_count, as the broker's QUERY makes them), each SPEC run once
 * unmeasured, then RUNS times. Prints a line a SPEC:
 * "LABEL ms=MEDIAN min=MIN max=MAX found=N more=0|1". A SPEC is
 * "LABEL:KEY=VALUE ..." with keys visitor=PREFIX, hop=PREFIX, asn=N,
 * country=CC, reason=R, since=MS, until=MS (ms since the epoch), uid=N,
 * changed=1, limit=N (default 20) and count=1 (a count instead of a page).
 * For scripts/bench.sh (BENCH_ONLY=query).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "store.h"
#include "util.h"

#define RUNS_MAX	100

struct spec {
	char label[64];
	struct store_query q;
	bool count;
};

/* Parses "LABEL:KEY=VALUE ..." into sp; -1 with a message if it is not one. */
static int
spec_parse(const char *text, struct spec *sp)
{
	char buf[1024], *save = NULL, *colon;

	memset(sp, 0, sizeof(*sp));
	sp->q.limit = 20;
	snprintf(buf, sizeof(buf), "%s", text);
	if ((colon = strchr(buf, ':')) == NULL)
		goto bad;
	*colon = '\0';
	if (strlen(buf) >= sizeof(sp->label))
		goto bad;
	memcpy(sp->label, buf, strlen(buf) + 1);
	for (char *kv = strtok_r(colon + 1, " ", &save); kv != NULL; kv = strtok_r(NULL, " ", &save)) {
		char *v = strchr(kv, '=');
		struct store_query *q = &sp->q;

		if (v == NULL)
			goto bad;
		*v++ = '\0';
		if (strcmp(kv, "visitor") == 0)
			q->has_visitor = addr_prefix_parse(v, &q->visitor, &q->visitor_bits) == 0;
		else if (strcmp(kv, "hop") == 0)
			q->has_hop = addr_prefix_parse(v, &q->hop, &q->hop_bits) == 0;
		else if (strcmp(kv, "asn") == 0)
			q->asn = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(kv, "country") == 0)
			snprintf(q->country, sizeof(q->country), "%s", v);
		else if (strcmp(kv, "reason") == 0)
			snprintf(q->reason, sizeof(q->reason), "%s", v);
		else if (strcmp(kv, "since") == 0)
			q->since_ms = strtoll(v, NULL, 10);
		else if (strcmp(kv, "until") == 0)
			q->until_ms = strtoll(v, NULL, 10);
		else if (strcmp(kv, "uid") == 0) {
			q->has_uid = true;
			q->uid = (uid_t)strtoul(v, NULL, 10);
		} else if (strcmp(kv, "changed") == 0)
			q->changed = strcmp(v, "1") == 0;
		else if (strcmp(kv, "limit") == 0)
			q->limit = atoi(v);
		else if (strcmp(kv, "count") == 0)
			sp->count = strcmp(v, "1") == 0;
		else
			goto bad;
		if ((strcmp(kv, "visitor") == 0 && !q->has_visitor) ||
		    (strcmp(kv, "hop") == 0 && !q->has_hop))
			goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "querybench: not a search: %s\n", text);
	return -1;
}

static int
row(void *ctx, const struct store_query_item *qi)
{
	(void)qi;
	(*(long long *)ctx)++;
	return 0;
}

/* One search: how long it took in ms, what it found; -1 if it failed. */
static double
run(struct store *st, const struct spec *sp, long long *found, bool *more)
{
	uint64_t t0 = time_us(CLOCK_MONOTONIC);
	int rc;

	*found = 0;
	*more = false;
	rc = sp->count ? store_query_count(st, &sp->q, found) :
	    store_query(st, &sp->q, row, found, more);
	return rc == 0 ? (double)(time_us(CLOCK_MONOTONIC) - t0) / 1000 : -1;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct store *st;
	struct spec sp;
	char err[512];
	double ms[RUNS_MAX];
	long long found;
	bool more;
	int runs;

	if (argc < 4 || (runs = atoi(argv[2])) < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: querybench FILE RUNS(1-%d) LABEL:KEY=VALUE...\n", RUNS_MAX);
		return 2;
	}
	if ((st = store_open(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "querybench: %s\n", err);
		return 1;
	}
	for (int a = 3; a < argc; a++) {
		if (spec_parse(argv[a], &sp) < 0)
			return 2;
		for (int i = -1; i < runs; i++) {
			double t = run(st, &sp, &found, &more);

			if (t < 0) {
				fprintf(stderr, "querybench: %s failed\n", sp.label);
				return 1;
			}
			if (i >= 0)
				ms[i] = t;
		}
		qsort(ms, (size_t)runs, sizeof(ms[0]), cmp);
		printf("%s ms=%.2f min=%.2f max=%.2f found=%lld more=%d\n", sp.label,
		    runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2, ms[0],
		    ms[runs - 1], found, more);
		fflush(stdout);
	}
	store_close(st);
	return 0;
}
