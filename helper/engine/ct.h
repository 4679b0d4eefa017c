/* ctnetlink through libmnl: find a connection, set or clear our connmark bit, clear leftovers. */
#ifndef TT_HELPER_ENGINE_CT_H
#define TT_HELPER_ENGINE_CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct mnl_socket;
struct nlmsghdr;

/* A connection in its original direction: the visitor opened it to the server. */
struct ct_tuple {
	struct tt_addr src, dst;
	uint16_t sport, dport;
};

struct ct_info {
	struct ct_tuple orig;
	bool have_state;
	uint8_t tcp_state;	/* enum tcp_conntrack: 3 is ESTABLISHED */
	uint32_t mark;
	bool sack_orig, sack_reply;	/* SACK permitted, as each side announced */
};

#define CT_TCP_ESTABLISHED 3

/* Same connection and direction: addresses compared by their family's bytes only. Pure. */
bool ct_tuple_equal(const struct ct_tuple *a, const struct ct_tuple *b);

struct mnl_socket *ct_open(void);
/* Looks the connection up. Returns 0, or -1 with errno (ENOENT: no such connection). */
int ct_lookup(struct mnl_socket *nl, const struct ct_tuple *t, struct ct_info *out);
/* Sets the bits of mask in the connection's mark to those of value. Returns 0 or -1 with errno. */
int ct_mark(struct mnl_socket *nl, const struct ct_tuple *t, uint32_t mask, uint32_t value);
/*
 * Sends a netlink request on nl and runs cb (NULL: none) over every answer
 * until the ACK or the end of a dump: ctnetlink's, and local.c's address
 * dumps. Returns 0, or -1 with errno.
 */
int ct_transact(struct mnl_socket *nl, struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *, void *),
    void *data);
/* Clears the bits of mask on every connection that has them; returns how many, or -1. */
int ct_clear_all(struct mnl_socket *nl, uint32_t mask);

/* Builds a request into buf (at least 1024 bytes); pure, for tests too. */
struct nlmsghdr *ct_build(char *buf, uint16_t msg_type, uint16_t flags, const struct ct_tuple *t);
/* Takes a conntrack message apart. Returns 0, or -1 if it is malformed. Pure. */
int ct_parse(const struct nlmsghdr *nlh, struct ct_info *out);

#endif
