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
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "proto.h"

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
	S("metrics", NULL, T_STRING, metrics, 0, 0, 1),
	S("db", NULL, T_PATH, db_path, 0, 0, 1),
	S("journal", NULL, T_PATH, journal, 0, 0, 0),
	S("journal-max", NULL, T_INT, journal_max, 1, 10000000, 0),
	S("vantage", NULL, T_STRING, vantage, 0, 0, 1),
	S("site-names", NULL, T_STRING, site_names, 0, 0, 1),
	S("db-timeout", NULL, T_DURATION, db_timeout_us, 0, 0, 0),
	S("queue", "FILTER_QUEUE", T_PORT, queue, 0, 0, 0),
	S("mark", NULL, T_MARK, mark, 0, 0, 0),
	S("hop-timeout", "HOP_TIMEOUT", T_DURATION, hop_timeout_us, 0, 0, 0),
	S("hop-retries", "HOP_RETRIES", T_INT, hop_retries, 0, 9, 0),
	/* The upper bound against max-hops is checked once both are known. */
	S("hop-offset", "HOP_OFFSET", T_INT, hop_offset, 0, 63, 0),
	S("max-hops", NULL, T_INT, max_hops, 1, 64, 0),
	S("gap-limit", NULL, T_INT, gap_limit, 1, 64, 0),
	S("deadline", NULL, T_DURATION, deadline_us, 0, 0, 0),
	S("max-probes", NULL, T_INT, max_probes, 1, 704, 0),
	S("start-timeout", NULL, T_DURATION, start_timeout_us, 0, 0, 0),
	S("ports", NULL, T_PORTS, ports, 0, 0, 0),
	S("max-traces", NULL, T_INT, max_traces, 1, 1024, 0),
	S("user", NULL, T_NAME, user, 0, 0, 1),
	S("engine-user", NULL, T_NAME, engine_user, 0, 0, 1),
	S("allow-users", NULL, T_NAME, allow_users, 0, 0, 1),
	S("allow-groups", NULL, T_NAME, allow_groups, 0, 0, 1),
	S("admin-users", NULL, T_NAME, admin_users, 0, 0, 1),
	S("admin-groups", NULL, T_NAME, admin_groups, 0, 0, 1),
	S("client-rate", NULL, T_INT, client_rate, 1, 1000, 0),
	S("client-max", NULL, T_INT, client_max, 1, 1024, 0),
	S("global-rate", NULL, T_INT, global_rate, 1, 100000, 0),
	S("subnet-max", NULL, T_INT, subnet_max, 1, 1024, 0),
	S("subnet-rate", NULL, T_INT, subnet_rate, 1, 1000, 0),
	S("prefix-max", NULL, T_INT, prefix_max, 1, 1024, 0),
	S("prefix-rate", NULL, T_INT, prefix_rate, 1, 1000, 0),
	S("site-share", NULL, T_INT, site_share, 1, 100, 0),
	S("site-rate", NULL, T_INT, site_rate, 1, 100000, 0),
	S("site-conns", NULL, T_INT, site_conns, 1, 1024, 0),
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
	S("lookup-max", NULL, T_INT, lookup_max, 1, 65536, 0),
	S("info-cache-max", NULL, T_INT, info_cache_max, 100, 10000000, 0),
	S("names", NULL, T_INT, names, 0, 1, 0),
	S("dns-server", NULL, T_STRING, dns_server, 0, 0, 1),
	S("skip-private", NULL, T_INT, skip_private, 0, 1, 0),
	S("proxies", NULL, T_STRING, proxies, 0, 0, 1),
};

#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))
#define OPT_SETTING	256	/* getopt_long val of settings[i] is OPT_SETTING + i */
#define OPT_HELP	'h'
#define OPT_VERSION	(OPT_SETTING + 100)
#define OPT_STATUS	(OPT_SETTING + 101)
#define OPT_CHECK	(OPT_SETTING + 102)
#define OPT_PRINT	(OPT_SETTING + 103)

_Static_assert(NSETTINGS <= CONFIG_NKEYS, "struct config's origin[] is too small");

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->socket_path, "/run/tracetrout/tracetroutd.sock");
	cfg->socket_mode = 0660;
	strcpy(cfg->socket_group, "www-data");
	snprintf(cfg->db_path, sizeof(cfg->db_path), "%s", LOCALSTATEDIR "/lib/tracetrout/tracetrout.db");
	snprintf(cfg->journal, sizeof(cfg->journal), "%s", LOCALSTATEDIR "/lib/tracetrout/journal.db");
	cfg->journal_max = 100000;
	cfg->db_timeout_us = 30000000;
	cfg->queue = 7470;
	cfg->mark = 0x100000;
	cfg->hop_timeout_us = 1000000;
	cfg->hop_retries = 2;
	cfg->hop_offset = 0;
	cfg->max_hops = 30;
	cfg->gap_limit = 5;
	cfg->deadline_us = 15000000;
	cfg->max_probes = 256;
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
	cfg->subnet_max = 8;
	cfg->subnet_rate = 4;
	cfg->prefix_max = 24;
	cfg->prefix_rate = 20;
	cfg->site_share = 75;
	cfg->site_rate = 100;
	cfg->site_conns = 256;
	cfg->sandbox = 1;
	cfg->retention_us = 30ULL * 24 * 3600 * 1000000;
	cfg->info_connect_timeout_us = 1000000;
	cfg->info_timeout_us = 2000000;
	cfg->info_max_size = 65536;
	cfg->info_max_requests = 16;
	cfg->info_cache_us = 24ULL * 3600 * 1000000;
	cfg->info_negative_cache_us = 5ULL * 60 * 1000000;
	cfg->lookup_max = 512;
	cfg->info_cache_max = 10000;
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

/*
 * Hours, minutes and seconds as Go writes them, but without the zero parts
 * ("720h", not "720h0m0s"), and a fraction of a second exact to the
 * microsecond; under a second, whole milliseconds or microseconds.
 */
void
duration_format(uint64_t us, char *buf, size_t len)
{
	unsigned long long h = us / 3600000000ULL, m = us / 60000000 % 60, s = us / 1000000 % 60;
	unsigned long long f = us % 1000000;
	char out[64], frac[8];
	int n = 0;

	if (us == 0) {
		snprintf(buf, len, "0");
		return;
	}
	if (us < 1000000) {
		if (us % 1000 == 0)
			snprintf(buf, len, "%llums", (unsigned long long)us / 1000);
		else
			snprintf(buf, len, "%lluus", (unsigned long long)us);
		return;
	}
	if (h > 0)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "%lluh", h);
	if (m > 0)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "%llum", m);
	if (s > 0 || f > 0) {
		frac[0] = '\0';
		if (f > 0) {
			snprintf(frac, sizeof(frac), ".%06llu", f);
			for (char *e = frac + strlen(frac); e[-1] == '0'; e--)
				e[-1] = '\0';
		}
		snprintf(out + n, sizeof(out) - (size_t)n, "%llu%ss", s, frac);
	}
	snprintf(buf, len, "%s", out);
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

/*
 * A comma-separated list of ports, each once, into ports and *nports;
 * returns 0, or -1 with why written.
 */
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
		if (port_listed(ports, n, port)) {
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

/* Sets one setting from its text; returns 0, or -1 with why written (without the setting's name). */
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

/* The key an unknown one was probably meant to be: the original's variable name, or capitals or '_'. */
static const struct setting *
setting_guess(const char *key)
{
	char norm[64];
	size_t n = strlen(key);

	if (n >= sizeof(norm))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		norm[i] = key[i] == '_' ? '-' : (char)tolower((unsigned char)key[i]);
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, norm) == 0 ||
		    (settings[i].env != NULL && strcasecmp(settings[i].env, key) == 0))
			return &settings[i];
	return NULL;
}

/* Messages quote values as given: a control character must not break the one line, or a terminal. */
static void
printable(char *s)
{
	for (; s != NULL && *s; s++)
		if (iscntrl((unsigned char)*s))
			*s = '?';
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

/* The known key a line starts with ("key = ..." or "key ..."), or NULL. */
static const struct setting *
line_key(const char *line)
{
	char key[64];
	size_t n;

	line += strspn(line, " \t");
	n = strcspn(line, " \t=#\r\n");
	if (n == 0 || n >= sizeof(key))
		return NULL;
	memcpy(key, line, n);
	key[n] = '\0';
	return setting_find(key);
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
	/* Messages about settings, found later, name this file. */
	if (path != cfg->config_file)
		snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		const struct setting *st;
		char *key, *val, *eq, *hash;
		size_t i;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			if ((st = line_key(line)) != NULL)
				seterr(err, errlen, "%s:%d: %s: line longer than %d bytes", path,
				    lineno, st->key, CONFIG_LINE_MAX);
			else
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
			if ((st = line_key(key)) != NULL)
				seterr(err, errlen, "%s:%d: %s: no \"=\" after the key (write \"%s = "
				    "value\")", path, lineno, st->key, st->key);
			else
				seterr(err, errlen, "%s:%d: expected \"key = value\", got \"%s\"", path,
				    lineno, key);
			goto out;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		if (*key == '\0') {
			seterr(err, errlen, "%s:%d: no key before \"=\"", path, lineno);
			goto out;
		}
		if ((st = setting_find(key)) == NULL) {
			if ((st = setting_guess(key)) != NULL)
				seterr(err, errlen, "%s:%d: unknown key \"%s\" (did you mean \"%s\"?)",
				    path, lineno, key, st->key);
			else
				seterr(err, errlen, "%s:%d: unknown key \"%s\"", path, lineno, key);
			goto out;
		}
		if (setting_apply(cfg, st, val, why, sizeof(why)) < 0) {
			seterr(err, errlen, "%s:%d: %s: %s", path, lineno, key, why);
			goto out;
		}
		/* The last one counts, as it always has; --check-config says so. */
		i = (size_t)(st - settings);
		if (cfg->origin[i] > 0 && cfg->ndups++ == 0)
			seterr(cfg->dup, sizeof(cfg->dup), "%s:%d: %s: given again (first on line "
			    "%d); the last value counts", path, lineno, key, cfg->origin[i]);
		cfg->origin[i] = lineno;
	}
	if (ferror(fp)) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	fclose(fp);
	if (rc < 0)
		printable(err);
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
			printable(err);
			return -1;
		}
		cfg->origin[i] = CONFIG_FROM_ENV;
	}
	return 0;
}

static int
parse_args(struct config *cfg, int argc, char **argv, enum config_action *action,
    char *err, size_t errlen)
{
	struct option opts[NSETTINGS + 9];
	size_t n = 0;
	char why[256];
	enum config_action act;
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
	opts[n++] = (struct option){ "check-config", no_argument, NULL, OPT_CHECK };
	opts[n++] = (struct option){ "print-config", no_argument, NULL, OPT_PRINT };
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
		case OPT_CHECK:
		case OPT_PRINT:
			/* The settings are still read: the socket may be set in the file. */
			act = ch == OPT_STATUS ? CONFIG_STATUS : ch == OPT_CHECK ? CONFIG_CHECK :
			    CONFIG_PRINT;
			if (*action != CONFIG_RUN && *action != act) {
				seterr(err, errlen, "%s: only one of --status, --check-config and "
				    "--print-config at a time", argv[optind - 1]);
				return -1;
			}
			*action = act;
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
			cfg->origin[ch - OPT_SETTING] = CONFIG_FROM_ARG;
			break;
		}
	}
	if (optind < argc) {
		seterr(err, errlen, "unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	return 0;
}

int
config_parse_args(struct config *cfg, int argc, char **argv, enum config_action *action,
    char *err, size_t errlen)
{
	if (parse_args(cfg, argc, argv, action, err, errlen) == 0)
		return 0;
	printable(err);
	return -1;
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
	struct tt_addr a;
	uint16_t port;

	return addr_port_parse(s, &a, &port) == 0;
}

static size_t
setting_index(const char *key)
{
	const struct setting *st = setting_find(key);

	return st != NULL ? (size_t)(st - settings) : 0;
}

/* Where settings[i]'s value came from, as the loaders' messages begin: "FILE:7: key", "--key"... */
static void
origin_prefix(const struct config *cfg, size_t i, char *buf, size_t len)
{
	int o = cfg->origin[i];

	if (o > 0)
		snprintf(buf, len, "%s:%d: %s", cfg->config_file, o, settings[i].key);
	else if (o == CONFIG_FROM_ENV && settings[i].env != NULL)
		snprintf(buf, len, "environment %s", settings[i].env);
	else if (o == CONFIG_FROM_ARG)
		snprintf(buf, len, "--%s", settings[i].key);
	else
		snprintf(buf, len, "%s", settings[i].key);
}

/* The same, short, for a second setting that a message mentions: "line 4", "--max-hops". */
static void
origin_short(const struct config *cfg, size_t i, char *buf, size_t len)
{
	int o = cfg->origin[i];

	if (o > 0)
		snprintf(buf, len, "line %d", o);
	else if (o == CONFIG_FROM_ENV && settings[i].env != NULL)
		snprintf(buf, len, "%s", settings[i].env);
	else if (o == CONFIG_FROM_ARG)
		snprintf(buf, len, "--%s", settings[i].key);
	else
		snprintf(buf, len, "the default");
}

/* Writes "WHERE: why" about key into err; returns -1. */
static int __attribute__((format(printf, 5, 6)))
bad(const struct config *cfg, const char *key, char *err, size_t errlen, const char *fmt, ...)
{
	char where[CONFIG_PATH_MAX + 96], why[CONFIG_URI_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	origin_prefix(cfg, setting_index(key), where, sizeof(where));
	seterr(err, errlen, "%s: %s", where, why);
	printable(err);
	return -1;
}

/* Does s start with a URI's scheme (a letter, then letters, digits, +, - or .) and "://"? */
static bool
is_uri(const char *s)
{
	size_t n = 0;

	if (!isalpha((unsigned char)s[0]))
		return false;
	while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
		n++;
	return strncmp(s + n, "://", 3) == 0;
}

bool
config_is_pg(const struct config *cfg)
{
	return strncmp(cfg->db_path, "postgresql://", 13) == 0 ||
	    strncmp(cfg->db_path, "postgres://", 11) == 0;
}

const char *
config_store_path(const struct config *cfg)
{
	return config_is_pg(cfg) ? cfg->journal : cfg->db_path;
}

bool
pg_uri_has_password(const char *uri)
{
	const char *a = strstr(uri, "://"), *end, *at, *q;

	if (a == NULL)
		return false;
	a += 3;
	end = a + strcspn(a, "/?#");
	/* user:password@host: a colon before the last @ of the authority. */
	for (at = end; at > a && at[-1] != '@'; at--)
		;
	if (at > a && memchr(a, ':', (size_t)(at - 1 - a)) != NULL)
		return true;
	for (q = strchr(end, '?'); q != NULL; q = strchr(q + 1, '&'))
		if (strncmp(q + 1, "password=", 9) == 0)
			return true;
	return false;
}

/* What is wrong with db, or NULL: a scheme but PostgreSQL's, a password on the command line. */
static const char *
db_problem(const struct config *cfg)
{
	if (is_uri(cfg->db_path) && !config_is_pg(cfg))
		return "is a URI of a kind tracetroutd does not know: a path selects SQLite, "
		    "a postgresql:// URI PostgreSQL";
	if (config_is_pg(cfg) && cfg->origin[setting_index("db")] == CONFIG_FROM_ARG &&
	    pg_uri_has_password(cfg->db_path))
		return "carries a password on the command line, where every user can read it: "
		    "put it in a passfile (~/.pgpass, or passfile= in the URI) or in the config "
		    "file (mode 0600)";
	if (!config_is_pg(cfg) && strlen(cfg->db_path) >= CONFIG_PATH_MAX)
		return "is longer than 255 bytes, which a path may not be";
	return NULL;
}

/*
 * Most ranges were checked as each value was read; they are checked again
 * here for a struct config made by code. What only the whole set can tell
 * (hop-offset against max-hops) and what a value must look like beyond its
 * type (info-uri, dns-server) are checked only here.
 */
int
config_check(const struct config *cfg, char *err, size_t errlen)
{
	const char *why;
	struct sockaddr_un sun;
	struct config_net nets[CONFIG_PROXIES_N];
	struct config_site sites[CONFIG_SITES_N];
	struct config_metrics metrics;
	char d[64], from[CONFIG_PATH_MAX + 32];

	if (cfg->socket_path[0] == '\0' || strlen(cfg->socket_path) >= sizeof(sun.sun_path))
		return bad(cfg, "socket", err, errlen, "the path must have 1 to %zu bytes",
		    sizeof(sun.sun_path) - 1);
	if (config_metrics(cfg->metrics, &metrics, from, sizeof(from)) < 0)
		return bad(cfg, "metrics", err, errlen, "%s", from);
	if (strcmp(cfg->metrics, cfg->socket_path) == 0)
		return bad(cfg, "metrics", err, errlen, "\"%s\" is the broker's socket; the metrics "
		    "need a path of their own", cfg->metrics);
	if ((why = db_problem(cfg)) != NULL)
		return bad(cfg, "db", err, errlen, "%s", why);
	if (cfg->vantage[0] != '\0' && !proto_vantage_ok(cfg->vantage, strlen(cfg->vantage)))
		return bad(cfg, "vantage", err, errlen, "\"%s\" is not a name of at most %d letters, "
		    "digits, '.', '-' and '_'", cfg->vantage, PROTO_VANTAGE_MAX);
	if (config_site_names(cfg->site_names, sites, CONFIG_SITES_N, from, sizeof(from)) < 0)
		return bad(cfg, "site-names", err, errlen, "%s", from);
	if (cfg->hop_retries < 0 || cfg->hop_retries > 9)
		return bad(cfg, "hop-retries", err, errlen, "%d is not from 0 to 9",
		    cfg->hop_retries);
	if (cfg->max_hops < 1 || cfg->max_hops > 64)
		return bad(cfg, "max-hops", err, errlen, "%d is not from 1 to 64", cfg->max_hops);
	if (cfg->hop_offset < 0 || cfg->hop_offset >= cfg->max_hops) {
		origin_short(cfg, setting_index("max-hops"), from, sizeof(from));
		return bad(cfg, "hop-offset", err, errlen,
		    "%d must be from 0 to max-hops - 1 (%d; max-hops %d is from %s)",
		    cfg->hop_offset, cfg->max_hops - 1, cfg->max_hops, from);
	}
	if (cfg->gap_limit < 1 || cfg->gap_limit > 64)
		return bad(cfg, "gap-limit", err, errlen, "%d is not from 1 to 64", cfg->gap_limit);
	if (cfg->hop_timeout_us == 0)
		return bad(cfg, "hop-timeout", err, errlen, "must be positive");
	if (cfg->deadline_us == 0)
		return bad(cfg, "deadline", err, errlen, "must be positive");
	if (cfg->start_timeout_us == 0)
		return bad(cfg, "start-timeout", err, errlen, "must be positive");
	if (cfg->nports < 1 || cfg->nports > CONFIG_MAX_PORTS)
		return bad(cfg, "ports", err, errlen, "from 1 to %d ports", CONFIG_MAX_PORTS);
	if (cfg->max_traces < 1 || cfg->max_traces > 1024)
		return bad(cfg, "max-traces", err, errlen, "%d is not from 1 to 1024",
		    cfg->max_traces);
	if (cfg->mark == 0 || (cfg->mark & (cfg->mark - 1)) != 0)
		return bad(cfg, "mark", err, errlen, "0x%" PRIx32 " is not a single bit", cfg->mark);
	if (cfg->socket_mode > 0777)
		return bad(cfg, "socket-mode", err, errlen, "%o is not a file mode",
		    cfg->socket_mode);
	if (cfg->info_uri[0] != '\0' && (why = info_uri_problem(cfg->info_uri)) != NULL)
		return bad(cfg, "info-uri", err, errlen, "\"%s\" %s", cfg->info_uri, why);
	/* libcurl and c-ares count in milliseconds; a minute would hold a trace's END too long. */
	if (cfg->info_connect_timeout_us < 1000 || cfg->info_connect_timeout_us > 60000000) {
		duration_format(cfg->info_connect_timeout_us, d, sizeof(d));
		return bad(cfg, "info-connect-timeout", err, errlen, "%s is not from 1ms to 1m", d);
	}
	if (cfg->info_timeout_us < 1000 || cfg->info_timeout_us > 60000000) {
		duration_format(cfg->info_timeout_us, d, sizeof(d));
		return bad(cfg, "info-timeout", err, errlen, "%s is not from 1ms to 1m", d);
	}
	if (cfg->info_max_size < 1024 || cfg->info_max_size > 1048576)
		return bad(cfg, "info-max-size", err, errlen, "%d is not from 1024 to 1048576",
		    cfg->info_max_size);
	if (cfg->info_max_requests < 1 || cfg->info_max_requests > 256)
		return bad(cfg, "info-max-requests", err, errlen, "%d is not from 1 to 256",
		    cfg->info_max_requests);
	if (cfg->info_cache_us == 0)
		return bad(cfg, "info-cache", err, errlen, "must be positive");
	if (cfg->info_negative_cache_us == 0)
		return bad(cfg, "info-negative-cache", err, errlen, "must be positive");
	if (cfg->dns_server[0] != '\0' && !dns_server_ok(cfg->dns_server))
		return bad(cfg, "dns-server", err, errlen,
		    "\"%s\" is not an IP address, IPv4:PORT or [IPv6]:PORT", cfg->dns_server);
	if (config_proxies(cfg->proxies, nets, d, sizeof(d)) < 0)
		return bad(cfg, "proxies", err, errlen, "\"%s\" is not an address or a network "
		    "(ADDR/BITS), or there are more than %d", d, CONFIG_PROXIES_N);
	return 0;
}

struct proxies {
	struct config_net *nets;
	int n;
	char *bad;
	size_t badlen;
};

static int
proxy_net(void *ctx, const char *s)
{
	struct proxies *p = ctx;

	if (p->n == CONFIG_PROXIES_N || addr_prefix_parse(s, &p->nets[p->n].net,
	    &p->nets[p->n].bits) < 0) {
		snprintf(p->bad, p->badlen, "%s", s);
		return -1;
	}
	p->n++;
	return 0;
}

struct site_names {
	struct config_site *sites;
	int n, max;
	char *why;
	size_t whylen;
};

static int
site_name_entry(void *ctx, const char *entry)
{
	struct site_names *sn = ctx;
	const char *eq = strchr(entry, '=');
	char user[64];
	uint32_t uid;

	if (eq == NULL || eq == entry || (size_t)(eq - entry) >= sizeof(user)) {
		snprintf(sn->why, sn->whylen, "\"%s\" is not USER=NAME", entry);
		return -1;
	}
	snprintf(user, sizeof(user), "%.*s", (int)(eq - entry), entry);
	if (!proto_vantage_ok(eq + 1, strlen(eq + 1))) {
		snprintf(sn->why, sn->whylen, "\"%s\" is not a name of at most %d letters, digits, "
		    "'.', '-' and '_'", eq + 1, PROTO_VANTAGE_MAX);
		return -1;
	}
	if (config_id(user, 0, &uid) < 0) {
		snprintf(sn->why, sn->whylen, "there is no user \"%s\" on this system", user);
		return -1;
	}
	for (int i = 0; i < sn->n; i++)
		if (sn->sites[i].uid == uid) {
			snprintf(sn->why, sn->whylen, "user \"%s\" is named twice", user);
			return -1;
		}
	if (sn->n == sn->max) {
		snprintf(sn->why, sn->whylen, "more than %d users", sn->max);
		return -1;
	}
	sn->sites[sn->n].uid = uid;
	snprintf(sn->sites[sn->n].name, sizeof(sn->sites[sn->n].name), "%s", eq + 1);
	sn->n++;
	return 0;
}

int
config_metrics(const char *s, struct config_metrics *m, char *why, size_t whylen)
{
	struct sockaddr_un sun;

	memset(m, 0, sizeof(*m));
	if (*s == '\0')
		return 0;
	if (*s == '/') {
		if (strlen(s) >= sizeof(sun.sun_path)) {
			seterr(why, whylen, "a socket's path has at most %zu bytes",
			    sizeof(sun.sun_path) - 1);
			return -1;
		}
		m->kind = CONFIG_METRICS_UNIX;
		return 0;
	}
	m->kind = CONFIG_METRICS_TCP;
	/* A port alone is loopback: nothing beyond this host reads the counters unless told to. */
	if (strspn(s, "0123456789") == strlen(s)) {
		if (port_parse(s, &m->port) < 0) {
			seterr(why, whylen, "\"%s\" is not a port (1..65535)", s);
			return -1;
		}
		addr_parse("127.0.0.1", &m->addr[0]);
		addr_parse("::1", &m->addr[1]);
		m->naddrs = 2;
		m->loopback = true;
		return 0;
	}
	if (addr_port_parse(s, &m->addr[0], &m->port) < 0 || m->port == 0) {
		seterr(why, whylen, "\"%s\" is not PORT, ADDRESS:PORT, [IPv6]:PORT or a socket's "
		    "absolute path", s);
		return -1;
	}
	m->naddrs = 1;
	return 0;
}

int
config_site_names(const char *list, struct config_site *sites, int n, char *why, size_t whylen)
{
	struct site_names sn = { sites, 0, n, why, whylen };

	return config_each(list, site_name_entry, &sn) < 0 ? -1 : sn.n;
}

int
config_proxies(const char *list, struct config_net *nets, char *bad, size_t badlen)
{
	struct proxies p = { nets, 0, bad, badlen };

	return config_each(list, proxy_net, &p) < 0 ? -1 : p.n;
}

#define USERADD	"useradd --system --no-create-home --shell /usr/sbin/nologin"

/* A user that must exist by name, as privsep.c looks it up. */
static int
check_user(const struct config *cfg, const char *key, const char *name, char *err, size_t errlen)
{
	errno = 0;
	if (getpwnam(name) != NULL)
		return 0;
	return bad(cfg, key, err, errlen, "no user %s%s%s; create it with: " USERADD " %s", name,
	    errno ? ": " : "", errno ? strerror(errno) : "", name);
}

int
config_id(const char *name, int group, uint32_t *id)
{
	unsigned long long v;
	struct passwd *pw = NULL;
	struct group *gr = NULL;

	if (number_parse(name, 10, 0xfffffffeULL, &v) == 0) {
		*id = (uint32_t)v;
		return 0;
	}
	errno = 0;
	if (group ? (gr = getgrnam(name)) != NULL : (pw = getpwnam(name)) != NULL) {
		*id = group ? gr->gr_gid : pw->pw_uid;
		return 0;
	}
	if (errno == 0 || errno == ESRCH)
		errno = ENOENT;	/* getpwnam's "not found" is 0, or ENOENT or ESRCH */
	return -1;
}

/* A user (group 0) or group (1) that exists, or a number, as the broker resolves them. */
static int
check_name(const struct config *cfg, const char *key, const char *name, int group,
    char *err, size_t errlen)
{
	uint32_t id;

	if (config_id(name, group, &id) == 0)
		return 0;
	if (errno != ENOENT)
		return bad(cfg, key, err, errlen, "cannot look up %s \"%s\": %s",
		    group ? "group" : "user", name, strerror(errno));
	return bad(cfg, key, err, errlen, "there is no %s \"%s\" on this system; create it, or "
	    "name another (a number is taken as it is)", group ? "group" : "user", name);
}

int
config_each(const char *list, int (*fn)(void *, const char *), void *ctx)
{
	char buf[CONFIG_PROXIES_MAX + 1], *p, *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (p = buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		while (*tok == ' ')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && e[-1] == ' '; e--)
			e[-1] = '\0';
		if (*tok != '\0' && fn(ctx, tok) < 0)
			return -1;
	}
	return 0;
}

struct name_check {
	const struct config *cfg;
	const char *key;
	int group;
	char *err;
	size_t errlen;
};

static int
name_ok(void *ctx, const char *name)
{
	struct name_check *nc = ctx;

	return check_name(nc->cfg, nc->key, name, nc->group, nc->err, nc->errlen);
}

/* Each name of a comma-separated list, as the broker resolves them. */
static int
check_names(const struct config *cfg, const char *key, const char *list, int group,
    char *err, size_t errlen)
{
	struct name_check nc = { cfg, key, group, err, errlen };

	return config_each(list, name_ok, &nc);
}

/* Does the comma-separated list of users or groups name the same one as name? */
static bool
names_id(const char *list, int group, const char *name)
{
	char buf[CONFIG_PROXIES_MAX + 1], *tok, *save = NULL;
	uint32_t a, b;

	if (config_id(name, group, &a) < 0)
		return false;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *p = buf; (tok = strtok_r(p, ", ", &save)) != NULL; p = NULL)
		if (config_id(tok, group, &b) == 0 && a == b)
			return true;
	return false;
}

struct web_admin {
	const struct config *cfg;
	const char *key, *sites;
	int group;
	char *err;
	size_t errlen;
};

static int
not_web(void *ctx, const char *name)
{
	struct web_admin *w = ctx;

	if (!names_id(w->sites, w->group, name) || (!w->group && strcmp(name, "root") == 0) ||
	    (!w->group && strcmp(name, "0") == 0))
		return 0;
	return bad(w->cfg, w->key, w->err, w->errlen, "%s \"%s\" is a site's (in %s): a site's web "
	    "user never searches every site's traces", w->group ? "group" : "user", name,
	    w->group ? "allow-groups" : "allow-users");
}

/* An operator is never a site's web user: admin-* name none of allow-* (root aside). */
static int
check_no_web_admins(const struct config *cfg, char *err, size_t errlen)
{
	struct web_admin u = { cfg, "admin-users", cfg->allow_users, 0, err, errlen };
	struct web_admin g = { cfg, "admin-groups", cfg->allow_groups, 1, err, errlen };

	return config_each(cfg->admin_users, not_web, &u) < 0 ||
	    config_each(cfg->admin_groups, not_web, &g) < 0 ? -1 : 0;
}

int
config_check_start(const struct config *cfg, char *err, size_t errlen)
{
	/* daemon() changes to /, where relative paths would mean something else. */
	if (!cfg->foreground && cfg->socket_path[0] != '/')
		return bad(cfg, "socket", err, errlen, "\"%s\" is not an absolute path, which it "
		    "must be unless -d is given", cfg->socket_path);
	if (!cfg->foreground && config_store_path(cfg)[0] != '\0' && config_store_path(cfg)[0] != '/')
		return bad(cfg, config_is_pg(cfg) ? "journal" : "db", err, errlen,
		    "\"%s\" is not an absolute path, which it must be unless -d is given",
		    config_store_path(cfg));
	/*
	 * The broker resolves the groups and allow lists only after the engine
	 * has opened its sockets (and after daemon(): its exit status would be
	 * lost); these look-ups need no privilege, so they come first.
	 */
	if (cfg->user[0] != '\0' && check_user(cfg, "user", cfg->user, err, errlen) < 0)
		return -1;
	if (cfg->engine_user[0] != '\0' &&
	    check_user(cfg, "engine-user", cfg->engine_user, err, errlen) < 0)
		return -1;
	if (cfg->socket_group[0] != '\0' &&
	    check_name(cfg, "socket-group", cfg->socket_group, 1, err, errlen) < 0)
		return -1;
	if (check_names(cfg, "allow-users", cfg->allow_users, 0, err, errlen) < 0 ||
	    check_names(cfg, "allow-groups", cfg->allow_groups, 1, err, errlen) < 0 ||
	    check_names(cfg, "admin-users", cfg->admin_users, 0, err, errlen) < 0 ||
	    check_names(cfg, "admin-groups", cfg->admin_groups, 1, err, errlen) < 0)
		return -1;
	return check_no_web_admins(cfg, err, errlen);
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
	else if (stat(CONFIG_DEFAULT_FILE, &sb) == 0 || (errno != ENOENT && errno != ENOTDIR))
		/* Only a file that is not there is skipped; one we may not read is an error. */
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

/*
 * settings[i]'s value as the file writes it. Returns 0, or -1 if the file
 * could not give it: a '#' would start a comment, a line ends at a newline,
 * and blanks at either end are trimmed.
 */
static int
setting_format(const struct config *cfg, const struct setting *st, char *buf, size_t len)
{
	const char *field = (const char *)cfg + st->off;
	size_t n;

	switch (st->type) {
	case T_PATH:
	case T_NAME:
	case T_STRING:
		snprintf(buf, len, "%s", field);
		if ((n = strlen(buf)) > 0 && (buf[0] == ' ' || buf[n - 1] == ' '))
			return -1;
		for (const char *p = buf; *p; p++)
			if (*p == '#' || iscntrl((unsigned char)*p))
				return -1;
		return 0;
	case T_PORT:
		snprintf(buf, len, "%u", (unsigned int)*(const uint16_t *)(const void *)field);
		return 0;
	case T_MARK:
		snprintf(buf, len, "0x%" PRIx32, *(const uint32_t *)(const void *)field);
		return 0;
	case T_INT:
		snprintf(buf, len, "%d", *(const int *)(const void *)field);
		return 0;
	case T_DURATION:
		duration_format(*(const uint64_t *)(const void *)field, buf, len);
		return 0;
	case T_PORTS:
		buf[0] = '\0';
		for (int i = 0, off = 0; i < cfg->nports && off >= 0 && (size_t)off < len; i++)
			off += snprintf(buf + off, len - (size_t)off, "%s%u", i ? "," : "",
			    cfg->ports[i]);
		return 0;
	case T_MODE:
		snprintf(buf, len, "%04o", *(const unsigned int *)(const void *)field);
		return 0;
	}
	return -1;
}

int
config_print(const struct config *cfg, FILE *fp, char *err, size_t errlen)
{
	char val[CONFIG_LINE_MAX];

	/* All or nothing: half a file would read as a whole one with defaults. */
	for (size_t i = 0; i < NSETTINGS; i++)
		if (setting_format(cfg, &settings[i], val, sizeof(val)) < 0)
			return bad(cfg, settings[i].key, err, errlen, "\"%s\" cannot be written in a "
			    "config file (it has a '#', a control character or a blank at an end)",
			    val);
	for (size_t i = 0; i < NSETTINGS; i++) {
		setting_format(cfg, &settings[i], val, sizeof(val));
		fprintf(fp, "%s =%s%s\n", settings[i].key, val[0] ? " " : "", val);
	}
	if (fflush(fp) == EOF || ferror(fp)) {
		seterr(err, errlen, "writing the settings: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
config_print_ok(const struct config *cfg, FILE *out, FILE *warn)
{
	if (cfg->ndups > 0)
		fprintf(warn, "tracetroutd: warning: %s%s\n", cfg->dup,
		    cfg->ndups > 1 ? "; other keys are given twice too" : "");
	if (cfg->config_file[0] != '\0')
		fprintf(out, "%s: ok\n", cfg->config_file);
	else
		fprintf(out, "no config file (" CONFIG_DEFAULT_FILE " does not exist): ok\n");
}

void
config_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tracetroutd [-dv] [-c file] [--option value ...]\n"
	    "       tracetroutd --check-config | --print-config [-d] [-c file] [--option value ...]\n"
	    "       tracetroutd --status [-c file] [--socket PATH]\n"
	    "  -c, --config FILE     settings file (default " CONFIG_DEFAULT_FILE " if it exists)\n"
	    "  -d, --foreground      stay in the foreground and log to stderr\n"
	    "  -v, --verbose         log debug messages\n"
	    "      --socket PATH     the broker's unix socket\n"
	    "      --socket-mode M   its mode, octal (0660)\n"
	    "      --socket-group G  its group (www-data)\n"
	    "      --metrics WHERE   serve Prometheus metrics: PORT (on loopback), ADDR:PORT,\n"
	    "                        [IPv6]:PORT or a socket's path; empty: off (default)\n"
	    "      --db PATH|URI     the SQLite database, or a postgresql:// URI (a fleet's\n"
	    "                        store, with --journal as the local file); empty: no storage\n"
	    "      --journal PATH    the local file whose traces wait for PostgreSQL\n"
	    "      --journal-max N   traces it may hold, 1..10000000 (100000)\n"
	    "      --vantage NAME    this server's name in a fleet's store (its host name)\n"
	    "      --site-names U=N,...  user U's site is called N in the fleet (its user name)\n"
	    "      --db-timeout D    for PostgreSQL to connect or answer (30s)\n"
	    "      --queue N         NFQUEUE number (FILTER_QUEUE, 7470)\n"
	    "      --mark BIT        the connmark bit (0x100000)\n"
	    "      --hop-timeout D   wait per hop (HOP_TIMEOUT, 1s)\n"
	    "      --hop-retries N   extra probes per hop, 0..9 (HOP_RETRIES, 2)\n"
	    "      --hop-offset N    hops not shown (HOP_OFFSET, 0)\n"
	    "      --max-hops N      1..64 (30)\n"
	    "      --gap-limit N     silent hops in a row that end a trace (5)\n"
	    "      --deadline D      a whole trace: its time budget (15s)\n"
	    "      --max-probes N    probes one trace may send, 1..704 (256)\n"
	    "      --start-timeout D for the first segment and its ACK (3s)\n"
	    "      --ports LIST      local ports that may be traced (80,443)\n"
	    "      --max-traces N    traces running at once (64)\n"
	    "      --user NAME       the broker's user (tracetrout); empty: root\n"
	    "      --engine-user NAME  the engine's user (tracetrout-engine); empty: root\n"
	    "      --allow-users L   users who may ask for traces (root)\n"
	    "      --allow-groups L  and members of these groups (www-data)\n"
	    "      --admin-users L   operators who may search every site's traces (root)\n"
	    "      --admin-groups L  and members of these groups\n"
	    "      --client-rate N   traces a second per visitor address, bursts of 3N (1)\n"
	    "      --client-max N    traces running at once per visitor address (2)\n"
	    "      --global-rate N   traces a second in all, bursts of 2N (50)\n"
	    "      --subnet-max N    traces running at once per IPv6 /56 (8)\n"
	    "      --subnet-rate N   traces a second per IPv6 /56, bursts of 3N (4)\n"
	    "      --prefix-max N    traces running at once per IPv4 /24 or IPv6 /48 (24)\n"
	    "      --prefix-rate N   traces a second per /24 or /48, bursts of 3N (20)\n"
	    "      --site-share P    percent of max-traces one site may hold (75)\n"
	    "      --site-rate N     trace requests a second per site, bursts of 2N (100)\n"
	    "      --site-conns N    connections at once per site (256)\n"
	    "      --sandbox 0|1     0: no seccomp or no_new_privs, for sanitizers only (1)\n"
	    "      --retention D     stored traces are deleted after D; 0: kept (720h)\n"
	    "      --truncate-clients 0|1  keep visitors, and hops in their network, as /24 or /48 (0)\n"
	    "      --info-uri URL    hop info service, {ip} replaced (INFO_URI_TEMPLATE; off)\n"
	    "      --info-connect-timeout D  to connect to it (1s)\n"
	    "      --info-timeout D  a whole request, and a DNS query (2s)\n"
	    "      --info-max-size N larger answers fail, bytes (65536)\n"
	    "      --info-max-requests N  requests at once, 1..256 (16)\n"
	    "      --info-cache D    how long an answer is used (24h)\n"
	    "      --info-negative-cache D  how long a failure is (5m)\n"
	    "      --lookup-max N      look-ups (info and names) queued or running, 1..65536 (512)\n"
	    "      --info-cache-max N  cached answers and failures, 100..10000000 (10000)\n"
	    "      --names 0|1       reverse DNS names of hops (1)\n"
	    "      --dns-server A    IP or IP:PORT for them; default /etc/resolv.conf's\n"
	    "      --skip-private 0|1  no look-ups of private or documentation addresses (0)\n"
	    "      --proxies LIST    proxies in front of the server: ADDR or ADDR/BITS, comma-separated\n"
	    "      --check-config    check the settings as a start would, print \"FILE: ok\", exit\n"
	    "      --print-config    print the effective settings as a config file, exit\n"
	    "      --status          print the running helper's counters and exit\n"
	    "      --help, --version\n"
	    "See tracetroutd(8) and tracetrout.conf(5).\n");
}
