/* The broker's line protocol (docs/protocol.md): parsing and formatting, shared by both ends. */
#ifndef TT_COMMON_PROTO_H
#define TT_COMMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PROTO_VERSION	1
#define PROTO_LINE_MAX	4096	/* a HOP with MPLS labels, or a history ITEM, needs more than 1024 */
#define PROTO_REQUEST_MAX 1024	/* a request line (TRACE, GET, ...): the broker reads no more */
#define PROTO_MAX_REPLIES 16
#define PROTO_MAX_MPLS	4	/* label stack entries kept per reply, top first */
#define PROTO_ID_LEN	32	/* hex digits of a trace id or a delete token */
#define PROTO_HISTORY_MAX 100	/* ITEMs per HISTORY answer */
#define PROTO_QUERY_MAX	1000	/* ITEMs per QUERY answer */
/* A fleet's server name (vantage=): letters, digits, '.', '-' and '_', as host names are. */
#define PROTO_VANTAGE_MAX	63

enum reply_kind {
	REPLY_TIME_EXCEEDED = 1,
	REPLY_UNREACHABLE,
	REPLY_PACKET_TOO_BIG,
	REPLY_DESTINATION,
};

/* One MPLS label stack entry (RFC 4950) as a router quoted it. */
struct proto_mpls {
	uint32_t label;		/* 20 bits */
	uint8_t exp, s, ttl;	/* traffic class (3 bits), bottom of stack, the entry's TTL */
};

enum proto_ext {
	PROTO_EXT_NONE = 0,	/* no ICMP extension structure */
	PROTO_EXT_LEGACY,	/* at offset 128 without the RFC 4884 length (older routers) */
	PROTO_EXT_RFC4884,	/* placed by the RFC 4884 length field */
};

struct proto_reply {
	struct tt_addr from;
	uint32_t rtt_us;
	enum reply_kind kind;
	uint32_t code;		/* ICMP code; the MTU for packet-too-big */
	uint8_t reply_ttl;
	uint8_t quoted_ttl;	/* the TTL the router saw on our probe (1 normally); 0: none quoted */
	uint16_t size;		/* bytes of the reply as it arrived, IP header included; 0: not known */
	enum proto_ext ext;	/* the ICMP extension structure, if any */
	int nmpls;		/* MPLS label stack entries in mpls, top first */
	struct proto_mpls mpls[PROTO_MAX_MPLS];
	struct tt_addr edst;	/* the quoted destination when it is not the visitor's (NAT); family 0 otherwise */
	uint8_t flags;		/* PROTO_RF_*: how the reply was matched, when not plainly */
};

/* How a reply was matched to its probe, when not plainly (docs/engine.md). */
#define PROTO_RF_ID_CHANGED	0x01	/* the quoted IPv4 id is not the probe's: a middlebox rewrote it */
#define PROTO_RF_SEQ_SHIFTED	0x02	/* the quoted seq is the probe's shifted by the path's offset */
#define PROTO_RF_BY_COUNT	0x04	/* the visitor's duplicate ACK named no probe (no D-SACK): counted */
#define PROTO_RF_AMBIGUOUS	0x08	/* counted, but the count fits no distance exactly */
#define PROTO_RF_LATE		0x10	/* it came after its hop was settled: kept in the stored trace only */
#define PROTO_RF_ALL		0x1f	/* every flag this version knows; a HOP with others is refused */

struct proto_hop {
	int ttl;
	int sent;
	int nreplies;
	uint64_t at_us;		/* when the hop settled, µs since the epoch; 0: not known (stored) */
	struct proto_reply r[PROTO_MAX_REPLIES];
	/*
	 * A hop without replies may show the router that a recent trace
	 * measured at its TTL, through the same neighbouring hops (docs/engine.md,
	 * "ICMP budget and reuse"): not a measurement, never a reply. Family 0: none.
	 */
	struct tt_addr reused;
	uint32_t reused_age_ms;	/* how long before the hop settled that router answered */
};

#define PROTO_REUSED_AGE_MAX	3600000u	/* ms: older answers are never reused (an hour, ample) */

/*
 * Why a trace is taken to end at a proxy in front of the server rather than
 * at the visitor: a header the app saw, or the broker's list (docs/protocol.md).
 */
enum proto_proxy {
	PROTO_PROXY_NONE = 0,
	PROTO_PROXY_FORWARDED,	/* Forwarded (RFC 7239) */
	PROTO_PROXY_XFF,	/* X-Forwarded-For */
	PROTO_PROXY_VIA,	/* Via */
	PROTO_PROXY_LISTED,	/* the client address is in the helper's proxies list */
};

struct proto_trace_req {
	struct tt_addr client, server;
	uint16_t cport, sport;
	int nostore;		/* TRACE store=0: the visitor asked not to keep it */
	int nonames;		/* TRACE names=0: no reverse DNS names for this trace */
	int wait;		/* TRACE wait=1: END only after the trace's hop look-ups */
	enum proto_proxy proxy;	/* TRACE, STARTED, STORED: proxy=WHY */
};

#define PROTO_INFO_MAX	(1024 * 1024)	/* an INFO body's len= at most */
#define PROTO_NAME_MAX	253		/* a DNS name */

/* What INFO says of an address besides its body: the common fields of info services. */
struct proto_info {
	char country[64];	/* "United States"; "" unknown */
	char city[64];
	char asn[16];		/* "AS15169" */
	char org[128];
};

enum proto_verb {
	PROTO_BAD = 0,		/* unparsable */
	PROTO_GREETING,		/* TRACETROUT <version> */
	PROTO_TRACE,
	PROTO_PING,
	PROTO_PONG,
	PROTO_STARTED,
	PROTO_HOP,
	PROTO_END,
	PROTO_ERROR,
	PROTO_STATUS,		/* the request (no keys), or the answer with counters */
	PROTO_GET,		/* GET id=: a stored trace */
	PROTO_STORED,		/* the answer to GET, before its HOPs and END */
	PROTO_HISTORY,		/* HISTORY client= [before=] [limit=]: one visitor's traces */
	PROTO_ITEM,		/* one trace of a HISTORY answer */
	PROTO_LIST,		/* the last line of a HISTORY answer */
	PROTO_DELETE,		/* DELETE id= token=: the visitor deletes a trace */
	PROTO_DELETED,		/* the answer to DELETE */
	PROTO_INFO,		/* INFO addr= len=: an address's info body follows (len bytes, '\n') */
	PROTO_NAME,		/* NAME addr= name=: an address's reverse DNS name */
	PROTO_SITES,		/* SITES: traces per site (uid); answered by SITEs and LIST */
	PROTO_SITE,		/* SITE uid= running= done= refused= stored= */
	PROTO_QUERY,		/* QUERY [filters]: an operator's search; ITEMs and LIST, or COUNT */
	PROTO_COUNT,		/* COUNT n=: how many traces a QUERY count=1 found */
};

/* A QUERY's filters (docs/query.md); each one given narrows it. */
struct proto_query {
	struct tt_addr visitor, hop;
	int visitor_bits, hop_bits;	/* the prefixes' lengths; -1: no such filter */
	uint64_t since_ms, until_ms;	/* started at or after, before; 0: any */
	uint32_t asn;			/* a hop's AS; 0: any */
	char country[64];		/* a hop's country, code or name; "": any */
	char reason[32];		/* how the trace ended; "": any */
	char site[64];			/* one site's, by name; "": any */
	char vantage[PROTO_VANTAGE_MAX + 1];	/* one fleet server's; "": any */
	bool changed;			/* only traces whose path changed */
	bool count;			/* COUNT, not the traces */
	int limit;			/* 1..PROTO_QUERY_MAX (20); before= is the msg's id */
};

/* One site's traces: a SITE line. */
struct proto_site {
	uint64_t uid;
	uint64_t running;	/* started or starting, not ended */
	uint64_t done;		/* ended since the helper started */
	uint64_t refused;	/* refused by the engine since the helper started */
	uint64_t stored;	/* finished traces in the database */
};

/* How the helper keeps visitor addresses (STARTED, STORED): the page says which. */
enum proto_addr_mode {
	PROTO_ADDR_UNSAID = 0,	/* an older broker */
	PROTO_ADDR_FULL,	/* addr=full */
	PROTO_ADDR_PREFIX,	/* addr=prefix: /24 of IPv4, /48 of IPv6; no history by address */
};

/* Counters of a STATUS answer; a counter not known is PROTO_STATUS_UNKNOWN and not sent. */
#define PROTO_STATUS_UNKNOWN	UINT64_MAX

struct proto_status {
	uint64_t uptime_s;		/* since the broker started */
	uint64_t traces_running;	/* started or starting, not ended */
	uint64_t traces_done;		/* ended since start (any reason) */
	uint64_t traces_refused;	/* refused by the engine (not-found, not-local ...) */
	uint64_t busy;			/* requests refused by a limit */
	uint64_t forbidden;		/* connections refused by authorization */
	uint64_t probes_sent;		/* engine */
	uint64_t replies_matched;	/* engine: ICMP errors and dup ACKs matched to a probe */
	uint64_t icmp_unmatched;	/* engine: quoting a traced connection, no probe: forged or stray */
	uint64_t icmp_foreign;		/* engine: queued ICMP errors of no trace, passed on */
	uint64_t bad_packets;		/* engine: queued packets that did not parse */
	uint64_t queue_drops;		/* kernel: dropped, or passed unseen, by the queue */
	uint64_t db_errors;		/* failed database writes */
	uint64_t enrich_requests;	/* enrichment look-ups (none yet) */
	uint64_t overload_refused;	/* engine: new traces refused busy while it was overloaded */
	/* A fleet's PostgreSQL (docs/fleet.md); unknown without one. */
	uint64_t fleet_connected;	/* 1: connected, schema current; 0: not now */
	uint64_t fleet_waiting;		/* traces in the journal not yet shipped */
	uint64_t fleet_shipped;		/* traces shipped since start */
	uint64_t fleet_failures;	/* connections dropped: refused, lost, timed out, errors */
};

/* One parsed line. Strings are copied, except path, which points into the caller's line. */
/* Is s (n bytes) such a name? */
bool proto_vantage_ok(const char *s, size_t n);

struct proto_msg {
	enum proto_verb verb;
	int version;				/* GREETING */
	struct proto_trace_req req;		/* TRACE, STORED; HISTORY: client only */
	char id[PROTO_ID_LEN + 1];		/* STARTED, GET, STORED, ITEM, DELETE(D); HISTORY before= */
	char token[PROTO_ID_LEN + 1];		/* STARTED (when stored), DELETE */
	struct proto_hop hop;			/* HOP */
	char code[32];				/* ERROR code, END and ITEM reason */
	char msg[256];				/* ERROR msg, spaces restored */
	int hops;				/* END, ITEM */
	uint64_t duration_us;			/* END, ITEM */
	int stored;				/* STARTED, END: 1, 0, or -1 without the key */
	int retry;				/* ERROR: retry=N seconds, 0 without it */
	uint64_t started_ms;			/* STARTED, STORED, ITEM: ms since the epoch; 0 unsaid */
	enum proto_addr_mode addr_mode;		/* STARTED, STORED */
	uint64_t retention_s;			/* STARTED, STORED: kept this long; 0 forever */
	char vantage[PROTO_VANTAGE_MAX + 1];	/* STARTED, STORED, ITEM: a fleet's server that traced; "" unsaid */
	int limit;				/* HISTORY: ITEMs wanted (1..PROTO_HISTORY_MAX) */
	int more;				/* LIST: 1 if older traces follow */
	const char *path;			/* ITEM: hops, "-" for none (docs/protocol.md) */
	size_t path_len;
	struct tt_addr addr;			/* INFO, NAME */
	size_t info_len;			/* INFO: the body's bytes after the line */
	struct proto_info info;			/* INFO: its fields, percent-decoded */
	char name[PROTO_NAME_MAX + 1];		/* NAME */
	struct proto_status status;		/* STATUS answer; all PROTO_STATUS_UNKNOWN in a request */
	struct proto_site site;			/* SITE */
	struct proto_query query;		/* QUERY */
	char site_name[64];			/* ITEM of a QUERY: site=, the site's name; "" unsaid */
	bool has_client;			/* ITEM of a QUERY: client= (in req.client) */
	uint64_t count;				/* COUNT n= */
};

/*
 * Parses one line (without or with its trailing newline; len bytes, not
 * NUL-terminated necessarily). Returns the verb; PROTO_BAD on any error.
 */
enum proto_verb proto_parse(const char *line, size_t len, struct proto_msg *m);

/* Each formatter writes a whole line with '\n' and a NUL; returns its length, or -1 if it did not fit. */
int proto_fmt_trace(char *buf, size_t len, const struct proto_trace_req *req);
/*
 * The trace's header as STARTED (live) or STORED (from the database): m's id,
 * stored, token, started_ms, addr_mode and retention_s; STORED adds the
 * connection (m->req). STARTED sends a token only when stored is 1.
 */
int proto_fmt_started(char *buf, size_t len, const struct proto_msg *m);
int proto_fmt_stored(char *buf, size_t len, const struct proto_msg *m);
int proto_fmt_get(char *buf, size_t len, const char *id);
/* before: an id, or NULL for the newest. */
int proto_fmt_history(char *buf, size_t len, const struct tt_addr *client, const char *before,
    int limit);
/*
 * path as in docs/protocol.md; the caller builds it. vantage: a fleet's
 * server, or NULL; client and site (a QUERY's answer): the visitor and the
 * site's name, or NULL.
 */
int proto_fmt_item(char *buf, size_t len, const char *id, uint64_t started_ms,
    const char *reason, int hops, uint64_t duration_us, const char *vantage, const char *client,
    const char *site, const char *path);
/* before: an id, or NULL for the newest. */
int proto_fmt_query(char *buf, size_t len, const struct proto_query *q, const char *before);
int proto_fmt_count(char *buf, size_t len, uint64_t n);
int proto_fmt_list(char *buf, size_t len, int more);
int proto_fmt_site(char *buf, size_t len, const struct proto_site *s);
int proto_fmt_delete(char *buf, size_t len, const char *id, const char *token);
/* The INFO line before a body of body_len bytes (the caller sends the body and a '\n'). */
int proto_fmt_info(char *buf, size_t len, const struct tt_addr *a, size_t body_len,
    const struct proto_info *info);
/* NAME: name must be a DNS name (letters, digits, '-', '_', '.'); -1 otherwise. */
int proto_fmt_name(char *buf, size_t len, const struct tt_addr *a, const char *name);
/* Is s (n bytes) a trace id or a delete token: exactly PROTO_ID_LEN lowercase hex digits? */
int proto_id_ok(const char *s, size_t n);
/* Is s a DNS name we pass on: 1-253 bytes of letters, digits, '-', '_' and '.'? */
int proto_name_ok(const char *s, size_t n);
int proto_fmt_deleted(char *buf, size_t len, const char *id);
int proto_fmt_hop(char *buf, size_t len, const struct proto_hop *hop);
/* stored: 1 if the whole trace is in the database, 0 if not. */
int proto_fmt_end(char *buf, size_t len, const char *reason, int hops, uint64_t duration_us,
    int stored);
int proto_fmt_error(char *buf, size_t len, const char *code, const char *msg);
/* ERROR with retry=N (seconds until a retry may succeed; N >= 1), as busy sends. */
int proto_fmt_error_retry(char *buf, size_t len, const char *code, int retry, const char *msg);
/* The STATUS answer: every known counter as key=value. */
int proto_fmt_status(char *buf, size_t len, const struct proto_status *st);
/* Counter i of a STATUS answer (0 .. until NULL): its key, and *v its value in st. */
const char *proto_status_key(size_t i, const struct proto_status *st, uint64_t *v);

const char *reply_kind_name(enum reply_kind k);
/* "forwarded", "x-forwarded-for", "via", "listed"; "" for none. */
const char *proto_proxy_name(enum proto_proxy p);
/* The reverse, into *p (PROTO_PROXY_NONE for ""); returns 0, or -1 for a name not known. */
int proto_proxy_parse(const char *s, size_t n, enum proto_proxy *p);
/* A reply's MPLS label stack as the HOP line writes it ("-" for none); -1 if it did not fit. */
int proto_fmt_mpls(char *buf, size_t len, const struct proto_reply *r);
/* Parses that form into r->mpls and r->nmpls; returns 0, or -1 if malformed. */
int proto_parse_mpls(const char *s, struct proto_reply *r);

#endif
