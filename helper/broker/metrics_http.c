/*
 * HTTP/1.x for the metrics endpoint, as little as a scraper needs: a request
 * line, headers up to the blank line, one answer, then the connection closes.
 * Every byte is checked before it is used; anything else is 400.
 */
#include "metrics_http.h"

#include <stdio.h>
#include <string.h>

#define METRICS_PATH	"/metrics"

/* RFC 9110's tchar: what a method and a header's name are made of. */
static bool
tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Are the n bytes at p visible ASCII, blanks and tabs (and CRs, with cr)? */
static bool
text_ok(const char *p, size_t n, bool cr)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c > 0x7e || (c < 0x20 && c != '\t' && !(cr && c == '\r')))
			return false;
	}
	return true;
}

/* The line at p (up to its '\n', n bytes), without a CR before it. */
static size_t
trim_cr(const char *p, size_t n)
{
	return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

/*
 * "METHOD SP TARGET SP HTTP/1.x": the method and target, or false. Visible
 * ASCII only (the caller checked the bytes), one space between the parts.
 */
static bool
request_line(const char *p, size_t n, const char **method, size_t *mlen, const char **target,
    size_t *tlen)
{
	const char *sp1 = memchr(p, ' ', n), *sp2;

	if (sp1 == NULL || sp1 == p)
		return false;
	*method = p;
	*mlen = (size_t)(sp1 - p);
	for (size_t i = 0; i < *mlen; i++)
		if (!tchar(p[i]))
			return false;
	*target = sp1 + 1;
	if ((sp2 = memchr(*target, ' ', n - *mlen - 1)) == NULL || sp2 == *target)
		return false;
	*tlen = (size_t)(sp2 - *target);
	n -= *mlen + *tlen + 2;
	return n == 8 && (memcmp(sp2 + 1, "HTTP/1.0", 8) == 0 || memcmp(sp2 + 1, "HTTP/1.1", 8) == 0);
}

/* "name: value", name a token right before the colon. */
static bool
header_line(const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n);

	if (colon == NULL || colon == p)
		return false;
	for (const char *q = p; q < colon; q++)
		if (!tchar(*q))
			return false;
	return true;
}

/* /metrics, with a query string or without (a scraper's params), and nothing else. */
static bool
metrics_path(const char *t, size_t n)
{
	size_t p = strlen(METRICS_PATH);

	return n >= p && memcmp(t, METRICS_PATH, p) == 0 && (n == p || t[p] == '?');
}

enum metrics_req
metrics_request_parse(const char *buf, size_t len, bool *head)
{
	const char *method = NULL, *target = NULL, *line = buf, *end = buf + len, *nl;
	size_t mlen = 0, tlen = 0;

	*head = false;
	/* Line by line while whole lines are there; a blank one ends the head. */
	while ((nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
		size_t n = trim_cr(line, (size_t)(nl - line));

		if (!text_ok(line, n, false))
			return METRICS_REQ_BAD;
		if (method == NULL) {
			if (!request_line(line, n, &method, &mlen, &target, &tlen))
				return METRICS_REQ_BAD;
			*head = mlen == 4 && memcmp(method, "HEAD", 4) == 0;
		} else if (n == 0) {
			break;
		} else if (!header_line(line, n)) {
			return METRICS_REQ_BAD;
		}
		line = nl + 1;
	}
	if (nl == NULL) {
		/* Garbage says so at once (a TLS hello, a binary probe), before the head is whole. */
		if (!text_ok(line, (size_t)(end - line), true))
			return METRICS_REQ_BAD;
		return len >= METRICS_REQUEST_MAX ? METRICS_REQ_TOO_LARGE : METRICS_REQ_MORE;
	}
	if (!metrics_path(target, tlen))
		return METRICS_REQ_NOT_FOUND;
	if (*head)
		return METRICS_REQ_HEAD;
	if (mlen == 3 && memcmp(method, "GET", 3) == 0)
		return METRICS_REQ_GET;
	return METRICS_REQ_BAD_METHOD;
}

static const struct answer {
	const char *status, *body, *extra;
} answers[] = {
	[METRICS_REQ_GET] = { "200 OK", "", "" },
	[METRICS_REQ_HEAD] = { "200 OK", "", "" },
	[METRICS_REQ_NOT_FOUND] = { "404 Not Found", "not found: the metrics are at /metrics\n", "" },
	[METRICS_REQ_BAD_METHOD] = { "405 Method Not Allowed", "method not allowed: GET or HEAD\n",
	    "Allow: GET, HEAD\r\n" },
	[METRICS_REQ_TOO_LARGE] = { "431 Request Header Fields Too Large",
	    "request too large: its head may have 4096 bytes\n", "" },
	[METRICS_REQ_BAD] = { "400 Bad Request", "bad request: not an HTTP/1.x request\n", "" },
};

const char *
metrics_error_body(enum metrics_req r)
{
	return r > METRICS_REQ_MORE && r <= METRICS_REQ_BAD ? answers[r].body : "";
}

int
metrics_response_head(char *buf, size_t len, enum metrics_req r, size_t body_len)
{
	const struct answer *a;
	int n;

	if (r <= METRICS_REQ_MORE || r > METRICS_REQ_BAD)
		r = METRICS_REQ_BAD;
	a = &answers[r];
	n = snprintf(buf, len, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", a->status, r == METRICS_REQ_GET || r == METRICS_REQ_HEAD ?
	    "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8", body_len,
	    a->extra);
	return n < 0 || (size_t)n >= len ? -1 : n;
}
