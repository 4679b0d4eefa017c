/*
 * Broker refusals and failures before the head, as responses: the status
 * and sentence for each ERROR code, and how loudly each is logged.
 */
#include "refusal.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define BUSY_RETRY_DEFAULT	5	/* Retry-After when a busy broker does not say (before retry=) */
#define BUSY_LOG_MS		1000	/* a busy refusal logged at most this often: hundreds at overload */

static atomic_ullong busy_logged_ms;	/* monotonic; 0: never (shared by the threads) */
static atomic_ullong busy_quiet;	/* busy refusals not logged since the last one logged */

/* Whether to log a busy refusal now: once a BUSY_LOG_MS at most, whichever thread asks. */
static bool
busy_log_due(unsigned long long *quiet)
{
	unsigned long long now = time_ms(CLOCK_MONOTONIC), last = atomic_load(&busy_logged_ms);

	if ((last != 0 && now - last < BUSY_LOG_MS) ||
	    !atomic_compare_exchange_strong(&busy_logged_ms, &last, now ? now : 1)) {
		atomic_fetch_add(&busy_quiet, 1);
		return false;
	}
	*quiet = atomic_exchange(&busy_quiet, 0);
	return true;
}

static const struct {
	const char *code;
	struct refusal f;
} refusals[] = {
	{ "bad-request", { 400, "the tracing helper rejected the request", NULL, 0 } },
	/* The connection as the web server describes it is not one this host holds: a proxy. */
	{ "not-found", { 422, "this connection cannot be traced: it is not established "
	    "on this server (is a proxy in front of it?)", NULL, 0 } },
	{ "not-local", { 422, "this connection cannot be traced: the server address is not "
	    "local (is a proxy in front of it?)", NULL, 0 } },
	/* The operator's configuration forbids it. */
	{ "port-not-allowed", { 403, "tracing is not enabled for this port", NULL, 0 } },
	{ "busy", { 503, "too many traces are running; try again in a few seconds", NULL,
	    BUSY_RETRY_DEFAULT } },
	/* Another request on the same connection (an HTTP/2 stream, say) is tracing it now. */
	{ "traced", { 409, "this connection is being traced for another request on it; try "
	    "again when that trace has ended", NULL, BUSY_RETRY_DEFAULT } },
	{ "engine-down", { 503, "the tracing engine is not running", NULL, 0 } },
	/* The helper does not let this app's user in: the site's setup, not the visitor. */
	{ "forbidden", { 500, "tracing is not set up correctly on this site", NULL, 0 } },
	/* Stored traces (GET, HISTORY, DELETE). */
	{ "unknown-trace", { 404, "no such trace (it may have been deleted or expired)", NULL, 0 } },
	{ "bad-token", { 403, "wrong delete token for this trace", NULL, 0 } },
	{ "no-storage", { 404, "this server does not keep traces", NULL, 0 } },
	/* A fleet's database (docs/fleet.md) holds the trace, and is away now. */
	{ "store-away", { 503, "the database of stored traces cannot be reached now; try again "
	    "shortly", NULL, 5 } },
	{ "history-off", { 404, "history is off on this server: it stores visitor addresses "
	    "truncated, and a truncated address is shared by other people (permalinks still work)",
	    NULL, 0 } },
};

const struct refusal refusal_failed = { 502, "the tracing helper failed", NULL, 0 };

void
refusal_for_code(const char *code, int retry, struct refusal *f)
{
	*f = refusal_failed;	/* internal, and codes of later versions */
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strcmp(refusals[i].code, code) == 0)
			*f = refusals[i].f;
	if (retry > 0)
		f->retry = retry;
}

void
refusal_for_client(enum bclient_status st, struct refusal *f)
{
	static const struct refusal down = { 503, "the tracing helper is not running", NULL, 0 };
	/* The site's setup, not the visitor: the log says which socket and which user. */
	static const struct refusal denied = { 500, "tracing is not set up correctly on "
	    "this site: the web server's user may not open the tracing helper's socket", NULL, 0 };
	static const struct refusal slow = { 503, "the tracing helper is not answering", NULL, 0 };

	switch (st) {
	case BCLIENT_UNREACHABLE:
		*f = down;
		break;
	case BCLIENT_DENIED:
		*f = denied;
		break;
	case BCLIENT_TIMEOUT:
		*f = slow;
		break;
	default:
		*f = refusal_failed;
		break;
	}
}

void
refusal_write(struct out *o, const struct reply_opts *ro, const struct refusal *f)
{
	char extra[256];

	snprintf(extra, sizeof(extra), "%s", f->extra ? f->extra : "");
	if (f->retry > 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    "Retry-After: %d\r\n", f->retry);
	if (reply_error(o, ro, f->status, extra[0] ? extra : NULL, f->msg) < 0)
		log_debug("the visitor went away before the error response");
}

void
refusal_write_msg(struct out *o, const struct reply_opts *ro, const char *verb,
    const struct proto_msg *m)
{
	struct refusal f;

	if (m->verb != PROTO_ERROR) {
		log_warnx("broker answered %s with an unexpected message (verb %d)", verb, m->verb);
		f = refusal_failed;
	} else {
		refusal_for_code(m->code, m->retry, &f);
		/*
		 * The helper failing is a warning; refusing a trace is worth a line;
		 * a stale permalink or a wrong token is the visitor's business. Busy
		 * is a warning once a second at most: at overload there are hundreds
		 * a second (the helper counts them all).
		 */
		if (strcmp(m->code, "busy") == 0) {
			unsigned long long quiet;

			if (busy_log_due(&quiet))
				log_warnx("broker refused %s: %s: %s (%llu more busy since the last "
				    "such line)", verb, m->code, m->msg, quiet);
			else
				log_debug("broker refused %s: %s: %s", verb, m->code, m->msg);
		} else if (f.status >= 500)
			log_warnx("broker refused %s: %s: %s", verb, m->code, m->msg);
		else if (f.status == 404 || strcmp(m->code, "bad-token") == 0)
			log_debug("broker refused %s: %s: %s", verb, m->code, m->msg);
		else
			log_info("broker refused %s: %s: %s", verb, m->code, m->msg);
	}
	refusal_write(o, ro, &f);
}

void
refusal_write_client(struct out *o, const struct reply_opts *ro, const char *verb,
    const struct bclient *c, enum bclient_status st)
{
	struct refusal f;

	log_warnx("broker, %s: %s", verb, c->why);
	refusal_for_client(st, &f);
	refusal_write(o, ro, &f);
}
