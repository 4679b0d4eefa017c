/*
 * Taking IPv4/IPv6 packets apart: TCP segments and the ICMP errors that quote
 * them; and the one change the engine makes to a packet it passes on (a
 * probe's D-SACK block taken out of the visitor's ACK). Pure.
 */
#include "pkt.h"

#include <string.h>
#include <sys/socket.h>

#include "probe.h"

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

/* RFC 4884: at least this much of the original datagram precedes an extension structure. */
#define EXT_MIN_QUOTE	128

/* True if the one's-complement sum of b (RFC 1071) is all ones: the checksum inside is right. */
static bool
csum_ok(const uint8_t *b, size_t len)
{
	uint32_t sum = 0;	/* at most 32768 words of 0xffff: no overflow */
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(b + i);
	if (i < len)
		sum += (uint32_t)b[i] << 8;
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

enum ext_verdict { EXT_NONE, EXT_OK, EXT_BAD };

static void
ext_clear(struct pkt_icmp *e)
{
	e->has_ext = e->rfc4884 = e->ext_bad = false;
	e->nobj = e->nmpls = 0;
	memset(e->obj, 0, sizeof(e->obj));
	memset(e->mpls, 0, sizeof(e->mpls));
}

/*
 * An extension structure (RFC 4884 section 7) of len bytes: a 4-byte header
 * with version 2 and a checksum over the whole structure (0: not computed),
 * then one or more objects that fill it exactly, each a 4-byte header (length,
 * class, c-type) and a payload. MPLS label stacks (class 1, c-type 1, RFC 4950)
 * are kept. A structure found only by the legacy guess must carry a computed,
 * correct checksum, or it is taken for quoted bytes: EXT_NONE, not EXT_BAD.
 * May leave e partly filled when it fails; the caller clears it.
 */
static enum ext_verdict
ext_parse(const uint8_t *b, size_t len, bool guessed, struct pkt_icmp *e)
{
	size_t off;

	if (len < 4 || b[0] >> 4 != 2)
		return guessed ? EXT_NONE : EXT_BAD;
	if (get16(b + 2) == 0 ? guessed : !csum_ok(b, len))
		return guessed ? EXT_NONE : EXT_BAD;
	if (len == 4)
		return EXT_BAD;		/* no object */
	for (off = 4; off < len; ) {
		size_t olen;
		uint8_t cls, ctype;

		if (len - off < 4)
			return EXT_BAD;
		olen = get16(b + off);
		if (olen < 4 || olen % 4 != 0 || olen > len - off)
			return EXT_BAD;
		cls = b[off + 2];
		ctype = b[off + 3];
		if (e->nobj < PKT_MAX_EXT_OBJ) {
			e->obj[e->nobj].class_num = cls;
			e->obj[e->nobj].c_type = ctype;
		}
		e->nobj++;	/* at most len / 4 */
		if (cls == 1 && ctype == 1)
			for (size_t k = 4; k < olen && e->nmpls < PKT_MAX_MPLS; k += 4) {
				uint32_t lse = get32(b + off + k);

				e->mpls[e->nmpls].label = lse >> 12;
				e->mpls[e->nmpls].exp = (uint8_t)(lse >> 9 & 7);
				e->mpls[e->nmpls].s = (uint8_t)(lse >> 8 & 1);
				e->mpls[e->nmpls].ttl = (uint8_t)lse;
				e->nmpls++;
			}
		off += olen;
	}
	return EXT_OK;
}

/*
 * The extension structure after the quote of an error RFC 4884 covers (ICMP
 * unreachable and time exceeded, both families). The length field (byte 5 in
 * 32-bit words; ICMPv6: byte 4 in 64-bit words) places it after the padded
 * original datagram, at least 128 bytes of it; with the field 0, routers of
 * the legacy form put it right after 128 bytes of quote. A bad extension only
 * sets ext_bad. Returns how much of the qlen bytes at q is the original
 * datagram: all of it unless an extension follows.
 */
static size_t
icmp_ext(const uint8_t *icmp, int family, const uint8_t *q, size_t qlen, struct pkt_icmp *e)
{
	size_t orig;
	enum ext_verdict v;

	if (family == AF_INET ? e->type != 3 && e->type != 11 : e->type != 1 && e->type != 3)
		return qlen;
	orig = family == AF_INET ? (size_t)icmp[5] * 4 : (size_t)icmp[4] * 8;
	if (orig == qlen)
		return qlen;		/* the length given, nothing after it */
	if (orig != 0) {
		if (orig < EXT_MIN_QUOTE || orig > qlen) {
			e->ext_bad = true;
			return qlen;
		}
		v = ext_parse(q + orig, qlen - orig, false, e);
	} else {
		if (qlen <= EXT_MIN_QUOTE)
			return qlen;
		v = ext_parse(q + EXT_MIN_QUOTE, qlen - EXT_MIN_QUOTE, true, e);
	}
	if (v != EXT_OK) {
		ext_clear(e);
		e->ext_bad = v == EXT_BAD;
		return qlen;
	}
	e->has_ext = true;
	e->rfc4884 = orig != 0;
	return orig != 0 ? orig : EXT_MIN_QUOTE;
}

static enum pkt_err
icmp_parse(const struct ip_hdr *h, struct pkt_icmp *e)
{
	struct ip_hdr q;
	enum pkt_err err;
	size_t qlen;

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

	/*
	 * The quote: an IP header and at least the 8 bytes of TCP with ports and
	 * seq, within the original datagram when an extension follows it.
	 */
	qlen = icmp_ext(h->l4, h->src.family, h->l4 + 8, h->l4len - 8, e);
	err = ip_parse(h->l4 + 8, qlen, true, &q);
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
	/* The quoted segment's first payload byte, when the quote reaches it. */
	if (q.l4len >= 20) {
		size_t doff = (size_t)(q.l4[12] >> 4) * 4;

		if (doff >= 20 && doff < q.l4len) {
			e->has_qbyte = true;
			e->qbyte = q.l4[doff];
		}
	}
	return PKT_OK;
}

enum pkt_err
pkt_parse(const uint8_t *b, size_t len, struct pkt *p)
{
	struct ip_hdr h;
	enum pkt_err err;
	size_t size;

	memset(p, 0, sizeof(*p));
	if (b == NULL)
		return PKT_TRUNCATED;
	if ((err = ip_parse(b, len, false, &h)) != PKT_OK)
		return err;
	/* Headers and payload as the length fields give them; never over 65535 bytes in all. */
	size = (size_t)(h.l4 - b) + h.l4len;
	if (h.proto == IPPROTO_TCP_) {
		p->kind = PKT_TCP;
		err = tcp_parse(&h, &p->u.tcp);
		p->u.tcp.size = (uint16_t)size;
		return err;
	}
	if ((h.src.family == AF_INET && h.proto == IPPROTO_ICMP_) ||
	    (h.src.family == AF_INET6 && h.proto == IPPROTO_ICMPV6_)) {
		p->kind = PKT_ICMP;
		err = icmp_parse(&h, &p->u.icmp);
		p->u.icmp.size = (uint16_t)size;
		return err;
	}
	return PKT_OTHER_PROTO;
}

int
pkt_strip_sack(uint8_t *b, size_t len, unsigned blocks)
{
	struct ip_hdr h;
	uint8_t *tcp, *o;
	size_t off, i = 20, alen;
	uint32_t sum;
	int n, kept = 0;

	if (b == NULL || ip_parse(b, len, false, &h) != PKT_OK || h.proto != IPPROTO_TCP_ ||
	    h.l4len < 20)
		return -1;
	tcp = b + (h.l4 - b);
	off = (size_t)(tcp[12] >> 4) * 4;
	if (off < 20 || off > h.l4len)
		return -1;
	/* The same walk as tcp_options: find the SACK option, checked as it checks it. */
	while (i < off) {
		uint8_t kind = tcp[i], olen;

		if (kind == 0)
			return -1;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= off || (olen = tcp[i + 1]) < 2 || i + olen > off)
			return -1;
		if (kind == 5 && olen >= 10 && (olen - 2) % 8 == 0)
			break;
		i += olen;
	}
	if (i >= off)
		return -1;
	o = tcp + i;
	n = (o[1] - 2) / 8;
	/*
	 * Move the blocks kept up and fill the freed bytes with NOPs, so the
	 * header keeps its length; with no block left the whole option is NOPs.
	 */
	for (int k = 0; k < n; k++)
		if (!(blocks & (1u << k)))
			memmove(o + 2 + 8 * kept++, o + 2 + 8 * k, 8);
	if (kept == 0)
		memset(o, 1, (size_t)o[1]);
	else {
		memset(o + 2 + 8 * kept, 1, (size_t)(8 * (n - kept)));
		o[1] = (uint8_t)(2 + 8 * kept);
	}
	alen = addr_len(&h.src);
	sum = 0;
	tcp[16] = tcp[17] = 0;
	for (size_t k = 0; k < alen; k += 2)
		sum += (uint32_t)(h.src.u.b[k] << 8 | h.src.u.b[k + 1]) +
		    (uint32_t)(h.dst.u.b[k] << 8 | h.dst.u.b[k + 1]);
	sum += IPPROTO_TCP_ + (uint32_t)h.l4len;
	sum = probe_csum(tcp, h.l4len, sum);
	tcp[16] = (uint8_t)(sum >> 8);
	tcp[17] = (uint8_t)sum;
	return 0;
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
