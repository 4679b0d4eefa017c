/* Per-hop statistics and the notes that explain them; shared by the text and HTML formats. */
#include "hopstats.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "render_common.h"

/* A flag the protocol gains must be named here too. */
_Static_assert(PROTO_RF_ALL == (1 << HOPSTATS_NFLAGS) - 1, "every reply flag has a name");

const struct hopstats_flag hopstats_flags[HOPSTATS_NFLAGS] = {
	{ PROTO_RF_ID_CHANGED, "id-changed",
	    "the quoted IPv4 id was rewritten on the way (a NAT or firewall)" },
	{ PROTO_RF_SEQ_SHIFTED, "seq-shifted",
	    "the quoted sequence number was shifted on the way (a firewall randomizing "
	    "sequence numbers)" },
	{ PROTO_RF_BY_COUNT, "by-count",
	    "the visitor's distance was inferred from duplicate ACKs without D-SACK" },
	{ PROTO_RF_AMBIGUOUS, "ambiguous",
	    "ambiguous: the visitor may be one hop nearer or further" },
	/* Not evidence: late answers are kept apart from the hop's others (hopstats_in_time). */
	{ PROTO_RF_LATE, "late",
	    "late: answered after the hop was settled" },
};

int
hopstats_in_time(const struct proto_hop *h, struct proto_hop *in_time)
{
	int n = h->nreplies < PROTO_MAX_REPLIES ? h->nreplies : PROTO_MAX_REPLIES, late = 0;

	in_time->ttl = h->ttl;
	in_time->sent = h->sent;
	in_time->at_us = h->at_us;
	in_time->reused = h->reused;
	in_time->reused_age_ms = h->reused_age_ms;
	in_time->nreplies = 0;
	for (int i = 0; i < n; i++) {
		if (h->r[i].flags & PROTO_RF_LATE)
			late++;
		else
			in_time->r[in_time->nreplies++] = h->r[i];
	}
	return late;
}

void
hopstats_of(const struct proto_hop *hop, struct hopstats *s)
{
	struct proto_hop h;
	uint64_t sum = 0;
	int late = hopstats_in_time(hop, &h), n = h.nreplies;

	memset(s, 0, sizeof(*s));
	s->late = (uint8_t)late;
	s->replies = (uint8_t)n;
	/* A broker never reports more replies than probes; if one did, the replies count. */
	s->sent = (uint8_t)(h.sent > 255 ? 255 : h.sent < n ? n : h.sent);
	for (int i = 0; i < n; i++) {
		const struct proto_reply *r = &h.r[i];

		if (i == 0 || r->rtt_us < s->min_us)
			s->min_us = r->rtt_us;
		if (r->rtt_us > s->max_us)
			s->max_us = r->rtt_us;
		sum += r->rtt_us;
		if (r->kind == REPLY_DESTINATION && !s->dest) {
			s->dest = 1;
			s->from = r->from;
		}
		if (s->edst.family == 0 && r->edst.family != 0)
			s->edst = r->edst;
		if (s->qttl == 0 && r->quoted_ttl > 1)
			s->qttl = r->quoted_ttl;
		s->flags |= r->flags;
	}
	if (n > 0) {
		s->avg_us = (uint32_t)((sum + (uint64_t)n / 2) / (uint64_t)n);
		if (!s->dest)
			s->from = h.r[0].from;
	} else if (hopstats_reused(hop) != NULL) {
		s->reused = hop->reused;
		s->reused_age_ms = hop->reused_age_ms;
	}
}

const struct tt_addr *
hopstats_reused(const struct proto_hop *h)
{
	if (h->reused.family == 0)
		return NULL;
	for (int i = 0; i < h->nreplies && i < PROTO_MAX_REPLIES; i++)
		if (!(h->r[i].flags & PROTO_RF_LATE))
			return NULL;
	return &h->reused;
}

const char *
hopstats_fmt_age(uint32_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%u ms", ms);
	else
		snprintf(buf, len, "%u s", ms / 1000);
	return buf;
}

void
hopstats_record(struct render_state *st, const struct proto_hop *h)
{
	struct hopstats *s;

	if (h->ttl < 1 || h->ttl > HOPSTATS_TTL_MAX)
		return;
	s = &st->hs[h->ttl];
	hopstats_of(h, s);
	if (h->ttl > st->hops)
		st->hops = h->ttl;
	/* Late answers for the notes, as many as are kept; hs[].late counts them all. */
	for (int i = 0; i < h->nreplies && i < PROTO_MAX_REPLIES; i++) {
		const struct proto_reply *r = &h->r[i];

		if (!(r->flags & PROTO_RF_LATE) || st->nlate == HOPSTATS_LATE_MAX)
			continue;
		st->late[st->nlate++] = (struct hopstats_late){ h->ttl, r->from, r->rtt_us,
		    r->kind, r->code };
	}
	if ((s->replies > 0 || s->late > 0) && h->ttl > st->last_heard)
		st->last_heard = h->ttl;
	if (s->replies == 0) {
		st->silent[(h->ttl - 1) / 64] |= 1ULL << ((h->ttl - 1) % 64);
		return;
	}
	if (h->ttl > st->last_answered)
		st->last_answered = h->ttl;
	if (s->replies < s->sent)
		st->partial++;
	if (s->dest && st->reached == 0)
		st->reached = h->ttl;
}

int
hopstats_loss(const struct hopstats *s)
{
	if (s->sent == 0)
		return s->replies ? 0 : 1000;
	return ((s->sent - s->replies) * 1000 + s->sent / 2) / s->sent;
}

const char *
hopstats_fmt_loss(const struct hopstats *s, char *buf, size_t len)
{
	int l = hopstats_loss(s);

	snprintf(buf, len, "%d.%d%%", l / 10, l % 10);
	return buf;
}

const char *
hopstats_fmt_ms(uint64_t us, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%03llu", (unsigned long long)(us / 1000),
	    (unsigned long long)(us % 1000));
	return buf;
}

/* Does a hop after ttl answer every probe it was sent? Then the loss at ttl is not on the path. */
static bool
later_whole(const struct render_state *st, int ttl)
{
	for (int i = ttl + 1; i <= st->hops && i <= HOPSTATS_TTL_MAX; i++)
		if (st->hs[i].replies > 0 && st->hs[i].replies >= st->hs[i].sent)
			return true;
	return false;
}

/*
 * A hop the silence notes speak of: no answer at all. One that answered
 * late only has a note of its own (late_note), as it does answer.
 */
static bool
quiet(const struct hopstats *s)
{
	return s->replies == 0 && s->late == 0;
}

/*
 * "hop 3: no answer in time; late, after the hop was settled: 192.0.2.3
 * 151.234 ms. ..." with every late answer kept of hop ttl.
 */
static int
late_note(const struct render_state *st, int ttl, char *buf, size_t len)
{
	static const char one[] = "A late answer counts as a lost probe above: it came, but "
	    "after the trace had stopped waiting for it.";
	static const char many[] = "Late answers count as lost probes above: they came, but "
	    "after the trace had stopped waiting for them.";
	const struct hopstats *s = &st->hs[ttl];
	char a[ADDR_STRLEN], ms[24], m[24], item[ADDR_STRLEN + 48];
	size_t k;
	int listed = 0;

	if (s->late == 0)
		return 0;
	if (s->replies == 0)
		k = (size_t)snprintf(buf, len, "hop %d: no answer in time; late, after the hop was "
		    "settled:", ttl);
	else
		k = (size_t)snprintf(buf, len, "hop %d: answered %d of %d probes in time; late, "
		    "after the hop was settled:", ttl, s->replies, s->sent);
	for (int i = 0; i < st->nlate && k < len; i++) {
		const struct hopstats_late *l = &st->late[i];
		struct proto_reply r = { .from = l->from, .kind = l->kind, .code = l->code };

		if (l->ttl != ttl)
			continue;
		snprintf(item, sizeof(item), "%s %s %s ms%s", listed ? "," : "",
		    addr_format(&l->from, a), hopstats_fmt_ms(l->rtt_us, ms, sizeof(ms)),
		    render_mark(&r, m, sizeof(m)));
		/* Room for the rest of the sentence: those that do not fit are counted. */
		if (k + strlen(item) + sizeof(many) + 24 > len)
			break;
		k += (size_t)snprintf(buf + k, len - k, "%s", item);
		listed++;
	}
	if (listed < s->late && k < len)
		k += (size_t)snprintf(buf + k, len - k, listed ? ", and %d more" : " %d answers",
		    s->late - listed);
	if (k < len)
		snprintf(buf + k, len - k, ". %s", s->late == 1 ? one : many);
	return 1;
}

/*
 * Notes per TTL, in this order: a run of silent hops (at its first TTL),
 * a reused router, loss, NAT, TTL, then one per reply flag (at the first TTL of a run),
 * the late answers last, in the place of their flag.
 */
enum { NOTE_SILENT, NOTE_REUSED, NOTE_PARTIAL, NOTE_NAT, NOTE_QTTL, NOTE_FLAG,
	NOTE_KINDS = NOTE_FLAG + HOPSTATS_NFLAGS };

static int
note_at(const struct render_state *st, int ttl, int kind, char *buf, size_t len)
{
	const struct hopstats *s = &st->hs[ttl];
	const struct hopstats_flag *f;
	char a[ADDR_STRLEN], e[ADDR_STRLEN];
	int end;

	switch (kind) {
	case NOTE_SILENT:
		if (!quiet(s) || (ttl > 1 && quiet(&st->hs[ttl - 1])))
			return 0;
		for (end = ttl; end < st->hops && quiet(&st->hs[end + 1]); end++)
			;
		/* Silence to the end of a trace that did not reach the visitor: where it stopped. */
		if (end >= st->last_heard) {
			if (end < st->hops || st->reached)
				return 0;
			if (end == ttl)
				snprintf(buf, len, "hop %d: no answer, and no hop after it: the "
				    "trace stopped there. A firewall may drop the probes, or the "
				    "routers from there on do not answer; the path itself may well "
				    "go on.", ttl);
			else
				snprintf(buf, len, "hops %d-%d: no answer, and no hop after them: "
				    "the trace stopped there. A firewall may drop the probes, or the "
				    "routers from there on do not answer; the path itself may well "
				    "go on.", ttl, end);
			return 1;
		}
		if (end == ttl)
			snprintf(buf, len, "hop %d: no answer, but later hops answered: the router "
			    "does not send time-exceeded or rate-limits it; the path is not broken "
			    "there.", ttl);
		else
			snprintf(buf, len, "hops %d-%d: no answer, but later hops answered: the "
			    "routers do not send time-exceeded or rate-limit it; the path is not "
			    "broken there.", ttl, end);
		return 1;
	case NOTE_REUSED:
		/* Not a measurement: where the router shown comes from, and why. */
		if (s->replies > 0 || s->reused.family == 0)
			return 0;
		snprintf(buf, len, "hop %d: no answer in this trace; %s is shown reused, not "
		    "measured now: it answered at this hop %s before, in a trace whose hops around "
		    "it were the same as here. Routers limit how often they answer this server, "
		    "which every trace's probes make them answer.", ttl, addr_format(&s->reused, a),
		    hopstats_fmt_age(s->reused_age_ms, e, sizeof(e)));
		return 1;
	case NOTE_PARTIAL:
		/* Every probe it lost was answered late: its late note says so. */
		if (s->replies == 0 || s->replies + s->late >= s->sent)
			return 0;
		/*
		 * Probes to the visitor carry bytes it already has; systems limit how
		 * often they answer such segments (Linux: tcp_invalid_ratelimit, 500 ms).
		 */
		if (s->dest)
			snprintf(buf, len, "hop %d (%s, the visitor): answered %d of %d probes: "
			    "systems limit how often they answer segments they already have "
			    "(Linux: once in 500 ms by default), so this is not loss.", ttl,
			    addr_format(&s->from, a), s->replies, s->sent);
		else if (later_whole(st, ttl))
			snprintf(buf, len, "hop %d: answered %d of %d probes, but a later hop "
			    "answered all of its probes: the router rate-limits its answers; no "
			    "packets are lost on the path there.", ttl, s->replies, s->sent);
		else if (ttl < st->last_answered)
			snprintf(buf, len, "hop %d: answered %d of %d probes, and later hops lost "
			    "probes too: there may be real loss from this hop on, or several "
			    "routers rate-limit their answers.", ttl, s->replies, s->sent);
		else
			snprintf(buf, len, "hop %d: answered %d of %d probes and no later hop "
			    "answered: the router may rate-limit its answers.", ttl, s->replies,
			    s->sent);
		return 1;
	case NOTE_NAT:
		/* Once for a run of hops behind the same translation. */
		if (s->edst.family == 0 ||
		    (ttl > 1 && addr_equal(&st->hs[ttl - 1].edst, &s->edst)))
			return 0;
		snprintf(buf, len, "hop %d (%s): the router quoted our probe with destination %s, "
		    "not the visitor's address: an address translator (NAT) between the server "
		    "and this hop rewrote it%s.", ttl, addr_format(&s->from, a),
		    addr_format(&s->edst, e), ttl < st->hops &&
		    addr_equal(&st->hs[ttl + 1].edst, &s->edst) ? " (the hops after it quote the "
		    "same)" : "");
		return 1;
	case NOTE_QTTL:
		if (s->qttl == 0)
			return 0;
		snprintf(buf, len, "hop %d (%s): our probe arrived there with TTL %d, not 1: a "
		    "middlebox or tunnel before it changes TTLs, so hop numbers near it may be "
		    "off.", ttl, addr_format(&s->from, a), s->qttl);
		return 1;
	default:	/* NOTE_FLAG + i: hopstats_flags[i], once for a run of hops */
		f = &hopstats_flags[kind - NOTE_FLAG];
		if (f->bit == PROTO_RF_LATE)
			return late_note(st, ttl, buf, len);
		if (!(s->flags & f->bit) || (ttl > 1 && (st->hs[ttl - 1].flags & f->bit)))
			return 0;
		for (end = ttl; end < st->hops && (st->hs[end + 1].flags & f->bit); end++)
			;
		if (end == ttl)
			snprintf(buf, len, "hop %d (%s): %s.", ttl, addr_format(&s->from, a), f->text);
		else
			snprintf(buf, len, "hops %d-%d: %s.", ttl, end, f->text);
		return 1;
	}
}

int
hopstats_note(const struct render_state *st, int *pos, char *buf, size_t len)
{
	if (*pos < NOTE_KINDS)
		*pos = NOTE_KINDS;	/* TTL 0 does not exist */
	for (; *pos / NOTE_KINDS <= st->hops && *pos / NOTE_KINDS <= HOPSTATS_TTL_MAX; (*pos)++) {
		if (note_at(st, *pos / NOTE_KINDS, *pos % NOTE_KINDS, buf, len)) {
			(*pos)++;
			return 1;
		}
	}
	return 0;
}
