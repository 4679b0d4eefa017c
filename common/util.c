/* Small helpers both programs need (util.h). */
#define _GNU_SOURCE	/* struct mmsghdr */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Creates every missing directory above path's last component. Returns 0 or -1 with errno. */
int
mkdir_parent(const char *path, mode_t mode)
{
	char buf[4096];
	char *p;

	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, path);
	if ((p = strrchr(buf, '/')) == NULL || p == buf)
		return 0;
	*p = '\0';
	for (p = buf + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		if (c == '\0')
			break;
		*p = c;
	}
	return 0;
}

void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint64_t
time_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
time_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
mmsg_init(struct mmsghdr *mm, struct iovec *iov, void *base, size_t size, int n)
{
	for (int i = 0; i < n; i++) {
		iov[i] = (struct iovec){ (char *)base + (size_t)i * size, size };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
}

uint64_t
statm_rss(int fd)
{
	char buf[128], *sp, *end;
	unsigned long long pages;
	long page = sysconf(_SC_PAGESIZE);
	ssize_t n;

	/* "size resident shared text lib data dt", in pages: the second field. */
	if (fd < 0 || page <= 0 || (n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	if ((sp = strchr(buf, ' ')) == NULL)
		return 0;
	errno = 0;
	pages = strtoull(sp + 1, &end, 10);
	if (end == sp + 1 || errno != 0)
		return 0;
	return (uint64_t)pages * (uint64_t)page;
}
