/*
 * The app's live-trace slots: how many of its threads may hold a live trace
 * at once. A few more threads answer everything else, a trace request beyond
 * the slots with 503 at once, so that no request waits in the web server's
 * backlog for a thread while every thread holds a trace (docs/fcgi.md,
 * "Overload"). Shared by every thread: atomics, no lock.
 */
#ifndef TT_FCGI_SLOTS_H
#define TT_FCGI_SLOTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Retry-After of a request refused for want of a slot: a live trace takes milliseconds. */
#define SLOTS_RETRY_S		1
/* A log line about refusals at most this often (s), with the count so far. */
#define SLOTS_LOG_S		10

struct slots {
	int max;			/* live traces at once */
	atomic_int used;
	atomic_ullong refused;		/* trace requests refused for want of a slot */
	atomic_llong logged_s;		/* when a refusal was last logged; 0: never */
};

/* Slots for max live traces at once. */
void slots_init(struct slots *s, int max);

/*
 * The threads the app runs beside max live traces: half as many more, at
 * least one, which answer everything else (a trace beyond max with 503) while
 * every slot holds a trace. An eighth more were too few at twice the rate the
 * lab sustains: up to 64 requests waited for one in the web server's backlog,
 * and 503s took 101-158 ms (p99) against 31-57 ms with half.
 */
int slots_threads(int max);

/* Takes a slot: true, or false when all are taken (counted in refused). */
bool slots_take(struct slots *s);
/* Gives back a slot slots_take gave. */
void slots_give(struct slots *s);

/*
 * Whether a refusal at now_s (any clock in seconds) should be logged: true for
 * one caller at most every SLOTS_LOG_S seconds, whatever the threads.
 */
bool slots_log_due(struct slots *s, int64_t now_s);

#endif
