/* The packet engine: NFQUEUE, raw probe sockets and ctnetlink, driven by the broker's messages. */
#ifndef TT_HELPER_ENGINE_ENGINE_H
#define TT_HELPER_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "local.h"

/* The privileged sockets, opened as root before the helper splits. */
struct mnl_socket;

struct engine_socks {
	struct mnl_socket *nfq;	/* bound to the queue */
	struct mnl_socket *ct;	/* ctnetlink requests */
	struct local_files local;	/* read-only: is an address local (local.h) */
	int raw4;		/* AF_INET SOCK_RAW IPPROTO_RAW, SO_MARK set */
	int raw6;		/* AF_INET6 SOCK_RAW IPPROTO_RAW, SO_MARK set; -1 without IPv6 */
};

/* Opens and configures every privileged socket. Returns 0, or -1 with errno set (logged). */
int engine_open(const struct config *cfg, struct engine_socks *s);
/* Clears the trace mark from every connection that still has it (left by a crash). Returns how many or -1. */
int engine_clear_marks(const struct config *cfg, struct engine_socks *s);
/*
 * Runs the engine until the broker's end of fd closes; never returns.
 * Exits 0 when the broker closed the socketpair cleanly, 1 on errors.
 */
void engine_main(const struct config *cfg, struct engine_socks *s, int fd) __attribute__((noreturn));
void engine_close(struct engine_socks *s);
/* The time the timers run at after a read of the queue (engine.c): pure. */
uint64_t engine_seen_until(uint64_t before, bool drained, uint64_t last_arrival);
/* How late the loop came to its timers after a poll (engine.c): pure. */
bool engine_timer_lag(uint64_t before, int timeout_ms, uint64_t next, uint64_t now, uint64_t *lag);

#endif
