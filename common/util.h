/* Small helpers both programs need: directories for sockets and databases, error buffers. */
#ifndef TT_COMMON_UTIL_H
#define TT_COMMON_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Creates every missing directory above path's last component. Returns 0 or -1 with errno. */
int mkdir_parent(const char *path, mode_t mode);
/* Formats a message into err (errlen bytes); harmless with err NULL. */
void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
