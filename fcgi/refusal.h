/*
 * What every handler shares once the broker refuses or fails before the
 * head: the response for each broker ERROR code and each failed client
 * step, logged and written in the visitor's format.
 */
#ifndef TT_FCGI_REFUSAL_H
#define TT_FCGI_REFUSAL_H

#include "brokerclient.h"
#include "out.h"
#include "proto.h"
#include "reply.h"

/* What the visitor gets when the broker refuses or fails before the head. */
struct refusal {
	int status;
	const char *msg;	/* short, for the visitor */
	const char *extra;	/* header lines, or NULL */
	int retry;		/* seconds for Retry-After, or 0 for none */
};

/*
 * Maps a broker ERROR code to a response; unknown codes are the broker's
 * failure. retry is the ERROR's retry= (0 if absent): it becomes Retry-After.
 */
void refusal_for_code(const char *code, int retry, struct refusal *f);
/* Maps a failed client step before the head to a response. */
void refusal_for_client(enum bclient_status st, struct refusal *f);
/* The helper failed: what an unknown code or an impossible step gets. */
extern const struct refusal refusal_failed;
/* Writes the error response for f in ro's format. */
void refusal_write(struct out *o, const struct reply_opts *ro, const struct refusal *f);
/*
 * Answers a broker ERROR (m) that came instead of the answer to verb:
 * logs it (a warning when it is the helper's or the site's fault) and
 * writes the error response.
 */
void refusal_write_msg(struct out *o, const struct reply_opts *ro, const char *verb,
    const struct proto_msg *m);
/* Answers a failed conversation (c->why says why) before the head: logs, then 502 or 503. */
void refusal_write_client(struct out *o, const struct reply_opts *ro, const char *verb,
    const struct bclient *c, enum bclient_status st);

#endif
