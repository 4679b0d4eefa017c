/*
 * helper/engine/engine.c's pure parts: the time the timers run at after a read of
 * the queue (engine_seen_until), so that a flood that fills a round never
 * makes a hop whose answer still waits in the queue look silent.
 */
#include "engine.h"
#include "tap.h"

#define MS	1000ULL
#define T0	(1000 * 1000 * MS)	/* a read that began at 1000 s */

static void
test_seen_until(void)
{
	is_int(engine_seen_until(T0, true, T0 - 5 * MS), T0,
	    "a read that emptied the queue saw everything up to its start");
	is_int(engine_seen_until(T0, true, 0), T0, "... even with no packet read");
	/*
	 * A round stopped at its bound: packets that came after the last one read
	 * are still queued, answers among them. A hop due at T0 - 2 ms must not
	 * settle while the round has only reached T0 - 5 ms.
	 */
	is_int(engine_seen_until(T0, false, T0 - 5 * MS), T0 - 5 * MS,
	    "a round that stopped at its bound: the last packet's arrival");
	ok(engine_seen_until(T0, false, T0 - 5 * MS) < T0 - 2 * MS,
	    "so a timeout between that arrival and the read's start does not fire yet");
	is_int(engine_seen_until(T0, false, T0 + 3 * MS), T0,
	    "an arrival stamped after the read began (clock skew): never later than the read");
	is_int(engine_seen_until(T0, false, T0), T0, "an arrival at the read's start: that time");
}

int
main(void)
{
	test_seen_until();
	return tap_done();
}
