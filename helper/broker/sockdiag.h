/*
 * The web server's own view of a traced connection, through sock_diag
 * (what ss(8) reads): how many data segments its socket has sent. Used to
 * tell why a trace saw no segment: nothing sent (the web server buffers the
 * response) or segments sent that never reached the queue (no rules).
 */
#ifndef TT_HELPER_BROKER_SOCKDIAG_H
#define TT_HELPER_BROKER_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct mnl_socket;

/* A sock_diag netlink socket, bound; NULL on failure (errno set). No privilege needed. */
struct mnl_socket *sockdiag_open(void);

/*
 * Data segments sent so far by the server's socket of conn (tcpi_data_segs_out),
 * asked on nl. Returns 0, or -1 if there is no such socket (errno ENOENT) or
 * sock_diag failed (errno set otherwise; the socket may then be unusable).
 */
int sockdiag_segs_out(struct mnl_socket *nl, const struct proto_trace_req *conn,
    uint64_t *segs);

/*
 * The parsing half, pure: one netlink answer (buf, len) to the request with
 * sequence seq. Returns 1 with *segs set; 0 if it holds no count (no
 * INET_DIAG_INFO, an older kernel's shorter tcp_info, a truncated message);
 * -1 on an error message (errno set: ENOENT for no such socket) or a
 * message that is not an answer to seq.
 */
int sockdiag_parse(const void *buf, size_t len, uint32_t seq, uint64_t *segs);

#endif
