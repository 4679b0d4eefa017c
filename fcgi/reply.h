/* Response heads in CGI form (Status: and header lines) and whole error responses. */
#ifndef TT_REPLY_H
#define TT_REPLY_H

#include <stdbool.h>

#include "out.h"
#include "render.h"

/*
 * Writes the head with the headers every response carries. extra holds
 * further header lines, each ending in "\r\n", or is NULL. Does not flush.
 */
int reply_head(struct out *o, int status, const char *content_type, const char *extra);
/*
 * Writes a whole error response: the head, then, unless head_only (HEAD),
 * a short body in the renderer's format. Flushes.
 */
int reply_error(struct out *o, const struct renderer *r, bool head_only, int status,
    const char *extra, const char *msg);

#endif
