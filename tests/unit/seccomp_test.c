/*
 * The system call filters of helper/privsep.c, built by the functions the
 * daemon uses and loaded in a child: an allowed call works, a forbidden one
 * kills the child with SIGSYS.
 */
#define _GNU_SOURCE	/* unshare */

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>


#include "privsep.h"
#include "tap.h"

enum filter { ENGINE, ENGINE_SYSLOG, BROKER };

/* What happened to the call in the child. */
enum result { WORKED, FAILED, SIGSYS_DEATH, OTHER };

static const char *const result_name[] = { "worked", "failed", "SIGSYS", "other" };

static int fds[2];		/* a socketpair made before the filter */
static int udp = -1;		/* an unbound UDP socket made before the filter */
static int child_errno;		/* the errno of a failed call, through the exit status */
static char tmpdir[] = "/tmp/seccomp_test.XXXXXX";

static int
run(enum filter f, int (*call)(void))
{
	scmp_filter_ctx ctx;
	pid_t pid;
	int status;

	fflush(stdout);
	if ((pid = fork()) < 0)
		return OTHER;
	if (pid == 0) {
		ctx = f == BROKER ? privsep_broker_filter() : privsep_engine_filter(f == ENGINE_SYSLOG);
		if (ctx == NULL || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
			_exit(255);
		_exit(call() == 0 ? 0 : 1 + (errno & 0x7f));
	}
	if (waitpid(pid, &status, 0) != pid)
		return OTHER;
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGSYS ? SIGSYS_DEATH : OTHER;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return OTHER;
	child_errno = WEXITSTATUS(status) - 1;
	return WEXITSTATUS(status) == 0 ? WORKED : FAILED;
}

#define expect(f, call, want) do { int r_ = run((f), (call)); \
	if (!ok(r_ == (want), "%s: %s %s", #f, #call, result_name[want])) \
		printf("#   got %s\n", result_name[r_]); } while (0)

/* 0 if the call returned without an error, else -1 with errno. */
static int
sock_ok(int fd)
{
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int c_write(void) { return write(fds[0], "x", 1) == 1 ? 0 : -1; }
static int c_send(void) { return send(fds[0], "x", 1, 0) == 1 ? 0 : -1; }
static int c_clock(void) { struct timespec ts; return clock_gettime(CLOCK_MONOTONIC, &ts); }
static int c_getpid(void) { return getpid() > 0 ? 0 : -1; }
static int
c_malloc(void)
{
	/* Big enough for mmap, not brk. */
	char *p = malloc(1 << 20);

	if (p == NULL)
		return -1;
	p[0] = 1;
	free(p);
	return 0;
}
static int c_udp(void) { return sock_ok(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); }
static int c_udp6(void) { return sock_ok(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)); }
static int c_tcp(void) { return sock_ok(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); }
static int c_raw(void) { return sock_ok(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)); }
static int c_unix_dgram(void) { return sock_ok(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)); }
static int c_nl_netfilter(void)
{
	return sock_ok(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
}
static int c_nl_route(void) { return sock_ok(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)); }
static int c_nl_diag(void) { return sock_ok(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)); }
static int
c_bind(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	return bind(udp, (struct sockaddr *)&sin, sizeof(sin));
}
static int
c_setsockopt(void)
{
	int one = 1;

	return setsockopt(udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
}
static int c_open(void) { return sock_ok(open("/etc/hostname", O_RDONLY | O_CLOEXEC)); }
static int
c_create(void)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/f", tmpdir);
	return sock_ok(open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
}
static int
c_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return pid < 0 ? -1 : 0;
}
static void *thread_main(void *arg) { return arg; }
static int
c_thread(void)
{
	pthread_t t;

	if ((errno = pthread_create(&t, NULL, thread_main, NULL)) != 0)
		return -1;
	return pthread_join(t, NULL) == 0 ? 0 : -1;
}
static int
c_exec(void)
{
	char *const argv[] = { "true", NULL };

	return execv("/bin/true", argv);
}
static int c_ptrace(void) { return (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static int c_setuid(void) { return setuid(0); }
static int c_chown(void) { return chown(tmpdir, 0, 0); }
static int c_unshare(void) { return unshare(CLONE_NEWNET); }
static int
c_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	return mprotect(p, 4096, PROT_READ | PROT_EXEC);
}

static void
test_engine(void)
{
	int r;

	/* What the engine's loop does. */
	expect(ENGINE, c_write, WORKED);
	expect(ENGINE, c_send, WORKED);
	expect(ENGINE, c_clock, WORKED);
	expect(ENGINE, c_getpid, WORKED);
	expect(ENGINE, c_malloc, WORKED);
	/* No new socket of any kind, no bind (the old "is it local" test made a UDP socket). */
	expect(ENGINE, c_udp, SIGSYS_DEATH);
	expect(ENGINE, c_udp6, SIGSYS_DEATH);
	expect(ENGINE, c_bind, SIGSYS_DEATH);
	expect(ENGINE, c_tcp, SIGSYS_DEATH);
	expect(ENGINE, c_raw, SIGSYS_DEATH);
	expect(ENGINE, c_nl_netfilter, SIGSYS_DEATH);
	expect(ENGINE, c_nl_route, SIGSYS_DEATH);
	expect(ENGINE, c_unix_dgram, SIGSYS_DEATH);
	/* iptables-legacy changes rules with setsockopt on a raw socket. */
	expect(ENGINE, c_setsockopt, SIGSYS_DEATH);
	expect(ENGINE, c_open, SIGSYS_DEATH);
	expect(ENGINE, c_fork, SIGSYS_DEATH);
	expect(ENGINE, c_thread, SIGSYS_DEATH);
	expect(ENGINE, c_exec, SIGSYS_DEATH);
	expect(ENGINE, c_ptrace, SIGSYS_DEATH);
	expect(ENGINE, c_setuid, SIGSYS_DEATH);
	expect(ENGINE, c_unshare, SIGSYS_DEATH);
	/* syslog(3)'s reconnect: refused, not fatal; any other socket still kills. */
	r = run(ENGINE_SYSLOG, c_unix_dgram);
	ok(r == FAILED && child_errno == EPERM, "ENGINE_SYSLOG: syslog's new socket gets EPERM (%s, errno %d)",
	    result_name[r], child_errno);
	expect(ENGINE_SYSLOG, c_udp, SIGSYS_DEATH);
	expect(ENGINE_SYSLOG, c_write, WORKED);
}

static void
test_broker(void)
{
	/* SQLite, libcurl and c-ares, the resolver's threads, sock_diag. */
	expect(BROKER, c_write, WORKED);
	expect(BROKER, c_malloc, WORKED);
	expect(BROKER, c_create, WORKED);
	expect(BROKER, c_open, WORKED);
	expect(BROKER, c_tcp, WORKED);
	expect(BROKER, c_udp6, WORKED);
	expect(BROKER, c_nl_diag, WORKED);
	expect(BROKER, c_thread, WORKED);
	/* Nothing that changes the host, its network or another process. */
	expect(BROKER, c_raw, SIGSYS_DEATH);
	expect(BROKER, c_nl_netfilter, SIGSYS_DEATH);
	expect(BROKER, c_fork, SIGSYS_DEATH);
	expect(BROKER, c_exec, SIGSYS_DEATH);
	expect(BROKER, c_ptrace, SIGSYS_DEATH);
	expect(BROKER, c_setuid, SIGSYS_DEATH);
	expect(BROKER, c_chown, SIGSYS_DEATH);
	expect(BROKER, c_unshare, SIGSYS_DEATH);
	expect(BROKER, c_mprotect_exec, SIGSYS_DEATH);
}

int
main(void)
{
#ifdef __SANITIZE_ADDRESS__
	/*
	 * ASan's and LeakSanitizer's runtimes make system calls the filters
	 * forbid: the daemons run such builds with sandbox 0 (docs/security.md).
	 */
	puts("1..0 # SKIP the filters cannot hold under AddressSanitizer");
	return 0;
#endif
	if (tap_tmpdir(tmpdir) < 0)
		return 1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) < 0 ||
	    (udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		perror("socket");
		return 1;
	}
	test_engine();
	test_broker();
	tap_tmpdir_remove(tmpdir);
	return tap_done();
}
