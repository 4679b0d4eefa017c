/*
 * Tests of helper/engine/local.c: fib_trie and if_inet6 as the kernel writes them,
 * then the live files of this host (loopback only).
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "local.h"
#include "tap.h"

static const char fib_trie[] =
	"Main:\n"
	"  +-- 0.0.0.0/0 3 0 5\n"
	"     |-- 0.0.0.0\n"
	"        /0 universe UNICAST\n"
	"     +-- 127.0.0.0/8 2 0 2\n"
	"        +-- 127.0.0.0/31 1 0 0\n"
	"           |-- 127.0.0.0\n"
	"              /8 host LOCAL\n"
	"           |-- 127.0.0.1\n"
	"              /32 host LOCAL\n"
	"        |-- 127.255.255.255\n"
	"           /32 link BROADCAST\n"
	"     +-- 192.0.2.0/24 2 0 2\n"
	"        +-- 192.0.2.0/30 2 0 2\n"
	"           |-- 192.0.2.0\n"
	"              /24 link UNICAST\n"
	"           |-- 192.0.2.2\n"
	"              /32 host LOCAL\n"
	"        |-- 192.0.2.255\n"
	"           /32 link BROADCAST\n";

static const char if_inet6[] =
	"fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n"
	"20010db8000000000000000000000002 04 40 00 82     eth0\n"
	"00000000000000000000000000000001 01 80 10 80       lo\n";

#define T0	(5000ull * 1000000)

static int
find(const char *s)
{
	struct tt_addr a;

	if (addr_parse(s, &a) < 0)
		return -2;
	return a.family == AF_INET ? local_find4(fib_trie, strlen(fib_trie), &a) :
	    local_find6(if_inet6, strlen(if_inet6), &a);
}

static int
live(struct local_files *lf, const char *s, uint64_t now_us)
{
	struct tt_addr a;

	if (addr_parse(s, &a) < 0)
		return -2;
	return local_check(lf, &a, now_us);
}

int
main(void)
{
	struct local_files lf;

	is_int(find("192.0.2.2"), 1, "a /32 host LOCAL route: local");
	is_int(find("127.0.0.1"), 1, "127.0.0.1: local");
	is_int(find("127.0.0.9"), 1, "127.0.0.9: in 127.0.0.0's /8 host LOCAL");
	is_int(find("192.0.2.0"), 0, "a network's own route (link UNICAST): not local");
	is_int(find("192.0.2.255"), 0, "a broadcast route: not local");
	is_int(find("198.51.100.1"), 0, "an address with no route of its own: not local");
	is_int(local_find4("  |-- 192.0.2.7", 15, &(struct tt_addr){ 0 }), 0,
	    "a node without its routes (the text cut short)");
	is_int(find("2001:db8::2"), 1, "IPv6: an address of eth0");
	is_int(find("::1"), 1, "IPv6: ::1");
	is_int(find("fe80::fc:ff:fe00:1"), 1, "IPv6: a link-local address");
	is_int(find("2001:db8::3"), 0, "IPv6: another address");

	ok(local_open(&lf) == 0, "the live files open");
	is_int(live(&lf, "127.0.0.1", T0), 1, "live: 127.0.0.1 is local");
	is_int(live(&lf, "198.51.100.77", T0), 0, "live: 198.51.100.77 is not");
	is_int(live(&lf, "127.0.0.2", T0 + 2 * LOCAL_SEEN_US), 1,
	    "live: read again from the start, the same answer");
	/* Now the lists say nothing: what was found local holds for LOCAL_SEEN_US, no more. */
	close(lf.fd4);
	lf.fd4 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	is_int(live(&lf, "127.0.0.1", T0 + LOCAL_SEEN_US - 1), 1,
	    "live: found local less than LOCAL_SEEN_US ago: local without a read");
	is_int(live(&lf, "127.0.0.1", T0 + LOCAL_SEEN_US), 0, "live: LOCAL_SEEN_US later: read again");
	is_int(live(&lf, "198.51.100.77", T0 + 1), 0, "live: what was not local is read again");
	local_close(&lf);
	return tap_done();
}
