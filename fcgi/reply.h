/* Response heads in CGI form (Status: and header lines) and whole error responses. */
#ifndef TT_FCGI_REPLY_H
#define TT_FCGI_REPLY_H

#include <stdbool.h>

#include "out.h"
#include "render.h"

/* How a handler answers, decided by the router. */
struct reply_opts {
	const struct renderer *r;	/* the body's format, errors included */
	bool vary;			/* the format came from Accept: say Vary: Accept */
	bool head_only;			/* HEAD: the head, no body */
	const char *prefix;		/* the app's own path, escaped for a URI ("" at the root) */
	enum render_server server;	/* the web server, for a fix it may need */
	bool cors;			/* the live trace in JSON lines: readable from any page */
};

#define REPLY_PREFIX_MAX	3072	/* the app's own path, escaped for a URI */

#define REPLY_VARY	0x1	/* Vary: Accept */
#define REPLY_CACHE	0x2	/* cacheable for a day (the assets), instead of never stored */
#define REPLY_CORS	0x4	/* Access-Control-Allow-Origin: * */

/* The flags of ro's responses: Vary and CORS. */
unsigned reply_flags(const struct reply_opts *ro);
/*
 * Writes the head with the headers every response carries, and those
 * flags ask for. extra holds further header lines, each ending in "\r\n",
 * or is NULL. Does not flush.
 */
int reply_head(struct out *o, int status, const char *content_type, unsigned flags,
    const char *extra);
/*
 * Writes a whole error response: the head, then, unless ro->head_only,
 * a short body in ro->r's format. Flushes.
 */
int reply_error(struct out *o, const struct reply_opts *ro, int status, const char *extra,
    const char *msg);

#endif
