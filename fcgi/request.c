/* Copies the FastCGI parameters a handler needs into a struct request, bounded. */
#include "request.h"

#include <stddef.h>
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
	memset(req, 0, sizeof(*req));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		request_param(req, fields[i].name, get(fields[i].name, ctx));
}
