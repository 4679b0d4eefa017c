/*
 * tracetrout-query: an operator's search of every site's stored traces
 * (docs/query.md, tracetrout-query(1)), through the broker's QUERY verb:
 * the filters become one request, its ITEMs a table, JSON lines or
 * permalinks. Root, admin-users and admin-groups may; the broker checks.
 */
#define _GNU_SOURCE		/* timegm */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "brokerclient.h"
#include "config.h"
#include "proto.h"
#include "util.h"

#define QUERY_MS	30000	/* connecting, and each line of the answer */
#define DEFAULT_SOCKET	"/run/tracetrout/tracetroutd.sock"

enum format { FMT_TABLE, FMT_JSON, FMT_LINKS };

struct opts {
	const char *socket;
	const char *base_url;	/* FMT_LINKS: before /trace/ID */
	enum format format;
	long limit;		/* traces in all, paged by PROTO_QUERY_MAX */
	struct proto_query q;
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tracetrout-query [options]\n"
	    "Search every site's stored traces (root, admin-users or admin-groups only).\n"
	    "Filters, all optional and combined:\n"
	    "  --visitor ADDR[/LEN]  the visitor's address or prefix\n"
	    "  --hop ADDR[/LEN]      a hop's address or prefix (the visitor's own included)\n"
	    "  --since TIME          started at or after TIME\n"
	    "  --until TIME          started before TIME\n"
	    "                        TIME: 2026-12-08, 2026-12-08T10:30:00Z (UTC), or a duration\n"
	    "                        ago in Go's syntax (24h, 90m)\n"
	    "  --as N                a hop's AS (64500 or AS64500), from stored look-ups\n"
	    "  --country C           a hop's country, code or name, from stored look-ups\n"
	    "  --reason R            how the trace ended (destination, max-hops, ...)\n"
	    "  --site NAME           one site's traces (its user's name, or site-names')\n"
	    "  --vantage NAME        one server's (a fleet's vantage point)\n"
	    "  --changed             only traces whose path changed since the visitor's previous\n"
	    "Output:\n"
	    "  --format F            table (default), json (JSON lines) or links (permalinks)\n"
	    "  --base-url URL        the site's URL before /trace/ID in links (none)\n"
	    "  --count               how many traces match, not the traces\n"
	    "  --limit N             at most N traces, newest first (20)\n"
	    "  --socket PATH         tracetroutd's socket (" DEFAULT_SOCKET ")\n"
	    "  -h, --help            this help\n");
	exit(status);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("tracetrout-query: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ADDR or ADDR/LEN into a and bits; exits with a message when it is neither. */
static void
prefix_arg(const char *opt, const char *s, struct tt_addr *a, int *bits)
{
	char buf[ADDR_STRLEN + 8], *slash, *end;
	long v;

	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (addr_parse(buf, a) < 0)
		die("%s %s: not an IPv4 or IPv6 address or prefix", opt, s);
	*bits = a->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		errno = 0;
		v = strtol(slash, &end, 10);
		if (errno || end == slash || *end != '\0' || v < 0 || v > *bits)
			die("%s %s: the prefix length must be from 0 to %d", opt, s, *bits);
		*bits = (int)v;
	}
}

/* TIME as ms since the epoch: a UTC date, date and time, or a duration ago. */
static uint64_t
time_arg(const char *opt, const char *s)
{
	static const char *const formats[] = { "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%d" };
	struct tm tm;
	uint64_t us;
	const char *end;

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, formats[i], &tm)) != NULL && *end == '\0')
			return (uint64_t)timegm(&tm) * 1000;
	}
	if (duration_parse(s, &us) == 0 && us / 1000 < time_ms(CLOCK_REALTIME))
		return time_ms(CLOCK_REALTIME) - us / 1000;
	die("%s %s: not a date (2026-12-08), a UTC time (2026-12-08T10:30:00Z) or a duration "
	    "ago (24h)", opt, s);
}

static void
string_arg(const char *opt, const char *s, char *dst, size_t len)
{
	if (*s == '\0' || strlen(s) >= len)
		die("%s: 1 to %zu characters", opt, len - 1);
	snprintf(dst, len, "%s", s);
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_VISITOR = 256, O_HOP, O_SINCE, O_UNTIL, O_AS, O_COUNTRY, O_REASON, O_SITE,
	    O_VANTAGE, O_CHANGED, O_FORMAT, O_BASE, O_COUNT, O_LIMIT, O_SOCKET };
	static const struct option longopts[] = {
		{ "visitor", required_argument, NULL, O_VISITOR },
		{ "hop", required_argument, NULL, O_HOP },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "as", required_argument, NULL, O_AS },
		{ "country", required_argument, NULL, O_COUNTRY },
		{ "reason", required_argument, NULL, O_REASON },
		{ "site", required_argument, NULL, O_SITE },
		{ "vantage", required_argument, NULL, O_VANTAGE },
		{ "changed", no_argument, NULL, O_CHANGED },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "base-url", required_argument, NULL, O_BASE },
		{ "count", no_argument, NULL, O_COUNT },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->socket = DEFAULT_SOCKET;
	o->base_url = "";
	o->limit = 20;
	o->q.visitor_bits = o->q.hop_bits = -1;
	o->q.limit = 1;		/* a count's; pages set their own */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_VISITOR:
			prefix_arg("--visitor", optarg, &o->q.visitor, &o->q.visitor_bits);
			break;
		case O_HOP:
			prefix_arg("--hop", optarg, &o->q.hop, &o->q.hop_bits);
			break;
		case O_SINCE:
			o->q.since_ms = time_arg("--since", optarg);
			break;
		case O_UNTIL:
			o->q.until_ms = time_arg("--until", optarg);
			break;
		case O_AS: {
			const char *n = strncasecmp(optarg, "AS", 2) == 0 ? optarg + 2 : optarg;
			unsigned long v;

			errno = 0;
			v = strtoul(n, &end, 10);
			if (errno || end == n || *end != '\0' || v == 0 || v > UINT32_MAX || !isdigit(*n))
				die("--as %s: an AS number, 1 to 4294967295 (AS prefix optional)", optarg);
			o->q.asn = (uint32_t)v;
			break;
		}
		case O_COUNTRY:
			string_arg("--country", optarg, o->q.country, sizeof(o->q.country));
			break;
		case O_REASON:
			string_arg("--reason", optarg, o->q.reason, sizeof(o->q.reason));
			break;
		case O_SITE:
			string_arg("--site", optarg, o->q.site, sizeof(o->q.site));
			break;
		case O_VANTAGE:
			string_arg("--vantage", optarg, o->q.vantage, sizeof(o->q.vantage));
			break;
		case O_CHANGED:
			o->q.changed = true;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "table") == 0)
				o->format = FMT_TABLE;
			else if (strcmp(optarg, "json") == 0)
				o->format = FMT_JSON;
			else if (strcmp(optarg, "links") == 0)
				o->format = FMT_LINKS;
			else
				die("--format %s: table, json or links", optarg);
			break;
		case O_BASE:
			o->base_url = optarg;
			break;
		case O_COUNT:
			o->q.count = true;
			break;
		case O_LIMIT:
			errno = 0;
			o->limit = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || o->limit < 1 || o->limit > 10000000)
				die("--limit %s: 1 to 10000000", optarg);
			break;
		case O_SOCKET:
			o->socket = optarg;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}

/* "2026-12-08 10:30:00" (sep ' ') or "2026-12-08T10:30:00Z" (sep 'T'), UTC, from ms. */
static const char *
utc(uint64_t ms, char sep, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, sep == 'T' ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* The path as JSON: an array per hop, of its addresses ("*" a silent hop: an empty one). */
static void
json_path(FILE *out, const char *path, size_t len)
{
	fputc('[', out);
	for (size_t i = 0, start = 0; len > 1 || (len == 1 && path[0] != '-'); i++) {
		if (i == len || path[i] == ',') {
			bool first = true;

			fputs(start ? ",[" : "[", out);
			for (size_t a = start, b; a < i; a = b + 1) {
				for (b = a; b < i && path[b] != '+'; b++)
					;
				if (b - a == 1 && path[a] == '*')
					continue;
				fprintf(out, "%s\"%.*s\"", first ? "" : ",", (int)(b - a), path + a);
				first = false;
			}
			fputc(']', out);
			start = i + 1;
			if (i == len)
				break;
		}
	}
	fputc(']', out);
}

static void
print_item(FILE *out, const struct opts *o, const struct proto_msg *m)
{
	char t[32], a[ADDR_STRLEN];
	const char *visitor = m->has_client ? addr_format(&m->req.client, a) : "-";

	switch (o->format) {
	case FMT_LINKS:
		fprintf(out, "%s/trace/%s\n", o->base_url, m->id);
		break;
	case FMT_JSON:
		fprintf(out, "{\"id\":\"%s\",\"started\":\"%s\",\"visitor\":\"%s\",\"site\":\"%s\","
		    "\"vantage\":\"%s\",\"reason\":\"%s\",\"hops\":%d,\"duration_ms\":%.3f,\"path\":",
		    m->id, utc(m->started_ms, 'T', t, sizeof(t)), visitor, m->site_name, m->vantage,
		    m->code, m->hops, (double)m->duration_us / 1000);
		json_path(out, m->path, m->path_len);
		fputs("}\n", out);
		break;
	default:
		fprintf(out, "%-19s  %-39s  %-12s  %-12s  %-12s  %4d  %9.1f  %s\n",
		    utc(m->started_ms, ' ', t, sizeof(t)), visitor, m->site_name[0] ? m->site_name : "-",
		    m->vantage[0] ? m->vantage : "-", m->code, m->hops,
		    (double)m->duration_us / 1000, m->id);
		fprintf(out, "    path %.*s\n", (int)m->path_len, m->path);
		break;
	}
}

/* One QUERY: its ITEMs printed; returns how many, sets *more and last (the oldest's id). */
static long
ask(const struct opts *o, const struct proto_query *q, const char *before, bool *more,
    char *last, uint64_t *count)
{
	char line[PROTO_LINE_MAX + 1];
	struct proto_msg m;
	struct bclient c;
	enum bclient_status st;
	long n = 0;
	int len;

	if ((len = proto_fmt_query(line, sizeof(line), q, before)) < 0)
		die("the query does not fit in a request line");
	st = bclient_open(&c, o->socket, QUERY_MS);
	if (st != BCLIENT_OK)
		die("cannot reach tracetroutd at %s: %s", o->socket, c.why);
	if (bclient_send(&c, line, (size_t)len, bclient_deadline(QUERY_MS)) != BCLIENT_OK)
		die("cannot send the query to %s: %s", o->socket, c.why);
	if (o->format == FMT_TABLE && !q->count && before == NULL)
		printf("%-19s  %-39s  %-12s  %-12s  %-12s  %4s  %9s  %s\n", "STARTED (UTC)", "VISITOR",
		    "SITE", "VANTAGE", "REASON", "HOPS", "MS", "ID");
	for (;;) {
		if (bclient_read(&c, &m, bclient_deadline(QUERY_MS)) != BCLIENT_OK)
			die("no whole answer from %s: %s", o->socket, c.why);
		if (m.verb == PROTO_ITEM) {
			print_item(stdout, o, &m);
			snprintf(last, PROTO_ID_LEN + 1, "%s", m.id);
			n++;
		} else if (m.verb == PROTO_LIST) {
			*more = m.more;
			break;
		} else if (m.verb == PROTO_COUNT) {
			*count = m.count;
			break;
		} else if (m.verb == PROTO_ERROR) {
			die("tracetroutd refused the query: %s: %s", m.code, m.msg);
		} else
			die("unexpected answer from %s: %.*s", o->socket, (int)c.line_len, c.line);
	}
	bclient_close(&c);
	return n;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct proto_query q;
	char last[PROTO_ID_LEN + 1] = "";
	uint64_t count = 0;
	bool more = true;

	parse_args(argc, argv, &o);
	q = o.q;
	if (q.count) {
		ask(&o, &q, NULL, &more, last, &count);
		printf("%llu\n", (unsigned long long)count);
		return 0;
	}
	/* Pages of at most PROTO_QUERY_MAX, each older than the last one's oldest. */
	for (long left = o.limit; left > 0 && more;) {
		q.limit = (int)(left < PROTO_QUERY_MAX ? left : PROTO_QUERY_MAX);
		left -= ask(&o, &q, last[0] ? last : NULL, &more, last, &count);
		if (last[0] == '\0')
			break;
	}
	if (fflush(stdout) != 0)
		die("cannot write: %s", strerror(errno));
	return 0;
}
