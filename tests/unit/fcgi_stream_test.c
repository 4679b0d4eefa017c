/* Ordering and rendering of a trace: broker lines in, exact JSON lines and text out. */
#include <stdlib.h>
#include <string.h>

#include "fcgi_test.h"
#include "proto.h"
#include "render.h"
#include "render_common.h"
#include "stream.h"
#include "tap.h"

#define ID	"0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5"

static struct render_trace trace;

static void
set_trace(const char *client, const char *server)
{
	memset(&trace, 0, sizeof(trace));
	strcpy(trace.id, ID);
	addr_parse(client, &trace.conn.client);
	addr_parse(server, &trace.conn.server);
	trace.conn.cport = 51234;
	trace.conn.sport = 443;
}

/*
 * Feeds broker lines (or "FAIL msg" for a client-side failure) to a stream
 * and returns the status of the last step; the output lands in mb.
 */
static enum stream_status
run(const struct renderer *r, const char *const *lines, struct membuf *mb)
{
	struct out o = mem_out(mb);
	enum stream_status st;
	struct proto_msg m;
	struct stream s;

	stream_init(&s, r, &o, &trace);
	st = stream_begin(&s);
	for (; *lines && st == STREAM_MORE; lines++) {
		if (strncmp(*lines, "FAIL ", 5) == 0) {
			st = stream_fail(&s, *lines + 5);
			continue;
		}
		if (proto_parse(*lines, strlen(*lines), &m) == PROTO_BAD) {
			ok(0, "fixture line parses: %s", *lines);
			break;
		}
		st = stream_feed(&s, &m);
	}
	stream_free(&s);
	return st;
}

/*
 * Cuts text output after its "end:" line: the hop lines and the stop
 * reason are what the stream drives; the statistics and notes after them
 * are the text renderer's own, tested with its golden files.
 */
static const char *
upto_end(struct membuf *mb)
{
	char *end = strstr(mb->buf, "\nend: ");

	if (end && (end = strchr(end + 1, '\n')) != NULL)
		end[1] = '\0';
	return mb->buf;
}

static const char *const example[] = {
	"HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64 reply=192.0.2.1,398,time-exceeded,0,64 reply=192.0.2.1,405,time-exceeded,0,64",
	"HOP ttl=2 sent=3",
	"HOP ttl=3 sent=3 reply=198.51.100.7,1210,destination,0,62",
	"END reason=destination hops=3 duration_us=5120",
	NULL
};

static const char example_json[] =
	"{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412,0.398,0.405]}\n"
	"{\"ttl\":2,\"timeout\":true}\n"
	"{\"ttl\":3,\"ip\":\"198.51.100.7\",\"rtt\":[1.210]}\n";

static const char example_text[] =
	"traceroute to 198.51.100.7 (198.51.100.7) port 51234, from 192.0.2.10 port 443, trace " ID "\n"
	" 1  192.0.2.1  0.412 ms  0.398 ms  0.405 ms\n"
	" 2  * * *\n"
	" 3  198.51.100.7  1.210 ms * *\n"
	"end: reached the visitor; 3 hops in 5.120 ms\n";

static void
test_example(void)
{
	struct membuf mb;

	is_int(run(&render_json, example, &mb), STREAM_DONE, "json: END finishes the stream");
	is_str(mb.buf, example_json, "json: the protocol's example, one line per hop");
	is_int(mb.flushes, 4, "json: a flush per hop and one at END");

	is_int(run(&render_text, example, &mb), STREAM_DONE, "text: END finishes the stream");
	is_str(upto_end(&mb), example_text, "text: traceroute(8) lines, header and the stop reason");
}

/* Hops settle out of order; each line leaves as soon as it and all before it are settled. */
static void
test_order(void)
{
	struct membuf mb;
	struct out o = mem_out(&mb);
	struct proto_msg m;
	struct stream s;
	static const char *const lines[] = {
		"HOP ttl=3 sent=3 reply=198.51.100.7,1210,destination,0,62",
		"HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64 reply=192.0.2.1,398,time-exceeded,0,64 reply=192.0.2.1,405,time-exceeded,0,64",
		"HOP ttl=2 sent=3",
		"END reason=destination hops=3 duration_us=5120",
	};
	size_t after[4];

	stream_init(&s, &render_json, &o, &trace);
	stream_begin(&s);
	for (int i = 0; i < 4; i++) {
		proto_parse(lines[i], strlen(lines[i]), &m);
		stream_feed(&s, &m);
		after[i] = mb.len;
	}
	stream_free(&s);
	is_int(after[0], 0, "ttl 3 first: held, nothing written");
	is_int(after[1], strchr(example_json, '\n') - example_json + 1, "ttl 1: its line only");
	is_int(after[2], strlen(example_json), "ttl 2: releases 2 and the held 3");
	is_int(mb.flushed, mb.len, "everything written was flushed");
	is_str(mb.buf, example_json, "same output as in order");
}

static void
test_json_fields(void)
{
	struct membuf mb;
	static const char *const multi[] = {
		"HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64 reply=192.0.2.2,1500,time-exceeded,0,64 reply=192.0.2.1,7,time-exceeded,0,64",
		"HOP ttl=2 sent=2 reply=192.0.2.9,2000,time-exceeded,0,63 reply=198.51.100.7,2100,destination,0,62",
		"END reason=destination hops=2 duration_us=9000",
		NULL
	};
	static const char *const past[] = {
		"HOP ttl=3 sent=3 reply=198.51.100.7,3000,destination,0,62",
		"HOP ttl=1 sent=1 reply=192.0.2.1,1000,time-exceeded,0,64",
		"HOP ttl=1 sent=1 reply=192.0.2.99,1000,time-exceeded,0,64",
		"HOP ttl=2 sent=1 reply=198.51.100.7,2000,destination,0,62",
		"HOP ttl=4 sent=1 reply=198.51.100.7,4000,destination,0,62",
		"END reason=destination hops=4 duration_us=9000",
		NULL
	};
	static const char *const gap[] = {
		"HOP ttl=1 sent=1 reply=192.0.2.1,1000,time-exceeded,0,64",
		"HOP ttl=4 sent=1 reply=192.0.2.4,4000,time-exceeded,0,61",
		"HOP ttl=3 sent=1 reply=192.0.2.3,3000,time-exceeded,0,62",
		"END reason=max-hops hops=4 duration_us=9000",
		NULL
	};
	static const char *const v6[] = {
		"HOP ttl=1 sent=2 reply=2001:db8::1,250,time-exceeded,0,64 reply=2001:db8::1,1000000,time-exceeded,0,64",
		"HOP ttl=2 sent=1 reply=2001:db8:1::7,1,destination,0,62",
		"END reason=destination hops=2 duration_us=9000",
		NULL
	};

	run(&render_json, multi, &mb);
	is_str(mb.buf,
	    "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412,1.500,0.007],\"ips\":[\"192.0.2.1\",\"192.0.2.2\"]}\n"
	    "{\"ttl\":2,\"ip\":\"198.51.100.7\",\"rtt\":[2.000,2.100],\"ips\":[\"192.0.2.9\",\"198.51.100.7\"]}\n",
	    "several addresses: ip is the first (the visitor where it answered), ips lists all");

	run(&render_json, past, &mb);
	is_str(mb.buf,
	    "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[1.000]}\n"
	    "{\"ttl\":2,\"ip\":\"198.51.100.7\",\"rtt\":[2.000]}\n",
	    "the visitor's hop is the last line; duplicates and hops past it are dropped");

	run(&render_json, gap, &mb);
	is_str(mb.buf,
	    "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[1.000]}\n"
	    "{\"ttl\":2,\"timeout\":true}\n"
	    "{\"ttl\":3,\"ip\":\"192.0.2.3\",\"rtt\":[3.000]}\n"
	    "{\"ttl\":4,\"ip\":\"192.0.2.4\",\"rtt\":[4.000]}\n",
	    "END releases held hops; a ttl never reported shows as a timeout");

	set_trace("2001:db8:1::7", "2001:db8::10");
	run(&render_json, v6, &mb);
	is_str(mb.buf,
	    "{\"ttl\":1,\"ip\":\"2001:db8::1\",\"rtt\":[0.250,1000.000]}\n"
	    "{\"ttl\":2,\"ip\":\"2001:db8:1::7\",\"rtt\":[0.001]}\n",
	    "IPv6, and rtt to the microsecond");
	set_trace("198.51.100.7", "192.0.2.10");
}

static void
test_text_fields(void)
{
	struct membuf mb;
	static const char *const marks[] = {
		"HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64 reply=192.0.2.2,398,time-exceeded,0,64",
		"HOP ttl=2 sent=2 reply=192.0.2.5,1000,packet-too-big,1280,63 reply=192.0.2.5,1001,unreachable,13,63",
		"HOP ttl=3 sent=1 reply=192.0.2.6,1000,unreachable,1,62",
		"END reason=unreachable hops=3 duration_us=2000123",
		NULL
	};
	static const char *const failed[] = {
		"HOP ttl=2 sent=1 reply=192.0.2.6,1000,time-exceeded,0,62",
		"HOP ttl=1 sent=1 reply=192.0.2.1,1000,time-exceeded,0,64",
		"HOP ttl=4 sent=1 reply=192.0.2.6,1000,time-exceeded,0,62",
		"FAIL the tracing helper stopped answering",
		NULL
	};
	static const char *const gap[] = {
		"HOP ttl=2 sent=1 reply=192.0.2.2,1000,time-exceeded,0,62",
		"END reason=no-ack hops=0 duration_us=3000000",
		NULL
	};

	run(&render_text, marks, &mb);
	is_str(strchr(upto_end(&mb), '\n') + 1,
	    " 1  192.0.2.1  0.412 ms 192.0.2.2  0.398 ms *\n"
	    " 2  192.0.2.5  1.000 ms !F-1280  1.001 ms !X\n"
	    " 3  192.0.2.6  1.000 ms !H\n"
	    "end: a router answered destination unreachable; 3 hops in 2000.123 ms\n",
	    "text: address changes, stars, !F-mtu, !X, !H, the stop reason");

	is_int(run(&render_text, failed, &mb), STREAM_DONE, "a failure ends the stream");
	is_str(strchr(mb.buf, '\n') + 1,
	    " 1  192.0.2.1  1.000 ms\n"
	    " 2  192.0.2.6  1.000 ms\n"
	    "error: the tracing helper stopped answering\n",
	    "text: a failure after the head is a line; held hops past a gap are not shown");
	is_int(run(&render_json, failed, &mb), STREAM_DONE, "json: a failure ends the stream");
	is_str(mb.buf,
	    "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[1.000]}\n"
	    "{\"ttl\":2,\"ip\":\"192.0.2.6\",\"rtt\":[1.000]}\n",
	    "json: nothing but hop lines, even on failure");

	run(&render_text, gap, &mb);
	is_str(strchr(upto_end(&mb), '\n') + 1,
	    " 1  *\n"
	    " 2  192.0.2.2  1.000 ms\n"
	    "end: the visitor did not acknowledge the response in time; 0 hops in 3000.000 ms\n",
	    "text: a ttl never reported shows one star; reasons are spelled out");
}

static void
test_errors(void)
{
	struct membuf mb;
	struct out o;
	static const char *const unexpected[] = {
		"HOP ttl=1 sent=1",
		"STARTED id=" ID,
		NULL
	};

	is_int(run(&render_json, unexpected, &mb), STREAM_UNEXPECTED,
	    "a message other than HOP or END is reported to the caller");

	o = mem_out(&mb);
	mb.fail_at = 10;
	{
		struct stream s;
		struct proto_msg m;

		stream_init(&s, &render_json, &o, &trace);
		proto_parse(example[0], strlen(example[0]), &m);
		is_int(stream_feed(&s, &m), STREAM_OUT_FAILED, "a failed write stops the stream");
		stream_free(&s);
	}

	o = mem_out(&mb);
	render_json.error(&o, "a \"quoted\" \\ msg");
	is_str(mb.buf, "{\"error\":\"a \\\"quoted\\\" \\\\ msg\"}\n", "json error body, escaped");
	o = mem_out(&mb);
	render_text.error(&o, "the tracing helper is not running");
	is_str(mb.buf, "error: the tracing helper is not running\n", "text error body");
}

/* Feeds INFO for addr with body (NULL: none) and the given fields line tail. */
static enum stream_status
info(struct stream *s, const char *addr, const char *keys, const char *body, size_t len)
{
	char line[512];
	struct proto_msg m;

	snprintf(line, sizeof(line), "INFO addr=%s len=%zu%s", addr, len, keys);
	if (proto_parse(line, strlen(line), &m) != PROTO_INFO) {
		ok(0, "INFO line parses: %s", line);
		return STREAM_UNEXPECTED;
	}
	return stream_info(s, &m, body, len);
}

static enum stream_status
feed(struct stream *s, const char *line)
{
	struct proto_msg m;

	if (proto_parse(line, strlen(line), &m) == PROTO_BAD) {
		ok(0, "line parses: %s", line);
		return STREAM_UNEXPECTED;
	}
	return stream_feed(s, &m);
}

/* What INFO and NAME give each format, whenever they come, and the table's bounds. */
static void
test_info(void)
{
	static struct membuf mb;
	struct out o = mem_out(&mb);
	struct stream s;
	struct tt_addr a;
	const struct render_info *e;
	const char *body = "{ \"city\" :\n \"Espoo\" }";
	char addr[64], *big;
	size_t before;

	/* Before the hop: on its line. After it: not on it (one line per hop), but kept. */
	stream_init(&s, &render_json, &o, &trace);
	is_int(info(&s, "192.0.2.1", " city=Espoo", body, strlen(body)), STREAM_MORE,
	    "INFO before its hop");
	is_int(feed(&s, "NAME addr=192.0.2.1 name=r1.example.net"), STREAM_MORE, "NAME");
	is_int((int)mb.len, 0, "INFO and NAME write nothing");
	feed(&s, example[0]);
	is_str(mb.buf, "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"host\":\"r1.example.net\","
	    "\"rtt\":[0.412,0.398,0.405],\"info\":{\"city\":\"Espoo\"}}\n",
	    "json: host and info on the hop's line, the body made one line");
	before = mb.len;
	feed(&s, example[1]);
	info(&s, "198.51.100.7", " country=FI", "{\"country\":\"FI\"}", 16);	/* 16 bytes */
	feed(&s, "NAME addr=198.51.100.7 name=visitor.example.net");
	feed(&s, example[2]);
	is_str(mb.buf + before, "{\"ttl\":2,\"timeout\":true}\n{\"ttl\":3,\"ip\":\"198.51.100.7\","
	    "\"host\":\"visitor.example.net\",\"rtt\":[1.210],\"info\":{\"country\":\"FI\"}}\n",
	    "json: the visitor's line too");
	before = mb.len;
	is_int(info(&s, "192.0.2.1", " city=Turku", "{\"city\":\"Turku\"}", 16), STREAM_MORE,
	    "INFO again, after the hop");
	addr_parse("192.0.2.1", &a);
	e = render_info_find(&trace, &a);
	ok(e && strcmp(e->f.city, "Turku") == 0 && strcmp(e->body, "{\"city\":\"Turku\"}") == 0 &&
	    strcmp(e->name, "r1.example.net") == 0 && e->ttl == 1,
	    "a later INFO replaces the earlier one; the name and the hop stay");
	is_int((int)trace.info.bytes, 16 + 16, "the bodies' bytes are counted once each");
	is_int((int)mb.len, (int)before, "json: nothing written for it");
	is_int(feed(&s, example[3]), STREAM_DONE, "END");
	stream_free(&s);
	is_int(trace.info.n, 0, "stream_free empties the table");

	/* A body that is not JSON: the fields are kept, the body is not. Nor is an INFO without one. */
	o = mem_out(&mb);
	stream_init(&s, &render_json, &o, &trace);
	body = "{\"city\":\"Espoo\"}\n{\"ttl\":99}";
	info(&s, "192.0.2.1", " city=Espoo asn=AS64500", body, strlen(body));
	feed(&s, "INFO addr=198.51.100.7 len=2 country=FI");
	feed(&s, example[0]);
	feed(&s, example[2]);
	addr_parse("192.0.2.1", &a);
	e = render_info_find(&trace, &a);
	ok(e && e->info && e->body == NULL && strcmp(e->f.asn, "AS64500") == 0,
	    "a body of two JSON values is refused, the fields kept");
	is_int(trace.info.dropped, 1, "... and counted");
	ok(strstr(mb.buf, "info") == NULL && strstr(mb.buf, "99") == NULL,
	    "json: no info, and nothing of the refused body");
	stream_free(&s);

	/* Text: "name (address)" on the hop's line when known there, details at the end. */
	o = mem_out(&mb);
	stream_init(&s, &render_text, &o, &trace);
	stream_begin(&s);
	feed(&s, "NAME addr=192.0.2.1 name=r1.example.net");
	feed(&s, example[0]);
	feed(&s, example[1]);
	feed(&s, example[2]);
	info(&s, "192.0.2.1", " country=Finland city=Espoo asn=AS64500 org=Example%20Oy", "{}", 2);
	feed(&s, "NAME addr=198.51.100.7 name=visitor.example.net");
	feed(&s, example[3]);
	ok(strstr(mb.buf, "\n 1  r1.example.net (192.0.2.1)  0.412 ms") != NULL &&
	    strstr(mb.buf, "\n 3  198.51.100.7  1.210 ms") != NULL,
	    "text: the name on the hop's line when known by then, else the address");
	ok(strstr(mb.buf, "\nhop  address       details\n"
	    "  1  192.0.2.1     r1.example.net, Espoo, Finland, AS64500 Example Oy\n"
	    "  3  198.51.100.7  visitor.example.net\n") != NULL,
	    "text: the details at the end, in path order, whenever they came");
	stream_free(&s);

	/* More addresses than the table holds: the extras are ignored, the trace goes on. */
	o = mem_out(&mb);
	stream_init(&s, &render_json, &o, &trace);
	for (int i = 0; i < RENDER_INFO_ADDRS + 10; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%x", i + 1);
		if (info(&s, addr, "", "{}", 2) != STREAM_MORE)
			break;
	}
	feed(&s, "NAME addr=192.0.2.1 name=late.example.net");
	is_int(trace.info.n, RENDER_INFO_ADDRS, "the table holds %d addresses", RENDER_INFO_ADDRS);
	is_int(trace.info.dropped, 11, "the rest are counted and ignored");
	addr_parse("2001:db8::1", &a);
	ok(render_info_find(&trace, &a) != NULL, "the first are kept");
	is_int(feed(&s, "NAME addr=2001:db8::1 name=first.example.net"), STREAM_MORE,
	    "an address already in the table is still updated");
	is_int(feed(&s, example[0]), STREAM_MORE, "hops go on");
	stream_free(&s);

	/* Bodies: at most RENDER_INFO_BYTES a trace in all; past it, bodies are left out. */
	o = mem_out(&mb);
	stream_init(&s, &render_json, &o, &trace);
	if ((big = malloc(PROTO_INFO_MAX)) == NULL)
		abort();
	memset(big, 'A', PROTO_INFO_MAX);
	big[0] = big[PROTO_INFO_MAX - 1] = '"';
	for (int i = 0; i < 6; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", i + 1);
		info(&s, addr, "", big, PROTO_INFO_MAX);
	}
	is_int((int)trace.info.bytes, RENDER_INFO_BYTES, "bodies fill the budget exactly");
	is_int(trace.info.dropped, 6 - RENDER_INFO_BYTES / PROTO_INFO_MAX, "the rest are left out");
	addr_parse("192.0.2.6", &a);
	e = render_info_find(&trace, &a);
	ok(e && e->info && e->body == NULL, "... the address keeps its entry, without a body");
	addr_parse("192.0.2.1", &a);
	info(&s, "192.0.2.1", "", "{}", 2);
	is_int((int)trace.info.bytes, RENDER_INFO_BYTES - PROTO_INFO_MAX + 2,
	    "a replaced body gives its bytes back");
	/* A body that grows when compacted (< is \u003c) counts at its grown size. */
	memset(big + 1, '<', PROTO_INFO_MAX - 2);
	stream_free(&s);
	stream_init(&s, &render_json, &o, &trace);
	info(&s, "192.0.2.9", " city=Espoo", big, PROTO_INFO_MAX);
	addr_parse("192.0.2.9", &a);
	e = render_info_find(&trace, &a);
	ok(e && e->body == NULL && strcmp(e->f.city, "Espoo") == 0 && trace.info.bytes == 0 &&
	    trace.info.dropped == 1, "a 1 MiB body of markup (6 MiB as JSON): left out, fields kept");
	free(big);
	stream_free(&s);
	ok(trace.info.bytes == 0 && trace.info.n == 0, "all freed");
}

/* A NAME the parser refuses never reaches the stream: markup in a name is garbage. */
static void
test_bad_names(void)
{
	static const char *const bad[] = {
		"NAME addr=192.0.2.1 name=<script>",
		"NAME addr=192.0.2.1 name=a\"b",
		"NAME addr=192.0.2.1 name=a%20b",
		"NAME addr=192.0.2.1",
		"NAME name=r1.example.net",
		"INFO addr=192.0.2.1 len=1048577",
		"INFO addr=192.0.2.1 len=-1",
		"INFO addr=192.0.2.1",
	};
	struct proto_msg m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(proto_parse(bad[i], strlen(bad[i]), &m), PROTO_BAD, "refused: %s", bad[i]);
}

int
main(void)
{
	set_trace("198.51.100.7", "192.0.2.10");
	test_example();
	test_order();
	test_json_fields();
	test_text_fields();
	test_errors();
	test_info();
	test_bad_names();
	return tap_done();
}
