/* Privilege separation: what the engine keeps and the broker gives up once the sockets are open. */
#ifndef TT_PRIVSEP_H
#define TT_PRIVSEP_H

#include <stddef.h>

#include "config.h"

/*
 * Checks, as root and before anything is opened, that the users exist, are
 * not root and differ, and notes which of tracetroutd's directories do not
 * exist yet (the broker may take over those it creates). Returns 0, or -1
 * with a message in err that says how to fix it.
 */
int privsep_check(const struct config *cfg, char *err, size_t errlen);

/*
 * In the engine, after its sockets are open: becomes engine-user keeping
 * CAP_NET_ADMIN alone, then (unless sandbox is 0) sets no_new_privs, stops
 * being dumpable and loads the seccomp allowlist. Returns 0, or -1 (logged).
 */
int privsep_engine(const struct config *cfg);
/*
 * The engine's seccomp allowlist alone, loaded into the calling thread
 * (privsep_engine's last step; tests/lib/rtnl_try loads it too). Returns 0,
 * or -1 (logged).
 */
int privsep_engine_filter(const struct config *cfg);

/*
 * broker_main's drop callback, after the API socket exists: gives the broker's
 * user its socket and the database's directory when that is tracetroutd's own,
 * becomes that user with no capability at all and (unless sandbox is 0) sets
 * no_new_privs. An empty user keeps root (development only, with a warning).
 * Returns 0, or -1 (logged).
 */
int privsep_broker(const struct config *cfg);

#endif
