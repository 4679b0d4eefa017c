/*
 * The output formats as pure functions: broker conversations from
 * tests/golden/NAME.broker go through fcgi/stream.c into memory and must match
 * tests/golden/<fixture>.<format> byte for byte. TT_UPDATE_GOLDEN=1 writes
 * the goldens instead (review every one by eye before committing it).
 * Also: the Atlas output checked against PRODUCT.md's field list by
 * atlas_check.py, escaping, the statistics and the page assets.
 */
#define _GNU_SOURCE	/* memmem */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "assets.h"
#include "fcgi_test.h"
#include "history_render.h"
#include "hopstats.h"
#include "html.h"
#include "proto.h"
#include "render.h"
#include "render_common.h"
#include "stream.h"
#include "tap.h"

#ifndef TT_TOP_SRCDIR
#define TT_TOP_SRCDIR "."
#endif

static const struct renderer *const formats[] = {
	&render_json, &render_text, &render_atlas, &render_html,
};

static const char *const fixtures[] = {
	"v4-plain", "v6-plain", "silent", "unreachable", "ptb", "mpls", "nat", "escape-fail",
	"escape-end", "info-cached", "info-late", "info-markup", "info-stored", "proxy", "buffered",
	"norules", "flags-nat", "flags-firewall", "late", "reused", "fleet",
};

static char golden[1024];	/* the goldens' directory */
static char scratch[] = "/tmp/tt-render-XXXXXX";
static int updating;

static void
find_golden(void)
{
	const char *d = getenv("TT_GOLDEN_DIR"), *top = getenv("top_srcdir");

	if (d)
		snprintf(golden, sizeof(golden), "%s", d);
	else
		snprintf(golden, sizeof(golden), "%s/tests/golden", top ? top : TT_TOP_SRCDIR);
}

static int
spill(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (fwrite(buf, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/*
 * The page inlines the stylesheet and the script; the goldens hold a marker
 * in their place, so a change to web/ does not rewrite every HTML golden.
 * Returns out with each asset's bytes replaced by "@NAME@" (malloc'd).
 */
static char *
assets_marked(const char *out, size_t len, size_t *nlen)
{
	static const char *const names[] = { "tracetrout.css", "tracetrout.js" };
	char *buf = malloc(len + 1), *p;
	size_t n = len;

	if (buf == NULL)
		abort();
	memcpy(buf, out, len);
	buf[len] = '\0';
	for (size_t i = 0; i < 2; i++) {
		const struct asset *a = asset_find(names[i]);
		char mark[32];
		size_t m = (size_t)snprintf(mark, sizeof(mark), "@%s@", names[i]);

		if (a == NULL || a->len < m)
			abort();
		while ((p = memmem(buf, n, a->body, a->len)) != NULL) {
			memcpy(p, mark, m);
			memmove(p + m, p + a->len, n - (size_t)(p - buf) - a->len + 1);
			n -= a->len - m;
		}
	}
	*nlen = n;
	return buf;
}

/* Compares out with the golden file NAME, or writes it when updating. */
static void
check_golden(const char *name, const char *raw, size_t rawlen)
{
	char path[1200];
	size_t glen = 0, i, line = 1, bol = 0, len;
	char *g, *out = assets_marked(raw, rawlen, &len);

	snprintf(path, sizeof(path), "%s/%s", golden, name);
	if (updating) {
		ok(spill(path, out, len) == 0, "%s: golden written", name);
		free(out);
		return;
	}
	if ((g = tap_slurp(path, &glen)) == NULL) {
		ok(0, "%s: golden readable (%s); TT_UPDATE_GOLDEN=1 writes it", name,
		    strerror(errno));
		free(out);
		return;
	}
	for (i = 0; i < len && i < glen && out[i] == g[i]; i++)
		if (out[i] == '\n') {
			line++;
			bol = i + 1;
		}
	if (!ok(i == len && i == glen, "%s: output matches the golden byte for byte", name)) {
		const char *ge = strchr(g + bol, '\n');
		const char *oe = memchr(out + bol, '\n', len - bol);

		printf("#   first difference at byte %zu, line %zu\n", i, line);
		printf("#   want: %.*s\n", ge ? (int)(ge - g - bol) : (int)(glen - bol), g + bol);
		printf("#   got:  %.*s\n", oe ? (int)(oe - out - bol) : (int)(len - bol), out + bol);
	}
	free(g);
	free(out);
}

/* Expands \xHH and \\ in a fixture's FAIL message. */
static void
unescape(const char *s, char *d, size_t len)
{
	size_t n = 0;

	while (*s && n + 1 < len) {
		if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
			char hex[3] = { s[2], s[3], '\0' };

			d[n++] = (char)strtol(hex, NULL, 16);
			s += 4;
		} else if (s[0] == '\\' && s[1] == '\\') {
			d[n++] = '\\';
			s += 2;
		} else
			d[n++] = *s++;
	}
	d[n] = '\0';
}

/* One fixture line at a time: NULL at the end. The caller frees the buffer. */
static char *
next_line(char **cur)
{
	char *l = *cur, *e;

	if (l == NULL || *l == '\0')
		return NULL;
	if ((e = strchr(l, '\n')) != NULL) {
		*e = '\0';
		*cur = e + 1;
	} else
		*cur = l + strlen(l);
	return l;
}

static char prefix_buf[256];

/*
 * Plays fixture NAME through renderer r into mb. Every status must be
 * MORE until the last; whatever a feed writes must be flushed at once.
 * An INFO line is followed by its body, exactly as the broker sends it:
 * len bytes (newlines included), then '\n'.
 */
static int
play(const char *name, const struct renderer *r, struct membuf *mb)
{
	char path[1200], msg[512], *text, *cur, *l;
	struct render_trace t;
	struct proto_msg m;
	struct stream s;
	struct out o = mem_out(mb);
	enum stream_status st = STREAM_MORE;
	int started = 0, unflushed = 0;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s.broker", golden, name);
	if ((cur = text = tap_slurp(path, &len)) == NULL) {
		ok(0, "%s: fixture readable", path);
		return -1;
	}
	memset(&t, 0, sizeof(t));
	t.prefix = "";
	while ((l = next_line(&cur)) != NULL && st == STREAM_MORE) {
		if (l[0] == '#' || l[0] == '\0')
			continue;
		if (strncmp(l, "@token ", 7) == 0)
			snprintf(t.token, sizeof(t.token), "%s", l + 7);
		else if (strncmp(l, "@prefix ", 8) == 0) {
			snprintf(prefix_buf, sizeof(prefix_buf), "%s", l + 8);
			t.prefix = prefix_buf;
		} else if (strcmp(l, "@live") == 0)
			t.live = true;
		else if (strcmp(l, "@unstored") == 0)
			t.unstored = true;
		else if (strncmp(l, "@server ", 8) == 0)
			t.server = render_server_kind(l + 8);
		else if (strncmp(l, "FAIL ", 5) == 0) {
			unescape(l + 5, msg, sizeof(msg));
			st = stream_fail(&s, msg);
		} else if (proto_parse(l, strlen(l), &m) == PROTO_STORED) {
			memcpy(t.id, m.id, sizeof(t.id));
			t.conn = m.req;
			t.started_ms = m.started_ms;
			t.addr_mode = m.addr_mode;
			t.retention_s = m.retention_s;
			memcpy(t.vantage, m.vantage, sizeof(t.vantage));
			stream_init(&s, r, &o, &t);
			st = stream_begin(&s);
			out_flush(&o);	/* as trace.c does, with the head */
			started = 1;
		} else if (started && m.verb == PROTO_INFO) {
			/* The body follows as the broker sends it: len bytes, then '\n'. */
			if ((size_t)(text + len - cur) < m.info_len + 1 || cur[m.info_len] != '\n') {
				ok(0, "%s: INFO body of %zu bytes and its newline", name, m.info_len);
				st = STREAM_UNEXPECTED;
				break;
			}
			st = stream_info(&s, &m, cur, m.info_len);
			cur += m.info_len + 1;
		} else if (started && m.verb != PROTO_BAD) {
			st = stream_feed(&s, &m);
		} else {
			ok(0, "%s: fixture line parses: %s", name, l);
			st = STREAM_UNEXPECTED;
		}
		if (mb->flushed != mb->len)
			unflushed++;
	}
	if (started)
		stream_free(&s);
	free(text);
	if (!ok(st == STREAM_DONE && unflushed == 0, "%s.%s: the stream ends, every write flushed",
	    name, r->name))
		printf("#   status %d, %d steps left bytes unflushed\n", st, unflushed);
	return st == STREAM_DONE ? 0 : -1;
}

static int have_python;

/* Runs atlas_check.py KIND on a file; skips when python3 is not there. */
static void
pycheck(const char *kind, const char *what, const char *out, size_t len)
{
	char file[300], cmd[1600];
	const char *top = getenv("top_srcdir");
	int rc;

	if (!have_python) {
		printf("ok %d - # SKIP %s: %s check (no python3)\n", ++tap_n, what, kind);
		return;
	}
	snprintf(file, sizeof(file), "%s/out", scratch);
	if (spill(file, out, len) < 0) {
		ok(0, "%s: scratch file written", what);
		return;
	}
	snprintf(cmd, sizeof(cmd), "python3 '%s/tests/unit/atlas_check.py' %s '%s'",
	    top ? top : TT_TOP_SRCDIR, kind, file);
	fflush(stdout);
	rc = system(cmd);
	ok(rc == 0, "%s: %s check passes", what, kind);
}

static void
test_goldens(void)
{
	static struct membuf mb;
	char name[128];

	for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
			const struct renderer *r = formats[i];

			if (play(fixtures[f], r, &mb) < 0)
				continue;
			snprintf(name, sizeof(name), "%s.%s", fixtures[f], r->name);
			check_golden(name, mb.buf, mb.len);
			/* Atlas has no fields for names or places: INFO and NAME change nothing. */
			if (r == &render_atlas && strncmp(fixtures[f], "info-", 5) == 0)
				ok(strstr(mb.buf, "example") == NULL && strstr(mb.buf, "info") == NULL &&
				    strstr(mb.buf, "host") == NULL, "%s: no names, no info", name);
			/*
			 * The hostile service's markup stays text: no element in the page
			 * or the JSON (plain text shows it as it is), no escape sequence.
			 */
			if (strcmp(fixtures[f], "info-markup") == 0)
				ok(strchr(mb.buf, '\x1b') == NULL && (r == &render_text ||
				    (strstr(mb.buf, "<script>alert") == NULL &&
				    strstr(mb.buf, "<img") == NULL && strstr(mb.buf, "<b>") == NULL)),
				    "%s: no markup from the service, no raw ESC", name);
			if (r == &render_atlas)
				pycheck("atlas", name, mb.buf, mb.len);
			else if (r == &render_json)
				pycheck("jsonl", name, mb.buf, mb.len);
			else if (r == &render_html)
				pycheck("html", name, mb.buf, mb.len);
		}
	}
}

/* The body of an error response, in every format, with markup in the message. */
static void
test_errors(void)
{
	static struct membuf mb;
	const char *msg = "the tracing helper is <b>not</b> running & \"won't\" start\x01";
	char name[64];

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct out o = mem_out(&mb);

		is_int(formats[i]->error(&o, msg), 0, "%s: error body written", formats[i]->name);
		snprintf(name, sizeof(name), "error.%s", formats[i]->name);
		check_golden(name, mb.buf, mb.len);
		if (formats[i] == &render_html)
			pycheck("html", name, mb.buf, mb.len);
		else if (formats[i] != &render_text)
			pycheck("json", name, mb.buf, mb.len);
	}
}

/* A hop row leaves as soon as it is settled: the page shows it before the next one comes. */
static void
test_streaming(void)
{
	static struct membuf mb;
	struct out o = mem_out(&mb);
	struct render_trace t;
	struct proto_msg m;
	struct stream s;
	const char *hop1 = "HOP ttl=1 sent=1 at_us=1764180000131000 "
	    "reply=192.0.2.1,412,time-exceeded,0,64,1,56,0,-,-";
	size_t before;

	memset(&t, 0, sizeof(t));
	addr_parse("198.51.100.7", &t.conn.client);
	addr_parse("192.0.2.10", &t.conn.server);
	t.live = true;
	stream_init(&s, &render_html, &o, &t);
	stream_begin(&s);
	before = mb.len;
	ok(strstr(mb.buf, "<tbody>\n") != NULL && mb.buf[mb.len - 1] == '\n',
	    "html: begin opens the table body");
	proto_parse(hop1, strlen(hop1), &m);
	is_int(stream_feed(&s, &m), STREAM_MORE, "html: hop 1 fed");
	ok(mb.len > before && strcmp(mb.buf + mb.len - 6, "</tr>\n") == 0 &&
	    mb.flushed == mb.len, "html: its row is written whole and flushed");
	ok(strstr(mb.buf + before, "data-at=\"1764180000131000\"") != NULL,
	    "html: the row carries when the hop settled");
	stream_free(&s);

	/* Atlas closes the document even when the trace breaks off before any hop. */
	o = mem_out(&mb);
	memset(&t, 0, sizeof(t));
	addr_parse("198.51.100.7", &t.conn.client);
	addr_parse("192.0.2.10", &t.conn.server);
	stream_init(&s, &render_atlas, &o, &t);
	stream_begin(&s);
	stream_fail(&s, "the tracing helper failed");
	is_str(mb.buf, "{\"fw\":5000,\"af\":4,\"dst_addr\":\"198.51.100.7\",\"src_addr\":"
	    "\"192.0.2.10\",\"proto\":\"TCP\",\"timestamp\":0,\"type\":\"traceroute\","
	    "\"paris_id\":0,\"size\":1,\"result\":[],\"err\":\"the tracing helper failed\"}\n",
	    "atlas: a failure with no hop is still one JSON document");
	pycheck("atlas", "atlas failure with no hop", mb.buf, mb.len);
	stream_free(&s);
}

static void
test_escaping(void)
{
	static struct membuf mb;
	struct out o;

	o = mem_out(&mb);
	json_str(&o, "a\"b\\c\n\x01\x7f \xc3\xa9 \xff \xed\xa0\x80 \xc0\x80 \xf4\x90\x80\x80 "
	    "\xf0\x9f\x90\x9f");
	is_str(mb.buf, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f \xc3\xa9 \\ufffd \\ufffd\\ufffd\\ufffd "
	    "\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\\ufffd \xf0\x9f\x90\x9f\"",
	    "json: quotes, backslash, controls escaped; bad UTF-8 (stray, surrogate, overlong, "
	    "past U+10FFFF) replaced; good UTF-8 kept");
	o = mem_out(&mb);
	html_str(&o, "<a href=\"x\" title='y'>&amp;</a>\t\n\x01\xff\xc3\xa9");
	is_str(mb.buf, "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;\t\n"
	    "\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9", "html: & < > \" ' escaped, controls and bad "
	    "UTF-8 replaced");
	o = mem_out(&mb);
	text_safe(&o, "ok \x1b[31m\x7f\xc2\x9b\xc3\xa9\xff\n");
	is_str(mb.buf, "ok ?[31m???\xc3\xa9??", "text: C0, DEL, C1 and bad UTF-8 become ?");
}

/* INFO bodies: one JSON value, checked and made one line, or refused. */
static void
test_json_compact(void)
{
	static const struct {
		const char *in, *out;	/* out NULL: refused */
		enum json_check r;
	} cases[] = {
		{ "{\"city\":\"Mountain View\"}", "{\"city\":\"Mountain View\"}", JSON_OK },
		{ " {\n\t\"a\" : [ 1 , 2.5e-3 , -0 , true , false , null ] ,\r\n \"b\":{} }\n",
		    "{\"a\":[1,2.5e-3,-0,true,false,null],\"b\":{}}", JSON_OK },
		{ "\"x\"", "\"x\"", JSON_OK },
		{ "42", "42", JSON_OK },
		{ "[]", "[]", JSON_OK },
		{ "{\"k\":\"a b\\n\\u00e9\\\"\\/\"}", "{\"k\":\"a b\\n\\u00e9\\\"\\/\"}", JSON_OK },
		{ "[\"<b>&\"]", "[\"\\u003cb\\u003e\\u0026\"]", JSON_OK },
		{ "[\"\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9\x7f\xff\"]",
		    "[\"\\u2028\\u2029\xc3\xa9\\u007f\\ufffd\"]", JSON_OK },
		{ "", NULL, JSON_BAD },
		{ "   ", NULL, JSON_BAD },
		{ "{}{}", NULL, JSON_BAD },
		{ "{} x", NULL, JSON_BAD },
		{ "[1,]", NULL, JSON_BAD },
		{ "{\"a\":1,}", NULL, JSON_BAD },
		{ "{\"a\" 1}", NULL, JSON_BAD },
		{ "{1:2}", NULL, JSON_BAD },
		{ "[01]", NULL, JSON_BAD },
		{ "[1.]", NULL, JSON_BAD },
		{ "[.5]", NULL, JSON_BAD },
		{ "[1e]", NULL, JSON_BAD },
		{ "[+1]", NULL, JSON_BAD },
		{ "[tru]", NULL, JSON_BAD },
		{ "[nulll]", NULL, JSON_BAD },
		{ "[\"a\nb\"]", NULL, JSON_BAD },		/* a raw newline in a string */
		{ "[\"a\tb\"]", NULL, JSON_BAD },
		{ "[\"\\x\"]", NULL, JSON_BAD },
		{ "[\"\\u12\"]", NULL, JSON_BAD },
		{ "[\"abc", NULL, JSON_BAD },
		{ "[\"abc\\", NULL, JSON_BAD },
		{ "{\"a\":", NULL, JSON_BAD },
		{ "[1", NULL, JSON_BAD },
		{ "]", NULL, JSON_BAD },
		{ "[}", NULL, JSON_BAD },
		{ "{]", NULL, JSON_BAD },
		{ "'a'", NULL, JSON_BAD },
	};
	char deep[2 * (JSON_DEPTH_MAX + 1) + 1], *out;
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum json_check r = json_compact(cases[i].in, strlen(cases[i].in), 1024, &out, &n);

		if (cases[i].out)
			ok(r == JSON_OK && out && n == strlen(out) && strcmp(out, cases[i].out) == 0,
			    "json_compact %zu: %s", i, out ? out : "(refused)");
		else
			ok(r == cases[i].r && out == NULL && n == 0, "json_compact %zu refuses it (%d)",
			    i, r);
		free(out);
	}
	/* The limit is on what it becomes: < grows to \u003c. */
	ok(json_compact("\"<<\"", 4, 14, &out, &n) == JSON_OK && n == 14, "json_compact: "
	    "exactly the limit");
	free(out);
	ok(json_compact("\"<<\"", 4, 13, &out, &n) == JSON_BIG && out == NULL,
	    "json_compact: over the limit once compacted: refused, nothing allocated");
	/* A NUL inside is a control byte, not the end. */
	ok(json_compact("[\"a\0\"]", 6, 1024, &out, &n) == JSON_BAD && out == NULL,
	    "json_compact: a NUL byte in a string is refused");
	ok(json_compact("{}\0", 3, 1024, &out, &n) == JSON_BAD, "json_compact: a NUL after the value too");
	for (int d = JSON_DEPTH_MAX; d <= JSON_DEPTH_MAX + 1; d++) {
		memset(deep, '[', (size_t)d);
		memset(deep + d, ']', (size_t)d);
		deep[2 * d] = '\0';
		is_int(json_compact(deep, strlen(deep), 1024, &out, &n), d > JSON_DEPTH_MAX ? JSON_DEEP :
		    JSON_OK, "json_compact: %d nested arrays %s", d, d > JSON_DEPTH_MAX ?
		    "refused" : "kept");
		free(out);
	}
	/* Objects and arrays mixed at the limit: the stack of kinds is kept right. */
	{
		char mix[JSON_DEPTH_MAX * 6 + 1];
		size_t k = 0;

		for (int d = 0; d < JSON_DEPTH_MAX; d++)
			k += (size_t)sprintf(mix + k, d % 2 ? "[" : "{\"k\":");
		for (int d = JSON_DEPTH_MAX - 1; d >= 0; d--)
			mix[k++] = d % 2 ? ']' : '}';
		mix[k] = '\0';
		ok(json_compact(mix, k, 1024, &out, &n) == JSON_OK && n == k,
		    "json_compact: objects in arrays in objects, %d deep", JSON_DEPTH_MAX);
		free(out);
		mix[k - 1] = ']';
		ok(json_compact(mix, k, 1024, &out, &n) == JSON_BAD, "... and a wrong closer refused");
	}
}

/* History pages from HISTORY answers: ITEM lines, @client, @prefix, @page. */
static void
test_history(const char *name)
{
	static struct history_item items[8];
	static struct membuf mb;
	static const struct renderer *const hf[] = { &render_json, &render_text, &render_html };
	char path[1200], gname[128], *text, *cur, *l;
	struct history_view v;
	struct proto_msg m;
	int n = 0, page = 8;
	size_t len;

	memset(&v, 0, sizeof(v));
	v.prefix = "";
	snprintf(path, sizeof(path), "%s/%s.broker", golden, name);
	if ((cur = text = tap_slurp(path, &len)) == NULL) {
		ok(0, "%s: fixture readable", path);
		return;
	}
	while ((l = next_line(&cur)) != NULL) {
		if (l[0] == '#' || l[0] == '\0')
			continue;
		if (strncmp(l, "@client ", 8) == 0)
			addr_parse(l + 8, &v.client);
		else if (strncmp(l, "@prefix ", 8) == 0) {
			snprintf(prefix_buf, sizeof(prefix_buf), "%s", l + 8);
			v.prefix = prefix_buf;
		} else if (strncmp(l, "@page ", 6) == 0)
			page = atoi(l + 6);
		else if (proto_parse(l, strlen(l), &m) == PROTO_ITEM && n < 8) {
			struct history_item *it = &items[n++];

			memset(it, 0, sizeof(*it));
			memcpy(it->id, m.id, sizeof(it->id));
			it->started_ms = m.started_ms;
			snprintf(it->reason, sizeof(it->reason), "%s", m.code);
			it->hops = m.hops;
			it->duration_us = m.duration_us;
			memcpy(it->vantage, m.vantage, sizeof(it->vantage));
			snprintf(it->path, sizeof(it->path), "%.*s", (int)m.path_len, m.path);
		} else if (m.verb == PROTO_LIST)
			v.more = m.more;
		else
			ok(0, "%s: fixture line parses: %s", name, l);
	}
	free(text);
	v.items = items;
	v.nitems = n < page ? n : page;
	v.older = n > page ? &items[page] : NULL;
	for (size_t i = 0; i < sizeof(hf) / sizeof(hf[0]); i++) {
		struct out o = mem_out(&mb);

		is_int(history_render(&o, hf[i], &v), 0, "%s.%s: written", name, hf[i]->name);
		snprintf(gname, sizeof(gname), "%s.%s", name, hf[i]->name);
		check_golden(gname, mb.buf, mb.len);
		if (hf[i] == &render_json)
			pycheck("history", gname, mb.buf, mb.len);
		else if (hf[i] == &render_html)
			pycheck("html", gname, mb.buf, mb.len);
	}
	is_str(history_content_type(&render_html), "text/html; charset=utf-8", "history: html type");
	is_str(history_content_type(&render_text), "text/plain; charset=utf-8", "history: text type");
	is_str(history_content_type(&render_json), "application/json", "history: json type");
}

static void
test_hopstats(void)
{
	struct proto_hop h;
	struct hopstats s;
	char b[32];

	memset(&h, 0, sizeof(h));
	h.ttl = 1;
	h.sent = 3;
	h.nreplies = 2;
	addr_parse("192.0.2.1", &h.r[0].from);
	h.r[0].rtt_us = 1000;
	addr_parse("198.51.100.7", &h.r[1].from);
	h.r[1].rtt_us = 2001;
	h.r[1].kind = REPLY_DESTINATION;
	hopstats_of(&h, &s);
	is_int(s.min_us, 1000, "min");
	is_int(s.max_us, 2001, "max");
	is_int(s.avg_us, 1501, "avg, rounded");
	is_str(hopstats_fmt_loss(&s, b, sizeof(b)), "33.3%", "loss of 1 in 3");
	is_str(addr_format(&s.from, b), "198.51.100.7", "the visitor's address stands for the hop");
	h.r[0].flags = PROTO_RF_ID_CHANGED;
	h.r[1].flags = PROTO_RF_BY_COUNT | PROTO_RF_AMBIGUOUS;
	hopstats_of(&h, &s);
	is_int(s.flags, PROTO_RF_ID_CHANGED | PROTO_RF_BY_COUNT | PROTO_RF_AMBIGUOUS,
	    "the flags of every reply");
	h.nreplies = 0;
	h.sent = 0;
	hopstats_of(&h, &s);
	is_str(hopstats_fmt_loss(&s, b, sizeof(b)), "100.0%", "a hop never reported: all lost");
	is_str(hopstats_fmt_ms(1234567, b, sizeof(b)), "1234.567", "ms with 3 decimals");
}

/* Plays HOP lines (and an END) of a stored trace to 198.51.100.7 through r; the output in mb. */
static void
play_lines(const struct renderer *r, const char *const *lines, size_t n, struct membuf *mb)
{
	struct out o = mem_out(mb);
	struct render_trace t;
	struct proto_msg m;
	struct stream s;

	memset(&t, 0, sizeof(t));
	addr_parse("198.51.100.7", &t.conn.client);
	addr_parse("192.0.2.10", &t.conn.server);
	stream_init(&s, r, &o, &t);
	stream_begin(&s);
	for (size_t i = 0; i < n; i++)
		if (proto_parse(lines[i], strlen(lines[i]), &m) == PROTO_BAD ||
		    stream_feed(&s, &m) == STREAM_OUT_FAILED)
			ok(0, "line %zu fed", i);
	stream_free(&s);
}

/* Removes from s every run from open up to its matching close (brackets, or a tag: "</small>"). */
static void
strip(char *s, const char *open, const char *close)
{
	char *p, *e;

	while ((p = strstr(s, open)) != NULL) {
		if (close[0] == ']') {
			int depth = 0;

			for (e = p + strlen(open) - 1; *e; e++)
				if (*e == '[')
					depth++;
				else if (*e == ']' && --depth == 0)
					break;
			e += *e ? 1 : 0;
		} else if ((e = strstr(p, close)) != NULL)
			e += strlen(close);
		else
			e = p + strlen(p);
		memmove(p, e, strlen(e) + 1);
	}
}


/*
 * Late answers (PROTO_RF_LATE) are kept apart: in none of a hop's numbers,
 * not the end of the path when the visitor's, and explained in the notes
 * in the place of the silence and loss they account for.
 */
static void
test_late(void)
{
	static const char *const visitor_late[] = {
		"HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64,1,56,0,-,-",
		/* The visitor answered hop 2's probe late; hop 3 is where it answered in time. */
		"HOP ttl=2 sent=3 reply=198.51.100.7,90000,destination,0,60,0,52,0,-,-,16",
		"HOP ttl=3 sent=3 reply=198.51.100.7,5120,destination,0,60,0,52,0,-,-",
		"END reason=destination hops=3 duration_us=13877 stored=1",
	};
	/* The hops of late.broker, then the same without their late answers. */
	static const char *const late_hops[] = {
		"HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64,1,56,0,-,-",
		"HOP ttl=2 sent=3 reply=203.0.113.2,2210,time-exceeded,0,253,1,56,0,-,- "
		    "reply=203.0.113.2,151234,time-exceeded,0,253,1,56,0,-,-,16 "
		    "reply=203.0.113.2,2250,time-exceeded,0,253,1,56,0,-,-,2",
		"HOP ttl=3 sent=3 reply=203.0.113.3,180002,unreachable,1,252,1,56,0,-,-,17",
		"HOP ttl=4 sent=3 reply=198.51.100.7,5120,destination,0,60,0,52,0,-,-",
		"END reason=destination hops=4 duration_us=13877 stored=1",
		"HOP ttl=1 sent=3 reply=192.0.2.1,412,time-exceeded,0,64,1,56,0,-,-",
		"HOP ttl=2 sent=3 reply=203.0.113.2,2210,time-exceeded,0,253,1,56,0,-,- "
		    "reply=203.0.113.2,2250,time-exceeded,0,253,1,56,0,-,-,2",
		"HOP ttl=3 sent=3",
		"HOP ttl=4 sent=3 reply=198.51.100.7,5120,destination,0,60,0,52,0,-,-",
		"END reason=destination hops=4 duration_us=13877 stored=1",
	};
	static struct membuf mb;
	static struct render_trace t;
	struct proto_hop h, in;
	struct hopstats s;
	char b[1024], *notes;
	int pos = 0;

	memset(&h, 0, sizeof(h));
	h.ttl = 2;
	h.sent = 3;
	h.nreplies = 3;
	addr_parse("203.0.113.9", &h.r[0].from);	/* late, first: the order is the broker's */
	h.r[0].rtt_us = 150000;
	h.r[0].kind = REPLY_DESTINATION;
	h.r[0].flags = PROTO_RF_LATE | PROTO_RF_BY_COUNT;
	addr_parse("203.0.113.2", &h.r[1].from);
	h.r[1].rtt_us = 2000;
	h.r[1].flags = PROTO_RF_ID_CHANGED;
	h.r[2] = h.r[1];
	h.r[2].rtt_us = 3000;
	is_int(hopstats_in_time(&h, &in), 1, "in_time: one late answer");
	ok(in.ttl == 2 && in.sent == 3 && in.nreplies == 2 && in.r[0].rtt_us == 2000 &&
	    in.r[1].rtt_us == 3000, "... the others in their order");
	hopstats_of(&h, &s);
	ok(s.replies == 2 && s.late == 1 && s.min_us == 2000 && s.max_us == 3000 &&
	    s.avg_us == 2500, "hopstats: numbers of the answers in time only");
	ok(!s.dest && s.flags == PROTO_RF_ID_CHANGED && strcmp(addr_format(&s.from, b),
	    "203.0.113.2") == 0, "... the late visitor's answer neither reaches nor flags the hop");
	is_str(hopstats_fmt_loss(&s, b, sizeof(b)), "33.3%", "... its probe lost");

	/*
	 * Hops 1, 3 and 5 silent, 2 answered late only, 4 answered 1 of 3 in time and
	 * 1 late: silence notes break at hop 2, which has its own; hop 5 is where it stopped.
	 */
	memset(&t, 0, sizeof(t));
	for (int ttl = 1; ttl <= 5; ttl++) {
		memset(&h, 0, sizeof(h));
		h.ttl = ttl;
		h.sent = 3;
		if (ttl == 2 || ttl == 4) {
			h.nreplies = 2;
			addr_parse("192.0.2.2", &h.r[0].from);
			h.r[0].rtt_us = 150000;
			h.r[0].flags = PROTO_RF_LATE;
			addr_parse("192.0.2.22", &h.r[1].from);
			h.r[1].rtt_us = 160000;
			h.r[1].kind = REPLY_UNREACHABLE;
			h.r[1].code = 1;
			h.r[1].flags = ttl == 2 ? PROTO_RF_LATE : 0;
		}
		hopstats_record(&t.st, &h);
	}
	ok(t.st.last_answered == 4 && t.st.last_heard == 4 && t.st.nlate == 3 &&
	    t.st.hs[2].replies == 0 && t.st.hs[2].late == 2, "the state: late answers kept apart");
	notes = mb.buf;
	notes[0] = '\0';
	while (hopstats_note(&t.st, &pos, b, sizeof(b)))
		snprintf(notes + strlen(notes), sizeof(mb.buf) - strlen(notes), "%s\n", b);
	is_str(notes, "hop 1: no answer, but later hops answered: the router does not send "
	    "time-exceeded or rate-limits it; the path is not broken there.\n"
	    "hop 2: no answer in time; late, after the hop was settled: 192.0.2.2 150.000 ms, "
	    "192.0.2.22 160.000 ms !H. Late answers count as lost probes above: they came, but "
	    "after the trace had stopped waiting for them.\n"
	    "hop 3: no answer, but later hops answered: the router does not send time-exceeded or "
	    "rate-limits it; the path is not broken there.\n"
	    "hop 4: answered 1 of 3 probes and no later hop answered: the router may rate-limit its "
	    "answers.\n"
	    "hop 4: answered 1 of 3 probes in time; late, after the hop was settled: 192.0.2.2 "
	    "150.000 ms. A late answer counts as a lost probe above: it came, but after the trace "
	    "had stopped waiting for it.\n"
	    "hop 5: no answer, and no hop after it: the trace stopped there. A firewall may drop "
	    "the probes, or the routers from there on do not answer; the path itself may well go "
	    "on.\n", "the notes");

	/* More late answers than the state keeps: counted in the note. */
	memset(&t, 0, sizeof(t));
	memset(&h, 0, sizeof(h));
	h.sent = 16;
	h.nreplies = 16;
	for (int i = 0; i < 16; i++) {
		addr_parse("2001:db8:ffff:ffff:ffff:ffff:ffff:fff0", &h.r[i].from);
		h.r[i].rtt_us = 1000000;
		h.r[i].flags = PROTO_RF_LATE;
	}
	for (h.ttl = 1; h.ttl <= 3; h.ttl++)
		hopstats_record(&t.st, &h);
	pos = 0;
	while (hopstats_note(&t.st, &pos, b, sizeof(b)) && strncmp(b, "hop 3", 5) != 0)
		;
	ok(strncmp(b, "hop 3: no answer in time; late, after the hop was settled:", 58) == 0 &&
	    strstr(b, "settled: 16 answers. Late answers count") != NULL, "a hop past what is kept: "
	    "counted (%s)", b);
	pos = 0;
	hopstats_note(&t.st, &pos, b, 512);
	ok(strstr(b, " 1000.000 ms, and ") != NULL && strlen(b) < 512 && strcmp(b + strlen(b) - 20,
	    "stopped waiting for them." + 5) == 0, "a note too long for the buffer lists what "
	    "fits and counts the rest (%s)", b);

	/*
	 * Every format without its late fields is what it was without the late
	 * answers (text and HTML up to the notes, which explain them).
	 */
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		static struct membuf with;
		static const char *const cut[][3] = {
			{ "json", ",\"late\":[", "]" }, { "atlas", ",\"x-late\":[", "]" },
			{ "html", "<br><small class=\"late\">", "</small>" }, { "text", "", "" },
		};
		char *n;

		play_lines(formats[i], late_hops, 5, &with);
		play_lines(formats[i], late_hops + 5, 5, &mb);
		for (size_t k = 0; k < 4; k++)
			if (strcmp(cut[k][0], formats[i]->name) == 0 && cut[k][1][0])
				strip(with.buf, cut[k][1], cut[k][2]);
		/* Up to the notes: those of text and HTML differ by the late notes. */
		if ((n = strstr(with.buf, "\nnote: ")) != NULL || (n = strstr(with.buf, "<ul")))
			*n = '\0';
		ok(strncmp(with.buf, mb.buf, strlen(with.buf)) == 0 && strlen(with.buf) > 150 &&
		    strstr(with.buf, "late") == NULL, "%s: without its late fields, the output "
		    "without the late answers", formats[i]->name);
	}

	/* The visitor's late answer is not the end of the path. */
	play_lines(&render_json, visitor_late, 4, &mb);
	is_str(mb.buf, "{\"ttl\":1,\"ip\":\"192.0.2.1\",\"rtt\":[0.412]}\n"
	    "{\"ttl\":2,\"timeout\":true,\"late\":[{\"ip\":\"198.51.100.7\",\"rtt\":90.000}]}\n"
	    "{\"ttl\":3,\"ip\":\"198.51.100.7\",\"rtt\":[5.120]}\n",
	    "json: the hop after a late visitor's answer is shown");
	play_lines(&render_html, visitor_late, 4, &mb);
	ok(strstr(mb.buf, "<tr class=\"silent\"><th scope=\"row\">2</th>") != NULL &&
	    strstr(mb.buf, "<tr class=\"dest\"><th scope=\"row\">3</th>") != NULL,
	    "html: hop 2 silent, the visitor at hop 3");
}

static void
test_assets(void)
{
	const char *names[] = { "tracetrout.css", "tracetrout.js" };
	const struct asset *a;

	for (size_t i = 0; i < 2; i++) {
		a = asset_find(names[i]);
		ok(a != NULL && a->len > 100 && a->body[a->len] == '\0' &&
		    strlen(a->body) == a->len, "%s: embedded whole", names[i]);
		ok(a != NULL && a->etag[0] == '"' && a->etag[strlen(a->etag) - 1] == '"',
		    "%s: a quoted ETag", names[i]);
	}
	is_str(asset_find("tracetrout.css")->content_type, "text/css; charset=utf-8", "css type");
	is_str(asset_find("tracetrout.js")->content_type, "text/javascript; charset=utf-8",
	    "js type");
	ok(asset_find("../tracetrout.css") == NULL && asset_find("") == NULL &&
	    asset_find("README.md") == NULL, "nothing else is found");
}

int
main(void)
{
	find_golden();
	updating = getenv("TT_UPDATE_GOLDEN") && strcmp(getenv("TT_UPDATE_GOLDEN"), "1") == 0;
	have_python = system("command -v python3 >/dev/null 2>&1") == 0;
	if (tap_tmpdir(scratch) < 0)
		return 99;
	printf("# goldens in %s%s\n", golden, updating ? " (writing them)" : "");
	test_goldens();
	test_errors();
	test_streaming();
	test_escaping();
	test_json_compact();
	test_history("history");
	test_history("history-empty");
	test_history("history-late");
	test_history("history-fleet");
	test_hopstats();
	test_late();
	test_assets();
	tap_tmpdir_remove(scratch);
	return tap_done();
}
