/* Building probes: copies of the connection's segment carrying one old, acknowledged byte. Pure. */
#include "probe.h"

#include <string.h>
#include <sys/socket.h>

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
csum_add(const uint8_t *b, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

uint16_t
probe_csum(const uint8_t *b, size_t len, uint32_t sum)
{
	sum = csum_add(b, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A segment of the connection at seq with plen (0 or 1) bytes of payload. */
static size_t
build(uint8_t *buf, size_t len, const struct probe_tmpl *t, uint32_t seq, uint8_t byte,
    size_t plen, uint8_t ttl, uint16_t ipid)
{
	size_t iplen = t->src.family == AF_INET ? 20 : 40;
	size_t tcplen = 20 + (t->has_ts ? 12 : 0);
	size_t total = iplen + tcplen + plen, alen = addr_len(&t->src);
	uint8_t *ip = buf, *tcp = buf + iplen;
	uint32_t sum;

	if (len < total || total > PROBE_MAX_LEN)
		return 0;
	memset(buf, 0, total);

	if (t->src.family == AF_INET) {
		ip[0] = 0x45;
		ip[1] = t->tos;
		put16(ip + 2, (uint16_t)total);
		put16(ip + 4, ipid);
		put16(ip + 6, 0x4000);		/* DF, as the connection's own segments */
		ip[8] = ttl;
		ip[9] = 6;
		memcpy(ip + 12, t->src.u.b, 4);
		memcpy(ip + 16, t->dst.u.b, 4);
		put16(ip + 10, probe_csum(ip, 20, 0));
	} else {
		put32(ip, 6u << 28 | (uint32_t)t->tos << 20 | (t->flowlabel & 0xfffff));
		put16(ip + 4, (uint16_t)(tcplen + plen));
		ip[6] = 6;
		ip[7] = ttl;
		memcpy(ip + 8, t->src.u.b, 16);
		memcpy(ip + 24, t->dst.u.b, 16);
	}

	put16(tcp, t->sport);
	put16(tcp + 2, t->dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, t->ack);
	tcp[12] = (uint8_t)((tcplen / 4) << 4);
	tcp[13] = 0x10;			/* ACK */
	put16(tcp + 14, t->window);
	if (t->has_ts) {
		tcp[20] = 1;		/* NOP, NOP, timestamps: the layout Linux sends */
		tcp[21] = 1;
		tcp[22] = 8;
		tcp[23] = 10;
		put32(tcp + 24, t->tsval);
		put32(tcp + 28, t->tsecr);
	}
	if (plen)
		tcp[tcplen] = byte;

	/* Pseudo-header: addresses, protocol and TCP length. */
	sum = csum_add(t->src.u.b, alen, 0);
	sum = csum_add(t->dst.u.b, alen, sum);
	sum += 6 + (uint32_t)(tcplen + plen);
	put16(tcp + 16, probe_csum(tcp, tcplen + plen, sum));
	return total;
}

size_t
probe_build(uint8_t *buf, size_t len, const struct probe_tmpl *t,
    uint32_t seq, uint8_t byte, uint8_t ttl, uint16_t ipid)
{
	return build(buf, len, t, seq, byte, 1, ttl, ipid);
}

size_t
probe_build_keepalive(uint8_t *buf, size_t len, const struct probe_tmpl *t, uint32_t seq,
    uint8_t ttl, uint16_t ipid)
{
	return build(buf, len, t, seq - 1, 0, 0, ttl, ipid);
}
