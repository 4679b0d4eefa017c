/*
 * The history page: asks the broker for one visitor's traces, reads the
 * whole answer (so every failure is still a proper status), then renders.
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "brokerclient.h"
#include "history_render.h"
#include "log.h"
#include "proto.h"
#include "refusal.h"

/* One more than a page: the extra one is the older trace the last row's change is measured to. */
#define HISTORY_ASK	(HISTORY_PAGE + 1)

/* Copies an ITEM out of the client's buffer; -1 if its path does not fit (it always does). */
static int
item_copy(struct history_item *it, const struct proto_msg *m)
{
	if (m->path_len >= sizeof(it->path))
		return -1;
	memcpy(it->id, m->id, sizeof(it->id));
	it->started_ms = m->started_ms;
	memcpy(it->reason, m->code, sizeof(it->reason));
	it->reason[sizeof(it->reason) - 1] = '\0';
	it->hops = m->hops;
	it->duration_us = m->duration_us;
	memcpy(it->vantage, m->vantage, sizeof(it->vantage));
	memcpy(it->path, m->path, m->path_len);
	it->path[m->path_len] = '\0';
	return 0;
}

void
history_serve(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const struct tt_addr *client, const char *before)
{
	char line[PROTO_REQUEST_MAX];
	struct history_item *items = NULL;
	struct history_view v;
	struct proto_msg m;
	struct bclient c;
	enum bclient_status st;
	int64_t deadline;
	int n, nitems = 0, more = 0;

	if ((n = proto_fmt_history(line, sizeof(line), client, before, HISTORY_ASK)) < 0) {
		log_warnx("HISTORY line does not fit");	/* cannot happen: checked address and id */
		reply_error(o, ro, 500, NULL, "internal error");
		return;
	}
	if ((st = bclient_ask(&c, cfg->socket_path, cfg->connect_ms, line, (size_t)n,
	    cfg->start_ms, &m)) != BCLIENT_OK) {
		refusal_write_client(o, ro, "HISTORY", &c, st);
		return;
	}
	if (m.verb != PROTO_ITEM && m.verb != PROTO_LIST) {
		refusal_write_msg(o, ro, "HISTORY", &m);
		goto done;
	}
	/* The rest comes from the database at once: the same bound again. */
	deadline = bclient_deadline(cfg->start_ms);
	if ((items = calloc(HISTORY_ASK, sizeof(*items))) == NULL) {
		log_warn("history");
		reply_error(o, ro, 500, NULL, "out of memory");
		goto done;
	}
	/* ITEMs, then LIST; a broker that sends more ITEMs than asked only says there are more. */
	while (m.verb == PROTO_ITEM) {
		if (nitems == HISTORY_ASK)
			more = 1;
		else if (item_copy(&items[nitems++], &m) < 0) {
			m.verb = PROTO_BAD;
			break;
		}
		if ((st = bclient_read(&c, &m, deadline)) != BCLIENT_OK) {
			refusal_write_client(o, ro, "HISTORY, mid-list", &c, st);
			goto done;
		}
	}
	if (m.verb != PROTO_LIST) {
		refusal_write_msg(o, ro, "HISTORY, mid-list", &m);
		goto done;
	}
	bclient_close(&c);

	memset(&v, 0, sizeof(v));
	v.client = *client;
	v.prefix = ro->prefix;
	v.items = items;
	v.nitems = nitems < HISTORY_PAGE ? nitems : HISTORY_PAGE;
	v.older = nitems > HISTORY_PAGE ? &items[HISTORY_PAGE] : NULL;
	v.more = more || m.more || nitems > HISTORY_PAGE;
	if (reply_head(o, 200, history_content_type(ro->r), ro->vary ? REPLY_VARY : 0, NULL) < 0 ||
	    (!ro->head_only && history_render(o, ro->r, &v) < 0) || out_flush(o) < 0)
		log_debug("history: the visitor went away");
done:
	bclient_close(&c);
	free(items);
}
