/* Copies the FastCGI parameters a handler needs into a struct request, bounded; reads a small body. */
#include "request.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	size_t off, size;
} fields[] = {
#define F(name, member) { name, offsetof(struct request, member), \
	sizeof(((struct request *)0)->member) }
	F("REQUEST_METHOD", method),
	F("SCRIPT_NAME", script_name),
	F("PATH_INFO", path_info),
	F("DOCUMENT_URI", document_uri),
	F("REQUEST_URI", request_uri),
	F("QUERY_STRING", query),
	F("HTTP_ACCEPT", accept),
	F("REMOTE_ADDR", remote_addr),
	F("REMOTE_PORT", remote_port),
	F("SERVER_ADDR", server_addr),
	F("SERVER_PORT", server_port),
	F("HTTP_X_DELETE_TOKEN", delete_token),
	F("CONTENT_LENGTH", content_length),
	F("CONTENT_TYPE", content_type),
	F("HTTP_IF_NONE_MATCH", if_none_match),
#undef F
};

int
request_param(struct request *req, const char *name, const char *value)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char *dst;
		size_t n;

		if (strcmp(fields[i].name, name) != 0)
			continue;
		dst = (char *)req + fields[i].off;
		dst[0] = '\0';
		if (value == NULL)
			return 0;
		n = strlen(value);
		if (n >= fields[i].size) {
			if (req->toolong == NULL)
				req->toolong = fields[i].name;
			return -1;
		}
		memcpy(dst, value, n + 1);
		return 0;
	}
	return -1;
}

void
request_fill(struct request *req, const char *(*get)(const char *, void *), void *ctx)
{
	static const struct {
		const char *name;
		enum proto_proxy why;
	} proxy_headers[] = {
		{ "HTTP_FORWARDED", PROTO_PROXY_FORWARDED },
		{ "HTTP_X_FORWARDED_FOR", PROTO_PROXY_XFF },
		{ "HTTP_VIA", PROTO_PROXY_VIA },
	};
	const char *v;

	/* The body buffer is filled only by request_read_body: no need to clear it for every GET. */
	memset(req, 0, offsetof(struct request, body));
	req->body[0] = '\0';
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		request_param(req, fields[i].name, get(fields[i].name, ctx));
	/* Only their presence matters: a long proxy chain is no reason to refuse a request. */
	for (size_t i = 0; i < sizeof(proxy_headers) / sizeof(proxy_headers[0]); i++)
		if ((v = get(proxy_headers[i].name, ctx)) != NULL && *v != '\0') {
			req->proxy = proxy_headers[i].why;
			break;
		}
	if ((v = get("SERVER_SOFTWARE", ctx)) != NULL)
		snprintf(req->server_software, sizeof(req->server_software), "%s", v);
}

/*
 * CONTENT_LENGTH as a number, into *n (a value past REQ_BODY_MAX stands for
 * any larger one); returns 0, or -1 if it is empty or not digits only.
 */
static int
length_parse(const char *s, size_t *n)
{
	size_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > REQ_BODY_MAX)
			continue;	/* already too large: only the syntax matters now */
		v = v * 10 + (size_t)(*s - '0');
	}
	*n = v;
	return 0;
}

void
request_read_body(struct request *req, int (*rd)(void *, char *, size_t), void *ctx)
{
	size_t want = REQ_BODY_MAX + 1, got = 0;
	int n;

	req->body_len = 0;
	req->body[0] = '\0';
	req->body_status = REQ_BODY_NONE;
	if (strcmp(req->method, "POST") != 0)
		return;
	if (req->content_length[0]) {
		if (length_parse(req->content_length, &want) < 0) {
			req->body_status = REQ_BODY_BADLENGTH;
			return;
		}
		/* Refused unread: the web server drops what we leave. */
		if (want > REQ_BODY_MAX) {
			req->body_status = REQ_BODY_TOOLARGE;
			return;
		}
	}
	while (got < want) {
		n = rd(ctx, req->body + got, want - got);
		if (n < 0 || (size_t)n > want - got) {
			req->body_status = REQ_BODY_SHORT;
			return;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	req->body[got] = '\0';
	req->body_len = got;
	if (got > REQ_BODY_MAX)
		req->body_status = REQ_BODY_TOOLARGE;
	else if (req->content_length[0] && got < want)
		req->body_status = REQ_BODY_SHORT;
	else
		req->body_status = REQ_BODY_OK;
}
