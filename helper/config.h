/* tracetroutd's settings: defaults, then the config file, the environment, the command line. */
#ifndef TT_HELPER_CONFIG_H
#define TT_HELPER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

#define CONFIG_MAX_PORTS 16
#define CONFIG_PATH_MAX	256
#define CONFIG_URI_MAX	512	/* info-uri's longest */
#define CONFIG_PROXIES_MAX	1000	/* proxies' longest */
#define CONFIG_PROXIES_N	64	/* networks in proxies, at most */
#define CONFIG_NKEYS	64	/* room for the settings table (config.c checks it fits) */

/* Where a setting's value came from: 0 the default, > 0 a line of config_file, or: */
#define CONFIG_FROM_ENV	(-1)
#define CONFIG_FROM_ARG	(-2)

struct config {
	char config_file[CONFIG_PATH_MAX];	/* -c; default $(sysconfdir)/tracetrout/tracetrout.conf if it exists */
	char socket_path[CONFIG_PATH_MAX];	/* socket: /run/tracetrout/tracetroutd.sock */
	unsigned int socket_mode;	/* socket-mode: 0660 */
	char socket_group[64];	/* socket-group: www-data; empty: the socket keeps root's group */
	char metrics[CONFIG_PATH_MAX];	/* metrics: ""; PORT, ADDR:PORT or a socket's path (config_metrics) */
	/*
	 * db: $(localstatedir)/lib/tracetrout/tracetrout.db; empty: no storage.
	 * A postgresql:// URI: the fleet's store, with journal as the local file
	 * (config_store_path, config_is_pg).
	 */
	char db_path[CONFIG_URI_MAX + 1];
	char journal[CONFIG_PATH_MAX];	/* journal: $(localstatedir)/lib/tracetrout/journal.db */
	int journal_max;	/* journal-max: 100000 traces waiting for PostgreSQL, at most */
	char vantage[64];	/* vantage: ""; the host name: who traced, in a fleet's store */
	char site_names[256];	/* site-names: ""; USER=NAME,...: a site's name across the fleet */
	uint64_t db_timeout_us;	/* db-timeout: 30s, for PostgreSQL to connect or answer */
	uint16_t queue;		/* queue, FILTER_QUEUE: 7470 */
	uint32_t mark;		/* mark: the connmark bit, 0x100000 */
	uint64_t hop_timeout_us;	/* hop-timeout, HOP_TIMEOUT: 1s */
	int hop_retries;	/* hop-retries, HOP_RETRIES: 2 (3 probes a hop) */
	int hop_offset;		/* hop-offset, HOP_OFFSET: 0 */
	int max_hops;		/* max-hops: 30 */
	int gap_limit;		/* gap-limit: 5 */
	uint64_t deadline_us;	/* deadline: 15s, a whole trace (its time budget) */
	uint64_t start_timeout_us;	/* start-timeout: 3s, for the first segment and its ACK */
	uint16_t ports[CONFIG_MAX_PORTS];	/* ports: local ports that may be traced; 80,443 */
	int nports;
	int max_traces;		/* max-traces: traces running at once, 64 */
	char user[64];		/* user: tracetrout; the broker's user. Empty: stay root (development) */
	char engine_user[64];	/* engine-user: tracetrout-engine; the engine's, with CAP_NET_ADMIN only */
	char allow_users[256];	/* allow-users: root; comma-separated users who may ask for traces */
	char allow_groups[256];	/* allow-groups: www-data; and members of these groups */
	char admin_users[256];	/* admin-users: ""; operators who may search every site's traces */
	char admin_groups[256];	/* admin-groups: ""; and members of these groups */
	int client_rate;	/* client-rate: 1; traces a second one visitor address may start (bursts of 3) */
	int client_max;		/* client-max: 2; traces running at once for one visitor address */
	int global_rate;	/* global-rate: 50; traces a second in all (bursts of twice that) */
	int subnet_max;		/* subnet-max: 8; traces running at once for one IPv6 /56 */
	int subnet_rate;	/* subnet-rate: 4; traces a second one IPv6 /56 may start (bursts of 3) */
	int prefix_max;		/* prefix-max: 24; traces running at once for one IPv4 /24 or IPv6 /48 */
	int prefix_rate;	/* prefix-rate: 20; traces a second one /24 or /48 may start (bursts of 3) */
	int site_share;		/* site-share: 75; percent of max-traces one site's traces may hold */
	int site_rate;		/* site-rate: 100; TRACE requests a second per site, bursts of 2 */
	int site_conns;		/* site-conns: 256; connections at once per site */
	int max_probes;		/* max-probes: 256; probes one trace may send */
	int sandbox;		/* sandbox: 1; 0 drops seccomp and no_new_privs, for sanitizer runs only */
	uint64_t retention_us;	/* retention: 720h; stored traces older are deleted; 0 keeps them */
	int truncate_clients;	/* truncate-clients: 0; 1 stores visitors as /24 or /48, no history */
	/* Hop enrichment (docs/configuration.md): */
	char info_uri[CONFIG_URI_MAX + 1];	/* info-uri, INFO_URI_TEMPLATE: ""; http(s) URL with {ip} */
	uint64_t info_connect_timeout_us;	/* info-connect-timeout: 1s */
	uint64_t info_timeout_us;	/* info-timeout: 2s, a whole request (and a DNS query) */
	int info_max_size;	/* info-max-size: 65536 bytes, 1024..1048576 */
	int info_max_requests;	/* info-max-requests: 16 at once, 1..256 */
	uint64_t info_cache_us;	/* info-cache: 24h, how long an answer is used */
	uint64_t info_negative_cache_us;	/* info-negative-cache: 5m, how long a failure is */
	int lookup_max;		/* lookup-max: 512 look-ups queued or running at once, 1..65536 */
	int info_cache_max;	/* info-cache-max: 10000 answers and failures cached, 100..10000000 */
	int names;		/* names: 1; reverse DNS names of hops */
	char dns_server[64];	/* dns-server: ""; IP or IP:PORT, else /etc/resolv.conf's */
	int skip_private;	/* skip-private: 0; 1 looks up no private or documentation address */
	char proxies[CONFIG_PROXIES_MAX + 1];	/* proxies: ""; addresses or CIDR networks, comma-separated */
	int foreground;		/* -d */
	int verbose;		/* -v, counted */
	/* So that a check names the file and line, variable or option at fault: */
	int origin[CONFIG_NKEYS];	/* by the settings table's order, CONFIG_FROM_* */
	int ndups;		/* keys the file gives more than once (the last counts) */
	char dup[CONFIG_PATH_MAX + 128];	/* the first of them, as a message */
};

/* What the command line asks for besides settings. */
enum config_action {
	CONFIG_RUN = 0,
	CONFIG_HELP,
	CONFIG_VERSION,
	CONFIG_STATUS,		/* --status: ask the running helper for its counters */
	CONFIG_CHECK,		/* --check-config: check as a start would, then exit */
	CONFIG_PRINT,		/* --print-config: the effective settings as a config file */
};

/*
 * Calls fn for each item of a comma-separated list (allow-users, proxies),
 * blanks around items and empty items skipped. 0, or -1 when fn returned -1.
 */
int config_each(const char *list, int (*fn)(void *, const char *), void *ctx);

/*
 * A user (group 0) or group (1) as the settings name one: a number is taken
 * as it is (up to 2^32 - 2), else the name is looked up. Returns 0 with *id
 * set, or -1 with errno ENOENT (no such name) or why the look-up failed.
 */
int config_id(const char *name, int group, uint32_t *id);

/* One network of the proxies setting. */
struct config_net {
	struct tt_addr net;
	int bits;
};

/*
 * The networks of a proxies value ("" none) into nets (CONFIG_PROXIES_N of
 * them): their number, or -1 with the entry at fault in bad (64 bytes).
 */
int config_proxies(const char *list, struct config_net *nets, char *bad, size_t badlen);

/* Where the metrics are served: the metrics setting (docs/metrics.md). */
enum config_metrics_kind {
	CONFIG_METRICS_OFF = 0,	/* empty: no metrics */
	CONFIG_METRICS_TCP,	/* PORT (loopback), ADDR:PORT or [IPv6]:PORT */
	CONFIG_METRICS_UNIX,	/* an absolute path: a unix socket, made as the broker's */
};
#define CONFIG_METRICS_ADDRS	2

struct config_metrics {
	enum config_metrics_kind kind;
	struct tt_addr addr[CONFIG_METRICS_ADDRS];	/* TCP: a port alone is 127.0.0.1 and ::1 */
	int naddrs;
	uint16_t port;
	bool loopback;		/* a port alone: either address may be missing (no IPv6) */
};

/*
 * Parses a metrics value into m (the path of a unix socket stays in the
 * value). Returns 0, or -1 with why written.
 */
int config_metrics(const char *value, struct config_metrics *m, char *why, size_t whylen);

/* One entry of site-names: the uid's site is called name across the fleet. */
#define CONFIG_SITES_N	32
struct config_site {
	uint32_t uid;
	char name[64];
};

/*
 * The entries of a site-names value ("USER=NAME,...", USER a user's name or
 * number, NAME as a vantage name) into sites (room for n): their number, or
 * -1 with why in why.
 */
int config_site_names(const char *list, struct config_site *sites, int n, char *why,
    size_t whylen);

/*
 * Each function below returns 0, or -1 with a one-line message in err
 * (naming the file and line, the variable or the option at fault).
 */
void config_defaults(struct config *cfg);
/*
 * Applies `key = value` lines and records path as config_file; a missing
 * file is an error. A key given twice takes the last value (noted in dup).
 */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/* Applies HOP_TIMEOUT, HOP_RETRIES, HOP_OFFSET, FILTER_QUEUE and INFO_URI_TEMPLATE; empty means unset. */
int config_load_env(struct config *cfg, char *err, size_t errlen);
/* Applies the options in argv; *action says whether --help or --version was given. */
int config_parse_args(struct config *cfg, int argc, char **argv, enum config_action *action,
    char *err, size_t errlen);
/* Checks ranges and the relations between settings. */
int config_check(const struct config *cfg, char *err, size_t errlen);
/*
 * What a start checks besides, before it opens anything, without privileges:
 * absolute paths unless -d, and that the users and groups named exist.
 * (privsep_check() adds that the two users are not root and differ.)
 */
int config_check_start(const struct config *cfg, char *err, size_t errlen);
/* Does db select PostgreSQL (a postgresql:// or postgres:// URI)? */
bool config_is_pg(const struct config *cfg);
/* The SQLite file the broker writes: db, or journal when db is PostgreSQL; "" for none. */
const char *config_store_path(const struct config *cfg);
/* Does a libpq URI carry a password (user:password@, or password= among its parameters)? */
bool pg_uri_has_password(const char *uri);
/*
 * The whole chain: defaults < file (-c, or the default file if it exists)
 * < environment < command line, then config_check().
 */
int config_load(struct config *cfg, int argc, char **argv, enum config_action *action,
    char *err, size_t errlen);
/*
 * Writes every setting as `key = value`, in the settings table's order: a
 * config file that gives the same settings. Fails if a value (from the
 * environment or an option) cannot be written in a file: a '#', a control
 * character, a blank at either end.
 */
int config_print(const struct config *cfg, FILE *fp, char *err, size_t errlen);
/* --check-config's answer: "FILE: ok" on out, and the keys given twice on warn. */
void config_print_ok(const struct config *cfg, FILE *out, FILE *warn);
/*
 * Parses a Go duration ("1s", "500ms", "1m30s", "1.5s", "250us") into
 * microseconds. Returns 0, or -1 with errno EINVAL (malformed) or ERANGE.
 */
int duration_parse(const char *s, uint64_t *us);
/* Writes us as a duration without its zero parts ("1m30s", "500ms", "0"); duration_parse reads it back. */
void duration_format(uint64_t us, char *buf, size_t len);
/* Writes the usage text. */
void config_usage(FILE *fp);

#endif
