/*
 * Small helpers both programs need: directories, error buffers, hex digits,
 * clocks, batches of messages.
 */
#ifndef TT_COMMON_UTIL_H
#define TT_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Creates every missing directory above path's last component. Returns 0 or -1 with errno. */
int mkdir_parent(const char *path, mode_t mode);
/* Formats a message into err (errlen bytes); harmless with err NULL. */
void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The value of a hex digit of either case, or -1 if c is none. */
int hex_digit(char c);
/* Microseconds and milliseconds on clock clk (CLOCK_MONOTONIC or CLOCK_REALTIME). */
uint64_t time_us(clockid_t clk);
uint64_t time_ms(clockid_t clk);

/*
 * A process's resident memory in bytes, from its /proc/PID/statm opened as
 * fd (read again from the start each time); 0 if it cannot be read.
 */
uint64_t statm_rss(int fd);

struct iovec;
struct mmsghdr;
/*
 * Points mm[0..n-1] for sendmmsg or recvmmsg at n buffers of size bytes each,
 * one after the other from base, each through its own iov[i].
 */
void mmsg_init(struct mmsghdr *mm, struct iovec *iov, void *base, size_t size, int n);

#endif
