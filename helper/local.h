/*
 * Is an address one of this host's? Answered from the host's own address
 * list (an RTM_GETADDR dump over a rtnetlink socket opened at setup), not by
 * binding to it: ip_nonlocal_bind=1 lets any bind succeed.
 */
#ifndef TT_LOCAL_H
#define TT_LOCAL_H

#include <stdbool.h>

#include "addr.h"

struct mnl_socket;
struct nlmsghdr;

/*
 * The socket's descriptor. The kernel checks a change asked through a netlink
 * socket against its opener's capabilities only when the message names no
 * destination (write, send); sendto and sendmsg with one are checked against
 * the sender's alone, and the engine holds CAP_NET_ADMIN. So the engine's
 * filter (privsep.c) lets sendto through on this descriptor only without an
 * address, and sendmsg never: the one descriptor with bit 9 set (the engine's
 * others are far below 512), so that the filter can tell it whatever the
 * upper 32 bits of the argument hold.
 */
#define LOCAL_FD	512
#define LOCAL_FD_BIT	0x200

/*
 * Opens the rtnetlink socket as LOCAL_FD, as root before the helper splits,
 * without CAP_NET_ADMIN in effect: the kernel then refuses every change sent
 * through it without an address (routes, addresses), whatever the engine
 * holds later; a dump needs none. NULL with errno on failure (EBUSY: LOCAL_FD
 * is taken).
 */
struct mnl_socket *local_open(void);
/* Dumps the host's addresses: 1 if a is one, 0 if not, -1 with errno if the dump failed. */
int local_has(struct mnl_socket *nl, const struct tt_addr *a);
/* The address of one RTM_NEWADDR message: 0, or -1 if it is not one or is malformed. Pure. */
int local_parse(const struct nlmsghdr *nlh, struct tt_addr *out);
/* Builds the dump request into buf (at least 64 bytes). Pure. */
struct nlmsghdr *local_build(char *buf, int family, unsigned int seq);

#endif
