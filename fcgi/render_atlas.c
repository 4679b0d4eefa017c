/*
 * One RIPE Atlas traceroute result (docs/formats.md), streamed: the header
 * and "result":[ first, a hop element as each hop settles, endtime last.
 * Field meanings follow the Atlas probe's own traceroute (eperd), so tools
 * that read Atlas results (RIPE's sagan and others) read ours.
 */
#include "render.h"

#include <stdio.h>
#include <sys/socket.h>

#include "hopstats.h"
#include "render_common.h"

/*
 * The result format version: sagan and Atlas's documentation branch on fw.
 * Below 4460 a result names the family "pf"; from 5000 on the format is
 * the current one (af, ittl, edst, icmpext ...), which this file writes.
 */
#define ATLAS_FW	5000
/* Our probes carry one byte of TCP payload; Atlas's size is the payload after the headers. */
#define ATLAS_SIZE	1

static int
atlas_begin(struct out *o, struct render_trace *t)
{
	char c[ADDR_STRLEN], s[ADDR_STRLEN];

	if (out_printf(o, "{\"fw\":%d,\"af\":%d,\"dst_addr\":", ATLAS_FW,
	    t->conn.client.family == AF_INET6 ? 6 : 4) < 0 ||
	    json_str(o, addr_format(&t->conn.client, c)) < 0 ||
	    out_puts(o, ",\"src_addr\":") < 0 || json_str(o, addr_format(&t->conn.server, s)) < 0)
		return -1;
	/* The fleet's server that traced it, in a field of ours (docs/fleet.md). */
	if (t->vantage[0] && (out_puts(o, ",\"x-vantage\":") < 0 || json_str(o, t->vantage) < 0))
		return -1;
	return out_printf(o, ",\"proto\":\"TCP\",\"timestamp\":%llu,\"type\":\"traceroute\","
	    "\"paris_id\":0,\"size\":%d,\"result\":[", (unsigned long long)(t->started_ms / 1000),
	    ATLAS_SIZE);
}

/*
 * "err" as the Atlas probe writes it for a destination unreachable: a
 * letter for the codes it knows, else the code as a number. The port
 * unreachable letter is the one of its ICMP mode ("p"), where it does not
 * mean the trace arrived.
 */
static int
atlas_err(struct out *o, int family, uint32_t code)
{
	const char *l = NULL;

	if (family == AF_INET6) {
		switch (code) {
		case 0: l = "N"; break;		/* no route */
		case 1: l = "A"; break;		/* administratively prohibited */
		case 2: l = "h"; break;		/* beyond the scope of the source */
		case 3: l = "H"; break;		/* address unreachable */
		case 4: l = "p"; break;		/* port unreachable */
		}
	} else {
		switch (code) {
		case 0: l = "N"; break;
		case 1: l = "H"; break;
		case 2: l = "P"; break;		/* protocol unreachable */
		case 3: l = "p"; break;
		case 13: l = "A"; break;	/* communication administratively prohibited */
		}
	}
	if (l)
		return out_printf(o, ",\"err\":\"%s\"", l);
	return out_printf(o, ",\"err\":%u", code);
}

/*
 * Atlas's reply size is what follows the IP header (20 bytes, or 40 for
 * IPv6) and the ICMP header (8), or the TCP header (20) for the visitor's
 * own answer: the probe counts it so. 0 when the size is not known.
 */
static unsigned
atlas_size(const struct proto_reply *r, int family)
{
	unsigned hdr = (family == AF_INET6 ? 40 : 20) + (r->kind == REPLY_DESTINATION ? 20 : 8);

	return r->size > hdr ? r->size - hdr : 0;
}

static int
atlas_reply(struct out *o, const struct render_trace *t, const struct proto_reply *r)
{
	int family = t->conn.client.family;
	char a[ADDR_STRLEN];
	unsigned size = atlas_size(r, family);

	if (out_puts(o, "{\"from\":") < 0 || json_str(o, addr_format(&r->from, a)) < 0 ||
	    out_printf(o, ",\"rtt\":%u.%03u", r->rtt_us / 1000, r->rtt_us % 1000) < 0 ||
	    (size && out_printf(o, ",\"size\":%u", size) < 0) ||
	    out_printf(o, ",\"ttl\":%u", r->reply_ttl) < 0)
		return -1;
	/* Atlas writes ittl only when the router saw a TTL other than 1; 0 here means none quoted. */
	if (r->quoted_ttl > 1 && out_printf(o, ",\"ittl\":%u", r->quoted_ttl) < 0)
		return -1;
	if (r->kind == REPLY_UNREACHABLE && atlas_err(o, family, r->code) < 0)
		return -1;
	if (r->kind == REPLY_PACKET_TOO_BIG && out_printf(o, ",\"mtu\":%u", r->code) < 0)
		return -1;
	if (r->edst.family != 0 && (out_puts(o, ",\"edst\":") < 0 ||
	    json_str(o, addr_format(&r->edst, a)) < 0))
		return -1;
	if (r->ext != PROTO_EXT_NONE) {
		if (out_printf(o, ",\"icmpext\":{\"version\":2,\"rfc4884\":%d,\"obj\":[",
		    r->ext == PROTO_EXT_RFC4884) < 0)
			return -1;
		if (r->nmpls > 0) {
			if (out_puts(o, "{\"class\":1,\"type\":1,\"mpls\":[") < 0)
				return -1;
			for (int i = 0; i < r->nmpls && i < PROTO_MAX_MPLS; i++)
				if (out_printf(o, "%s{\"label\":%u,\"exp\":%u,\"s\":%u,\"ttl\":%u}",
				    i ? "," : "", r->mpls[i].label, r->mpls[i].exp, r->mpls[i].s,
				    r->mpls[i].ttl) < 0)
					return -1;
			if (out_puts(o, "]}") < 0)
				return -1;
		}
		if (out_puts(o, "]}") < 0)
			return -1;
	}
	/*
	 * Not Atlas's own: how the reply was matched, as "x-" fields, which sagan
	 * ignores. A late answer says so by where it is (x-late), not by a flag.
	 */
	for (int i = 0; i < HOPSTATS_NFLAGS; i++)
		if ((r->flags & ~PROTO_RF_LATE & hopstats_flags[i].bit) &&
		    out_printf(o, ",\"x-%s\":true", hopstats_flags[i].name) < 0)
			return -1;
	return out_puts(o, "}");
}

/*
 * {"hop":N,"result":[reply ..., {"x":"*"} per probe that got no reply]}, one
 * a line: the hop as it was settled. A silent hop's reused router follows in
 * "x-reused":{"from","age"}, answers that came later (stored traces only) in
 * "x-late":[reply ...], ours and not Atlas's: readers of Atlas results see
 * the hop as before, a probe answered late as lost, no reply not measured.
 */
static int
atlas_hop(struct out *o, struct render_trace *t, const struct proto_hop *all)
{
	struct proto_hop hop;
	int late = hopstats_in_time(all, &hop), stars = hop.sent - hop.nreplies, n = 0;
	char a[ADDR_STRLEN];

	if (out_printf(o, "%s\n{\"hop\":%d,\"result\":[", t->st.hops ? "," : "", hop.ttl) < 0)
		return -1;
	hopstats_record(&t->st, all);
	for (int i = 0; i < hop.nreplies; i++)
		if ((n++ && out_puts(o, ",") < 0) || atlas_reply(o, t, &hop.r[i]) < 0)
			return -1;
	/* A TTL the broker never reported was probed all the same: one timeout at least. */
	if (hop.nreplies == 0 && stars < 1)
		stars = 1;
	for (int i = 0; i < stars; i++)
		if ((n++ && out_puts(o, ",") < 0) || out_puts(o, "{\"x\":\"*\"}") < 0)
			return -1;
	if (out_puts(o, "]") < 0)
		return -1;
	/* Ours, not Atlas's: a silent hop's remembered router; result stays all timeouts. */
	if (hopstats_reused(all) && (out_puts(o, ",\"x-reused\":{\"from\":") < 0 ||
	    json_str(o, addr_format(&all->reused, a)) < 0 ||
	    out_printf(o, ",\"age\":%u.%03u}", all->reused_age_ms / 1000,
	    all->reused_age_ms % 1000) < 0))
		return -1;
	for (int i = 0, k = 0; late && i < all->nreplies && i < PROTO_MAX_REPLIES; i++)
		if ((all->r[i].flags & PROTO_RF_LATE) && (out_puts(o, k++ ? "," :
		    ",\"x-late\":[") < 0 || atlas_reply(o, t, &all->r[i]) < 0))
			return -1;
	return out_puts(o, late ? "]}" : "}");
}

static int
atlas_end(struct out *o, struct render_trace *t, const struct proto_msg *m)
{
	uint64_t end_ms = t->started_ms + m->duration_us / 1000;

	return out_printf(o, "%s],\"endtime\":%llu}\n", t->st.hops ? "\n" : "",
	    (unsigned long long)(end_ms / 1000));
}

/* The document still closes, so it parses; "err" is where sagan looks for a result's error. */
static int
atlas_fail(struct out *o, struct render_trace *t, const char *msg)
{
	if (out_puts(o, t->st.hops ? "\n],\"err\":" : "],\"err\":") < 0 || json_str(o, msg) < 0)
		return -1;
	return out_puts(o, "}\n");
}

static int
atlas_error(struct out *o, const char *msg)
{
	if (out_puts(o, "{\"error\":") < 0 || json_str(o, msg) < 0)
		return -1;
	return out_puts(o, "}\n");
}

const struct renderer render_atlas = {
	.name = "atlas",
	.content_type = "application/json",
	.begin = atlas_begin,
	.hop = atlas_hop,
	.end = atlas_end,
	.fail = atlas_fail,
	.error = atlas_error,
};
