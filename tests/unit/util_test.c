/* Tests of common/util.c: hex digits and the clocks. */
#include <string.h>
#include <time.h>

#include "tap.h"
#include "util.h"

static void
test_hex_digit(void)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
	int all = 1;

	for (int i = 0; i < 16; i++)
		all &= hex_digit(lower[i]) == i && hex_digit(upper[i]) == i;
	ok(all, "0-9, a-f and A-F are their values");
	/* Neighbours of the ranges, and bytes of UTF-8 (negative as char). */
	all = 1;
	for (int c = -128; c < 128; c++)
		if (strchr("0123456789abcdefABCDEF", c) == NULL || c == 0)
			all &= hex_digit((char)c) == -1;
	ok(all, "every other byte is -1 ('/', ':', '@', 'G', '`', 'g', NUL, 0x80-0xff)");
}

static void
test_clocks(void)
{
	struct timespec ts;
	uint64_t us, ms, real_ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	us = time_us(CLOCK_MONOTONIC);
	ms = time_ms(CLOCK_MONOTONIC);
	ok(us >= (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000 &&
	    us - ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000) < 1000000,
	    "time_us: CLOCK_MONOTONIC in microseconds");
	ok(ms >= us / 1000 && ms - us / 1000 < 1000, "time_ms: the same clock in milliseconds");
	/*
	 * time() reads the coarse clock, which lags up to a tick behind: just
	 * past a whole second it may still say the one before (CI saw it).
	 */
	real_ms = time_ms(CLOCK_REALTIME);
	ok(real_ms / 1000 + 1 >= (uint64_t)time(NULL) && real_ms / 1000 <= (uint64_t)time(NULL) + 1,
	    "time_ms: CLOCK_REALTIME is the epoch's");
	ok(time_us(CLOCK_REALTIME) / 1000 >= real_ms, "time_us: CLOCK_REALTIME too");
}

int
main(void)
{
	test_hex_digit();
	test_clocks();
	return tap_done();
}
