/* Taking IPv4/IPv6 packets apart: TCP segments and the ICMP errors that quote them. Pure. */
#ifndef TT_HELPER_ENGINE_PKT_H
#define TT_HELPER_ENGINE_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "proto.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define PKT_MAX_SACK 4
#define PKT_MAX_MPLS 8		/* label stack entries kept from an ICMP extension */
#define PKT_MAX_EXT_OBJ 4	/* extension objects whose class and type are kept */

enum pkt_err {
	PKT_OK = 0,
	PKT_TRUNCATED,		/* shorter than a header or length field says */
	PKT_BAD_VERSION,	/* neither IPv4 nor IPv6 */
	PKT_BAD_HEADER,		/* a header field out of range */
	PKT_FRAGMENT,		/* a non-first fragment, or a fragment header: not ours */
	PKT_OTHER_PROTO,	/* not TCP, and not an ICMP error */
	PKT_BAD_QUOTE,		/* an ICMP error whose quote is not TCP or is cut short */
};

struct pkt_tcp {
	struct tt_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint8_t ttl;		/* TTL or hop limit */
	uint8_t tos;		/* TOS or traffic class */
	uint32_t flowlabel;	/* IPv6 only */
	uint16_t ipid;		/* IPv4 only */
	bool has_ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[PKT_MAX_SACK][2];	/* left, right edges */
	const uint8_t *payload;
	size_t payload_len;
	uint16_t size;		/* the packet's bytes, IP header included */
};

struct pkt_icmp {
	struct tt_addr src, dst;	/* the error's own addresses */
	uint8_t ttl;			/* the error's TTL or hop limit as it arrived */
	uint16_t size;			/* the error's bytes, IP header included */
	uint8_t type, code;
	enum reply_kind kind;
	uint32_t mtu;			/* packet-too-big / fragmentation needed */
	/* The quoted packet: the probe as the router saw it. */
	struct tt_addr qsrc, qdst;
	uint16_t qsport, qdport;
	uint32_t qseq;
	uint16_t qipid;			/* IPv4 only */
	uint8_t qttl;			/* the quoted TTL: 1 normally, more means TTL tampering */
	bool has_qbyte;			/* the quote reaches the segment's payload: */
	uint8_t qbyte;			/* its first byte */
	/*
	 * ICMP extensions (RFC 4884) after the quote of a time-exceeded or
	 * unreachable error; all zero (ext_bad aside) unless a sound extension
	 * structure was found.
	 */
	bool has_ext;
	bool rfc4884;			/* placed by the length field; false: the legacy form at 128 */
	bool ext_bad;			/* an extension was there but malformed: ignored, quote kept */
	int nobj;			/* objects in the extension; the first PKT_MAX_EXT_OBJ in obj */
	struct { uint8_t class_num, c_type; } obj[PKT_MAX_EXT_OBJ];
	int nmpls;			/* MPLS label stack entries (RFC 4950), top first, capped */
	struct { uint32_t label; uint8_t exp, s, ttl; } mpls[PKT_MAX_MPLS];
};

struct pkt {
	enum { PKT_TCP = 1, PKT_ICMP } kind;
	union {
		struct pkt_tcp tcp;
		struct pkt_icmp icmp;
	} u;
};

/*
 * Parses one IP packet as the queue hands it over (no link-layer header).
 * Returns PKT_OK with p filled in, or what was wrong. Never reads past len.
 */
enum pkt_err pkt_parse(const uint8_t *b, size_t len, struct pkt *p);
/*
 * Takes SACK blocks out of a TCP segment in place (those of probes): block i
 * when bit i of blocks is set. The header keeps its length (NOPs fill it) and
 * the checksum is set anew. Returns 0, or -1 if b is no TCP segment with a
 * SACK option.
 */
int pkt_strip_sack(uint8_t *b, size_t len, unsigned blocks);
const char *pkt_strerror(enum pkt_err e);

/* Sequence-number arithmetic (RFC 1982). */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

#endif
