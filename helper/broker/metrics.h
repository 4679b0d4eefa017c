/*
 * The helper's counters in Prometheus's text format (version 0.0.4), pure:
 * what the broker counts for them, and the text made from a snapshot
 * (docs/metrics.md lists every metric).
 */
#ifndef TT_BROKER_METRICS_H
#define TT_BROKER_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

/* Traces ended, by END's reason: the documented ones from the start, others as they come. */
#define METRICS_REASONS		32
#define METRICS_REASON_LEN	32

struct metrics_reasons {
	struct {
		char reason[METRICS_REASON_LEN];
		uint64_t n;
	} r[METRICS_REASONS];
	int n;
};

/* Every documented reason (docs/protocol.md, END) at 0. */
void metrics_reasons_init(struct metrics_reasons *mr);
/* One more trace ended with reason; past METRICS_REASONS reasons, as "other". */
void metrics_reason_add(struct metrics_reasons *mr, const char *reason);

/* A histogram of durations: bucket i counts those up to metrics_bucket_us[i], above i - 1's. */
#define METRICS_BUCKETS		12
extern const uint64_t metrics_bucket_us[METRICS_BUCKETS];

struct metrics_hist {
	uint64_t bucket[METRICS_BUCKETS];
	uint64_t count;		/* the +Inf bucket */
	uint64_t sum_us;
};

void metrics_hist_add(struct metrics_hist *h, uint64_t us);

/* One site's traces: a site is the uid of the app that asks (docs/protocol.md, SITES). */
struct metrics_site {
	uint32_t uid;
	char name[64];		/* its user's name, or the uid when it has none */
	uint64_t running, ended, refused, stored;
};

/* A snapshot of everything the metrics say. */
struct metrics_counts {
	struct proto_status st;		/* STATUS's counters; PROTO_STATUS_UNKNOWN: left out */
	struct metrics_reasons reasons;
	struct metrics_hist commit;	/* the store's commits */
	const struct metrics_site *sites;
	size_t nsites;
	bool stored_known;		/* a database: the sites' stored counts mean something */
	uint64_t start_ms;		/* the broker's start, ms since the epoch */
	uint64_t rss_engine, rss_broker;	/* resident memory, bytes; 0: not known, left out */
};

/* Writes the text. Returns 0, or -1 if writing failed. */
int metrics_write(FILE *fp, const struct metrics_counts *mc);

#endif
