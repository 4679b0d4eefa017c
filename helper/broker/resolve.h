/*
 * Host names resolved off the broker's loop, for libpq: its connect resolves
 * a host name with a blocking getaddrinfo, so the fleet (fleet.c) resolves
 * the URI's host names first, on a thread of their own as libcurl's threaded
 * resolver does, and connects with hostaddr= set to what came back.
 */
#ifndef TT_HELPER_BROKER_RESOLVE_H
#define TT_HELPER_BROKER_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

struct resolver;

/*
 * Does a libpq host list (comma-separated) need resolving: at least one
 * name, and no unix socket directory (a path, or @ for an abstract one)
 * among them? IP addresses stand for themselves.
 */
bool resolve_needed(const char *hosts);
/* Starts resolving each host of the list; NULL (err says why) if it cannot start. */
struct resolver *resolve_start(const char *hosts, char *err, size_t errlen);
/*
 * 0 while it runs; 1 when done, addrs the hostaddr list (an address per
 * host, in order); -1 when a name did not resolve (err says which). Once it
 * returns 1 or -1 the resolver is gone.
 */
int resolve_poll(struct resolver *r, char *addrs, size_t len, char *err, size_t errlen);
/* Gives up on it: the thread ends by itself and frees it. */
void resolve_abandon(struct resolver *r);

#endif
