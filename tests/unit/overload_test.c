/*
 * The overload detector (helper/overload.c) with a fake clock: two intervals
 * in a row of waits mostly over the target make the next one refuse, one
 * alone (a burst) or the fresh tail of each read does not, too few waits say
 * nothing, and an interval back under the target, or idle, ends it. Then how
 * late the loop came to its timers (engine_timer_lag in engine.c).
 */
#include <stdbool.h>

#include "engine.h"
#include "overload.h"
#include "tap.h"

#define MS	1000ULL
#define T0	(1000 * 1000 * MS)	/* the engine started at 1000 s */
#define IV	((uint64_t)OVERLOAD_INTERVAL_US)
/* Waits as multiples of the target: a sanitized build's target is ten times this one's. */
#define TARGET	((uint64_t)OVERLOAD_TARGET_US)

/* n waits of wait_us each, spread over [from, from + IV). */
static void
waits(struct overload *o, uint64_t from, int n, uint64_t wait_us)
{
	for (int i = 0; i < n; i++)
		overload_wait(o, wait_us, from + (uint64_t)i * (IV - 1) / (uint64_t)n);
}

/* Interval k (from T0 + k IV): n waits of wait_us, then fresh ones of 10 us. */
static void
interval(struct overload *o, int k, int n, uint64_t wait_us, int fresh)
{
	waits(o, T0 + (uint64_t)k * IV, n, wait_us);
	waits(o, T0 + (uint64_t)k * IV + 1, fresh, 10);
}

/* Overloaded once interval k is over? */
static bool
after(struct overload *o, int k)
{
	return overload_now(o, T0 + (uint64_t)(k + 1) * IV);
}

static void
test_standing(void)
{
	struct overload o;

	overload_init(&o, T0, TARGET);
	ok(!overload_now(&o, T0), "a new engine is not overloaded");
	interval(&o, 0, 100, 200, 0);
	ok(!after(&o, 0), "100 packets read within 0.2 ms: not overloaded");
	interval(&o, 1, 100, TARGET * 12 / 5, 0);
	ok(!overload_now(&o, T0 + IV + IV / 2),
	    "waits of 12 ms: the interval that saw them is not over yet, nothing changes");
	ok(!after(&o, 1), "one whole interval of them: a burst, not overloaded yet");
	interval(&o, 2, 100, TARGET * 12 / 5, 0);
	ok(after(&o, 2), "a second in a row: overloaded");
	is_int(o.intervals_over, 1, "one interval counted overloaded");
	ok(overload_now(&o, T0 + 3 * IV + IV / 2), "... for the whole next interval");
	interval(&o, 3, 100, TARGET * 12 / 5, 0);
	ok(after(&o, 3), "a third: still overloaded");
	/* The traces running go on: their packets, read promptly now, clear it. */
	interval(&o, 4, 50, 1 * MS, 0);
	ok(!after(&o, 4), "an interval whose waits are back under 5 ms ends it");
	is_int(o.intervals_over, 2, "two intervals counted overloaded");
	interval(&o, 5, 100, TARGET * 12 / 5, 0);
	ok(!after(&o, 5), "one late interval after it: not overloaded again yet");
	interval(&o, 6, 100, TARGET * 12 / 5, 0);
	ok(after(&o, 6), "two: overloaded again");
}

static void
test_bursts(void)
{
	struct overload o;

	/* Late intervals between prompt ones, as 32 traces starting at once make them. */
	overload_init(&o, T0, TARGET);
	for (int k = 0; k < 10; k++) {
		interval(&o, k, 100, k % 2 ? 200 : TARGET * 30 / 5, 0);
		if (after(&o, k))
			break;
	}
	is_int(o.intervals_over, 0, "every other interval late: never overloaded");
}

static void
test_median(void)
{
	struct overload o;

	/*
	 * The engine empties its queue at every read: the last packets read waited
	 * next to nothing even when most waited long. CoDel's least wait would miss it.
	 */
	overload_init(&o, T0, TARGET);
	interval(&o, 0, 60, TARGET * 20 / 5, 40);
	interval(&o, 1, 60, TARGET * 20 / 5, 40);
	ok(after(&o, 1), "60 of 100 waits over the target, 40 fresh, twice: overloaded");

	overload_init(&o, T0, TARGET);
	interval(&o, 0, 50, TARGET * 20 / 5, 50);
	interval(&o, 1, 50, TARGET * 20 / 5, 50);
	ok(!after(&o, 1), "exactly half over the target: not overloaded");

	overload_init(&o, T0, TARGET);
	interval(&o, 0, 100, TARGET, 0);
	interval(&o, 1, 100, TARGET, 0);
	ok(!after(&o, 1), "waits of exactly the target: not overloaded");
	interval(&o, 2, 100, TARGET + 1, 0);
	interval(&o, 3, 100, TARGET + 1, 0);
	ok(after(&o, 3), "waits 1 us over it: overloaded");

	/* A burst: one read of 30 answers took 40 ms, everything else was prompt. */
	overload_init(&o, T0, TARGET);
	interval(&o, 0, 30, TARGET * 40 / 5, 200);
	interval(&o, 1, 30, TARGET * 40 / 5, 200);
	ok(!after(&o, 1), "30 late packets among 230 in each interval: not overloaded");
}

static void
test_few(void)
{
	struct overload o;

	overload_init(&o, T0, TARGET);
	interval(&o, 0, OVERLOAD_MIN_WAITS - 1, TARGET * 50 / 5, 0);
	interval(&o, 1, OVERLOAD_MIN_WAITS - 1, TARGET * 50 / 5, 0);
	ok(!after(&o, 1), "%d waits of 50 ms an interval: too few to say", OVERLOAD_MIN_WAITS - 1);
	interval(&o, 2, OVERLOAD_MIN_WAITS, TARGET * 50 / 5, 0);
	interval(&o, 3, OVERLOAD_MIN_WAITS, TARGET * 50 / 5, 0);
	ok(after(&o, 3), "%d of them: overloaded", OVERLOAD_MIN_WAITS);
}

static void
test_idle(void)
{
	struct overload o;

	overload_init(&o, T0, TARGET);
	interval(&o, 0, 100, TARGET * 30 / 5, 0);
	interval(&o, 1, 100, TARGET * 30 / 5, 0);
	ok(after(&o, 1), "overloaded");
	/* The load stopped at once: no packet, no timer, until a new trace asks. */
	ok(!overload_now(&o, T0 + 4 * IV),
	    "a whole interval since with nothing to do: not overloaded");
	is_int(o.intervals_over, 1, "the idle time is not counted overloaded");

	overload_init(&o, T0, TARGET);
	interval(&o, 0, 100, TARGET * 30 / 5, 0);
	interval(&o, 1, 100, TARGET * 30 / 5, 0);
	ok(!overload_now(&o, T0 + 3 * IV + 1),
	    "a request after an idle interval: the old verdict is not used");

	overload_init(&o, T0, TARGET);
	ok(!overload_now(&o, T0 - 5 * MS),
	    "a time before the interval's start (a clock that went back) is harmless");
}

static void
test_timer_lag(void)
{
	uint64_t lag = 0;

	ok(engine_timer_lag(T0, 3, T0 + 2500, T0 + 3 * MS + 200, &lag) && lag == 200,
	    "a poll of 3 ms (the timer rounded up) woke 0.2 ms after it: 0.2 ms late");
	ok(engine_timer_lag(T0, 3, T0 + 2500, T0 + 3 * MS, &lag) && lag == 0,
	    "woke on time: no lateness, the rounding up is ours");
	ok(!engine_timer_lag(T0, 3, T0 + 2500, T0 + 1 * MS, &lag),
	    "woke early for a packet: no timer was due");
	ok(engine_timer_lag(T0, 0, T0 - 7 * MS, T0 + 1 * MS, &lag) && lag == 8 * MS,
	    "a timer due before the poll began: late since it was due");
	ok(!engine_timer_lag(T0, -1, UINT64_MAX, T0 + 50 * MS, &lag), "no timer at all: nothing late");
}

int
main(void)
{
	test_standing();
	test_bursts();
	test_median();
	test_few();
	test_idle();
	test_timer_lag();
	return tap_done();
}
