/*
 * The live page: progressive HTML, written in order as the hops settle, so
 * it works without JavaScript; tracetrout.js adds the path diagram, and
 * names and places that came after their row. One table row per hop; then
 * the table of what is known of the hops' addresses; the summary (reason,
 * time, permalink, notes, delete form, privacy) in a role=status region.
 */
#include "render.h"

#include <stdio.h>
#include <string.h>

#include "hopstats.h"
#include "html.h"
#include "render_common.h"

/* "you" on the visitor's own page, "the visitor" on a stored one, which others may open. */
static const char *
who(const struct render_trace *t)
{
	return t->live ? "you" : "the visitor";
}

static int
html_begin(struct out *o, struct render_trace *t)
{
	char c[ADDR_STRLEN], s[ADDR_STRLEN], title[128], note[256];
	const char *proxy = render_proxy_note(t, note, sizeof(note));

	addr_format(&t->conn.client, c);
	addr_format(&t->conn.server, s);
	snprintf(title, sizeof(title), "TraceTrout: the path from this server to %s", c);
	if (html_head(o, title, 1) < 0)
		return -1;
	if (out_printf(o, "<header>\n<h1>The network path from this server back to %s</h1>\n"
	    "<p>A reverse traceroute: the server at <strong>", t->live ? "you" : "the visitor") < 0 ||
	    html_str(o, s) < 0 || out_printf(o, "</strong> sent probes along %s own connection "
	    "to <strong>", t->live ? "your" : "the visitor's") < 0 || html_str(o, c) < 0 ||
	    out_printf(o, "</strong>%s. Each row is one router on the way, nearest to the "
	    "server first; <code>*</code> is a probe that got no answer.", t->live ?
	    " (you)" : "") < 0)
		return -1;
	if (t->started_ms && (out_puts(o, " Taken ") < 0 || html_time(o, t->started_ms) < 0 ||
	    out_puts(o, ".") < 0))
		return -1;
	if (t->live && out_puts(o, " Rows appear as the routers answer.") < 0)
		return -1;
	/* A fleet's trace: which of its servers traced it. */
	if (t->vantage[0] && (out_puts(o, " Vantage point: <strong class=\"vantage\">") < 0 ||
	    html_str(o, t->vantage) < 0 || out_puts(o, "</strong>.") < 0))
		return -1;
	if (out_puts(o, "</p>\n") < 0 || (proxy && (out_puts(o, "<p class=\"proxy\"><strong>"
	    "Note:</strong> ") < 0 || html_str(o, proxy) < 0 || out_puts(o, ".</p>\n") < 0)))
		return -1;
	if (out_puts(o, "</header>\n<main>\n<div class=\"scroll\" tabindex=\"0\" "
	    "role=\"region\" aria-labelledby=\"hops-caption\">\n") < 0 ||
	    out_printf(o, "<table id=\"hops\" data-who=\"%s\">\n", who(t)) < 0 ||
	    out_puts(o, "<caption id=\"hops-caption\">Hops from the server (") < 0 ||
	    html_str(o, s) < 0 ||
	    out_printf(o, ") to %s (", who(t)) < 0 || html_str(o, c) < 0 ||
	    out_puts(o, ")</caption>\n<thead><tr><th scope=\"col\">Hop</th>"
	    "<th scope=\"col\">Address</th><th scope=\"col\">RTT of each probe (ms)</th>"
	    "<th scope=\"col\">Loss</th><th scope=\"col\">Min (ms)</th>"
	    "<th scope=\"col\">Avg (ms)</th><th scope=\"col\">Max (ms)</th></tr></thead>\n"
	    "<tbody>\n") < 0)
		return -1;
	return 0;
}

/*
 * Under a silent hop's "*", the router a recent trace measured there:
 * "reused, 3 s old: 203.0.113.2 r2.example.net", not measured now.
 */
static int
reused(struct out *o, const struct render_trace *t, const struct proto_hop *hop)
{
	const struct tt_addr *r = hopstats_reused(hop);
	const struct render_info *e;
	char a[ADDR_STRLEN], age[24];

	if (r == NULL)
		return 0;
	if (out_printf(o, "<br><small class=\"reused\">reused, %s old: ",
	    hopstats_fmt_age(hop->reused_age_ms, age, sizeof(age))) < 0 ||
	    html_str(o, addr_format(r, a)) < 0)
		return -1;
	if ((e = render_info_find(t, r)) != NULL && e->name[0] &&
	    (out_puts(o, " ") < 0 || html_str(o, e->name) < 0))
		return -1;
	return out_puts(o, "</small>");
}

/*
 * Every address that answered, first seen first, the visitor marked; "*"
 * if none did. Each with its name and place when they are known by now;
 * tracetrout.js adds those that come later from the table at the end.
 */
static int
addresses(struct out *o, const struct render_trace *t, const struct proto_hop *hop)
{
	const struct render_info *e;
	char a[ADDR_STRLEN], place[400];

	if (hop->nreplies == 0)
		return out_puts(o, "*") < 0 ? -1 : reused(o, t, hop);
	for (int i = 0, n = 0; i < hop->nreplies && i < PROTO_MAX_REPLIES; i++) {
		if (render_seen_before(hop, i))
			continue;
		if ((n++ && out_puts(o, "<br>") < 0) || out_puts(o, "<span class=\"ip\">") < 0 ||
		    html_str(o, addr_format(&hop->r[i].from, a)) < 0 || out_puts(o, "</span>") < 0)
			return -1;
		if ((e = render_info_find(t, &hop->r[i].from)) != NULL && e->name[0] &&
		    (out_puts(o, " <span class=\"host\">") < 0 || html_str(o, e->name) < 0 ||
		    out_puts(o, "</span>") < 0))
			return -1;
		if (hop->r[i].kind == REPLY_DESTINATION &&
		    out_printf(o, " <span class=\"who\">(%s)</span>", who(t)) < 0)
			return -1;
		if (e && render_place(e, place, sizeof(place))[0] &&
		    (out_puts(o, "<small class=\"place\">") < 0 || html_str(o, place) < 0 ||
		    out_puts(o, "</small>") < 0))
			return -1;
	}
	return 0;
}

/* What the replies' quotes and extensions tell: MPLS labels, NAT, a changed TTL, the flags. */
static int
evidence(struct out *o, const struct proto_hop *hop, const struct hopstats *s)
{
	char a[ADDR_STRLEN];

	for (int i = 0; i < hop->nreplies && i < PROTO_MAX_REPLIES; i++) {
		const struct proto_reply *r = &hop->r[i];

		if (r->nmpls <= 0)
			continue;
		if (out_puts(o, "<br><small>MPLS") < 0)
			return -1;
		for (int k = 0; k < r->nmpls && k < PROTO_MAX_MPLS; k++)
			if (out_printf(o, "%s label %u, exp %u, s %u, ttl %u", k ? ";" : "",
			    r->mpls[k].label, r->mpls[k].exp, r->mpls[k].s, r->mpls[k].ttl) < 0)
				return -1;
		if (out_puts(o, "</small>") < 0)
			return -1;
		break;	/* the stack is the same for every probe of a hop, nearly always */
	}
	if (s->edst.family && (out_puts(o, "<br><small>quoted destination ") < 0 ||
	    html_str(o, addr_format(&s->edst, a)) < 0 || out_puts(o, " (NAT)</small>") < 0))
		return -1;
	if (s->qttl && out_printf(o, "<br><small>quoted TTL %u</small>", s->qttl) < 0)
		return -1;
	for (int i = 0; i < HOPSTATS_NFLAGS; i++)
		if ((s->flags & hopstats_flags[i].bit) && (out_puts(o, "<br><small>") < 0 ||
		    html_str(o, hopstats_flags[i].text) < 0 || out_puts(o, "</small>") < 0))
			return -1;
	return 0;
}

/*
 * A reply's RTT in ms, then unit, then traceroute's mark (!H, !F-1400 ...),
 * the mark explained on hover.
 */
static int
rtt(struct out *o, const struct proto_reply *r, const char *unit)
{
	char m[24];
	const char *k = render_mark(r, m, sizeof(m));

	if (out_printf(o, "%u.%03u%s", r->rtt_us / 1000, r->rtt_us % 1000, unit) < 0)
		return -1;
	/* k is " !H": the space outside. */
	if (k[0] && (out_puts(o, " <abbr title=\"") < 0 ||
	    html_str(o, render_mark_title(r)) < 0 || out_puts(o, "\">") < 0 ||
	    html_str(o, k + 1) < 0 || out_puts(o, "</abbr>") < 0))
		return -1;
	return 0;
}

/* An RTT per reply, then a star per lost probe. */
static int
rtts(struct out *o, const struct proto_hop *hop)
{
	int stars = hop->sent - hop->nreplies, n = 0;

	for (int i = 0; i < hop->nreplies && i < PROTO_MAX_REPLIES; i++)
		if ((n++ && out_puts(o, " ") < 0) || rtt(o, &hop->r[i], "") < 0)
			return -1;
	if (hop->nreplies == 0 && stars < 1)
		stars = 1;
	for (int i = 0; i < stars; i++)
		if ((n++ && out_puts(o, " ") < 0) || out_puts(o, "*") < 0)
			return -1;
	return 0;
}

/*
 * The answers that came after the hop was settled (stored traces only),
 * one a line under the hop's addresses: "late: 192.0.2.3 151.234 ms". The
 * row's other cells are the hop as it was settled; the notes explain.
 */
static int
late(struct out *o, const struct proto_hop *hop)
{
	char a[ADDR_STRLEN];

	for (int i = 0; i < hop->nreplies && i < PROTO_MAX_REPLIES; i++) {
		const struct proto_reply *r = &hop->r[i];

		if (!(r->flags & PROTO_RF_LATE))
			continue;
		if (out_puts(o, "<br><small class=\"late\">late: ") < 0 ||
		    html_str(o, addr_format(&r->from, a)) < 0 || out_puts(o, " ") < 0 ||
		    rtt(o, r, " ms") < 0 || out_puts(o, "</small>") < 0)
			return -1;
	}
	return 0;
}

static int
html_hop(struct out *o, struct render_trace *t, const struct proto_hop *all)
{
	static const struct hopstats none;
	const struct hopstats *s = &none;
	struct proto_hop in_time, *hop = &in_time;
	char loss[16], mn[24], av[24], mx[24];

	hopstats_in_time(all, &in_time);
	hopstats_record(&t->st, all);
	if (hop->ttl >= 1 && hop->ttl <= HOPSTATS_TTL_MAX)
		s = &t->st.hs[hop->ttl];
	if (out_printf(o, "<tr%s", s->replies == 0 ? (s->reused.family ?
	    " class=\"silent reused\"" : " class=\"silent\"") : s->dest ?
	    " class=\"dest\"" : "") < 0)
		return -1;
	/* When the hop settled at the server: the page's script measures the delay to the screen. */
	if (hop->at_us && out_printf(o, " data-at=\"%llu\"", (unsigned long long)hop->at_us) < 0)
		return -1;
	if (out_printf(o, "><th scope=\"row\">%d</th><td class=\"addr\">", hop->ttl) < 0 ||
	    addresses(o, t, hop) < 0 || evidence(o, hop, s) < 0 || late(o, all) < 0 ||
	    out_puts(o, "</td><td class=\"rtt\">") < 0 || rtts(o, hop) < 0)
		return -1;
	if (s->replies) {
		hopstats_fmt_ms(s->min_us, mn, sizeof(mn));
		hopstats_fmt_ms(s->avg_us, av, sizeof(av));
		hopstats_fmt_ms(s->max_us, mx, sizeof(mx));
	} else {
		strcpy(mn, "\xe2\x80\x93");	/* en dash: no value */
		strcpy(av, mn);
		strcpy(mx, mn);
	}
	return out_printf(o, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
	    "<td class=\"num\">%s</td><td class=\"num\">%s</td></tr>\n",
	    hopstats_fmt_loss(s, loss, sizeof(loss)), mn, av, mx);
}

/* <a href="PREFIX/trace/ID?format=F">label</a> */
static int
format_link(struct out *o, const struct render_trace *t, const char *format, const char *label)
{
	if (out_puts(o, "<a href=\"") < 0 || html_str(o, render_prefix(t)) < 0 ||
	    out_puts(o, "/trace/") < 0 || html_str(o, t->id) < 0)
		return -1;
	if (format && (out_puts(o, "?format=") < 0 || html_str(o, format) < 0))
		return -1;
	if (out_puts(o, "\">") < 0 || html_str(o, label) < 0)
		return -1;
	return out_puts(o, "</a>");
}

static int
permalink(struct out *o, const struct render_trace *t)
{
	char url[512];

	snprintf(url, sizeof(url), "%s/trace/%s", render_prefix(t), t->id);
	if (out_puts(o, "<p>Permalink: ") < 0 || format_link(o, t, NULL, url) < 0 ||
	    out_puts(o, ". Also as ") < 0 || format_link(o, t, "text", "text") < 0 ||
	    out_puts(o, ", ") < 0 || format_link(o, t, "json", "JSON lines") < 0 ||
	    out_puts(o, " and ") < 0 || format_link(o, t, "atlas", "RIPE Atlas JSON") < 0)
		return -1;
	return out_puts(o, ".</p>\n");
}

/* The visitor who took the trace may delete it: the token is in the form, never in a URL. */
static int
delete_form(struct out *o, const struct render_trace *t)
{
	if (out_puts(o, "<form method=\"post\" action=\"") < 0 ||
	    html_str(o, render_prefix(t)) < 0 || out_puts(o, "/trace/") < 0 ||
	    html_str(o, t->id) < 0 ||
	    out_puts(o, "/delete\"><input type=\"hidden\" name=\"token\" value=\"") < 0 ||
	    html_str(o, t->token) < 0)
		return -1;
	return out_puts(o, "\"><button type=\"submit\">Delete this trace</button> Only this "
	    "page can delete it: the permalink alone cannot.</form>\n");
}

/* A cell of the table below: its class, and the text escaped; empty when not known. */
static int
where_cell(struct out *o, const char *cls, const char *text)
{
	if (out_printf(o, "<td class=\"%s\">", cls) < 0 || html_str(o, text) < 0)
		return -1;
	return out_puts(o, "</td>");
}

/*
 * "Where the hops are": every address with something known, in path
 * order, after the hops, so the page has it without JavaScript; the
 * script fills the rows from it. The service's answer is there too, as
 * the JSON text it was.
 */
static int
where_table(struct out *o, const struct render_trace *t)
{
	const struct render_info *list[RENDER_INFO_ADDRS];
	char a[ADDR_STRLEN];
	int n = render_info_sorted(t, list), rows = 0;

	for (int i = 0; i < n; i++) {
		const struct render_info *e = list[i];

		if (!render_info_known(e, true))
			continue;
		if (rows++ == 0 && out_puts(o, "<div class=\"scroll\" tabindex=\"0\" "
		    "role=\"region\" aria-labelledby=\"where-caption\">\n<table id=\"where\">\n"
		    "<caption id=\"where-caption\">Where the hops are</caption>\n"
		    "<thead><tr><th scope=\"col\">Address</th><th scope=\"col\">Name</th>"
		    "<th scope=\"col\">Country</th><th scope=\"col\">City</th>"
		    "<th scope=\"col\">AS</th><th scope=\"col\">Organization</th>"
		    "<th scope=\"col\">Service answer</th></tr></thead>\n<tbody>\n") < 0)
			return -1;
		if (out_puts(o, "<tr><th scope=\"row\" class=\"ip\">") < 0 ||
		    html_str(o, addr_format(&e->addr, a)) < 0 || out_puts(o, "</th>") < 0 ||
		    where_cell(o, "host", e->name) < 0 || where_cell(o, "country", e->f.country) < 0 ||
		    where_cell(o, "city", e->f.city) < 0 || where_cell(o, "asn", e->f.asn) < 0 ||
		    where_cell(o, "org", e->f.org) < 0 || out_puts(o, "<td>") < 0)
			return -1;
		if (e->body && (out_puts(o, "<details><summary>JSON</summary><pre>") < 0 ||
		    html_str(o, e->body) < 0 || out_puts(o, "</pre></details>") < 0))
			return -1;
		if (out_puts(o, "</td></tr>\n") < 0)
			return -1;
	}
	return rows ? out_puts(o, "</tbody>\n</table>\n</div>\n") : 0;
}

static int
html_end(struct out *o, struct render_trace *t, const struct proto_msg *m)
{
	const char *why = render_end_reason(t, m->code);
	int stored = render_stored(t, m), pos = 0, notes = 0;
	char note[1024], priv[256];

	if (out_puts(o, "</tbody>\n</table>\n</div>\n") < 0 || where_table(o, t) < 0 ||
	    out_puts(o, "<div id=\"status\" role=\"status\">\n"
	    "<p><strong>Trace ended:</strong> ") < 0)
		return -1;
	if (why && strcmp(m->code, "destination") == 0 && t->live && !t->conn.proxy)
		why = "reached you";
	if (html_str(o, why ? why : m->code) < 0 ||
	    out_printf(o, "; %d %s in %llu.%03llu ms.</p>\n", m->hops, m->hops == 1 ? "hop" : "hops",
	    (unsigned long long)(m->duration_us / 1000),
	    (unsigned long long)(m->duration_us % 1000)) < 0)
		return -1;
	while (hopstats_note(&t->st, &pos, note, sizeof(note))) {
		/* A list item is a sentence of its own: "Hop 3: ...". */
		if (note[0] >= 'a' && note[0] <= 'z')
			note[0] = (char)(note[0] - 'a' + 'A');
		if ((notes++ == 0 && out_puts(o, "<ul class=\"notes\">\n") < 0) ||
		    out_puts(o, "<li>") < 0 || html_str(o, note) < 0 || out_puts(o, "</li>\n") < 0)
			return -1;
	}
	if (notes && out_puts(o, "</ul>\n") < 0)
		return -1;
	if (stored && (permalink(o, t) < 0 || (t->token[0] && delete_form(o, t) < 0)))
		return -1;
	if (!t->unstored && m->stored == 0 && out_puts(o, "<p>This trace was not stored: a "
	    "database write failed during the trace.</p>\n") < 0)
		return -1;
	if (render_privacy(t, stored, priv, sizeof(priv)) &&
	    (out_puts(o, "<p class=\"privacy\">Privacy: ") < 0 || html_str(o, priv) < 0 ||
	    out_puts(o, "</p>\n") < 0))
		return -1;
	return out_puts(o, "</div>\n</main>\n") < 0 ? -1 : html_foot(o);
}

static int
html_fail(struct out *o, struct render_trace *t, const char *msg)
{
	(void)t;
	if (out_puts(o, "</tbody>\n</table>\n</div>\n<div id=\"status\" role=\"status\" "
	    "class=\"failed\">\n<p><strong>The trace stopped:</strong> ") < 0 ||
	    html_str(o, msg) < 0 || out_puts(o, "</p>\n</div>\n</main>\n") < 0)
		return -1;
	return html_foot(o);
}

/* A whole small page: the error comes before any head with a prefix, so no stylesheet. */
static int
html_error(struct out *o, const char *msg)
{
	if (out_puts(o, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<title>TraceTrout: error</title>\n</head>\n<body>\n<main>\n<h1>No trace</h1>\n"
	    "<p role=\"alert\">") < 0 || html_str(o, msg) < 0 || out_puts(o, "</p>\n</main>\n") < 0)
		return -1;
	return html_foot(o);
}

const struct renderer render_html = {
	.name = "html",
	.content_type = "text/html; charset=utf-8",
	.begin = html_begin,
	.hop = html_hop,
	.end = html_end,
	.fail = html_fail,
	.error = html_error,
};
