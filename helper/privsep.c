/*
 * Privilege separation: the engine keeps CAP_NET_ADMIN alone under its own
 * user and a seccomp allowlist; the broker keeps nothing. lldpd and OpenBSD's
 * privsep daemons are the models.
 */
#define _GNU_SOURCE	/* getresuid, getresgid */

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/netlink.h>

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <sched.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"
#include "util.h"

#define USERADD	"useradd --system --no-create-home --shell /usr/sbin/nologin"

/* The database's directory did not exist when tracetroutd started: it is its own. */
static int db_dir_new;

static int
dir_of(const char *path, char *dir, size_t len)
{
	char tmp[CONFIG_PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp) ||
	    snprintf(dir, len, "%s", dirname(tmp)) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
missing(const char *path)
{
	char dir[CONFIG_PATH_MAX];
	struct stat sb;

	return path[0] != '\0' && dir_of(path, dir, sizeof(dir)) == 0 &&
	    lstat(dir, &sb) < 0 && errno == ENOENT;
}

/* Looks up a system user that must exist and must not be root. */
static int
user_lookup(const char *key, const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		snprintf(err, errlen, "%s: no user %s%s%s; create it with: %s %s", key, name,
		    errno ? ": " : "", errno ? strerror(errno) : "", USERADD, name);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "%s: %s has uid or gid 0; it must be an unprivileged user",
		    key, name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
privsep_check(const struct config *cfg, char *err, size_t errlen)
{
	uid_t uid, euid = 0;
	gid_t gid;

	if (cfg->engine_user[0] != '\0' &&
	    user_lookup("engine-user", cfg->engine_user, &euid, &gid, err, errlen) < 0)
		return -1;
	if (cfg->user[0] != '\0') {
		if (user_lookup("user", cfg->user, &uid, &gid, err, errlen) < 0)
			return -1;
		/* The same uid could signal the engine, or read what it reads. */
		if (uid == euid) {
			snprintf(err, errlen, "user and engine-user must be different users (%s, %s)",
			    cfg->user, cfg->engine_user);
			return -1;
		}
	}
	db_dir_new = missing(config_store_path(cfg));
	return 0;
}

/* Checks that the ids changed for good: no way back to root. */
static int
check_dropped(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -1;
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid) {
		errno = EPERM;
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * The broker looks users up by name and uid while it runs (sites' names,
 * sitename.c), some of them unknown here (a fleet's other sites, an
 * operator's typo). A name the files lack makes glibc load the next NSS
 * module (Debian's nsswitch.conf: "files systemd"), whose libraries probe
 * the capability bounding set with prctl when they load: under the filter
 * that killed the broker. One miss before the filter loads them.
 */
static void
nss_warm_up(void)
{
	(void)getpwnam("tracetrout-nss-warm-up-no-such-user");
	(void)getpwuid((uid_t)-2);
	endpwent();
}

static int
no_new_privs(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/* The change of uid made the process undumpable; LeakSanitizer needs it dumpable. */
static int
debug_dumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) {
		log_warn("prctl PR_SET_DUMPABLE");
		return -1;
	}
	return 0;
}

/* --- the engine --- */

/* --- the system call filters --- */

/*
 * Starts a filter that kills the whole process on any call but names[], and
 * on any call of another architecture (the 32-bit ABI on x86-64). Names this
 * architecture does not have (poll on arm64) are skipped. Returns NULL on
 * error, errno set.
 */
static scmp_filter_ctx
filter_new(const char *const *names, size_t n)
{
	scmp_filter_ctx ctx;
	size_t i;
	int nr;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if ((errno = -seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((nr = seccomp_syscall_resolve_name(names[i])) < 0)
			continue;
		if ((errno = -seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0)
			goto fail;
	}
	return ctx;
fail:
	seccomp_release(ctx);
	return NULL;
}

/* socket(domain, type, protocol) with SOCK_CLOEXEC and SOCK_NONBLOCK aside; protocol -1: any. */
static int
allow_socket(scmp_filter_ctx ctx, int domain, int type, int protocol)
{
	struct scmp_arg_cmp a[3] = {
		SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffff, (scmp_datum_t)domain),
		SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffff & ~(scmp_datum_t)(SOCK_CLOEXEC | SOCK_NONBLOCK),
		    (scmp_datum_t)type),
		SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffff, (scmp_datum_t)protocol),
	};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), protocol < 0 ? 2 : 3, a);
}

static int
filter_load(const char *who, scmp_filter_ctx ctx)
{
	int rc;

	if (ctx == NULL) {
		log_warn("%s: seccomp", who);
		return -1;
	}
	if ((rc = seccomp_load(ctx)) < 0) {
		errno = -rc;
		log_warn("%s: seccomp_load", who);
	}
	seccomp_release(ctx);
	return rc < 0 ? -1 : 0;
}

/*
 * What the engine loop calls, from strace on traces (see docs/security.md):
 * its queue, ctnetlink and raw sockets, the kernel's address lists (pread,
 * local.h), malloc, its log, exit. No socket, no bind, no open: everything
 * it uses was opened before the filter.
 */
static const char *const engine_syscalls[] = {
	"poll", "ppoll", "recvfrom", "recvmsg", "recvmmsg", "sendto", "sendmsg", "sendmmsg", "close",
	"read", "pread64", "write", "writev", "getrandom", "getpid", "gettid",
	"clock_gettime", "clock_gettime64", "gettimeofday",
	"brk", "mmap", "munmap", "mremap", "madvise",
	"futex", "rt_sigreturn", "rt_sigprocmask", "restart_syscall", "exit", "exit_group",
};

scmp_filter_ctx
privsep_engine_filter(int syslog)
{
	scmp_filter_ctx ctx;

	if ((ctx = filter_new(engine_syscalls,
	    sizeof(engine_syscalls) / sizeof(engine_syscalls[0]))) == NULL)
		return NULL;
	/*
	 * syslog(3) opens a new socket when syslogd made /dev/log anew (a
	 * restart of rsyslog; journald's stays): it gets EPERM, not death, and
	 * the engine's messages are lost until the helper starts again.
	 */
	if (syslog && (errno = -seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX))) != 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * What the broker calls once it has dropped root, from strace of real runs
 * (tests/sys/enrich.sh, names.sh, history.sh, fleet.sh; see docs/security.md): SQLite
 * (files, locks, the WAL's shared memory), libcurl and c-ares (sockets, the
 * multi handle's socketpair, the threaded resolver's threads), the poll loop,
 * sock_diag, the engine's exit status, its log.
 */
static const char *const broker_syscalls[] = {
	/* the loop, clients, signals, the engine */
	"poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "read", "readv", "write", "writev", "close", "accept", "accept4",
	"shutdown", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "restart_syscall",
	"kill", "wait4", "waitid", "exit", "exit_group",
	/* SQLite */
	"openat", "open", "pread64", "pwrite64", "lseek", "fcntl", "fstat", "newfstatat",
	"stat", "lstat", "statx", "access", "faccessat", "faccessat2", "readlink", "getdents64",
	"readlinkat", "getcwd", "fsync", "fdatasync", "ftruncate", "unlink", "unlinkat",
	"mkdir", "fchmod",
	/* sockets: libcurl, c-ares, libpq, sock_diag, syslog; getdents64 above: GSS/TLS set-up */
	"connect", "bind", "getsockname", "getpeername", "getsockopt", "setsockopt",
	"sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg", "pipe2",
	"eventfd2",
	/*
	 * memory, threads, time, ids; sigaltstack: a sanitized build's threads
	 * (the store's checkpointer) each get an alternate signal stack
	 */
	"brk", "munmap", "mremap", "madvise", "futex", "set_robust_list", "rseq", "sigaltstack",
	"sched_yield", "sched_getaffinity", "getrandom", "getpid", "gettid", "getuid",
	"geteuid", "getgid", "getegid", "uname", "sysinfo", "prlimit64", "getrlimit",
	"clock_gettime", "clock_gettime64", "gettimeofday", "time", "clock_nanosleep",
	"nanosleep",
};

/* rule(ctx, call, A): allows call when the argument comparison A holds. */
#define ALLOW_IF(ctx, call, a) seccomp_rule_add((ctx), SCMP_ACT_ALLOW, SCMP_SYS(call), 1, (a))

scmp_filter_ctx
privsep_broker_filter(void)
{
	static const int netlink[] = { NETLINK_SOCK_DIAG, NETLINK_ROUTE };
	scmp_filter_ctx ctx;
	size_t i;

	if ((ctx = filter_new(broker_syscalls,
	    sizeof(broker_syscalls) / sizeof(broker_syscalls[0]))) == NULL)
		return NULL;
	/*
	 * Sockets: unix (syslog, nscd), TCP and UDP (look-ups, DNS), and the
	 * two netlink families an unprivileged process may read from: sock_diag
	 * (the traced connection's counters) and route (getaddrinfo's
	 * AI_ADDRCONFIG). No raw socket, no netfilter.
	 */
	if ((errno = -ALLOW_IF(ctx, socket, SCMP_A0(SCMP_CMP_EQ, AF_UNIX))) != 0 ||
	    (errno = -ALLOW_IF(ctx, socketpair, SCMP_A0(SCMP_CMP_EQ, AF_UNIX))) != 0 ||
	    (errno = -allow_socket(ctx, AF_INET, SOCK_STREAM, -1)) != 0 ||
	    (errno = -allow_socket(ctx, AF_INET, SOCK_DGRAM, -1)) != 0 ||
	    (errno = -allow_socket(ctx, AF_INET6, SOCK_STREAM, -1)) != 0 ||
	    (errno = -allow_socket(ctx, AF_INET6, SOCK_DGRAM, -1)) != 0)
		goto fail;
	for (i = 0; i < sizeof(netlink) / sizeof(netlink[0]); i++)
		if ((errno = -allow_socket(ctx, AF_NETLINK, SOCK_RAW, netlink[i])) != 0 ||
		    (errno = -allow_socket(ctx, AF_NETLINK, SOCK_DGRAM, netlink[i])) != 0)
			goto fail;
	/*
	 * Threads (the resolver's, the store's checkpointer), never a process: clone only with
	 * CLONE_THREAD. clone3 passes its flags in memory the filter cannot
	 * read; ENOSYS makes glibc fall back to clone.
	 */
	if ((errno = -ALLOW_IF(ctx, clone, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) != 0 ||
	    (errno = -seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) != 0)
		goto fail;
	/* Memory never both writable and executable, and no new code (systemd's MemoryDenyWriteExecute). */
	if ((errno = -ALLOW_IF(ctx, mmap, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0 ||
	    (errno = -ALLOW_IF(ctx, mmap, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE, 0))) != 0 ||
	    (errno = -ALLOW_IF(ctx, mprotect, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0)
		goto fail;
	/* Non-blocking I/O and stdio's isatty. */
	if ((errno = -ALLOW_IF(ctx, ioctl, SCMP_A1(SCMP_CMP_EQ, FIONREAD))) != 0 ||
	    (errno = -ALLOW_IF(ctx, ioctl, SCMP_A1(SCMP_CMP_EQ, FIONBIO))) != 0 ||
	    (errno = -ALLOW_IF(ctx, ioctl, SCMP_A1(SCMP_CMP_EQ, TCGETS))) != 0)
		goto fail;
	return ctx;
fail:
	seccomp_release(ctx);
	return NULL;
}

/* The engine's nice value: above the site's processes (see privsep_engine). */
#define ENGINE_NICE	(-10)

int
privsep_engine(const struct config *cfg)
{
	char err[256];
	uid_t uid = 0;
	gid_t gid = 0;
	int rc;

	/* syslog's first localtime() reads /etc/localtime: before the filter, not after. */
	tzset();
	if (cfg->engine_user[0] == '\0')
		log_warnx("engine: engine-user is empty: running as root (development only)");
	else if (user_lookup("engine-user", cfg->engine_user, &uid, &gid, err, sizeof(err)) < 0) {
		log_warnx("engine: %s", err);
		return -1;
	}

	/*
	 * The engine holds a traced connection's packets until it gives them a
	 * verdict. With both CPUs busy, an engine at the site's priority waited
	 * up to 31 ms for one, long enough for the server's TCP to send a tail
	 * loss probe (a retransmission); above it, the engine runs as a packet
	 * comes. Without CAP_SYS_NICE (a unit that does not grant it) it stays.
	 */
	if (setpriority(PRIO_PROCESS, 0, ENGINE_NICE) < 0)
		log_info("engine: cannot raise its priority (%s); it runs at the site's",
		    strerror(errno));

	/* Linux checks CAP_NET_ADMIN on every nfnetlink message, verdicts included. */
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN) < 0) {
		log_warnx("engine: capng_update failed");
		return -1;
	}
	if (uid != 0)
		rc = capng_change_id((int)uid, (int)gid,
		    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
	else
		rc = capng_apply(CAPNG_SELECT_BOTH);
	if (rc < 0) {
		log_warnx("engine: cannot become %s keeping CAP_NET_ADMIN (libcap-ng error %d)",
		    uid != 0 ? cfg->engine_user : "root", rc);
		return -1;
	}
	if (uid != 0 && check_dropped(uid, gid) < 0) {
		log_warn("engine: still able to regain root");
		return -1;
	}
	capng_get_caps_process();
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) != 1) {
		log_warnx("engine: lost CAP_NET_ADMIN");
		return -1;
	}

	if (!cfg->sandbox) {
		log_warnx("engine: sandbox 0: no seccomp filter, no no_new_privs, dumpable "
		    "(for sanitizer runs only, never in production)");
		return debug_dumpable();
	}
	if (no_new_privs() < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		log_warn("engine: prctl");
		return -1;
	}
	if (filter_load("engine", privsep_engine_filter(!cfg->foreground)) < 0)
		return -1;
	log_debug("engine: running as %s with CAP_NET_ADMIN only, seccomp on",
	    uid != 0 ? cfg->engine_user : "root");
	return 0;
}

/* --- the broker --- */

/*
 * Gives a regular file to the broker, refusing links: a hard link to
 * another file, or a symlink, planted by an earlier broker must not make
 * root hand that file over.
 */
static void
give_file(const char *path, uid_t uid, gid_t gid)
{
	struct stat sb;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			log_warn("broker: %s", path);
		return;
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1 && sb.st_uid == 0 &&
	    fchown(fd, uid, gid) < 0)
		log_warn("broker: chown %s", path);
	close(fd);
}

/* A directory others share (/tmp) or may write is never given away. */
static int
shared_dir(const struct stat *sb)
{
	return (sb->st_mode & (S_ISVTX | S_IWOTH)) != 0;
}

/*
 * Makes the database's directory writable by the broker when it is
 * tracetroutd's own: created now, created earlier by it (the default), or
 * already the broker's. Returns 0, or -1 if the broker will not be able to
 * write it (logged; the broker then runs without storage).
 */
static int
give_db_dir(const struct config *cfg, uid_t uid, gid_t gid)
{
	struct config d;
	char dir[CONFIG_PATH_MAX], ddir[CONFIG_PATH_MAX], f[CONFIG_PATH_MAX + 16];
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	struct stat sb;
	size_t i;
	int fd;

	config_defaults(&d);
	if (dir_of(config_store_path(cfg), dir, sizeof(dir)) < 0 ||
	    dir_of(d.db_path, ddir, sizeof(ddir)) < 0)
		return -1;
	/* Its parents as root would make them (LOCALSTATEDIR/lib may be missing under /usr/local). */
	if (db_dir_new && (mkdir_parent(dir, 0755) < 0 || (mkdir(dir, 0750) < 0 && errno != EEXIST))) {
		log_warn("broker: mkdir %s", dir);
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		log_warn("broker: %s", dir);
		return -1;
	}
	if (fstat(fd, &sb) < 0)
		goto fail;
	if (sb.st_uid != uid && (shared_dir(&sb) || (!db_dir_new && strcmp(dir, ddir) != 0))) {
		close(fd);
		/* Not ours to give; the mode may still let the broker in. */
		if ((sb.st_gid == gid && (sb.st_mode & S_IWGRP)) || (sb.st_mode & S_IWOTH))
			return 0;
		log_warnx("broker: the database's directory %s is not tracetroutd's own: "
		    "make it writable by user %s (chown %s %s) or choose another db",
		    dir, cfg->user, cfg->user, dir);
		return -1;
	}
	/*
	 * The files first, while the directory may still be root's: systemd
	 * gives a StateDirectory back to root at every start, and root, bound
	 * to the unit's capabilities (no CAP_DAC_*), could not reach the files
	 * once the directory is the broker's 0750.
	 */
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", config_store_path(cfg), suffix[i]);
		give_file(f, uid, gid);
	}
	if (sb.st_uid != uid) {
		if (fchown(fd, uid, gid) < 0)
			goto fail;
		log_info("broker: %s now belongs to user %s", dir, cfg->user);
	}
	close(fd);
	return 0;
fail:
	log_warn("broker: %s", dir);
	close(fd);
	return -1;
}

int
privsep_broker(const struct config *cfg)
{
	char err[256];
	uid_t uid;
	gid_t gid;
	int rc;

	if (cfg->user[0] == '\0') {
		log_warnx("broker: user is empty: the broker stays root (development only)");
		return 0;
	}
	if (user_lookup("user", cfg->user, &uid, &gid, err, sizeof(err)) < 0) {
		log_warnx("broker: %s", err);
		return -1;
	}
	if (config_store_path(cfg)[0] != '\0')
		give_db_dir(cfg, uid, gid);

	capng_clear(CAPNG_SELECT_BOTH);
	rc = capng_change_id((int)uid, (int)gid,
	    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING | CAPNG_CLEAR_AMBIENT);
	if (rc < 0) {
		log_warnx("broker: cannot become %s (libcap-ng error %d)", cfg->user, rc);
		return -1;
	}
	if (check_dropped(uid, gid) < 0) {
		log_warn("broker: still able to regain root");
		return -1;
	}
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_BOTH) != CAPNG_NONE) {
		log_warnx("broker: capabilities left after the drop");
		return -1;
	}
	if (!cfg->sandbox) {
		log_warnx("broker: sandbox 0: no no_new_privs, dumpable "
		    "(for sanitizer runs only, never in production)");
		return debug_dumpable();
	}
	if (no_new_privs() < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		log_warn("broker: prctl");
		return -1;
	}
	nss_warm_up();
	if (filter_load("broker", privsep_broker_filter()) < 0)
		return -1;
	log_debug("broker: running as %s, no capabilities, seccomp on", cfg->user);
	return 0;
}
