/*
 * The engine's memory of recent traces' measured hops (docs/engine.md, "ICMP
 * budget and reuse"): which router answered at each TTL toward this server,
 * and when. It decides how many probes a TTL is worth, and which recent
 * answer a silent hop may show, marked reused. Pure and bounded: a ring of
 * fixed size, time comes in as an argument.
 */
#ifndef TT_HELPER_ENGINE_HOPMEM_H
#define TT_HELPER_ENGINE_HOPMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define HOPMEM_TRACES	1024	/* finished traces remembered; the oldest give way */
#define HOPMEM_TTLS	32	/* TTLs remembered of each; near the server is what matters */
/* An answer older than this is never used: paths change. */
#define HOPMEM_AGE_US	(600ULL * 1000000)
/*
 * "Moments ago": a Linux router's default limit refills one answer a second
 * toward one destination (this server) after a burst of 6, so a router that
 * answered less than a second ago has most likely nothing left to spend.
 */
#define HOPMEM_RECENT_US 1000000ULL
/* How long a router seen rate-limiting is asked with one probe a trace. */
#define HOPMEM_LIMITED_US (10ULL * 1000000)

/* One TTL of a trace, as measured (never reused). */
struct hopmem_hop {
	struct tt_addr addr;	/* who answered: the visitor's own answer if any; family 0: nobody */
	uint64_t at_us;		/* when its latest answer came */
	uint8_t sent;		/* probes sent with this TTL */
	uint8_t answered;	/* of them, answered in time */
	bool dest;		/* the visitor answered here */
};

/* One trace's measured hops toward server (whose family is the trace's). */
struct hopmem_trace {
	struct tt_addr server;
	uint64_t at_us;		/* when it was recorded */
	int nttl;		/* TTLs 1..nttl are filled (at most HOPMEM_TTLS) */
	struct hopmem_hop hop[HOPMEM_TTLS + 1];	/* by TTL; [0] unused: the server itself */
};

/*
 * What the budget asks of the ring, kept per server address as traces are
 * recorded: asked per TTL of every trace, a scan of the ring cost the engine
 * a tenth of its time at 1,200 traces a second.
 */
struct hopmem_budget {
	struct tt_addr server;
	uint64_t router_us[HOPMEM_TTLS + 1];	/* a router's latest answer at each TTL */
	uint64_t limited_us[HOPMEM_TTLS + 1];	/* the latest trace that found it limiting */
	uint64_t used_us;			/* the latest trace recorded: the oldest gives way */
};
#define HOPMEM_SERVERS	64	/* server addresses budgeted; a host has a few */

struct hopmem {
	int n, next;		/* a ring, newest at next - 1 */
	struct hopmem_trace ring[HOPMEM_TRACES];
	int nbudgets;
	struct hopmem_budget budgets[HOPMEM_SERVERS];
};

/* A new, empty memory (1.3 MiB, touched as it fills), or NULL (errno set). */
struct hopmem *hopmem_new(void);
/* hopmem_free(NULL) is harmless. */
void hopmem_free(struct hopmem *m);

/* Remembers a finished trace's measured hops (copied; one that measured nothing is not kept). */
void hopmem_record(struct hopmem *m, const struct hopmem_trace *t);

/*
 * Is one probe enough for TTL ttl of a trace toward server, now? Yes when a
 * router answered there less than HOPMEM_RECENT_US ago (it has most likely
 * no answer left to spend), or when within HOPMEM_LIMITED_US a router
 * answered there and a trace found it rate-limiting: some of its probes
 * unanswered while a TTL beyond it answered. A probe that goes unanswered
 * costs a router nothing; the second and third of a trace spend answers the
 * next traces need.
 */
bool hopmem_one_probe(const struct hopmem *m, const struct tt_addr *server, int ttl,
    uint64_t now_us);

/*
 * A remembered answer for TTL ttl, which the trace cur (its hops measured so
 * far, server set) reports with no answer: from the newest remembered trace
 * toward the same server, within HOPMEM_AGE_US, that measured a router at
 * ttl and holds the same addresses as cur at the TTLs around ttl that cur
 * measured: the nearest answered TTL below it (none: the server itself,
 * which always matches) and the nearest above it (the visitor's own hop
 * included). Without an answered TTL above in cur, nothing is reused: the
 * router at ttl may be another one then (ECMP, a changed path). Returns
 * true with *addr and *age_us (how long ago it answered) filled in.
 */
bool hopmem_reuse(const struct hopmem *m, const struct hopmem_trace *cur, int ttl,
    uint64_t now_us, struct tt_addr *addr, uint64_t *age_us);

#endif
