/* Logging in OpenBSD's style: stderr in the foreground, syslog otherwise. */
#ifndef TT_COMMON_LOG_H
#define TT_COMMON_LOG_H

#include <stdarg.h>

void log_init(const char *ident, int foreground, int verbose);
void log_setverbose(int verbose);
int log_getverbose(void);

/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
