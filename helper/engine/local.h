/* Is an address one of this host's? The kernel's own lists, read through files opened at setup. */
#ifndef TT_HELPER_ENGINE_LOCAL_H
#define TT_HELPER_ENGINE_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/*
 * /proc/net/fib_trie (IPv4: the routes of type LOCAL) and /proc/net/if_inet6
 * (IPv6: the addresses), opened as root before the split and read again
 * from their start at each check: the engine needs no socket and no open
 * for it, and the files can only be read.
 */
struct local_files {
	int fd4, fd6;
	/*
	 * Addresses found local in the last LOCAL_SEEN_US: a server's few
	 * addresses, asked at every trace. Reading fib_trie each time cost the
	 * engine 4 % of its time at 1,200 traces a second.
	 */
	struct tt_addr seen[8];
	uint64_t seen_us[8];
	unsigned next;
};
#define LOCAL_SEEN_US	1000000	/* an address removed is still taken for local this long */

/* Opens both (the network namespace is the opener's). Returns 0, or -1 with errno set. */
int local_open(struct local_files *lf);
void local_close(struct local_files *lf);
/* Pure: is a in fib_trie's text (buf, len) as a LOCAL route? 1 yes, 0 no. */
int local_find4(const char *buf, size_t len, const struct tt_addr *a);
/* Pure: is a in if_inet6's text? 1 yes, 0 no. */
int local_find6(const char *buf, size_t len, const struct tt_addr *a);
/* The check at now_us (monotonic): 1 local, 0 not, -1 on error (errno set). */
int local_check(struct local_files *lf, const struct tt_addr *a, uint64_t now_us);

#endif
