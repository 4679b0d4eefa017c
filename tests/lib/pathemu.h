/*
 * The packet side of tests/lib/pathemu (a path emulator for the system tests): shifting a TCP
 * segment's sequence space, and telling the segments a receiver has already acknowledged.
 * Pure: no I/O, no globals. Packets are taken apart by the engine's own pkt_parse.
 */
#ifndef TT_TESTS_LIB_PATHEMU_H
#define TT_TESTS_LIB_PATHEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

enum pe_dir {
	PE_OTHER,		/* not a segment of the emulated port, or not one we can rewrite */
	PE_TO_VISITOR,		/* from the server's port */
	PE_TO_SERVER		/* to the server's port */
};

enum pe_dir pe_dir(const struct pkt_tcp *seg, uint16_t port);

/*
 * A firewall that shifts the server's sequence space by k: seq + k toward the visitor,
 * ack - k and every SACK edge - k toward the server, the TCP checksum made again. Returns
 * the direction it rewrote; PE_OTHER when the packet was left as it was.
 */
enum pe_dir pe_shift(uint8_t *pkt, size_t len, uint16_t port, uint32_t k);

/*
 * The checksum the TCP segment of an IPv4 or IPv6 packet without extension headers should
 * carry (its own field counted as zero); 0 when pkt is not such a packet.
 */
uint16_t pe_tcp_csum(const uint8_t *pkt, size_t len);

/* The visitor's highest acknowledgement on each connection of the port, least recent dropped. */
#define PE_FLOWS 256

struct pe_flow {
	bool used;
	struct tt_addr visitor;
	uint16_t vport;
	uint32_t ack;
	bool data_seen;		/* a data segment toward the visitor went by (pe_first_data) */
	bool sent_seen;		/* sent_end is known (pe_dup) */
	uint32_t sent_end;	/* the end of the highest data toward the visitor so far */
	uint64_t last;		/* when it was last used, in calls of pe_old */
};

struct pe_flows {
	struct pe_flow f[PE_FLOWS];
	uint64_t clock;
};

/*
 * Learns the visitor's acknowledgements and says whether seg is data toward the visitor
 * that lies wholly at or below the highest of them (a copy of old bytes: a probe).
 */
bool pe_old(struct pe_flows *fl, const struct pkt_tcp *seg, uint16_t port);

/*
 * Learns as pe_old does, and says whether seg is data toward the visitor whose every byte went
 * by before (a copy: a probe, or a retransmission).
 */
bool pe_dup(struct pe_flows *fl, const struct pkt_tcp *seg, uint16_t port);

/*
 * Learns as pe_old does, and says whether seg is the first data segment toward the visitor
 * on its connection (once per connection: its retransmission is not).
 */
bool pe_first_data(struct pe_flows *fl, const struct pkt_tcp *seg, uint16_t port);

#endif
