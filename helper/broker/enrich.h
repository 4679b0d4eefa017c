/*
 * Hop enrichment for the broker: INFO_URI_TEMPLATE look-ups through the
 * libcurl multi interface and reverse DNS names through c-ares, both driven
 * from the broker's own poll loop: nothing here ever blocks it.
 */
#ifndef TT_HELPER_BROKER_ENRICH_H
#define TT_HELPER_BROKER_ENRICH_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum enrich_kind {
	ENRICH_INFO = 0,	/* the INFO_URI_TEMPLATE service's JSON body */
	ENRICH_NAME,		/* the address's PTR name */
};

struct enrich_cfg {
	const char *uri_template;	/* "" or NULL: no info look-ups */
	bool names;			/* reverse DNS on */
	bool skip_private;		/* private, loopback, documentation addresses: no look-up */
	uint64_t connect_timeout_ms;	/* info: connect (1000) */
	uint64_t timeout_ms;		/* info: the whole request (2000); names: the query */
	size_t max_bytes;		/* info: a larger body fails the look-up (65536) */
	int max_requests;		/* info requests at once; more wait their turn (16) */
	int max_jobs;			/* look-ups queued or running at once, both kinds; 0: no ceiling */
	const char *dns_server;		/* "" or NULL: the system's resolvers */
};

/*
 * A look-up ended. ok false: it failed (why says how, for the log), data
 * NULL. ok true: data is the body (INFO, len bytes, NOT validated as JSON:
 * the caller does) or the name (NAME, a checked DNS name, NUL-terminated).
 * done may call enrich_start (a's look-up has ended: a new one starts), but
 * not enrich_free.
 */
typedef void (*enrich_done_fn)(void *ctx, enum enrich_kind kind, const struct tt_addr *a,
    bool ok, const char *data, size_t len, const char *why);

struct enrich;

/* NULL with a message in err if libcurl or c-ares cannot be set up. */
struct enrich *enrich_new(const struct enrich_cfg *cfg, enrich_done_fn done, void *ctx,
    char *err, size_t errlen);
/* Cancels everything running, without calling done. enrich_free(NULL) is harmless. */
void enrich_free(struct enrich *e);

/*
 * Starts a look-up of a unless one of that kind for a is running or queued
 * (then nothing happens: its done will come). Returns 1 if one is now
 * running or queued for a, 0 if this kind is off, a is skipped (private
 * addresses with skip_private) or max_jobs look-ups are queued or running
 * already, -1 on failure (done is not called).
 */
int enrich_start(struct enrich *e, enum enrich_kind kind, const struct tt_addr *a);
/*
 * Drops a's queued look-up of that kind, one that nobody waits for any
 * more: 1 if it was queued (its done never comes), 0 if there is none or
 * it runs already (its done comes).
 */
int enrich_cancel(struct enrich *e, enum enrich_kind kind, const struct tt_addr *a);
/* Look-ups refused since enrich_new because max_jobs were queued or running. */
unsigned long enrich_refused(const struct enrich *e);
/* Look-ups running or queued. */
int enrich_pending(const struct enrich *e);

/*
 * The poll loop: enrich_pollfds fills at most n entries with the sockets
 * libcurl and c-ares wait on and returns how many; after poll, enrich_events
 * gets the same entries with their revents (and must be called even when
 * none is ready, once enrich_timeout_ms has passed). done is called from
 * enrich_events only.
 */
int enrich_pollfds(struct enrich *e, struct pollfd *pfd, int n);
/*
 * How many entries enrich_pollfds would fill now (it changes with every
 * call into this module): the room to make before calling it. With less
 * room, enrich_events checks the sockets left out itself, without waiting,
 * and enrich_timeout_ms is at most 10 ms: correct, but slower.
 */
int enrich_nfds(const struct enrich *e);
void enrich_events(struct enrich *e, const struct pollfd *pfd, int n);
/* ms until enrich_events must run though no socket is ready; -1: no timer. */
int enrich_timeout_ms(struct enrich *e);

/* Pure, for tests too. */
/* The URL for a: {ip} replaced (IPv6 colons as %3A, as the original); -1 if it does not fit. */
int enrich_url(const char *tmpl, const struct tt_addr *a, char *buf, size_t len);
/* Private (RFC 1918, ULA), loopback, link-local, shared (100.64/10) or documentation addresses. */
bool enrich_addr_private(const struct tt_addr *a);

#endif
