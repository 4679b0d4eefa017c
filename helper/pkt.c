/* Taking IPv4/IPv6 packets apart: TCP segments and the ICMP errors that quote them. Pure. */
#include "pkt.h"

#include <string.h>
#include <sys/socket.h>

#define IPPROTO_TCP_	6
#define IPPROTO_ICMP_	1
#define IPPROTO_ICMPV6_	58

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The IP layer of a packet or of a quote. */
struct ip_hdr {
	struct tt_addr src, dst;
	uint8_t proto, ttl, tos;
	uint16_t id;
	uint32_t flowlabel;
	const uint8_t *l4;
	size_t l4len;		/* bytes present after the IP header(s) */
};

/*
 * Parses an IPv4 or IPv6 header. A quote (is_quote) may be cut short after
 * the header: its total length is then not checked against len.
 */
static enum pkt_err
ip_parse(const uint8_t *b, size_t len, bool is_quote, struct ip_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len < 1)
		return PKT_TRUNCATED;
	switch (b[0] >> 4) {
	case 4: {
		size_t hl, tot;

		if (len < 20)
			return PKT_TRUNCATED;
		hl = (size_t)(b[0] & 0x0f) * 4;
		tot = get16(b + 2);
		if (hl < 20 || tot < hl)
			return PKT_BAD_HEADER;
		if (len < hl)
			return PKT_TRUNCATED;
		if (!is_quote) {
			if (tot > len)
				return PKT_TRUNCATED;
			len = tot;	/* ignore link-layer padding */
		} else if (tot < len)
			len = tot;
		if (get16(b + 6) & 0x1fff)
			return PKT_FRAGMENT;	/* no transport header here */
		h->src.family = h->dst.family = AF_INET;
		memcpy(h->src.u.b, b + 12, 4);
		memcpy(h->dst.u.b, b + 16, 4);
		h->tos = b[1];
		h->id = get16(b + 4);
		h->ttl = b[8];
		h->proto = b[9];
		h->l4 = b + hl;
		h->l4len = len - hl;
		return PKT_OK;
	}
	case 6: {
		size_t off = 40, plen;
		uint8_t next;

		if (len < 40)
			return PKT_TRUNCATED;
		plen = get16(b + 4);
		if (!is_quote) {
			if (40 + plen > len)
				return PKT_TRUNCATED;
			len = 40 + plen;
		} else if (40 + plen < len)
			len = 40 + plen;
		h->src.family = h->dst.family = AF_INET6;
		memcpy(h->src.u.b, b + 8, 16);
		memcpy(h->dst.u.b, b + 24, 16);
		h->tos = (uint8_t)(get16(b) >> 4);
		h->flowlabel = get32(b) & 0xfffff;
		h->ttl = b[7];
		next = b[6];
		/* Skip the extension headers that may precede TCP or ICMPv6. */
		for (int n = 0; n < 8; n++) {
			if (next == 0 || next == 43 || next == 60) {	/* hop-by-hop, routing, dstopts */
				if (len < off + 8)
					return PKT_TRUNCATED;
				next = b[off];
				off += ((size_t)b[off + 1] + 1) * 8;
				if (off > len)
					return PKT_TRUNCATED;
			} else if (next == 44) {
				return PKT_FRAGMENT;
			} else
				break;
		}
		h->proto = next;
		h->l4 = b + off;
		h->l4len = len - off;
		return PKT_OK;
	}
	default:
		return PKT_BAD_VERSION;
	}
}

/* TCP options we use: timestamps and SACK blocks. Malformed options end the walk. */
static void
tcp_options(const uint8_t *o, size_t len, struct pkt_tcp *t)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = o[i], olen;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			break;
		olen = o[i + 1];
		if (olen < 2 || i + olen > len)
			break;
		if (kind == 8 && olen == 10) {
			t->has_ts = true;
			t->tsval = get32(o + i + 2);
			t->tsecr = get32(o + i + 6);
		} else if (kind == 5 && olen >= 10 && (olen - 2) % 8 == 0) {
			for (size_t k = 0; k < (size_t)(olen - 2) / 8 && t->nsack < PKT_MAX_SACK; k++) {
				t->sack[t->nsack][0] = get32(o + i + 2 + k * 8);
				t->sack[t->nsack][1] = get32(o + i + 6 + k * 8);
				t->nsack++;
			}
		}
		i += olen;
	}
}

static enum pkt_err
tcp_parse(const struct ip_hdr *h, struct pkt_tcp *t)
{
	size_t off;

	memset(t, 0, sizeof(*t));
	if (h->l4len < 20)
		return PKT_TRUNCATED;
	off = (size_t)(h->l4[12] >> 4) * 4;
	if (off < 20)
		return PKT_BAD_HEADER;
	if (off > h->l4len)
		return PKT_TRUNCATED;
	t->src = h->src;
	t->dst = h->dst;
	t->ttl = h->ttl;
	t->tos = h->tos;
	t->flowlabel = h->flowlabel;
	t->ipid = h->id;
	t->sport = get16(h->l4);
	t->dport = get16(h->l4 + 2);
	t->seq = get32(h->l4 + 4);
	t->ack = get32(h->l4 + 8);
	t->flags = h->l4[13];
	t->window = get16(h->l4 + 14);
	tcp_options(h->l4 + 20, off - 20, t);
	t->payload = h->l4 + off;
	t->payload_len = h->l4len - off;
	return PKT_OK;
}

/* Maps an ICMP or ICMPv6 error to a reply kind; 0 if it is not an error we use. */
static enum reply_kind
icmp_kind(int family, uint8_t type)
{
	if (family == AF_INET)
		switch (type) {
		case 11: return REPLY_TIME_EXCEEDED;
		case 3: return REPLY_UNREACHABLE;	/* code 4 is frag-needed, see below */
		default: return 0;
		}
	switch (type) {
	case 3: return REPLY_TIME_EXCEEDED;
	case 1: return REPLY_UNREACHABLE;
	case 2: return REPLY_PACKET_TOO_BIG;
	default: return 0;
	}
}

static enum pkt_err
icmp_parse(const struct ip_hdr *h, struct pkt_icmp *e)
{
	struct ip_hdr q;
	enum pkt_err err;

	memset(e, 0, sizeof(*e));
	if (h->l4len < 8)
		return PKT_TRUNCATED;
	e->src = h->src;
	e->dst = h->dst;
	e->ttl = h->ttl;
	e->type = h->l4[0];
	e->code = h->l4[1];
	e->kind = icmp_kind(h->src.family, e->type);
	if (e->kind == 0)
		return PKT_OTHER_PROTO;
	if (h->src.family == AF_INET && e->type == 3 && e->code == 4) {
		e->kind = REPLY_PACKET_TOO_BIG;
		e->mtu = get16(h->l4 + 6);
	} else if (e->kind == REPLY_PACKET_TOO_BIG)
		e->mtu = get32(h->l4 + 4);

	/* The quote: an IP header and at least the 8 bytes of TCP with ports and seq. */
	err = ip_parse(h->l4 + 8, h->l4len - 8, true, &q);
	if (err == PKT_FRAGMENT)
		return PKT_BAD_QUOTE;
	if (err != PKT_OK)
		return err == PKT_TRUNCATED ? PKT_BAD_QUOTE : err;
	if (q.src.family != h->src.family || q.proto != IPPROTO_TCP_ || q.l4len < 8)
		return PKT_BAD_QUOTE;
	e->qsrc = q.src;
	e->qdst = q.dst;
	e->qipid = q.id;
	e->qttl = q.ttl;
	e->qsport = get16(q.l4);
	e->qdport = get16(q.l4 + 2);
	e->qseq = get32(q.l4 + 4);
	return PKT_OK;
}

enum pkt_err
pkt_parse(const uint8_t *b, size_t len, struct pkt *p)
{
	struct ip_hdr h;
	enum pkt_err err;

	memset(p, 0, sizeof(*p));
	if (b == NULL)
		return PKT_TRUNCATED;
	if ((err = ip_parse(b, len, false, &h)) != PKT_OK)
		return err;
	if (h.proto == IPPROTO_TCP_) {
		p->kind = PKT_TCP;
		return tcp_parse(&h, &p->u.tcp);
	}
	if ((h.src.family == AF_INET && h.proto == IPPROTO_ICMP_) ||
	    (h.src.family == AF_INET6 && h.proto == IPPROTO_ICMPV6_)) {
		p->kind = PKT_ICMP;
		return icmp_parse(&h, &p->u.icmp);
	}
	return PKT_OTHER_PROTO;
}

const char *
pkt_strerror(enum pkt_err e)
{
	switch (e) {
	case PKT_OK: return "ok";
	case PKT_TRUNCATED: return "truncated";
	case PKT_BAD_VERSION: return "not IPv4 or IPv6";
	case PKT_BAD_HEADER: return "bad header field";
	case PKT_FRAGMENT: return "fragment";
	case PKT_OTHER_PROTO: return "other protocol";
	case PKT_BAD_QUOTE: return "ICMP quote not usable";
	}
	return "?";
}
