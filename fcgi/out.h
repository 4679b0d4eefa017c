/* The handlers' output: a response stream that main.c backs with FCGX and the tests with memory. */
#ifndef TT_FCGI_OUT_H
#define TT_FCGI_OUT_H

#include <stddef.h>

/* write and flush return 0, or -1 once the web server or the visitor has gone. */
struct out {
	int (*write)(void *ctx, const char *buf, size_t len);
	int (*flush)(void *ctx);
	void *ctx;
};

int out_puts(struct out *o, const char *s);
/* Formats up to 1024 bytes; longer output is an error, not a truncation. */
int out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int out_flush(struct out *o);

#endif
