/* Routing: from a request's method, path, query, headers and body to a handler and a format. */
#ifndef TT_FCGI_ROUTE_H
#define TT_FCGI_ROUTE_H

#include <stdbool.h>

#include "brokercfg.h"
#include "out.h"
#include "proto.h"
#include "render.h"
#include "reply.h"
#include "request.h"

struct asset;

enum route_action {
	ROUTE_ERROR = 0,	/* answer status with msg */
	ROUTE_HEAD,		/* HEAD /: the head of a trace response, no trace */
	ROUTE_TRACE,		/* GET /: trace conn */
	ROUTE_STORED,		/* GET|HEAD /trace/ID: the stored trace id */
	ROUTE_DELETE,		/* DELETE /trace/ID, POST /trace/ID/delete: delete id with token */
	ROUTE_HISTORY,		/* GET|HEAD /history: conn.client's traces, older than before */
	ROUTE_ASSET,		/* GET|HEAD /tracetrout.css, /tracetrout.js */
	ROUTE_NOT_MODIFIED,	/* an asset the visitor has: 304 */
};

struct route {
	enum route_action action;
	const struct renderer *r;	/* the format of the body, errors included */
	bool vary;			/* r came from Accept (or its absence): Vary: Accept */
	bool head_only;			/* HEAD */
	int status;			/* ROUTE_ERROR */
	const char *msg;		/* ROUTE_ERROR: for the visitor */
	const char *extra;		/* ROUTE_ERROR: header lines, or NULL */
	bool warn;			/* ROUTE_ERROR: the server's fault, worth a warning */
	char why[192];			/* ROUTE_ERROR: the full reason, for the log */
	char prefix[REPLY_PREFIX_MAX];	/* the app's own path, escaped for a URI */
	struct proto_trace_req conn;	/* ROUTE_TRACE; ROUTE_HISTORY: client only */
	char id[PROTO_ID_LEN + 1];	/* ROUTE_STORED, ROUTE_DELETE */
	char token[PROTO_ID_LEN + 1];	/* ROUTE_DELETE */
	char before[PROTO_ID_LEN + 1];	/* ROUTE_HISTORY: "" for the newest */
	const struct asset *asset;	/* ROUTE_ASSET, ROUTE_NOT_MODIFIED */
};

/* Decides what to answer; pure, so every status is tested without a broker. */
void route_decide(const struct request *req, struct route *rt);
/* Answers the request: the whole response goes through o. */
void route_serve(const struct request *req, struct out *o, const struct broker_cfg *cfg);

#endif
