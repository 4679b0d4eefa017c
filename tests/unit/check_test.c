/*
 * The engine's own checks of a TRACE request, reached directly (no broker in
 * front): check_request and check_found with fixtures, and ct_tuple_equal
 * (the host's address lists: local_test).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "tap.h"
#include "fixtures.h"

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

int
main(void)
{
	test_request();
	test_found(AF_INET);
	test_found(AF_INET6);
	test_equal();
	return tap_done();
}
