/* Tests of common/path.c: walking an ITEM path, and where two paths differ. */
#include <stdio.h>
#include <string.h>

#include "path.h"
#include "tap.h"

static void
test_path_diff(void)
{
	static const struct {
		const char *older, *newer;
		int added, removed, replaced, first;
	} cases[] = {
		{ "a,b,c", "a,b,c", 0, 0, 0, 0 },
		{ "a,b,c", "a,x,c", 0, 0, 1, 2 },
		{ "a,b", "a,b,c", 1, 0, 0, 3 },
		{ "a,b,c", "a,b", 0, 1, 0, 3 },
		{ "a,b,c", "a,x", 0, 1, 1, 2 },
		{ "a,*,c", "a,b,c", 0, 0, 0, 0 },		/* silence is never a change */
		{ "a,b,c", "a,*,c", 0, 0, 0, 0 },
		{ "a,b", "a,b,*", 0, 0, 0, 0 },			/* a silent hop added is none */
		{ "a,b,*", "a,b", 0, 0, 0, 0 },
		{ "a,b+d,c", "a,d,c", 0, 0, 0, 0 },		/* one shared address: same hop */
		{ "a,b+d,c", "a,e+f,c", 0, 0, 1, 2 },
		{ "-", "a,b", 2, 0, 0, 1 },			/* no hops before */
		{ "a,b", "-", 0, 2, 0, 1 },
		{ "-", "-", 0, 0, 0, 0 },
		/* Whole addresses compare, not prefixes of them. */
		{ "192.0.2.1,203.0.113.1", "192.0.2.1,203.0.113.10", 0, 0, 1, 2 },
		{ "x,y,z,w", "a,y,q", 0, 1, 2, 1 },
		/* Late answers only ("*+b"): the router that answered is the hop's, late or not. */
		{ "a,b,c", "a,*+b,c", 0, 0, 0, 0 },
		{ "a,*+b,c", "a,b,c", 0, 0, 0, 0 },
		{ "a,*+b,c", "a,*+x,c", 0, 0, 1, 2 },		/* "*" itself is no address */
		{ "a,b,c", "a,*+x,c", 0, 0, 1, 2 },
		{ "a,*+b+x,c", "a,x+y,c", 0, 0, 0, 0 },
		{ "a,*+b,c", "a,*,c", 0, 0, 0, 0 },
		{ "a", "a,*+b", 1, 0, 0, 2 },			/* a hop that answered, late */
		{ "a,*+b", "a", 0, 1, 0, 2 },
		{ "a,*+,c", "a,b,c", 0, 0, 0, 0 },		/* no address after "*": silent */
		{ "a,b", "a,b+", 0, 0, 0, 0 },
	};
	struct path_change c;
	int agree = 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path_diff(cases[i].older, cases[i].newer, &c);
		agree &= path_changed(&c) == (cases[i].added + cases[i].removed + cases[i].replaced > 0);
		if (!ok(c.added == cases[i].added && c.removed == cases[i].removed &&
		    c.replaced == cases[i].replaced && c.first_ttl == cases[i].first,
		    "path_diff \"%s\" -> \"%s\"", cases[i].older, cases[i].newer))
			printf("#   got +%d -%d ~%d at %d\n", c.added, c.removed, c.replaced,
			    c.first_ttl);
	}
	ok(agree, "path_changed: exactly where hops were added, removed or replaced");
}

/* Each hop's text, and which are silent or answered only late. */
static void
test_walk(void)
{
	const char *p = "192.0.2.1,*,*+192.0.2.3+192.0.2.4,*+,198.51.100.7", *s;
	char got[256] = "";
	size_t n;

	while (path_next_hop(&p, &s, &n))
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "[%.*s %d%d]", (int)n, s,
		    path_hop_silent(s, n), path_hop_late_only(s, n));
	is_str(got, "[192.0.2.1 00][* 10][*+192.0.2.3+192.0.2.4 01][*+ 10][198.51.100.7 00]",
	    "hops, silent ones and those answered only late");
	p = "-";
	ok(!path_next_hop(&p, &s, &n), "\"-\" has no hops");
	p = "*+192.0.2.3+192.0.2.4";
	got[0] = '\0';
	for (const char *a, *q = p; path_next_addr(&q, p + strlen(p), &a, &n);)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "[%.*s]", (int)n, a);
	is_str(got, "[192.0.2.3][192.0.2.4]", "a hop's addresses, \"*\" none of them");
}

int
main(void)
{
	test_path_diff();
	test_walk();
	return tap_done();
}
