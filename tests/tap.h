/* A minimal TAP producer for unit tests: plan, ok, is, and a summary exit code. */
#ifndef TT_TAP_H
#define TT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) do { long long g_ = (got), w_ = (want); \
	if (!ok(g_ == w_, __VA_ARGS__)) printf("#   got %lld, want %lld\n", g_, w_); } while (0)
#define is_str(got, want, ...) do { const char *g_ = (got), *w_ = (want); \
	if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__)) \
		printf("#   got  \"%s\"\n#   want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } while (0)

/*
 * TAP_ONLY=TEXT in the environment reports one case alone: a test point whose
 * description does not hold TEXT is reported as skipped, whatever its result
 * (its code still runs). Descriptions name their case ("IPv4 no SACK: ..."),
 * so the case's name selects it.
 */
static inline int
tap_wanted(const char *desc)
{
	const char *only = getenv("TAP_ONLY");

	return only == NULL || *only == '\0' || strstr(desc, only) != NULL;
}

static int __attribute__((format(printf, 4, 5)))
tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char *desc;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (desc = malloc((size_t)n + 1)) == NULL) {
		perror("tap_ok");
		exit(1);
	}
	va_start(ap, fmt);
	vsnprintf(desc, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (!tap_wanted(desc)) {
		printf("ok %d - %s # SKIP not TAP_ONLY\n", ++tap_n, desc);
		free(desc);
		return 1;
	}
	printf("%s %d - %s\n", cond ? "ok" : "not ok", ++tap_n, desc);
	free(desc);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return cond;
}

/* Makes the test's scratch directory from a mkdtemp template; 0, or -1 after saying why. */
static inline int
tap_tmpdir(char *tmpl)
{
	if (mkdtemp(tmpl) != NULL)
		return 0;
	perror("mkdtemp");
	return -1;
}

/* Removes the scratch directory and everything in it. */
static inline void
tap_tmpdir_remove(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* The whole file, NUL-terminated (not counted in *len); NULL if it cannot be read. */
static inline char *
tap_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

#ifdef TT_TOP_SRCDIR
/*
 * A fuzz target's seed file, tests/fuzz/corpus/TARGET/NAME (under the
 * top_srcdir of make check, or the source tree the test was built from), as
 * tap_slurp reads it. The unit tests read their fixtures there, so that the
 * fuzzers start from the very bytes the tests check.
 */
static inline char *
tap_seed(const char *target, const char *name, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[4096];

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/%s/%s", top ? top : TT_TOP_SRCDIR, target,
	    name);
	return tap_slurp(path, len);
}
#endif

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
