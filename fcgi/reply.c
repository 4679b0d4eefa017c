/* Response heads and error responses, shared by the router and the trace handler. */
#include "reply.h"

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

int
reply_head(struct out *o, int status, const char *content_type, const char *extra)
{
	/* Every answer is per connection and live: never cached, readable from any page. */
	if (out_printf(o, "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "X-Accel-Buffering: no\r\n",
	    status, reason(status), content_type) < 0)
		return -1;
	if (extra && out_puts(o, extra) < 0)
		return -1;
	return out_puts(o, "\r\n");
}

int
reply_error(struct out *o, const struct renderer *r, bool head_only, int status,
    const char *extra, const char *msg)
{
	if (reply_head(o, status, r->content_type, extra) < 0)
		return -1;
	if (!head_only && r->error(o, msg) < 0)
		return -1;
	return out_flush(o);
}
