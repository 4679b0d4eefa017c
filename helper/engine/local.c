/*
 * Is an address one of this host's? The engine reads the kernel's lists
 * (fib_trie's LOCAL routes, if_inet6) through descriptors opened before the
 * split, from their start each time, so it needs no new socket or file, and
 * nothing it holds for this can change anything.
 */
#include "local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A host with a full routing table has some 100 MB of fib_trie: past this, refuse. */
#define LOCAL_READ_MAX	(64u << 20)

int
local_open(struct local_files *lf)
{
	memset(lf, 0, sizeof(*lf));
	lf->fd6 = -1;
	if ((lf->fd4 = open("/proc/self/net/fib_trie", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	/* No IPv6 in this kernel: no IPv6 address is local. */
	if ((lf->fd6 = open("/proc/self/net/if_inet6", O_RDONLY | O_CLOEXEC)) < 0 && errno != ENOENT) {
		local_close(lf);
		return -1;
	}
	return 0;
}

void
local_close(struct local_files *lf)
{
	if (lf->fd4 >= 0)
		close(lf->fd4);
	if (lf->fd6 >= 0)
		close(lf->fd6);
	lf->fd4 = lf->fd6 = -1;
}

/* The next line of buf: its start in *line, its length returned; 0 at the end. */
static size_t
next_line(const char *buf, size_t len, size_t *pos, const char **line)
{
	const char *nl;
	size_t n;

	if (*pos >= len)
		return 0;
	*line = buf + *pos;
	nl = memchr(*line, '\n', len - *pos);
	n = nl != NULL ? (size_t)(nl - *line) : len - *pos;
	*pos += n + 1;
	return n == 0 ? 1 : n;
}

/*
 * fib_trie names a node "|-- 192.0.2.2" and lists its routes on the lines
 * below, "/32 host LOCAL"; "/8 host LOCAL" under 127.0.0.0 makes all of
 * 127/8 local.
 */
int
local_find4(const char *buf, size_t len, const struct tt_addr *a)
{
	char tmp[64];
	const char *line, *p;
	struct in_addr node;
	uint32_t want, net, mask;
	size_t pos = 0, n;
	int have = 0, plen;

	memcpy(&want, a->u.b, 4);
	want = ntohl(want);
	while ((n = next_line(buf, len, &pos, &line)) > 0) {
		if (n >= sizeof(tmp))
			continue;
		memcpy(tmp, line, n);
		tmp[n] = '\0';
		if ((p = strstr(tmp, "|-- ")) != NULL) {
			have = inet_pton(AF_INET, p + 4, &node) == 1;
			continue;
		}
		p = tmp + strspn(tmp, " ");
		if (!have || *p != '/' || strstr(p, " host LOCAL") == NULL)
			continue;
		plen = atoi(p + 1);
		if (plen < 0 || plen > 32)
			continue;
		mask = plen == 0 ? 0 : 0xffffffffu << (32 - plen);
		net = ntohl(node.s_addr);
		if ((net & mask) == (want & mask))
			return 1;
	}
	return 0;
}

/* if_inet6: "20010db8000000000000000000000001 02 40 00 80 eth0", the address in 32 hex digits. */
int
local_find6(const char *buf, size_t len, const struct tt_addr *a)
{
	static const char hex[] = "0123456789abcdef";
	char want[32];
	const char *line;
	size_t pos = 0, n;
	int i;

	for (i = 0; i < 16; i++) {
		want[2 * i] = hex[a->u.b[i] >> 4];
		want[2 * i + 1] = hex[a->u.b[i] & 15];
	}
	while ((n = next_line(buf, len, &pos, &line)) > 0)
		if (n > 32 && line[32] == ' ' && memcmp(line, want, 32) == 0)
			return 1;
	return 0;
}

/* The whole file from its start (a /proc file is made anew by each read from 0). */
static char *
read_all(int fd, size_t *len)
{
	char *buf = NULL, *nbuf;
	size_t cap = 0;
	ssize_t n;

	*len = 0;
	for (;;) {
		if (cap - *len < 4096) {
			if (cap >= LOCAL_READ_MAX || (nbuf = realloc(buf, cap ? 2 * cap : 16384)) == NULL) {
				free(buf);
				errno = cap >= LOCAL_READ_MAX ? EFBIG : ENOMEM;
				return NULL;
			}
			buf = nbuf;
			cap = cap ? 2 * cap : 16384;
		}
		if ((n = pread(fd, buf + *len, cap - *len, (off_t)*len)) < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (n == 0)
			return buf;
		*len += (size_t)n;
	}
}

int
local_check(struct local_files *lf, const struct tt_addr *a, uint64_t now_us)
{
	int fd = a->family == AF_INET ? lf->fd4 : lf->fd6, rc;
	unsigned n = sizeof(lf->seen) / sizeof(lf->seen[0]);
	size_t len;
	char *buf;

	if (fd < 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (lf->seen_us[i] != 0 && now_us - lf->seen_us[i] < LOCAL_SEEN_US &&
		    addr_equal(&lf->seen[i], a))
			return 1;
	if ((buf = read_all(fd, &len)) == NULL)
		return -1;
	rc = a->family == AF_INET ? local_find4(buf, len, a) : local_find6(buf, len, a);
	free(buf);
	if (rc == 1) {
		lf->seen[lf->next % n] = *a;
		lf->seen_us[lf->next++ % n] = now_us;
	}
	return rc;
}
