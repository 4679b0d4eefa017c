/* The helper's overload detector (overload.h), pure. */
#include "overload.h"

void
overload_init(struct overload *o, uint64_t now)
{
	o->start_us = now;
	o->waits = o->late = 0;
	o->over = false;
	o->intervals_over = 0;
}

/*
 * Closes the interval once it has lasted OVERLOAD_INTERVAL_US: its verdict
 * holds until the next one closes. Not the least wait, as CoDel takes at its
 * queue's head: the engine empties its queue at every read, so the last packet
 * of each read waited next to nothing (measured: at most 0.3 ms in nearly every
 * interval with most packets waiting 5-80 ms). A whole interval since it with
 * no work at all means the process was idle, whatever the closed one said.
 */
static void
overload_roll(struct overload *o, uint64_t now)
{
	if (now < o->start_us)
		o->start_us = now;
	if (now - o->start_us < OVERLOAD_INTERVAL_US)
		return;
	o->over = now - o->start_us < 2 * (uint64_t)OVERLOAD_INTERVAL_US &&
	    o->waits >= OVERLOAD_MIN_WAITS && (uint64_t)o->late * 2 > o->waits;
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
	if (wait_us > OVERLOAD_TARGET_US)
		o->late++;
}

bool
overload_now(struct overload *o, uint64_t now)
{
	overload_roll(o, now);
	return o->over;
}
