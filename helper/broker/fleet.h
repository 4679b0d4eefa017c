/*
 * A fleet's shared store (docs/fleet.md): finished traces go from the local
 * SQLite file, the journal, to PostgreSQL, with libpq's asynchronous API in
 * the broker's loop. The loop never waits on the database: down or slow,
 * traces still run and stream, and wait in the journal.
 */
#ifndef TT_HELPER_BROKER_FLEET_H
#define TT_HELPER_BROKER_FLEET_H

#include <sys/types.h>

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct store;
struct fleet;

/* Counters for STATUS and the log. */
struct fleet_stats {
	uint64_t shipped;	/* traces PostgreSQL took */
	uint64_t batches;	/* statements that shipped them */
	uint64_t errors;	/* connections lost or refused, statements failed */
	bool ready;		/* connected, schema current */
};

/*
 * Called when a fetch (fleet_fetch) has ended: the trace is in the store now
 * if PostgreSQL had it for uid, else not.
 */
typedef void fleet_fetched_fn(void *ctx, const char *id, uid_t uid);

/*
 * A fleet for cfg's postgresql:// db, fetched() told of each fetch's end;
 * NULL (logged) if out of memory. Connects at fleet_tick.
 */
struct fleet *fleet_new(const struct config *cfg, fleet_fetched_fn *fetched, void *ctx);
void fleet_free(struct fleet *f);
/* The socket to poll and for what, or -1 when there is none now. */
int fleet_pollfd(const struct fleet *f, short *events);
/* Its socket had revents: reads answers, sends what waits. */
void fleet_event(struct fleet *f, struct store *st, short revents);
/*
 * Connects again when due, and ships the next batch when idle and st has
 * no batch open (only committed traces leave). now_ms: CLOCK_MONOTONIC.
 */
void fleet_tick(struct fleet *f, struct store *st, uint64_t now_ms);
/* When fleet_tick wants to run again, monotonic ms; UINT64_MAX for never. */
uint64_t fleet_next_ms(const struct fleet *f);
void fleet_stats(const struct fleet *f, struct fleet_stats *out);
/* This server's name in the fleet (vantage, else its host name); "" without a fleet. */
const char *fleet_vantage(const struct fleet *f);
/*
 * A trace another server of the fleet stored: asks PostgreSQL for it, as
 * uid may see it (root: any; else its site's only, by the user's name),
 * and keeps it in the store; fetched() is called once that is over, found
 * or not. false when it cannot ask now (not connected, too many waiting):
 * the trace is unknown then.
 */
bool fleet_fetch(struct fleet *f, const char *id, uid_t uid);

/*
 * For --check-config: connects to uri (waiting up to timeout_s), and says
 * in msg which schema version the database has against this build's.
 * 0 when it is usable (current, or older and to be migrated), else -1.
 */
int fleet_check(const char *uri, int timeout_s, char *msg, size_t len);

#endif
