/*
 * The original TraceTrout's JSON lines: one object per hop and nothing else,
 * so its clients keep working. Fields may be added, never removed or renamed.
 */
#include "render.h"

#include <stdbool.h>

#include "render_common.h"

/* The reply a hop is shown by: the visitor's own answer if it came, else the first. */
static const struct proto_reply *
primary(const struct proto_hop *hop)
{
	for (int i = 0; i < hop->nreplies; i++)
		if (hop->r[i].kind == REPLY_DESTINATION)
			return &hop->r[i];
	return hop->nreplies > 0 ? &hop->r[0] : NULL;
}

/*
 * host and info describe ip, and are what is known when the line is
 * written: one line per hop, as the original, so what comes later is not
 * added. info is the service's body as the broker passed it on, checked
 * and compacted to one line when it arrived (json_compact).
 */
/*
 * A live trace's body starts with one space, sent with the head. JSON lines
 * have nothing else to send before the first hop, and Apache (and nginx over
 * HTTP/2) hold a head back until body bytes follow it: no segment would
 * leave, and the helper learns the connection from the first one. A space
 * before a JSON value is JSON's own whitespace, so the first line still
 * parses as the original's clients parse it.
 */
static int
json_begin(struct out *o, struct render_trace *t)
{
	return t->live ? out_puts(o, " ") : 0;
}

/* ,"vantage":"fra1": the fleet's server that traced it, on every line (docs/fleet.md). */
static int
vantage(struct out *o, const struct render_trace *t)
{
	if (t->vantage[0] == '\0')
		return 0;
	return out_puts(o, ",\"vantage\":") < 0 ? -1 : json_str(o, t->vantage);
}

/* ,"evidence":[...]: how replies were matched, when not plainly; every flag once, in bit order. */
static int
evidence(struct out *o, int flags)
{
	flags &= ~PROTO_RF_LATE;	/* not evidence: late answers are listed apart */
	if (flags == 0)
		return 0;
	if (out_puts(o, ",\"evidence\":[") < 0)
		return -1;
	for (int i = 0, n = 0; i < HOPSTATS_NFLAGS; i++)
		if ((flags & hopstats_flags[i].bit) && out_printf(o, "%s\"%s\"", n++ ? "," : "",
		    hopstats_flags[i].name) < 0)
			return -1;
	return out_puts(o, "]");
}

/*
 * ,"late":[{"ip":"192.0.2.3","rtt":151.234}, ...]: the answers that came
 * after the hop was settled (stored traces only), each with its evidence.
 * They are in none of the original's fields: its clients see the hop as
 * it was settled, a probe answered late as lost.
 */
static int
late(struct out *o, const struct proto_hop *hop)
{
	char a[ADDR_STRLEN];
	int n = 0;

	for (int i = 0; i < hop->nreplies && i < PROTO_MAX_REPLIES; i++) {
		const struct proto_reply *r = &hop->r[i];

		if (!(r->flags & PROTO_RF_LATE))
			continue;
		if (out_puts(o, n++ ? ",{\"ip\":" : ",\"late\":[{\"ip\":") < 0 ||
		    json_str(o, addr_format(&r->from, a)) < 0 ||
		    out_printf(o, ",\"rtt\":%u.%03u", r->rtt_us / 1000, r->rtt_us % 1000) < 0 ||
		    evidence(o, r->flags) < 0 || out_puts(o, "}") < 0)
			return -1;
	}
	return n ? out_puts(o, "]") : 0;
}

/*
 * ,"reused":{"ip":"203.0.113.2","age":3.012}: the router a recent trace
 * measured at a silent hop's TTL, and how long before (s). The hop stays
 * {"ttl":N,"timeout":true}: the original's clients see no measurement that
 * was not made.
 */
static int
reused(struct out *o, const struct proto_hop *hop)
{
	const struct tt_addr *r = hopstats_reused(hop);
	char a[ADDR_STRLEN];

	if (r == NULL)
		return 0;
	if (out_puts(o, ",\"reused\":{\"ip\":") < 0 || json_str(o, addr_format(r, a)) < 0)
		return -1;
	return out_printf(o, ",\"age\":%u.%03u}", hop->reused_age_ms / 1000,
	    hop->reused_age_ms % 1000);
}

static int
json_hop(struct out *o, struct render_trace *t, const struct proto_hop *all)
{
	const struct render_info *e;
	const struct proto_reply *p;
	struct proto_hop in_time, *hop = &in_time;
	char a[ADDR_STRLEN];
	int naddrs = 0, flags = 0;

	hopstats_in_time(all, &in_time);
	if ((p = primary(hop)) == NULL)
		return out_printf(o, "{\"ttl\":%d,\"timeout\":true", hop->ttl) < 0 ||
		    reused(o, all) < 0 || late(o, all) < 0 || vantage(o, t) < 0 ? -1 :
		    out_puts(o, "}\n");
	e = render_info_find(t, &p->from);
	/* Addresses come validated from the broker; escaped all the same, as every string is. */
	if (out_printf(o, "{\"ttl\":%d,\"ip\":", hop->ttl) < 0 ||
	    json_str(o, addr_format(&p->from, a)) < 0)
		return -1;
	if (e && e->name[0] && (out_puts(o, ",\"host\":") < 0 || json_str(o, e->name) < 0))
		return -1;
	if (out_puts(o, ",\"rtt\":[") < 0)
		return -1;
	for (int i = 0; i < hop->nreplies; i++) {
		if (out_printf(o, "%s%u.%03u", i ? "," : "", hop->r[i].rtt_us / 1000,
		    hop->r[i].rtt_us % 1000) < 0)
			return -1;
		if (!render_seen_before(hop, i))
			naddrs++;
		flags |= hop->r[i].flags;
	}
	if (out_puts(o, "]") < 0)
		return -1;
	/* Several routers answered (load balancing): list them all, first seen first. */
	if (naddrs > 1) {
		if (out_puts(o, ",\"ips\":[") < 0)
			return -1;
		for (int i = 0, n = 0; i < hop->nreplies; i++) {
			if (render_seen_before(hop, i))
				continue;
			if ((n++ && out_puts(o, ",") < 0) ||
			    json_str(o, addr_format(&hop->r[i].from, a)) < 0)
				return -1;
		}
		if (out_puts(o, "]") < 0)
			return -1;
	}
	if (evidence(o, flags) < 0 || late(o, all) < 0)
		return -1;
	if (e && e->body && (out_puts(o, ",\"info\":") < 0 ||
	    o->write(o->ctx, e->body, e->body_len) < 0))
		return -1;
	return vantage(o, t) < 0 ? -1 : out_puts(o, "}\n");
}

static int
json_error(struct out *o, const char *msg)
{
	if (out_puts(o, "{\"error\":") < 0 || json_str(o, msg) < 0)
		return -1;
	return out_puts(o, "}\n");
}

const struct renderer render_json = {
	.name = "json",
	.content_type = "application/json",
	/*
	 * No preamble but a space, no summary and no error lines: clients parse
	 * every line as a hop, and the last hop line is the visitor. Errors
	 * after the head go to the log only.
	 */
	.begin = json_begin,
	.hop = json_hop,
	.end = NULL,
	.fail = NULL,
	.error = json_error,
};
