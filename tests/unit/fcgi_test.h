/*
 * Test support shared by the fcgi_*_test.c programs: a struct out over
 * memory, and the broker stand-in of broker_standin.h.
 */
#ifndef TT_TESTS_UNIT_FCGI_TEST_H
#define TT_TESTS_UNIT_FCGI_TEST_H

#include <errno.h>
#include <string.h>

#include "broker_standin.h"
#include "out.h"

/* Output collected in memory; writes fail once fail_at bytes are taken (0: never). */
struct membuf {
	char buf[65536];
	size_t len;
	size_t fail_at;
	int flushes;
	size_t flushed;		/* len at the last flush */
};

static inline int
mem_write(void *ctx, const char *p, size_t n)
{
	struct membuf *m = ctx;

	if (m->fail_at && m->len + n > m->fail_at)
		return -1;
	if (m->len + n >= sizeof(m->buf))
		return -1;
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	m->buf[m->len] = '\0';
	return 0;
}

static inline int
mem_flush(void *ctx)
{
	struct membuf *m = ctx;

	m->flushes++;
	m->flushed = m->len;
	return 0;
}

static inline struct out
mem_out(struct membuf *m)
{
	struct out o = { mem_write, mem_flush, m };

	memset(m, 0, sizeof(*m));
	return o;
}

#endif
