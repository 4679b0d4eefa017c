/* Tests of common/proto.c: every verb formatted and parsed back, and malformed lines rejected. */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "tap.h"

static enum proto_verb
parse_str(const char *line, struct proto_msg *m)
{
	return proto_parse(line, strlen(line), m);
}

static void
test_trace(void)
{
	static const char *const tuples[][4] = {
		{ "198.51.100.7", "51234", "192.0.2.10", "443" },
		{ "2001:db8::7", "1", "2001:db8::10", "65535" },
	};
	struct proto_trace_req req, back;
	struct proto_msg m;
	char line[PROTO_LINE_MAX + 1], want[256];
	int n;

	for (size_t i = 0; i < sizeof(tuples) / sizeof(tuples[0]); i++) {
		memset(&req, 0, sizeof(req));
		addr_parse(tuples[i][0], &req.client);
		port_parse(tuples[i][1], &req.cport);
		addr_parse(tuples[i][2], &req.server);
		port_parse(tuples[i][3], &req.sport);
		n = proto_fmt_trace(line, sizeof(line), &req);
		snprintf(want, sizeof(want), "TRACE client=%s cport=%s server=%s sport=%s\n",
		    tuples[i][0], tuples[i][1], tuples[i][2], tuples[i][3]);
		is_str(line, want, "TRACE formats (%s)", tuples[i][0]);
		is_int(n, (long long)strlen(want), "TRACE length");
		is_int(proto_parse(line, (size_t)n, &m), PROTO_TRACE, "TRACE parses back");
		back = m.req;
		ok(addr_equal(&back.client, &req.client) && addr_equal(&back.server, &req.server) &&
		    back.cport == req.cport && back.sport == req.sport, "TRACE round trip");
	}

	/* Mapped addresses, any key order, unknown keys ignored, no newline. */
	is_int(parse_str("TRACE sport=80 future=1 server=::ffff:192.0.2.10 cport=4000 "
	    "client=::ffff:198.51.100.7", &m), PROTO_TRACE, "TRACE with mapped addresses");
	is_int(m.req.client.family, AF_INET, "mapped client is IPv4");
	is_int(m.req.server.family, AF_INET, "mapped server is IPv4");
	is_int(m.req.cport, 4000, "cport");
	is_int(m.req.sport, 80, "sport");
}

static void
fill_reply(struct proto_reply *r, const char *from, uint32_t rtt, enum reply_kind k,
    uint32_t code, uint8_t ttl)
{
	memset(r, 0, sizeof(*r));
	addr_parse(from, &r->from);
	r->rtt_us = rtt;
	r->kind = k;
	r->code = code;
	r->reply_ttl = ttl;
}

static void
test_hop(void)
{
	struct proto_hop h;
	struct proto_msg m;
	char line[PROTO_LINE_MAX + 1];
	int n;

	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 3;
	h.nreplies = 4;
	fill_reply(&h.r[0], "192.0.2.1", 412, REPLY_TIME_EXCEEDED, 0, 64);
	fill_reply(&h.r[1], "2001:db8::1", 4294967295u, REPLY_UNREACHABLE, 3, 255);
	fill_reply(&h.r[2], "192.0.2.2", 0, REPLY_PACKET_TOO_BIG, 1400, 0);
	fill_reply(&h.r[3], "198.51.100.7", 1210, REPLY_DESTINATION, 0, 62);
	n = proto_fmt_hop(line, sizeof(line), &h);
	is_str(line, "HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64,0,0,0,-,- "
	    "reply=2001:db8::1,4294967295,unreachable,3,255,0,0,0,-,- "
	    "reply=192.0.2.2,0,packet-too-big,1400,0,0,0,0,-,- "
	    "reply=198.51.100.7,1210,destination,0,62,0,0,0,-,-\n", "HOP formats every kind");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HOP, "HOP parses back");
	is_int(m.hop.ttl, 1, "ttl");
	is_int(m.hop.sent, 3, "sent");
	is_int(m.hop.nreplies, 4, "replies");
	for (int i = 0; i < 4; i++) {
		ok(addr_equal(&m.hop.r[i].from, &h.r[i].from) && m.hop.r[i].rtt_us == h.r[i].rtt_us &&
		    m.hop.r[i].kind == h.r[i].kind && m.hop.r[i].code == h.r[i].code &&
		    m.hop.r[i].reply_ttl == h.r[i].reply_ttl, "reply %d round trip", i);
	}

	/* A silent hop, and the highest TTL. */
	memset(&h, 0, sizeof(h));
	h.ttl = 255;
	h.sent = 16;
	n = proto_fmt_hop(line, sizeof(line), &h);
	is_str(line, "HOP ttl=255 sent=16\n", "silent HOP formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HOP, "silent HOP parses");
	is_int(m.hop.nreplies, 0, "no replies");

	/* Sixteen replies is the limit; formatting fails cleanly when the buffer is short. */
	memset(&h, 0, sizeof(h));
	h.ttl = 2;
	h.sent = 16;
	h.nreplies = PROTO_MAX_REPLIES;
	for (int i = 0; i < PROTO_MAX_REPLIES; i++)
		fill_reply(&h.r[i], "192.0.2.1", 100, REPLY_TIME_EXCEEDED, 0, 64);
	n = proto_fmt_hop(line, sizeof(line), &h);
	ok(n > 0, "16 IPv4 replies fit a line");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HOP, "16 replies parse");
	is_int(m.hop.nreplies, 16, "16 replies");
	is_int(proto_fmt_hop(line, 40, &h), -1, "HOP into a short buffer is -1");
}

static void
test_others(void)
{
	struct proto_msg m, h;
	char line[PROTO_LINE_MAX + 1];
	const char *id = "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5";
	int n;

	memset(&h, 0, sizeof(h));
	memcpy(h.id, id, sizeof(h.id));
	memcpy(h.token, "00112233445566778899aabbccddeeff", sizeof(h.token));
	h.stored = 1;
	h.started_ms = 1764180000123;
	h.addr_mode = PROTO_ADDR_FULL;
	h.retention_s = 2592000;
	n = proto_fmt_started(line, sizeof(line), &h);
	is_str(line, "STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=1 "
	    "token=00112233445566778899aabbccddeeff started_ms=1764180000123 addr=full "
	    "retention_s=2592000\n", "STARTED formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_STARTED, "STARTED parses");
	is_str(m.id, id, "STARTED id round trip");
	is_int(m.stored, 1, "STARTED stored=1");
	is_str(m.token, h.token, "STARTED token round trip");
	ok(m.started_ms == h.started_ms, "STARTED started_ms round trip");
	is_int(m.addr_mode, PROTO_ADDR_FULL, "STARTED addr=full");
	ok(m.retention_s == 2592000, "STARTED retention_s round trip");
	h.stored = 0;
	h.addr_mode = PROTO_ADDR_PREFIX;
	n = proto_fmt_started(line, sizeof(line), &h);
	is_str(line, "STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=0 "
	    "started_ms=1764180000123 addr=prefix retention_s=2592000\n",
	    "STARTED stored=0 formats, without a token: nothing to delete");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_STARTED, "STARTED stored=0 parses");
	is_int(m.stored, 0, "STARTED stored=0");
	is_str(m.token, "", "... no token");
	is_int(m.addr_mode, PROTO_ADDR_PREFIX, "STARTED addr=prefix");
	is_int(parse_str("STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=1 token=xyz", &m),
	    PROTO_BAD, "STARTED with a malformed token is rejected");
	is_int(parse_str("STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 addr=half", &m),
	    PROTO_BAD, "STARTED with an unknown addr= is rejected");
	is_int(parse_str("STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5", &m), PROTO_STARTED,
	    "STARTED without stored= (an older broker)");
	is_int(m.stored, -1, "... stored is -1, not said");
	is_int(parse_str("STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=2", &m), PROTO_BAD,
	    "STARTED stored=2 is rejected");
	is_int(parse_str("STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=", &m), PROTO_BAD,
	    "STARTED stored= empty is rejected");

	n = proto_fmt_end(line, sizeof(line), "destination", 3, 5120, 1);
	is_str(line, "END reason=destination hops=3 duration_us=5120 stored=1\n", "END formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_END, "END parses");
	is_str(m.code, "destination", "END reason");
	is_int(m.hops, 3, "END hops");
	is_int(m.duration_us, 5120, "END duration");
	is_int(m.stored, 1, "END stored=1");
	n = proto_fmt_end(line, sizeof(line), "deadline", 0, 1, 0);
	is_str(line, "END reason=deadline hops=0 duration_us=1 stored=0\n", "END stored=0 formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_END, "END stored=0 parses");
	is_int(m.stored, 0, "END stored=0");
	is_int(parse_str("END reason=closed", &m), PROTO_END, "END without stored=");
	is_int(m.stored, -1, "... stored -1");
	is_int(parse_str("END reason=closed stored=yes", &m), PROTO_BAD, "END stored=yes is rejected");

	n = proto_fmt_error_retry(line, sizeof(line), "busy", 3, "too many traces started");
	is_str(line, "ERROR code=busy retry=3 msg=too_many_traces_started\n", "ERROR with retry formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_ERROR, "ERROR with retry parses");
	is_int(m.retry, 3, "retry=3");
	is_str(m.msg, "too many traces started", "its msg");
	proto_fmt_error_retry(line, sizeof(line), "busy", 0, "x");
	is_str(line, "ERROR code=busy retry=1 msg=x\n", "retry is at least 1");
	is_int(parse_str("ERROR code=busy retry=x msg=y", &m), PROTO_BAD, "retry=x is rejected");
	is_int(parse_str("ERROR code=busy retry=86401", &m), PROTO_BAD, "retry above a day is rejected");
	is_int(parse_str("ERROR code=busy msg=y", &m), PROTO_ERROR, "ERROR without retry");
	is_int(m.retry, 0, "... retry 0");

	n = proto_fmt_error(line, sizeof(line), "not-found",
	    "connection not in conntrack as ESTABLISHED");
	is_str(line, "ERROR code=not-found msg=connection_not_in_conntrack_as_ESTABLISHED\n",
	    "ERROR formats, spaces become _");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_ERROR, "ERROR parses");
	is_str(m.code, "not-found", "ERROR code");
	is_str(m.msg, "connection not in conntrack as ESTABLISHED", "ERROR msg, spaces restored");

	proto_fmt_error(line, sizeof(line), "internal", "a\nb\tc\x01");
	is_str(line, "ERROR code=internal msg=a?b?c?\n", "ERROR msg control bytes become ?");
	is_int(proto_fmt_error(line, 10, "internal", "x"), -1, "ERROR into a short buffer is -1");
	is_int(proto_fmt_started(line, 10, &h), -1, "STARTED into a short buffer is -1");
	is_int(proto_fmt_end(line, 10, "max-hops", 30, 1, 1), -1, "END into a short buffer is -1");
	is_int(proto_fmt_error_retry(line, 10, "busy", 1, "x"), -1,
	    "ERROR retry into a short buffer is -1");

	is_int(parse_str("PING\n", &m), PROTO_PING, "PING");
	is_int(parse_str("PING", &m), PROTO_PING, "PING without newline");
	is_int(parse_str("PONG\n", &m), PROTO_PONG, "PONG");
	is_int(parse_str("TRACETROUT 1\n", &m), PROTO_GREETING, "greeting");
	is_int(m.version, 1, "greeting version");
	is_int(parse_str("TRACETROUT 2", &m), PROTO_GREETING, "a later version parses");
	is_int(m.version, 2, "version 2");
}

static void
test_status(void)
{
	struct proto_status st;
	struct proto_msg m;
	char line[PROTO_LINE_MAX + 1];
	const char *key;
	uint64_t v;
	int n;

	is_int(parse_str("STATUS\n", &m), PROTO_STATUS, "the STATUS request");
	ok(m.status.probes_sent == PROTO_STATUS_UNKNOWN && m.status.uptime_s == PROTO_STATUS_UNKNOWN,
	    "a request carries no counters");

	memset(&st, 0, sizeof(st));
	st.uptime_s = 12;
	st.traces_running = 1;
	st.traces_done = 7;
	st.probes_sent = 123456789012ULL;
	st.replies_matched = 40;
	st.icmp_unmatched = 2;
	st.queue_drops = PROTO_STATUS_UNKNOWN;
	st.db_errors = 3;
	st.overload_refused = 5;
	st.fleet_connected = 1;
	st.fleet_waiting = 4;
	st.fleet_shipped = 900;
	st.fleet_failures = PROTO_STATUS_UNKNOWN;
	n = proto_fmt_status(line, sizeof(line), &st);
	is_str(line, "STATUS uptime_s=12 traces_running=1 traces_done=7 traces_refused=0 busy=0 "
	    "forbidden=0 probes_sent=123456789012 replies_matched=40 icmp_unmatched=2 "
	    "icmp_foreign=0 bad_packets=0 db_errors=3 enrich_requests=0 overload_refused=5 "
	    "fleet_connected=1 fleet_waiting=4 fleet_shipped=900\n",
	    "STATUS formats, an unknown counter left out");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_STATUS, "the answer parses");
	ok(memcmp(&m.status, &st, sizeof(st)) == 0, "every counter round trips");
	n = 0;
	for (size_t i = 0; (key = proto_status_key(i, &st, &v)) != NULL; i++)
		n++;
	is_int(n, 19, "19 counters are named");
	is_str(proto_status_key(0, &st, &v), "uptime_s", "the first is uptime_s");
	is_int(v, 12, "... with its value");
	is_int(parse_str("STATUS later=5 probes_sent=9", &m), PROTO_STATUS, "unknown keys ignored");
	is_int(m.status.probes_sent, 9, "... known ones read");
	is_int(parse_str("STATUS probes_sent=-1", &m), PROTO_BAD, "a negative counter is rejected");
	is_int(parse_str("STATUS probes_sent=18446744073709551615", &m), PROTO_BAD,
	    "the unknown marker itself is rejected");
	is_int(proto_fmt_status(line, 20, &st), -1, "STATUS into a short buffer is -1");
}

static void
test_reject(void)
{
	static const char *const bad[] = {
		"",
		"\n",
		"ping",
		"PING extra",
		"PING ",
		" PING",
		"HELLO",
		"TRACE",
		"TRACE client=198.51.100.7 cport=1 server=192.0.2.1",		/* no sport */
		"TRACE client=198.51.100.7 server=192.0.2.1 sport=80",		/* no cport */
		"TRACE client=198.51.100.7  cport=1 server=192.0.2.1 sport=80",	/* two spaces */
		"TRACE client=198.51.100.7 cport=1 server=192.0.2.1 sport=80 ",	/* trailing space */
		"TRACE client=999.51.100.7 cport=1 server=192.0.2.1 sport=80",
		"TRACE client=example.com cport=1 server=192.0.2.1 sport=80",
		"TRACE client=[2001:db8::1] cport=1 server=2001:db8::2 sport=80",
		"TRACE client=fe80::1%eth0 cport=1 server=fe80::2 sport=80",
		"TRACE client= cport=1 server=192.0.2.1 sport=80",
		"TRACE client=198.51.100.7 cport=1 server=2001:db8::1 sport=80",	/* mixed */
		"TRACE client=198.51.100.7 cport=0 server=192.0.2.1 sport=80",
		"TRACE client=198.51.100.7 cport=65536 server=192.0.2.1 sport=80",
		"TRACE client=198.51.100.7 cport=-1 server=192.0.2.1 sport=80",
		"TRACE client=198.51.100.7 cport=80a server=192.0.2.1 sport=80",
		"TRACE client=198.51.100.7 cport= server=192.0.2.1 sport=80",
		"TRACE client=198.51.100.7 cport=1 server=192.0.2.1 sport=123456789",
		"TRACE client=198.51.100.7\tcport=1 server=192.0.2.1 sport=80",
		"TRACE client=198.51.100.7 cport=1 server=192.0.2.1 sport=80\r",
		"PI\x7fNG",
		"PI\x01NG",
		"PING\xc3\xa9",
		"STARTED",
		"STARTED id=0F3C9A5E1D2B4C6A8E7F90A1B2C3D4E5",
		"STARTED id=0f3c9a5e",
		"STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5ff",
		"STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4eg",
		"HOP ttl=1",
		"HOP sent=1",
		"HOP ttl=0 sent=1",
		"HOP ttl=256 sent=1",
		"HOP ttl=1 sent=17",
		"HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0",
		"HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1",
		"HOP ttl=1 sent=1 reply=192.0.2.1,1,bogus,0,64",
		"HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,256",
		"HOP ttl=1 sent=1 reply=192.0.2.1,-1,time-exceeded,0,64",
		"HOP ttl=1 sent=1 reply=192.0.2.1,4294967296,time-exceeded,0,64",
		"HOP ttl=1 sent=1 reply=host,1,time-exceeded,0,64",
		"HOP ttl=1 sent=1 reply=,1,time-exceeded,0,64",
		"END",
		"END hops=1",
		"END reason=destination hops=x",
		"END reason=0123456789012345678901234567890123456789",
		"ERROR msg=x",
		"TRACETROUT",
		"TRACETROUT x",
		"TRACETROUT 1 2",
	};
	struct proto_msg m;
	char line[PROTO_LINE_MAX * 2], *p;
	size_t base;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(parse_str(bad[i], &m), PROTO_BAD, "rejects \"%s\"", bad[i]);
	is_int(proto_parse(NULL, 0, &m), PROTO_BAD, "rejects NULL");
	is_int(proto_parse("PING\0", 5, &m), PROTO_BAD, "rejects a NUL byte");

	/* 17 replies: one too many. */
	p = line + sprintf(line, "HOP ttl=1 sent=16");
	for (int i = 0; i < PROTO_MAX_REPLIES + 1; i++)
		p += sprintf(p, " reply=192.0.2.1,1,time-exceeded,0,1");
	is_int(parse_str(line, &m), PROTO_BAD, "rejects 17 replies (%zu bytes)", strlen(line));

	/* The longest line: 1023 bytes and its newline; one more is too long. */
	base = (size_t)sprintf(line, "TRACE client=198.51.100.7 cport=1 server=192.0.2.1 sport=80 pad=");
	memset(line + base, 'x', sizeof(line) - base);
	line[PROTO_LINE_MAX - 1] = '\n';
	is_int(proto_parse(line, PROTO_LINE_MAX, &m), PROTO_TRACE,
	    "accepts a 1024-byte line with its newline");
	is_int(proto_parse(line, PROTO_LINE_MAX - 1, &m), PROTO_TRACE,
	    "accepts 1023 bytes without a newline");
	line[PROTO_LINE_MAX - 1] = 'x';
	line[PROTO_LINE_MAX] = '\n';
	is_int(proto_parse(line, PROTO_LINE_MAX + 1, &m), PROTO_BAD,
	    "rejects a 1025-byte line");
	is_int(proto_parse(line, PROTO_LINE_MAX, &m), PROTO_BAD,
	    "rejects 1024 bytes without a newline");
}

/* A TRACE request of 192.0.2.7 port 1 to 192.0.2.10 port 80, in m->req, the rest zero. */
static void
small_trace(struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	addr_parse("192.0.2.7", &m->req.client);
	addr_parse("192.0.2.10", &m->req.server);
	m->req.cport = 1;
	m->req.sport = 80;
}

static void
test_nostore(void)
{
	struct proto_msg m;
	char line[PROTO_LINE_MAX + 1];
	int n;

	small_trace(&m);
	m.req.nostore = 1;
	n = proto_fmt_trace(line, sizeof(line), &m.req);
	is_str(line, "TRACE client=192.0.2.7 cport=1 server=192.0.2.10 sport=80 store=0\n",
	    "TRACE store=0 formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_TRACE, "TRACE store=0 parses");
	is_int(m.req.nostore, 1, "... nostore");
	is_int(parse_str("TRACE client=192.0.2.7 cport=1 server=192.0.2.10 sport=80 store=2", &m),
	    PROTO_BAD, "TRACE store=2 is rejected");
}

/* proxy= in TRACE, STARTED and STORED; SITES and SITE. */
static void
test_proxy_sites(void)
{
	static const char *const bad[] = {
		"TRACE client=192.0.2.7 cport=1 server=192.0.2.10 sport=80 proxy=",
		"TRACE client=192.0.2.7 cport=1 server=192.0.2.10 sport=80 proxy=cdn",
		"TRACE client=192.0.2.7 cport=1 server=192.0.2.10 sport=80 proxy=VIA",
		"STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=0 started_ms=1 addr=full "
		    "retention_s=0 proxy=x-forwarded",
		"SITE uid=33 running=0 done=1 refused=0",
		"SITE uid=33 running=0 done=1 refused=0 stored=x",
		"SITE uid=-1 running=0 done=1 refused=0 stored=0",
		"SITES now",
	};
	struct proto_site site = { 33, 1, 20, 2, 18 };
	struct proto_msg m, h;
	char line[PROTO_LINE_MAX + 1];
	int n;

	small_trace(&m);
	for (enum proto_proxy p = PROTO_PROXY_FORWARDED; p <= PROTO_PROXY_LISTED; p++) {
		m.req.proxy = p;
		n = proto_fmt_trace(line, sizeof(line), &m.req);
		ok(n > 0 && strstr(line, " proxy=") != NULL, "TRACE proxy=%s formats",
		    proto_proxy_name(p));
		memset(&h, 0, sizeof(h));
		is_int(proto_parse(line, (size_t)n, &h), PROTO_TRACE, "... parses");
		is_int(h.req.proxy, p, "... round trip");
	}
	is_str(line, "TRACE client=192.0.2.7 cport=1 server=192.0.2.10 sport=80 proxy=listed\n",
	    "TRACE proxy= comes last");
	m.req.proxy = PROTO_PROXY_NONE;
	proto_fmt_trace(line, sizeof(line), &m.req);
	ok(strstr(line, "proxy") == NULL, "no proxy: no key");

	memset(&h, 0, sizeof(h));
	memcpy(h.id, "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5", PROTO_ID_LEN);
	h.started_ms = 5;
	h.req = m.req;
	h.req.proxy = PROTO_PROXY_XFF;
	n = proto_fmt_started(line, sizeof(line), &h);
	is_str(line, "STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=0 started_ms=5 addr=full "
	    "retention_s=0 proxy=x-forwarded-for\n", "STARTED proxy= formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_STARTED, "... parses");
	is_int(m.req.proxy, PROTO_PROXY_XFF, "... round trip");
	h.req.proxy = PROTO_PROXY_VIA;
	n = proto_fmt_stored(line, sizeof(line), &h);
	is_int(proto_parse(line, (size_t)n, &m), PROTO_STORED, "STORED proxy= parses");
	is_int(m.req.proxy, PROTO_PROXY_VIA, "... round trip");
	snprintf(h.vantage, sizeof(h.vantage), "fra1.example-2_b");
	n = proto_fmt_stored(line, sizeof(line), &h);
	ok(strstr(line, " proxy=via vantage=fra1.example-2_b client=") != NULL,
	    "STORED vantage= formats: %s", line);
	is_int(proto_parse(line, (size_t)n, &m), PROTO_STORED, "... parses");
	is_str(m.vantage, "fra1.example-2_b", "... round trip");
	is_int(parse_str("STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=0 started_ms=5 "
	    "addr=full retention_s=0 vantage=a/b", &m), PROTO_BAD, "a vantage= with a '/' is refused");
	is_int(parse_str("STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=0 started_ms=5 "
	    "addr=full retention_s=0 vantage=", &m), PROTO_BAD, "... an empty one too");
	is_int(parse_str("STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=0 started_ms=5 "
	    "addr=full retention_s=0 vantage=0123456789012345678901234567890123456789012345678901"
	    "234567890123", &m), PROTO_BAD, "... and one of 64 bytes");
	memset(h.vantage, 0, sizeof(h.vantage));

	is_int(parse_str("SITES", &m), PROTO_SITES, "SITES parses");
	n = proto_fmt_site(line, sizeof(line), &site);
	is_str(line, "SITE uid=33 running=1 done=20 refused=2 stored=18\n", "SITE formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_SITE, "SITE parses");
	ok(memcmp(&m.site, &site, sizeof(site)) == 0, "SITE round trip");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(parse_str(bad[i], &m), PROTO_BAD, "rejected: %s", bad[i]);
}

/* The extended reply fields: quoted TTL, size, extension, NAT evidence, MPLS. */
static void
test_reply_ext(void)
{
	struct proto_hop h;
	struct proto_msg m;
	char line[PROTO_LINE_MAX + 1];
	int n;

	memset(&h, 0, sizeof(h));
	h.ttl = 4;
	h.sent = 2;
	h.at_us = 1764180000123456;
	h.nreplies = 2;
	addr_parse("192.0.2.1", &h.r[0].from);
	h.r[0].rtt_us = 1234;
	h.r[0].kind = REPLY_TIME_EXCEEDED;
	h.r[0].reply_ttl = 252;
	h.r[0].quoted_ttl = 1;
	h.r[0].size = 148;
	h.r[0].ext = PROTO_EXT_RFC4884;
	h.r[0].nmpls = 2;
	h.r[0].mpls[0].label = 16005;
	h.r[0].mpls[0].ttl = 1;
	h.r[0].mpls[1].label = 1048575;
	h.r[0].mpls[1].exp = 7;
	h.r[0].mpls[1].s = 1;
	h.r[0].mpls[1].ttl = 255;
	addr_parse("2001:db8::1", &h.r[1].from);
	h.r[1].rtt_us = 99;
	h.r[1].kind = REPLY_UNREACHABLE;
	h.r[1].code = 3;
	h.r[1].reply_ttl = 60;
	h.r[1].quoted_ttl = 2;
	h.r[1].size = 60;
	addr_parse("10.0.0.7", &h.r[1].edst);
	n = proto_fmt_hop(line, sizeof(line), &h);
	is_str(line, "HOP ttl=4 sent=2 at_us=1764180000123456 "
	    "reply=192.0.2.1,1234,time-exceeded,0,252,1,148,2,-,16005/0/0/1+1048575/7/1/255 "
	    "reply=2001:db8::1,99,unreachable,3,60,2,60,0,10.0.0.7,-\n",
	    "HOP with extended replies formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HOP, "... and parses");
	ok(m.hop.at_us == h.at_us, "at_us round trip");
	is_int(m.hop.r[0].quoted_ttl, 1, "quoted TTL");
	is_int(m.hop.r[0].size, 148, "size");
	is_int(m.hop.r[0].ext, PROTO_EXT_RFC4884, "extension kind");
	is_int(m.hop.r[0].nmpls, 2, "two MPLS entries");
	is_int((int)m.hop.r[0].mpls[1].label, 1048575, "the largest label");
	is_int(m.hop.r[0].mpls[1].exp, 7, "exp");
	is_int(m.hop.r[0].mpls[1].s, 1, "bottom of stack");
	is_int(m.hop.r[0].mpls[1].ttl, 255, "entry TTL");
	is_int(m.hop.r[0].edst.family, 0, "no NAT evidence is family 0");
	ok(addr_equal(&m.hop.r[1].edst, &h.r[1].edst), "edst round trip");
	is_int(m.hop.r[1].nmpls, 0, "no labels");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64", &m), PROTO_HOP,
	    "a five-field reply (older brokers) still parses");
	is_int(m.hop.r[0].quoted_ttl, 0, "... with the quoted TTL not known");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,0,-", &m),
	    PROTO_BAD, "nine fields are rejected");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,3,-,-", &m),
	    PROTO_BAD, "an unknown extension kind is rejected");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,2,-,"
	    "1048576/0/0/1", &m), PROTO_BAD, "a label over 20 bits is rejected");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,2,-,"
	    "1/8/0/1", &m), PROTO_BAD, "exp over 3 bits is rejected");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,2,-,"
	    "1/0/0/1+2/0/0/1+3/0/0/1+4/0/0/1+5/0/0/1", &m), PROTO_BAD,
	    "more labels than a reply keeps are rejected");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,2,-,1/0/0", &m),
	    PROTO_BAD, "a label entry of three fields is rejected");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,65536,0,-,-", &m),
	    PROTO_BAD, "a size over 65535 is rejected");
}

/* How a reply was matched: FLAGS after the extended fields, only when any is set. */
static void
test_reply_flags(void)
{
	static const char *const bad[] = {
		"32", "64", "128", "255", "256", "-1", "0x1", "1a", "", "+1", "1+2", "id-changed",
	};
	struct proto_hop h;
	struct proto_msg m;
	char line[PROTO_LINE_MAX + 1], l[256];
	int n;

	memset(&h, 0, sizeof(h));
	h.ttl = 5;
	h.sent = 3;
	h.nreplies = 3;
	fill_reply(&h.r[0], "198.51.100.1", 3210, REPLY_TIME_EXCEEDED, 0, 62);
	h.r[0].flags = PROTO_RF_ID_CHANGED;
	fill_reply(&h.r[1], "198.51.100.7", 5410, REPLY_DESTINATION, 0, 60);
	h.r[1].flags = PROTO_RF_BY_COUNT | PROTO_RF_AMBIGUOUS;
	fill_reply(&h.r[2], "198.51.100.7", 5450, REPLY_DESTINATION, 0, 60);
	n = proto_fmt_hop(line, sizeof(line), &h);
	is_str(line, "HOP ttl=5 sent=3 reply=198.51.100.1,3210,time-exceeded,0,62,0,0,0,-,-,1 "
	    "reply=198.51.100.7,5410,destination,0,60,0,0,0,-,-,12 "
	    "reply=198.51.100.7,5450,destination,0,60,0,0,0,-,-\n",
	    "HOP with flags formats them after MPLS, and none for a reply without");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HOP, "... and parses");
	for (int i = 0; i < 3; i++)
		is_int(m.hop.r[i].flags, h.r[i].flags, "reply %d flags round trip", i);
	h.r[0].flags = PROTO_RF_ALL;
	h.r[0].nmpls = 1;
	h.r[0].mpls[0].label = 16;
	n = proto_fmt_hop(line, sizeof(line), &h);
	ok(strstr(line, ",16/0/0/0,31 ") != NULL, "every flag, after a label stack");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HOP, "... parses");
	is_int(m.hop.r[0].flags, PROTO_RF_ALL, "... every flag back");
	is_int(m.hop.r[0].nmpls, 1, "... and the label");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,0,-,-,0", &m),
	    PROTO_HOP, "an explicit FLAGS of 0 parses");
	is_int(m.hop.r[0].flags, 0, "... as no flags");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,0,-,-", &m),
	    PROTO_HOP, "ten fields (brokers before flags) still parse");
	is_int(m.hop.r[0].flags, 0, "... with no flags");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,2", &m), PROTO_BAD,
	    "six fields are rejected");
	is_int(parse_str("HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,0,-,-,1,1", &m),
	    PROTO_BAD, "twelve fields are rejected");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(l, sizeof(l), "HOP ttl=1 sent=1 reply=192.0.2.1,1,time-exceeded,0,64,1,60,0,"
		    "-,-,%s", bad[i]);
		is_int(parse_str(l, &m), PROTO_BAD, "FLAGS \"%s\" is rejected", bad[i]);
	}
}

/* Stored traces, history and deletion. */
static void
test_history(void)
{
	const char *id = "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5", *tok = "00112233445566778899aabbccddeeff";
	struct proto_msg m, h;
	struct tt_addr a;
	char line[PROTO_LINE_MAX + 1];
	int n;

	n = proto_fmt_get(line, sizeof(line), id);
	is_str(line, "GET id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5\n", "GET formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_GET, "GET parses");
	is_str(m.id, id, "GET id");
	is_int(parse_str("GET id=0F3C9A5E1D2B4C6A8E7F90A1B2C3D4E5", &m), PROTO_BAD,
	    "GET with upper-case hex is rejected");
	is_int(parse_str("GET id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e", &m), PROTO_BAD,
	    "GET with 31 digits is rejected");
	is_int(parse_str("GET", &m), PROTO_BAD, "GET without an id is rejected");
	is_int(parse_str("GET id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5' OR 1=1", &m), PROTO_BAD,
	    "GET with an injection attempt is rejected");

	memset(&h, 0, sizeof(h));
	memcpy(h.id, id, sizeof(h.id));
	memcpy(h.token, tok, sizeof(h.token));	/* never sent with STORED */
	h.stored = 1;
	h.started_ms = 1764180000123;
	h.addr_mode = PROTO_ADDR_PREFIX;
	h.retention_s = 0;
	addr_parse("198.51.100.0", &h.req.client);
	addr_parse("192.0.2.10", &h.req.server);
	h.req.cport = 51234;
	h.req.sport = 443;
	n = proto_fmt_stored(line, sizeof(line), &h);
	is_str(line, "STORED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=1 started_ms=1764180000123 "
	    "addr=prefix retention_s=0 client=198.51.100.0 cport=51234 server=192.0.2.10 sport=443\n",
	    "STORED formats, without the token");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_STORED, "STORED parses");
	ok(addr_equal(&m.req.client, &h.req.client) && m.req.cport == 51234 &&
	    addr_equal(&m.req.server, &h.req.server) && m.req.sport == 443,
	    "STORED connection round trip");
	is_int(m.addr_mode, PROTO_ADDR_PREFIX, "STORED addr=prefix");
	is_int(parse_str("STORED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=1", &m), PROTO_BAD,
	    "STORED without the connection is rejected");

	addr_parse("2001:db8::7", &a);
	n = proto_fmt_history(line, sizeof(line), &a, NULL, 21);
	is_str(line, "HISTORY client=2001:db8::7 limit=21\n", "HISTORY formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HISTORY, "HISTORY parses");
	ok(addr_equal(&m.req.client, &a), "HISTORY client");
	is_int(m.limit, 21, "HISTORY limit");
	is_str(m.id, "", "HISTORY without before=");
	n = proto_fmt_history(line, sizeof(line), &a, id, 5);
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HISTORY, "HISTORY before= parses");
	is_str(m.id, id, "HISTORY before= id");
	is_int(parse_str("HISTORY client=2001:db8::7", &m), PROTO_HISTORY,
	    "HISTORY without limit= parses");
	is_int(m.limit, 20, "... with 20 traces");
	is_int(parse_str("HISTORY client=2001:db8::7 limit=101", &m), PROTO_BAD,
	    "HISTORY limit over the maximum is rejected");
	is_int(parse_str("HISTORY client=2001:db8::7 limit=0", &m), PROTO_BAD,
	    "HISTORY limit=0 is rejected");
	is_int(parse_str("HISTORY limit=5", &m), PROTO_BAD, "HISTORY without client is rejected");
	is_int(parse_str("HISTORY client=2001:db8::7 before=x", &m), PROTO_BAD,
	    "HISTORY with a malformed before= is rejected");

	n = proto_fmt_item(line, sizeof(line), id, 1764180000123, "destination", 3, 2500, NULL, NULL,
	    NULL, "192.0.2.1,*,198.51.100.1+198.51.100.2,2001:db8::7");
	is_str(line, "ITEM id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 started_ms=1764180000123 "
	    "reason=destination hops=3 duration_us=2500 "
	    "path=192.0.2.1,*,198.51.100.1+198.51.100.2,2001:db8::7\n", "ITEM formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_ITEM, "ITEM parses");
	is_str(m.code, "destination", "ITEM reason");
	is_int(m.hops, 3, "ITEM hops");
	ok(m.path_len == 49 && memcmp(m.path, "192.0.2.1,*,", 12) == 0, "ITEM path points into the line");
	proto_fmt_item(line, sizeof(line), id, 1, "no-ack", 0, 0, NULL, NULL, NULL, "");
	is_int(parse_str("ITEM id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 reason=x path=-", &m), PROTO_ITEM,
	    "ITEM with no hops, path=-, parses");
	/* A hop only late answers came from: "*", then their addresses (clients before it read them too). */
	is_int(parse_str("ITEM id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 reason=x "
	    "path=192.0.2.1,*+203.0.113.3+2001:db8::3,*", &m), PROTO_ITEM,
	    "ITEM with a hop answered late only parses");
	ok(m.path_len == 37 && memcmp(m.path, "192.0.2.1,*+203.0.113.3+2001:db8::3,*", 37) == 0,
	    "... its path whole");
	is_int(parse_str("ITEM id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 reason=x path=<b>", &m), PROTO_BAD,
	    "ITEM with markup in the path is rejected");
	is_int(parse_str("ITEM id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 reason=x", &m), PROTO_BAD,
	    "ITEM without a path is rejected");

	n = proto_fmt_list(line, sizeof(line), 1);
	is_str(line, "LIST more=1\n", "LIST formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_LIST, "LIST parses");
	is_int(m.more, 1, "LIST more");
	is_int(parse_str("LIST more=2", &m), PROTO_BAD, "LIST more=2 is rejected");

	n = proto_fmt_delete(line, sizeof(line), id, tok);
	is_str(line, "DELETE id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 token=00112233445566778899aabbccddeeff\n",
	    "DELETE formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_DELETE, "DELETE parses");
	is_str(m.token, tok, "DELETE token");
	is_int(parse_str("DELETE id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5", &m), PROTO_BAD,
	    "DELETE without a token is rejected");
	n = proto_fmt_deleted(line, sizeof(line), id);
	is_int(proto_parse(line, (size_t)n, &m), PROTO_DELETED, "DELETED parses");
	is_str(m.id, id, "DELETED id");
}

/* Enrichment: INFO with its fields, NAME, and the TRACE keys that ask for them. */
static void
test_enrich(void)
{
	struct proto_info f;
	struct proto_msg m;
	struct tt_addr a;
	char line[PROTO_LINE_MAX + 1];
	int n;

	memset(&f, 0, sizeof(f));
	snprintf(f.country, sizeof(f.country), "United States");
	snprintf(f.city, sizeof(f.city), "100%% <Mountain=View>");
	snprintf(f.asn, sizeof(f.asn), "AS15169");
	addr_parse("2001:db8::1", &a);
	n = proto_fmt_info(line, sizeof(line), &a, 123, &f);
	is_str(line, "INFO addr=2001:db8::1 len=123 country=United%20States "
	    "city=100%25%20<Mountain%3DView> asn=AS15169\n", "INFO formats, values percent-encoded");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_INFO, "INFO parses");
	ok(addr_equal(&m.addr, &a) && m.info_len == 123, "INFO addr and len");
	is_str(m.info.country, "United States", "INFO country decoded");
	is_str(m.info.city, "100% <Mountain=View>", "INFO city decoded");
	is_str(m.info.org, "", "INFO without org");
	is_int(parse_str("INFO addr=192.0.2.1 len=1048577", &m), PROTO_BAD, "INFO len over 1 MiB");
	is_int(parse_str("INFO addr=192.0.2.1", &m), PROTO_BAD, "INFO without len");
	is_int(parse_str("INFO addr=192.0.2.1 len=1 city=%00", &m), PROTO_BAD, "INFO with a NUL");
	is_int(parse_str("INFO addr=192.0.2.1 len=1 city=%4", &m), PROTO_BAD, "INFO with a cut escape");
	memset(&f, 'x', sizeof(f));
	f.country[sizeof(f.country) - 1] = f.city[0] = f.asn[0] = f.org[0] = '\0';
	n = proto_fmt_info(line, sizeof(line), &a, 0, &f);
	is_int(proto_parse(line, (size_t)n, &m), PROTO_INFO, "INFO with a country of 63 bytes");

	n = proto_fmt_name(line, sizeof(line), &a, "r1.example.net");
	is_str(line, "NAME addr=2001:db8::1 name=r1.example.net\n", "NAME formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_NAME, "NAME parses");
	is_str(m.name, "r1.example.net", "NAME name");
	is_int(proto_fmt_name(line, sizeof(line), &a, "<script>"), -1, "a name with markup is refused");
	is_int(proto_fmt_name(line, sizeof(line), &a, ""), -1, "an empty name is refused");
	is_int(parse_str("NAME addr=192.0.2.1 name=a\"b", &m), PROTO_BAD, "NAME with a quote");

	small_trace(&m);
	m.req.nonames = 1;
	m.req.wait = 1;
	n = proto_fmt_trace(line, sizeof(line), &m.req);
	is_str(line, "TRACE client=192.0.2.7 cport=1 server=192.0.2.10 sport=80 names=0 wait=1\n",
	    "TRACE names=0 wait=1 formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_TRACE, "... and parses");
	ok(m.req.nonames == 1 && m.req.wait == 1 && m.req.nostore == 0, "... nonames, wait");
}

/* A silent hop's remembered router: reused=ADDR,AGE_MS, only on a hop without replies. */
static void
test_reused(void)
{
	struct proto_hop h;
	struct proto_msg m;
	struct tt_addr r;
	char line[PROTO_LINE_MAX + 1];
	int n;

	memset(&h, 0, sizeof(h));
	h.ttl = 2;
	h.sent = 2;
	h.at_us = 1764180000123456;
	addr_parse("203.0.113.2", &h.reused);
	h.reused_age_ms = 3012;
	n = proto_fmt_hop(line, sizeof(line), &h);
	is_str(line, "HOP ttl=2 sent=2 at_us=1764180000123456 reused=203.0.113.2,3012\n",
	    "reused: a silent hop with a remembered router formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_HOP, "reused: ... and parses");
	ok(addr_equal(&m.hop.reused, &h.reused) && m.hop.reused_age_ms == 3012 && m.hop.nreplies == 0,
	    "reused: round trip");
	is_int(parse_str("HOP ttl=2 sent=3 reused=2001:db8:ff::2,0", &m), PROTO_HOP,
	    "reused: IPv6, 0 ms old");
	addr_parse("2001:db8:ff::2", &r);
	ok(addr_equal(&m.hop.reused, &r) && m.hop.reused_age_ms == 0, "reused: ... read");
	is_int(parse_str("HOP ttl=2 sent=3", &m), PROTO_HOP, "reused: a hop without it");
	is_int(m.hop.reused.family, 0, "reused: ... has none (family 0)");
	is_int(parse_str("HOP ttl=2 sent=3 reused=203.0.113.2,3600000", &m), PROTO_HOP,
	    "reused: an hour old at most");
	h.nreplies = 1;
	addr_parse("192.0.2.1", &h.r[0].from);
	h.r[0].kind = REPLY_TIME_EXCEEDED;
	proto_fmt_hop(line, sizeof(line), &h);
	ok(strstr(line, "reused=") == NULL, "reused: never written on a hop with a reply");
	static const char *const bad[] = {
		"HOP ttl=2 sent=3 reused=203.0.113.2",
		"HOP ttl=2 sent=3 reused=203.0.113.2,",
		"HOP ttl=2 sent=3 reused=203.0.113.2,3600001",
		"HOP ttl=2 sent=3 reused=203.0.113.2,-1",
		"HOP ttl=2 sent=3 reused=host,12",
		"HOP ttl=2 sent=3 reused=203.0.113.2,12,1",
		"HOP ttl=2 sent=3 reused=203.0.113.2,12 reply=192.0.2.1,1,time-exceeded,0,64",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(parse_str(bad[i], &m), PROTO_BAD, "reused: rejected: %s", bad[i]);
}

/* fuzz_proto's seeds (make-seeds.py) parse as the verbs their names say. */
static void
test_seeds(void)
{
	static const struct {
		const char *name;
		enum proto_verb verb;
	} seeds[] = {
		{ "greeting", PROTO_GREETING }, { "trace4", PROTO_TRACE }, { "trace6", PROTO_TRACE },
		{ "trace-nostore", PROTO_TRACE }, { "started", PROTO_STARTED },
		{ "started-token", PROTO_STARTED }, { "hop", PROTO_HOP }, { "hop-ext", PROTO_HOP },
		{ "hop-flags", PROTO_HOP }, { "hop-late", PROTO_HOP }, { "hop-reused", PROTO_HOP }, { "end", PROTO_END },
		{ "error", PROTO_ERROR }, { "get", PROTO_GET }, { "stored", PROTO_STORED },
		{ "history", PROTO_HISTORY }, { "item", PROTO_ITEM }, { "item-late", PROTO_ITEM },
		{ "list", PROTO_LIST }, { "delete", PROTO_DELETE },
	};
	struct proto_msg m;

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		size_t len;
		char *line = tap_seed("proto", seeds[i].name, &len);

		is_int(line ? (long long)proto_parse(line, len, &m) : -1, seeds[i].verb,
		    "seed %s: parses as its verb", seeds[i].name);
		free(line);
	}
}

/* Trace ids and delete tokens: the one check the parser and the app's routes share. */
static void
test_id(void)
{
	static const char *const bad[] = {
		"", "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e",		/* 31 digits */
		"0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5f",		/* 33 */
		"0F3C9A5E1D2B4C6A8E7F90A1B2C3D4E5",		/* upper case */
		"0f3c9a5e1d2b4c6a8e7f90a1b2c3d4eg", "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e/",
		"0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e:", "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e`",
		" f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5",
	};
	const char *id = "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5";
	char nul[PROTO_ID_LEN] = "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e";	/* its last byte NUL */
	struct proto_msg m;

	ok(proto_id_ok(id, PROTO_ID_LEN), "32 lowercase hex digits are an id");
	ok(proto_id_ok("0123456789abcdef0123456789abcdef/delete", PROTO_ID_LEN),
	    "only n bytes are looked at");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!proto_id_ok(bad[i], strlen(bad[i])), "not an id: \"%s\"", bad[i]);
	ok(!proto_id_ok(nul, sizeof(nul)), "not an id: a NUL in it");
	is_int(proto_parse("GET id=0F3C9A5E1D2B4C6A8E7F90A1B2C3D4E5\n", 40, &m), PROTO_BAD,
	    "the parser takes the same ids: GET with an upper-case id is refused");
}

/* QUERY, an operator's search (docs/query.md): its filters round trip; ITEM's client= and site=. */
static void
test_query(void)
{
	static const char *const bad[] = {
		"QUERY visitor=10.0.0.0/33",
		"QUERY visitor=2001:db8::/129",
		"QUERY visitor=10.0.0.0/",
		"QUERY visitor=10.0.0.0/8/8",
		"QUERY hop=example.com",
		"QUERY as=0",
		"QUERY as=4294967296",
		"QUERY as=AS64500",
		"QUERY country=",
		"QUERY country=%zz",
		"QUERY reason=no_ack",
		"QUERY reason=abcdefghijabcdefghijabcdefghijab",
		"QUERY site=a/b",
		"QUERY vantage=a+b",
		"QUERY changed=2",
		"QUERY count=yes",
		"QUERY limit=0",
		"QUERY limit=1001",
		"QUERY before=xyz",
		"QUERY since_ms=-1",
		"QUERY colour=red",
	};
	struct proto_msg m;
	struct proto_query q;
	char line[PROTO_LINE_MAX + 1], a[ADDR_STRLEN];
	int n;

	is_int(parse_str("QUERY", &m), PROTO_QUERY, "QUERY alone: every trace");
	ok(m.query.visitor_bits == -1 && m.query.hop_bits == -1 && m.query.limit == 20 &&
	    !m.query.count && !m.query.changed && m.id[0] == '\0', "... no filter, limit 20");

	memset(&q, 0, sizeof(q));
	addr_parse("198.51.100.0", &q.visitor);
	q.visitor_bits = 24;
	addr_parse("2001:db8:77::", &q.hop);
	q.hop_bits = 48;
	q.since_ms = 1764180000000;
	q.until_ms = 1764266400000;
	q.asn = 64500;
	snprintf(q.country, sizeof(q.country), "United States");
	snprintf(q.reason, sizeof(q.reason), "destination");
	snprintf(q.site, sizeof(q.site), "shop");
	snprintf(q.vantage, sizeof(q.vantage), "fra1");
	q.changed = true;
	q.count = true;
	q.limit = 1000;
	n = proto_fmt_query(line, sizeof(line), &q, "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5");
	is_str(line, "QUERY limit=1000 visitor=198.51.100.0/24 hop=2001:db8:77::/48 "
	    "since_ms=1764180000000 until_ms=1764266400000 as=64500 reason=destination site=shop "
	    "vantage=fra1 changed=1 count=1 before=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 "
	    "country=United%20States\n", "QUERY formats every filter, the country percent-encoded");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_QUERY, "... and parses");
	ok(addr_equal(&m.query.visitor, &q.visitor) && m.query.visitor_bits == 24 &&
	    addr_equal(&m.query.hop, &q.hop) && m.query.hop_bits == 48 &&
	    m.query.since_ms == q.since_ms && m.query.until_ms == q.until_ms &&
	    m.query.asn == 64500 && strcmp(m.query.country, "United States") == 0 &&
	    strcmp(m.query.reason, "destination") == 0 && strcmp(m.query.site, "shop") == 0 &&
	    strcmp(m.query.vantage, "fra1") == 0 && m.query.changed && m.query.count &&
	    m.query.limit == 1000 && strcmp(m.id, "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5") == 0,
	    "... every filter round trips");
	is_int(parse_str("QUERY visitor=192.0.2.7 hop=2001:db8::1", &m), PROTO_QUERY,
	    "an address alone is a prefix of all its bits");
	ok(m.query.visitor_bits == 32 && m.query.hop_bits == 128, "... /32 and /128");
	is_int(parse_str("QUERY visitor=0.0.0.0/0", &m), PROTO_QUERY, "/0 is every address");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(parse_str(bad[i], &m), PROTO_BAD, "%s is rejected", bad[i]);

	n = proto_fmt_item(line, sizeof(line), "0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5", 1, "destination",
	    1, 10, "fra1", "198.51.100.7", "shop", "198.51.100.7");
	is_str(line, "ITEM id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 started_ms=1 reason=destination "
	    "hops=1 duration_us=10 vantage=fra1 client=198.51.100.7 site=shop path=198.51.100.7\n",
	    "a QUERY's ITEM names the visitor and the site");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_ITEM, "... and parses");
	ok(m.has_client && strcmp(addr_format(&m.req.client, a), "198.51.100.7") == 0 &&
	    strcmp(m.site_name, "shop") == 0, "... client and site read");
	n = proto_fmt_count(line, sizeof(line), 1234567);
	is_str(line, "COUNT n=1234567\n", "COUNT formats");
	is_int(proto_parse(line, (size_t)n, &m), PROTO_COUNT, "... parses");
	ok(m.count == 1234567, "... its number");
	is_int(parse_str("COUNT n=x", &m), PROTO_BAD, "COUNT n=x is rejected");
}

int
main(void)
{
	test_trace();
	test_hop();
	test_others();
	test_status();
	test_reject();
	test_reply_ext();
	test_reply_flags();
	test_reused();
	test_history();
	test_nostore();
	test_enrich();
	test_proxy_sites();
	test_seeds();
	test_id();
	test_query();
	return tap_done();
}
