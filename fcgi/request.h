/* One FastCGI request as the handlers see it: plain strings copied out of the FCGX parameters. */
#ifndef TT_REQUEST_H
#define TT_REQUEST_H

#define REQ_METHOD_MAX	16
#define REQ_PATH_MAX	1024	/* SCRIPT_NAME, PATH_INFO, DOCUMENT_URI, REQUEST_URI */
#define REQ_QUERY_MAX	1024
#define REQ_ACCEPT_MAX	1024
#define REQ_ADDR_MAX	64	/* REMOTE_ADDR, SERVER_ADDR */
#define REQ_PORT_MAX	8

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
	const char *toolong;		/* the first parameter that did not fit */
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

#endif
