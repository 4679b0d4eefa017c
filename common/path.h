/*
 * A trace's path as ITEM carries it (docs/protocol.md, HISTORY): walking its
 * hops and addresses, and comparing two of them. The app's /history and the
 * broker's searches for changed paths share it, so both call the same change
 * a change. Pure.
 */
#ifndef TT_COMMON_PATH_H
#define TT_COMMON_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* How a trace's path differs from the one before it (the older trace). */
struct path_change {
	int added;		/* hops the newer path has and the older had not (it is longer) */
	int removed;		/* hops the older path had and the newer has not */
	int replaced;		/* hops at the same TTL answered by none of the same addresses */
	int first_ttl;		/* the lowest TTL that changed; 0 if none did */
};

/*
 * The next hop of a path at *p: its text in [*s, *s + *n), and *p moved
 * past it. Returns false at the end. "-" alone is the path with no hops.
 */
bool path_next_hop(const char **p, const char **s, size_t *n);
/*
 * The next address of a hop [*p, end) in [*a, *a + *an), *p moved past it.
 * "*" (the hop's mark when only late answers came: "*+192.0.2.3"), "-" and
 * empty ones are no address. Returns false at the hop's end.
 */
bool path_next_addr(const char **p, const char *end, const char **a, size_t *an);
/* Is hop [s, s + n) silent: no address to compare ("*", or nothing known)? */
bool path_hop_silent(const char *s, size_t n);
/* Did only late answers come from hop [s, s + n): "*" first, then their addresses? */
bool path_hop_late_only(const char *s, size_t n);
/*
 * Compares two paths hop by hop. A silent hop ("*") on either side is not
 * a change: silence says nothing about who is there. A hop answered only
 * late ("*+ADDR") is answered by ADDR: the same hop as one answered by
 * ADDR in time.
 */
void path_diff(const char *older, const char *newer, struct path_change *c);
/* Did anything change? */
bool path_changed(const struct path_change *c);

#endif
