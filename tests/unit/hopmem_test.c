/*
 * The hop memory (helper/engine/hopmem.c) with struct fixtures and a fake
 * clock: how many probes a TTL is worth, and which remembered router a silent
 * hop may show (its neighbours must match; ECMP; the age limit; the ring's
 * bound). Both families.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hopmem.h"
#include "tap.h"
#include "fixtures.h"

#define MS	1000ull
#define SEC	1000000ull
#define T0	(5000 * SEC)

static struct tt_addr
addr(int family, const char *v4, const char *v6)
{
	return fx_addr(family == AF_INET ? v4 : v6);
}

static struct tt_addr
server(int family)
{
	return addr(family, "192.0.2.10", "2001:db8::10");
}

static struct tt_addr
rtr(int family, int n)
{
	char s[64];

	if (family == AF_INET)
		snprintf(s, sizeof(s), "203.0.113.%d", n);
	else
		snprintf(s, sizeof(s), "2001:db8:ff::%d", n);
	return fx_addr(s);
}

static struct tt_addr
visitor(int family)
{
	return addr(family, "198.51.100.7", "2001:db8:1::7");
}

/*
 * A trace's measured hops: spec[ttl - 1] is the router number that answered
 * at that TTL (0: silent, -1: the visitor), all its probes (3) answered at at.
 */
static struct hopmem_trace
measured(int family, uint64_t at, const int *spec, int n)
{
	struct hopmem_trace t;

	memset(&t, 0, sizeof(t));
	t.server = server(family);
	t.at_us = at;
	t.nttl = n;
	for (int ttl = 1; ttl <= n; ttl++) {
		struct hopmem_hop *h = &t.hop[ttl];

		h->sent = 3;
		if (spec[ttl - 1] == 0)
			continue;
		h->answered = 3;
		h->at_us = at;
		h->dest = spec[ttl - 1] < 0;
		h->addr = h->dest ? visitor(family) : rtr(family, spec[ttl - 1]);
	}
	return t;
}

static const char *
fam(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static void
test_budget(int family)
{
	static const int path[] = { 1, 2, 3, -1 };
	struct hopmem *m = hopmem_new();
	struct tt_addr s = server(family), other = addr(family, "192.0.2.11", "2001:db8::11");
	struct tt_addr wrongfam = addr(family == AF_INET ? AF_INET6 : AF_INET, "192.0.2.10",
	    "2001:db8::10");
	struct hopmem_trace t;
	const char *f = fam(family);

	ok(m != NULL, "%s budget: a memory", f);
	ok(!hopmem_one_probe(m, &s, 1, T0), "%s budget: an empty memory says nothing: all probes", f);
	t = measured(family, T0, path, 4);
	hopmem_record(m, &t);
	ok(hopmem_one_probe(m, &s, 1, T0 + 999 * MS) && hopmem_one_probe(m, &s, 3, T0 + 10 * MS),
	    "%s budget: a router that answered less than 1 s ago: one probe", f);
	ok(!hopmem_one_probe(m, &s, 1, T0 + SEC), "%s budget: 1 s after its answer: all probes again", f);
	ok(!hopmem_one_probe(m, &s, 4, T0 + 10 * MS),
	    "%s budget: the visitor's own answer spends no router's ICMP: all probes", f);
	ok(!hopmem_one_probe(m, &s, 5, T0 + 10 * MS), "%s budget: a TTL nothing answered: all probes", f);
	ok(!hopmem_one_probe(m, &other, 1, T0 + 10 * MS),
	    "%s budget: another server address has routers of its own budget", f);
	ok(!hopmem_one_probe(m, &wrongfam, 1, T0 + 10 * MS), "%s budget: another family too", f);
	ok(!hopmem_one_probe(m, &s, 0, T0) && !hopmem_one_probe(m, &s, HOPMEM_TTLS + 1, T0) &&
	    !hopmem_one_probe(NULL, &s, 1, T0), "%s budget: TTLs out of range, no memory: all probes", f);

	/* Rate-limiting seen: router 1 answered 1 of 3 while TTL 2 answered all. */
	t = measured(family, T0 + 2 * SEC, path, 4);
	t.hop[1].answered = 1;
	hopmem_record(m, &t);
	ok(hopmem_one_probe(m, &s, 1, T0 + 5 * SEC),
	    "%s budget: a router seen rate-limiting: one probe though its answer is 3 s old", f);
	ok(!hopmem_one_probe(m, &s, 2, T0 + 5 * SEC), "%s budget: its neighbour, never limited: all", f);
	ok(!hopmem_one_probe(m, &s, 1, T0 + 12 * SEC + 1),
	    "%s budget: 10 s after the evidence: all probes again", f);
	/* A router that never answers is not rate-limited: nothing to save there. */
	t = measured(family, T0 + 20 * SEC, (const int[]){ 0, 2, 3, -1 }, 4);
	hopmem_record(m, &t);
	ok(!hopmem_one_probe(m, &s, 1, T0 + 20 * SEC + 10 * MS),
	    "%s budget: a silent router that never answered (in 10 s): all probes", f);
	hopmem_free(m);
	hopmem_free(NULL);
}

/* cur: this trace's hops measured so far; the hop at ttl is the silent one reported. */
static bool
reuse(const struct hopmem *m, int family, uint64_t now, const int *spec, int n, int ttl,
    struct tt_addr *a, uint64_t *age)
{
	struct hopmem_trace cur = measured(family, now, spec, n);

	memset(a, 0, sizeof(*a));
	*age = 0;
	return hopmem_reuse(m, &cur, ttl, now, a, age);
}

static void
test_reuse(int family)
{
	static const int path[] = { 1, 2, 3, -1 };
	struct hopmem *m = hopmem_new();
	struct hopmem_trace t;
	struct tt_addr a, r1 = rtr(family, 1), r2 = rtr(family, 2), r3 = rtr(family, 3);
	struct tt_addr r5 = rtr(family, 5), r9 = rtr(family, 9);
	uint64_t age;
	const char *f = fam(family);

	ok(!reuse(m, family, T0, (const int[]){ 0, 2, 3, -1 }, 4, 1, &a, &age),
	    "%s reuse: an empty memory: nothing", f);
	t = measured(family, T0, path, 4);
	hopmem_record(m, &t);
	ok(reuse(m, family, T0 + 3 * SEC, (const int[]){ 0, 2, 3, -1 }, 4, 1, &a, &age) &&
	    addr_equal(&a, &r1) && age == 3 * SEC,
	    "%s reuse: TTL 1 silent, TTL 2 the same router now: router 1, 3 s old", f);
	ok(reuse(m, family, T0 + 3 * SEC, (const int[]){ 0, 0, 3, -1 }, 4, 1, &a, &age) &&
	    addr_equal(&a, &r1), "%s reuse: TTLs 1 and 2 silent: anchored at the server and TTL 3", f);
	ok(reuse(m, family, T0 + 3 * SEC, (const int[]){ 1, 0, 0, -1 }, 4, 3, &a, &age) &&
	    addr_equal(&a, &r3),
	    "%s reuse: TTL 3 anchored at TTL 1 below and the visitor's own answer above", f);
	ok(!reuse(m, family, T0 + 3 * SEC, (const int[]){ 0, 8, 3, -1 }, 4, 1, &a, &age),
	    "%s reuse: ECMP: another router at TTL 2 now: nothing", f);
	ok(!reuse(m, family, T0 + 3 * SEC, (const int[]){ 7, 0, 3, -1 }, 4, 2, &a, &age),
	    "%s reuse: another router below it (TTL 1) now: nothing", f);
	ok(reuse(m, family, T0 + 3 * SEC, (const int[]){ 1, 0, 3, 4, -1 }, 5, 2, &a, &age) &&
	    addr_equal(&a, &r2),
	    "%s reuse: a longer path now, the neighbours the same: reused", f);
	ok(reuse(m, family, T0 + 3 * SEC, (const int[]){ 0, 2, 3, 0, -1 }, 5, 1, &a, &age) &&
	    addr_equal(&a, &r1),
	    "%s reuse: only the neighbours count, not the rest of the path", f);
	ok(!reuse(m, family, T0 + 3 * SEC, (const int[]){ 0, 0, 0, 0 }, 4, 1, &a, &age),
	    "%s reuse: nothing answered above it now (not known yet): nothing", f);
	ok(!reuse(m, family, T0 + 3 * SEC, (const int[]){ 1, 2, 3, 0, 0, -1 }, 6, 4, &a, &age),
	    "%s reuse: the visitor's own hop is never reused", f);
	ok(!reuse(m, family, T0 + 3 * SEC, (const int[]){ 0, 2, 3, 0, -1 }, 5, 4, &a, &age),
	    "%s reuse: a TTL the remembered trace did not measure: nothing", f);
	ok(!reuse(m, family, T0 + HOPMEM_AGE_US, (const int[]){ 0, 2, 3, -1 }, 4, 1, &a, &age),
	    "%s reuse: 10 minutes old: never", f);
	ok(reuse(m, family, T0 + HOPMEM_AGE_US - 1, (const int[]){ 0, 2, 3, -1 }, 4, 1, &a, &age),
	    "%s reuse: just under 10 minutes: still", f);

	/* The newest matching trace wins; one that does not match is passed over. */
	t = measured(family, T0 + 5 * SEC, (const int[]){ 9, 2, 3, -1 }, 4);
	hopmem_record(m, &t);
	t = measured(family, T0 + 6 * SEC, (const int[]){ 5, 8, 3, -1 }, 4);
	hopmem_record(m, &t);
	ok(reuse(m, family, T0 + 7 * SEC, (const int[]){ 0, 2, 3, -1 }, 4, 1, &a, &age) &&
	    addr_equal(&a, &r9) && age == 2 * SEC,
	    "%s reuse: the newest trace through the same neighbours: router 9, 2 s old", f);
	ok(reuse(m, family, T0 + 7 * SEC, (const int[]){ 0, 8, 3, -1 }, 4, 1, &a, &age) &&
	    addr_equal(&a, &r5), "%s reuse: the other branch of the ECMP: its own router", f);

	/* A silent hop that was reused is recorded silent: the next trace cannot reuse it from there. */
	t = measured(family, T0 + 8 * SEC, (const int[]){ 0, 2, 3, -1 }, 4);
	hopmem_record(m, &t);
	ok(reuse(m, family, T0 + 9 * SEC, (const int[]){ 0, 2, 3, -1 }, 4, 1, &a, &age) &&
	    addr_equal(&a, &r9) && age == 4 * SEC,
	    "%s reuse: a trace with TTL 1 silent adds no answer there: still router 9, 4 s old", f);
	{
		struct hopmem_trace none = measured(family, T0 + 9 * SEC, (const int[]){ 0, 0 }, 2);
		int n = m->n;

		hopmem_record(m, &none);
		is_int(m->n, n, "%s reuse: a trace that measured nothing is not kept", f);
	}
	/* Another server's routers are not this server's. */
	{
		struct hopmem_trace cur = measured(family, T0 + 9 * SEC, (const int[]){ 0, 2, 3, -1 }, 4);

		cur.server = addr(family, "192.0.2.11", "2001:db8::11");
		ok(!hopmem_reuse(m, &cur, 1, T0 + 9 * SEC, &a, &age),
		    "%s reuse: another server address: nothing", f);
	}
	hopmem_free(m);
}

/* The ring: at most HOPMEM_TRACES, the oldest give way; memory does not grow. */
static void
test_ring(void)
{
	struct hopmem *m = hopmem_new();
	struct hopmem_trace t;
	struct tt_addr a, r40 = rtr(AF_INET, 40);
	uint64_t age;

	t = measured(AF_INET, T0, (const int[]){ 1, 2, 3, -1 }, 4);
	hopmem_record(m, &t);
	for (int i = 1; i <= HOPMEM_TRACES; i++) {
		t = measured(AF_INET, T0 + (uint64_t)i * MS, (const int[]){ 0, 7, 3, -1 }, 4);
		hopmem_record(m, &t);
	}
	is_int(m->n, HOPMEM_TRACES, "ring: %d traces kept at most", HOPMEM_TRACES);
	ok(!reuse(m, AF_INET, T0 + 2 * SEC, (const int[]){ 0, 2, 3, -1 }, 4, 1, &a, &age),
	    "ring: the oldest trace gave way to newer ones");
	t = measured(AF_INET, T0 + 2 * SEC, (const int[]){ 40, 2, 3, -1 }, 4);
	t.nttl = HOPMEM_TTLS + 10;	/* a long trace: the TTLs beyond are not kept */
	hopmem_record(m, &t);
	ok(m->ring[(m->next + HOPMEM_TRACES - 1) % HOPMEM_TRACES].nttl == HOPMEM_TTLS,
	    "ring: TTLs beyond %d are not kept", HOPMEM_TTLS);
	ok(reuse(m, AF_INET, T0 + 3 * SEC, (const int[]){ 0, 2, 3, -1 }, 4, 1, &a, &age) &&
	    addr_equal(&a, &r40), "ring: the newest is found");
	hopmem_free(m);
}

/*
 * The budget outlives the ring: evidence of a limiting router holds its 10 s
 * even when more traces than the ring keeps came since; and it is kept for
 * HOPMEM_SERVERS server addresses, the least recently used giving way.
 */
static void
test_budget_bounds(void)
{
	struct hopmem *m = hopmem_new();
	struct hopmem_trace t;
	char s[64];

	t = measured(AF_INET, T0, (const int[]){ 1, 2, 3, -1 }, 4);
	t.hop[1].answered = 1;
	hopmem_record(m, &t);
	for (int i = 1; i <= 2 * HOPMEM_TRACES; i++) {
		t = measured(AF_INET, T0 + (uint64_t)i * MS, (const int[]){ 0, 2, 3, -1 }, 4);
		hopmem_record(m, &t);
	}
	ok(hopmem_one_probe(m, &t.server, 1, T0 + 5 * SEC),
	    "budget: a limiting router stays on one probe for 10 s, past %d traces",
	    2 * HOPMEM_TRACES);
	for (int i = 0; i < HOPMEM_SERVERS; i++) {
		snprintf(s, sizeof(s), "192.0.2.%d", 100 + i);
		t = measured(AF_INET, T0 + 6 * SEC + (uint64_t)i * MS, (const int[]){ 1, -1 }, 2);
		t.server = fx_addr(s);
		hopmem_record(m, &t);
	}
	t.server = server(AF_INET);
	ok(!hopmem_one_probe(m, &t.server, 1, T0 + 6 * SEC + 500 * MS),
	    "budget: %d newer server addresses: the oldest's budget gave way", HOPMEM_SERVERS);
	t.server = fx_addr("192.0.2.100");
	ok(hopmem_one_probe(m, &t.server, 1, T0 + 6 * SEC + 500 * MS) && m->nbudgets == HOPMEM_SERVERS,
	    "budget: the others are kept, %d at most", HOPMEM_SERVERS);
	hopmem_free(m);
}

int
main(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		test_budget(fams[i]);
		test_reuse(fams[i]);
	}
	test_ring();
	test_budget_bounds();
	return tap_done();
}
