/*
 * The caller's side of the broker protocol (docs/protocol.md), for the app,
 * tracetroutd --status and the tests: connect, read the greeting, send one
 * request, read lines. Every step is bounded in time. Its names are
 * bclient_ ("broker client"): the broker's own struct client is the other
 * end of such a connection.
 */
#ifndef TT_BROKERCLIENT_H
#define TT_BROKERCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum bclient_status {
	BCLIENT_OK = 0,
	BCLIENT_UNREACHABLE,	/* nobody listens on the socket (helper stopped) */
	BCLIENT_DENIED,		/* the socket's permissions keep this user out */
	BCLIENT_TIMEOUT,		/* the broker did not answer in time */
	BCLIENT_CLOSED,		/* the broker closed the connection */
	BCLIENT_GARBAGE,		/* a line too long, unparsable, or an unknown version */
	BCLIENT_IOERR,		/* a socket call failed */
};

struct bclient {
	int fd;
	size_t off;			/* where the unread bytes start in buf */
	size_t len;			/* where they end */
	char buf[PROTO_LINE_MAX];
	const char *line;		/* the last line read, with its '\n', in buf; NULL if none */
	size_t line_len;		/* its bytes */
	char why[512];			/* the reason behind the last failure, for the log */
	int err;			/* the errno behind it when a system call failed, else 0 */
	char *body;			/* the last INFO's body (malloc'd), or NULL */
	size_t body_len;		/* its bytes, without the '\n' (a NUL follows them) */
};

/*
 * Connects to the broker's socket and reads its greeting, all within
 * timeout_ms. On failure the socket is closed and c->why says why.
 */
enum bclient_status bclient_open(struct bclient *c, const char *path, int timeout_ms);
/* The deadline timeout_ms from now, for the calls below (CLOCK_MONOTONIC, ms). */
int64_t bclient_deadline(int timeout_ms);
/* Sends one line (with its '\n') before the deadline. */
enum bclient_status bclient_send(struct bclient *c, const char *line, size_t len, int64_t deadline);
/*
 * Reads and parses the next line, waiting for it until the deadline. An
 * ITEM's m->path and c->line (the line as it came, also one the parser
 * refuses) point into c's buffer: valid until the next bclient_read.
 * After an INFO line it also reads the body, exactly m->info_len bytes and
 * a '\n', within the same deadline, into c->body (c->body_len bytes and a
 * NUL), valid until the next bclient_read or bclient_close; a body that does
 * not end with its '\n' is BCLIENT_GARBAGE.
 */
enum bclient_status bclient_read(struct bclient *c, struct proto_msg *m, int64_t deadline);
/* Is a whole line already read from the socket, so that bclient_read will not wait? */
bool bclient_ready(const struct bclient *c);
/*
 * The start of every conversation: bclient_open, then one request line
 * (with its '\n') sent and the first answer read into m, each step within
 * its timeout. On failure the socket is closed and c->why says why.
 */
enum bclient_status bclient_ask(struct bclient *c, const char *path, int connect_ms,
    const char *line, size_t len, int answer_ms, struct proto_msg *m);
/* Closing tells the broker the visitor has gone, and frees c->body; harmless when not open. */
void bclient_close(struct bclient *c);

#endif
