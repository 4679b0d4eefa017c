/*
 * The broker's admission of traces, pure: the visitor table, the counts and
 * the time come in; which limit refuses a trace, and for how long, goes out.
 * limit.c holds the buckets and the order of checks this charges.
 */
#ifndef TT_ADMIT_H
#define TT_ADMIT_H

#include <sys/queue.h>

#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "limit.h"

#define VISITOR_HASH		1024		/* buckets of the per-visitor table */

/* One visitor address or prefix (limit.h's levels) and its limits' state. */
struct visitor {
	LIST_ENTRY(visitor) hash;
	TAILQ_ENTRY(visitor) lru;	/* least recently touched first */
	struct tt_addr key;	/* the address cut to bits */
	int bits;
	struct bucket rate;
	int running;		/* its traces starting or running */
	uint64_t touched_us;
};

/* The visitors seen lately, and the limits on all traces. */
struct admit {
	const struct config *cfg;	/* max-traces, global-rate, client-*, subnet-*, prefix-* */
	struct bucket global_rate;
	LIST_HEAD(, visitor) vhash[VISITOR_HASH];
	TAILQ_HEAD(, visitor) vlru;
	int nvisitors;
};

/* What admission keeps of one site (the uid of the app that asks). */
struct admit_site {
	struct bucket requests;	/* site-rate: every TRACE, accepted or not */
	int active;		/* its traces starting or running, against its share */
};

enum admit_verdict {
	ADMIT_OK,		/* admitted: the trace holds its visitor and prefixes */
	ADMIT_BUSY,		/* a limit refused it: *why and *retry_s say which and when */
	ADMIT_NOMEM,		/* no memory for a visitor */
};

/* Why a trace was refused: the busy message (the limit that refused) and retry=. */
struct admit_busy {
	const char *why;
	int retry_s;
};

/* An empty table for cfg's limits. */
void admit_init(struct admit *a, const struct config *cfg);
/* Forgets every visitor. */
void admit_free(struct admit *a);

/*
 * Charges the site's request bucket (every TRACE, accepted or not: no site
 * gets free conntrack look-ups), then checks every other limit before any is
 * charged: the traces running in all (running) and their rate, the site's
 * share, and the visitor's address and prefixes. On ADMIT_OK held[] holds
 * its visitor and prefixes (NULL where a level does not apply), each charged
 * one running trace and one token. now is monotonic, in microseconds.
 */
enum admit_verdict admit_take(struct admit *a, struct admit_site *site, int running,
    const struct tt_addr *client, uint64_t now, struct visitor *held[LIMIT_LEVELS],
    struct admit_busy *busy);

/*
 * Releases what admit_take charged (site may be NULL); with refund, gives
 * back the rate tokens too, for a trace the engine refused, so that bogus
 * requests cannot empty the buckets of a visitor or of all. held[] is cleared.
 */
void admit_release(struct admit *a, struct admit_site *site, struct visitor *held[LIMIT_LEVELS],
    int refund, uint64_t now);

#endif
