/*
 * A trace's path as ITEM carries it: hops by ',', a hop's addresses by '+',
 * "*" for a silent hop, "*+ADDR" for one answered only late, "-" for none;
 * and the comparison of two that marks where a route changed. Pure.
 */
#include "path.h"

#include <string.h>

bool
path_next_hop(const char **p, const char **s, size_t *n)
{
	const char *c = *p, *e;

	if (c == NULL || *c == '\0' || (c[0] == '-' && c[1] == '\0'))
		return false;
	e = strchr(c, ',');
	*s = c;
	*n = e ? (size_t)(e - c) : strlen(c);
	*p = e ? e + 1 : c + *n;
	return true;
}

bool
path_next_addr(const char **p, const char *end, const char **a, size_t *an)
{
	while (*p < end) {
		const char *s = *p, *e = memchr(s, '+', (size_t)(end - s));

		if (e == NULL)
			e = end;
		*p = e < end ? e + 1 : end;
		if (e > s && !(e - s == 1 && (*s == '*' || *s == '-'))) {
			*a = s;
			*an = (size_t)(e - s);
			return true;
		}
	}
	return false;
}

bool
path_hop_silent(const char *s, size_t n)
{
	const char *a;
	size_t an;

	return !path_next_addr(&s, s + n, &a, &an);
}

bool
path_hop_late_only(const char *s, size_t n)
{
	return n > 2 && s[0] == '*' && s[1] == '+' && !path_hop_silent(s, n);
}

/* Is address [a, a + an) one of the addresses of hop [s, s + n)? */
static bool
hop_has(const char *s, size_t n, const char *a, size_t an)
{
	const char *end = s + n, *b;
	size_t bn;

	while (path_next_addr(&s, end, &b, &bn))
		if (bn == an && memcmp(b, a, an) == 0)
			return true;
	return false;
}

/*
 * Do two answered hops share an address? Late answers count as the others:
 * a router that answered late is still the one at that hop.
 */
static bool
share(const char *s, size_t n, const char *t, size_t m)
{
	const char *end = s + n, *a;
	size_t an;

	while (path_next_addr(&s, end, &a, &an))
		if (hop_has(t, m, a, an))
			return true;
	return false;
}

void
path_diff(const char *older, const char *newer, struct path_change *c)
{
	const char *po = older, *pn = newer, *so = NULL, *sn = NULL;
	size_t no = 0, nn = 0;

	memset(c, 0, sizeof(*c));
	for (int ttl = 1;; ttl++) {
		bool ho = path_next_hop(&po, &so, &no), hn = path_next_hop(&pn, &sn, &nn);
		bool changed = false;

		if (!ho && !hn)
			break;
		/* Silence says nothing about who is there: never a change, on either side. */
		if (ho && hn) {
			if (!path_hop_silent(so, no) && !path_hop_silent(sn, nn) &&
			    !share(so, no, sn, nn)) {
				c->replaced++;
				changed = true;
			}
		} else if (hn && !path_hop_silent(sn, nn)) {
			c->added++;
			changed = true;
		} else if (ho && !path_hop_silent(so, no)) {
			c->removed++;
			changed = true;
		}
		if (changed && c->first_ttl == 0)
			c->first_ttl = ttl;
	}
}

bool
path_changed(const struct path_change *c)
{
	return c->first_ttl != 0;
}
