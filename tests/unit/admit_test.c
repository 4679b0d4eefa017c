/*
 * helper/broker/admit.c: the broker's admission of traces, with the time as an
 * argument: which limit refuses a trace and when to try again, what a trace
 * holds and what a refusal charges, and forgetting idle visitors.
 */
#include <string.h>
#include <sys/socket.h>

#include "admit.h"
#include "config.h"
#include "tap.h"
#include "fixtures.h"

#define S	1000000ULL	/* a second in µs */

static struct config cfg;
static struct admit ad;
static struct admit_site site;

/* A fresh table, site and settings (the defaults, then the test's). */
static void
reset(void)
{
	admit_free(&ad);
	config_defaults(&cfg);
	admit_init(&ad, &cfg);
	memset(&site, 0, sizeof(site));
}

/* admit_take for addr at now with running traces in all; the busy reason in *why. */
static enum admit_verdict
take(const char *addr, int running, uint64_t now, struct visitor *held[LIMIT_LEVELS],
    struct admit_busy *busy)
{
	struct tt_addr a = fx_addr(addr);

	memset(held, 0, LIMIT_LEVELS * sizeof(held[0]));
	memset(busy, 0, sizeof(*busy));
	return admit_take(&ad, &site, running, &a, now, held, busy);
}

static void
test_visitor_cap(void)
{
	struct visitor *h1[LIMIT_LEVELS], *h2[LIMIT_LEVELS], *h3[LIMIT_LEVELS];
	struct admit_busy busy;

	reset();
	is_int(take("192.0.2.1", 0, 10 * S, h1, &busy), ADMIT_OK, "a new visitor is admitted");
	ok(h1[LIMIT_VISITOR] != NULL && h1[LIMIT_SUBNET] == NULL && h1[LIMIT_PREFIX] != NULL,
	    "IPv4: it holds its address and its /24, no /56");
	is_int(h1[LIMIT_VISITOR]->running, 1, "its address counts one trace running");
	is_int(ad.nvisitors, 2, "two entries made");
	is_int(site.active, 1, "the site counts it");
	is_int(take("192.0.2.1", 1, 10 * S, h2, &busy), ADMIT_OK, "a second (client-max 2)");
	is_int(take("192.0.2.1", 2, 10 * S, h3, &busy), ADMIT_BUSY, "a third is refused");
	is_str(busy.why, "too many traces running for this address", "by the address's cap");
	is_int(busy.retry_s, 5, "retry in 5 s: a trace takes seconds");
	is_int(site.active, 2, "a refusal holds nothing");
	admit_release(&ad, &site, h1, 0, 10 * S);
	ok(h1[LIMIT_VISITOR] == NULL && h1[LIMIT_PREFIX] == NULL, "release clears what it held");
	is_int(site.active, 1, "and the site's count");
	is_int(take("192.0.2.1", 1, 10 * S, h3, &busy), ADMIT_OK, "one ended: another starts");
	is_int(h3[LIMIT_VISITOR]->running, 2, "two running again");
}

static void
test_visitor_rate(void)
{
	struct visitor *h[LIMIT_LEVELS];
	struct admit_busy busy;

	reset();
	/* client-rate 1, bursts of 3 */
	for (int i = 0; i < 3; i++) {
		is_int(take("198.51.100.7", 0, 10 * S, h, &busy), ADMIT_OK, "trace %d of a burst",
		    i + 1);
		admit_release(&ad, &site, h, 0, 10 * S);
	}
	is_int(take("198.51.100.7", 0, 10 * S, h, &busy), ADMIT_BUSY, "the 4th at once: refused");
	is_str(busy.why, "too many traces started for this address", "by the address's rate");
	is_int(busy.retry_s, 1, "retry in 1 s");
	is_int(take("198.51.100.7", 0, 11 * S, h, &busy), ADMIT_OK, "a second later it starts");
	admit_release(&ad, &site, h, 1, 11 * S);
	is_int(take("198.51.100.7", 0, 11 * S, h, &busy), ADMIT_OK,
	    "a trace the engine refused gave its token back");
}

static void
test_site(void)
{
	struct visitor *h[LIMIT_LEVELS];
	struct admit_busy busy;

	reset();
	cfg.site_rate = 1;	/* bursts of 2 */
	is_int(take("192.0.2.1", cfg.max_traces, 10 * S, h, &busy), ADMIT_BUSY,
	    "max-traces running: refused");
	is_str(busy.why, "too many traces running", "by the global cap");
	is_int(ad.nvisitors, 0, "no visitor made for a refused trace");
	is_int(take("198.51.100.1", 0, 10 * S, h, &busy), ADMIT_OK, "the next one starts");
	is_int(take("203.0.113.1", 0, 10 * S, h, &busy), ADMIT_BUSY,
	    "the third request in a second is refused: the refused one was charged too");
	is_str(busy.why, "too many requests from this site", "by site-rate");
	is_int(busy.retry_s, 1, "retry in 1 s");

	reset();
	cfg.max_traces = 4;
	cfg.site_share = 50;
	site.active = 2;
	is_int(take("192.0.2.1", 2, 10 * S, h, &busy), ADMIT_BUSY, "a site at its share: refused");
	is_str(busy.why, "too many traces running for this site", "by site-share");
	is_int(busy.retry_s, 5, "retry in 5 s");

	reset();
	cfg.global_rate = 1;	/* bursts of 2 */
	is_int(take("192.0.2.1", 0, 10 * S, h, &busy), ADMIT_OK, "global-rate 1: one");
	is_int(take("198.51.100.1", 0, 10 * S, h, &busy), ADMIT_OK, "two");
	is_int(take("203.0.113.1", 0, 10 * S, h, &busy), ADMIT_BUSY, "the third visitor waits");
	is_str(busy.why, "too many traces started", "by the global rate");
}

static void
test_ipv6_levels(void)
{
	struct visitor *h[LIMIT_LEVELS];
	struct admit_busy busy;

	reset();
	cfg.client_max = 10;
	cfg.subnet_max = 3;
	cfg.prefix_max = 4;
	is_int(take("2001:db8:1:100::1", 0, 10 * S, h, &busy), ADMIT_OK, "a /64 starts");
	ok(h[LIMIT_VISITOR] && h[LIMIT_SUBNET] && h[LIMIT_PREFIX], "IPv6: it holds /64, /56, /48");
	is_int(take("2001:db8:1:100::2", 1, 10 * S, h, &busy), ADMIT_OK, "another host, same /64");
	is_int(h[LIMIT_VISITOR]->running, 2, "counted against the same /64");
	is_int(take("2001:db8:1:1ff::1", 2, 10 * S, h, &busy), ADMIT_OK, "another /64 of the /56");
	is_int(h[LIMIT_SUBNET]->running, 3, "the /56 counts three");
	is_int(take("2001:db8:1:1ff::1", 3, 10 * S, h, &busy), ADMIT_BUSY, "the /56 is full");
	is_str(busy.why, "too many traces running for this /56", "by subnet-max");
	is_int(take("2001:db8:1:200::1", 3, 10 * S, h, &busy), ADMIT_OK, "another /56 of the /48");
	is_int(take("2001:db8:1:300::1", 4, 10 * S, h, &busy), ADMIT_BUSY, "the /48 is full");
	is_str(busy.why, "too many traces running for this network", "by prefix-max");
}

static void
test_prune(void)
{
	struct visitor *h[LIMIT_LEVELS], *kept[LIMIT_LEVELS];
	struct admit_busy busy;

	reset();
	take("192.0.2.1", 0, 10 * S, h, &busy);
	admit_release(&ad, &site, h, 0, 10 * S);
	take("198.51.100.1", 0, 10 * S, kept, &busy);
	is_int(ad.nvisitors, 4, "two visitors, two entries each");
	take("203.0.113.1", cfg.max_traces, 15 * S, h, &busy);
	is_int(ad.nvisitors, 2, "5 s later the idle one is forgotten, the running one kept");
	admit_release(&ad, &site, kept, 0, 15 * S);
	take("203.0.113.1", cfg.max_traces, 20 * S, h, &busy);
	is_int(ad.nvisitors, 0, "and once it ended and idled, it too");
}

int
main(void)
{
	test_visitor_cap();
	test_visitor_rate();
	test_site();
	test_ipv6_levels();
	test_prune();
	admit_free(&ad);
	return tap_done();
}
