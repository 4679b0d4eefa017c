/* Small helpers over struct out, so every writer reports failure the same way. */
#include "out.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
out_puts(struct out *o, const char *s)
{
	return o->write(o->ctx, s, strlen(s));
}

int
out_printf(struct out *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return o->write(o->ctx, buf, (size_t)n);
}

int
out_flush(struct out *o)
{
	return o->flush(o->ctx);
}
