/* Response heads and error responses, shared by the router and the handlers. */
#include "reply.h"

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

unsigned
reply_flags(const struct reply_opts *ro)
{
	return (ro->vary ? REPLY_VARY : 0) | (ro->cors ? REPLY_CORS : 0);
}

int
reply_head(struct out *o, int status, const char *content_type, unsigned flags,
    const char *extra)
{
	/*
	 * Traces are per connection and live, stored ones can be deleted at any
	 * moment and history is per visitor: never cached. The assets change
	 * only with the program. Only what the caller flags is readable from
	 * other pages: history is shared by everyone behind one address, and
	 * a stored trace's page or a text trace carries a delete token.
	 */
	if (out_printf(o, "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: %s\r\n"
	    "%s"
	    "X-Accel-Buffering: no\r\n%s",
	    status, reason(status), content_type,
	    flags & REPLY_CACHE ? "public, max-age=86400" : "no-cache, no-store, must-revalidate",
	    flags & REPLY_CORS ? "Access-Control-Allow-Origin: *\r\n" : "",
	    flags & REPLY_VARY ? "Vary: Accept\r\n" : "") < 0)
		return -1;
	if (extra && out_puts(o, extra) < 0)
		return -1;
	return out_puts(o, "\r\n");
}

int
reply_error(struct out *o, const struct reply_opts *ro, int status, const char *extra,
    const char *msg)
{
	if (reply_head(o, status, ro->r->content_type, reply_flags(ro), extra) < 0)
		return -1;
	if (!ro->head_only && ro->r->error && ro->r->error(o, msg) < 0)
		return -1;
	return out_flush(o);
}
