/*
 * Tests of the metrics' pure parts (helper/broker/metrics.c, metrics_http.c):
 * the text made from fixed counters, byte for byte, and the HTTP requests a
 * scraper, a browser, a confused client or an attacker sends.
 */
#define _GNU_SOURCE	/* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "metrics_http.h"
#include "tap.h"

/* metrics_write's text for mc; the caller frees it. */
static char *
text_of(const struct metrics_counts *mc, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return NULL;
	*rc = metrics_write(fp, mc);
	fclose(fp);
	return buf;
}

/* A helper that ran a while: every counter a different number, so that none is swapped. */
static void
fixed_counts(struct metrics_counts *mc, struct metrics_site *sites)
{
	static const uint64_t commits_us[] = { 120, 500, 501, 3000, 3000000 };

	memset(mc, 0, sizeof(*mc));
	mc->st = (struct proto_status){
		.uptime_s = 3605, .traces_running = 1, .traces_done = 5, .traces_refused = 7,
		.busy = 3, .forbidden = 2, .probes_sent = 10240, .replies_matched = 9311,
		.icmp_unmatched = 4, .icmp_foreign = 12, .bad_packets = 6,
		.queue_drops = PROTO_STATUS_UNKNOWN, .db_errors = 8, .enrich_requests = 42,
		.overload_refused = 9, .fleet_connected = PROTO_STATUS_UNKNOWN,
		.fleet_waiting = PROTO_STATUS_UNKNOWN, .fleet_shipped = PROTO_STATUS_UNKNOWN,
		.fleet_failures = PROTO_STATUS_UNKNOWN,
	};
	metrics_reasons_init(&mc->reasons);
	for (int i = 0; i < 3; i++)
		metrics_reason_add(&mc->reasons, "destination");
	metrics_reason_add(&mc->reasons, "gap-limit");
	metrics_reason_add(&mc->reasons, "cancelled");
	for (size_t i = 0; i < sizeof(commits_us) / sizeof(commits_us[0]); i++)
		metrics_hist_add(&mc->commit, commits_us[i]);
	sites[0] = (struct metrics_site){ 33, "www-data", 1, 4, 7, 398 };
	sites[1] = (struct metrics_site){ 1001, "odd\"na\\me", 0, 1, 0, 12 };
	mc->sites = sites;
	mc->nsites = 2;
	mc->stored_known = true;
	mc->start_ms = 1764180000123;
	mc->rss_engine = 2342912;
	mc->rss_broker = 6815744;
}

static const char want_text[] =
	"# HELP tracetrout_start_time_seconds When the helper started, in seconds since the epoch.\n"
	"# TYPE tracetrout_start_time_seconds gauge\n"
	"tracetrout_start_time_seconds 1764180000.123\n"
	"# HELP tracetrout_traces_ended_total Traces ended since the helper started, by END's reason.\n"
	"# TYPE tracetrout_traces_ended_total counter\n"
	"tracetrout_traces_ended_total{reason=\"destination\"} 3\n"
	"tracetrout_traces_ended_total{reason=\"max-hops\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"gap-limit\"} 1\n"
	"tracetrout_traces_ended_total{reason=\"deadline\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"budget\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"closed\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"unreachable\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"no-segment\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"buffered\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"no-rules\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"no-ack\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"engine-down\"} 0\n"
	"tracetrout_traces_ended_total{reason=\"cancelled\"} 1\n"
	"# HELP tracetrout_traces_running Traces starting or running now.\n"
	"# TYPE tracetrout_traces_running gauge\n"
	"tracetrout_traces_running 1\n"
	"# HELP tracetrout_traces_refused_total Trace requests the engine refused (not-found, not-local, busy...).\n"
	"# TYPE tracetrout_traces_refused_total counter\n"
	"tracetrout_traces_refused_total 7\n"
	"# HELP tracetrout_requests_busy_total Requests refused busy: by a limit, or the helper overloaded or full.\n"
	"# TYPE tracetrout_requests_busy_total counter\n"
	"tracetrout_requests_busy_total 3\n"
	"# HELP tracetrout_requests_overloaded_total New traces refused busy while the helper was overloaded.\n"
	"# TYPE tracetrout_requests_overloaded_total counter\n"
	"tracetrout_requests_overloaded_total 9\n"
	"# HELP tracetrout_connections_forbidden_total Connections to the broker refused by allow-users and allow-groups.\n"
	"# TYPE tracetrout_connections_forbidden_total counter\n"
	"tracetrout_connections_forbidden_total 2\n"
	"# HELP tracetrout_probes_sent_total Probes the engine sent.\n"
	"# TYPE tracetrout_probes_sent_total counter\n"
	"tracetrout_probes_sent_total 10240\n"
	"# HELP tracetrout_replies_matched_total Answers matched to a probe: ICMP errors, the visitor's duplicate ACKs.\n"
	"# TYPE tracetrout_replies_matched_total counter\n"
	"tracetrout_replies_matched_total 9311\n"
	"# HELP tracetrout_icmp_unmatched_total ICMP errors quoting a traced connection but no probe (forged, stray).\n"
	"# TYPE tracetrout_icmp_unmatched_total counter\n"
	"tracetrout_icmp_unmatched_total 4\n"
	"# HELP tracetrout_icmp_foreign_total Queued ICMP errors of no running trace, passed on.\n"
	"# TYPE tracetrout_icmp_foreign_total counter\n"
	"tracetrout_icmp_foreign_total 12\n"
	"# HELP tracetrout_bad_packets_total Queued packets that did not parse, passed on.\n"
	"# TYPE tracetrout_bad_packets_total counter\n"
	"tracetrout_bad_packets_total 6\n"
	"# HELP tracetrout_db_errors_total Failed database writes and failed attempts to open it.\n"
	"# TYPE tracetrout_db_errors_total counter\n"
	"tracetrout_db_errors_total 8\n"
	"# HELP tracetrout_lookups_total Hop look-ups (info, reverse DNS) that ended; cached answers not counted.\n"
	"# TYPE tracetrout_lookups_total counter\n"
	"tracetrout_lookups_total 42\n"
	"# HELP tracetrout_db_commit_duration_seconds How long the store's commits took (a batch of the traces' writes, SQLite).\n"
	"# TYPE tracetrout_db_commit_duration_seconds histogram\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.0005\"} 2\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.001\"} 3\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.0025\"} 3\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.005\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.01\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.025\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.05\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.1\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.25\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"0.5\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"1\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"2.5\"} 4\n"
	"tracetrout_db_commit_duration_seconds_bucket{le=\"+Inf\"} 5\n"
	"tracetrout_db_commit_duration_seconds_sum 3.004121\n"
	"tracetrout_db_commit_duration_seconds_count 5\n"
	"# HELP tracetrout_site_traces_running A site's traces starting or running now.\n"
	"# TYPE tracetrout_site_traces_running gauge\n"
	"tracetrout_site_traces_running{site=\"www-data\",uid=\"33\"} 1\n"
	"tracetrout_site_traces_running{site=\"odd\\\"na\\\\me\",uid=\"1001\"} 0\n"
	"# HELP tracetrout_site_traces_ended_total A site's traces ended since the helper started.\n"
	"# TYPE tracetrout_site_traces_ended_total counter\n"
	"tracetrout_site_traces_ended_total{site=\"www-data\",uid=\"33\"} 4\n"
	"tracetrout_site_traces_ended_total{site=\"odd\\\"na\\\\me\",uid=\"1001\"} 1\n"
	"# HELP tracetrout_site_traces_refused_total A site's trace requests the engine refused.\n"
	"# TYPE tracetrout_site_traces_refused_total counter\n"
	"tracetrout_site_traces_refused_total{site=\"www-data\",uid=\"33\"} 7\n"
	"tracetrout_site_traces_refused_total{site=\"odd\\\"na\\\\me\",uid=\"1001\"} 0\n"
	"# HELP tracetrout_site_traces_stored A site's finished traces in the database.\n"
	"# TYPE tracetrout_site_traces_stored gauge\n"
	"tracetrout_site_traces_stored{site=\"www-data\",uid=\"33\"} 398\n"
	"tracetrout_site_traces_stored{site=\"odd\\\"na\\\\me\",uid=\"1001\"} 12\n"
	"# HELP tracetrout_resident_memory_bytes Resident memory of the helper's processes, in bytes.\n"
	"# TYPE tracetrout_resident_memory_bytes gauge\n"
	"tracetrout_resident_memory_bytes{process=\"broker\"} 6815744\n"
	"tracetrout_resident_memory_bytes{process=\"engine\"} 2342912\n";

static void
test_text(void)
{
	struct metrics_site sites[2];
	struct metrics_counts mc;
	char *text;
	int rc = -1;

	fixed_counts(&mc, sites);
	text = text_of(&mc, &rc);
	is_int(rc, 0, "metrics_write succeeds");
	is_str(text, want_text, "the whole text, byte for byte");
	free(text);

	/* A fleet, no site yet, no database's counts, memory not known. */
	mc.st.fleet_connected = 1;
	mc.st.fleet_waiting = 17;
	mc.st.fleet_shipped = 400;
	mc.st.fleet_failures = 2;
	mc.st.queue_drops = 0;
	mc.nsites = 0;
	mc.rss_engine = mc.rss_broker = 0;
	text = text_of(&mc, &rc);
	ok(text != NULL && strstr(text, "\ntracetrout_fleet_connected 1\n") != NULL &&
	    strstr(text, "\ntracetrout_fleet_traces_waiting 17\n") != NULL &&
	    strstr(text, "\ntracetrout_fleet_traces_shipped_total 400\n") != NULL &&
	    strstr(text, "\ntracetrout_fleet_failures_total 2\n") != NULL,
	    "a fleet's four counters when it has one");
	ok(text != NULL && strstr(text, "# TYPE tracetrout_fleet_connected gauge\n") != NULL &&
	    strstr(text, "# TYPE tracetrout_fleet_traces_shipped_total counter\n") != NULL,
	    "... typed");
	ok(text != NULL && strstr(text, "\ntracetrout_queue_drops_total 0\n") != NULL,
	    "queue drops when they are known, 0 included");
	ok(text != NULL && strstr(text, "tracetrout_site_") == NULL,
	    "no site families without a site");
	ok(text != NULL && strstr(text, "tracetrout_resident_memory_bytes") == NULL,
	    "no memory family when neither process's is known");
	free(text);

	mc.nsites = 1;
	mc.stored_known = false;
	text = text_of(&mc, &rc);
	ok(text != NULL && strstr(text, "tracetrout_site_traces_running{site=\"www-data\"") != NULL &&
	    strstr(text, "tracetrout_site_traces_stored") == NULL,
	    "without a database, no stored count per site");
	free(text);
}

static void
test_counting(void)
{
	struct metrics_reasons mr;
	struct metrics_hist h;
	char reason[16];
	int known;

	metrics_reasons_init(&mr);
	known = mr.n;
	ok(known == 12 && strcmp(mr.r[0].reason, "destination") == 0 && mr.r[0].n == 0,
	    "the documented reasons, at 0 (%d)", known);
	for (int i = 0; i < 40; i++) {
		snprintf(reason, sizeof(reason), "odd-%d", i);
		metrics_reason_add(&mr, reason);
	}
	metrics_reason_add(&mr, "destination");
	metrics_reason_add(&mr, "odd-0");
	is_int(mr.n, METRICS_REASONS, "40 reasons never seen: the table stops at %d", METRICS_REASONS);
	is_str(mr.r[METRICS_REASONS - 1].reason, "other", "the last series is \"other\"");
	is_int(mr.r[METRICS_REASONS - 1].n, 40 - (METRICS_REASONS - 1 - known),
	    "... counting the reasons that found no room");
	ok(mr.r[0].n == 1 && mr.r[known].n == 2, "known and early reasons still count alone");

	memset(&h, 0, sizeof(h));
	metrics_hist_add(&h, 0);
	metrics_hist_add(&h, 500);
	metrics_hist_add(&h, 2500000);
	metrics_hist_add(&h, 2500001);
	ok(h.bucket[0] == 2 && h.bucket[METRICS_BUCKETS - 1] == 1 && h.count == 4 &&
	    h.sum_us == 5000501, "a bucket holds its upper bound; above the last, +Inf only");
}

/* The requests: what each asks for, whole and when it came a byte at a time. */
static void
test_requests(void)
{
	static char big[METRICS_REQUEST_MAX + 16];
	static const char scrape[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9470\r\n"
	    "User-Agent: Prometheus/2.42.0\r\nAccept: application/openmetrics-text;version=1.0.0,"
	    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
	static const struct {
		const char *what, *req;
		enum metrics_req want;
		bool head;
	} cases[] = {
		{ "Prometheus's scrape", scrape, METRICS_REQ_GET, false },
		{ "HTTP/1.0, bare LFs", "GET /metrics HTTP/1.0\n\n", METRICS_REQ_GET, false },
		{ "a query string", "GET /metrics?x=1 HTTP/1.1\r\n\r\n", METRICS_REQ_GET, false },
		{ "a body is not read", "GET /metrics HTTP/1.1\r\n\r\n\x01\x02", METRICS_REQ_GET, false },
		{ "HEAD", "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", METRICS_REQ_HEAD, true },
		{ "POST", "POST /metrics HTTP/1.1\r\nX: 0\r\n\r\n", METRICS_REQ_BAD_METHOD, false },
		{ "lower-case get", "get /metrics HTTP/1.1\r\n\r\n", METRICS_REQ_BAD_METHOD, false },
		{ "the root", "GET / HTTP/1.1\r\n\r\n", METRICS_REQ_NOT_FOUND, false },
		{ "a longer path", "GET /metricsx HTTP/1.1\r\n\r\n", METRICS_REQ_NOT_FOUND, false },
		{ "a path below", "GET /metrics/x HTTP/1.1\r\n\r\n", METRICS_REQ_NOT_FOUND, false },
		{ "HEAD elsewhere", "HEAD /x HTTP/1.1\r\n\r\n", METRICS_REQ_NOT_FOUND, true },
		{ "an absolute URI", "GET http://h/metrics HTTP/1.1\r\n\r\n", METRICS_REQ_NOT_FOUND, false },
		{ "HTTP/2's preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", METRICS_REQ_BAD, false },
		{ "HTTP/0.9", "GET /metrics\r\n\r\n", METRICS_REQ_BAD, false },
		{ "two spaces", "GET  /metrics HTTP/1.1\r\n\r\n", METRICS_REQ_BAD, false },
		{ "no token", "G(T /metrics HTTP/1.1\r\n\r\n", METRICS_REQ_BAD, false },
		{ "no colon", "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", METRICS_REQ_BAD, false },
		{ "blank before :", "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", METRICS_REQ_BAD, false },
		{ "an empty line first", "\r\nGET /metrics HTTP/1.1\r\n\r\n", METRICS_REQ_BAD, false },
		{ "a TLS hello", "\x16\x03\x01\x02\x31\x01\x02\x2d\x03\x03", METRICS_REQ_BAD, false },
		{ "the broker's protocol", "STATUS\n", METRICS_REQ_BAD, false },
		{ "half a request line", "GET /metr", METRICS_REQ_MORE, false },
		{ "no blank line yet", "GET /metrics HTTP/1.1\r\nHost: x\r\n", METRICS_REQ_MORE, false },
	};
	static const char nul[] = "GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	enum metrics_req r;
	bool head;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = metrics_request_parse(cases[i].req, strlen(cases[i].req), &head);
		ok(r == cases[i].want && head == cases[i].head, "%s: %d (got %d)", cases[i].what,
		    (int)cases[i].want, (int)r);
	}
	ok(metrics_request_parse(nul, sizeof(nul) - 1, &head) == METRICS_REQ_BAD,
	    "a NUL in a header: bad");

	/* A good request a byte at a time: more, more, ... then GET at its last byte only. */
	{
		size_t len = strlen(scrape), early = 0;

		for (size_t n = 1; n < len; n++)
			early += metrics_request_parse(scrape, n, &head) != METRICS_REQ_MORE;
		ok(early == 0 && metrics_request_parse(scrape, len, &head) == METRICS_REQ_GET,
		    "a scrape a byte at a time: nothing decided before its blank line (%zu)", early);
	}
	/* A head that never ends: 431 once the buffer is full, not before. */
	memcpy(big, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
	memset(big + 30, 'a', sizeof(big) - 30);
	ok(metrics_request_parse(big, METRICS_REQUEST_MAX - 1, &head) == METRICS_REQ_MORE,
	    "an endless header: more, one byte short of the limit");
	ok(metrics_request_parse(big, METRICS_REQUEST_MAX, &head) == METRICS_REQ_TOO_LARGE,
	    "... too large at %d bytes", METRICS_REQUEST_MAX);
	memcpy(big + METRICS_REQUEST_MAX - 4, "\r\n\r\n", 4);
	ok(metrics_request_parse(big, METRICS_REQUEST_MAX, &head) == METRICS_REQ_GET,
	    "a head of exactly %d bytes is taken", METRICS_REQUEST_MAX);
}

static void
test_responses(void)
{
	char buf[512];
	int n;

	n = metrics_response_head(buf, sizeof(buf), METRICS_REQ_GET, 1234);
	is_str(n > 0 ? buf : "", "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "Content-Length: 1234\r\nConnection: close\r\n\r\n", "200's head");
	is_int(n, (int)strlen(buf), "... its length");
	n = metrics_response_head(buf, sizeof(buf), METRICS_REQ_BAD_METHOD,
	    strlen(metrics_error_body(METRICS_REQ_BAD_METHOD)));
	is_str(n > 0 ? buf : "", "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 32\r\n"
	    "Allow: GET, HEAD\r\nConnection: close\r\n\r\n", "405's head, with Allow");
	is_str(metrics_error_body(METRICS_REQ_BAD_METHOD), "method not allowed: GET or HEAD\n",
	    "... and its body");
	n = metrics_response_head(buf, sizeof(buf), METRICS_REQ_NOT_FOUND, 0);
	ok(n > 0 && strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24) == 0, "404");
	n = metrics_response_head(buf, sizeof(buf), METRICS_REQ_TOO_LARGE, 0);
	ok(n > 0 && strncmp(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46) == 0,
	    "431");
	n = metrics_response_head(buf, sizeof(buf), METRICS_REQ_BAD, 0);
	ok(n > 0 && strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "400");
	is_str(metrics_error_body(METRICS_REQ_GET), "", "200 has no error body");
	is_int(metrics_response_head(buf, 20, METRICS_REQ_GET, 1), -1, "a head that does not fit: -1");
}

int
main(void)
{
	test_text();
	test_counting();
	test_requests();
	test_responses();
	return tap_done();
}
