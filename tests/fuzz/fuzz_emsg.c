/*
 * libFuzzer target: one record on the broker <-> engine socketpair, as
 * emsg_check() takes it (the engine's only validator of what the broker
 * sends). A record it lets through goes on as its receiver takes it: a START
 * to the engine's own checks and the conntrack request it builds, a HOP,
 * LATE, END or REFUSED to the line the broker writes of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nfnetlink_conntrack.h>

#include "check.h"
#include "config.h"
#include "ct.h"
#include "emsg.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The engine's part of a START, without its sockets: the checks and the look-up's request. */
static void
engine_start(const struct proto_trace_req *r)
{
	static struct config cfg;
	static int have_cfg;
	static char buf[1024] __attribute__((aligned(4)));
	struct ct_tuple tuple = { r->client, r->server, r->cport, r->sport };

	if (!have_cfg) {
		config_defaults(&cfg);
		have_cfg = 1;
	}
	if (check_request(&cfg, &tuple, 1).code == NULL)
		ct_build(buf, IPCTNL_MSG_CT_GET, 0, &tuple);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[PROTO_LINE_MAX];
	struct emsg *m;

	/*
	 * recv() fills at most one struct emsg; a private copy of exactly size
	 * bytes, so that ASan sees any read past what came.
	 */
	if (size > sizeof(*m) || (m = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(m, data, size);
	if (emsg_check(m, size) == 0) {
		switch (m->type) {
		case EMSG_START:
			engine_start(&m->u.start);
			break;
		case EMSG_HOP:
		case EMSG_LATE:
			proto_fmt_hop(line, sizeof(line), &m->u.hop);
			break;
		case EMSG_END:
			proto_fmt_end(line, sizeof(line), m->u.end.code, m->u.end.hops, 0, 1);
			break;
		case EMSG_REFUSED:
			proto_fmt_error(line, sizeof(line), m->u.end.code, m->u.end.text);
			break;
		default:
			break;
		}
	}
	free(m);
	return 0;
}
