/*
 * The trace handler: asks the broker to trace the visitor's connection and
 * streams the answer. Also what every handler shares: the broker's socket
 * and timeouts, and the mapping of broker failures to responses.
 */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include "client.h"
#include "out.h"
#include "proto.h"
#include "render.h"
#include "reply.h"

#define TRACE_SOCKET		"/run/tracetrout/tracetroutd.sock"
#define TRACE_CONNECT_MS	800	/* connect and greeting: a stopped helper shows within 1 s */
#define TRACE_START_MS		3000	/* a request until its first answer (STARTED, STORED ...) */
#define TRACE_RUN_MS		35000	/* STARTED until END: the broker's 30 s deadline and slack */
#define TRACE_PREFIX_MAX	3072	/* the app's own path, escaped for a URI */

struct trace_cfg {
	const char *socket_path;
	int connect_ms;
	int start_ms;
	int run_ms;
};

/* What the visitor gets when the broker refuses or fails before the head. */
struct trace_refusal {
	int status;
	const char *msg;	/* short, for the visitor */
	const char *extra;	/* header lines, or NULL */
	int retry;		/* seconds for Retry-After, or 0 for none */
};

/*
 * Maps a broker ERROR code to a response; unknown codes are the broker's
 * failure. retry is the ERROR's retry= (0 if absent): it becomes Retry-After.
 */
void trace_refusal_for_code(const char *code, int retry, struct trace_refusal *f);
/* Maps a failed client step before the head to a response. */
void trace_refusal_for_client(enum client_status st, struct trace_refusal *f);
/* Writes the error response for f in ro's format. */
void trace_refuse(struct out *o, const struct reply_opts *ro, const struct trace_refusal *f);
/*
 * Answers a broker ERROR (m) that came instead of the answer to verb:
 * logs it (a warning when it is the helper's or the site's fault) and
 * writes the error response.
 */
void trace_refuse_msg(struct out *o, const struct reply_opts *ro, const char *verb,
    const struct proto_msg *m);
/* Answers a failed conversation (c->why says why) before the head: logs, then 502 or 503. */
void trace_refuse_client(struct out *o, const struct reply_opts *ro, const char *verb,
    const struct client *c, enum client_status st);

/*
 * Fills t from the broker's STARTED (live) or STORED (read back) header m;
 * prefix is kept by reference.
 */
void trace_fill(struct render_trace *t, const struct proto_msg *m, const char *prefix);
/*
 * Writes the head of a 200 trace response, the body's preamble and the
 * hops and END read from c until the deadline, all in ro's format. A live
 * trace flushes the head at once and each hop as it settles; a stored one
 * flushes once at the end. HEAD gets the head only.
 */
void trace_body(struct out *o, const struct reply_opts *ro, struct render_trace *t,
    struct client *c, int64_t deadline);

/*
 * Writes the whole response for a trace of conn (conn->nostore: ?store=0):
 * an error response if the broker cannot start it, else the head at once,
 * then the hops as they settle.
 */
void trace_serve(struct out *o, const struct trace_cfg *cfg, const struct reply_opts *ro,
    const struct proto_trace_req *conn);

#endif
