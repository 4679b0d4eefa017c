/*
 * The handlers of stored traces: the permalink and deletion (stored.c) and
 * one visitor's history (history.c). Each asks the broker once.
 */
#ifndef TT_STORED_H
#define TT_STORED_H

#include "addr.h"
#include "out.h"
#include "reply.h"
#include "trace.h"

/* GET|HEAD /trace/ID: the stored trace in ro's format. id is 32 lowercase hex digits. */
void stored_serve(struct out *o, const struct trace_cfg *cfg, const struct reply_opts *ro,
    const char *id);
/* DELETE /trace/ID, POST /trace/ID/delete: id and token are 32 lowercase hex digits. */
void stored_delete(struct out *o, const struct trace_cfg *cfg, const struct reply_opts *ro,
    const char *id, const char *token);
/*
 * GET|HEAD /history: client's traces, newest first, older than the trace
 * before (NULL: the newest), rendered by history_render (never atlas).
 */
void history_serve(struct out *o, const struct trace_cfg *cfg, const struct reply_opts *ro,
    const struct tt_addr *client, const char *before);

#endif
