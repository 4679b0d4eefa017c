/* Tests of common/util.c: hex digits, the clocks and a process's memory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* statm_rss from a file of statm's form, its second field in pages; 0 on error. */
static uint64_t
rss_of(const char *text)
{
	char path[] = "/tmp/tt-util-statm-XXXXXX";
	int fd = mkstemp(path);
	uint64_t rss;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return UINT64_MAX;
	unlink(path);
	rss = statm_rss(fd);
	/* Read again from the start: the same. */
	if (statm_rss(fd) != rss)
		rss = UINT64_MAX;
	close(fd);
	return rss;
}

static void
test_statm(void)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), rss;
	unsigned long long kb = 0;
	char line[256];
	FILE *fp;
	int fd;

	is_int((long long)rss_of("5000 25 3 1 0 100 0\n"), (long long)(25 * page),
	    "the second field, in pages");
	is_int((long long)rss_of("5000\n"), 0, "one field: 0");
	is_int((long long)rss_of("5000 x 3\n"), 0, "not a number: 0");
	is_int((long long)rss_of(""), 0, "empty: 0");
	is_int((long long)statm_rss(-1), 0, "no file: 0");
	/* This process's, against /proc/self/status's VmRSS (kB): within a few pages of it. */
	fd = open("/proc/self/statm", O_RDONLY);
	rss = statm_rss(fd);
	if (fd >= 0)
		close(fd);
	if ((fp = fopen("/proc/self/status", "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL)
			if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
				break;
		fclose(fp);
	}
	ok(rss > 0 && kb > 0 && rss / 1024 + 64 >= kb && kb + 64 >= rss / 1024,
	    "this process's: %llu kB, VmRSS %llu kB", (unsigned long long)(rss / 1024),
	    (unsigned long long)kb);
}

int
main(void)
{
	test_hex_digit();
	test_clocks();
	test_statm();
	return tap_done();
}
