/* Tests of common/addr.c: parsing, formatting and comparing addresses and ports, port lists. */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <string.h>

#include "addr.h"
#include "tap.h"

static void
test_parse_format(void)
{
	static const struct {
		const char *in, *out;
		int family;
	} good[] = {
		{ "192.0.2.1", "192.0.2.1", AF_INET },
		{ "0.0.0.0", "0.0.0.0", AF_INET },
		{ "255.255.255.255", "255.255.255.255", AF_INET },
		{ "2001:db8::1", "2001:db8::1", AF_INET6 },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1", AF_INET6 },
		{ "::1", "::1", AF_INET6 },
		{ "::", "::", AF_INET6 },
		/* IPv4-mapped addresses become IPv4, as conntrack sees them. */
		{ "::ffff:192.0.2.7", "192.0.2.7", AF_INET },
		{ "::FFFF:198.51.100.7", "198.51.100.7", AF_INET },
		{ "::ffff:c000:0207", "192.0.2.7", AF_INET },
		{ "2001:db8:0:1:2:3:4:5", "2001:db8:0:1:2:3:4:5", AF_INET6 },
	};
	static const char *const bad[] = {
		"", "192.0.2", "192.0.2.256", "192.0.2.1.5", "192.0.2.1/24", " 192.0.2.1",
		"192.0.2.1 ", "example.com", "localhost", "[2001:db8::1]", "fe80::1%eth0",
		"2001:db8::1::2", "2001:db8:::1", "0x7f000001", "192.0.2.-1",
		"2001:db8:0:0:0:0:0:0:1",
		"1234567890123456789012345678901234567890123456789",	/* longer than ADDR_STRLEN */
	};
	struct tt_addr a;
	char buf[ADDR_STRLEN];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = addr_parse(good[i].in, &a);

		ok(rc == 0, "addr_parse accepts %s", good[i].in);
		if (rc == 0) {
			is_int(a.family, good[i].family, "%s: family", good[i].in);
			is_str(addr_format(&a, buf), good[i].out, "%s: formats", good[i].in);
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(addr_parse(bad[i], &a) < 0, "addr_parse rejects \"%s\"", bad[i]);
	ok(addr_parse(NULL, &a) < 0, "addr_parse rejects NULL");
}

static void
test_equal_len(void)
{
	struct tt_addr a, b, c, d;

	addr_parse("192.0.2.1", &a);
	addr_parse("::ffff:192.0.2.1", &b);
	addr_parse("192.0.2.2", &c);
	addr_parse("2001:db8::1", &d);
	ok(addr_equal(&a, &b), "a mapped address equals its IPv4 form");
	ok(!addr_equal(&a, &c), "different IPv4 addresses differ");
	ok(!addr_equal(&a, &d), "different families differ");
	ok(addr_equal(&d, &d), "an IPv6 address equals itself");
	is_int(addr_len(&a), 4, "IPv4 length");
	is_int(addr_len(&d), 16, "IPv6 length");
}

static void
test_ports(void)
{
	static const char *const bad[] = {
		"", "0", "65536", "99999", "123456", "-1", "+80", " 80", "80 ", "8o", "0x50", "1e3",
	};
	uint16_t p = 0;

	ok(port_parse("1", &p) == 0 && p == 1, "port 1");
	ok(port_parse("80", &p) == 0 && p == 80, "port 80");
	ok(port_parse("65535", &p) == 0 && p == 65535, "port 65535");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(port_parse(bad[i], &p) < 0, "port_parse rejects \"%s\"", bad[i]);
	ok(port_parse(NULL, &p) < 0, "port_parse rejects NULL");
}

/* "IP", "IPv4:PORT", "[IPv6]" and "[IPv6]:PORT": dns-server's and metrics' forms. */
static void
test_addr_port(void)
{
	static const struct {
		uint16_t port;
		const char *in, *addr;
	} good[] = {
		{ 0, "192.0.2.1", "192.0.2.1" },
		{ 53, "192.0.2.1:53", "192.0.2.1" },
		{ 0, "2001:db8::1", "2001:db8::1" },
		{ 0, "2001:db8::1:53", "2001:db8::1:53" },	/* an address, not a port */
		{ 0, "[2001:db8::1]", "2001:db8::1" },
		{ 9470, "[2001:db8::1]:9470", "2001:db8::1" },
	};
	static const char *const bad[] = {
		"", ":53", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536", "[192.0.2.1]:53",
		"[2001:db8::1", "[2001:db8::1]53", "[2001:db8::1]:", "localhost:53", "[::ffff:192.0.2.1]:53",
	};
	struct tt_addr a;
	char buf[ADDR_STRLEN];
	uint16_t p;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(addr_port_parse(good[i].in, &a, &p) == 0 &&
		    strcmp(addr_format(&a, buf), good[i].addr) == 0 && p == good[i].port,
		    "addr_port_parse(\"%s\"): %s port %u", good[i].in, good[i].addr, good[i].port);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(addr_port_parse(bad[i], &a, &p) < 0, "addr_port_parse rejects \"%s\"", bad[i]);
}

static void
test_port_listed(void)
{
	static const uint16_t ports[] = { 80, 443, 8080 };

	ok(port_listed(ports, 3, 80) && port_listed(ports, 3, 443) && port_listed(ports, 3, 8080),
	    "port_listed: each port of the list");
	ok(!port_listed(ports, 3, 22) && !port_listed(ports, 3, 0) && !port_listed(ports, 3, 65535),
	    "port_listed: no other");
	ok(!port_listed(ports, 2, 8080), "port_listed: only the first n are looked at");
	ok(!port_listed(NULL, 0, 80), "port_listed: an empty list has none");
}

static void
test_mask(void)
{
	static const struct {
		const char *in;
		int bits;
		const char *want;
	} cases[] = {
		{ "198.51.100.77", 24, "198.51.100.0" },
		{ "198.51.100.77", 32, "198.51.100.77" },
		{ "198.51.100.77", 20, "198.51.96.0" },
		{ "198.51.100.77", 0, "0.0.0.0" },
		{ "198.51.100.77", 99, "198.51.100.77" },
		{ "2001:db8:1234:5678::9", 48, "2001:db8:1234::" },
		{ "2001:db8:1234:5678::9", 64, "2001:db8:1234:5678::" },
		{ "2001:db8:1234:ffff::9", 52, "2001:db8:1234:f000::" },
	};
	char buf[ADDR_STRLEN];
	struct tt_addr a, m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		addr_parse(cases[i].in, &a);
		addr_mask(&a, cases[i].bits, &m);
		is_str(addr_format(&m, buf), cases[i].want, "%s/%d", cases[i].in, cases[i].bits);
	}
}

/* CIDR networks as the proxies setting takes them, and membership. */
static void
test_prefix(void)
{
	static const struct {
		const char *s, *net;
		int bits;
	} good[] = {
		{ "10.0.0.0/8", "10.0.0.0", 8 },
		{ "10.1.2.3/8", "10.0.0.0", 8 },		/* host bits cleared */
		{ "192.0.2.1", "192.0.2.1", 32 },
		{ "0.0.0.0/0", "0.0.0.0", 0 },
		{ "2001:db8::/32", "2001:db8::", 32 },
		{ "2001:db8:1:2::5/64", "2001:db8:1:2::", 64 },
		{ "2001:db8::1", "2001:db8::1", 128 },
		{ "::ffff:192.0.2.1", "192.0.2.1", 32 },	/* mapped: the IPv4 address */
	};
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x",
		"10.0.0.0/0008", "2001:db8::/129", "::ffff:10.0.0.0/104", "example.com/8",
		"10.0.0.0/8/8", "[2001:db8::]/32",
	};
	struct tt_addr net, a;
	char buf[ADDR_STRLEN];
	int bits;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		bits = -1;
		ok(addr_prefix_parse(good[i].s, &net, &bits) == 0 &&
		    strcmp(addr_format(&net, buf), good[i].net) == 0 && bits == good[i].bits,
		    "prefix %s is %s/%d", good[i].s, good[i].net, good[i].bits);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(addr_prefix_parse(bad[i], &net, &bits), -1, "prefix \"%s\" refused", bad[i]);

	addr_prefix_parse("10.77.0.0/16", &net, &bits);
	addr_parse("10.77.3.2", &a);
	ok(addr_in_prefix(&a, &net, bits), "10.77.3.2 is in 10.77.0.0/16");
	addr_parse("10.78.0.1", &a);
	ok(!addr_in_prefix(&a, &net, bits), "10.78.0.1 is not");
	addr_parse("2001:db8:77::1", &a);
	ok(!addr_in_prefix(&a, &net, bits), "an IPv6 address is in no IPv4 network");
	addr_prefix_parse("0.0.0.0/0", &net, &bits);
	addr_parse("203.0.113.9", &a);
	ok(addr_in_prefix(&a, &net, bits), "/0 holds every IPv4 address");
	addr_prefix_parse("2001:db8:77:1::/63", &net, &bits);
	addr_parse("2001:db8:77:0:ffff::1", &a);
	ok(addr_in_prefix(&a, &net, bits), "an odd IPv6 length: /63 holds the /64 below");
	addr_parse("2001:db8:77:2::1", &a);
	ok(!addr_in_prefix(&a, &net, bits), "... and not the next /64 pair");
}

/* A key as 32 hex digits. */
static const char *
hex(const uint8_t *k, char *buf)
{
	for (int i = 0; i < ADDR_KEY_LEN; i++)
		snprintf(buf + 2 * i, 3, "%02x", k[i]);
	return buf;
}

/* The keys of addresses and the ranges of prefixes, IPv4 inside the mapped /96. */
static void
test_key(void)
{
	static const struct {
		const char *prefix, *lo, *hi;
	} ranges[] = {
		{ "198.51.100.7", "00000000000000000000ffffc6336407", "00000000000000000000ffffc6336407" },
		{ "198.51.100.0/24", "00000000000000000000ffffc6336400", "00000000000000000000ffffc63364ff" },
		{ "198.51.100.77/23", "00000000000000000000ffffc6336400", "00000000000000000000ffffc63365ff" },
		{ "10.0.0.0/8", "00000000000000000000ffff0a000000", "00000000000000000000ffff0affffff" },
		{ "0.0.0.0/0", "00000000000000000000ffff00000000", "00000000000000000000ffffffffffff" },
		{ "2001:db8::1", "20010db8000000000000000000000001", "20010db8000000000000000000000001" },
		{ "2001:db8:1234::/48", "20010db8123400000000000000000000", "20010db81234ffffffffffffffffffff" },
		{ "2001:db8::/33", "20010db8000000000000000000000000", "20010db87fffffffffffffffffffffff" },
		{ "::/0", "00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff" },
	};
	char lo[2 * ADDR_KEY_LEN + 1], hi[2 * ADDR_KEY_LEN + 1];
	uint8_t klo[ADDR_KEY_LEN], khi[ADDR_KEY_LEN], k[ADDR_KEY_LEN];
	struct tt_addr a, net;
	int bits;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		addr_prefix_parse(ranges[i].prefix, &net, &bits);
		addr_key_range(&net, bits, klo, khi);
		ok(strcmp(hex(klo, lo), ranges[i].lo) == 0 && strcmp(hex(khi, hi), ranges[i].hi) == 0,
		    "key range of %s: %s-%s", ranges[i].prefix, lo, hi);
	}
	addr_parse("::ffff:192.0.2.1", &a);
	addr_key(&a, k);
	is_str(hex(k, lo), "00000000000000000000ffffc0000201", "a mapped address is its IPv4 key");
	addr_parse("::192.0.2.1", &a);
	addr_key(&a, k);
	is_str(hex(k, lo), "000000000000000000000000c0000201",
	    "an IPv4-compatible IPv6 address is not the IPv4 one");
	/* Keys sort as addresses: every address of a prefix in its range, its neighbours not. */
	addr_prefix_parse("192.0.2.0/24", &net, &bits);
	addr_key_range(&net, bits, klo, khi);
	addr_parse("192.0.2.255", &a);
	addr_key(&a, k);
	ok(memcmp(k, klo, ADDR_KEY_LEN) >= 0 && memcmp(k, khi, ADDR_KEY_LEN) <= 0,
	    "the last address of a /24 is in its range");
	addr_parse("192.0.3.0", &a);
	addr_key(&a, k);
	ok(memcmp(k, khi, ADDR_KEY_LEN) > 0, "the next one is above it");
	addr_parse("192.0.1.255", &a);
	addr_key(&a, k);
	ok(memcmp(k, klo, ADDR_KEY_LEN) < 0, "the one before is below it");
}

int
main(void)
{
	test_parse_format();
	test_equal_len();
	test_ports();
	test_addr_port();
	test_port_listed();
	test_mask();
	test_prefix();
	test_key();
	return tap_done();
}
