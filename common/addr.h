/* IP addresses of either family: parsing, formatting, comparison. */
#ifndef TT_COMMON_ADDR_H
#define TT_COMMON_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tt_addr {
	int family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	} u;
};

#define ADDR_STRLEN 46		/* INET6_ADDRSTRLEN */

/*
 * Parses a numeric IPv4 or IPv6 address. IPv4-mapped IPv6 addresses
 * (::ffff:192.0.2.1) become IPv4, as the kernel's conntrack sees them.
 * Returns 0, or -1 on anything else (names, brackets, zone ids, spaces).
 */
int addr_parse(const char *s, struct tt_addr *a);
/* Formats into buf (ADDR_STRLEN bytes); returns buf. */
const char *addr_format(const struct tt_addr *a, char *buf);
bool addr_equal(const struct tt_addr *a, const struct tt_addr *b);
/* The first bits of a (its network of that prefix length), the rest zero. */
void addr_mask(const struct tt_addr *a, int bits, struct tt_addr *out);
/*
 * Parses "ADDR" or "ADDR/BITS" (CIDR) into the network (host bits cleared)
 * and its length; ADDR alone is the one address. Returns 0, or -1.
 */
int addr_prefix_parse(const char *s, struct tt_addr *net, int *bits);
/* Whether a is in the network net/bits (of the same family). */
bool addr_in_prefix(const struct tt_addr *a, const struct tt_addr *net, int bits);
/*
 * The network truncate-clients keeps of a visitor's address a: its /24
 * (IPv4) or /48 (IPv6), host bits zero. Returns the prefix length.
 */
int addr_visitor_net(const struct tt_addr *a, struct tt_addr *net);
/*
 * An address as a 16-byte key that sorts as the address does, so that a
 * prefix is one range of keys (the store's indexes, sql/011-query.sql):
 * IPv6 as it is, IPv4 as its mapped address ::ffff:a.b.c.d.
 */
#define ADDR_KEY_LEN	16
void addr_key(const struct tt_addr *a, uint8_t key[ADDR_KEY_LEN]);
/* The first and the last key of the prefix net/bits (bits of net's family). */
void addr_key_range(const struct tt_addr *net, int bits, uint8_t lo[ADDR_KEY_LEN],
    uint8_t hi[ADDR_KEY_LEN]);
/* Address length in bytes: 4 or 16. */
size_t addr_len(const struct tt_addr *a);
/* Parses a decimal port 1..65535; returns 0 or -1. */
int port_parse(const char *s, uint16_t *port);
/*
 * Parses "IP", "IPv4:PORT", "[IPv6]" or "[IPv6]:PORT" (an IPv6 address with a
 * port needs its brackets, and only IPv6 has them). *port is 0 when none is
 * given. Returns 0, or -1 on anything else.
 */
int addr_port_parse(const char *s, struct tt_addr *a, uint16_t *port);
/* Is port one of the n in ports (the ports that may be traced, a list being parsed)? */
bool port_listed(const uint16_t *ports, int n, uint16_t port);

#endif
