/* The trace handler: asks the broker to trace the visitor's connection and streams the answer. */
#ifndef TT_TRACE_H
#define TT_TRACE_H

#include "client.h"
#include "out.h"
#include "proto.h"
#include "render.h"

#define TRACE_SOCKET		"/run/tracetrout/tracetroutd.sock"
#define TRACE_CONNECT_MS	800	/* connect and greeting: a stopped helper shows within 1 s */
#define TRACE_START_MS		3000	/* TRACE until STARTED or ERROR */
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

/*
 * Writes the whole response for a trace of conn: an error response if the
 * broker cannot start it, else the head at once, then the hops as they
 * settle. prefix is the app's own path, already escaped for a URI.
 */
void trace_serve(struct out *o, const struct trace_cfg *cfg, const struct renderer *r,
    const struct proto_trace_req *conn, const char *prefix);

#endif
