/*
 * The visitor's address with truncate-clients (docs/security.md): what of it
 * a hop, the store and the log may show.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/*
 * truncate-clients: a hop's addresses inside the visitor's network (its own
 * answer, a NAT's public address that is the visitor's, another host of its
 * network, or a quoted destination there) become that network, as the
 * visitor itself is stored, before the hop is stored, looked up or sent.
 */
void
hop_truncate(const struct broker *b, const struct tt_addr *client, struct proto_hop *hop)
{
	struct tt_addr net;
	int bits;

	if (!b->cfg->truncate_clients)
		return;
	bits = addr_visitor_net(client, &net);
	for (int i = 0; i < hop->nreplies; i++) {
		if (addr_in_prefix(&hop->r[i].from, &net, bits))
			hop->r[i].from = net;
		if (hop->r[i].edst.family != 0 && addr_in_prefix(&hop->r[i].edst, &net, bits))
			hop->r[i].edst = net;
	}
	/* Another visitor's trace may have measured the router: the same rule for it. */
	if (hop->reused.family != 0 && addr_in_prefix(&hop->reused, &net, bits))
		hop->reused = net;
}

/* The visitor for the log: its address, or with truncate-clients its network (NET/BITS). */
const char *
visitor_format(const struct broker *b, const struct tt_addr *client, char *buf)
{
	struct tt_addr net;
	int bits;

	if (!b->cfg->truncate_clients)
		return addr_format(client, buf);
	bits = addr_visitor_net(client, &net);
	addr_format(&net, buf);
	snprintf(buf + strlen(buf), VISITOR_STRLEN - strlen(buf), "/%d", bits);
	return buf;
}
