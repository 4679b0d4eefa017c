/*
 * The helper's overload detector (docs/engine.md, "Overload"), pure: how long
 * a process's work waited for it over each interval — in the engine, queued
 * packets from the kernel's arrival stamp to their reading, timers from when
 * they were due to when they ran, the broker's records from their sending; in
 * the broker, the engine's records — and whether most of it waited longer
 * than a target. Each refuses new traces while its last interval says so.
 * Time comes in as an argument; nothing here reads a clock.
 */
#ifndef TT_HELPER_OVERLOAD_H
#define TT_HELPER_OVERLOAD_H

#include <stdbool.h>
#include <stdint.h>

/*
 * CoDel's interval and target (RFC 8289): a delay that lasts a whole 100 ms
 * is a standing queue, not a burst. The engine's target, 5 ms, is what a
 * traced connection's own packets may lose to us (a TCP loss probe waits two
 * round trips, more than 5 ms on any real path) and far above what an engine
 * with CPU to spare takes to read its queue (0.2-0.5 ms on the namespace lab).
 * The broker's records hold no packet: its lag delays only the lines a
 * visitor sees, and the engine never waits for it (main.c, ENGINE_SNDBUF).
 * Its target, 20 ms, is two fifths of the trace time issue 15 allows (p99 50
 * ms); at 5 ms it refused a third of a closed loop of 64 at once, a load the
 * lab sustains, whose answer to a refusal is only another request.
 */
#define OVERLOAD_INTERVAL_US	100000
#if defined(__SANITIZE_ADDRESS__)
/*
 * A sanitized build (./configure --enable-sanitizers) runs several times
 * slower: its waits say that, not that the machine is past its capacity.
 * The sanitizer stage of CI runs every system test with it (docs/testing.md).
 */
#define OVERLOAD_SLOWER		10
#else
#define OVERLOAD_SLOWER		1
#endif
#define OVERLOAD_TARGET_US	(5000 * OVERLOAD_SLOWER)
#define OVERLOAD_BROKER_TARGET_US	(20000 * OVERLOAD_SLOWER)
/*
 * An interval with fewer waits than this says nothing either way: so little
 * work is not what slows the engine (another program is), and refusing
 * traces would not speed it up. 16 in 100 ms is about one trace's packets.
 */
#define OVERLOAD_MIN_WAITS	16
/* retry= of a refusal: the verdict is renewed every interval, and a trace takes ms. */
#define OVERLOAD_RETRY_S	1

struct overload {
	uint64_t target_us;	/* a wait longer than this is late */
	uint64_t start_us;	/* the interval being measured began then */
	uint32_t waits;		/* in it: waits seen */
	uint32_t late;		/* of them, longer than the target */
	bool was_late;		/* the last whole interval had most of its waits late */
	bool over;		/* overloaded: it and the one before, or overloaded before it */
	uint64_t intervals_over;	/* intervals overloaded since the start */
};

/*
 * Not overloaded, its first interval beginning at now (µs, monotonic), late
 * past target_us (OVERLOAD_TARGET_US, OVERLOAD_BROKER_TARGET_US).
 */
void overload_init(struct overload *o, uint64_t now, uint64_t target_us);

/* A piece of work (a queued packet, a timer) waited wait_us for the engine; now is when it ran. */
void overload_wait(struct overload *o, uint64_t wait_us, uint64_t now);

/*
 * Overloaded now? From the second whole interval in a row with more than half
 * its waits (and at least OVERLOAD_MIN_WAITS of them) longer than the target,
 * until an interval that has not. An interval with nothing to do (idle) ends it.
 */
bool overload_now(struct overload *o, uint64_t now);

#endif
