/*
 * Per-hop statistics as mtr shows them (loss, min/avg/max RTT), and the
 * notes that explain silent hops (ICMP rate limiting), quoted-header
 * evidence (NAT, TTL changes, how replies were matched) and late answers.
 * Pure: hops in, numbers and sentences out.
 */
#ifndef TT_FCGI_HOPSTATS_H
#define TT_FCGI_HOPSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "proto.h"

#define HOPSTATS_TTL_MAX	255

/* What the summary needs of one hop once it is written. */
struct hopstats {
	struct tt_addr from;	/* the visitor if it answered, else the first router; 0: silent */
	struct tt_addr edst;	/* a quoted destination not the visitor's (NAT); family 0: none */
	uint32_t min_us, avg_us, max_us;	/* over the replies; 0 without replies */
	uint8_t sent;		/* probes sent; 0 for a TTL the broker never reported */
	uint8_t replies;
	uint8_t qttl;		/* a quoted TTL other than 1 (0: none seen) */
	uint8_t dest;		/* the visitor answered at this hop */
	uint8_t flags;		/* PROTO_RF_* of any of its replies: how they were matched */
	uint8_t late;		/* answers after the hop was settled: in none of the above */
	struct tt_addr reused;	/* a silent hop: the router a recent trace measured there; 0: none */
	uint32_t reused_age_ms;	/* how long before the hop settled it answered */
};

/* A late answer kept for the notes at the end. */
struct hopstats_late {
	int ttl;
	struct tt_addr from;
	uint32_t rtt_us;
	enum reply_kind kind;
	uint32_t code;
};

#define HOPSTATS_LATE_MAX	32	/* late answers a trace keeps for its notes; the rest are counted */

/* A reply flag (PROTO_RF_*): its name in JSON lines and Atlas, and what it says in words. */
struct hopstats_flag {
	uint8_t bit;
	const char *name;	/* "id-changed" */
	const char *text;	/* "the quoted IPv4 id was rewritten on the way (a NAT or firewall)" */
};

#define HOPSTATS_NFLAGS 5
/* Every flag this version knows, in bit order. */
extern const struct hopstats_flag hopstats_flags[HOPSTATS_NFLAGS];

struct render_state;

/*
 * A hop as it was settled: in_time gets h without its late answers
 * (PROTO_RF_LATE), which every format keeps apart from the others (a late
 * answer is a lost probe in the numbers). Returns how many h has.
 */
int hopstats_in_time(const struct proto_hop *h, struct proto_hop *in_time);
/* Fills s from a hop's answers in time; its late ones are only counted. */
void hopstats_of(const struct proto_hop *h, struct hopstats *s);
/* Records a written hop in the running state (stats, silent and partial hops, the visitor). */
void hopstats_record(struct render_state *st, const struct proto_hop *h);
/* Loss in tenths of a percent (333 is 33.3 %); a hop never reported counts as all lost. */
int hopstats_loss(const struct hopstats *s);
/* "33.3%" */
const char *hopstats_fmt_loss(const struct hopstats *s, char *buf, size_t len);
/* Microseconds as milliseconds with 3 decimals: "1.210". */
const char *hopstats_fmt_ms(uint64_t us, char *buf, size_t len);
/* A reused router's age for people: "850 ms", "3 s" (whole seconds from 1 s on). */
const char *hopstats_fmt_age(uint32_t ms, char *buf, size_t len);
/* The reused router a hop shows, or NULL: only a hop with no answer in time has one. */
const struct tt_addr *hopstats_reused(const struct proto_hop *h);

/*
 * The notes on the hops written so far, one sentence each, in TTL order:
 * silent hops before a hop that answered (the router does not answer or
 * rate-limits its answers; the path is not broken there), hops that
 * answered some probes only, quoted destinations other than the visitor's
 * (NAT), quoted TTLs other than 1, how replies were matched (each
 * flag once for a run of hops), and the late answers of each hop. *pos
 * starts at 0; each call writes the next note into buf and returns 1, or
 * returns 0 when there is none.
 */
int hopstats_note(const struct render_state *st, int *pos, char *buf, size_t len);

#endif
