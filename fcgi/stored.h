/* The handlers of one stored trace: its permalink and its deletion. Each asks the broker once. */
#ifndef TT_FCGI_STORED_H
#define TT_FCGI_STORED_H

#include "brokercfg.h"
#include "out.h"
#include "reply.h"

/* GET|HEAD /trace/ID: the stored trace in ro's format. id is 32 lowercase hex digits. */
void stored_serve(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const char *id);
/* DELETE /trace/ID, POST /trace/ID/delete: id and token are 32 lowercase hex digits. */
void stored_delete(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const char *id, const char *token);
#endif
