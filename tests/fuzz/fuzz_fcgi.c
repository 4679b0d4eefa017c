/*
 * libFuzzer target: one FastCGI request, parsed into a struct request and routed,
 * the whole response written to memory. The input is NAME=VALUE pairs (CGI names), one a
 * line; an input holding a NUL byte is split at NULs instead, so values may hold newlines.
 * The name BODY gives the request body, read as main.c reads it from FCGX.
 * The name BROKER gives the broker's side of a trace (STARTED or STORED,
 * then HOP, INFO and its body, NAME, END ...): read through the client from
 * a socket pair and rendered in the routed format, so the broker's lines
 * and INFO bodies reach client.c, stream.c and the renderers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "brokercfg.h"
#include "brokerclient.h"
#include "log.h"
#include "out.h"
#include "relay.h"
#include "render.h"
#include "reply.h"
#include "request.h"
#include "route.h"

#define FUZZ_PARAMS	32

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct params {
	const char *name[FUZZ_PARAMS];
	const char *value[FUZZ_PARAMS];
	size_t n;
};

/* Output in memory, bounded like a web server's buffer; past the bound writes fail. */
struct fuzz_out {
	char buf[16384];
	size_t len;
};

static int
fuzz_write(void *ctx, const char *p, size_t n)
{
	struct fuzz_out *m = ctx;

	if (n > sizeof(m->buf) - m->len)
		return -1;
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	return 0;
}

static int
fuzz_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

/* The request body, handed out in pieces as FCGX_GetStr would. */
struct fuzz_body {
	const char *p;
	size_t n;
};

static int
fuzz_read(void *ctx, char *buf, size_t len)
{
	struct fuzz_body *b = ctx;
	size_t k = len < b->n ? len : b->n;

	if (k > 100)
		k = 100;
	memcpy(buf, b->p, k);
	b->p += k;
	b->n -= k;
	return (int)k;
}

/* The first value given for name, as FCGX_GetParam returns it; NULL when missing. */
static const char *
fuzz_get(const char *name, void *ctx)
{
	const struct params *p = ctx;

	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->name[i], name) == 0)
			return p->value[i];
	return NULL;
}

/*
 * Plays bytes as the broker's answer to the routed request: the first line
 * must be STARTED or STORED, the rest goes through relay_body. The writing
 * end is closed first, so no read waits: the bytes end in EOF.
 */
static void
fuzz_broker(const struct route *rt, const char *bytes, struct out *o)
{
	struct reply_opts ro = { .r = rt->r ? rt->r : &render_json, .vary = rt->vary,
	    .head_only = rt->head_only, .prefix = "", .server = RENDER_SERVER_OTHER };
	size_t n = strlen(bytes), off = 0;
	struct render_trace t;
	struct proto_msg m;
	struct bclient c;
	ssize_t k;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	while (off < n && (k = write(sv[1], bytes + off, n - off)) > 0)
		off += (size_t)k;
	close(sv[1]);
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	if (bclient_read(&c, &m, bclient_deadline(50)) == BCLIENT_OK &&
	    (m.verb == PROTO_STARTED || m.verb == PROTO_STORED)) {
		relay_fill(&t, &m, "");
		if (m.verb == PROTO_STARTED)
			t.conn = rt->conn;
		relay_body(o, &ro, &t, &c, bclient_deadline(50));
	}
	bclient_close(&c);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The app logs every refused request; keep the fuzzer's output readable. */
	log_init("fuzz_fcgi", 0, 0);
	setlogmask(LOG_MASK(LOG_EMERG));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* No broker listens here: a routed trace fails at connect() and answers 503. */
	static const struct broker_cfg cfg = { "/nonexistent/tracetrout-fuzz.sock", 50, 50, 50, NULL };
	struct params p = { .n = 0 };
	struct request req;
	struct route rt;
	struct fuzz_out mb;
	struct out o = { fuzz_write, fuzz_flush, &mb };
	struct fuzz_body body = { "", 0 };
	char *copy, *line, *end, *next, sep;

	/* A private NUL-terminated copy, so ASan sees any read past the input. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = copy + size;
	sep = memchr(data, '\0', size) != NULL ? '\0' : '\n';
	for (line = copy; line < end && p.n < FUZZ_PARAMS; line = next) {
		char *eq;

		if ((next = memchr(line, sep, (size_t)(end - line))) == NULL)
			next = end;
		*next++ = '\0';
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		p.name[p.n] = line;
		p.value[p.n] = eq + 1;
		p.n++;
	}

	request_fill(&req, fuzz_get, &p);
	if ((body.p = fuzz_get("BODY", &p)) != NULL)
		body.n = strlen(body.p);
	else
		body.p = "";
	request_read_body(&req, fuzz_read, &body);
	route_decide(&req, &rt);
	mb.len = 0;
	if ((body.p = fuzz_get("BROKER", &p)) != NULL)
		fuzz_broker(&rt, body.p, &o);
	else
		route_serve(&req, &o, &cfg);
	free(copy);
	return 0;
}
