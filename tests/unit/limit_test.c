/*
 * helper/broker/limit.c: token buckets with time as an argument, the levels a
 * visitor is limited by, and limits_check's order and answers.
 */
#include <string.h>
#include <sys/socket.h>

#include "limit.h"
#include "tap.h"
#include "fixtures.h"

#define S	1000000ULL	/* a second in µs */

static void
test_bucket(void)
{
	struct bucket k;
	uint64_t t0 = 10 * S;

	memset(&k, 0, sizeof(k));
	/* rate 1, burst 3: three at once, then one a second. */
	for (int i = 0; i < 3; i++) {
		is_int(bucket_wait(&k, 1, 3, t0), 0, "a fresh bucket gives token %d at once", i + 1);
		bucket_take(&k);
	}
	is_int(bucket_wait(&k, 1, 3, t0), 1, "the 4th waits 1 s");
	is_int(bucket_wait(&k, 1, 3, t0 + S / 2), 1, "half a second later still 1 s (rounded up)");
	is_int(bucket_wait(&k, 1, 3, t0 + S), 0, "a second later, one token");
	bucket_take(&k);
	bucket_give(&k, 3);
	is_int(bucket_wait(&k, 1, 3, t0 + S), 0, "a token given back can be taken again");
	for (int i = 0; i < 10; i++)
		bucket_give(&k, 3);
	for (int i = 0; i < 3; i++)
		bucket_take(&k);
	is_int(bucket_wait(&k, 1, 3, t0 + S), 1, "giving back never fills beyond the burst");
	is_int(bucket_wait(&k, 1, 3, t0 + 2 * 3600 * S), 0, "an idle hour fills it");
	is_int(bucket_wait(&k, 1, 3, t0), 0, "a clock that went back does not wrap");
}

static void
test_levels(void)
{
	struct tt_addr a = fx_addr("2001:db8:77:1234:5678::1"), b = fx_addr("2001:db8:77:ff00::1");
	struct tt_addr ka, kb;

	is_int(limit_bits(AF_INET, LIMIT_VISITOR), 32, "IPv4 visitor: the address");
	is_int(limit_bits(AF_INET, LIMIT_SUBNET), 0, "IPv4: no /56 level");
	is_int(limit_bits(AF_INET, LIMIT_PREFIX), 24, "IPv4 prefix: /24");
	is_int(limit_bits(AF_INET6, LIMIT_VISITOR), 64, "IPv6 visitor: /64");
	is_int(limit_bits(AF_INET6, LIMIT_SUBNET), 56, "IPv6 subnet: /56");
	is_int(limit_bits(AF_INET6, LIMIT_PREFIX), 48, "IPv6 prefix: /48");
	addr_mask(&a, limit_bits(AF_INET6, LIMIT_VISITOR), &ka);
	addr_mask(&b, limit_bits(AF_INET6, LIMIT_VISITOR), &kb);
	ok(!addr_equal(&ka, &kb), "two /64s of one /48 are two visitors");
	addr_mask(&a, limit_bits(AF_INET6, LIMIT_PREFIX), &ka);
	addr_mask(&b, limit_bits(AF_INET6, LIMIT_PREFIX), &kb);
	ok(addr_equal(&ka, &kb), "but one prefix");
	is_int(limit_site_max(64, 75), 48, "a site's share: 75%% of 64");
	is_int(limit_site_max(1, 50), 1, "at least one trace");
}

/*
 * Many /64s of one /48, each within its own limits, one trace a second
 * each: the /48's rate (3, bursts of 9) refuses the 10th.
 */
static void
test_prefix_rate(void)
{
	struct bucket visitor[12], prefix;
	const char *why = NULL;
	int w = 0, i;

	memset(visitor, 0, sizeof(visitor));
	memset(&prefix, 0, sizeof(prefix));
	for (i = 0; i < 12; i++) {
		struct limit_check l[2] = {
			{ "run-v", "rate-v", 0, 2, &visitor[i], 1, 3 },
			{ "run-p", "rate-p", 0, 16, &prefix, 3, 9 },
		};

		if ((w = limits_check(l, 2, 5, 5 * S, &why)) > 0)
			break;
		bucket_take(&visitor[i]);
		bucket_take(&prefix);
	}
	is_int(i, 9, "nine /64s of one /48 start a trace each, the 10th is refused");
	is_int(w, 1, "retry in 1 s");
	is_str(why, "rate-p", "by the prefix's rate");
}

static void
test_check(void)
{
	struct bucket full, empty;
	struct limit_check l[3];
	const char *why = NULL;

	memset(&full, 0, sizeof(full));
	memset(&empty, 0, sizeof(empty));
	bucket_wait(&empty, 1, 1, S);
	bucket_take(&empty);
	l[0] = (struct limit_check){ "run-a", "rate-a", 3, 4, &full, 1, 1 };
	l[1] = (struct limit_check){ "run-b", "rate-b", 0, 0, NULL, 0, 0 };
	l[2] = (struct limit_check){ "run-c", "rate-c", 1, 1, &empty, 1, 1 };
	is_int(limits_check(l, 3, 5, S, &why), 5, "a cap on running traces: retry 5");
	is_str(why, "run-c", "and its reason");
	l[2].running = 0;
	is_int(limits_check(l, 3, 5, S, &why), 1, "an empty bucket: its wait");
	is_str(why, "rate-c", "and its reason");
	is_int(full.level, 1000000, "checking charged nothing");
	l[0].running = 4;
	is_int(limits_check(l, 3, 5, S, &why), 5, "the first limit reached decides");
	is_str(why, "run-a", "in order");
	l[0].running = 0;
	l[2].rate = &full;
	is_int(limits_check(l, 3, 5, S, &why), 0, "all allow");
}

int
main(void)
{
	test_bucket();
	test_levels();
	test_prefix_rate();
	test_check();
	return tap_done();
}
