/*
 * The broker's limits as pure functions: time and counts come in, a decision
 * goes out. broker.c keeps the state (buckets and running counts per visitor,
 * prefix and site) and charges what these functions allow.
 */
#ifndef TT_HELPER_BROKER_LIMIT_H
#define TT_HELPER_BROKER_LIMIT_H

#include <stdint.h>

#include "addr.h"

/*
 * A token bucket: level in millionths of a token, filled at rate tokens a
 * second up to burst tokens, so each take costs exactly 1000000.
 */
struct bucket {
	uint64_t level;
	uint64_t stamp_us;	/* monotonic time level was computed at; 0: never (full) */
};

/* Seconds until the bucket holds a whole token at now: 0 if it does, else at least 1. */
int bucket_wait(struct bucket *k, uint64_t rate, uint64_t burst, uint64_t now);
/* Takes a token (after bucket_wait said 0). */
void bucket_take(struct bucket *k);
/* Gives a token back (a charge that turned out not to be owed), up to burst. */
void bucket_give(struct bucket *k, uint64_t burst);

/*
 * The address ranges a visitor is limited by, narrowest first: an IPv4
 * address and its /24; an IPv6 /64 (one host's usual share), its /56 (a
 * customer's usual delegation) and its /48 (a site's).
 */
enum limit_level {
	LIMIT_VISITOR = 0,	/* /32, /64: client-max, client-rate */
	LIMIT_SUBNET,		/* IPv6 /56: subnet-max, subnet-rate */
	LIMIT_PREFIX,		/* /24, IPv6 /48: prefix-max, prefix-rate */
	LIMIT_LEVELS
};

/* The prefix length of level for family; 0 when the level does not apply (IPv4 subnet). */
int limit_bits(int family, enum limit_level level);

/* One limit to check: a running count against its cap, and a bucket against its rate. */
struct limit_check {
	const char *why;	/* the busy message: "too many traces running for this address" */
	const char *why_rate;	/* the same for the rate */
	int running, max;	/* max 0: no cap on running */
	struct bucket *rate;	/* NULL: no rate */
	uint64_t per_s, burst;
};

/*
 * Checks limits in order, charging nothing: the first reached decides.
 * Returns 0 when all allow a trace, else the seconds after which trying again
 * makes sense (running_retry for a cap on running traces, the exact wait for
 * a rate), with the reason in *why.
 */
int limits_check(struct limit_check *l, int n, int running_retry, uint64_t now, const char **why);

/* A site's share of max-traces: share percent of it, at least 1. */
int limit_site_max(int max_traces, int share);

#endif
