/* The history handler: one visitor's stored traces, asked of the broker once. */
#ifndef TT_FCGI_HISTORY_H
#define TT_FCGI_HISTORY_H

#include "addr.h"
#include "brokercfg.h"
#include "out.h"
#include "reply.h"

/*
 * GET|HEAD /history: client's traces, newest first, older than the trace
 * before (NULL: the newest), rendered by history_render (never atlas).
 */
void history_serve(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const struct tt_addr *client, const char *before);

#endif
