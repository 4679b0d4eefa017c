/* The helper's overload detector (overload.h), pure. */
#include "overload.h"

void
overload_init(struct overload *o, uint64_t now, uint64_t target_us)
{
	o->target_us = target_us;
	o->start_us = now;
	o->waits = o->late = 0;
	o->over = o->was_late = false;
	o->intervals_over = 0;
}

/*
 * Closes the interval once it has lasted OVERLOAD_INTERVAL_US, and judges it
 * late when most of its waits exceeded the target. Not the least wait, as
 * CoDel takes at its queue's head: the engine empties its queue at every read,
 * so the last packet of each read waited next to nothing (measured: at most
 * 0.3 ms in nearly every interval with most packets waiting 5-80 ms). A whole
 * interval since it with no work at all means the process was idle, whatever
 * the closed one said.
 *
 * Overloaded from the second late interval in a row, for as long as they stay
 * late: as CoDel acts only on a delay that lasted a whole interval. One late
 * interval is a burst: 32 traces starting at once (a closed loop's first
 * round), or the engine handing the broker a hundred hops in one go, which it
 * stores one by one; refusing for it turned away 550 of 600 requests of such
 * a loop, at half the rate the lab sustains.
 */
static void
overload_roll(struct overload *o, uint64_t now)
{
	bool late;

	if (now < o->start_us)
		o->start_us = now;
	if (now - o->start_us < OVERLOAD_INTERVAL_US)
		return;
	late = now - o->start_us < 2 * (uint64_t)OVERLOAD_INTERVAL_US &&
	    o->waits >= OVERLOAD_MIN_WAITS && (uint64_t)o->late * 2 > o->waits;
	o->over = late && (o->over || o->was_late);
	o->was_late = late;
	if (o->over)
		o->intervals_over++;
	o->start_us = now;
	o->waits = o->late = 0;
}

void
overload_wait(struct overload *o, uint64_t wait_us, uint64_t now)
{
	overload_roll(o, now);
	if (o->waits == UINT32_MAX)
		return;
	o->waits++;
	if (wait_us > o->target_us)
		o->late++;
}

bool
overload_now(struct overload *o, uint64_t now)
{
	overload_roll(o, now);
	return o->over;
}
