/*
 * A trace response relayed from the broker, live or stored: the head of a
 * 200 response, then the broker's hops and END through the stream (the
 * pure core, stream.h) to the visitor.
 */
#ifndef TT_FCGI_RELAY_H
#define TT_FCGI_RELAY_H

#include <stdint.h>

#include "brokerclient.h"
#include "out.h"
#include "proto.h"
#include "render.h"
#include "reply.h"

/*
 * Fills t from the broker's STARTED (live) or STORED (read back) header m;
 * prefix is kept by reference.
 */
void relay_fill(struct render_trace *t, const struct proto_msg *m, const char *prefix);
/*
 * Writes the head of a 200 trace response, the body's preamble and the
 * hops and END read from c until the deadline, all in ro's format. A live
 * trace flushes the head at once and each hop as it settles; a stored one
 * flushes once at the end. HEAD gets the head only.
 */
void relay_body(struct out *o, const struct reply_opts *ro, struct render_trace *t,
    struct bclient *c, int64_t deadline);

#endif
