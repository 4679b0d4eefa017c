/*
 * The engine's own checks of a TRACE request, whatever the broker checked
 * (a compromised broker can ask anything): pure, so that tests reach them
 * directly with fixtures.
 */
#ifndef TT_HELPER_ENGINE_CHECK_H
#define TT_HELPER_ENGINE_CHECK_H

#include <stdbool.h>

#include "config.h"
#include "ct.h"

/* A refusal: the protocol's code and a short text; code NULL when the request may go on. */
struct check_refusal {
	const char *code, *text;
};

/* Is port one of ports? */
bool check_port_allowed(const struct config *cfg, uint16_t port);
/*
 * Before the look-up: the server port is one of ports, and the server address
 * is one of the host's (local: 1 yes, 0 no, -1 the host's addresses could not
 * be read).
 */
struct check_refusal check_request(const struct config *cfg, const struct ct_tuple *want, int local);
/*
 * After it: found (NULL when the look-up failed with lookup_errno) is the
 * connection visitor to server in its original direction (conntrack also
 * finds an entry by its reply tuple: the same connection asked the other way
 * round, or, behind NAT, another one), and ESTABLISHED.
 */
struct check_refusal check_found(const struct ct_tuple *want, const struct ct_info *found,
    int lookup_errno);

#endif
