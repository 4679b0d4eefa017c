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

#include "addr.h"
#include "proto.h"

struct config;
struct site_names;
struct store;
struct fleet;

/* What a GET, a HISTORY or a DELETE asks of the fleet's PostgreSQL (fleet_ask). */
struct fleet_ask {
	enum { FLEET_ASK_TRACE, FLEET_ASK_HISTORY, FLEET_ASK_DELETE } kind;
	char id[PROTO_ID_LEN + 1];	/* TRACE, DELETE: the trace; HISTORY: before=, or "" */
	char token[PROTO_ID_LEN + 1];	/* DELETE: the token the visitor gave */
	uid_t uid;			/* the asker: root sees all, others their site's */
	struct tt_addr client;		/* HISTORY: the visitor */
	int limit;			/* HISTORY: the page's traces (one more is asked for) */
	uint64_t serial;		/* fleet_ask's */
};

/*
 * Called when an ask has ended, by its serial: while it runs the traces
 * PostgreSQL had for it are in the store (the answer is read from there);
 * once it returns they are gone again. answered is false when the database
 * went away first.
 */
typedef void fleet_answered_fn(void *ctx, uint64_t serial, bool answered);

/*
 * A fleet for cfg's postgresql:// db, answered() told of each ask's end;
 * NULL (logged) if out of memory. Connects at fleet_tick.
 */
struct fleet *fleet_new(const struct config *cfg, struct site_names *names,
    fleet_answered_fn *answered, void *ctx);
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
/*
 * For STATUS: 1 while connected with the schema current, else 0; the
 * traces shipped and the connections dropped since the start.
 */
void fleet_counts(const struct fleet *f, uint64_t *connected, uint64_t *shipped,
    uint64_t *failures);
/* This server's name in the fleet (vantage, else its host name); "" without a fleet. */
const char *fleet_vantage(const struct fleet *f);
/*
 * Traces other servers of the fleet stored, a permalink's (to show or to
 * delete) or a visitor's history, as the asker may see them (root: any; else its site's only, by
 * the user's name): answered() is called with the serial returned once
 * they are in the store. 0 when it cannot ask now (not connected, too many
 * waiting): the store alone answers then.
 */
uint64_t fleet_ask(struct fleet *f, const struct fleet_ask *a);

/*
 * For --check-config: connects to uri (waiting up to timeout_s), and says
 * in msg which schema version the database has against this build's.
 * 0 when it is usable (current, or older and to be migrated), else -1.
 */
int fleet_check(const char *uri, int timeout_s, char *msg, size_t len);

#endif
