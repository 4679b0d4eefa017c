/* Unit tests of pathemu's packet side (tests/lib/pathemu_pkt.c): the shift and old-data test. */
#include "pathemu.h"

#include "tap.h"

#define PORT	8080

/* A TCP segment in buf: IPv4 or IPv6, the options given, payload bytes; its length. */
static size_t
segment(uint8_t *buf, int family, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
    uint8_t flags, const uint8_t *opt, size_t optlen, size_t payload)
{
	static const uint8_t a4[2][4] = { { 192, 0, 2, 1 }, { 198, 51, 100, 7 } };
	static const uint8_t a6[2][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 } };
	size_t hl = family == 4 ? 20 : 40, thl = 20 + optlen, len = hl + thl + payload;
	int server_first = sport == PORT;
	uint8_t *t = buf + hl;
	uint16_t c;

	memset(buf, 0, len);
	if (family == 4) {
		buf[0] = 0x45;
		buf[2] = (uint8_t)(len >> 8);
		buf[3] = (uint8_t)len;
		buf[6] = 0x40;		/* DF */
		buf[8] = 64;
		buf[9] = 6;
		memcpy(buf + 12, a4[!server_first], 4);
		memcpy(buf + 16, a4[server_first], 4);
	} else {
		buf[0] = 0x60;
		buf[4] = (uint8_t)((len - 40) >> 8);
		buf[5] = (uint8_t)(len - 40);
		buf[6] = 6;
		buf[7] = 64;
		memcpy(buf + 8, a6[!server_first], 16);
		memcpy(buf + 24, a6[server_first], 16);
	}
	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8);
	t[3] = (uint8_t)dport;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = flags;
	t[14] = 0xff;
	if (optlen > 0)
		memcpy(t + 20, opt, optlen);	/* opt may be NULL when there is none */
	for (size_t i = 0; i < payload; i++)
		t[thl + i] = (uint8_t)('a' + i);
	c = pe_tcp_csum(buf, len);
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
	return len;
}

/* Whether the checksum in the segment is right: the whole sum, its field included, is 0xffff. */
static int
csum_ok(const uint8_t *pkt, size_t len)
{
	int v4 = (pkt[0] >> 4) == 4;
	size_t hl = v4 ? 20 : 40, alen = v4 ? 4 : 16, i;
	const uint8_t *src = pkt + (v4 ? 12 : 8);
	uint32_t sum = 6 + (uint32_t)(len - hl);

	for (i = 0; i < alen; i += 2)
		sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(src[alen + i] << 8 | src[alen + i + 1]);
	for (i = hl; i + 1 < len; i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	if (i < len)
		sum += (uint32_t)pkt[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

static uint32_t
at32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
test_shift(void)
{
	/* NOP NOP SACK with two blocks, then NOP NOP timestamps. */
	static const uint8_t sack2[] = { 1, 1, 5, 18,
		0, 0, 0x10, 0, 0, 0, 0x10, 1,  0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10,
		1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	static const uint8_t badsack[] = { 5, 40, 0, 0 };
	uint8_t pkt[256], before[256];
	size_t len;

	len = segment(pkt, 4, PORT, 40000, 0xfffffff0u, 77, 0x18, NULL, 0, 3);
	ok(csum_ok(pkt, len), "IPv4 fixture has a right checksum");
	is_int(pe_shift(pkt, len, PORT, 0x20), PE_TO_VISITOR, "IPv4 from the server's port: toward the visitor");
	is_int(at32(pkt + 24), 0x10, "seq + K, wrapping round 2^32");
	is_int(at32(pkt + 28), 77, "its ack (the visitor's space) unchanged");
	ok(csum_ok(pkt, len), "checksum made again");

	len = segment(pkt, 6, 40000, PORT, 5, 0x1020, 0x10, sack2, sizeof(sack2), 0);
	ok(csum_ok(pkt, len), "IPv6 fixture has a right checksum");
	is_int(pe_shift(pkt, len, PORT, 0x20), PE_TO_SERVER, "IPv6 to the server's port: toward the server");
	is_int(at32(pkt + 44), 5, "its seq (the visitor's space) unchanged");
	is_int(at32(pkt + 48), 0x1000, "ack - K");
	is_int(at32(pkt + 64), 0xfe0, "first SACK block's left edge - K");
	is_int(at32(pkt + 68), 0xfe1, "first SACK block's right edge - K");
	is_int(at32(pkt + 72), 0xffffffd0u, "second block's left edge - K, wrapping");
	is_int(at32(pkt + 76), 0xfffffff0u, "second block's right edge - K");
	is_int(at32(pkt + 84), 1, "timestamps untouched");
	ok(csum_ok(pkt, len), "checksum made again");

	len = segment(pkt, 4, 40000, PORT, 5, 0x1020, 0x02, NULL, 0, 0);
	pe_shift(pkt, len, PORT, 0x20);
	is_int(at32(pkt + 28), 0x1020, "a segment without ACK keeps its ack field");

	len = segment(pkt, 4, 40000, PORT, 5, 0x1020, 0x10, badsack, sizeof(badsack), 0);
	memcpy(before, pkt, len);
	is_int(pe_shift(pkt, len, PORT, 1), PE_TO_SERVER, "a SACK option longer than the header: still rewritten");
	ok(memcmp(pkt + 40, before + 40, sizeof(badsack)) == 0, "but the option is left as it was");
	ok(csum_ok(pkt, len), "and the checksum is right");

	len = segment(pkt, 4, 1234, 5678, 5, 6, 0x10, NULL, 0, 2);
	memcpy(before, pkt, len);
	is_int(pe_shift(pkt, len, PORT, 1), PE_OTHER, "another port: untouched");
	ok(memcmp(pkt, before, len) == 0, "not a byte changed");

	len = segment(pkt, 4, PORT, 40000, 1, 1, 0x10, NULL, 0, 2);
	pkt[6] = 0x20;		/* more fragments */
	memcpy(before, pkt, len);
	is_int(pe_shift(pkt, len, PORT, 1), PE_OTHER, "a fragment is not rewritten");
	ok(memcmp(pkt, before, len) == 0, "not a byte of it changed");
	len = segment(pkt, 6, PORT, 40000, 1, 1, 0x10, NULL, 0, 2);
	is_int(pe_shift(pkt, len - 1, PORT, 1), PE_OTHER, "a packet shorter than its header says is not");
	pkt[52] = 0x10;		/* data offset 4: shorter than a TCP header */
	is_int(pe_shift(pkt, len, PORT, 1), PE_OTHER, "nor one whose TCP header is under 20 bytes");
	len = segment(pkt, 6, PORT, 40000, 1, 1, 0x10, NULL, 0, 2);
	pkt[6] = 60;		/* a destination options header before TCP */
	is_int(pe_shift(pkt, len, PORT, 1), PE_OTHER, "nor one with an IPv6 extension header");
}

static void
test_old(void)
{
	static struct pe_flows fl;
	uint8_t pkt[256];
	struct pkt p;
	const struct pkt_tcp *seg = &p.u.tcp;
	size_t len;

	len = segment(pkt, 4, PORT, 40000, 990, 1, 0x10, NULL, 0, 1);
	pkt_parse(pkt, len, &p);
	ok(!pe_old(&fl, seg, PORT), "no ACK seen yet: nothing is old");
	len = segment(pkt, 4, 40000, PORT, 1, 1000, 0x10, NULL, 0, 0);
	pkt_parse(pkt, len, &p);
	ok(!pe_old(&fl, seg, PORT), "the visitor's ACK is never held");
	len = segment(pkt, 4, 40000, PORT, 1, 900, 0x10, NULL, 0, 0);
	pkt_parse(pkt, len, &p);
	pe_old(&fl, seg, PORT);	/* an older ACK, reordered: the highest stays */
	len = segment(pkt, 4, PORT, 40000, 990, 1, 0x10, NULL, 0, 1);
	pkt_parse(pkt, len, &p);
	ok(pe_old(&fl, seg, PORT), "a byte below the ACK is old (a probe)");
	len = segment(pkt, 4, PORT, 40000, 997, 1, 0x10, NULL, 0, 3);
	pkt_parse(pkt, len, &p);
	ok(pe_old(&fl, seg, PORT), "data ending at the ACK is old");
	len = segment(pkt, 4, PORT, 40000, 999, 1, 0x10, NULL, 0, 2);
	pkt_parse(pkt, len, &p);
	ok(!pe_old(&fl, seg, PORT), "data reaching past the ACK is new");
	len = segment(pkt, 4, PORT, 40000, 990, 1, 0x10, NULL, 0, 0);
	pkt_parse(pkt, len, &p);
	ok(!pe_old(&fl, seg, PORT), "a segment without data is never held");
	len = segment(pkt, 6, PORT, 40000, 990, 1, 0x10, NULL, 0, 1);
	pkt_parse(pkt, len, &p);
	ok(!pe_old(&fl, seg, PORT), "the same ports in the other family: another connection");
	for (uint16_t port = 1; port <= PE_FLOWS; port++) {
		len = segment(pkt, 4, port, PORT, 1, 5000, 0x10, NULL, 0, 0);
		pkt_parse(pkt, len, &p);
		pe_old(&fl, seg, PORT);
	}
	len = segment(pkt, 4, PORT, 40000, 990, 1, 0x10, NULL, 0, 1);
	pkt_parse(pkt, len, &p);
	ok(!pe_old(&fl, seg, PORT), "the least recent connection is forgotten when the table is full");
	len = segment(pkt, 4, PORT, PE_FLOWS, 4000, 1, 0x10, NULL, 0, 1);
	pkt_parse(pkt, len, &p);
	ok(pe_old(&fl, seg, PORT), "the newest is kept");
}

/* Whether pe_first_data takes a segment of family fam (flags, payload bytes) for the first. */
static bool
first(struct pe_flows *fl, int fam, uint16_t sport, uint16_t dport, uint8_t flags, size_t payload)
{
	uint8_t pkt[256];
	struct pkt p;

	pkt_parse(pkt, segment(pkt, fam, sport, dport, 1, 51, flags, NULL, 0, payload), &p);
	return pe_first_data(fl, &p.u.tcp, PORT);
}

static void
test_first_data(void)
{
	static struct pe_flows fl;

	ok(!first(&fl, 4, PORT, 40000, 0x10, 100), "data of a connection not seen from the visitor: passes");
	ok(!first(&fl, 4, 40000, PORT, 0x18, 50), "the visitor's request: passes");
	ok(!first(&fl, 4, PORT, 40000, 0x10, 0), "the server's bare ACK: passes");
	ok(first(&fl, 4, PORT, 40000, 0x18, 100), "the first data segment toward the visitor: lost");
	ok(!first(&fl, 4, PORT, 40000, 0x18, 100), "its retransmission: passes");
	ok(!first(&fl, 6, PORT, 40000, 0x18, 100), "the other family: another connection, not seen yet");
}

static void
test_dup(void)
{
	static struct pe_flows fl;
	uint8_t pkt[256];
	struct pkt p;

	pkt_parse(pkt, segment(pkt, 4, 40000, PORT, 1, 1, 0x18, NULL, 0, 50), &p);
	ok(!pe_dup(&fl, &p.u.tcp, PORT), "the visitor's request is no copy");
	pkt_parse(pkt, segment(pkt, 4, PORT, 40000, 1, 51, 0x18, NULL, 0, 100), &p);
	ok(!pe_dup(&fl, &p.u.tcp, PORT), "the first data toward the visitor is new");
	pkt_parse(pkt, segment(pkt, 4, PORT, 40000, 3, 51, 0x10, NULL, 0, 1), &p);
	ok(pe_dup(&fl, &p.u.tcp, PORT), "a byte of it right behind, not acknowledged yet, is a copy");
	pkt_parse(pkt, segment(pkt, 4, PORT, 40000, 90, 51, 0x18, NULL, 0, 20), &p);
	ok(!pe_dup(&fl, &p.u.tcp, PORT), "data reaching past what went by is new");
	pkt_parse(pkt, segment(pkt, 4, PORT, 40000, 109, 51, 0x10, NULL, 0, 1), &p);
	ok(pe_dup(&fl, &p.u.tcp, PORT), "and after it, a byte of its end is a copy");
	pkt_parse(pkt, segment(pkt, 4, PORT, 40000, 90, 51, 0x18, NULL, 0, 20), &p);
	ok(!pe_dup(&fl, &p.u.tcp, PORT), "a segment sent again whole is a retransmission, no copy");
}

int
main(void)
{
	test_shift();
	test_old();
	test_first_data();
	test_dup();
	return tap_done();
}
