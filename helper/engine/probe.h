/* Building probes: copies of the connection's segment carrying one old, acknowledged byte. Pure. */
#ifndef TT_HELPER_ENGINE_PROBE_H
#define TT_HELPER_ENGINE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PROBE_MAX_LEN	(40 + 20 + 12 + 1)	/* IPv6 + TCP + timestamps + one byte */

/* What a probe copies from the connection's newest real segment (server to visitor). */
struct probe_tmpl {
	struct tt_addr src, dst;	/* server, visitor */
	uint16_t sport, dport;
	uint8_t tos;			/* TOS or traffic class */
	uint32_t flowlabel;		/* the current IPv6 flow label */
	uint32_t ack;
	uint16_t window;
	bool has_ts;
	uint32_t tsval, tsecr;
};

/*
 * Writes a whole probe packet, IP header included, with full checksums:
 * ACK set, timestamps as in the template, no SACK, payload the one byte at
 * seq. ipid (IPv4) must be non-zero. Returns the length, or 0 if len is
 * too small.
 */
size_t probe_build(uint8_t *buf, size_t len, const struct probe_tmpl *t,
    uint32_t seq, uint8_t byte, uint8_t ttl, uint16_t ipid);

/*
 * A TCP keep-alive of the connection (RFC 1122 4.2.3.6): no payload, seq one
 * below seq (the first byte the visitor has not acknowledged), otherwise as
 * probe_build. A receiver answers it with an ACK at once, never delayed.
 */
size_t probe_build_keepalive(uint8_t *buf, size_t len, const struct probe_tmpl *t, uint32_t seq,
    uint8_t ttl, uint16_t ipid);
/* The Internet checksum of a buffer, folded, with an initial partial sum. */
uint16_t probe_csum(const uint8_t *b, size_t len, uint32_t sum);

#endif
