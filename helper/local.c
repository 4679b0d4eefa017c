/* The host's own addresses, for the engine's "is the server address local" check (local.h). */
#define _GNU_SOURCE	/* dup3 */
#include "local.h"

#include "ct.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cap-ng.h>
#include <libmnl/libmnl.h>
#include <linux/capability.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#define NL_BUF	32768	/* a dump answers many addresses a read */

static unsigned int local_seq;

/* The bound socket, moved to LOCAL_FD (local.h says why). NULL with errno. */
static struct mnl_socket *
open_fixed(void)
{
	struct mnl_socket *nl = NULL, *opened;
	int saved;

	if (fcntl(LOCAL_FD, F_GETFD) >= 0 || errno != EBADF) {
		errno = EBUSY;
		return NULL;
	}
	if ((opened = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) == NULL)
		return NULL;
	if (mnl_socket_bind(opened, 0, MNL_SOCKET_AUTOPID) == 0 &&
	    dup3(mnl_socket_get_fd(opened), LOCAL_FD, O_CLOEXEC) == LOCAL_FD &&
	    (nl = mnl_socket_fdopen(LOCAL_FD)) == NULL) {
		saved = errno;
		close(LOCAL_FD);
		errno = saved;
	}
	saved = errno;
	mnl_socket_close(opened);
	errno = saved;
	return nl;
}

struct mnl_socket *
local_open(void)
{
	struct mnl_socket *nl;
	bool had = capng_get_caps_process() == 0 &&
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN);
	int saved;

	/* The socket keeps its opener's credentials: open it without CAP_NET_ADMIN. */
	if (had) {
		capng_update(CAPNG_DROP, CAPNG_EFFECTIVE, CAP_NET_ADMIN);
		if (capng_apply(CAPNG_SELECT_CAPS) < 0)
			return NULL;
	}
	nl = open_fixed();
	saved = errno;
	if (had) {
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, CAP_NET_ADMIN);
		if (capng_apply(CAPNG_SELECT_CAPS) < 0 && nl != NULL) {
			mnl_socket_close(nl);
			return NULL;
		}
	}
	errno = saved;
	local_seq = (unsigned int)time(NULL);
	return nl;
}

struct nlmsghdr *
local_build(char *buf, int family, unsigned int seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	return nlh;
}

struct parse_ctx {
	const struct nlattr *local, *address;
	size_t len;
};

static int
attr_cb(const struct nlattr *attr, void *data)
{
	struct parse_ctx *c = data;

	if (mnl_attr_get_payload_len(attr) != c->len)
		return MNL_CB_OK;	/* not an address of this family: skip it */
	if (mnl_attr_get_type(attr) == IFA_LOCAL)
		c->local = attr;
	else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
		c->address = attr;
	return MNL_CB_OK;
}

int
local_parse(const struct nlmsghdr *nlh, struct tt_addr *out)
{
	const struct ifaddrmsg *ifa;
	struct parse_ctx c = { NULL, NULL, 0 };
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
		return -1;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return -1;
	c.len = ifa->ifa_family == AF_INET ? 4 : 16;
	if (mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &c) < 0)
		return -1;
	/* IFA_LOCAL is the host's end of a point-to-point link; IFA_ADDRESS then the peer's. */
	if ((a = c.local != NULL ? c.local : c.address) == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->family = ifa->ifa_family;
	memcpy(out->u.b, mnl_attr_get_payload(a), c.len);
	return 0;
}

struct has_ctx {
	const struct tt_addr *want;
	int found;
};

static int
has_cb(const struct nlmsghdr *nlh, void *data)
{
	struct has_ctx *c = data;
	struct tt_addr a;

	if (local_parse(nlh, &a) == 0 && addr_equal(&a, c->want))
		c->found = 1;
	return MNL_CB_OK;
}

int
local_has(struct mnl_socket *nl, const struct tt_addr *a)
{
	char buf[NL_BUF] = { 0 };
	struct has_ctx c = { a, 0 };

	/* The whole dump is read, even past a match: the next one must not find its end. */
	if (ct_transact(nl, local_build(buf, a->family, ++local_seq), has_cb, &c) < 0)
		return -1;
	return c.found;
}
