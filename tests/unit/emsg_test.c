/*
 * emsg_check(), the engine's only validator of what the broker sends (and the
 * broker's of the engine's answers), fed the seed files of fuzz_emsg
 * (tests/fuzz/corpus/emsg, written by make-seeds.py): a valid record of every
 * type, and malformed ones, each a valid one with one field changed. The test
 * checks that each malformed record differs from its valid one in that field
 * only, so it is refused for the reason its name says.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emsg.h"
#include "tap.h"

#ifndef TT_TOP_SRCDIR
#define TT_TOP_SRCDIR "."
#endif

/* Where a field lies in struct emsg. */
#define FIELD(f)	offsetof(struct emsg, f), sizeof(((struct emsg *)0)->f)
#define WHOLE		0, 0

struct fixture {
	const char *name;	/* the file in corpus/emsg */
	int want;		/* emsg_check's answer */
	unsigned type;		/* a valid one's type */
	const char *base;	/* a malformed one: the valid record it changes */
	size_t off, len;	/* ... and where: only these bytes differ (0, 0: the size) */
};

static const struct fixture fixtures[] = {
	{ "start4", 0, EMSG_START, NULL, WHOLE },
	{ "start6", 0, EMSG_START, NULL, WHOLE },
	{ "cancel", 0, EMSG_CANCEL, NULL, WHOLE },
	{ "started", 0, EMSG_STARTED, NULL, WHOLE },
	{ "status", 0, EMSG_STATUS, NULL, WHOLE },
	{ "status-answer", 0, EMSG_STATUS_ANSWER, NULL, WHOLE },
	{ "hop", 0, EMSG_HOP, NULL, WHOLE },
	{ "hop-full", 0, EMSG_HOP, NULL, WHOLE },
	{ "hop-silent", 0, EMSG_HOP, NULL, WHOLE },
	{ "late", 0, EMSG_LATE, NULL, WHOLE },
	{ "hop-reused", 0, EMSG_HOP, NULL, WHOLE },
	{ "end", 0, EMSG_END, NULL, WHOLE },
	{ "end-max", 0, EMSG_END, NULL, WHOLE },
	{ "refused", 0, EMSG_REFUSED, NULL, WHOLE },
	{ "refused-busy", 0, EMSG_REFUSED, NULL, WHOLE },

	{ "bad-empty", -1, 0, "start4", WHOLE },
	{ "bad-short", -1, 0, "start4", WHOLE },
	{ "bad-long", -1, 0, "start4", WHOLE },
	{ "bad-type0", -1, 0, "start4", FIELD(type) },
	{ "bad-type10", -1, 0, "start4", FIELD(type) },
	{ "bad-start-family0", -1, 0, "start4", FIELD(u.start.client.family) },
	{ "bad-start-family-mixed", -1, 0, "start4", FIELD(u.start.server) },
	{ "bad-start-family-unix", -1, 0, "start4", FIELD(u.start.server.family) },
	{ "bad-start-cport0", -1, 0, "start4", FIELD(u.start.cport) },
	{ "bad-start-sport0", -1, 0, "start6", FIELD(u.start.sport) },
	{ "bad-status-trace", -1, 0, "status", FIELD(trace) },
	{ "bad-status-answer-trace", -1, 0, "status-answer", FIELD(trace) },
	{ "bad-status-answer-running", -1, 0, "status-answer", FIELD(u.status.running) },
	{ "bad-hop-ttl0", -1, 0, "hop", FIELD(u.hop.ttl) },
	{ "bad-hop-ttl256", -1, 0, "hop-full", FIELD(u.hop.ttl) },
	{ "bad-hop-sent-negative", -1, 0, "hop", FIELD(u.hop.sent) },
	{ "bad-hop-sent17", -1, 0, "hop-full", FIELD(u.hop.sent) },
	{ "bad-hop-nreplies-negative", -1, 0, "hop", FIELD(u.hop.nreplies) },
	{ "bad-hop-nreplies17", -1, 0, "hop-full", FIELD(u.hop.nreplies) },
	{ "bad-hop-from-family", -1, 0, "hop", FIELD(u.hop.r[1].from.family) },
	{ "bad-hop-kind0", -1, 0, "hop", FIELD(u.hop.r[0].kind) },
	{ "bad-hop-kind5", -1, 0, "hop-full", FIELD(u.hop.r[15].kind) },
	{ "bad-hop-flags", -1, 0, "hop", FIELD(u.hop.r[1].flags) },
	{ "bad-hop-reused-family", -1, 0, "hop-reused", FIELD(u.hop.reused.family) },
	{ "bad-hop-reused-replies", -1, 0, "hop-reused", FIELD(u.hop.nreplies) },
	{ "bad-hop-reused-age", -1, 0, "hop-reused", FIELD(u.hop.reused_age_ms) },
	{ "bad-late-reused", -1, 0, "late", FIELD(u.hop.reused) },
	{ "bad-late-two", -1, 0, "late", FIELD(u.hop.nreplies) },
	{ "bad-late-unflagged", -1, 0, "late", FIELD(u.hop.r[0].flags) },
	{ "bad-end-code-empty", -1, 0, "end", FIELD(u.end.code) },
	{ "bad-end-code-unterminated", -1, 0, "end", FIELD(u.end.code) },
	{ "bad-end-text-unterminated", -1, 0, "refused", FIELD(u.end.text) },
	{ "bad-end-hops-negative", -1, 0, "end", FIELD(u.end.hops) },
	{ "bad-end-hops256", -1, 0, "end-max", FIELD(u.end.hops) },
	{ "bad-refused-code-empty", -1, 0, "refused", FIELD(u.end.code) },
	{ "bad-refused-retry-negative", -1, 0, "refused-busy", FIELD(u.end.retry_s) },
	{ "bad-refused-retry-long", -1, 0, "refused-busy", FIELD(u.end.retry_s) },
};

#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static char corpus[1024];	/* the seeds' directory, to list */

/* A fixture's bytes, in a buffer aligned as the engine's struct emsg; NULL if unreadable. */
static struct emsg *
load(const char *name, size_t *len)
{
	char *bytes;
	struct emsg *m;

	if ((bytes = tap_seed("emsg", name, len)) == NULL)
		return NULL;
	/* Room for one byte past a whole record: bad-long. */
	if (*len > sizeof(*m) + 1 || (m = calloc(2, sizeof(*m))) == NULL) {
		free(bytes);
		return NULL;
	}
	memcpy(m, bytes, *len);
	free(bytes);
	return m;
}

/* Do a and b differ only within [off, off + len)? */
static int
same_but(const struct emsg *a, const struct emsg *b, size_t off, size_t len)
{
	return memcmp(a, b, off) == 0 &&
	    memcmp((const char *)a + off + len, (const char *)b + off + len, sizeof(*a) - off - len) == 0;
}

static void
test_fixture(const struct fixture *f)
{
	struct emsg *m, *base = NULL;
	size_t len, blen;

	if ((m = load(f->name, &len)) == NULL) {
		ok(0, "%s: the seed file can be read", f->name);
		return;
	}
	is_int(emsg_check(m, len), f->want, "%s: emsg_check says %s", f->name,
	    f->want == 0 ? "valid" : "malformed");
	if (f->base == NULL) {
		ok(len == sizeof(*m) && m->type == f->type, "%s: a whole record of type %u", f->name,
		    f->type);
	} else if ((base = load(f->base, &blen)) == NULL || emsg_check(base, blen) != 0) {
		ok(0, "%s: its valid record %s can be read and is valid", f->name, f->base);
	} else if (f->len == 0) {
		ok(len != sizeof(*m) && memcmp(m, base, len < blen ? len : blen) == 0,
		    "%s: %s at another size (%zu bytes)", f->name, f->base, len);
	} else {
		ok(len == sizeof(*m) && memcmp(m, base, sizeof(*m)) != 0 &&
		    same_but(m, base, f->off, f->len),
		    "%s: %s with bytes %zu..%zu changed, nothing else", f->name, f->base, f->off,
		    f->off + f->len - 1);
	}
	free(base);
	free(m);
}

/* Every seed file has its fixture, so none goes unchecked. */
/*
 * emsg_recv over a socketpair as main.c makes it: a record one byte longer
 * than a struct emsg comes back with its whole length, so that emsg_check
 * refuses it (a plain recv would return the struct's worth of its head).
 */
static void
test_recv(void)
{
	char buf[sizeof(struct emsg) + 1];
	struct emsg m;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		ok(0, "recv: socketpair: %s", strerror(errno));
		return;
	}
	memset(buf, 0, sizeof(buf));
	((struct emsg *)(void *)buf)->type = EMSG_STATUS;
	ok(emsg_recv(sv[0], &m) == -1 && errno == EAGAIN, "recv: nothing there: -1, EAGAIN");
	ok(send(sv[1], buf, sizeof(m), 0) == (ssize_t)sizeof(m) &&
	    emsg_recv(sv[0], &m) == (ssize_t)sizeof(m) && emsg_check(&m, sizeof(m)) == 0,
	    "recv: a STATUS record whole: its size, and well formed");
	ok(send(sv[1], buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) &&
	    emsg_recv(sv[0], &m) == (ssize_t)sizeof(buf), "recv: one byte too long: its whole length");
	ok(emsg_check(&m, sizeof(buf)) == -1, "recv: and emsg_check refuses it");
	close(sv[1]);
	ok(emsg_recv(sv[0], &m) == 0, "recv: the peer closed: 0");
	close(sv[0]);
}

/* emsg_wait: how long a stamped record waited for its receiver, and the stamps not believed. */
static void
test_wait(void)
{
	struct emsg m;
	uint64_t w = 0;

	memset(&m, 0, sizeof(m));
	ok(!emsg_wait(&m, 5000000, &w), "wait: a record without a stamp says nothing");
	m.sent_us = 4993000;
	ok(emsg_wait(&m, 5000000, &w) && w == 7000, "wait: stamped 7 ms before it is read: 7 ms");
	m.sent_us = 5000000;
	ok(emsg_wait(&m, 5000000, &w) && w == 0, "wait: read as it was stamped: 0");
	m.sent_us = 5000001;
	ok(!emsg_wait(&m, 5000000, &w), "wait: a stamp after now cannot be right");
	m.sent_us = 4000000;
	ok(emsg_wait(&m, 5000000, &w) && w == 1000000, "wait: a second exactly is believed");
	m.sent_us = 3999999;
	ok(!emsg_wait(&m, 5000000, &w), "wait: more than a second is not");
}

static void
test_all_listed(void)
{
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(corpus)) == NULL) {
		ok(0, "%s can be listed", corpus);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		size_t i;

		if (e->d_name[0] == '.')
			continue;
		n++;
		for (i = 0; i < NFIXTURES && strcmp(fixtures[i].name, e->d_name) != 0; i++)
			;
		if (i == NFIXTURES)
			ok(0, "seed %s has a fixture in emsg_test.c", e->d_name);
	}
	closedir(d);
	is_int(n, NFIXTURES, "the corpus holds the %zu fixtures, no more", NFIXTURES);
}

int
main(void)
{
	const char *top = getenv("top_srcdir");

	/* make-seeds.py writes struct emsg as LP64 little-endian hosts lay it out. */
	if (sizeof(long) != 8 || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__) {
		printf("1..0 # SKIP the emsg seeds are laid out for LP64 little-endian hosts\n");
		return 0;
	}
	snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/emsg", top ? top : TT_TOP_SRCDIR);
	ok(emsg_check(NULL, sizeof(struct emsg)) == -1, "no record at all: malformed");
	for (size_t i = 0; i < NFIXTURES; i++)
		test_fixture(&fixtures[i]);
	test_all_listed();
	test_recv();
	test_wait();
	return tap_done();
}
