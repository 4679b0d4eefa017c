/*
 * probe_build(): every field checked by offset, both checksums checked with the
 * independent implementation in fixtures.h, and each probe parsed back.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"
#include "probe.h"
#include "tap.h"
#include "fixtures.h"

static struct probe_tmpl
tmpl(int family, bool ts)
{
	struct probe_tmpl t;

	memset(&t, 0, sizeof(t));
	if (family == AF_INET) {
		t.src = fx_addr("192.0.2.1");
		t.dst = fx_addr("198.51.100.7");
	} else {
		t.src = fx_addr("2001:db8::1");
		t.dst = fx_addr("2001:db8:1::7");
	}
	t.sport = 443;
	t.dport = 50000;
	t.tos = 0xb9;			/* DSCP and an ECN bit: copied as they are */
	t.flowlabel = 0xfff12345;	/* only the low 20 bits are a label */
	t.ack = 0x89abcdef;
	t.window = 501;
	t.has_ts = ts;
	t.tsval = 0xdeadbeef;
	t.tsecr = 0x01020304;
	return t;
}

static void
check_probe(int family, bool ts)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	const char *tsn = ts ? "with timestamps" : "without timestamps";
	struct probe_tmpl t = tmpl(family, ts);
	size_t ipl = family == AF_INET ? 20 : 40, tcplen = 20 + (ts ? 12 : 0), want = ipl + tcplen + 1, n;
	uint8_t buf[PROBE_MAX_LEN + 16], *tcp = buf + ipl;
	const uint32_t seq = 0xfffffff7;
	const uint8_t byte = 0x7f, ttl = 7;
	const uint16_t ipid = 0xbeef;
	struct pkt p;

	memset(buf, 0xa5, sizeof(buf));
	n = probe_build(buf, sizeof(buf), &t, seq, byte, ttl, ipid);
	is_int(n, want, "%s %s: length %zu", fam, tsn, want);
	ok(buf[want] == 0xa5 && buf[sizeof(buf) - 1] == 0xa5, "%s %s: nothing written past the probe", fam, tsn);

	if (family == AF_INET) {
		ok(buf[0] == 0x45, "%s %s: version 4, IHL 5", fam, tsn);
		is_int(buf[1], 0xb9, "%s %s: TOS copied", fam, tsn);
		is_int(fx_get16(buf + 2), want, "%s %s: total length", fam, tsn);
		is_int(fx_get16(buf + 4), ipid, "%s %s: id placed", fam, tsn);
		is_int(fx_get16(buf + 6), 0x4000, "%s %s: DF set, offset 0", fam, tsn);
		is_int(buf[8], ttl, "%s %s: TTL", fam, tsn);
		is_int(buf[9], 6, "%s %s: protocol TCP", fam, tsn);
		ok(memcmp(buf + 12, t.src.u.b, 4) == 0 && memcmp(buf + 16, t.dst.u.b, 4) == 0,
		    "%s %s: addresses", fam, tsn);
		ok(fx_ip4_csum_ok(buf), "%s %s: IP header checksum (independent)", fam, tsn);
	} else {
		is_int(buf[0] >> 4, 6, "%s %s: version 6", fam, tsn);
		is_int((fx_get16(buf) >> 4) & 0xff, 0xb9, "%s %s: traffic class copied", fam, tsn);
		is_int(fx_get32(buf) & 0xfffff, 0x12345, "%s %s: flow label kept, masked to 20 bits", fam, tsn);
		is_int(fx_get16(buf + 4), tcplen + 1, "%s %s: payload length", fam, tsn);
		is_int(buf[6], 6, "%s %s: next header TCP", fam, tsn);
		is_int(buf[7], ttl, "%s %s: hop limit", fam, tsn);
		ok(memcmp(buf + 8, t.src.u.b, 16) == 0 && memcmp(buf + 24, t.dst.u.b, 16) == 0,
		    "%s %s: addresses", fam, tsn);
	}

	ok(fx_get16(tcp) == 443 && fx_get16(tcp + 2) == 50000, "%s %s: ports", fam, tsn);
	is_int(fx_get32(tcp + 4), seq, "%s %s: seq", fam, tsn);
	is_int(fx_get32(tcp + 8), 0x89abcdef, "%s %s: ack from the template", fam, tsn);
	is_int(tcp[12], (tcplen / 4) << 4, "%s %s: data offset, reserved bits clear", fam, tsn);
	is_int(tcp[13], TCP_ACK, "%s %s: only ACK set", fam, tsn);
	is_int(fx_get16(tcp + 14), 501, "%s %s: window", fam, tsn);
	is_int(fx_get16(tcp + 18), 0, "%s %s: urgent pointer zero", fam, tsn);
	if (ts) {
		static const uint8_t opt[12] = { 1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 };

		ok(memcmp(tcp + 20, opt, 12) == 0, "%s %s: NOP NOP timestamps, values copied", fam, tsn);
	}
	is_int(tcp[tcplen], byte, "%s %s: the payload byte", fam, tsn);
	ok(fx_l4_csum_ok(buf, n), "%s %s: TCP checksum with pseudo-header (independent)", fam, tsn);

	/* Parsed back, it is the same segment. */
	if (!ok(pkt_parse(buf, n, &p) == PKT_OK && p.kind == PKT_TCP, "%s %s: parses back", fam, tsn))
		return;
	ok(addr_equal(&p.u.tcp.src, &t.src) && addr_equal(&p.u.tcp.dst, &t.dst) &&
	    p.u.tcp.sport == 443 && p.u.tcp.dport == 50000, "%s %s: parsed addresses and ports", fam, tsn);
	ok(p.u.tcp.seq == seq && p.u.tcp.ack == t.ack && p.u.tcp.flags == TCP_ACK &&
	    p.u.tcp.window == 501, "%s %s: parsed seq, ack, flags, window", fam, tsn);
	ok(p.u.tcp.ttl == ttl && p.u.tcp.tos == 0xb9, "%s %s: parsed TTL and TOS", fam, tsn);
	if (family == AF_INET)
		ok(p.u.tcp.ipid == ipid && p.u.tcp.flowlabel == 0, "%s %s: parsed id", fam, tsn);
	else
		ok(p.u.tcp.flowlabel == 0x12345 && p.u.tcp.ipid == 0, "%s %s: parsed flow label", fam, tsn);
	ok(p.u.tcp.has_ts == ts && (!ts || (p.u.tcp.tsval == 0xdeadbeef && p.u.tcp.tsecr == 0x01020304)),
	    "%s %s: parsed timestamps", fam, tsn);
	is_int(p.u.tcp.nsack, 0, "%s %s: no SACK blocks", fam, tsn);
	ok(p.u.tcp.payload_len == 1 && p.u.tcp.payload[0] == byte, "%s %s: parsed payload, one byte", fam, tsn);

	/* Buffers too small. */
	{
		uint8_t small[PROBE_MAX_LEN];

		memset(small, 0x5a, sizeof(small));
		is_int(probe_build(small, want - 1, &t, seq, byte, ttl, ipid), 0, "%s %s: one byte short: 0", fam, tsn);
		ok(small[0] == 0x5a && small[want - 2] == 0x5a, "%s %s: a short buffer is left alone", fam, tsn);
		is_int(probe_build(small, 0, &t, seq, byte, ttl, ipid), 0, "%s %s: length 0: 0", fam, tsn);
		is_int(probe_build(small, want, &t, seq, byte, ttl, ipid), want, "%s %s: exact length: built", fam, tsn);
	}
}

/* Many field values, so that carries in the checksums happen: checked independently each time. */
static void
check_checksums(int family)
{
	int bad = 0, runs = 0;
	uint32_t x = 0x12345678;

	for (int i = 0; i < 3000; i++) {
		struct probe_tmpl t = tmpl(family, i % 2);
		uint8_t buf[PROBE_MAX_LEN];
		size_t n;

		/* xorshift: deterministic variety */
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		t.ack = x;
		t.window = (uint16_t)(x >> 7);
		t.tsval = x * 2654435761u;
		t.tsecr = ~x;
		t.tos = (uint8_t)(x >> 3);
		t.flowlabel = x >> 9;
		t.sport = (uint16_t)(i * 7919);
		t.dport = (uint16_t)~i;
		if (i % 5 == 0)
			memset(t.dst.u.b, 0xff, 16), t.dst.u.b[0] = 0xff;
		n = probe_build(buf, sizeof(buf), &t, x * 31u, (uint8_t)(i ^ 0xff), (uint8_t)(i | 1),
		    (uint16_t)(i + 1));
		runs++;
		if (n == 0 || !fx_l4_csum_ok(buf, n) || (family == AF_INET && !fx_ip4_csum_ok(buf)))
			bad++;
	}
	is_int(bad, 0, "%s: %d probes with varied fields all carry correct checksums",
	    family == AF_INET ? "IPv4" : "IPv6", runs);
}

static void
check_csum_function(void)
{
	uint8_t b[101];
	int bad = 0;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(0xff - i * 3);
	for (size_t len = 0; len <= sizeof(b); len++) {
		if (probe_csum(b, len, 0) != fx_csum(b, len, 0))
			bad++;
		if (probe_csum(b, len, 0x2fffd) != fx_csum(b, len, 0x2fffd))
			bad++;
	}
	is_int(bad, 0, "probe_csum agrees with the independent checksum for lengths 0..101, odd included");
	is_int(probe_csum((const uint8_t *)"\x45\x00\x00\x73\x00\x00\x40\x00\x40\x11\x00\x00\xc0\xa8\x00\x01"
	    "\xc0\xa8\x00\xc7", 20, 0), 0xb861, "probe_csum of the textbook IPv4 header example is 0xb861");
}

/* The keep-alive: the probe's segment at seq - 1 with no payload, lengths and checksums to match. */
static void
check_keepalive(int family, bool ts)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	struct probe_tmpl t = tmpl(family, ts);
	size_t ipl = family == AF_INET ? 20 : 40, want = ipl + 20 + (ts ? 12 : 0), n;
	uint8_t buf[PROBE_MAX_LEN + 16];
	struct pkt p;

	memset(buf, 0xa5, sizeof(buf));
	n = probe_build_keepalive(buf, sizeof(buf), &t, 0, 255, 0x1234);
	is_int(n, want, "%s keep-alive%s: length %zu, no payload", fam, ts ? " with timestamps" : "",
	    want);
	ok(buf[want] == 0xa5, "%s keep-alive: nothing written past it", fam);
	ok(pkt_parse(buf, n, &p) == PKT_OK && p.kind == PKT_TCP && p.u.tcp.payload_len == 0 &&
	    p.u.tcp.seq == 0xffffffff && p.u.tcp.ack == t.ack && p.u.tcp.flags == TCP_ACK &&
	    p.u.tcp.ttl == 255, "%s keep-alive: a bare ACK at seq - 1 (wrapping), TTL 255", fam);
	ok(fx_l4_csum_ok(buf, n) && (family != AF_INET || fx_ip4_csum_ok(buf)),
	    "%s keep-alive: checksums", fam);
}

int
main(void)
{
	check_probe(AF_INET, false);
	check_probe(AF_INET, true);
	check_probe(AF_INET6, false);
	check_probe(AF_INET6, true);
	check_checksums(AF_INET);
	check_checksums(AF_INET6);
	check_csum_function();
	check_keepalive(AF_INET, true);
	check_keepalive(AF_INET6, false);
	return tap_done();
}
