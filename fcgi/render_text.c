/*
 * traceroute(8)-style text, for people and for tools that already read
 * traceroute's output: its hop lines as they settle, then a summary with
 * mtr-like statistics, notes on silent hops, the permalink and privacy.
 */
#include "render.h"

#include <stdio.h>
#include <string.h>

#include "hopstats.h"
#include "render_common.h"

static int
text_begin(struct out *o, struct render_trace *t)
{
	char c[ADDR_STRLEN], s[ADDR_STRLEN], note[256];
	const char *proxy = render_proxy_note(t, note, sizeof(note));

	addr_format(&t->conn.client, c);
	addr_format(&t->conn.server, s);
	if (out_puts(o, "traceroute to ") < 0 || text_safe(o, c) < 0 || out_puts(o, " (") < 0 ||
	    text_safe(o, c) < 0 || out_printf(o, ") port %u, from ", t->conn.cport) < 0 ||
	    text_safe(o, s) < 0 || out_printf(o, " port %u, trace ", t->conn.sport) < 0 ||
	    text_safe(o, t->id) < 0 || out_puts(o, "\n") < 0)
		return -1;
	/* A fleet's trace: which of its servers traced it. */
	if (t->vantage[0] && (out_puts(o, "vantage: ") < 0 || text_safe(o, t->vantage) < 0 ||
	    out_puts(o, "\n") < 0))
		return -1;
	/* Before the hops: whoever reads the last one must know it is not the visitor. */
	if (proxy && (out_puts(o, "note: ") < 0 || text_safe(o, proxy) < 0 ||
	    out_puts(o, "\n") < 0))
		return -1;
	return 0;
}

static bool
same_stack(const struct proto_reply *a, const struct proto_reply *b)
{
	if (a->nmpls != b->nmpls)
		return false;
	for (int i = 0; i < a->nmpls && i < PROTO_MAX_MPLS; i++)
		if (a->mpls[i].label != b->mpls[i].label || a->mpls[i].exp != b->mpls[i].exp ||
		    a->mpls[i].s != b->mpls[i].s || a->mpls[i].ttl != b->mpls[i].ttl)
			return false;
	return true;
}

/*
 * The MPLS label stack as traceroute -e prints it, " <MPLS:L=24001,E=0,S=1,T=1/...>",
 * after the first reply that carries it: once for the same router and stack.
 */
static int
mpls(struct out *o, const struct proto_reply *r, const struct proto_reply *prev)
{
	if (r->nmpls <= 0 || (prev && addr_equal(&prev->from, &r->from) && same_stack(prev, r)))
		return 0;
	if (out_puts(o, " <MPLS:") < 0)
		return -1;
	for (int i = 0; i < r->nmpls && i < PROTO_MAX_MPLS; i++)
		if (out_printf(o, "%sL=%u,E=%u,S=%u,T=%u", i ? "/" : "", r->mpls[i].label,
		    r->mpls[i].exp, r->mpls[i].s, r->mpls[i].ttl) < 0)
			return -1;
	return out_puts(o, ">");
}

/* "r1.example.net (192.0.2.1)" as traceroute prints it when the name is known, else the address. */
static int
host(struct out *o, const struct render_trace *t, const struct tt_addr *a)
{
	const struct render_info *e = render_info_find(t, a);
	char b[ADDR_STRLEN];

	addr_format(a, b);
	if (e == NULL || e->name[0] == '\0')
		return text_safe(o, b);
	if (text_safe(o, e->name) < 0 || out_puts(o, " (") < 0 || text_safe(o, b) < 0)
		return -1;
	return out_puts(o, ")");
}

/*
 * " 1  r1.example.net (192.0.2.1)  0.412 ms  0.398 ms *": an address when
 * it changes (with its name when known), an RTT per reply, a star per
 * probe that got none: the hop as it was settled, as traceroute prints it.
 * A silent hop may name the router a recent trace measured there, marked
 * "(reused, 3 s old)". Answers that came later are in the notes at the end.
 */
static int
text_hop(struct out *o, struct render_trace *t, const struct proto_hop *all)
{
	struct proto_hop in_time, *hop = &in_time;
	char m[16];
	int stars;

	hopstats_in_time(all, &in_time);
	stars = hop->sent - hop->nreplies;
	hopstats_record(&t->st, all);
	if (out_printf(o, "%2d ", hop->ttl) < 0)
		return -1;
	for (int i = 0; i < hop->nreplies; i++) {
		const struct proto_reply *r = &hop->r[i];

		if ((i == 0 || !addr_equal(&r->from, &hop->r[i - 1].from)) &&
		    (out_puts(o, " ") < 0 || host(o, t, &r->from) < 0))
			return -1;
		if (out_printf(o, "  %u.%03u ms%s", r->rtt_us / 1000, r->rtt_us % 1000,
		    render_mark(r, m, sizeof(m))) < 0 || mpls(o, r, i ? r - 1 : NULL) < 0)
			return -1;
	}
	/* A silent hop's reused router, with its age and never an RTT: not measured now. */
	if (hopstats_reused(all) && (out_puts(o, " ") < 0 || host(o, t, &all->reused) < 0 ||
	    out_printf(o, " (reused, %s old)", hopstats_fmt_age(all->reused_age_ms, m,
	    sizeof(m))) < 0))
		return -1;
	/* A hop the broker never reported still shows as silent. */
	if (hop->nreplies == 0 && stars < 1)
		stars = 1;
	for (int i = 0; i < stars; i++)
		if (out_puts(o, " *") < 0)
			return -1;
	return out_puts(o, "\n");
}

/* The mtr-like table: one row per hop, the first answering address, loss and RTTs. */
static int
stats_table(struct out *o, const struct render_state *st)
{
	char a[ADDR_STRLEN], sent[8], lost[8], loss[16], mn[24], av[24], mx[24];
	int w = 7;	/* "address" */

	for (int ttl = 1; ttl <= st->hops; ttl++) {
		int n = (int)strlen(addr_format(&st->hs[ttl].from, a));

		if (st->hs[ttl].replies && n > w)
			w = n;
	}
	if (out_printf(o, "\nhop  %-*s  sent  lost    loss    min ms    avg ms    max ms\n", w,
	    "address") < 0)
		return -1;
	for (int ttl = 1; ttl <= st->hops; ttl++) {
		const struct hopstats *s = &st->hs[ttl];

		if (s->replies) {
			addr_format(&s->from, a);
			hopstats_fmt_ms(s->min_us, mn, sizeof(mn));
			hopstats_fmt_ms(s->avg_us, av, sizeof(av));
			hopstats_fmt_ms(s->max_us, mx, sizeof(mx));
		} else {
			strcpy(a, "*");
			strcpy(mn, "-");
			strcpy(av, "-");
			strcpy(mx, "-");
		}
		/* A TTL the broker never reported: how many probes it had is not known. */
		if (s->sent == 0) {
			strcpy(sent, "?");
			strcpy(lost, "?");
		} else {
			snprintf(sent, sizeof(sent), "%d", s->sent);
			snprintf(lost, sizeof(lost), "%d", s->sent - s->replies);
		}
		if (out_printf(o, "%3d  ", ttl) < 0 || text_safe(o, a) < 0 ||
		    out_printf(o, "%*s  %4s  %4s  %6s  %8s  %8s  %8s\n", w - (int)strlen(a), "",
		    sent, lost, hopstats_fmt_loss(s, loss, sizeof(loss)), mn, av, mx) < 0)
			return -1;
	}
	return 0;
}

/*
 * What INFO and NAME said, one line per address in path order, those with
 * a name or a place: "  2  203.0.113.1   r2.example.net, Frankfurt, Germany,
 * AS64500 Example Transit". The hop is the first that showed the address.
 */
static int
details(struct out *o, const struct render_trace *t)
{
	const struct render_info *list[RENDER_INFO_ADDRS];
	char a[ADDR_STRLEN], hop[8], place[400];
	int n = render_info_sorted(t, list), w = 7, rows = 0;

	for (int i = 0; i < n; i++) {
		int k = (int)strlen(addr_format(&list[i]->addr, a));

		if (render_info_known(list[i], false) && k > w)
			w = k;
	}
	for (int i = 0; i < n; i++) {
		const struct render_info *e = list[i];

		if (!render_info_known(e, false))
			continue;
		if (rows++ == 0 && out_printf(o, "\nhop  %-*s  details\n", w, "address") < 0)
			return -1;
		addr_format(&e->addr, a);
		if (e->ttl)
			snprintf(hop, sizeof(hop), "%d", e->ttl);
		else
			strcpy(hop, "-");
		render_place(e, place, sizeof(place));
		if (out_printf(o, "%3s  ", hop) < 0 || text_safe(o, a) < 0 ||
		    out_printf(o, "%*s  ", w - (int)strlen(a), "") < 0 ||
		    text_safe(o, e->name) < 0 ||
		    (e->name[0] && place[0] && out_puts(o, ", ") < 0) || text_safe(o, place) < 0 ||
		    out_puts(o, "\n") < 0)
			return -1;
	}
	return 0;
}

static int
text_end(struct out *o, struct render_trace *t, const struct proto_msg *m)
{
	const char *why = render_end_reason(t, m->code), *p = render_prefix(t);
	int stored = render_stored(t, m), pos = 0;
	char note[1024], priv[256];

	if (out_puts(o, "end: ") < 0 || text_safe(o, why ? why : m->code) < 0 ||
	    out_printf(o, "; %d %s in %llu.%03llu ms\n", m->hops, m->hops == 1 ? "hop" : "hops",
	    (unsigned long long)(m->duration_us / 1000),
	    (unsigned long long)(m->duration_us % 1000)) < 0)
		return -1;
	if (t->st.hops > 0 && stats_table(o, &t->st) < 0)
		return -1;
	if (details(o, t) < 0)
		return -1;
	if (out_puts(o, "\n") < 0)
		return -1;
	while (hopstats_note(&t->st, &pos, note, sizeof(note)))
		if (out_puts(o, "note: ") < 0 || text_safe(o, note) < 0 || out_puts(o, "\n") < 0)
			return -1;
	/* The live result above is whole either way; only the history lacks it. */
	if (t->unstored && out_puts(o, "note: this trace was not stored (the tracing helper "
	    "has no usable database: none set, read-only or full)\n") < 0)
		return -1;
	if (!t->unstored && m->stored == 0 && out_puts(o, "note: this trace was not stored "
	    "(a database write failed during the trace)\n") < 0)
		return -1;
	if (stored) {
		if (out_puts(o, "permalink: ") < 0 || text_safe(o, p) < 0 ||
		    out_puts(o, "/trace/") < 0 || text_safe(o, t->id) < 0 || out_puts(o, "\n") < 0)
			return -1;
		if (t->token[0] && (out_puts(o, "delete: with the token ") < 0 ||
		    text_safe(o, t->token) < 0 || out_puts(o, ", send DELETE ") < 0 ||
		    text_safe(o, p) < 0 || out_puts(o, "/trace/") < 0 || text_safe(o, t->id) < 0 ||
		    out_puts(o, " with the header \"X-Delete-Token: ") < 0 ||
		    text_safe(o, t->token) < 0 || out_puts(o, "\", or POST the form token=") < 0 ||
		    text_safe(o, t->token) < 0 || out_puts(o, " to ") < 0 || text_safe(o, p) < 0 ||
		    out_puts(o, "/trace/") < 0 || text_safe(o, t->id) < 0 ||
		    out_puts(o, "/delete\n") < 0))
			return -1;
	}
	if (render_privacy(t, stored, priv, sizeof(priv)) &&
	    (out_puts(o, "privacy: ") < 0 || text_safe(o, priv) < 0 || out_puts(o, "\n") < 0))
		return -1;
	return 0;
}

static int
text_error(struct out *o, const char *msg)
{
	if (out_puts(o, "error: ") < 0 || text_safe(o, msg) < 0)
		return -1;
	return out_puts(o, "\n");
}

/* A break after the head reads like an error before it: the visitor sees why it stopped. */
static int
text_fail(struct out *o, struct render_trace *t, const char *msg)
{
	(void)t;
	return text_error(o, msg);
}

const struct renderer render_text = {
	.name = "text",
	.content_type = "text/plain; charset=utf-8",
	.begin = text_begin,
	.hop = text_hop,
	.end = text_end,
	.fail = text_fail,
	.error = text_error,
};
