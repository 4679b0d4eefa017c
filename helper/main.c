/*
 * tracetroutd: reads its settings, opens the privileged sockets as root, then
 * splits into the engine (packets) and the broker (API and storage).
 */
#define _GNU_SOURCE	/* close_range */
#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "config.h"
#include "engine.h"
#include "fleet.h"
#include "log.h"
#include "privsep.h"
#include "proto.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* The engine's send buffer to the broker, in bytes: records of 1,664 (see main). */
#define ENGINE_SNDBUF	(4 << 20)

int
main(int argc, char **argv)
{
	struct config cfg;
	struct engine_socks socks;
	struct sigaction sa;
	enum config_action action;
	sigset_t block, old;
	char err[512];
	int sv[2];
	pid_t pid;

	/*
	 * Descriptors left open by whoever started us (a shell, a test driver)
	 * would stay in the engine and the broker: only 0-2, the log, go on.
	 */
	close_range(3, ~0U, 0);
	log_init("tracetroutd", 1, 0);
	if (config_load(&cfg, argc, argv, &action, err, sizeof(err)) < 0) {
		fprintf(stderr, "tracetroutd: %s\n", err);
		/* --check-config's answer is that one line. */
		if (action != CONFIG_CHECK && action != CONFIG_PRINT)
			fprintf(stderr, "Try 'tracetroutd --help'.\n");
		return 1;
	}
	if (action == CONFIG_HELP) {
		config_usage(stdout);
		return 0;
	}
	if (action == CONFIG_VERSION) {
		printf("tracetroutd %s (broker protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
		return 0;
	}
	/* A client of the running helper: no root, no sockets of its own. */
	if (action == CONFIG_STATUS)
		return broker_status(&cfg, stdout);
	if (action == CONFIG_PRINT) {
		if (config_print(&cfg, stdout, err, sizeof(err)) == 0)
			return 0;
		fprintf(stderr, "tracetroutd: %s\n", err);
		return 1;
	}
	log_setverbose(cfg.verbose);

	/*
	 * Before anything is opened: a missing user or group is a setup error,
	 * said once and clearly. --check-config ends here.
	 */
	if (config_check_start(&cfg, err, sizeof(err)) < 0 ||
	    privsep_check(&cfg, err, sizeof(err)) < 0) {
		if (action == CONFIG_CHECK) {
			fprintf(stderr, "tracetroutd: %s\n", err);
			return 1;
		}
		fatalx("%s", err);
	}
	if (action == CONFIG_CHECK) {
		/* A fleet's database: reached, and a schema this build can use. */
		if (config_is_pg(&cfg)) {
			int rc = fleet_check(cfg.db_path, 5, err, sizeof(err));

			fprintf(rc == 0 ? stdout : stderr, "tracetroutd: db: %s\n", err);
			if (rc < 0)
				return 1;
		}
		config_print_ok(&cfg, stdout, stderr);
		return 0;
	}
	if (engine_open(&cfg, &socks) < 0)
		fatalx("cannot open the packet engine's sockets (root needed)");
	/* Marks left by a crashed run would keep those connections queued. */
	if (engine_clear_marks(&cfg, &socks) < 0)
		fatalx("cannot clear the trace marks left on connections");

	if (!cfg.foreground) {
		if (daemon(0, 0) < 0)
			fatal("daemon");
		log_init("tracetroutd", 0, cfg.verbose);
	}

	/*
	 * SIGINT and SIGTERM stay blocked across fork: a signal that arrives
	 * now waits for the broker's loop, and the engine, which ignores them,
	 * cannot die of one before it has set that up.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	/*
	 * The engine's records wait in its end's send buffer until the broker
	 * reads them, and a send blocks the engine once the buffer is full,
	 * with the connections' packets waiting in the queue meanwhile. The
	 * default (wmem_default, 208 KiB) held about 90 records: under load
	 * (issue 15) the engine stood in sendmmsg for up to 42 ms while the
	 * broker stored a round, and the traced connections' tail-loss probes
	 * fired. ENGINE_SNDBUF holds about 1,800: the broker's overload rule
	 * refuses new traces long before they fill it.
	 */
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &(int){ ENGINE_SNDBUF },
	    sizeof(int)) < 0)
		log_warn("socketpair: SO_SNDBUFFORCE");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid == 0) {
		close(sv[0]);
		/*
		 * The engine stops when the broker closes the socketpair, never
		 * on a signal: Ctrl-C and systemd signal the whole group, and a
		 * clean stop needs the engine alive to clear its marks.
		 */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_init("tracetroutd/engine", cfg.foreground, cfg.verbose);
		engine_main(&cfg, &socks, sv[1]);
	}
	close(sv[1]);
	engine_close(&socks);
	log_init("tracetroutd/broker", cfg.foreground, cfg.verbose);
	log_debug("engine pid %ld", (long)pid);
	return broker_main(&cfg, sv[0], pid, privsep_broker);
}
