/* Privilege separation: what the engine keeps and the broker gives up once the sockets are open. */
#ifndef TT_HELPER_PRIVSEP_H
#define TT_HELPER_PRIVSEP_H

#include <stddef.h>

#include <seccomp.h>

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
 * The engine's and the broker's system call filters, built but not loaded
 * (tests/unit/seccomp_test loads them too): a call outside the allowlist
 * kills the process. syslog: the engine logs through syslog(3), whose
 * reconnect gets EPERM. NULL on error, errno set.
 */
scmp_filter_ctx privsep_engine_filter(int syslog);
scmp_filter_ctx privsep_broker_filter(void);

/*
 * broker_main's drop callback, after the API socket exists: gives the broker's
 * user the database's directory when that is tracetroutd's own (never the
 * socket's: root made the socket and removes it),
 * becomes that user with no capability at all and (unless sandbox is 0) sets
 * no_new_privs. An empty user keeps root (development only, with a warning).
 * Returns 0, or -1 (logged).
 */
int privsep_broker(const struct config *cfg);

#endif
