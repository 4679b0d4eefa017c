/* The permalink of a stored trace and its deletion: one broker request each. */
#include "stored.h"

#include <string.h>

#include "brokerclient.h"
#include "html.h"
#include "log.h"
#include "proto.h"
#include "refusal.h"
#include "relay.h"
#include "render.h"

void
stored_serve(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const char *id)
{
	char line[PROTO_REQUEST_MAX];
	struct render_trace t;
	struct proto_msg m;
	struct bclient c;
	enum bclient_status st;
	int n;

	if ((n = proto_fmt_get(line, sizeof(line), id)) < 0) {
		log_warnx("GET line does not fit");	/* cannot happen: id is checked */
		reply_error(o, ro, 500, NULL, "internal error");
		return;
	}
	if ((st = bclient_ask(&c, cfg->socket_path, cfg->connect_ms, line, (size_t)n,
	    cfg->start_ms, &m)) != BCLIENT_OK) {
		refusal_write_client(o, ro, "GET", &c, st);
		return;
	}
	if (m.verb == PROTO_STORED && strcmp(m.id, id) != 0) {
		log_warnx("broker answered GET id=%s with trace %s", id, m.id);
		m.verb = PROTO_BAD;
	}
	if (m.verb != PROTO_STORED) {
		refusal_write_msg(o, ro, "GET", &m);
		bclient_close(&c);
		return;
	}
	relay_fill(&t, &m, ro->prefix);
	/* The rest is read from the database at once: the same bound as the first answer. */
	relay_body(o, ro, &t, &c, bclient_deadline(cfg->start_ms));
	bclient_close(&c);
}

/*
 * The body saying id is deleted: a page with a link back to the app (not
 * to the history, which is off where addresses are truncated), text, or
 * JSON (json and atlas).
 */
static int
deleted_body(struct out *o, const struct reply_opts *ro, const char *id)
{
	if (strcmp(ro->r->name, "html") == 0)
		return html_head(o, "Trace deleted", 0) < 0 ||
		    out_printf(o, "<main>\n<h1>Trace deleted</h1>\n"
		    "<p>The trace <code>%s</code> is deleted from this server.</p>\n<p><a href=\"", id) < 0 ||
		    html_str(o, ro->prefix) < 0 ||
		    out_puts(o, "/\">Trace again</a></p>\n</main>\n") < 0 ||
		    html_foot(o) < 0 ? -1 : 0;
	if (strcmp(ro->r->name, "text") == 0)
		return out_printf(o, "deleted: trace %s\n", id);
	return out_printf(o, "{\"deleted\":\"%s\"}\n", id);
}

/* The content type of deleted_body in ro's format. */
static const char *
deleted_type(const struct reply_opts *ro)
{
	return strcmp(ro->r->name, "html") == 0 || strcmp(ro->r->name, "text") == 0 ?
	    ro->r->content_type : "application/json";
}

void
stored_delete(struct out *o, const struct broker_cfg *cfg, const struct reply_opts *ro,
    const char *id, const char *token)
{
	char line[PROTO_REQUEST_MAX];
	struct proto_msg m;
	struct bclient c;
	enum bclient_status st;
	int n;

	if ((n = proto_fmt_delete(line, sizeof(line), id, token)) < 0) {
		log_warnx("DELETE line does not fit");	/* cannot happen: id and token are checked */
		reply_error(o, ro, 500, NULL, "internal error");
		return;
	}
	if ((st = bclient_ask(&c, cfg->socket_path, cfg->connect_ms, line, (size_t)n,
	    cfg->start_ms, &m)) != BCLIENT_OK) {
		refusal_write_client(o, ro, "DELETE", &c, st);
		return;
	}
	bclient_close(&c);
	if (m.verb != PROTO_DELETED || strcmp(m.id, id) != 0) {
		if (m.verb == PROTO_DELETED) {
			log_warnx("broker answered DELETE id=%s with DELETED id=%s", id, m.id);
			m.verb = PROTO_BAD;
		}
		refusal_write_msg(o, ro, "DELETE", &m);
		return;
	}
	log_info("trace %s deleted by its visitor", id);
	if (reply_head(o, 200, deleted_type(ro), ro->vary ? REPLY_VARY : 0, NULL) < 0 ||
	    (!ro->head_only && deleted_body(o, ro, id) < 0) || out_flush(o) < 0)
		log_debug("trace %s: the visitor went away before the answer", id);
}
