/* tracetroutd's settings: defaults, then the config file, the environment, the command line. */
#ifndef TT_CONFIG_H
#define TT_CONFIG_H

#include <stdint.h>

#define CONFIG_MAX_PORTS 16

struct config {
	char config_file[256];	/* -c; default /etc/tracetrout/tracetrout.conf if it exists */
	char socket_path[256];	/* socket: /run/tracetrout/tracetroutd.sock */
	char db_path[256];	/* db: /var/lib/tracetrout/tracetrout.db */
	uint16_t queue;		/* queue, FILTER_QUEUE: 7470 */
	uint32_t mark;		/* mark: the connmark bit, 0x100000 */
	uint64_t hop_timeout_us;	/* hop-timeout, HOP_TIMEOUT: 1s */
	int hop_retries;	/* hop-retries, HOP_RETRIES: 2 (3 probes a hop) */
	int hop_offset;		/* hop-offset, HOP_OFFSET: 0 */
	int max_hops;		/* max-hops: 30 */
	int gap_limit;		/* gap-limit: 5 */
	uint64_t deadline_us;	/* deadline: 30s, a whole trace */
	uint64_t start_timeout_us;	/* start-timeout: 3s, for the first segment and its ACK */
	uint16_t ports[CONFIG_MAX_PORTS];	/* ports: local ports that may be traced; 80,443 */
	int nports;
	int max_traces;		/* max-traces: traces running at once, 64 */
	int foreground;		/* -d */
	int verbose;		/* -v */
};

#endif
