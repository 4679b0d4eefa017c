/* The packet side of tests/lib/pathemu: shift the sequence space, tell old data. Pure. */
#include "pathemu.h"

#include <arpa/inet.h>
#include <string.h>

#include "probe.h"

#define TCPOPT_EOL_	0
#define TCPOPT_NOP_	1
#define TCPOPT_SACK_	5

/* Adds k to the big-endian 32-bit field at p (k may be "minus" anything, modulo 2^32). */
static void
field_add(uint8_t *p, uint32_t k)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	v = htonl(ntohl(v) + k);
	memcpy(p, &v, sizeof(v));
}

/*
 * Where the TCP header starts: right after the IP header, in a whole packet (no fragment) with
 * no IPv6 extension header between (none has either in the tests). 0: not such a packet.
 */
static size_t
tcp_offset(const uint8_t *pkt, size_t len)
{
	size_t off;

	if (len < 1)
		return 0;
	if (pkt[0] >> 4 == 4 && len >= 20 && (pkt[6] & 0x20) == 0)	/* a first fragment: not whole */
		off = (size_t)(pkt[0] & 0x0f) * 4;
	else if (len >= 40 && pkt[6] == IPPROTO_TCP)
		off = 40;
	else
		return 0;
	return off >= 20 && off + 20 <= len ? off : 0;
}

uint16_t
pe_tcp_csum(const uint8_t *pkt, size_t len)
{
	struct pkt p;
	uint8_t pseudo[40];
	size_t off, alen, plen, tcplen;
	uint16_t sum;

	if (pkt_parse(pkt, len, &p) != PKT_OK || p.kind != PKT_TCP || (off = tcp_offset(pkt, len)) == 0)
		return 0;
	alen = addr_len(&p.u.tcp.src);
	tcplen = (size_t)(p.u.tcp.payload - pkt) - off + p.u.tcp.payload_len;
	/* The pseudo-header's sum (addresses, protocol, length), then the segment's own. */
	memcpy(pseudo, p.u.tcp.src.u.b, alen);
	memcpy(pseudo + alen, p.u.tcp.dst.u.b, alen);
	plen = 2 * alen;
	pseudo[plen++] = 0;
	pseudo[plen++] = IPPROTO_TCP;
	pseudo[plen++] = (uint8_t)(tcplen >> 8);
	pseudo[plen++] = (uint8_t)tcplen;
	sum = (uint16_t)~probe_csum(pseudo, plen, 0);
	sum = (uint16_t)~probe_csum(pkt + off, 16, sum);	/* all but the checksum field */
	return probe_csum(pkt + off + 18, tcplen - 18, sum);
}

enum pe_dir
pe_dir(const struct pkt_tcp *seg, uint16_t port)
{
	if (seg->sport == port)
		return PE_TO_VISITOR;
	if (seg->dport == port)
		return PE_TO_SERVER;
	return PE_OTHER;
}

/* Subtracts k from every edge of the SACK options; each option's length is checked first. */
static void
sack_shift(uint8_t *opt, size_t n, uint32_t k)
{
	size_t i = 0;

	while (i < n) {
		uint8_t kind = opt[i], olen;

		if (kind == TCPOPT_EOL_)
			return;
		if (kind == TCPOPT_NOP_) {
			i++;
			continue;
		}
		if (i + 1 >= n || (olen = opt[i + 1]) < 2 || olen > n - i)
			return;		/* malformed: the rest is left alone */
		if (kind == TCPOPT_SACK_ && (olen - 2) % 8 == 0)
			for (size_t e = i + 2; e + 4 <= i + olen; e += 4)
				field_add(opt + e, -k);
		i += olen;
	}
}

enum pe_dir
pe_shift(uint8_t *pkt, size_t len, uint16_t port, uint32_t k)
{
	struct pkt p;
	enum pe_dir dir;
	size_t off, thlen;
	uint8_t *tcp;
	uint16_t sum;

	if (pkt_parse(pkt, len, &p) != PKT_OK || p.kind != PKT_TCP ||
	    (dir = pe_dir(&p.u.tcp, port)) == PE_OTHER || (off = tcp_offset(pkt, len)) == 0)
		return PE_OTHER;
	tcp = pkt + off;
	thlen = (size_t)(p.u.tcp.payload - tcp);
	if (thlen != (size_t)(tcp[12] >> 4) * 4)
		return PE_OTHER;	/* the header is not where we looked */
	if (dir == PE_TO_VISITOR)
		field_add(tcp + 4, k);
	else {
		/* The visitor's own sequence space is the firewall's business in neither way. */
		if (p.u.tcp.flags & TCP_ACK)
			field_add(tcp + 8, -k);
		sack_shift(tcp + 20, thlen - 20, k);
	}
	sum = pe_tcp_csum(pkt, len);
	tcp[16] = (uint8_t)(sum >> 8);
	tcp[17] = (uint8_t)sum;
	return dir;
}

/*
 * Learns the visitor's acknowledgements from seg; the flow of seg's connection, NULL when
 * there is none (yet), and *dir.
 */
static struct pe_flow *
flow_learn(struct pe_flows *fl, const struct pkt_tcp *seg, uint16_t port, enum pe_dir *dir)
{
	const struct tt_addr *addr;
	struct pe_flow *f, *lru = &fl->f[0];
	uint16_t vport;

	if ((*dir = pe_dir(seg, port)) == PE_OTHER)
		return NULL;
	addr = *dir == PE_TO_SERVER ? &seg->src : &seg->dst;
	vport = *dir == PE_TO_SERVER ? seg->sport : seg->dport;
	fl->clock++;
	for (f = fl->f; f < fl->f + PE_FLOWS; f++) {
		if (f->used && f->vport == vport && addr_equal(&f->visitor, addr))
			break;
		if (!f->used || (lru->used && f->last < lru->last))
			lru = f;
	}
	if (*dir == PE_TO_VISITOR || !(seg->flags & TCP_ACK))
		return f < fl->f + PE_FLOWS ? f : NULL;
	if (f == fl->f + PE_FLOWS) {
		f = lru;
		memset(f, 0, sizeof(*f));
		f->used = true;
		f->visitor = *addr;
		f->vport = vport;
		f->ack = seg->ack;
	} else if (seq_lt(f->ack, seg->ack))
		f->ack = seg->ack;
	f->last = fl->clock;
	return f;
}

bool
pe_old(struct pe_flows *fl, const struct pkt_tcp *seg, uint16_t port)
{
	enum pe_dir dir;
	struct pe_flow *f = flow_learn(fl, seg, port, &dir);

	return dir == PE_TO_VISITOR && f != NULL && seg->payload_len > 0 &&
	    seq_le(seg->seq + (uint32_t)seg->payload_len, f->ack);
}

bool
pe_dup(struct pe_flows *fl, const struct pkt_tcp *seg, uint16_t port)
{
	enum pe_dir dir;
	struct pe_flow *f = flow_learn(fl, seg, port, &dir);
	uint32_t end = seg->seq + (uint32_t)seg->payload_len;

	if (dir != PE_TO_VISITOR || f == NULL || seg->payload_len == 0)
		return false;
	/*
	 * A probe copies one byte. A longer segment sent again is the server's
	 * retransmission, which takes the real path: held, after an RTO (cwnd 1)
	 * it held the rest of the response too (kills.sh, an ACK lost with the
	 * killed engine's queue: a trace ended 20 s late).
	 */
	if (seg->payload_len == 1 && f->sent_seen && seq_le(end, f->sent_end))
		return true;
	if (!f->sent_seen || seq_lt(f->sent_end, end))
		f->sent_end = end;
	f->sent_seen = true;
	return false;
}

bool
pe_first_data(struct pe_flows *fl, const struct pkt_tcp *seg, uint16_t port)
{
	enum pe_dir dir;
	struct pe_flow *f = flow_learn(fl, seg, port, &dir);

	if (dir != PE_TO_VISITOR || f == NULL || seg->payload_len == 0 || f->data_seen)
		return false;
	f->data_seen = true;
	return true;
}
