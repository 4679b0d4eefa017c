/* Routing: from a request's method, path, query and Accept to a handler and an output format. */
#ifndef TT_ROUTE_H
#define TT_ROUTE_H

#include <stdbool.h>

#include "out.h"
#include "proto.h"
#include "render.h"
#include "request.h"
#include "trace.h"

enum route_action {
	ROUTE_ERROR = 0,	/* answer status with msg */
	ROUTE_HEAD,		/* HEAD /: the head of a trace response, no trace */
	ROUTE_TRACE,		/* GET /: trace conn */
};

struct route {
	enum route_action action;
	const struct renderer *r;	/* the format of the body, errors included */
	int status;			/* ROUTE_ERROR */
	const char *msg;		/* ROUTE_ERROR: for the visitor */
	const char *extra;		/* ROUTE_ERROR: header lines, or NULL */
	bool warn;			/* ROUTE_ERROR: the server's fault, worth a warning */
	char why[192];			/* ROUTE_ERROR: the full reason, for the log */
	char prefix[TRACE_PREFIX_MAX];	/* the app's own path, escaped for a URI */
	struct proto_trace_req conn;	/* ROUTE_TRACE */
};

/* Decides what to answer; pure, so every status is tested without a broker. */
void route_decide(const struct request *req, struct route *rt);
/* Answers the request: the whole response goes through o. */
void route_serve(const struct request *req, struct out *o, const struct trace_cfg *cfg);

#endif
