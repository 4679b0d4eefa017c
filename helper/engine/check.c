/* The engine's own checks of a TRACE request (check.h). */
#include "check.h"

#include <errno.h>

#include "addr.h"

bool
check_port_allowed(const struct config *cfg, uint16_t port)
{
	return port_listed(cfg->ports, cfg->nports, port);
}

struct check_refusal
check_request(const struct config *cfg, const struct ct_tuple *want, int local)
{
	if (!check_port_allowed(cfg, want->dport))
		return (struct check_refusal){ "port-not-allowed", "the server port may not be traced" };
	if (local < 0)
		return (struct check_refusal){ "internal", "cannot read the host's addresses" };
	if (local == 0)
		return (struct check_refusal){ "not-local", "the server address is not on this host" };
	return (struct check_refusal){ NULL, NULL };
}

struct check_refusal
check_found(const struct ct_tuple *want, const struct ct_info *found, int lookup_errno)
{
	if (found == NULL)
		return lookup_errno == ENOENT ?
		    (struct check_refusal){ "not-found", "no such connection in conntrack" } :
		    (struct check_refusal){ "internal", "conntrack lookup failed" };
	if (!ct_tuple_equal(&found->orig, want))
		return (struct check_refusal){ "not-found", "no such connection in conntrack" };
	if (!found->have_state || found->tcp_state != CT_TCP_ESTABLISHED)
		return (struct check_refusal){ "not-found", "the connection is not ESTABLISHED" };
	return (struct check_refusal){ NULL, NULL };
}
