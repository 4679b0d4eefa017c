/*
 * pkt_parse() from hand-written byte fixtures (documentation addresses only):
 * TCP segments of both families, the ICMP errors that quote probes, and the
 * malformed packets it must reject without reading past the buffer.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"
#include "tap.h"
#include "fixtures.h"

/*
 * IPv4, TOS 0x28, id 0x1234, DF, TTL 64: 198.51.100.7:50000 -> 192.0.2.1:80,
 * seq 0x11223344 ack 0x55667788 PSH|ACK window 501, NOP NOP timestamps,
 * NOP NOP two SACK blocks, payload "GET ". Checksums are correct.
 */
static const uint8_t v4_tcp[] = {
	0x45, 0x28, 0x00, 0x4c, 0x12, 0x34, 0x40, 0x00,
	0x40, 0x06, 0x3c, 0x14, 198, 51, 100, 7,
	192, 0, 2, 1,
	/* TCP, data offset 13 */
	0xc3, 0x50, 0x00, 0x50, 0x11, 0x22, 0x33, 0x44,
	0x55, 0x66, 0x77, 0x88, 0xd0, 0x18, 0x01, 0xf5,
	0x21, 0xbd, 0x00, 0x00,
	0x01, 0x01, 0x08, 0x0a, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x02, 0x03, 0x04,
	0x01, 0x01, 0x05, 0x12, 0x11, 0x22, 0x30, 0x00, 0x11, 0x22, 0x30, 0x10,
	0x11, 0x22, 0x40, 0x00, 0x11, 0x22, 0x40, 0x08,
	'G', 'E', 'T', ' ',
};
#define V4_TCP_HDRS (20 + 52)

/*
 * IPv6, traffic class 0xb8, flow label 0x12345, hop limit 57, a hop-by-hop
 * header (PadN) before TCP: 2001:db8::1:443 -> 2001:db8:1::2:40000,
 * seq 0xfffffff0 ack 1 ACK window 65535, NOP NOP timestamps, payload "abc".
 */
static const uint8_t v6_tcp_hbh[] = {
	0x6b, 0x81, 0x23, 0x45, 0x00, 0x2b, 0x00, 0x39,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	/* hop-by-hop: next TCP, length 0 (8 bytes), PadN of 4 */
	0x06, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00,
	/* TCP, data offset 8 */
	0x01, 0xbb, 0x9c, 0x40, 0xff, 0xff, 0xff, 0xf0,
	0x00, 0x00, 0x00, 0x01, 0x80, 0x10, 0xff, 0xff,
	0x9e, 0xd6, 0x00, 0x00,
	0x01, 0x01, 0x08, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d,
	'a', 'b', 'c',
};
#define V6_TCP_HDRS (40 + 8 + 32)

/*
 * ICMP time exceeded from router 198.51.100.254 (TTL 250) to 192.0.2.1, as an
 * old router sends it: the probe's IP header and only 8 bytes of TCP (ports
 * and seq). The probe: id 0x0102, DF, TTL 1 on arrival, 192.0.2.1:80 ->
 * 198.51.100.7:50000, seq 0x11223340, total length 53.
 */
static const uint8_t v4_te_short[] = {
	0x45, 0xc0, 0x00, 0x38, 0xbe, 0xef, 0x00, 0x00,
	0xfa, 0x01, 0x13, 0xe2, 198, 51, 100, 254,
	192, 0, 2, 1,
	0x0b, 0x00, 0xec, 0xfc, 0x00, 0x00, 0x00, 0x00,
	0x45, 0x00, 0x00, 0x35, 0x01, 0x02, 0x40, 0x00,
	0x01, 0x06, 0x8c, 0x85, 192, 0, 2, 1,
	198, 51, 100, 7,
	0x00, 0x50, 0xc3, 0x50, 0x11, 0x22, 0x33, 0x40,
};
#define V4_TE_NEEDED (20 + 8 + 20 + 8)

/*
 * ICMPv6 time exceeded from router 2001:db8:ff::3 (hop limit 61) to
 * 2001:db8::1, quoting a whole probe: traffic class 0xb8, flow label
 * 0x5a5a5, hop limit 1, 2001:db8::1:443 -> 2001:db8:1::2:40000, seq 0x1000,
 * ack 0x2000, ACK, one byte 'H'.
 */
static const uint8_t v6_te_full[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x45, 0x3a, 0x3d,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x03, 0x00, 0x88, 0xe5, 0x00, 0x00, 0x00, 0x00,
	0x6b, 0x85, 0xa5, 0xa5, 0x00, 0x15, 0x06, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x01, 0xbb, 0x9c, 0x40, 0x00, 0x00, 0x10, 0x00,
	0x00, 0x00, 0x20, 0x00, 0x50, 0x10, 0x01, 0xf5,
	0x3c, 0x6d, 0x00, 0x00, 'H',
};
#define V6_TE_NEEDED (40 + 8 + 40 + 8)

/*
 * The same time exceeded as v4_te_short from an RFC 4884 router: the whole
 * probe (53 bytes: ack 0x55667788, ACK, window 501, NOP NOP timestamps,
 * payload 'x') zero-padded to 128 bytes, length field 32 words, then an
 * extension structure with a two-entry MPLS label stack. Checksums correct.
 */
static const uint8_t v4_te_mpls[] = {
	0x45, 0xc0, 0x00, 0xac, 0xbe, 0xef, 0x00, 0x00,
	0xfa, 0x01, 0x13, 0x6e, 198, 51, 100, 254,
	192, 0, 2, 1,
	/* ICMP time exceeded, length 32 words (byte 5) */
	0x0b, 0x00, 0xe1, 0x43, 0x00, 0x20, 0x00, 0x00,
	/* the probe, then zeros to 128 bytes */
	0x45, 0x00, 0x00, 0x35, 0x01, 0x02, 0x40, 0x00,
	0x01, 0x06, 0x8c, 0x85, 192, 0, 2, 1,
	198, 51, 100, 7, 0x00, 0x50, 0xc3, 0x50,
	0x11, 0x22, 0x33, 0x40, 0x55, 0x66, 0x77, 0x88,
	0x80, 0x10, 0x01, 0xf5, 0xbf, 0xf9, 0x00, 0x00,
	0x01, 0x01, 0x08, 0x0a, 0xaa, 0xbb, 0xcc, 0xdd,
	0x01, 0x02, 0x03, 0x04, 'x',
	/* extension header: version 2, checksum */
	[156] = 0x20, 0x00, 0xcd, 0x15,
	/* MPLS object, 12 bytes, class 1 c-type 1: 24001/0/0/1 and 1048575/5/1/255 */
	0x00, 0x0c, 0x01, 0x01,
	0x05, 0xdc, 0x10, 0x01, 0xff, 0xff, 0xfb, 0xff,
};
#define V4_TE_MPLS_EXT (20 + 8 + 128)

/* Parses a private heap copy of exactly len bytes, so a read past the end is caught by valgrind or ASan. */
static enum pkt_err
parse_copy(const uint8_t *b, size_t len, struct pkt *p)
{
	uint8_t *c = malloc(len ? len : 1);
	enum pkt_err e;

	if (c == NULL)
		abort();
	if (len)
		memcpy(c, b, len);
	e = pkt_parse(c, len, p);
	/* Pointers into the copy must not outlive it. */
	if (e == PKT_OK && p->kind == PKT_TCP)
		p->u.tcp.payload = NULL;
	free(c);
	return e;
}

static bool
addr_is(const struct tt_addr *a, const char *s)
{
	struct tt_addr want = fx_addr(s);

	return addr_equal(a, &want);
}

static void
test_fixtures_valid(void)
{
	ok(fx_ip4_csum_ok(v4_tcp) && fx_l4_csum_ok(v4_tcp, sizeof(v4_tcp)),
	    "fixture: the IPv4 segment has correct checksums");
	ok(fx_ip4_csum_ok(v4_te_short) && fx_ip4_csum_ok(v4_te_short + 28) &&
	    fx_fold(fx_sum(v4_te_short + 20, sizeof(v4_te_short) - 20, 0)) == 0xffff,
	    "fixture: the ICMP error and its quote have correct checksums");
	ok(fx_l4_csum_ok(v6_te_full, sizeof(v6_te_full)) &&
	    fx_l4_csum_ok(v6_te_full + 48, sizeof(v6_te_full) - 48),
	    "fixture: the ICMPv6 error and its quoted probe have correct checksums");
	ok(sizeof(v4_te_mpls) == V4_TE_MPLS_EXT + 16 && fx_ip4_csum_ok(v4_te_mpls) &&
	    fx_ip4_csum_ok(v4_te_mpls + 28) && fx_l4_csum_ok(v4_te_mpls + 28, 53) &&
	    fx_fold(fx_sum(v4_te_mpls + 20, sizeof(v4_te_mpls) - 20, 0)) == 0xffff &&
	    fx_fold(fx_sum(v4_te_mpls + V4_TE_MPLS_EXT, 16, 0)) == 0xffff,
	    "fixture: the ICMP error with MPLS extension, its probe and extension have correct checksums");
}

static void
test_v4_tcp(void)
{
	struct pkt p;
	const struct pkt_tcp *t = &p.u.tcp;

	is_int(pkt_parse(v4_tcp, sizeof(v4_tcp), &p), PKT_OK, "IPv4 TCP: parsed");
	is_int(p.kind, PKT_TCP, "IPv4 TCP: kind");
	ok(addr_is(&t->src, "198.51.100.7") && addr_is(&t->dst, "192.0.2.1"), "IPv4 TCP: addresses");
	is_int(t->sport, 50000, "IPv4 TCP: source port");
	is_int(t->dport, 80, "IPv4 TCP: destination port");
	is_int(t->seq, 0x11223344, "IPv4 TCP: seq");
	is_int(t->ack, 0x55667788, "IPv4 TCP: ack");
	is_int(t->flags, TCP_PSH | TCP_ACK, "IPv4 TCP: flags");
	is_int(t->window, 501, "IPv4 TCP: window");
	is_int(t->ttl, 64, "IPv4 TCP: TTL");
	is_int(t->tos, 0x28, "IPv4 TCP: TOS");
	is_int(t->ipid, 0x1234, "IPv4 TCP: id");
	is_int(t->flowlabel, 0, "IPv4 TCP: no flow label");
	ok(t->has_ts && t->tsval == 0xaabbccdd && t->tsecr == 0x01020304, "IPv4 TCP: timestamps");
	is_int(t->nsack, 2, "IPv4 TCP: two SACK blocks");
	ok(t->sack[0][0] == 0x11223000 && t->sack[0][1] == 0x11223010 &&
	    t->sack[1][0] == 0x11224000 && t->sack[1][1] == 0x11224008, "IPv4 TCP: SACK edges");
	is_int(t->payload_len, 4, "IPv4 TCP: payload length");
	ok(t->payload == v4_tcp + V4_TCP_HDRS && memcmp(t->payload, "GET ", 4) == 0,
	    "IPv4 TCP: payload points at the data");
}

static void
test_v4_padding_and_options(void)
{
	uint8_t b[sizeof(v4_tcp) + 6], o[sizeof(v4_tcp) + 4];
	struct pkt p;

	/* Link-layer padding after the total length is not payload. */
	memcpy(b, v4_tcp, sizeof(v4_tcp));
	memset(b + sizeof(v4_tcp), 0xee, 6);
	ok(pkt_parse(b, sizeof(b), &p) == PKT_OK && p.u.tcp.payload_len == 4,
	    "IPv4 TCP with 6 bytes of link-layer padding: payload is still 4 bytes");

	/* IHL 6: a 4-byte IP option (NOP x3, EOL) moves the TCP header. */
	memcpy(o, v4_tcp, 20);
	o[0] = 0x46;
	fx_put16(o + 2, sizeof(o));
	o[20] = 1, o[21] = 1, o[22] = 1, o[23] = 0;
	memcpy(o + 24, v4_tcp + 20, sizeof(v4_tcp) - 20);
	ok(pkt_parse(o, sizeof(o), &p) == PKT_OK && p.u.tcp.sport == 50000 &&
	    p.u.tcp.seq == 0x11223344 && p.u.tcp.payload_len == 4 &&
	    memcmp(p.u.tcp.payload, "GET ", 4) == 0, "IPv4 with IP options (IHL 6): TCP found after them");

	/* A first fragment (MF, offset 0) still has its TCP header. */
	memcpy(b, v4_tcp, sizeof(v4_tcp));
	fx_put16(b + 6, 0x2000);
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_OK, "IPv4 first fragment (MF, offset 0): parsed");
}

static void
test_v6_tcp(void)
{
	struct pkt p;
	const struct pkt_tcp *t = &p.u.tcp;
	uint8_t b[sizeof(v6_tcp_hbh) + 5];

	is_int(pkt_parse(v6_tcp_hbh, sizeof(v6_tcp_hbh), &p), PKT_OK, "IPv6 TCP after hop-by-hop: parsed");
	is_int(p.kind, PKT_TCP, "IPv6 TCP: kind");
	ok(addr_is(&t->src, "2001:db8::1") && addr_is(&t->dst, "2001:db8:1::2"), "IPv6 TCP: addresses");
	ok(t->sport == 443 && t->dport == 40000, "IPv6 TCP: ports");
	is_int(t->seq, 0xfffffff0, "IPv6 TCP: seq");
	is_int(t->ack, 1, "IPv6 TCP: ack");
	is_int(t->flags, TCP_ACK, "IPv6 TCP: flags");
	is_int(t->window, 65535, "IPv6 TCP: window");
	is_int(t->ttl, 57, "IPv6 TCP: hop limit");
	is_int(t->tos, 0xb8, "IPv6 TCP: traffic class");
	is_int(t->flowlabel, 0x12345, "IPv6 TCP: flow label");
	is_int(t->ipid, 0, "IPv6 TCP: no id");
	ok(t->has_ts && t->tsval == 0x01020304 && t->tsecr == 0x0a0b0c0d, "IPv6 TCP: timestamps");
	is_int(t->nsack, 0, "IPv6 TCP: no SACK");
	ok(t->payload_len == 3 && t->payload == v6_tcp_hbh + V6_TCP_HDRS &&
	    memcmp(t->payload, "abc", 3) == 0, "IPv6 TCP: payload");

	memcpy(b, v6_tcp_hbh, sizeof(v6_tcp_hbh));
	memset(b + sizeof(v6_tcp_hbh), 0xee, 5);
	ok(pkt_parse(b, sizeof(b), &p) == PKT_OK && p.u.tcp.payload_len == 3,
	    "IPv6 TCP with padding: payload length from the payload length field");

	/* Hop-by-hop, then destination options (16 bytes), then TCP. */
	{
		uint8_t c[sizeof(v6_tcp_hbh) + 16];

		memcpy(c, v6_tcp_hbh, 40);
		fx_put16(c + 4, fx_get16(v6_tcp_hbh + 4) + 16);
		c[40] = 60, c[41] = 0, c[42] = 1, c[43] = 4;
		memset(c + 44, 0, 4);
		c[48] = 6, c[49] = 1, c[50] = 1, c[51] = 12;
		memset(c + 52, 0, 12);
		memcpy(c + 64, v6_tcp_hbh + 48, sizeof(v6_tcp_hbh) - 48);
		ok(pkt_parse(c, sizeof(c), &p) == PKT_OK && p.kind == PKT_TCP &&
		    p.u.tcp.seq == 0xfffffff0 && p.u.tcp.payload_len == 3,
		    "IPv6 TCP after hop-by-hop and 16-byte destination options: parsed");
	}
}

static void
test_v4_icmp_short(void)
{
	struct pkt p;
	const struct pkt_icmp *e = &p.u.icmp;

	is_int(pkt_parse(v4_te_short, sizeof(v4_te_short), &p), PKT_OK, "ICMP TE, 8-byte quote: parsed");
	is_int(p.kind, PKT_ICMP, "ICMP TE: kind");
	is_int(e->kind, REPLY_TIME_EXCEEDED, "ICMP TE: time exceeded");
	ok(e->type == 11 && e->code == 0, "ICMP TE: type 11 code 0");
	ok(addr_is(&e->src, "198.51.100.254") && addr_is(&e->dst, "192.0.2.1"), "ICMP TE: the error's addresses");
	is_int(e->ttl, 250, "ICMP TE: the error's TTL");
	ok(addr_is(&e->qsrc, "192.0.2.1") && addr_is(&e->qdst, "198.51.100.7"), "ICMP TE: quoted addresses");
	ok(e->qsport == 80 && e->qdport == 50000, "ICMP TE: quoted ports");
	is_int(e->qseq, 0x11223340, "ICMP TE: quoted seq");
	is_int(e->qipid, 0x0102, "ICMP TE: quoted id");
	is_int(e->qttl, 1, "ICMP TE: quoted TTL");
	is_int(e->mtu, 0, "ICMP TE: no MTU");
}

/* A 53-byte IPv4 probe as a router sees it (TTL 1), to be quoted whole. */
static size_t
v4_probe(uint8_t *b, size_t cap)
{
	static const uint8_t byte = 'x';
	struct fx_seg s = {
		.src = fx_addr("192.0.2.1"), .dst = fx_addr("198.51.100.7"),
		.sport = 443, .dport = 50000, .seq = 0xdeadbeef, .ack = 0x01020304,
		.flags = TCP_ACK, .window = 502, .ttl = 1, .tos = 0, .ipid = 0x7777,
		.ts = true, .tsval = 5, .tsecr = 6, .payload = &byte, .plen = 1,
	};

	return fx_tcp_seg(b, cap, &s);
}

static size_t
v6_probe(uint8_t *b, size_t cap)
{
	static const uint8_t byte = 'y';
	struct fx_seg s = {
		.src = fx_addr("2001:db8::1"), .dst = fx_addr("2001:db8:1::2"),
		.sport = 443, .dport = 40000, .seq = 0x80000000, .ack = 7,
		.flags = TCP_ACK, .window = 502, .ttl = 1, .tos = 0x20, .flowlabel = 0xabcde,
		.payload = &byte, .plen = 1,
	};

	return fx_tcp_seg(b, cap, &s);
}

static void
test_v4_icmp_more(void)
{
	uint8_t probe[128], b[256];
	struct tt_addr r = fx_addr("198.51.100.1"), srv = fx_addr("192.0.2.1");
	size_t plen = v4_probe(probe, sizeof(probe)), n;
	struct pkt p;
	const struct pkt_icmp *e = &p.u.icmp;

	n = fx_icmp(b, sizeof(b), &r, &srv, 254, 11, 0, 0, probe, plen);
	ok(pkt_parse(b, n, &p) == PKT_OK && e->kind == REPLY_TIME_EXCEEDED && e->qseq == 0xdeadbeef &&
	    e->qipid == 0x7777 && e->qsport == 443 && e->qdport == 50000 && e->qttl == 1 &&
	    addr_is(&e->qdst, "198.51.100.7"), "ICMP TE with the whole probe quoted: parsed");

	/* RFC 4884 style: the quote padded to 128 bytes, more bytes after it. */
	{
		uint8_t q[140];

		memset(q, 0, sizeof(q));
		memcpy(q, probe, plen);
		n = fx_icmp(b, sizeof(b), &r, &srv, 254, 11, 0, 32u << 16, q, sizeof(q));
		ok(pkt_parse(b, n, &p) == PKT_OK && e->qseq == 0xdeadbeef,
		    "ICMP TE with a padded quote and extension bytes: parsed");
	}

	n = fx_icmp(b, sizeof(b), &r, &srv, 60, 3, 4, 1400, probe, 28);
	ok(pkt_parse(b, n, &p) == PKT_OK, "ICMP frag-needed: parsed");
	is_int(e->kind, REPLY_PACKET_TOO_BIG, "ICMP frag-needed: kind packet-too-big");
	is_int(e->mtu, 1400, "ICMP frag-needed: MTU from bytes 6-7");
	ok(e->type == 3 && e->code == 4 && e->qseq == 0xdeadbeef, "ICMP frag-needed: type, code, quote");

	/* Bytes 4-5 are unused in frag-needed: junk there must not leak into the MTU. */
	n = fx_icmp(b, sizeof(b), &r, &srv, 60, 3, 4, 0xffff0000u | 576, probe, 28);
	ok(pkt_parse(b, n, &p) == PKT_OK && e->mtu == 576, "ICMP frag-needed: bytes 4-5 ignored");

	n = fx_icmp(b, sizeof(b), &r, &srv, 60, 3, 13, 0, probe, plen);
	ok(pkt_parse(b, n, &p) == PKT_OK && e->kind == REPLY_UNREACHABLE && e->code == 13 && e->mtu == 0,
	    "ICMP unreachable (admin prohibited): kind and code");
	n = fx_icmp(b, sizeof(b), &r, &srv, 60, 3, 1, 0, probe, 28);
	ok(pkt_parse(b, n, &p) == PKT_OK && e->kind == REPLY_UNREACHABLE && e->code == 1,
	    "ICMP host unreachable, 8-byte quote: parsed");

	n = fx_icmp(b, sizeof(b), &r, &srv, 60, 0, 0, 0, probe, 28);
	is_int(pkt_parse(b, n, &p), PKT_OTHER_PROTO, "ICMP echo reply: other protocol");
	n = fx_icmp(b, sizeof(b), &r, &srv, 60, 5, 1, 0, probe, 28);
	is_int(pkt_parse(b, n, &p), PKT_OTHER_PROTO, "ICMP redirect: other protocol");
}

static void
test_v6_icmp(void)
{
	uint8_t probe[128], b[256];
	struct tt_addr r = fx_addr("2001:db8:ff::1"), srv = fx_addr("2001:db8::1");
	size_t plen = v6_probe(probe, sizeof(probe)), n;
	struct pkt p;
	const struct pkt_icmp *e = &p.u.icmp;

	is_int(pkt_parse(v6_te_full, sizeof(v6_te_full), &p), PKT_OK, "ICMPv6 TE, whole quote: parsed");
	is_int(p.kind, PKT_ICMP, "ICMPv6 TE: kind");
	ok(e->kind == REPLY_TIME_EXCEEDED && e->type == 3 && e->code == 0, "ICMPv6 TE: time exceeded");
	ok(addr_is(&e->src, "2001:db8:ff::3") && addr_is(&e->dst, "2001:db8::1"), "ICMPv6 TE: the error's addresses");
	is_int(e->ttl, 61, "ICMPv6 TE: the error's hop limit");
	ok(addr_is(&e->qsrc, "2001:db8::1") && addr_is(&e->qdst, "2001:db8:1::2"), "ICMPv6 TE: quoted addresses");
	ok(e->qsport == 443 && e->qdport == 40000, "ICMPv6 TE: quoted ports");
	is_int(e->qseq, 0x1000, "ICMPv6 TE: quoted seq");
	is_int(e->qttl, 1, "ICMPv6 TE: quoted hop limit");
	is_int(e->qipid, 0, "ICMPv6 TE: no id");

	n = fx_icmp(b, sizeof(b), &r, &srv, 64, 2, 0, 1280, probe, plen);
	ok(pkt_parse(b, n, &p) == PKT_OK, "ICMPv6 packet too big: parsed");
	ok(e->kind == REPLY_PACKET_TOO_BIG && e->mtu == 1280 && e->qseq == 0x80000000,
	    "ICMPv6 packet too big: kind, MTU from bytes 4-7, quote");
	n = fx_icmp(b, sizeof(b), &r, &srv, 64, 2, 0, 0x00012345, probe, plen);
	ok(pkt_parse(b, n, &p) == PKT_OK && e->mtu == 0x12345, "ICMPv6 packet too big: a 32-bit MTU");

	n = fx_icmp(b, sizeof(b), &r, &srv, 64, 1, 1, 0, probe, plen);
	ok(pkt_parse(b, n, &p) == PKT_OK && e->kind == REPLY_UNREACHABLE && e->code == 1 &&
	    e->qseq == 0x80000000, "ICMPv6 unreachable (admin prohibited): kind, code, quote");
	n = fx_icmp(b, sizeof(b), &r, &srv, 64, 1, 4, 0, probe, 48);
	ok(pkt_parse(b, n, &p) == PKT_OK && e->kind == REPLY_UNREACHABLE && e->qdport == 40000,
	    "ICMPv6 unreachable with a 48-byte quote: parsed");

	n = fx_icmp(b, sizeof(b), &r, &srv, 64, 129, 0, 0, probe, 48);
	is_int(pkt_parse(b, n, &p), PKT_OTHER_PROTO, "ICMPv6 echo reply: other protocol");
	n = fx_icmp(b, sizeof(b), &r, &srv, 64, 4, 0, 0, probe, 48);
	is_int(pkt_parse(b, n, &p), PKT_OTHER_PROTO, "ICMPv6 parameter problem: other protocol");

	/* The quoted probe carried a hop-by-hop header: skipped in the quote too. */
	{
		uint8_t q[160];

		memcpy(q, probe, 40);
		q[6] = 0;
		fx_put16(q + 4, fx_get16(probe + 4) + 8);
		q[40] = 6, q[41] = 0, q[42] = 1, q[43] = 4;
		memset(q + 44, 0, 4);
		memcpy(q + 48, probe + 40, plen - 40);
		n = fx_icmp(b, sizeof(b), &r, &srv, 64, 3, 0, 0, q, plen + 8);
		ok(pkt_parse(b, n, &p) == PKT_OK && e->qseq == 0x80000000 && e->qdport == 40000,
		    "ICMPv6 TE quoting a probe with a hop-by-hop header: parsed");
		/* ... cut right after the extension header: no TCP bytes. */
		n = fx_icmp(b, sizeof(b), &r, &srv, 64, 3, 0, 0, q, 48);
		ok(pkt_parse(b, n, &p) != PKT_OK, "ICMPv6 TE quote cut after its hop-by-hop header: rejected");
	}
}

/*
 * Truncation: every prefix of a valid packet, as a heap copy of exactly that
 * size, is rejected. With lengths_fixed the IP length field is rewritten to
 * match the prefix, so only the bytes decide: then a prefix is accepted only
 * from min_ok bytes on.
 */
static void
test_truncation(const char *name, const uint8_t *pkt, size_t len, size_t min_ok)
{
	int accepted = 0, wrong = 0;
	size_t first_bad = 0;
	struct pkt p;

	for (size_t n = 0; n < len; n++)
		if (parse_copy(pkt, n, &p) == PKT_OK) {
			if (!accepted++)
				first_bad = n;
		}
	ok(accepted == 0, "%s: no prefix of %zu bytes is accepted", name, len);
	if (accepted)
		printf("#   %d prefixes accepted, the first %zu bytes long\n", accepted, first_bad);

	accepted = 0;
	for (size_t n = 0; n < len; n++) {
		uint8_t b[512];
		bool isok;

		memcpy(b, pkt, n);
		if (n >= 4 && pkt[0] >> 4 == 4)
			fx_put16(b + 2, (uint32_t)n);
		else if (n >= 6 && pkt[0] >> 4 == 6)
			fx_put16(b + 4, n >= 40 ? (uint32_t)(n - 40) : 0);
		isok = parse_copy(b, n, &p) == PKT_OK;
		if (isok != (n >= min_ok)) {
			if (!wrong++)
				first_bad = n;
		}
	}
	ok(wrong == 0, "%s: with the length field matching, accepted exactly from %zu bytes", name, min_ok);
	if (wrong)
		printf("#   %d lengths judged wrongly, the first %zu\n", wrong, first_bad);
}

static void
test_truncations(void)
{
	uint8_t probe[128], b[256];
	struct tt_addr r4 = fx_addr("198.51.100.1"), s4 = fx_addr("192.0.2.1");
	struct tt_addr r6 = fx_addr("2001:db8:ff::1"), s6 = fx_addr("2001:db8::1");
	size_t plen, n;
	struct pkt p;

	test_truncation("IPv4 TCP", v4_tcp, sizeof(v4_tcp), V4_TCP_HDRS);
	test_truncation("IPv6 TCP with hop-by-hop", v6_tcp_hbh, sizeof(v6_tcp_hbh), V6_TCP_HDRS);
	test_truncation("ICMP TE, 8-byte quote", v4_te_short, sizeof(v4_te_short), V4_TE_NEEDED);
	test_truncation("ICMPv6 TE, whole quote", v6_te_full, sizeof(v6_te_full), V6_TE_NEEDED);

	plen = v4_probe(probe, sizeof(probe));
	n = fx_icmp(b, sizeof(b), &r4, &s4, 60, 3, 4, 1400, probe, plen);
	test_truncation("ICMP frag-needed", b, n, V4_TE_NEEDED);
	plen = v6_probe(probe, sizeof(probe));
	n = fx_icmp(b, sizeof(b), &r6, &s6, 60, 2, 0, 1280, probe, plen);
	test_truncation("ICMPv6 packet too big", b, n, V6_TE_NEEDED);

	ok(pkt_parse(NULL, 0, &p) != PKT_OK, "NULL buffer: rejected");
	is_int(pkt_parse(v4_tcp, 0, &p), PKT_TRUNCATED, "zero bytes: truncated");
}

static void
test_rejections(void)
{
	uint8_t b[256], probe[128];
	struct tt_addr r4 = fx_addr("198.51.100.1"), s4 = fx_addr("192.0.2.1");
	struct tt_addr r6 = fx_addr("2001:db8:ff::1"), s6 = fx_addr("2001:db8::1");
	size_t n, plen;
	struct pkt p;

	memcpy(b, v4_tcp, sizeof(v4_tcp));
	b[0] = 0x44;
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_BAD_HEADER, "IPv4 IHL 4: bad header");
	b[0] = 0x40;
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_BAD_HEADER, "IPv4 IHL 0: bad header");
	b[0] = 0x4f;	/* 60 bytes of header: fits, but the total length (76) ... is still larger */
	fx_put16(b + 2, 40);
	ok(pkt_parse(b, sizeof(v4_tcp), &p) != PKT_OK, "IPv4 IHL 15 with total length 40: rejected");

	memcpy(b, v4_tcp, sizeof(v4_tcp));
	fx_put16(b + 2, sizeof(v4_tcp) + 1);
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_TRUNCATED, "IPv4 total length one more than the buffer: truncated");
	fx_put16(b + 2, 0xffff);
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_TRUNCATED, "IPv4 total length 65535: truncated");
	fx_put16(b + 2, 19);
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_BAD_HEADER, "IPv4 total length below the header: bad header");

	memcpy(b, v6_tcp_hbh, sizeof(v6_tcp_hbh));
	fx_put16(b + 4, sizeof(v6_tcp_hbh) - 40 + 1);
	is_int(pkt_parse(b, sizeof(v6_tcp_hbh), &p), PKT_TRUNCATED, "IPv6 payload length past the buffer: truncated");
	memcpy(b, v6_tcp_hbh, sizeof(v6_tcp_hbh));
	b[41] = 30;	/* the hop-by-hop header claims 248 bytes */
	is_int(pkt_parse(b, sizeof(v6_tcp_hbh), &p), PKT_TRUNCATED, "IPv6 extension header past the packet: truncated");

	/* Non-first fragments carry no TCP header. */
	{
		static const uint16_t frag[] = { 0x0001, 0x2001, 0x4001, 0x1fff, 0x00b9, 0x1000 };

		for (size_t i = 0; i < sizeof(frag) / sizeof(frag[0]); i++) {
			memcpy(b, v4_tcp, sizeof(v4_tcp));
			fx_put16(b + 6, frag[i]);
			is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_FRAGMENT,
			    "IPv4 flags/offset 0x%04x: non-first fragment", frag[i]);
		}
	}

	/* IPv6 fragment header, first or after hop-by-hop. */
	memcpy(b, v6_tcp_hbh, sizeof(v6_tcp_hbh));
	b[6] = 44;
	is_int(pkt_parse(b, sizeof(v6_tcp_hbh), &p), PKT_FRAGMENT, "IPv6 fragment header: fragment");
	memcpy(b, v6_tcp_hbh, sizeof(v6_tcp_hbh));
	b[40] = 44;
	is_int(pkt_parse(b, sizeof(v6_tcp_hbh), &p), PKT_FRAGMENT, "IPv6 fragment header after hop-by-hop: fragment");

	/* Version nibbles other than 4 and 6. */
	{
		static const uint8_t ver[] = { 0x05, 0x15, 0x55, 0x75, 0xf5, 0x45 ^ 0x40 };
		int bad = 0;

		for (size_t i = 0; i < sizeof(ver); i++) {
			memcpy(b, v4_tcp, sizeof(v4_tcp));
			b[0] = ver[i];
			if (pkt_parse(b, sizeof(v4_tcp), &p) != PKT_BAD_VERSION)
				bad++;
		}
		memcpy(b, v6_tcp_hbh, sizeof(v6_tcp_hbh));
		b[0] = 0x7b;
		if (pkt_parse(b, sizeof(v6_tcp_hbh), &p) != PKT_BAD_VERSION)
			bad++;
		is_int(bad, 0, "version nibbles 0, 1, 5, 7, 15: bad version");
	}

	/* TCP data offset out of range. */
	memcpy(b, v4_tcp, sizeof(v4_tcp));
	b[32] = 0x40;
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_BAD_HEADER, "TCP data offset 4: bad header");
	b[32] = 0xf0;	/* 60 bytes of TCP header, 56 present */
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_TRUNCATED, "TCP data offset past the packet: truncated");

	/* Not TCP, not ICMP. */
	memcpy(b, v4_tcp, sizeof(v4_tcp));
	b[9] = 17;
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_OTHER_PROTO, "IPv4 UDP: other protocol");
	b[9] = 58;
	is_int(pkt_parse(b, sizeof(v4_tcp), &p), PKT_OTHER_PROTO, "IPv4 carrying protocol 58: other protocol");
	memcpy(b, v6_tcp_hbh, sizeof(v6_tcp_hbh));
	b[40] = 1;
	is_int(pkt_parse(b, sizeof(v6_tcp_hbh), &p), PKT_OTHER_PROTO, "IPv6 carrying protocol 1: other protocol");

	/* Quotes. */
	memcpy(b, v4_te_short, sizeof(v4_te_short));
	b[28 + 9] = 17;
	is_int(pkt_parse(b, sizeof(v4_te_short), &p), PKT_BAD_QUOTE, "ICMP quoting UDP: bad quote");
	memcpy(b, v6_te_full, sizeof(v6_te_full));
	b[48 + 6] = 17;
	is_int(pkt_parse(b, sizeof(v6_te_full), &p), PKT_BAD_QUOTE, "ICMPv6 quoting UDP: bad quote");
	memcpy(b, v6_te_full, sizeof(v6_te_full));
	b[48 + 6] = 44;
	is_int(pkt_parse(b, sizeof(v6_te_full), &p), PKT_BAD_QUOTE, "ICMPv6 quoting a fragment: bad quote");
	memcpy(b, v4_te_short, sizeof(v4_te_short));
	fx_put16(b + 28 + 6, 0x0010);
	is_int(pkt_parse(b, sizeof(v4_te_short), &p), PKT_BAD_QUOTE, "ICMP quoting a non-first fragment: bad quote");

	/* Quotes cut shorter than 8 TCP bytes, with consistent outer lengths. */
	{
		int bad = 0;

		for (size_t cut = 0; cut < 8; cut++) {
			memcpy(b, v4_te_short, sizeof(v4_te_short));
			fx_put16(b + 2, (uint32_t)(48 + cut));
			if (pkt_parse(b, 48 + cut, &p) != PKT_BAD_QUOTE)
				bad++;
		}
		is_int(bad, 0, "ICMP quotes with 0..7 TCP bytes: bad quote");
	}
	plen = v6_probe(probe, sizeof(probe));
	n = fx_icmp(b, sizeof(b), &r6, &s6, 64, 3, 0, 0, probe, 47);
	is_int(pkt_parse(b, n, &p), PKT_BAD_QUOTE, "ICMPv6 quote with 7 TCP bytes: bad quote");
	n = fx_icmp(b, sizeof(b), &r6, &s6, 64, 3, 0, 0, probe, 48);
	is_int(pkt_parse(b, n, &p), PKT_OK, "ICMPv6 quote with exactly 8 TCP bytes: parsed");

	/* The quote's own IP header. */
	plen = v4_probe(probe, sizeof(probe));
	probe[0] = 0x44;
	n = fx_icmp(b, sizeof(b), &r4, &s4, 64, 11, 0, 0, probe, plen);
	ok(pkt_parse(b, n, &p) != PKT_OK, "ICMP quoting an IHL 4 header: rejected");
	probe[0] = 0x55;
	n = fx_icmp(b, sizeof(b), &r4, &s4, 64, 11, 0, 0, probe, plen);
	ok(pkt_parse(b, n, &p) != PKT_OK, "ICMP quoting version 5: rejected");
	probe[0] = 0x47;	/* 28-byte header: only 1 TCP byte after it in a 29-byte quote */
	n = fx_icmp(b, sizeof(b), &r4, &s4, 64, 11, 0, 0, probe, 29);
	is_int(pkt_parse(b, n, &p), PKT_BAD_QUOTE, "ICMP quote with IP options leaving 1 TCP byte: bad quote");

	/* Family mismatch: an ICMPv4 error quoting IPv6, and the other way round. */
	plen = v6_probe(probe, sizeof(probe));
	n = fx_icmp(b, sizeof(b), &r4, &s4, 64, 11, 0, 0, probe, plen);
	is_int(pkt_parse(b, n, &p), PKT_BAD_QUOTE, "ICMP quoting an IPv6 packet: bad quote");
	plen = v4_probe(probe, sizeof(probe));
	n = fx_icmp(b, sizeof(b), &r6, &s6, 64, 3, 0, 0, probe, plen);
	is_int(pkt_parse(b, n, &p), PKT_BAD_QUOTE, "ICMPv6 quoting an IPv4 packet: bad quote");

	/* An ICMP error shorter than its own 8-byte header. */
	memcpy(b, v4_te_short, 27);
	fx_put16(b + 2, 27);
	is_int(pkt_parse(b, 27, &p), PKT_TRUNCATED, "ICMP with 7 bytes of ICMP header: truncated");
}

/* An MPLS label stack entry (RFC 3032): label 20 bits, TC/EXP 3, bottom of stack 1, TTL 8. */
static uint32_t
lse(uint32_t label, uint32_t exp, uint32_t s, uint32_t ttl)
{
	return label << 12 | exp << 9 | s << 8 | ttl;
}

/* Writes the checksum of the extension structure at b (RFC 4884 section 7). */
static void
ext_csum(uint8_t *b, size_t len)
{
	fx_put16(b + 2, 0);
	fx_put16(b + 2, fx_csum(b, len, 0));
}

/*
 * An extension structure: a header of version 2, then one MPLS object of n
 * entries, with its checksum computed when csum. Returns its length.
 */
static size_t
ext_mpls(uint8_t *b, const uint32_t *lses, int n, bool csum)
{
	size_t len = 8 + (size_t)n * 4;

	b[0] = 0x20, b[1] = 0, b[2] = 0, b[3] = 0;
	fx_put16(b + 4, (uint32_t)(4 + n * 4));
	b[6] = 1, b[7] = 1;
	for (int i = 0; i < n; i++)
		fx_put32(b + 8 + i * 4, lses[i]);
	if (csum)
		ext_csum(b, len);
	return len;
}

static const uint32_t two_labels[] = { 0x5dc1001, 0xfffffbff };	/* as in v4_te_mpls */

/*
 * An ICMP or ICMPv6 error (by r's family) of the given type, second word
 * `word` (where the length field is), quoting probe cut or zero-padded to
 * pad bytes, then elen bytes of extension.
 */
static size_t
icmp_ext(uint8_t *b, size_t cap, const struct tt_addr *r, const struct tt_addr *s, uint8_t type,
    uint8_t code, uint32_t word, const uint8_t *probe, size_t plen, size_t pad,
    const uint8_t *ext, size_t elen)
{
	uint8_t q[1024];

	if (pad + elen > sizeof(q))
		abort();
	memset(q, 0, pad);
	memcpy(q, probe, plen < pad ? plen : pad);
	memcpy(q + pad, ext, elen);
	return fx_icmp(b, cap, r, s, 250, type, code, word, q, pad + elen);
}

/* True if e holds no extension at all. */
static bool
no_ext(const struct pkt_icmp *e)
{
	return !e->has_ext && !e->rfc4884 && e->nobj == 0 && e->nmpls == 0 &&
	    e->mpls[0].label == 0 && e->obj[0].class_num == 0;
}

/* True if e holds exactly the stack of v4_te_mpls in one MPLS object. */
static bool
two_label_ext(const struct pkt_icmp *e)
{
	return e->has_ext && !e->ext_bad && e->nobj == 1 && e->obj[0].class_num == 1 &&
	    e->obj[0].c_type == 1 && e->nmpls == 2 &&
	    e->mpls[0].label == 24001 && e->mpls[0].exp == 0 && e->mpls[0].s == 0 && e->mpls[0].ttl == 1 &&
	    e->mpls[1].label == 1048575 && e->mpls[1].exp == 5 && e->mpls[1].s == 1 && e->mpls[1].ttl == 255;
}

static void
test_ext_compliant(void)
{
	uint8_t probe[256], ext[128], b[512];
	struct tt_addr r4 = fx_addr("198.51.100.1"), s4 = fx_addr("192.0.2.1");
	struct tt_addr r6 = fx_addr("2001:db8:ff::1"), s6 = fx_addr("2001:db8::1");
	size_t plen, elen, n;
	struct pkt p;
	const struct pkt_icmp *e = &p.u.icmp;

	is_int(parse_copy(v4_te_mpls, sizeof(v4_te_mpls), &p), PKT_OK, "ICMP TE with MPLS extension: parsed");
	ok(e->kind == REPLY_TIME_EXCEEDED && e->qsport == 80 && e->qdport == 50000 &&
	    e->qseq == 0x11223340 && e->qipid == 0x0102 && e->qttl == 1 &&
	    addr_is(&e->qdst, "198.51.100.7"), "ICMP TE with MPLS extension: the quote as usual");
	ok(e->has_ext && e->rfc4884 && !e->ext_bad, "ICMP TE with MPLS extension: RFC 4884 extension found");
	ok(two_label_ext(e), "ICMP TE with MPLS extension: two labels, 24001/0/0/1 and 1048575/5/1/255");

	/* The same with the checksum not computed. */
	{
		uint8_t c[sizeof(v4_te_mpls)];

		memcpy(c, v4_te_mpls, sizeof(c));
		fx_put16(c + V4_TE_MPLS_EXT + 2, 0);
		ok(parse_copy(c, sizeof(c), &p) == PKT_OK && e->rfc4884 && two_label_ext(e),
		    "extension checksum 0 (not computed): accepted");
	}

	/* IPv6: length field byte 4, in 64-bit words. */
	plen = v6_probe(probe, sizeof(probe));
	elen = ext_mpls(ext, two_labels, 2, true);
	n = icmp_ext(b, sizeof(b), &r6, &s6, 3, 0, 16u << 24, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->qseq == 0x80000000 && e->qdport == 40000,
	    "ICMPv6 TE with MPLS extension: parsed, quote as usual");
	ok(e->rfc4884 && two_label_ext(e), "ICMPv6 TE with MPLS extension: two labels");
	n = icmp_ext(b, sizeof(b), &r6, &s6, 1, 4, 16u << 24, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->kind == REPLY_UNREACHABLE && two_label_ext(e),
	    "ICMPv6 unreachable with MPLS extension: two labels");
	/* 17 words: 136 bytes of quote before the extension. */
	n = icmp_ext(b, sizeof(b), &r6, &s6, 3, 0, 17u << 24, probe, plen, 136, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->rfc4884 && two_label_ext(e),
	    "ICMPv6 TE, 136-byte original datagram: extension after it");
	/* Packet too big has no length field: the same bytes are no extension. */
	n = icmp_ext(b, sizeof(b), &r6, &s6, 2, 0, 1280, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->mtu == 1280 && no_ext(e) && !e->ext_bad,
	    "ICMPv6 packet too big with bytes after 128 of quote: no extension");

	/* IPv4 unreachable and frag-needed (length in byte 5, MTU in bytes 6-7). */
	plen = v4_probe(probe, sizeof(probe));
	n = icmp_ext(b, sizeof(b), &r4, &s4, 3, 13, 32u << 16, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->kind == REPLY_UNREACHABLE && e->rfc4884 &&
	    two_label_ext(e), "ICMP unreachable with MPLS extension: two labels");
	n = icmp_ext(b, sizeof(b), &r4, &s4, 3, 4, 32u << 16 | 1400, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->kind == REPLY_PACKET_TOO_BIG && e->mtu == 1400 &&
	    two_label_ext(e), "ICMP frag-needed with MPLS extension: MTU and two labels");
	/* A 140-byte original datagram (35 words). */
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 35u << 16, probe, plen, 140, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->rfc4884 && two_label_ext(e),
	    "ICMP TE, 140-byte original datagram: extension after it");

	/* A probe longer than 128 bytes, cut at 128: the extension is not part of the quote. */
	{
		uint8_t payload[100];
		struct fx_seg sg = {
			.src = fx_addr("192.0.2.1"), .dst = fx_addr("198.51.100.7"),
			.sport = 443, .dport = 50000, .seq = 0xfeedf00d, .flags = TCP_ACK,
			.ttl = 1, .payload = payload, .plen = sizeof(payload),
		};

		memset(payload, 'z', sizeof(payload));
		plen = fx_tcp_seg(probe, sizeof(probe), &sg);
		n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 32u << 16, probe, plen, 128, ext, elen);
		ok(parse_copy(b, n, &p) == PKT_OK && e->qseq == 0xfeedf00d && two_label_ext(e),
		    "ICMP TE quoting 128 bytes of a 160-byte probe, with extension: parsed");
	}

	/* An IPv6 probe whose 88-byte hop-by-hop header leaves no TCP in 128 bytes. */
	{
		uint8_t q[256];

		plen = v6_probe(probe, sizeof(probe));
		memcpy(q, probe, 40);
		q[6] = 0;
		fx_put16(q + 4, fx_get16(probe + 4) + 88);
		memset(q + 40, 0, 88);
		q[40] = 6, q[41] = 10, q[42] = 1, q[43] = 84;	/* next TCP, 88 bytes, PadN */
		memcpy(q + 128, probe + 40, plen - 40);
		n = icmp_ext(b, sizeof(b), &r6, &s6, 3, 0, 16u << 24, q, 128, 128, ext, elen);
		is_int(parse_copy(b, n, &p), PKT_BAD_QUOTE,
		    "ICMPv6 TE whose original datagram ends before TCP: extension bytes not read as TCP");
		/* ... while the full quote without extension parses. */
		n = fx_icmp(b, sizeof(b), &r6, &s6, 64, 3, 0, 0, q, plen + 88);
		ok(parse_copy(b, n, &p) == PKT_OK && e->qseq == 0x80000000 && no_ext(e) && !e->ext_bad,
		    "ICMPv6 TE quoting the same probe whole: parsed, no extension");
	}
}

static void
test_ext_legacy(void)
{
	uint8_t probe[256], ext[128], b[512];
	struct tt_addr r4 = fx_addr("198.51.100.1"), s4 = fx_addr("192.0.2.1");
	struct tt_addr r6 = fx_addr("2001:db8:ff::1"), s6 = fx_addr("2001:db8::1");
	size_t plen, elen, n;
	struct pkt p;
	const struct pkt_icmp *e = &p.u.icmp;

	/* Length field 0, the extension right after 128 bytes of quote. */
	plen = v4_probe(probe, sizeof(probe));
	elen = ext_mpls(ext, two_labels, 2, true);
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->qseq == 0xdeadbeef, "ICMP TE, legacy extension: parsed");
	ok(!e->rfc4884 && two_label_ext(e), "ICMP TE, legacy extension: found, rfc4884 0, two labels");
	n = icmp_ext(b, sizeof(b), &r4, &s4, 3, 4, 1400, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->mtu == 1400 && !e->rfc4884 && two_label_ext(e),
	    "ICMP frag-needed, legacy extension: MTU and two labels");
	plen = v6_probe(probe, sizeof(probe));
	n = icmp_ext(b, sizeof(b), &r6, &s6, 3, 0, 0, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && !e->rfc4884 && two_label_ext(e),
	    "ICMPv6 TE, legacy extension: found, rfc4884 0, two labels");

	/* Without a computed, correct checksum the bytes are taken for quote. */
	plen = v4_probe(probe, sizeof(probe));
	elen = ext_mpls(ext, two_labels, 2, false);
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && !e->ext_bad,
	    "ICMP TE, legacy form with checksum 0: no extension, nothing bad");
	elen = ext_mpls(ext, two_labels, 2, true);
	ext[3] ^= 1;
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && !e->ext_bad,
	    "ICMP TE, legacy form with a wrong checksum: no extension, nothing bad");
	elen = ext_mpls(ext, two_labels, 2, false);
	ext[0] = 0x10;
	ext_csum(ext, elen);
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && !e->ext_bad,
	    "ICMP TE, legacy form with version 1: no extension, nothing bad");
	/* A sound header but a broken object: an extension, malformed. */
	elen = ext_mpls(ext, two_labels, 2, false);
	fx_put16(ext + 4, 16);
	ext_csum(ext, elen);
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && e->ext_bad && e->qseq == 0xdeadbeef,
	    "ICMP TE, legacy form, object past the end: ext_bad, quote kept");
	/* An odd byte after the object, covered by a right checksum: malformed, not quote. */
	elen = ext_mpls(ext, two_labels, 2, false);
	ext[elen++] = 0x5a;
	ext_csum(ext, elen);
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && e->ext_bad,
	    "ICMP TE, legacy form, an odd byte after the object: ext_bad");
	/* Quotes of exactly 128 bytes, or fewer than 4 bytes after them: no extension. */
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, 0);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && !e->ext_bad, "ICMP TE, 128-byte quote: no extension");
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, 3);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && !e->ext_bad, "ICMP TE, 131-byte quote: no extension");
	/* A whole quote longer than 128 bytes is not an extension. */
	{
		uint8_t payload[120];
		struct fx_seg sg = {
			.src = fx_addr("192.0.2.1"), .dst = fx_addr("198.51.100.7"),
			.sport = 443, .dport = 50000, .seq = 0xfeedf00d, .flags = TCP_ACK,
			.ttl = 1, .payload = payload, .plen = sizeof(payload),
		};

		memset(payload, 0x20, sizeof(payload));
		plen = fx_tcp_seg(probe, sizeof(probe), &sg);
		n = fx_icmp(b, sizeof(b), &r4, &s4, 60, 11, 0, 0, probe, plen);
		ok(parse_copy(b, n, &p) == PKT_OK && e->qseq == 0xfeedf00d && no_ext(e) && !e->ext_bad,
		    "ICMP TE quoting a whole 160-byte probe: no extension");
	}
}

/* Parses v4_te_mpls with its extension (from byte V4_TE_MPLS_EXT) replaced by ext. */
static enum pkt_err
v4_with_ext(const uint8_t *ext, size_t elen, struct pkt *p)
{
	uint8_t b[sizeof(v4_te_mpls) + 64];
	size_t n = V4_TE_MPLS_EXT + elen;

	if (elen > 80)
		abort();
	memcpy(b, v4_te_mpls, V4_TE_MPLS_EXT);
	memcpy(b + V4_TE_MPLS_EXT, ext, elen);
	fx_put16(b + 2, (uint32_t)n);
	fx_put16(b + 22, 0);
	fx_put16(b + 22, fx_csum(b + 20, n - 20, 0));
	return parse_copy(b, n, p);
}

static void
test_ext_malformed(void)
{
	uint8_t ext[80];
	size_t elen;
	struct pkt p;
	const struct pkt_icmp *e = &p.u.icmp;

#define EXT_REJECTED(what) ok(v4_with_ext(ext, elen, &p) == PKT_OK && e->qseq == 0x11223340 && \
	e->qsport == 80 && no_ext(e) && e->ext_bad, "extension with %s: rejected, quote kept", what)

	elen = ext_mpls(ext, two_labels, 2, true);
	ok(v4_with_ext(ext, elen, &p) == PKT_OK && two_label_ext(e), "extension rebuilt by the test: accepted");
	ext[elen - 1] ^= 0x40;
	EXT_REJECTED("a wrong checksum");
	elen = ext_mpls(ext, two_labels, 2, false);
	ext[0] = 0x10;
	ext_csum(ext, elen);
	EXT_REJECTED("version 1");
	ext[0] = 0x30;
	ext_csum(ext, elen);
	EXT_REJECTED("version 3");
	ext[0] = 0x2f, ext[1] = 0xff;	/* reserved bits are ignored */
	ext_csum(ext, elen);
	ok(v4_with_ext(ext, elen, &p) == PKT_OK && two_label_ext(e), "extension with reserved bits set: accepted");

	{
		static const struct { uint16_t len; const char *what; } bad[] = {
			{ 0, "object length 0" }, { 2, "object length 2" }, { 3, "object length 3" },
			{ 6, "object length 6 (not a multiple of 4)" }, { 14, "object length 14" },
			{ 16, "object length past the end" }, { 0xfffc, "object length 65532" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			elen = ext_mpls(ext, two_labels, 2, false);
			fx_put16(ext + 4, bad[i].len);
			ext_csum(ext, elen);
			EXT_REJECTED(bad[i].what);
			elen = ext_mpls(ext, two_labels, 2, false);
			fx_put16(ext + 4, bad[i].len);
			EXT_REJECTED(bad[i].what);	/* and with no checksum */
		}
	}

	/* Bad lengths that would otherwise land on a well-formed object. */
	{
		static const uint8_t len2[] = { 0x20, 0, 0, 0, 0x00, 0x02, 0x00, 0x04, 0x01, 0x01 };
		static const uint8_t len6[] = { 0x20, 0, 0, 0, 0x00, 0x06, 0x01, 0x01, 0, 0,
			0x00, 0x08, 0x01, 0x01, 0x05, 0xdc, 0x11, 0x01 };

		memcpy(ext, len2, sizeof(len2));
		elen = sizeof(len2);
		EXT_REJECTED("object length 2, then a 4-byte object");
		memcpy(ext, len6, sizeof(len6));
		elen = sizeof(len6);
		EXT_REJECTED("object length 6, then an 8-byte object");
	}

	/* The header alone: no object. */
	ext[0] = 0x20, ext[1] = 0, ext[2] = 0, ext[3] = 0;
	elen = 4;
	EXT_REJECTED("no object");
	/* 1 to 3 bytes after the last object. */
	for (size_t extra = 1; extra < 4; extra++) {
		elen = ext_mpls(ext, two_labels, 2, false);
		memset(ext + elen, 0, extra);
		elen += extra;
		ext_csum(ext, elen);
		EXT_REJECTED("bytes after the last object");
	}
	/* A second object running past the end. */
	elen = ext_mpls(ext, two_labels, 2, false);
	fx_put16(ext + elen, 8);
	ext[elen + 2] = 2, ext[elen + 3] = 1;
	elen += 4;
	ext_csum(ext, elen);
	EXT_REJECTED("a second object past the end");

#undef EXT_REJECTED
}

static void
test_ext_objects(void)
{
	uint8_t ext[80], probe[128], b[512];
	uint32_t ten[10];
	struct tt_addr r4 = fx_addr("198.51.100.1"), s4 = fx_addr("192.0.2.1");
	size_t elen, plen, n;
	struct pkt p;
	const struct pkt_icmp *e = &p.u.icmp;

	/* More than PKT_MAX_MPLS entries: the top 8 kept. */
	for (int i = 0; i < 10; i++)
		ten[i] = lse(1000 + (uint32_t)i, (uint32_t)i % 8, i == 9, 64 - (uint32_t)i);
	elen = ext_mpls(ext, ten, 10, true);
	ok(v4_with_ext(ext, elen, &p) == PKT_OK && e->has_ext && !e->ext_bad && e->nmpls == PKT_MAX_MPLS &&
	    e->mpls[0].label == 1000 && e->mpls[7].label == 1007 && e->mpls[7].exp == 7 &&
	    e->mpls[7].s == 0 && e->mpls[7].ttl == 57 && e->nobj == 1,
	    "MPLS stack of 10 entries: the top %d kept", PKT_MAX_MPLS);

	/* An empty MPLS object, and one of another c-type. */
	elen = ext_mpls(ext, ten, 0, true);
	ok(v4_with_ext(ext, elen, &p) == PKT_OK && e->has_ext && e->nobj == 1 && e->nmpls == 0,
	    "an MPLS object without entries: an extension, no labels");
	elen = ext_mpls(ext, two_labels, 2, false);
	ext[7] = 2;
	ext_csum(ext, elen);
	ok(v4_with_ext(ext, elen, &p) == PKT_OK && e->has_ext && e->nobj == 1 && e->obj[0].class_num == 1 &&
	    e->obj[0].c_type == 2 && e->nmpls == 0, "class 1 c-type 2: an object, not labels");

	/* An interface information object (RFC 5837, class 2) before the MPLS one. */
	elen = ext_mpls(ext, two_labels, 2, false);
	memmove(ext + 12, ext + 4, elen - 4);
	fx_put16(ext + 4, 8);
	ext[6] = 2, ext[7] = 0x0a;
	fx_put32(ext + 8, 7);
	elen += 8;
	ext_csum(ext, elen);
	ok(v4_with_ext(ext, elen, &p) == PKT_OK && e->has_ext && e->nobj == 2 &&
	    e->obj[0].class_num == 2 && e->obj[0].c_type == 0x0a && e->obj[1].class_num == 1 &&
	    e->obj[1].c_type == 1 && e->nmpls == 2 && e->mpls[1].label == 1048575,
	    "an interface object, then MPLS: both objects, two labels");

	/* Six objects: all counted, the first PKT_MAX_EXT_OBJ kept; MPLS entries from two of them. */
	ext[0] = 0x20, ext[1] = 0;
	for (int i = 0; i < 6; i++) {
		fx_put16(ext + 4 + i * 8, 8);
		ext[6 + i * 8] = i % 3 == 0 ? 1 : 0x80 + (uint8_t)i;
		ext[7 + i * 8] = 1;
		fx_put32(ext + 8 + i * 8, lse(2000 + (uint32_t)i, 0, 1, 1));
	}
	elen = 4 + 6 * 8;
	ext_csum(ext, elen);
	ok(v4_with_ext(ext, elen, &p) == PKT_OK && e->has_ext && e->nobj == 6 &&
	    e->obj[PKT_MAX_EXT_OBJ - 1].class_num == 1 && e->obj[1].class_num == 0x81 &&
	    e->nmpls == 2 && e->mpls[0].label == 2000 && e->mpls[1].label == 2003,
	    "six objects: counted, the first %d kept, labels from both MPLS objects", PKT_MAX_EXT_OBJ);

	/* The length field, where it is not usable. */
	plen = v4_probe(probe, sizeof(probe));
	elen = ext_mpls(ext, two_labels, 2, true);
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 16u << 16, probe, plen, 64, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->qseq == 0xdeadbeef && no_ext(e) && e->ext_bad,
	    "length field 16 words (64 bytes, below 128): ext_bad, quote kept");
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 40u << 16, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && e->qseq == 0xdeadbeef && no_ext(e) && e->ext_bad,
	    "length field 40 words, past the end: ext_bad, quote kept");
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 255u << 16, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && e->ext_bad, "length field 255 words: ext_bad");
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 32u << 16, probe, plen, 128, ext, 0);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && !e->ext_bad,
	    "length field 32 words and nothing after the quote: no extension, nothing bad");
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 31u << 16, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && no_ext(e) && e->ext_bad,
	    "length field one word short of the extension: ext_bad");
	/* Byte 4 is not the length in ICMPv4. */
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 32u << 24, probe, plen, 128, ext, elen);
	ok(parse_copy(b, n, &p) == PKT_OK && !e->rfc4884 && two_label_ext(e),
	    "ICMP with byte 4 set, byte 5 zero: the legacy form, not byte 4");
}

/* Packets without extensions say so, whatever they carry. */
static void
test_ext_absent(void)
{
	struct pkt p;
	const struct pkt_icmp *e = &p.u.icmp;

	ok(pkt_parse(v4_te_short, sizeof(v4_te_short), &p) == PKT_OK && no_ext(e) && !e->ext_bad,
	    "ICMP TE, 8-byte quote: no extension");
	ok(pkt_parse(v6_te_full, sizeof(v6_te_full), &p) == PKT_OK && no_ext(e) && !e->ext_bad,
	    "ICMPv6 TE, whole quote: no extension");
}

/*
 * Every prefix of an error with an extension, its IP length field matching:
 * the quote is parsed from min_ok bytes on, the extension only when whole.
 */
static void
test_ext_truncation(const char *name, const uint8_t *pkt, size_t len, size_t min_ok)
{
	int wrong = 0;
	size_t first_bad = 0;

	for (size_t n = 0; n <= len; n++) {
		uint8_t b[512];
		struct pkt p;
		enum pkt_err err;
		bool good;

		memcpy(b, pkt, n);
		if (n >= 4 && pkt[0] >> 4 == 4)
			fx_put16(b + 2, (uint32_t)n);
		else if (n >= 6 && pkt[0] >> 4 == 6)
			fx_put16(b + 4, n >= 40 ? (uint32_t)(n - 40) : 0);
		err = parse_copy(b, n, &p);
		if (n < min_ok)
			good = err != PKT_OK;
		else if (n < len)
			good = err == PKT_OK && no_ext(&p.u.icmp);
		else
			good = err == PKT_OK && two_label_ext(&p.u.icmp);
		if (!good && !wrong++)
			first_bad = n;
	}
	ok(wrong == 0, "%s: every prefix judged right, the extension only whole", name);
	if (wrong)
		printf("#   %d lengths judged wrongly, the first %zu\n", wrong, first_bad);
}

static void
test_ext_truncations(void)
{
	uint8_t probe[128], ext[64], b[512];
	struct tt_addr r4 = fx_addr("198.51.100.1"), s4 = fx_addr("192.0.2.1");
	struct tt_addr r6 = fx_addr("2001:db8:ff::1"), s6 = fx_addr("2001:db8::1");
	size_t plen, elen, n;

	test_truncation("ICMP TE with MPLS extension", v4_te_mpls, sizeof(v4_te_mpls), V4_TE_NEEDED);
	test_ext_truncation("ICMP TE with MPLS extension", v4_te_mpls, sizeof(v4_te_mpls), V4_TE_NEEDED);
	{
		uint8_t c[sizeof(v4_te_mpls)];

		memcpy(c, v4_te_mpls, sizeof(c));
		fx_put16(c + V4_TE_MPLS_EXT + 2, 0);
		test_ext_truncation("ICMP TE with MPLS extension, checksum 0", c, sizeof(c), V4_TE_NEEDED);
	}
	plen = v4_probe(probe, sizeof(probe));
	elen = ext_mpls(ext, two_labels, 2, true);
	n = icmp_ext(b, sizeof(b), &r4, &s4, 11, 0, 0, probe, plen, 128, ext, elen);
	test_ext_truncation("ICMP TE with legacy MPLS extension", b, n, V4_TE_NEEDED);
	plen = v6_probe(probe, sizeof(probe));
	n = icmp_ext(b, sizeof(b), &r6, &s6, 3, 0, 16u << 24, probe, plen, 128, ext, elen);
	test_truncation("ICMPv6 TE with MPLS extension", b, n, V6_TE_NEEDED);
	test_ext_truncation("ICMPv6 TE with MPLS extension", b, n, V6_TE_NEEDED);
	n = icmp_ext(b, sizeof(b), &r6, &s6, 3, 0, 0, probe, plen, 128, ext, elen);
	test_ext_truncation("ICMPv6 TE with legacy MPLS extension", b, n, V6_TE_NEEDED);
}

/*
 * A segment whose option area (up to 40 bytes) is opt, then plen bytes of
 * payload; as an exact heap copy, so an option walk past the end is caught.
 */
static enum pkt_err
with_options(const uint8_t *opt, size_t olen, size_t plen, struct pkt *p)
{
	uint8_t b[20 + 60 + 2];
	size_t tcplen = 20 + ((olen + 3) & ~(size_t)3);

	memcpy(b, v4_tcp, 40);
	memset(b + 40, 0, tcplen - 20);
	memcpy(b + 40, opt, olen);
	b[32] = (uint8_t)((tcplen / 4) << 4);
	b[20 + tcplen] = 'o';
	b[21 + tcplen] = 'k';
	fx_put16(b + 2, (uint32_t)(20 + tcplen + plen));
	return parse_copy(b, 20 + tcplen + plen, p);
}

static void
test_tcp_options(void)
{
	static const struct {
		const char *name;
		uint8_t opt[40];
		size_t len;
		bool ts;
		int nsack;
	} cases[] = {
		{ "timestamps length 0", { 8, 0, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 }, 12, false, 0 },
		{ "timestamps length 1", { 8, 1, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 }, 12, false, 0 },
		{ "length 1, then what would be timestamps", { 8, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 }, 12, false, 0 },
		{ "length 0, then what would be timestamps", { 30, 0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 }, 12, false, 0 },
		{ "NOP then length 0 then timestamps", { 1, 30, 0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0 }, 16, false, 0 },
		{ "timestamps length 8", { 8, 8, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1 }, 12, false, 0 },
		{ "timestamps length 12", { 8, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0 }, 12, false, 0 },
		{ "timestamps running past the header", { 1, 1, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0 }, 12, false, 0 },
		{ "kind 8 as the last byte, no length", { 1, 1, 1, 8 }, 4, false, 0 },
		{ "unknown option running past the header", { 30, 40, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 }, 12, false, 0 },
		{ "unknown option length 255", { 254, 255, 0, 0 }, 4, false, 0 },
		{ "EOL then timestamps", { 0, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 }, 12, false, 0 },
		{ "SACK length 0", { 5, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0 }, 12, false, 0 },
		{ "SACK length 9", { 5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0 }, 12, false, 0 },
		{ "SACK length 18 with 12 bytes left", { 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0 }, 12, false, 0 },
		{ "MSS, window scale, timestamps", { 2, 4, 5, 0xb4, 3, 3, 7, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0 }, 20, true, 0 },
		{ "four SACK blocks", { 1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
		    0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8 }, 36, false, 4 },
	};
	struct pkt p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum pkt_err e = with_options(cases[i].opt, cases[i].len, 2, &p);

		ok(e == PKT_OK && p.u.tcp.has_ts == cases[i].ts && p.u.tcp.nsack == cases[i].nsack &&
		    p.u.tcp.payload_len == 2, "TCP options, %s: parsed, has_ts %d, %d SACK blocks",
		    cases[i].name, cases[i].ts, cases[i].nsack);
		/* Again with the packet ending where the options end. */
		e = with_options(cases[i].opt, cases[i].len, 0, &p);
		ok(e == PKT_OK && p.u.tcp.has_ts == cases[i].ts && p.u.tcp.payload_len == 0,
		    "TCP options, %s, no payload after: the same", cases[i].name);
	}
	with_options(cases[16].opt, cases[16].len, 2, &p);
	ok(p.u.tcp.sack[3][0] == 7 && p.u.tcp.sack[3][1] == 8 && p.u.tcp.sack[0][0] == 1,
	    "TCP options: SACK block edges in order");
	with_options(cases[15].opt, cases[15].len, 2, &p);
	ok(p.u.tcp.tsval == 1 && p.u.tcp.tsecr == 2, "TCP options: timestamps after MSS and window scale");
}

/* The extension fields of a parse, in range and consistent whatever the bytes were. */
static bool
icmp_sane(const struct pkt_icmp *e)
{
	if (e->nmpls < 0 || e->nmpls > PKT_MAX_MPLS || e->nobj < 0)
		return false;
	if (!e->has_ext)
		return no_ext(e);
	if (e->ext_bad || e->nobj == 0)
		return false;
	for (int i = 0; i < e->nmpls; i++)
		if (e->mpls[i].label > 0xfffff || e->mpls[i].exp > 7 || e->mpls[i].s > 1)
			return false;
	return true;
}

/*
 * Every byte of every fixture set to a few telling values: no crash, no read
 * past the buffer (run under valgrind or ASan), and sane results when accepted.
 */
static void
test_mutations(void)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x02, 0x05, 0x08, 0x0a, 0x2c, 0x3a, 0x40, 0x45,
		0x4f, 0x60, 0x7f, 0x80, 0xfe, 0xff };
	const struct { const uint8_t *b; size_t len; } fx[] = {
		{ v4_tcp, sizeof(v4_tcp) }, { v6_tcp_hbh, sizeof(v6_tcp_hbh) },
		{ v4_te_short, sizeof(v4_te_short) }, { v6_te_full, sizeof(v6_te_full) },
		{ v4_te_mpls, sizeof(v4_te_mpls) },
	};
	int insane = 0, runs = 0, exts = 0;

	for (size_t f = 0; f < sizeof(fx) / sizeof(fx[0]); f++)
		for (size_t i = 0; i < fx[f].len; i++)
			for (size_t v = 0; v < sizeof(vals); v++) {
				uint8_t *c = malloc(fx[f].len);
				struct pkt p;
				bool parsed;

				if (c == NULL)
					abort();
				memcpy(c, fx[f].b, fx[f].len);
				c[i] = vals[v];
				runs++;
				parsed = pkt_parse(c, fx[f].len, &p) == PKT_OK;
				if (parsed && p.kind == PKT_TCP &&
				    (p.u.tcp.nsack < 0 || p.u.tcp.nsack > PKT_MAX_SACK ||
				    p.u.tcp.payload < c || p.u.tcp.payload + p.u.tcp.payload_len > c + fx[f].len))
					insane++;
				if (parsed && p.kind == PKT_ICMP && !icmp_sane(&p.u.icmp))
					insane++;
				exts += parsed && p.kind == PKT_ICMP && p.u.icmp.has_ext;
				free(c);
			}
	ok(insane == 0, "%d single-byte mutations of the fixtures: no crash, payload inside the buffer, "
	    "extension fields in range", runs);
	ok(exts > 0, "mutations: %d kept a sound extension", exts);
}

static void
test_misc(void)
{
	int unnamed = 0;

	for (int e = PKT_OK; e <= PKT_BAD_QUOTE; e++)
		if (pkt_strerror((enum pkt_err)e) == NULL || strcmp(pkt_strerror((enum pkt_err)e), "?") == 0)
			unnamed++;
	is_int(unnamed, 0, "pkt_strerror names every error");
	ok(seq_lt(0xfffffff0u, 0x10) && !seq_lt(0x10, 0xfffffff0u) && seq_le(5, 5) && !seq_lt(5, 5),
	    "seq_lt/seq_le across the wrap");
}

/*
 * Taking a probe's D-SACK block out of the visitor's ACK: the other blocks
 * move up, the freed bytes are NOPs, the header keeps its length and the
 * checksum is right; anything but a TCP segment with SACK is left alone.
 */
static void
test_strip_sack(void)
{
	static const char *addrs[2][2] = {
		{ "198.51.100.7", "192.0.2.1" }, { "2001:db8:1::7", "2001:db8::1" },
	};

	for (int a = 0; a < 2; a++) {
		const char *f = a == 0 ? "IPv4" : "IPv6";

		for (int nsack = 1; nsack <= 3; nsack++) {
			uint8_t b[200], orig[200];
			struct fx_seg s = {
				.src = fx_addr(addrs[a][0]), .dst = fx_addr(addrs[a][1]),
				.sport = 50000, .dport = 443, .seq = 7, .ack = 1000, .flags = 0x10,
				.window = 500, .ttl = 60, .ts = nsack < 3, .tsval = 9, .tsecr = 8,
				.nsack = nsack,
			};
			struct pkt p;
			size_t n;

			for (int k = 0; k < nsack; k++) {
				s.sack[k][0] = 100u * (uint32_t)(k + 1);
				s.sack[k][1] = 100u * (uint32_t)(k + 1) + 10;
			}
			n = fx_tcp_seg(b, sizeof(b), &s);
			memcpy(orig, b, n);
			is_int(pkt_strip_sack(b, n, 1), 0, "%s strip, %d block(s): done", f, nsack);
			ok(pkt_parse(b, n, &p) == PKT_OK && p.kind == PKT_TCP && p.u.tcp.nsack == nsack - 1,
			    "%s strip, %d block(s): %d left", f, nsack, nsack - 1);
			ok(nsack == 1 || (p.u.tcp.sack[0][0] == 200 && p.u.tcp.sack[0][1] == 210),
			    "%s strip, %d block(s): the others moved up", f, nsack);
			ok(p.u.tcp.has_ts == (nsack < 3) && p.u.tcp.ack == 1000 && p.u.tcp.window == 500 &&
			    p.u.tcp.size == n, "%s strip, %d block(s): nothing else changed", f, nsack);
			ok(fx_l4_csum_ok(b, n), "%s strip, %d block(s): the checksum is right", f, nsack);
			if (nsack < 3)
				continue;
			/* Blocks 0 and 2 of 3 (probes' blocks around a real one); then all. */
			memcpy(b, orig, n);
			ok(pkt_strip_sack(b, n, 5) == 0 && pkt_parse(b, n, &p) == PKT_OK &&
			    p.u.tcp.nsack == 1 && p.u.tcp.sack[0][0] == 200 && fx_l4_csum_ok(b, n),
			    "%s strip blocks 0 and 2 of 3: block 1 left, checksum right", f);
			memcpy(b, orig, n);
			ok(pkt_strip_sack(b, n, 7) == 0 && pkt_parse(b, n, &p) == PKT_OK &&
			    p.u.tcp.nsack == 0 && p.u.tcp.size == n && fx_l4_csum_ok(b, n),
			    "%s strip all 3: no SACK left, same length, checksum right", f);
		}
	}
	{
		uint8_t b[200];
		struct fx_seg s = {
			.src = fx_addr("198.51.100.7"), .dst = fx_addr("192.0.2.1"), .sport = 1, .dport = 2,
			.flags = 0x10, .ts = true,
		};
		size_t n = fx_tcp_seg(b, sizeof(b), &s);

		is_int(pkt_strip_sack(b, n, 1), -1, "strip: a segment without SACK: -1");
		is_int(pkt_strip_sack(b, 30, 1), -1, "strip: a truncated packet: -1");
		is_int(pkt_strip_sack(NULL, 0, 1), -1, "strip: NULL: -1");
		b[20 + 20 + 2] = 5;	/* NOP NOP TS becomes a SACK option running past the header */
		b[20 + 20 + 3] = 58;
		is_int(pkt_strip_sack(b, n, 1), -1, "strip: options that run past the header: -1");
	}
}

/* The quoted segment's first payload byte, when the quote reaches it, and only then. */
static void
test_quoted_byte(void)
{
	static const uint8_t payload[1] = { 0xa7 };

	for (int a = 0; a < 2; a++) {
		const char *f = a == 0 ? "IPv4" : "IPv6";
		struct tt_addr srv = fx_addr(a == 0 ? "192.0.2.1" : "2001:db8::1");
		struct tt_addr vis = fx_addr(a == 0 ? "198.51.100.7" : "2001:db8:1::7");
		struct tt_addr rtr = fx_addr(a == 0 ? "203.0.113.9" : "2001:db8:ff::9");
		struct fx_seg s = {
			.src = srv, .dst = vis, .sport = 443, .dport = 50000, .seq = 99, .ack = 5,
			.flags = 0x10, .ttl = 1, .ts = true, .ipid = 7, .payload = payload, .plen = 1,
		};
		uint8_t seg[200], err[400];
		size_t n = fx_tcp_seg(seg, sizeof(seg), &s), hl = a == 0 ? 20 : 40, m;
		struct pkt p;

		m = fx_icmp(err, sizeof(err), &rtr, &srv, 250, a == 0 ? 11 : 3, 0, 0, seg, n);
		ok(pkt_parse(err, m, &p) == PKT_OK && p.kind == PKT_ICMP && p.u.icmp.has_qbyte &&
		    p.u.icmp.qbyte == 0xa7, "%s quote of the whole probe: its payload byte", f);
		m = fx_icmp(err, sizeof(err), &rtr, &srv, 250, a == 0 ? 11 : 3, 0, 0, seg, n - 1);
		ok(pkt_parse(err, m, &p) == PKT_OK && !p.u.icmp.has_qbyte,
		    "%s quote that stops before the payload: no byte", f);
		m = fx_icmp(err, sizeof(err), &rtr, &srv, 250, a == 0 ? 11 : 3, 0, 0, seg, hl + 8);
		ok(pkt_parse(err, m, &p) == PKT_OK && !p.u.icmp.has_qbyte,
		    "%s quote of 8 bytes of TCP: no byte", f);
	}
}

/*
 * fuzz_pkt's seeds (make-seeds.py) parse as their names say, so the fuzzer
 * starts from packets that reach the trace: a server 443 - visitor 51000
 * segment, or an error quoting one.
 */
static void
test_seeds(void)
{
	static const struct {
		const char *name;
		int kind, family;
		enum reply_kind reply;
		int nmpls, nsack;
	} seeds[] = {
		{ "tcp4-data", PKT_TCP, AF_INET, 0, 0, 0 },
		{ "tcp4-dsack", PKT_TCP, AF_INET, 0, 0, 1 },
		{ "tcp6-data", PKT_TCP, AF_INET6, 0, 0, 0 },
		{ "ip6-hbh", PKT_TCP, AF_INET6, 0, 0, 0 },
		{ "icmp4-te-8", PKT_ICMP, AF_INET, REPLY_TIME_EXCEEDED, 0, 0 },
		{ "icmp4-te-full", PKT_ICMP, AF_INET, REPLY_TIME_EXCEEDED, 0, 0 },
		{ "icmp4-fragneeded", PKT_ICMP, AF_INET, REPLY_PACKET_TOO_BIG, 0, 0 },
		{ "icmp4-te-mpls", PKT_ICMP, AF_INET, REPLY_TIME_EXCEEDED, 2, 0 },
		{ "icmp4-te-mpls-legacy", PKT_ICMP, AF_INET, REPLY_TIME_EXCEEDED, 2, 0 },
		{ "icmp6-te", PKT_ICMP, AF_INET6, REPLY_TIME_EXCEEDED, 0, 0 },
		{ "icmp6-te-mpls", PKT_ICMP, AF_INET6, REPLY_TIME_EXCEEDED, 2, 0 },
		{ "icmp6-ptb", PKT_ICMP, AF_INET6, REPLY_PACKET_TOO_BIG, 0, 0 },
		{ "icmp6-unreach", PKT_ICMP, AF_INET6, REPLY_UNREACHABLE, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		const char *n = seeds[i].name;
		size_t len;
		char *b = tap_seed("pkt", n, &len);
		struct pkt p;
		unsigned ports;

		if (b == NULL || pkt_parse((const uint8_t *)b, len, &p) != PKT_OK) {
			ok(0, "seed %s: read and parsed", n);
			free(b);
			continue;
		}
		if (p.kind == PKT_TCP)
			ports = (unsigned)p.u.tcp.sport << 16 | p.u.tcp.dport;
		else
			ports = (unsigned)p.u.icmp.qsport << 16 | p.u.icmp.qdport;
		ok((int)p.kind == seeds[i].kind && (ports == (443u << 16 | 51000) ||
		    ports == (51000u << 16 | 443)), "seed %s: %s between ports 443 and 51000", n,
		    seeds[i].kind == PKT_TCP ? "TCP" : "an error quoting TCP");
		if (p.kind == PKT_TCP)
			ok(p.u.tcp.src.family == seeds[i].family && p.u.tcp.nsack == seeds[i].nsack,
			    "seed %s: family %d, %d SACK blocks", n, seeds[i].family, seeds[i].nsack);
		else
			ok(p.u.icmp.src.family == seeds[i].family && p.u.icmp.kind == seeds[i].reply &&
			    p.u.icmp.nmpls == seeds[i].nmpls, "seed %s: family %d, %s, %d MPLS entries",
			    n, seeds[i].family, reply_kind_name(seeds[i].reply), seeds[i].nmpls);
		free(b);
	}
}

int
main(void)
{
	test_fixtures_valid();
	test_v4_tcp();
	test_v4_padding_and_options();
	test_v6_tcp();
	test_v4_icmp_short();
	test_v4_icmp_more();
	test_v6_icmp();
	test_truncations();
	test_rejections();
	test_ext_absent();
	test_ext_compliant();
	test_ext_legacy();
	test_ext_malformed();
	test_ext_objects();
	test_ext_truncations();
	test_tcp_options();
	test_mutations();
	test_misc();
	test_strip_sack();
	test_quoted_byte();
	test_seeds();
	return tap_done();
}
