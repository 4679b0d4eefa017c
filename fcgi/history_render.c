/*
 * The history of one visitor's traces in JSON, text or HTML, each marked
 * where its route changed (common/path.c compares them). Pure.
 */
#include "history_render.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hopstats.h"
#include "html.h"
#include "render_common.h"

const char *
history_content_type(const struct renderer *r)
{
	return r && r->content_type ? r->content_type : "application/json";
}

/*
 * The change of item i against the next older one from the same vantage
 * point (a fleet's servers each see their own path back to the visitor),
 * or false if there is none to compare.
 */
static bool
change_of(const struct history_view *v, int i, struct path_change *c)
{
	const struct history_item *older = NULL;

	for (int j = i + 1; j < v->nitems && older == NULL; j++)
		if (strcmp(v->items[j].vantage, v->items[i].vantage) == 0)
			older = &v->items[j];
	if (older == NULL && v->older != NULL && strcmp(v->older->vantage, v->items[i].vantage) == 0)
		older = v->older;
	if (older == NULL)
		return false;
	path_diff(older->path, v->items[i].path, c);
	return true;
}

static const char *
duration(uint64_t us, char *buf, size_t len)
{
	return hopstats_fmt_ms(us, buf, len);
}

/* ---- JSON ---- */

/* The addresses of hop [s, s + n), sep between them, each written by put (escaping it). */
static int
hop_addrs(struct out *o, const char *s, size_t n, const char *sep,
    int (*put)(struct out *, const char *))
{
	const char *end = s + n, *a;
	size_t an;
	char buf[PROTO_LINE_MAX];

	for (int addrs = 0; path_next_addr(&s, end, &a, &an); addrs++) {
		memcpy(buf, a, an);
		buf[an] = '\0';
		if ((addrs && out_puts(o, sep) < 0) || put(o, buf) < 0)
			return -1;
	}
	return 0;
}

/* [["192.0.2.1"],[],...]: each hop's addresses, late ones too; [] for a silent hop. */
static int
json_path(struct out *o, const char *path)
{
	const char *p = path, *s;
	size_t n;
	int hops = 0;

	if (out_puts(o, "[") < 0)
		return -1;
	while (path_next_hop(&p, &s, &n))
		if ((hops++ && out_puts(o, ",") < 0) || out_puts(o, "[") < 0 ||
		    hop_addrs(o, s, n, ",", json_str) < 0 || out_puts(o, "]") < 0)
			return -1;
	return out_puts(o, "]");
}

/* ,"late_ttls":[2,5]: the hops whose addresses in path answered only late; nothing if none. */
static int
json_late(struct out *o, const char *path)
{
	const char *p = path, *s;
	size_t n;
	int k = 0;

	for (int ttl = 1; path_next_hop(&p, &s, &n); ttl++)
		if (path_hop_late_only(s, n) &&
		    out_printf(o, k++ ? ",%d" : ",\"late_ttls\":[%d", ttl) < 0)
			return -1;
	return k ? out_puts(o, "]") : 0;
}

static int
json_next(struct out *o, const struct history_view *v)
{
	char url[512];

	if (!v->more || v->nitems == 0)
		return out_puts(o, "null");
	snprintf(url, sizeof(url), "%s/history?before=%s", v->prefix ? v->prefix : "",
	    v->items[v->nitems - 1].id);
	return json_str(o, url);
}

static int
history_json(struct out *o, const struct history_view *v)
{
	char a[ADDR_STRLEN], t[32], d[32];
	struct path_change c;

	if (out_puts(o, "{\"client\":") < 0 || json_str(o, addr_format(&v->client, a)) < 0 ||
	    out_puts(o, ",\"traces\":[") < 0)
		return -1;
	for (int i = 0; i < v->nitems; i++) {
		const struct history_item *it = &v->items[i];

		if (out_puts(o, i ? ",\n{\"id\":" : "\n{\"id\":") < 0 || json_str(o, it->id) < 0 ||
		    out_puts(o, ",\"started\":") < 0 ||
		    json_str(o, render_time(it->started_ms, 1, t, sizeof(t))) < 0 ||
		    out_puts(o, ",\"reason\":") < 0 || json_str(o, it->reason) < 0 ||
		    (it->vantage[0] && (out_puts(o, ",\"vantage\":") < 0 ||
		    json_str(o, it->vantage) < 0)) ||
		    out_printf(o, ",\"hops\":%d,\"duration_ms\":%s,\"path\":", it->hops,
		    duration(it->duration_us, d, sizeof(d))) < 0 || json_path(o, it->path) < 0 ||
		    json_late(o, it->path) < 0 || out_puts(o, ",\"change\":") < 0)
			return -1;
		if (!change_of(v, i, &c)) {
			if (out_puts(o, "null}") < 0)
				return -1;
		} else if (out_printf(o, "{\"added\":%d,\"removed\":%d,\"replaced\":%d,"
		    "\"first_ttl\":%d}}", c.added, c.removed, c.replaced, c.first_ttl) < 0)
			return -1;
	}
	if (out_puts(o, v->nitems ? "\n],\"next\":" : "],\"next\":") < 0 || json_next(o, v) < 0)
		return -1;
	return out_puts(o, "}\n");
}

/* ---- text ---- */

/* "path changed at hop 2: +0 -0 ~1" with minus as given; "same path"; "" for the oldest. */
static const char *
change_text(const struct path_change *c, bool have, const char *minus, char *buf, size_t len)
{
	if (!have)
		buf[0] = '\0';
	else if (c->first_ttl == 0)
		snprintf(buf, len, "same path");
	else
		snprintf(buf, len, "path changed at hop %d: +%d %s%d ~%d", c->first_ttl, c->added,
		    minus, c->removed, c->replaced);
	return buf;
}

/*
 * "192.0.2.1 203.0.113.1+203.0.113.5 * 203.0.113.3(late)": each hop's
 * addresses, "*" for a silent one, "(late)" after those that answered only late.
 */
static int
text_path(struct out *o, const char *path)
{
	const char *p = path, *s;
	size_t n;
	int hops = 0;

	while (path_next_hop(&p, &s, &n))
		if ((hops++ && out_puts(o, " ") < 0) ||
		    (path_hop_silent(s, n) && out_puts(o, "*") < 0) ||
		    hop_addrs(o, s, n, "+", text_safe) < 0 ||
		    (path_hop_late_only(s, n) && out_puts(o, "(late)") < 0))
			return -1;
	return hops ? 0 : out_puts(o, "(no hops)");
}

/* Does any trace shown have a hop answered only late? Then the page says what that is. */
static bool
any_late(const struct history_view *v)
{
	for (int i = 0; i < v->nitems; i++) {
		const char *p = v->items[i].path, *s;
		size_t n;

		while (path_next_hop(&p, &s, &n))
			if (path_hop_late_only(s, n))
				return true;
	}
	return false;
}

static int
history_text(struct out *o, const struct history_view *v)
{
	char a[ADDR_STRLEN], t[32], d[32], ch[96];
	struct path_change c;

	if (out_puts(o, "traces taken from ") < 0 || text_safe(o, addr_format(&v->client, a)) < 0 ||
	    out_puts(o, v->nitems ? ", newest first\n" : ": none stored\n") < 0)
		return -1;
	for (int i = 0; i < v->nitems; i++) {
		const struct history_item *it = &v->items[i];
		const char *why = render_reason(it->reason);
		bool have = change_of(v, i, &c);

		if (out_puts(o, "\n") < 0 || text_safe(o, render_time(it->started_ms, 0, t,
		    sizeof(t))) < 0 || out_puts(o, "  ") < 0 ||
		    text_safe(o, v->prefix ? v->prefix : "") < 0 || out_puts(o, "/trace/") < 0 ||
		    text_safe(o, it->id) < 0 || out_puts(o, "\n  ") < 0 ||
		    (it->vantage[0] && (out_puts(o, "vantage: ") < 0 || text_safe(o, it->vantage) < 0 ||
		    out_puts(o, "\n  ") < 0)) ||
		    text_safe(o, why ? why : it->reason) < 0 ||
		    out_printf(o, "; %d hops in %s ms\n  path: ", it->hops,
		    duration(it->duration_us, d, sizeof(d))) < 0 || text_path(o, it->path) < 0 ||
		    out_puts(o, "\n") < 0)
			return -1;
		change_text(&c, have, "-", ch, sizeof(ch));
		if (ch[0] && (out_puts(o, "  ") < 0 || text_safe(o, ch) < 0 || out_puts(o, "\n") < 0))
			return -1;
	}
	if (any_late(v) && out_puts(o, "\n(late): no answer at that hop in time; the address "
	    "answered after the hop was settled. A hop answered by the same router, in time or "
	    "late, is the same hop.\n") < 0)
		return -1;
	if (v->more && v->nitems > 0 && (out_puts(o, "\nolder traces: ") < 0 ||
	    text_safe(o, v->prefix ? v->prefix : "") < 0 || out_puts(o, "/history?before=") < 0 ||
	    text_safe(o, v->items[v->nitems - 1].id) < 0 || out_puts(o, "\n") < 0))
		return -1;
	return 0;
}

/* ---- HTML ---- */

static int
history_html(struct out *o, const struct history_view *v)
{
	const char *p = v->prefix ? v->prefix : "";
	char a[ADDR_STRLEN], d[32], ch[96];
	struct path_change c;

	addr_format(&v->client, a);
	if (html_head(o, "TraceTrout: your traces", 0) < 0 ||
	    out_puts(o, "<header>\n<h1>Your traces</h1>\n<p>The traces taken from your address, "
	    "<strong>") < 0 || html_str(o, a) < 0 ||
	    out_puts(o, "</strong>, newest first, and where the path back to you changed from "
	    "one trace to the next.</p>\n</header>\n<main>\n") < 0)
		return -1;
	if (v->nitems == 0)
		return out_puts(o, "<p>No trace from your address is stored.</p>\n</main>\n") < 0 ?
		    -1 : html_foot(o);
	if (out_puts(o, "<div class=\"scroll\" tabindex=\"0\" role=\"region\" "
	    "aria-labelledby=\"history-caption\">\n<table id=\"history\">\n"
	    "<caption id=\"history-caption\">Traces from ") < 0 || html_str(o, a) < 0 ||
	    out_puts(o, "</caption>\n<thead><tr><th scope=\"col\">Taken</th>"
	    "<th scope=\"col\">Result</th><th scope=\"col\">Hops</th>"
	    "<th scope=\"col\">Time (ms)</th><th scope=\"col\">Path</th></tr></thead>\n"
	    "<tbody>\n") < 0)
		return -1;
	for (int i = 0; i < v->nitems; i++) {
		const struct history_item *it = &v->items[i];
		const char *why = render_reason(it->reason);
		bool have = change_of(v, i, &c);

		/* U+2212 MINUS SIGN: a hyphen reads as a dash beside a number. */
		change_text(&c, have, "\xe2\x88\x92", ch, sizeof(ch));
		if (out_printf(o, "<tr%s><th scope=\"row\"><a href=\"", have && c.first_ttl ?
		    " class=\"changed\"" : "") < 0 || html_str(o, p) < 0 ||
		    out_puts(o, "/trace/") < 0 || html_str(o, it->id) < 0 || out_puts(o, "\">") < 0 ||
		    html_time(o, it->started_ms) < 0 || out_puts(o, "</a></th><td>") < 0 ||
		    (it->vantage[0] && (out_puts(o, "<small class=\"vantage\">") < 0 ||
		    html_str(o, it->vantage) < 0 || out_puts(o, "</small> ") < 0)) ||
		    html_str(o, why ? why : it->reason) < 0 ||
		    out_printf(o, "</td><td class=\"num\">%d</td><td class=\"num\">%s</td><td>",
		    it->hops, duration(it->duration_us, d, sizeof(d))) < 0 ||
		    html_str(o, ch[0] ? ch : "\xe2\x80\x93") < 0 || out_puts(o, "</td></tr>\n") < 0)
			return -1;
	}
	if (out_puts(o, "</tbody>\n</table>\n</div>\n<p class=\"legend\">+ hops added, "
	    "\xe2\x88\x92 hops removed, ~ hops answered by other routers than in the trace "
	    "before; silent hops never count as a change") < 0 ||
	    (any_late(v) && out_puts(o, "; a hop whose router answered only late, after the hop "
	    "was settled, counts by that router") < 0) || out_puts(o, ".</p>\n") < 0)
		return -1;
	if (v->more && (out_puts(o, "<p><a href=\"") < 0 || html_str(o, p) < 0 ||
	    out_puts(o, "/history?before=") < 0 || html_str(o, v->items[v->nitems - 1].id) < 0 ||
	    out_puts(o, "\">Older traces</a></p>\n") < 0))
		return -1;
	return out_puts(o, "</main>\n") < 0 ? -1 : html_foot(o);
}

int
history_render(struct out *o, const struct renderer *r, const struct history_view *v)
{
	const char *name = r && r->name ? r->name : "json";

	if (strcmp(name, "html") == 0)
		return history_html(o, v);
	if (strcmp(name, "text") == 0)
		return history_text(o, v);
	return history_json(o, v);
}
