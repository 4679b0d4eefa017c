/*
 * The engine's own checks of a TRACE request, reached directly (no broker in
 * front): check_request and check_found with fixtures, ct_tuple_equal, and
 * local_parse over RTM_NEWADDR messages built as the kernel sends them.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "check.h"
#include "local.h"
#include "tap.h"
#include "fixtures.h"

union nlbuf {
	char c[4096];
	struct nlmsghdr align;
};

static void
test_request(void)
{
	struct config cfg;
	struct ct_tuple t = fx_tuple(AF_INET);

	config_defaults(&cfg);
	ok(check_request(&cfg, &t, 1).code == NULL, "port 443, a local server address: on");
	is_str(check_request(&cfg, &t, 0).code, "not-local", "an address not the host's: not-local");
	is_str(check_request(&cfg, &t, -1).code, "internal", "the host's addresses unknown: internal");
	t.dport = 22;
	is_str(check_request(&cfg, &t, 1).code, "port-not-allowed", "port 22: port-not-allowed");
}

static void
test_found(int family)
{
	struct ct_tuple want = fx_tuple(family);
	struct ct_info info;

	memset(&info, 0, sizeof(info));
	info.orig = want;
	info.have_state = true;
	info.tcp_state = CT_TCP_ESTABLISHED;
	ok(check_found(&want, &info, 0).code == NULL, "%d: the connection as asked, ESTABLISHED",
	    family);
	is_str(check_found(&want, NULL, ENOENT).code, "not-found", "%d: no such connection", family);
	is_str(check_found(&want, NULL, EIO).code, "internal", "%d: a failed look-up", family);
	/* Conntrack finds an entry by its reply tuple too: asked the other way round. */
	info.orig.src = want.dst;
	info.orig.dst = want.src;
	info.orig.sport = want.dport;
	info.orig.dport = want.sport;
	is_str(check_found(&want, &info, 0).code, "not-found",
	    "%d: an entry whose original direction is not the request's is refused", family);
	info.orig = want;
	info.orig.sport++;
	is_str(check_found(&want, &info, 0).code, "not-found", "%d: another port: refused", family);
	info.orig = want;
	info.tcp_state = CT_TCP_ESTABLISHED + 1;
	is_str(check_found(&want, &info, 0).code, "not-found", "%d: not ESTABLISHED", family);
	info.have_state = false;
	info.tcp_state = CT_TCP_ESTABLISHED;
	is_str(check_found(&want, &info, 0).code, "not-found", "%d: no state given", family);
}

static void
test_equal(void)
{
	struct ct_tuple a = fx_tuple(AF_INET), b;

	/* Bytes an IPv4 address does not use, and padding, say nothing. */
	memset(&b, 0xa5, sizeof(b));
	b.src.family = a.src.family;
	b.dst.family = a.dst.family;
	memcpy(b.src.u.b, a.src.u.b, 4);
	memcpy(b.dst.u.b, a.dst.u.b, 4);
	b.sport = a.sport;
	b.dport = a.dport;
	ok(ct_tuple_equal(&a, &b), "IPv4 tuples equal whatever their unused bytes hold");
	b.dst.u.b[3]++;
	ok(!ct_tuple_equal(&a, &b), "another server address differs");
	a = fx_tuple(AF_INET6);
	b = fx_tuple(AF_INET6);
	b.src.u.b[15]++;
	ok(!ct_tuple_equal(&a, &b), "IPv6: the last byte counts");
}

/* An RTM_NEWADDR message: with local (IFA_LOCAL) and/or address (IFA_ADDRESS), len bytes each. */
static struct nlmsghdr *
newaddr(union nlbuf *buf, int family, const char *local, const char *address, size_t len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf->c);
	struct ifaddrmsg *ifa;
	struct tt_addr a;

	nlh->nlmsg_type = RTM_NEWADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = family == AF_INET ? 24 : 64;
	if (address != NULL) {
		a = fx_addr(address);
		mnl_attr_put(nlh, IFA_ADDRESS, len, a.u.b);
	}
	if (local != NULL) {
		a = fx_addr(local);
		mnl_attr_put(nlh, IFA_LOCAL, len, a.u.b);
	}
	mnl_attr_put_strz(nlh, IFA_LABEL, "eth0");
	return nlh;
}

static void
test_local_parse(void)
{
	union nlbuf buf;
	struct tt_addr a, want;

	memset(&buf, 0, sizeof(buf));
	want = fx_addr("192.0.2.1");
	ok(local_parse(newaddr(&buf, AF_INET, "192.0.2.1", "192.0.2.1", 4), &a) == 0 &&
	    addr_equal(&a, &want), "IPv4: the address");
	ok(local_parse(newaddr(&buf, AF_INET, "192.0.2.1", "203.0.113.9", 4), &a) == 0 &&
	    addr_equal(&a, &want), "IPv4 point-to-point: IFA_LOCAL, not the peer");
	want = fx_addr("2001:db8::1");
	ok(local_parse(newaddr(&buf, AF_INET6, NULL, "2001:db8::1", 16), &a) == 0 &&
	    addr_equal(&a, &want), "IPv6: IFA_ADDRESS");
	ok(local_parse(newaddr(&buf, AF_INET6, NULL, NULL, 16), &a) < 0, "no address: refused");
	ok(local_parse(newaddr(&buf, AF_INET6, NULL, "2001:db8::1", 4), &a) < 0,
	    "an address of the wrong length: refused");
	newaddr(&buf, AF_INET, "192.0.2.1", NULL, 4)->nlmsg_type = RTM_NEWLINK;
	ok(local_parse(&buf.align, &a) < 0, "another message type: refused");
	newaddr(&buf, AF_INET, "192.0.2.1", NULL, 4)->nlmsg_len = sizeof(struct nlmsghdr) + 2;
	ok(local_parse(&buf.align, &a) < 0, "a truncated message: refused");
	ok(local_build(buf.c, AF_INET6, 7)->nlmsg_flags == (NLM_F_REQUEST | NLM_F_DUMP),
	    "the request is a dump");
}

int
main(void)
{
	test_request();
	test_found(AF_INET);
	test_found(AF_INET6);
	test_equal();
	test_local_parse();
	return tap_done();
}
