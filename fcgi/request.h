/* One FastCGI request as the handlers see it: plain strings copied out of the FCGX parameters. */
#ifndef TT_FCGI_REQUEST_H
#define TT_FCGI_REQUEST_H

#include <stddef.h>

#include "proto.h"

#define REQ_METHOD_MAX	16
#define REQ_PATH_MAX	1024	/* SCRIPT_NAME, PATH_INFO, DOCUMENT_URI, REQUEST_URI */
#define REQ_QUERY_MAX	1024
#define REQ_ACCEPT_MAX	1024
#define REQ_ADDR_MAX	64	/* REMOTE_ADDR, SERVER_ADDR */
#define REQ_PORT_MAX	8
#define REQ_TOKEN_MAX	128	/* X-Delete-Token: 32 hex digits, and room to tell junk from them */
#define REQ_LENGTH_MAX	24	/* CONTENT_LENGTH */
#define REQ_CTYPE_MAX	256	/* CONTENT_TYPE */
#define REQ_ETAG_MAX	512	/* If-None-Match */
#define REQ_BODY_MAX	1024	/* a request body: the delete form's token=HEX is 38 bytes */

/* What became of the request body (request_read_body). */
enum req_body {
	REQ_BODY_NONE = 0,	/* not read: only POST takes a body */
	REQ_BODY_OK,		/* body_len bytes in body */
	REQ_BODY_TOOLARGE,	/* more than REQ_BODY_MAX bytes, said or sent: 413 */
	REQ_BODY_BADLENGTH,	/* CONTENT_LENGTH is not a number */
	REQ_BODY_SHORT,		/* fewer bytes than CONTENT_LENGTH, or a read error */
};

/*
 * A missing parameter is an empty string. A value too long for its field
 * is left empty and its name kept in toolong, so the request is refused
 * rather than served with a silently truncated value.
 */
struct request {
	char method[REQ_METHOD_MAX];
	char script_name[REQ_PATH_MAX];
	char path_info[REQ_PATH_MAX];
	char document_uri[REQ_PATH_MAX];
	char request_uri[REQ_PATH_MAX];
	char query[REQ_QUERY_MAX];
	char accept[REQ_ACCEPT_MAX];
	char remote_addr[REQ_ADDR_MAX];
	char remote_port[REQ_PORT_MAX];
	char server_addr[REQ_ADDR_MAX];
	char server_port[REQ_PORT_MAX];
	char delete_token[REQ_TOKEN_MAX];	/* HTTP_X_DELETE_TOKEN */
	char content_length[REQ_LENGTH_MAX];
	char content_type[REQ_CTYPE_MAX];
	char if_none_match[REQ_ETAG_MAX];	/* HTTP_IF_NONE_MATCH */
	/* Signs of a proxy in front: the first of Forwarded, X-Forwarded-For, Via present. */
	enum proto_proxy proxy;
	/* SERVER_SOFTWARE's first bytes: which server's setting to name when it buffers. */
	char server_software[32];
	const char *toolong;		/* the first parameter that did not fit */
	enum req_body body_status;
	size_t body_len;
	/* A byte over the cap (read to tell a body too large), then a NUL; may hold NULs of its own. */
	char body[REQ_BODY_MAX + 2];
};

/*
 * Fills req from every parameter a handler reads, asking get() for each by
 * its CGI name (get returns NULL for a missing one). req is zeroed first.
 */
void request_fill(struct request *req, const char *(*get)(const char *name, void *ctx),
    void *ctx);

/*
 * Copies one parameter (value NULL: missing) into its field. Returns 0;
 * -1 if the name is not one a handler reads or the value did not fit
 * (then req->toolong names it).
 */
int request_param(struct request *req, const char *name, const char *value);

/*
 * Reads the body of a POST (the only method a route takes a body with)
 * through rd, which returns the bytes it read (fewer than asked only at
 * the end) or -1. Reads at most REQ_BODY_MAX + 1 bytes: CONTENT_LENGTH
 * when given, else up to the end. Sets body_status; call after the
 * parameters are filled.
 */
void request_read_body(struct request *req, int (*rd)(void *ctx, char *buf, size_t len),
    void *ctx);

#endif
