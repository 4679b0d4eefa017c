/*
 * The history page's content: one visitor's stored traces, newest first,
 * with where the path changed from one trace to the next (of the same
 * vantage point, in a fleet: each server sees its own path). Pure.
 */
#ifndef TT_FCGI_HISTORY_RENDER_H
#define TT_FCGI_HISTORY_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "out.h"
#include "path.h"
#include "proto.h"
#include "render.h"

#define HISTORY_PAGE	20	/* traces on a page */

/* One ITEM of the broker's HISTORY answer, copied out of its line. */
struct history_item {
	char id[PROTO_ID_LEN + 1];
	uint64_t started_ms;
	char reason[32];
	int hops;
	uint64_t duration_us;
	char vantage[PROTO_VANTAGE_MAX + 1];	/* a fleet's server that traced it, or "" */
	char path[PROTO_LINE_MAX];	/* as in ITEM: hops by ',', addresses by '+', "*" silent,
					   "*+ADDR..." answered late only, "-" none */
};

struct history_view {
	struct tt_addr client;		/* whose traces these are */
	const char *prefix;		/* the app's own path, escaped for a URI */
	const struct history_item *items;	/* newest first */
	int nitems;
	/* The trace just older than the last shown, to mark its change; NULL if none. */
	const struct history_item *older;
	bool more;			/* older traces exist: link to before=items[nitems-1].id */
};

/* The content type of history in this format (html, json or text). */
const char *history_content_type(const struct renderer *r);
/* Writes the whole body in r's format (atlas is refused before this). */
int history_render(struct out *o, const struct renderer *r, const struct history_view *v);

#endif
