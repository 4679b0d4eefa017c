/*
 * The little HTTP/1.x the metrics endpoint speaks, pure: a request's head
 * parsed from the bytes read so far, and the answer's head.
 */
#ifndef TT_BROKER_METRICS_HTTP_H
#define TT_BROKER_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* A request's head (request line and headers) longer than this is refused: 431. */
#define METRICS_REQUEST_MAX	4096

enum metrics_req {
	METRICS_REQ_MORE = 0,	/* the head is not whole yet: read more */
	METRICS_REQ_GET,	/* GET /metrics: 200 with the text */
	METRICS_REQ_HEAD,	/* HEAD /metrics: 200 without it */
	METRICS_REQ_NOT_FOUND,	/* another path: 404 */
	METRICS_REQ_BAD_METHOD,	/* another method: 405 */
	METRICS_REQ_TOO_LARGE,	/* no whole head in METRICS_REQUEST_MAX bytes: 431 */
	METRICS_REQ_BAD,	/* not an HTTP/1.0 or 1.1 request: 400 */
};

/*
 * What the len bytes read so far on a connection ask for. Bytes after the
 * head (a body) are not looked at. *head is set when the method is HEAD,
 * whose answer has no body whatever its status.
 */
enum metrics_req metrics_request_parse(const char *buf, size_t len, bool *head);

/*
 * The answer's head for r, with Content-Length body_len and Connection:
 * close, into buf; its length, or -1 if it did not fit. A 200's type is the
 * text format's; the others' plain text, whose body metrics_error_body gives.
 */
int metrics_response_head(char *buf, size_t len, enum metrics_req r, size_t body_len);
/* The body of an error answer (a line saying what went wrong); "" for 200. */
const char *metrics_error_body(enum metrics_req r);

#endif
