/*
 * The helper's counters as Prometheus's text format, version 0.0.4: every
 * metric with its HELP and TYPE lines, counters named _total, seconds and
 * bytes as base units (docs/metrics.md). No I/O but the FILE it is given.
 */
#include "metrics.h"

#include <stddef.h>
#include <string.h>

/* END's reasons in docs/protocol.md: each is a series from the start, so rate() sees its first. */
static const char *const known_reasons[] = {
	"destination", "max-hops", "gap-limit", "deadline", "budget", "closed", "unreachable",
	"no-segment", "buffered", "no-rules", "no-ack", "engine-down",
};

void
metrics_reasons_init(struct metrics_reasons *mr)
{
	memset(mr, 0, sizeof(*mr));
	for (size_t i = 0; i < sizeof(known_reasons) / sizeof(known_reasons[0]); i++)
		snprintf(mr->r[mr->n++].reason, METRICS_REASON_LEN, "%s", known_reasons[i]);
}

void
metrics_reason_add(struct metrics_reasons *mr, const char *reason)
{
	int i;

	for (i = 0; i < mr->n; i++)
		if (strncmp(mr->r[i].reason, reason, METRICS_REASON_LEN - 1) == 0)
			break;
	/* The last slot is "other": a run never grows more series than this. */
	if (i == mr->n && mr->n >= METRICS_REASONS - 1) {
		i = METRICS_REASONS - 1;
		reason = "other";
	}
	if (i == mr->n) {
		snprintf(mr->r[i].reason, METRICS_REASON_LEN, "%s", reason);
		mr->n++;
	}
	mr->r[i].n++;
}

/* Commits take a fraction of a millisecond; a stalled disk takes seconds. */
const uint64_t metrics_bucket_us[METRICS_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};

void
metrics_hist_add(struct metrics_hist *h, uint64_t us)
{
	for (int i = 0; i < METRICS_BUCKETS; i++)
		if (us <= metrics_bucket_us[i]) {
			h->bucket[i]++;
			break;
		}
	h->count++;
	h->sum_us += us;
}

/* us as seconds, without trailing zeros: "0.0005", "2.5", "1". buf: 32 bytes. */
static const char *
seconds(char *buf, uint64_t us)
{
	size_t n = (size_t)snprintf(buf, 32, "%llu.%06llu", (unsigned long long)(us / 1000000),
	    (unsigned long long)(us % 1000000));

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/* A label's value, escaped as the format wants: backslash, double quote, newline. */
static void
label_value(FILE *fp, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', fp);
		if (*s == '\n')
			fputs("\\n", fp);
		else
			fputc(*s, fp);
	}
}

static void
family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Where a metric's value is: a STATUS counter, one sample; or a site's, one sample a site. */
enum metric_of {
	OF_STATUS,	/* in struct proto_status */
	OF_SITE,	/* in struct metrics_site */
};

struct metric {
	const char *name, *type;
	enum metric_of of;
	size_t off;
	const char *help;
};

/* The metrics of one value each, in the order the text gives them; the sites' stored last. */
static const struct metric metrics[] = {
	{ "tracetrout_traces_running", "gauge", OF_STATUS,
	  offsetof(struct proto_status, traces_running),
	  "Traces starting or running now." },
	{ "tracetrout_traces_refused_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, traces_refused),
	  "Trace requests the engine refused (not-found, not-local, busy...)." },
	{ "tracetrout_requests_busy_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, busy),
	  "Requests refused busy: by a limit, or the helper overloaded or full." },
	{ "tracetrout_requests_overloaded_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, overload_refused),
	  "New traces refused busy while the helper was overloaded." },
	{ "tracetrout_connections_forbidden_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, forbidden),
	  "Connections to the broker refused by allow-users and allow-groups." },
	{ "tracetrout_probes_sent_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, probes_sent),
	  "Probes the engine sent." },
	{ "tracetrout_replies_matched_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, replies_matched),
	  "Answers matched to a probe: ICMP errors, the visitor's duplicate ACKs." },
	{ "tracetrout_icmp_unmatched_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, icmp_unmatched),
	  "ICMP errors quoting a traced connection but no probe (forged, stray)." },
	{ "tracetrout_icmp_foreign_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, icmp_foreign),
	  "Queued ICMP errors of no running trace, passed on." },
	{ "tracetrout_bad_packets_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, bad_packets),
	  "Queued packets that did not parse, passed on." },
	{ "tracetrout_queue_drops_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, queue_drops),
	  "Packets the kernel dropped, or passed unseen, on the helper's queue." },
	{ "tracetrout_db_errors_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, db_errors),
	  "Failed database writes and failed attempts to open it." },
	{ "tracetrout_lookups_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, enrich_requests),
	  "Hop look-ups (info, reverse DNS) that ended; cached answers not counted." },
	{ "tracetrout_fleet_connected", "gauge", OF_STATUS,
	  offsetof(struct proto_status, fleet_connected),
	  "1 while connected to the fleet's PostgreSQL, schema current; else 0." },
	{ "tracetrout_fleet_traces_waiting", "gauge", OF_STATUS,
	  offsetof(struct proto_status, fleet_waiting),
	  "Traces in the journal that the fleet's PostgreSQL does not have yet." },
	{ "tracetrout_fleet_traces_shipped_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, fleet_shipped),
	  "Traces shipped to the fleet's PostgreSQL." },
	{ "tracetrout_fleet_failures_total", "counter", OF_STATUS,
	  offsetof(struct proto_status, fleet_failures),
	  "Connections to the fleet's PostgreSQL dropped or timed out." },
	{ "tracetrout_site_traces_running", "gauge", OF_SITE,
	  offsetof(struct metrics_site, running),
	  "A site's traces starting or running now." },
	{ "tracetrout_site_traces_ended_total", "counter", OF_SITE,
	  offsetof(struct metrics_site, ended),
	  "A site's traces ended since the helper started." },
	{ "tracetrout_site_traces_refused_total", "counter", OF_SITE,
	  offsetof(struct metrics_site, refused),
	  "A site's trace requests the engine refused." },
	{ "tracetrout_site_traces_stored", "gauge", OF_SITE,
	  offsetof(struct metrics_site, stored),
	  "A site's finished traces in the database." },
};

#define NMETRICS	(sizeof(metrics) / sizeof(metrics[0]))

static void
write_status(FILE *fp, const struct proto_status *st)
{
	for (size_t i = 0; i < NMETRICS; i++) {
		uint64_t v;

		if (metrics[i].of != OF_STATUS)
			continue;
		memcpy(&v, (const char *)st + metrics[i].off, sizeof(v));
		if (v == PROTO_STATUS_UNKNOWN)
			continue;
		family(fp, metrics[i].name, metrics[i].type, metrics[i].help);
		fprintf(fp, "%s %llu\n", metrics[i].name, (unsigned long long)v);
	}
}

static void
write_reasons(FILE *fp, const struct metrics_reasons *mr)
{
	const char *name = "tracetrout_traces_ended_total";

	family(fp, name, "counter", "Traces ended since the helper started, by END's reason.");
	for (int i = 0; i < mr->n; i++) {
		fprintf(fp, "%s{reason=\"", name);
		label_value(fp, mr->r[i].reason);
		fprintf(fp, "\"} %llu\n", (unsigned long long)mr->r[i].n);
	}
}

static void
write_hist(FILE *fp, const char *name, const char *help, const struct metrics_hist *h)
{
	char le[32];
	uint64_t below = 0;

	family(fp, name, "histogram", help);
	for (int i = 0; i < METRICS_BUCKETS; i++) {
		below += h->bucket[i];
		fprintf(fp, "%s_bucket{le=\"%s\"} %llu\n", name, seconds(le, metrics_bucket_us[i]),
		    (unsigned long long)below);
	}
	fprintf(fp, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
	fprintf(fp, "%s_sum %s\n", name, seconds(le, h->sum_us));
	fprintf(fp, "%s_count %llu\n", name, (unsigned long long)h->count);
}

static void
write_sites(FILE *fp, const struct metrics_counts *mc)
{
	/* Without a database nothing is stored: no count rather than a 0 that says otherwise. */
	size_t n = mc->stored_known ? NMETRICS : NMETRICS - 1;

	for (size_t i = 0; mc->nsites > 0 && i < n; i++) {
		const struct metric *sm = &metrics[i];

		if (sm->of != OF_SITE)
			continue;
		family(fp, sm->name, sm->type, sm->help);
		for (size_t j = 0; j < mc->nsites; j++) {
			uint64_t v;

			memcpy(&v, (const char *)&mc->sites[j] + sm->off, sizeof(v));
			fprintf(fp, "%s{site=\"", sm->name);
			label_value(fp, mc->sites[j].name);
			fprintf(fp, "\",uid=\"%u\"} %llu\n", (unsigned)mc->sites[j].uid,
			    (unsigned long long)v);
		}
	}
}

int
metrics_write(FILE *fp, const struct metrics_counts *mc)
{
	char s[32];

	family(fp, "tracetrout_start_time_seconds", "gauge",
	    "When the helper started, in seconds since the epoch.");
	fprintf(fp, "tracetrout_start_time_seconds %s\n", seconds(s, mc->start_ms * 1000));
	write_reasons(fp, &mc->reasons);
	write_status(fp, &mc->st);
	write_hist(fp, "tracetrout_db_commit_duration_seconds",
	    "How long the store's commits took (a batch of the traces' writes, SQLite).",
	    &mc->commit);
	write_sites(fp, mc);
	if (mc->rss_engine != 0 || mc->rss_broker != 0)
		family(fp, "tracetrout_resident_memory_bytes", "gauge",
		    "Resident memory of the helper's processes, in bytes.");
	if (mc->rss_broker != 0)
		fprintf(fp, "tracetrout_resident_memory_bytes{process=\"broker\"} %llu\n",
		    (unsigned long long)mc->rss_broker);
	if (mc->rss_engine != 0)
		fprintf(fp, "tracetrout_resident_memory_bytes{process=\"engine\"} %llu\n",
		    (unsigned long long)mc->rss_engine);
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
}
