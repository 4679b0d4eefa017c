/* The live trace handler: asks the broker to trace the visitor's connection and streams the answer. */
#ifndef TT_FCGI_LIVE_H
#define TT_FCGI_LIVE_H

#include "brokercfg.h"
#include "out.h"
#include "proto.h"
#include "reply.h"

/*
 * Writes the whole response for a trace of conn (conn->nostore: ?store=0):
 * an error response if the broker cannot start it, else the head at once,
 * then the hops as they settle. With every slot of cfg->slots taken, 503
 * with Retry-After at once.
 */
void live_serve(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const struct proto_trace_req *conn);

#endif
