/* The NFQUEUE socket: binding a queue, reading packets, giving verdicts (libnetfilter_queue on libmnl). */
#ifndef TT_NFQ_H
#define TT_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

/* Opens a netlink socket bound to queue num, copying whole packets, fail-open. NULL on error (errno). */
struct mnl_socket *nfq_open_queue(uint16_t num);
/*
 * Reads every packet waiting on the socket and calls cb for each; cb returns
 * the verdict (NF_ACCEPT or NF_DROP), given at once. cb may change the
 * packet in place, keeping its length, and set *changed: the changed bytes
 * then go with the verdict. Returns the number of packets handled, or -1 on
 * a socket error other than EAGAIN.
 */
typedef int (*nfq_packet_cb)(void *arg, uint8_t *pkt, size_t len, bool *changed);
int nfq_read(struct mnl_socket *nl, uint16_t num, nfq_packet_cb cb, void *arg);

#endif
