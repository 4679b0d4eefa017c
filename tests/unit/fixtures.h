/*
 * Byte-building helpers for the engine's unit tests: IPv4/IPv6 TCP segments and
 * ICMP errors from fields, and an Internet checksum written independently of
 * probe_csum(), so a test never checks the code under test against itself.
 */
#ifndef TT_TESTS_UNIT_FIXTURES_H
#define TT_TESTS_UNIT_FIXTURES_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

static inline void
fx_put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
fx_put32(uint8_t *p, uint32_t v)
{
	fx_put16(p, v >> 16);
	fx_put16(p + 2, v & 0xffff);
}

static inline uint32_t
fx_get16(const uint8_t *p)
{
	return (uint32_t)p[0] * 256 + p[1];
}

static inline uint32_t
fx_get32(const uint8_t *p)
{
	return fx_get16(p) * 65536u + fx_get16(p + 2);
}

/* A numeric address; aborts on a typo in a test. */
static inline struct tt_addr
fx_addr(const char *s)
{
	struct tt_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.u.b) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.u.b) == 1)
		a.family = AF_INET6;
	else {
		fprintf(stderr, "fixtures: bad address %s\n", s);
		abort();
	}
	return a;
}

/*
 * RFC 1071, the slow obvious way: a 64-bit accumulator of big-endian 16-bit
 * words, an odd byte padded with zero on the right, carries folded at the end.
 */
static inline uint64_t
fx_sum(const uint8_t *b, size_t len, uint64_t acc)
{
	for (size_t i = 0; i < len; i++)
		acc += (i % 2 == 0) ? (uint64_t)b[i] << 8 : (uint64_t)b[i];
	return acc;
}

static inline uint16_t
fx_fold(uint64_t acc)
{
	while (acc > 0xffff)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The value for a checksum field: the complement of the folded sum. */
static inline uint16_t
fx_csum(const uint8_t *b, size_t len, uint64_t acc)
{
	return (uint16_t)~fx_fold(fx_sum(b, len, acc));
}

/* The transport pseudo-header (RFC 793; RFC 8200 section 8.1), laid out as bytes and summed. */
static inline uint64_t
fx_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, size_t l4len)
{
	uint8_t ph[40];

	memset(ph, 0, sizeof(ph));
	if (family == AF_INET) {
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[9] = proto;
		fx_put16(ph + 10, (uint32_t)l4len);
		return fx_sum(ph, 12, 0);
	}
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	fx_put32(ph + 32, (uint32_t)l4len);
	ph[39] = proto;
	return fx_sum(ph, 40, 0);
}

/* True if the IPv4 header at b (IHL from b) carries a correct checksum. */
static inline bool
fx_ip4_csum_ok(const uint8_t *b)
{
	return fx_fold(fx_sum(b, (size_t)(b[0] & 0x0f) * 4, 0)) == 0xffff;
}

/* True if the transport checksum of an IP packet without extension headers is correct. */
static inline bool
fx_l4_csum_ok(const uint8_t *b, size_t len)
{
	if (b[0] >> 4 == 4) {
		size_t hl = (size_t)(b[0] & 0x0f) * 4;

		return fx_fold(fx_sum(b + hl, len - hl,
		    fx_pseudo(AF_INET, b + 12, b + 16, b[9], len - hl))) == 0xffff;
	}
	return fx_fold(fx_sum(b + 40, len - 40,
	    fx_pseudo(AF_INET6, b + 8, b + 24, b[6], len - 40))) == 0xffff;
}

/*
 * Writes an IP header (IPv4 with DF and a checksum, or IPv6) for an
 * l4len-byte payload of protocol proto. Returns its length: 20 or 40.
 */
static inline size_t
fx_ip(uint8_t *b, const struct tt_addr *src, const struct tt_addr *dst, uint8_t proto,
    uint8_t ttl, uint8_t tos, uint32_t flowlabel, uint16_t ipid, size_t l4len)
{
	if (src->family == AF_INET) {
		memset(b, 0, 20);
		b[0] = 0x45;
		b[1] = tos;
		fx_put16(b + 2, (uint32_t)(20 + l4len));
		fx_put16(b + 4, ipid);
		fx_put16(b + 6, 0x4000);
		b[8] = ttl;
		b[9] = proto;
		memcpy(b + 12, src->u.b, 4);
		memcpy(b + 16, dst->u.b, 4);
		fx_put16(b + 10, fx_csum(b, 20, 0));
		return 20;
	}
	memset(b, 0, 40);
	fx_put32(b, 6u << 28 | (uint32_t)tos << 20 | (flowlabel & 0xfffff));
	fx_put16(b + 4, (uint32_t)l4len);
	b[6] = proto;
	b[7] = ttl;
	memcpy(b + 8, src->u.b, 16);
	memcpy(b + 24, dst->u.b, 16);
	return 40;
}

/* A TCP segment's fields. Options: NOP NOP timestamps, then NOP NOP SACK, as Linux lays them out. */
struct fx_seg {
	struct tt_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint8_t ttl, tos;
	uint32_t flowlabel;
	uint16_t ipid;
	bool ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];
	const uint8_t *payload;
	size_t plen;
};

/* Writes the whole packet with correct checksums; returns its length. Aborts if it does not fit. */
static inline size_t
fx_tcp_seg(uint8_t *buf, size_t cap, const struct fx_seg *s)
{
	uint8_t opt[48], *tcp;
	size_t olen = 0, ipl = s->src.family == AF_INET ? 20 : 40, tcplen, total;

	if (s->ts) {
		opt[olen++] = 1;
		opt[olen++] = 1;
		opt[olen++] = 8;
		opt[olen++] = 10;
		fx_put32(opt + olen, s->tsval);
		fx_put32(opt + olen + 4, s->tsecr);
		olen += 8;
	}
	if (s->nsack > 0) {
		if (s->nsack > 4 || olen + 4 + (size_t)s->nsack * 8 > 40)
			abort();
		opt[olen++] = 1;
		opt[olen++] = 1;
		opt[olen++] = 5;
		opt[olen++] = (uint8_t)(2 + s->nsack * 8);
		for (int i = 0; i < s->nsack; i++) {
			fx_put32(opt + olen, s->sack[i][0]);
			fx_put32(opt + olen + 4, s->sack[i][1]);
			olen += 8;
		}
	}
	while (olen % 4)
		opt[olen++] = 0;
	tcplen = 20 + olen;
	total = ipl + tcplen + s->plen;
	if (total > cap)
		abort();
	fx_ip(buf, &s->src, &s->dst, 6, s->ttl, s->tos, s->flowlabel, s->ipid, tcplen + s->plen);
	tcp = buf + ipl;
	memset(tcp, 0, 20);
	fx_put16(tcp, s->sport);
	fx_put16(tcp + 2, s->dport);
	fx_put32(tcp + 4, s->seq);
	fx_put32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)((tcplen / 4) << 4);
	tcp[13] = s->flags;
	fx_put16(tcp + 14, s->window);
	memcpy(tcp + 20, opt, olen);
	if (s->plen)
		memcpy(tcp + tcplen, s->payload, s->plen);
	fx_put16(tcp + 16, fx_csum(tcp, tcplen + s->plen,
	    fx_pseudo(s->src.family, s->src.u.b, s->dst.u.b, 6, tcplen + s->plen)));
	return total;
}

/*
 * An ICMP (IPv4) or ICMPv6 error from `from` to `to`: type, code, the second
 * word (unused, or the MTU), then qlen bytes of quote. Returns its length.
 */
static inline size_t
fx_icmp(uint8_t *buf, size_t cap, const struct tt_addr *from, const struct tt_addr *to,
    uint8_t ttl, uint8_t type, uint8_t code, uint32_t word, const uint8_t *quote, size_t qlen)
{
	size_t ipl = from->family == AF_INET ? 20 : 40, total = ipl + 8 + qlen;
	uint8_t proto = from->family == AF_INET ? 1 : 58, *icmp = buf + ipl;

	if (total > cap)
		abort();
	fx_ip(buf, from, to, proto, ttl, 0xc0, 0, 0x4242, 8 + qlen);
	icmp[0] = type;
	icmp[1] = code;
	fx_put16(icmp + 2, 0);
	fx_put32(icmp + 4, word);
	memcpy(icmp + 8, quote, qlen);
	fx_put16(icmp + 2, from->family == AF_INET ? fx_csum(icmp, 8 + qlen, 0) :
	    fx_csum(icmp, 8 + qlen, fx_pseudo(AF_INET6, from->u.b, to->u.b, 58, 8 + qlen)));
	return total;
}

#ifdef TT_HELPER_ENGINE_CT_H
/* A connection visitor to server: port 50000 to 443. */
static inline struct ct_tuple
fx_tuple(int family)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof(t));
	t.src = fx_addr(family == AF_INET ? "198.51.100.7" : "2001:db8:1::7");
	t.dst = fx_addr(family == AF_INET ? "192.0.2.1" : "2001:db8::1");
	t.sport = 50000;
	t.dport = 443;
	return t;
}
#endif

#endif
