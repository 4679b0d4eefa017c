/*
 * rtnl_try: for tests/sys/engine-checks.sh, in a namespace the test made and throws away.
 * Opens the engine's rtnetlink socket with the engine's own code (local_open) while holding
 * every capability, and tries to add 192.0.2.77/32 to lo through it, the ways a compromised
 * engine could; then through a socket opened plainly, which must work (the check is not
 * vacuous). One line a step:
 *   engine-dump 1            local_has(127.0.0.1) on the engine's socket
 *   engine-send EPERM        RTM_NEWADDR sent without an address: the kernel checks the opener
 *   filtered-dump 1          under the engine's seccomp filter (a child), the dump still works
 *   filtered-sendto killed   and RTM_NEWADDR sent with an address kills it (SIGSYS)
 *   plain-sendto ok          the same through a plain socket
 * Exits 0 when every step is as above, 1 otherwise.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "addr.h"
#include "config.h"
#include "ct.h"
#include "local.h"
#include "privsep.h"

/* lo's index, found before the filter (if_nametoindex makes an ioctl, which it forbids). */
static unsigned int lo_index;

/*
 * Asks nl to add 192.0.2.77/32 to lo, sent without an address (as the engine
 * sends) or with the kernel's (mnl_socket_sendto). 0 or an errno value.
 */
static int
newaddr(struct mnl_socket *nl, int addressed)
{
	char buf[256] = { 0 }, ack[4096];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct tt_addr a;
	ssize_t n;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nlh->nlmsg_seq = (unsigned int)time(NULL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 32;
	ifa->ifa_index = lo_index;
	if (lo_index == 0 || addr_parse("192.0.2.77", &a) < 0)
		return EINVAL;
	mnl_attr_put(nlh, IFA_LOCAL, 4, a.u.b);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, a.u.b);
	if (!addressed)
		return ct_transact(nl, nlh, NULL, NULL) < 0 ? errno : 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ||
	    (n = mnl_socket_recvfrom(nl, ack, sizeof(ack))) < 0 ||
	    mnl_cb_run(ack, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		return errno;
	return 0;
}

/*
 * How newaddr answered: "ok", "EPERM" or "errno N" (no strerror: it may open
 * a file, which the filter forbids, and would be taken for the refusal).
 */
static const char *
result(int err)
{
	static char s[32];

	if (err == 0 || err == EPERM)
		return err == 0 ? "ok" : "EPERM";
	snprintf(s, sizeof(s), "errno %d", err);
	return s;
}

/* In a child under the engine's filter: the dump, then a send with an address. */
static int
filtered(struct mnl_socket *eng, const struct tt_addr *lo)
{
	struct config cfg;
	pid_t pid;
	int st, err;

	fflush(stdout);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		config_defaults(&cfg);
		cfg.foreground = 1;
		if (privsep_engine_filter(&cfg) < 0)
			_exit(2);
		printf("filtered-dump %d\n", local_has(eng, lo));
		fflush(stdout);
		err = newaddr(eng, 1);
		printf("filtered-sendto %s\n", result(err));
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
		printf("filtered-sendto killed\n");
		return 0;
	}
	return -1;
}

int
main(void)
{
	struct mnl_socket *eng, *plain;
	struct tt_addr lo;
	int has, err, ferr, perr;

	lo_index = if_nametoindex("lo");
	if ((eng = local_open()) == NULL) {
		perror("local_open");
		return 1;
	}
	addr_parse("127.0.0.1", &lo);
	has = local_has(eng, &lo);
	printf("engine-dump %d\n", has);
	err = newaddr(eng, 0);
	printf("engine-send %s\n", result(err));
	ferr = filtered(eng, &lo);
	if ((plain = mnl_socket_open(NETLINK_ROUTE)) == NULL ||
	    mnl_socket_bind(plain, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("rtnetlink");
		return 1;
	}
	perr = newaddr(plain, 1);
	printf("plain-sendto %s\n", result(perr));
	mnl_socket_close(plain);
	mnl_socket_close(eng);
	return has == 1 && err == EPERM && ferr == 0 && perr == 0 ? 0 : 1;
}
