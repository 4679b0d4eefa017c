/*
 * Output formats of a trace. Each renderer is pure: it turns parsed broker
 * messages into bytes written through struct out, and never flushes.
 */
#ifndef TT_FCGI_RENDER_H
#define TT_FCGI_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "hopstats.h"
#include "out.h"
#include "proto.h"

#define RENDER_INFO_ADDRS	128	/* addresses a trace keeps INFO and NAME of; more are ignored */
#define RENDER_INFO_BYTES	(4 * 1024 * 1024)	/* INFO bodies a trace keeps, in all */
#define RENDER_SHOWN_MAX	256	/* addresses whose first hop is remembered */

/* What the broker's INFO and NAME lines said of one hop address (docs/protocol.md). */
struct render_info {
	struct tt_addr addr;
	int ttl;			/* the first hop shown with this address; 0: none (yet) */
	bool info;			/* an INFO came: f has its fields */
	struct proto_info f;		/* percent-decoded, not escaped */
	char *body;			/* its JSON body, checked and compacted; NULL: none */
	size_t body_len;
	char name[PROTO_NAME_MAX + 1];	/* NAME; "" not known */
};

/* A trace's table of them, filled by the stream as INFO and NAME arrive. */
struct render_infos {
	int n;
	struct render_info *e[RENDER_INFO_ADDRS];	/* malloc'd, in order of arrival */
	size_t bytes;			/* of the bodies kept */
	int dropped;			/* INFO or NAME ignored: table full, body refused or over budget */
	int nshown;
	struct {
		struct tt_addr addr;
		int ttl;
	} shown[RENDER_SHOWN_MAX];	/* each address written in a hop, at its first hop */
};

/* The web server in front, as SERVER_SOFTWARE names it: whose setting a fix names. */
enum render_server {
	RENDER_SERVER_OTHER = 0,
	RENDER_SERVER_NGINX,
	RENDER_SERVER_APACHE,
	RENDER_SERVER_LIGHTTPD,
};

/* What a renderer knows of the trace it writes. */
struct render_trace {
	char id[PROTO_ID_LEN + 1];
	struct proto_trace_req conn;	/* the visitor's connection */
	bool unstored;			/* STARTED said stored=0: the helper will not store it */
	bool live;			/* traced now; false: read back from the database */
	uint64_t started_ms;		/* ms since the epoch; 0 if the broker did not say */
	char token[PROTO_ID_LEN + 1];	/* the delete token (live and stored only), else "" */
	enum proto_addr_mode addr_mode;	/* how the helper keeps visitor addresses */
	uint64_t retention_s;		/* how long stored traces are kept; 0 forever */
	char vantage[PROTO_VANTAGE_MAX + 1];	/* a fleet's server that traced it; "" unsaid */
	const char *prefix;		/* the app's own path, escaped for a URI ("" at the root) */
	enum render_server server;	/* live traces: the web server serving this one */
	/*
	 * A renderer's running state, zeroed by stream_init and filled by
	 * hopstats_record(). The summary at the end (statistics table, notes on
	 * rate limiting) is made from it, so no hop is held back: about 17 KiB.
	 */
	struct render_state {
		int hops;		/* hops written */
		int last_answered;	/* highest TTL with a reply in time */
		int last_heard;		/* highest TTL with a reply, in time or late */
		int partial;		/* hops that answered some probes only */
		int reached;		/* the TTL the visitor answered at; 0 if it did not */
		uint64_t silent[4];	/* bit ttl-1: the hop was silent */
		struct hopstats hs[HOPSTATS_TTL_MAX + 1];	/* by TTL */
		int nlate;		/* late answers kept in late, in TTL order */
		struct hopstats_late late[HOPSTATS_LATE_MAX];
	} st;
	/*
	 * INFO and NAME of the trace's addresses so far (render_info_find):
	 * zeroed by stream_init, filled by the stream, freed by stream_free.
	 */
	struct render_infos info;
};

/* Each function returns 0, or -1 if the output failed; NULL ones write nothing. */
struct renderer {
	const char *name;		/* as in ?format= */
	const char *content_type;
	/* The first body bytes, sent with the head. */
	int (*begin)(struct out *, struct render_trace *);
	/* One settled hop, in TTL order. */
	int (*hop)(struct out *, struct render_trace *, const struct proto_hop *);
	/* The broker's END. */
	int (*end)(struct out *, struct render_trace *, const struct proto_msg *);
	/* The trace broke off after the head; msg is for the visitor. */
	int (*fail)(struct out *, struct render_trace *, const char *msg);
	/* The body of an error response sent instead of a trace. */
	int (*error)(struct out *, const char *msg);
};

extern const struct renderer render_json;	/* the original's JSON lines: the default */
extern const struct renderer render_text;	/* traceroute(8)-style text */
extern const struct renderer render_atlas;	/* one RIPE Atlas traceroute result (JSON) */
extern const struct renderer render_html;	/* the live page, progressive HTML */

#endif
