/*
 * What every handler needs to reach the broker: its socket, the bound on
 * each step of a conversation (docs/protocol.md), and the slots that bound
 * the live traces at once (slots.h).
 */
#ifndef TT_FCGI_BROKERCFG_H
#define TT_FCGI_BROKERCFG_H

#define BROKER_SOCKET		"/run/tracetrout/tracetroutd.sock"
#define BROKER_CONNECT_MS	800	/* connect and greeting: a stopped helper shows within 1 s */
#define BROKER_START_MS		3000	/* a request until its first answer (STARTED, STORED ...) */
#define BROKER_RUN_MS		35000	/* STARTED until END: the broker's 30 s deadline and slack */

struct slots;

struct broker_cfg {
	const char *socket_path;
	int connect_ms;
	int start_ms;
	int run_ms;
	struct slots *slots;	/* live traces at once; NULL: no bound */
};

#endif
