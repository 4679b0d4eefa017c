/*
 * The fleet's resolver (helper/broker/resolve.c): which libpq host lists it
 * resolves, what hostaddr= it makes of them, a name that does not resolve,
 * and one given up on. No packet leaves: "localhost" comes from /etc/hosts,
 * and glibc refuses "a..invalid" (an empty label) before asking any server.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "resolve.h"
#include "tap.h"

/* resolve_poll until it has an answer, for 10 s at most; -2 if none came. */
static int
wait_for(struct resolver *r, char *addrs, size_t len, char *err, size_t errlen)
{
	struct timespec ms = { 0, 1000000 };
	int rc;

	for (int i = 0; i < 10000; i++) {
		if ((rc = resolve_poll(r, addrs, len, err, errlen)) != 0)
			return rc;
		nanosleep(&ms, NULL);
	}
	resolve_abandon(r);
	return -2;
}

int
main(void)
{
	static const struct {
		const char *hosts;
		bool needed;
	} cases[] = {
		{ "db.example", true },
		{ "192.0.2.5", false },
		{ "2001:db8::5", false },
		{ "192.0.2.5,db.example", true },
		{ "/run/postgresql", false },
		{ "@abstract", false },
		{ "db.example,/run/postgresql", false },
		{ "", false },
		{ "db.example,", false },
	};
	struct resolver *r;
	char addrs[512], err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(resolve_needed(cases[i].hosts) == cases[i].needed, "\"%s\": %s", cases[i].hosts,
		    cases[i].needed ? "resolved first" : "left to libpq");
	ok(!resolve_needed(NULL), "no host: left to libpq");

	r = resolve_start("localhost,192.0.2.5", err, sizeof(err));
	ok(r != NULL, "the resolver starts (%s)", r ? "" : err);
	if (r != NULL) {
		is_int(wait_for(r, addrs, sizeof(addrs), err, sizeof(err)), 1, "it resolves (%s)", err);
		ok(strcmp(addrs, "127.0.0.1,192.0.2.5") == 0 || strcmp(addrs, "::1,192.0.2.5") == 0,
		    "an address per host, in order: %s", addrs);
	}
	r = resolve_start("localhost,a..invalid", err, sizeof(err));
	if (r != NULL) {
		is_int(wait_for(r, addrs, sizeof(addrs), err, sizeof(err)), -1,
		    "a name that does not resolve fails the list");
		ok(strstr(err, "cannot resolve a..invalid") != NULL, "... naming it: %s", err);
	}
	/* Given up at once: the thread frees it when it ends (ASan's run would see a leak). */
	r = resolve_start("localhost", err, sizeof(err));
	resolve_abandon(r);
	ok(r != NULL, "one given up on is left to end by itself");
	return tap_done();
}
