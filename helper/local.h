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
 * Opens the rtnetlink socket, as root before the helper splits, without
 * CAP_NET_ADMIN in effect: the kernel then refuses every change asked through
 * it (routes, addresses), whatever the engine holds later; a dump needs none.
 * NULL with errno on failure.
 */
struct mnl_socket *local_open(void);
/* Dumps the host's addresses: 1 if a is one, 0 if not, -1 with errno if the dump failed. */
int local_has(struct mnl_socket *nl, const struct tt_addr *a);
/* The address of one RTM_NEWADDR message: 0, or -1 if it is not one or is malformed. Pure. */
int local_parse(const struct nlmsghdr *nlh, struct tt_addr *out);
/* Builds the dump request into buf (at least 64 bytes). Pure. */
struct nlmsghdr *local_build(char *buf, int family, unsigned int seq);

#endif
