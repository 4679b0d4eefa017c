/* The broker's limits as pure functions (limit.h). */
#include "limit.h"

#include <sys/socket.h>

static void
bucket_fill(struct bucket *k, uint64_t rate, uint64_t burst, uint64_t now)
{
	uint64_t el = now - k->stamp_us, cap = burst * 1000000;

	/* A bucket idle for an hour is full whatever the rate: no overflow below. */
	if (k->stamp_us == 0 || now < k->stamp_us || el > 3600ULL * 1000000)
		k->level = cap;
	else if (k->level < cap)
		k->level = k->level + el * rate > cap ? cap : k->level + el * rate;
	k->stamp_us = now;
}

int
bucket_wait(struct bucket *k, uint64_t rate, uint64_t burst, uint64_t now)
{
	uint64_t us;

	bucket_fill(k, rate, burst, now);
	if (k->level >= 1000000)
		return 0;
	us = (1000000 - k->level + rate - 1) / rate;	/* µs until the token is whole */
	return (int)((us + 999999) / 1000000);
}

void
bucket_take(struct bucket *k)
{
	k->level = k->level >= 1000000 ? k->level - 1000000 : 0;
}

void
bucket_give(struct bucket *k, uint64_t burst)
{
	uint64_t cap = burst * 1000000;

	k->level = k->level + 1000000 > cap ? cap : k->level + 1000000;
}

int
limit_bits(int family, enum limit_level level)
{
	static const int v4[LIMIT_LEVELS] = { 32, 0, 24 }, v6[LIMIT_LEVELS] = { 64, 56, 48 };

	if (level < 0 || level >= LIMIT_LEVELS)
		return 0;
	return family == AF_INET6 ? v6[level] : v4[level];
}

int
limits_check(struct limit_check *l, int n, int running_retry, uint64_t now, const char **why)
{
	int w;

	for (int i = 0; i < n; i++) {
		if (l[i].max > 0 && l[i].running >= l[i].max) {
			*why = l[i].why;
			return running_retry;
		}
		if (l[i].rate != NULL && (w = bucket_wait(l[i].rate, l[i].per_s, l[i].burst, now)) > 0) {
			*why = l[i].why_rate;
			return w;
		}
	}
	return 0;
}

int
limit_site_max(int max_traces, int share)
{
	int m = (int)((int64_t)max_traces * share / 100);

	return m > 0 ? m : 1;
}
