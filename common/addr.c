/* IP addresses of either family: parsing, formatting, comparison. */
#include "addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int
addr_parse(const char *s, struct tt_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (s == NULL || strlen(s) >= ADDR_STRLEN)
		return -1;
	if (inet_pton(AF_INET, s, &a->u.v4) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->u.v6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a->u.v6)) {
		struct in_addr v4;

		memcpy(&v4, &a->u.b[12], 4);
		memset(a, 0, sizeof(*a));
		a->family = AF_INET;
		a->u.v4 = v4;
		return 0;
	}
	a->family = AF_INET6;
	return 0;
}

const char *
addr_format(const struct tt_addr *a, char *buf)
{
	if (inet_ntop(a->family, a->u.b, buf, ADDR_STRLEN) == NULL)
		strcpy(buf, "?");
	return buf;
}

size_t
addr_len(const struct tt_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

bool
addr_equal(const struct tt_addr *a, const struct tt_addr *b)
{
	return a->family == b->family &&
	    memcmp(a->u.b, b->u.b, addr_len(a)) == 0;
}

int
port_parse(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
addr_port_parse(const char *s, struct tt_addr *a, uint16_t *port)
{
	char host[ADDR_STRLEN];
	const char *p = NULL, *end;
	size_t n;
	bool bracket = s[0] == '[';

	*port = 0;
	if (addr_parse(s, a) == 0)
		return 0;
	if (bracket) {
		if ((end = strchr(s, ']')) == NULL || (end[1] != ':' && end[1] != '\0'))
			return -1;
		s++;
		if (end[1] == ':')
			p = end + 2;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			return -1;
		p = end + 1;
	}
	if ((n = (size_t)(end - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (addr_parse(host, a) < 0 || (a->family == AF_INET6) != bracket)
		return -1;
	return p == NULL || port_parse(p, port) == 0 ? 0 : -1;
}

bool
port_listed(const uint16_t *ports, int n, uint16_t port)
{
	for (int i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

void
addr_mask(const struct tt_addr *a, int bits, struct tt_addr *out)
{
	int len = (int)addr_len(a) * 8;
	struct tt_addr m;

	memset(&m, 0, sizeof(m));
	m.family = a->family;
	if (bits > len)
		bits = len;
	for (int i = 0; i < bits / 8; i++)
		m.u.b[i] = a->u.b[i];
	if (bits % 8)
		m.u.b[bits / 8] = (uint8_t)(a->u.b[bits / 8] & (0xff << (8 - bits % 8)));
	*out = m;
}

int
addr_prefix_parse(const char *s, struct tt_addr *net, int *bits)
{
	char buf[ADDR_STRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	struct tt_addr a;
	long v;
	char *end;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (addr_parse(buf, &a) < 0)
		return -1;
	v = (long)addr_len(&a) * 8;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
			return -1;
		v = strtol(slash + 1, &end, 10);
		/* A mapped IPv4 prefix (::ffff:10.0.0.0/104) is not taken: write 10.0.0.0/8. */
		if (*end != '\0' || v > (long)addr_len(&a) * 8)
			return -1;
	}
	*bits = (int)v;
	addr_mask(&a, *bits, net);
	return 0;
}

int
addr_visitor_net(const struct tt_addr *a, struct tt_addr *net)
{
	int bits = a->family == AF_INET6 ? 48 : 24;

	addr_mask(a, bits, net);
	return bits;
}

bool
addr_in_prefix(const struct tt_addr *a, const struct tt_addr *net, int bits)
{
	struct tt_addr m;

	if (a->family != net->family)
		return false;
	addr_mask(a, bits, &m);
	return addr_equal(&m, net);
}

void
addr_key(const struct tt_addr *a, uint8_t key[ADDR_KEY_LEN])
{
	if (a->family == AF_INET6) {
		memcpy(key, a->u.b, ADDR_KEY_LEN);
		return;
	}
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, a->u.b, 4);
}

void
addr_key_range(const struct tt_addr *net, int bits, uint8_t lo[ADDR_KEY_LEN],
    uint8_t hi[ADDR_KEY_LEN])
{
	struct tt_addr m;
	int len = (int)addr_len(net) * 8;

	if (bits < 0)
		bits = 0;
	if (bits > len)
		bits = len;
	addr_mask(net, bits, &m);
	addr_key(&m, lo);
	memcpy(hi, lo, ADDR_KEY_LEN);
	/* The host bits, counted in the key: an IPv4 prefix's are its last 32 - bits. */
	for (int i = ADDR_KEY_LEN * 8 - (len - bits); i < ADDR_KEY_LEN * 8; i++)
		hi[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}
