/*
 * tracetroutd's settings: one table of settings read from the config file,
 * the original TraceTrout's environment names and the command line, in that order.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define CONFIG_DEFAULT_FILE	SYSCONFDIR "/tracetrout/tracetrout.conf"
#define CONFIG_LINE_MAX		1024

enum setting_type {
	T_PATH,		/* a file name; empty allowed only where flagged */
	T_NAME,		/* a user or group name or number, or a comma-separated list */
	T_PORT,		/* a queue number 0..65535 */
	T_MARK,		/* one bit, decimal or 0x hex */
	T_INT,		/* decimal, min..max */
	T_DURATION,	/* Go syntax, > 0 (or 0 where empty_ok) */
	T_PORTS,	/* comma-separated ports */
	T_MODE,		/* octal file mode */
	T_STRING,	/* printable text; what it must look like is config_check's job */
};

struct setting {
	const char *key;	/* file key and long option */
	const char *env;	/* the original TraceTrout's name, or NULL */
	enum setting_type type;
	size_t off;		/* into struct config */
	size_t size;		/* for strings */
	long long min, max;	/* for T_INT */
	int empty_ok;		/* strings: may be empty; durations: may be 0 */
};

#define S(key, env, type, field, min, max, empty) \
	{ key, env, type, offsetof(struct config, field), \
	  sizeof(((struct config *)0)->field), min, max, empty }

static const struct setting settings[] = {
	S("socket", NULL, T_PATH, socket_path, 0, 0, 0),
	S("socket-mode", NULL, T_MODE, socket_mode, 0, 0, 0),
	S("socket-group", NULL, T_NAME, socket_group, 0, 0, 1),
	S("db", NULL, T_PATH, db_path, 0, 0, 1),
	S("queue", "FILTER_QUEUE", T_PORT, queue, 0, 0, 0),
	S("mark", NULL, T_MARK, mark, 0, 0, 0),
	S("hop-timeout", "HOP_TIMEOUT", T_DURATION, hop_timeout_us, 0, 0, 0),
	S("hop-retries", "HOP_RETRIES", T_INT, hop_retries, 0, 9, 0),
	/* The upper bound against max-hops is checked once both are known. */
	S("hop-offset", "HOP_OFFSET", T_INT, hop_offset, 0, 63, 0),
	S("max-hops", NULL, T_INT, max_hops, 1, 64, 0),
	S("gap-limit", NULL, T_INT, gap_limit, 1, 64, 0),
	S("deadline", NULL, T_DURATION, deadline_us, 0, 0, 0),
	S("start-timeout", NULL, T_DURATION, start_timeout_us, 0, 0, 0),
	S("ports", NULL, T_PORTS, ports, 0, 0, 0),
	S("max-traces", NULL, T_INT, max_traces, 1, 1024, 0),
	S("user", NULL, T_NAME, user, 0, 0, 1),
	S("engine-user", NULL, T_NAME, engine_user, 0, 0, 1),
	S("allow-users", NULL, T_NAME, allow_users, 0, 0, 1),
	S("allow-groups", NULL, T_NAME, allow_groups, 0, 0, 1),
	S("client-rate", NULL, T_INT, client_rate, 1, 1000, 0),
	S("client-max", NULL, T_INT, client_max, 1, 1024, 0),
	S("global-rate", NULL, T_INT, global_rate, 1, 100000, 0),
	S("sandbox", NULL, T_INT, sandbox, 0, 1, 0),
	S("retention", NULL, T_DURATION, retention_us, 0, 0, 1),
	S("truncate-clients", NULL, T_INT, truncate_clients, 0, 1, 0),
	S("info-uri", "INFO_URI_TEMPLATE", T_STRING, info_uri, 0, 0, 1),
	S("info-connect-timeout", NULL, T_DURATION, info_connect_timeout_us, 0, 0, 0),
	S("info-timeout", NULL, T_DURATION, info_timeout_us, 0, 0, 0),
	S("info-max-size", NULL, T_INT, info_max_size, 1024, 1048576, 0),
	S("info-max-requests", NULL, T_INT, info_max_requests, 1, 256, 0),
	S("info-cache", NULL, T_DURATION, info_cache_us, 0, 0, 0),
	S("info-negative-cache", NULL, T_DURATION, info_negative_cache_us, 0, 0, 0),
	S("names", NULL, T_INT, names, 0, 1, 0),
	S("dns-server", NULL, T_STRING, dns_server, 0, 0, 1),
	S("skip-private", NULL, T_INT, skip_private, 0, 1, 0),
};

#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))
#define OPT_SETTING	256	/* getopt_long val of settings[i] is OPT_SETTING + i */
#define OPT_HELP	'h'
#define OPT_VERSION	(OPT_SETTING + 100)
#define OPT_STATUS	(OPT_SETTING + 101)

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->socket_path, "/run/tracetrout/tracetroutd.sock");
	cfg->socket_mode = 0660;
	strcpy(cfg->socket_group, "www-data");
	snprintf(cfg->db_path, sizeof(cfg->db_path), "%s", LOCALSTATEDIR "/lib/tracetrout/tracetrout.db");
	cfg->queue = 7470;
	cfg->mark = 0x100000;
	cfg->hop_timeout_us = 1000000;
	cfg->hop_retries = 2;
	cfg->hop_offset = 0;
	cfg->max_hops = 30;
	cfg->gap_limit = 5;
	cfg->deadline_us = 30000000;
	cfg->start_timeout_us = 3000000;
	cfg->ports[0] = 80;
	cfg->ports[1] = 443;
	cfg->nports = 2;
	cfg->max_traces = 64;
	strcpy(cfg->user, "tracetrout");
	strcpy(cfg->engine_user, "tracetrout-engine");
	strcpy(cfg->allow_users, "root");
	strcpy(cfg->allow_groups, "www-data");
	cfg->client_rate = 1;
	cfg->client_max = 2;
	cfg->global_rate = 50;
	cfg->sandbox = 1;
	cfg->retention_us = 30ULL * 24 * 3600 * 1000000;
	cfg->info_connect_timeout_us = 1000000;
	cfg->info_timeout_us = 2000000;
	cfg->info_max_size = 65536;
	cfg->info_max_requests = 16;
	cfg->info_cache_us = 24ULL * 3600 * 1000000;
	cfg->info_negative_cache_us = 5ULL * 60 * 1000000;
	cfg->names = 1;
}

/*
 * Go's time.ParseDuration, without signs: a sequence of decimal numbers, each
 * with an optional fraction and a unit (ns, us, µs, μs, ms, s, m, h); "0"
 * alone is zero. Sub-microsecond remainders are truncated, as Go's
 * Duration.Microseconds() does. Returns 0, or -1 with errno EINVAL or ERANGE.
 */
int
duration_parse(const char *s, uint64_t *us)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 },
		{ "us", 1000 },
		{ "\xc2\xb5s", 1000 },	/* U+00B5 micro sign */
		{ "\xce\xbcs", 1000 },	/* U+03BC Greek mu */
		{ "ms", 1000000 },
		{ "s", 1000000000ULL },
		{ "m", 60ULL * 1000000000ULL },
		{ "h", 3600ULL * 1000000000ULL },
	};
	uint64_t total = 0;

	if (s == NULL || *s == '\0')
		goto invalid;
	if (*s == '+')
		s++;
	if (strcmp(s, "0") == 0) {
		*us = 0;
		return 0;
	}
	if (*s == '\0')
		goto invalid;
	while (*s) {
		uint64_t v = 0, f = 0, unit = 0;
		double scale = 1;
		int digits = 0;
		size_t n;

		if (!(isdigit((unsigned char)*s) || *s == '.'))
			goto invalid;
		for (; isdigit((unsigned char)*s); s++, digits++) {
			if (v > (UINT64_MAX - 9) / 10)
				goto range;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.') {
			/* Digits past what a uint64 holds cannot matter at ns precision. */
			for (s++; isdigit((unsigned char)*s); s++, digits++)
				if (f <= (UINT64_MAX - 9) / 10 && scale < 1e18) {
					f = f * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
		}
		if (digits == 0)
			goto invalid;
		for (n = 0; s[n] && s[n] != '.' && !isdigit((unsigned char)s[n]); n++)
			;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == n && memcmp(units[i].name, s, n) == 0)
				unit = units[i].ns;
		if (unit == 0)
			goto invalid;	/* a missing or unknown unit */
		s += n;
		if (v > UINT64_MAX / unit)
			goto range;
		v *= unit;
		if (f > 0) {
			double frac = (double)f * ((double)unit / scale);

			if (frac >= 18446744073709551615.0 || v > UINT64_MAX - (uint64_t)frac)
				goto range;
			v += (uint64_t)frac;
		}
		if (total > UINT64_MAX - v)
			goto range;
		total += v;
	}
	*us = total / 1000;
	return 0;
invalid:
	errno = EINVAL;
	return -1;
range:
	errno = ERANGE;
	return -1;
}

/* Parses an unsigned number in base 8, 10 or 0 (0x hex allowed), nothing else; returns 0 or -1. */
static int
number_parse(const char *s, int base, unsigned long long max, unsigned long long *v)
{
	char *end;
	unsigned long long x;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;	/* no signs, no blanks */
	errno = 0;
	x = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || x > max)
		return -1;
	*v = x;
	return 0;
}

static int
ports_parse(const char *s, uint16_t *ports, int *nports, char *why, size_t whylen)
{
	char buf[CONFIG_LINE_MAX], *p, *tok, *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof(buf)) {
		seterr(why, whylen, "too long");
		return -1;
	}
	strcpy(buf, s);
	if (buf[0] == ',' || buf[0] == '\0' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,")) {
		seterr(why, whylen, "\"%s\" is not a comma-separated list of ports", s);
		return -1;
	}
	for (p = buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		uint16_t port;

		while (*tok == ' ')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && e[-1] == ' '; e--)
			e[-1] = '\0';
		if (port_parse(tok, &port) < 0) {
			seterr(why, whylen, "\"%s\" is not a port (1..65535)", tok);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (ports[i] == port) {
				seterr(why, whylen, "port %u is listed twice", port);
				return -1;
			}
		if (n == CONFIG_MAX_PORTS) {
			seterr(why, whylen, "more than %d ports", CONFIG_MAX_PORTS);
			return -1;
		}
		ports[n++] = port;
	}
	*nports = n;
	return 0;
}

/* Sets one setting from its text; on error writes why (without the setting's name). */
static int
setting_apply(struct config *cfg, const struct setting *st, const char *val, char *why, size_t whylen)
{
	char *field = (char *)cfg + st->off;
	unsigned long long v;
	uint64_t d;

	if (*val == '\0' && !st->empty_ok) {
		seterr(why, whylen, "empty value");
		return -1;
	}
	switch (st->type) {
	case T_PATH:
	case T_NAME:
	case T_STRING:
		if (strlen(val) >= st->size) {
			seterr(why, whylen, "longer than %zu bytes", st->size - 1);
			return -1;
		}
		if (st->type == T_NAME)
			for (const char *p = val; *p; p++)
				if (!isgraph((unsigned char)*p) || *p == ':') {
					seterr(why, whylen, "\"%s\" is not a name or number (or a comma-separated list of them)", val);
					return -1;
				}
		if (st->type == T_STRING)
			for (const char *p = val; *p; p++)
				if (!isgraph((unsigned char)*p)) {
					seterr(why, whylen, "\"%s\" has a blank or a byte that is not printable ASCII", val);
					return -1;
				}
		strcpy(field, val);
		return 0;
	case T_PORT:
		if (number_parse(val, 10, 65535, &v) < 0) {
			seterr(why, whylen, "\"%s\" is not a queue number (0..65535)", val);
			return -1;
		}
		*(uint16_t *)(void *)field = (uint16_t)v;
		return 0;
	case T_MARK:
		if (number_parse(val, 0, UINT32_MAX, &v) < 0 || v == 0 || (v & (v - 1)) != 0) {
			seterr(why, whylen, "\"%s\" is not a single mark bit (e.g. 0x100000)", val);
			return -1;
		}
		*(uint32_t *)(void *)field = (uint32_t)v;
		return 0;
	case T_INT:
		if (number_parse(val, 10, ULLONG_MAX, &v) < 0 || (long long)v < st->min ||
		    v > (unsigned long long)st->max) {
			seterr(why, whylen, "\"%s\" is not a number from %lld to %lld", val,
			    st->min, st->max);
			return -1;
		}
		*(int *)(void *)field = (int)v;
		return 0;
	case T_DURATION:
		if (duration_parse(val, &d) < 0) {
			seterr(why, whylen, "\"%s\" is not a duration (e.g. 1s, 500ms, 1m30s)", val);
			return -1;
		}
		if (d == 0 && !st->empty_ok) {
			seterr(why, whylen, "\"%s\" must be at least 1us", val);
			return -1;
		}
		*(uint64_t *)(void *)field = d;
		return 0;
	case T_PORTS:
		return ports_parse(val, cfg->ports, &cfg->nports, why, whylen);
	case T_MODE:
		if (number_parse(val, 8, 0777, &v) < 0) {
			seterr(why, whylen, "\"%s\" is not an octal mode (e.g. 0660)", val);
			return -1;
		}
		*(unsigned int *)(void *)field = (unsigned int)v;
		return 0;
	}
	seterr(why, whylen, "internal error");
	return -1;
}

static const struct setting *
setting_find(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int
config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *fp;
	char line[CONFIG_LINE_MAX + 2], why[256];
	int lineno = 0, rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		const struct setting *st;
		char *key, *val, *eq, *hash;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			seterr(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
			    CONFIG_LINE_MAX);
			goto out;
		}
		/* A '#' starts a comment anywhere: no setting needs one in its value. */
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		key = trim(line);
		if (*key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			seterr(err, errlen, "%s:%d: expected \"key = value\", got \"%s\"", path,
			    lineno, key);
			goto out;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		if ((st = setting_find(key)) == NULL) {
			seterr(err, errlen, "%s:%d: unknown key \"%s\"", path, lineno, key);
			goto out;
		}
		if (setting_apply(cfg, st, val, why, sizeof(why)) < 0) {
			seterr(err, errlen, "%s:%d: %s: %s", path, lineno, key, why);
			goto out;
		}
	}
	if (ferror(fp)) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	fclose(fp);
	return rc;
}

int
config_load_env(struct config *cfg, char *err, size_t errlen)
{
	char why[256];

	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *val;

		if (settings[i].env == NULL)
			continue;
		/* Empty counts as unset, as the original's envconfig treats it. */
		if ((val = getenv(settings[i].env)) == NULL || *val == '\0')
			continue;
		if (setting_apply(cfg, &settings[i], val, why, sizeof(why)) < 0) {
			seterr(err, errlen, "environment %s: %s", settings[i].env, why);
			return -1;
		}
	}
	return 0;
}

int
config_parse_args(struct config *cfg, int argc, char **argv, enum config_action *action,
    char *err, size_t errlen)
{
	struct option opts[NSETTINGS + 7];
	size_t n = 0;
	char why[256];
	int ch;

	*action = CONFIG_RUN;
	for (size_t i = 0; i < NSETTINGS; i++)
		opts[n++] = (struct option){ settings[i].key, required_argument, NULL,
		    OPT_SETTING + (int)i };
	opts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[n++] = (struct option){ "foreground", no_argument, NULL, 'd' };
	opts[n++] = (struct option){ "verbose", no_argument, NULL, 'v' };
	opts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	opts[n++] = (struct option){ "status", no_argument, NULL, OPT_STATUS };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };

	/* 0 makes glibc start over, so the options can be read twice; we print the errors. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:dhv", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (strlen(optarg) >= sizeof(cfg->config_file) || *optarg == '\0') {
				seterr(err, errlen, "-c: bad file name \"%s\"", optarg);
				return -1;
			}
			strcpy(cfg->config_file, optarg);
			break;
		case 'd':
			cfg->foreground = 1;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case OPT_HELP:
			*action = CONFIG_HELP;
			return 0;
		case OPT_VERSION:
			*action = CONFIG_VERSION;
			return 0;
		case OPT_STATUS:
			/* The settings are still read: the socket may be set in the file. */
			*action = CONFIG_STATUS;
			break;
		case ':':
			seterr(err, errlen, "%s: missing argument", argv[optind - 1]);
			return -1;
		case '?':
			if (optopt)
				seterr(err, errlen, "unknown option -%c", optopt);
			else
				seterr(err, errlen, "unknown option %s", argv[optind - 1]);
			return -1;
		default:
			if (ch < OPT_SETTING || ch >= OPT_SETTING + (int)NSETTINGS) {
				seterr(err, errlen, "unknown option");
				return -1;
			}
			if (setting_apply(cfg, &settings[ch - OPT_SETTING], optarg, why,
			    sizeof(why)) < 0) {
				seterr(err, errlen, "--%s: %s", settings[ch - OPT_SETTING].key, why);
				return -1;
			}
			break;
		}
	}
	if (optind < argc) {
		seterr(err, errlen, "unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	return 0;
}

/*
 * What is wrong with an info-uri template, or NULL: it must be an http or
 * https URL with a host, and have {ip} somewhere (every one is replaced).
 */
static const char *
info_uri_problem(const char *t)
{
	const char *rest;

	if (strncasecmp(t, "http://", 7) == 0)
		rest = t + 7;
	else if (strncasecmp(t, "https://", 8) == 0)
		rest = t + 8;
	else
		return "must start with http:// or https:// (no other protocol is allowed)";
	if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#')
		return "has no host after the scheme";
	if (strstr(t, "{ip}") == NULL)
		return "has no {ip}, the place for the hop's address (e.g. http://127.0.0.1:8080/ip/{ip})";
	for (const char *p = t; *p; p++)
		if (!isgraph((unsigned char)*p))
			return "has a blank or a byte that is not printable ASCII";
	return NULL;
}

/* Is s "IP", "IPv4:PORT" or "[IPv6]:PORT"? The forms enrich.c hands to c-ares. */
static int
dns_server_ok(const char *s)
{
	char host[ADDR_STRLEN];
	const char *port = NULL, *end;
	struct tt_addr a;
	uint16_t p;
	size_t n;
	int bracket = s[0] == '[';

	if (addr_parse(s, &a) == 0)
		return 1;
	if (bracket) {
		if ((end = strchr(s, ']')) == NULL)
			return 0;
		s++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return 0;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			return 0;
		port = end + 1;
	}
	if ((n = (size_t)(end - s)) >= sizeof(host))
		return 0;
	memcpy(host, s, n);
	host[n] = '\0';
	if (addr_parse(host, &a) < 0)
		return 0;
	/* An IPv6 address with a port needs its brackets. */
	if ((a.family == AF_INET6) != bracket)
		return 0;
	return port == NULL || port_parse(port, &p) == 0;
}

int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	const char *why;
	struct sockaddr_un sun;

	if (cfg->socket_path[0] == '\0' || strlen(cfg->socket_path) >= sizeof(sun.sun_path)) {
		seterr(err, errlen, "socket: the path must have 1 to %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	if (cfg->hop_retries < 0 || cfg->hop_retries > 9) {
		seterr(err, errlen, "hop-retries: %d is not from 0 to 9", cfg->hop_retries);
		return -1;
	}
	if (cfg->max_hops < 1 || cfg->max_hops > 64) {
		seterr(err, errlen, "max-hops: %d is not from 1 to 64", cfg->max_hops);
		return -1;
	}
	if (cfg->hop_offset < 0 || cfg->hop_offset >= cfg->max_hops) {
		seterr(err, errlen, "hop-offset: %d must be from 0 to max-hops - 1 (%d)",
		    cfg->hop_offset, cfg->max_hops - 1);
		return -1;
	}
	if (cfg->gap_limit < 1 || cfg->gap_limit > 64) {
		seterr(err, errlen, "gap-limit: %d is not from 1 to 64", cfg->gap_limit);
		return -1;
	}
	if (cfg->hop_timeout_us == 0 || cfg->deadline_us == 0 || cfg->start_timeout_us == 0) {
		seterr(err, errlen, "hop-timeout, deadline and start-timeout must be positive");
		return -1;
	}
	if (cfg->nports < 1 || cfg->nports > CONFIG_MAX_PORTS) {
		seterr(err, errlen, "ports: from 1 to %d ports", CONFIG_MAX_PORTS);
		return -1;
	}
	if (cfg->max_traces < 1 || cfg->max_traces > 1024) {
		seterr(err, errlen, "max-traces: %d is not from 1 to 1024", cfg->max_traces);
		return -1;
	}
	if (cfg->mark == 0 || (cfg->mark & (cfg->mark - 1)) != 0) {
		seterr(err, errlen, "mark: 0x%" PRIx32 " is not a single bit", cfg->mark);
		return -1;
	}
	if (cfg->socket_mode > 0777) {
		seterr(err, errlen, "socket-mode: %o is not a file mode", cfg->socket_mode);
		return -1;
	}
	if (cfg->info_uri[0] != '\0' && (why = info_uri_problem(cfg->info_uri)) != NULL) {
		seterr(err, errlen, "info-uri: \"%s\" %s", cfg->info_uri, why);
		return -1;
	}
	/* libcurl and c-ares count in milliseconds; a minute would hold a trace's END too long. */
	if (cfg->info_connect_timeout_us < 1000 || cfg->info_connect_timeout_us > 60000000) {
		seterr(err, errlen, "info-connect-timeout: must be from 1ms to 1m");
		return -1;
	}
	if (cfg->info_timeout_us < 1000 || cfg->info_timeout_us > 60000000) {
		seterr(err, errlen, "info-timeout: must be from 1ms to 1m");
		return -1;
	}
	if (cfg->info_max_size < 1024 || cfg->info_max_size > 1048576) {
		seterr(err, errlen, "info-max-size: %d is not from 1024 to 1048576", cfg->info_max_size);
		return -1;
	}
	if (cfg->info_max_requests < 1 || cfg->info_max_requests > 256) {
		seterr(err, errlen, "info-max-requests: %d is not from 1 to 256",
		    cfg->info_max_requests);
		return -1;
	}
	if (cfg->info_cache_us == 0 || cfg->info_negative_cache_us == 0) {
		seterr(err, errlen, "info-cache and info-negative-cache must be positive");
		return -1;
	}
	if (cfg->dns_server[0] != '\0' && !dns_server_ok(cfg->dns_server)) {
		seterr(err, errlen, "dns-server: \"%s\" is not an IP address, IPv4:PORT or [IPv6]:PORT",
		    cfg->dns_server);
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, int argc, char **argv, enum config_action *action,
    char *err, size_t errlen)
{
	struct config first;
	struct stat sb;

	/* A first pass finds -c (and --help): the file comes before the environment. */
	config_defaults(&first);
	if (config_parse_args(&first, argc, argv, action, err, errlen) < 0)
		return -1;
	if (*action == CONFIG_HELP || *action == CONFIG_VERSION)
		return 0;

	config_defaults(cfg);
	if (first.config_file[0] != '\0')
		strcpy(cfg->config_file, first.config_file);
	else if (stat(CONFIG_DEFAULT_FILE, &sb) == 0)
		strcpy(cfg->config_file, CONFIG_DEFAULT_FILE);
	if (cfg->config_file[0] != '\0' &&
	    config_load_file(cfg, cfg->config_file, err, errlen) < 0)
		return -1;
	if (config_load_env(cfg, err, errlen) < 0)
		return -1;
	if (config_parse_args(cfg, argc, argv, action, err, errlen) < 0)
		return -1;
	return config_check(cfg, err, errlen);
}

void
config_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tracetroutd [-dv] [-c file] [--option value ...]\n"
	    "       tracetroutd --status [-c file] [--socket PATH]\n"
	    "  -c, --config FILE     settings file (default " CONFIG_DEFAULT_FILE " if it exists)\n"
	    "  -d, --foreground      stay in the foreground and log to stderr\n"
	    "  -v, --verbose         log debug messages\n"
	    "      --socket PATH     the broker's unix socket\n"
	    "      --socket-mode M   its mode, octal (0660)\n"
	    "      --socket-group G  its group (www-data)\n"
	    "      --db PATH         the SQLite database; empty: no storage\n"
	    "      --queue N         NFQUEUE number (FILTER_QUEUE, 7470)\n"
	    "      --mark BIT        the connmark bit (0x100000)\n"
	    "      --hop-timeout D   wait per hop (HOP_TIMEOUT, 1s)\n"
	    "      --hop-retries N   extra probes per hop, 0..9 (HOP_RETRIES, 2)\n"
	    "      --hop-offset N    hops not shown (HOP_OFFSET, 0)\n"
	    "      --max-hops N      1..64 (30)\n"
	    "      --gap-limit N     silent hops in a row that end a trace (5)\n"
	    "      --deadline D      a whole trace (30s)\n"
	    "      --start-timeout D for the first segment and its ACK (3s)\n"
	    "      --ports LIST      local ports that may be traced (80,443)\n"
	    "      --max-traces N    traces running at once (64)\n"
	    "      --allow-users L   users who may ask for traces (root)\n"
	    "      --allow-groups L  and members of these groups (www-data)\n"
	    "      --client-rate N   traces a second per visitor address, bursts of 3N (1)\n"
	    "      --client-max N    traces running at once per visitor address (2)\n"
	    "      --global-rate N   traces a second in all, bursts of 2N (50)\n"
	    "      --retention D     stored traces are deleted after D; 0: kept (720h)\n"
	    "      --truncate-clients 0|1  store visitor addresses as /24 or /48 (0)\n"
	    "      --info-uri URL    hop info service, {ip} replaced (INFO_URI_TEMPLATE; off)\n"
	    "      --info-connect-timeout D  to connect to it (1s)\n"
	    "      --info-timeout D  a whole request, and a DNS query (2s)\n"
	    "      --info-max-size N larger answers fail, bytes (65536)\n"
	    "      --info-max-requests N  requests at once, 1..256 (16)\n"
	    "      --info-cache D    how long an answer is used (24h)\n"
	    "      --info-negative-cache D  how long a failure is (5m)\n"
	    "      --names 0|1       reverse DNS names of hops (1)\n"
	    "      --dns-server A    IP or IP:PORT for them; default /etc/resolv.conf's\n"
	    "      --skip-private 0|1  no look-ups of private or documentation addresses (0)\n"
	    "      --status          print the running helper's counters and exit\n"
	    "      --help, --version\n"
	    "See docs/configuration.md.\n");
}
