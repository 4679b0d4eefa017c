/*
 * What several formats share: escaping of strings for JSON and text, the
 * words for a stop reason, and the sentences on storage and privacy.
 */
#ifndef TT_FCGI_RENDER_COMMON_H
#define TT_FCGI_RENDER_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "render.h"

/* Bytes of the valid UTF-8 sequence at s (1 to 4), or 0 if s does not start one. */
size_t utf8_seq(const unsigned char *s, size_t n);

/*
 * An escaper: for the bytes at s (n of them), the replacement of s[0] (may
 * be written into buf, 8 bytes), or NULL to keep the *k bytes of s.
 */
typedef const char *(*escape_fn)(const unsigned char *s, size_t n, size_t *k, char *buf);
/* Writes s through o, escaped by esc. */
int out_escaped(struct out *o, const char *s, escape_fn esc);
/* Writes s as a JSON string with its quotes: \" \\ and controls as \u00XX, bad UTF-8 as U+FFFD. */
int json_str(struct out *o, const char *s);
/* Writes s for a terminal: controls (C0, DEL, C1) and bad UTF-8 become '?'. */
int text_safe(struct out *o, const char *s);

/* Did an earlier reply of the hop (before r[i]) come from r[i]'s address? */
bool render_seen_before(const struct proto_hop *hop, int i);
/* traceroute(8)'s mark after an RTT (" !H", " !F-1400"), "" for none; may use buf. */
const char *render_mark(const struct proto_reply *r, char *buf, size_t len);
/* What a mark means, for a tooltip ("host unreachable"); "" for none. */
const char *render_mark_title(const struct proto_reply *r);
/* The words for an END reason ("reached the visitor"), or NULL for a code not known. */
const char *render_reason(const char *code);
/*
 * The END reason of this trace for the visitor: render_reason's, except that
 * a trace ending at a proxy reached the proxy, and a buffering web server is
 * told its setting. NULL for a code not known.
 */
const char *render_end_reason(const struct render_trace *t, const char *code);
/* A sentence on the proxy this trace ends at, in buf; NULL when nothing points at one. */
const char *render_proxy_note(const struct render_trace *t, char *buf, size_t len);
/* The server SERVER_SOFTWARE names ("nginx/1.22.1", "Apache/2.4.62 (Debian)", "lighttpd/1.4.69"). */
enum render_server render_server_kind(const char *software);
/* "30 days", "12 hours", "90 seconds"; "" for 0 (forever). */
const char *render_retention(uint64_t s, char *buf, size_t len);
/*
 * The privacy sentence for a trace: whether the visitor's address is kept
 * in full or as a prefix, and for how long, or that nothing is kept when
 * stored is 0; NULL when the broker said nothing.
 */
const char *render_privacy(const struct render_trace *t, int stored, char *buf, size_t len);
/* ms since the epoch as "2025-11-26T18:00:00Z" (iso != 0) or "2025-11-26 18:00:00 UTC". */
const char *render_time(uint64_t ms, int iso, char *buf, size_t len);
/* The trace's prefix, "" when the caller set none. */
const char *render_prefix(const struct render_trace *t);
/* Is there a permalink to show: the trace is stored, as far as STARTED and END said. */
int render_stored(const struct render_trace *t, const struct proto_msg *end);

#define JSON_DEPTH_MAX	64	/* arrays and objects inside each other */

enum json_check {
	JSON_OK = 0,
	JSON_BAD,		/* not one JSON value (RFC 8259), or a raw control byte in a string */
	JSON_DEEP,		/* nested deeper than JSON_DEPTH_MAX */
	JSON_BIG,		/* the compact form would be longer than allowed */
	JSON_NOMEM,
};

/*
 * Checks that s (n bytes) is exactly one JSON value and makes its compact
 * form in *out (malloc'd, *outlen bytes and a NUL), as Go's json.Marshal
 * (the original's encoder) writes a raw JSON value: whitespace outside
 * strings dropped, so it fits on one line; in strings < > & as \u003c
 * \u003e \u0026 and U+2028, U+2029 as \u2028, \u2029; also DEL as \u007f
 * and bytes that are not UTF-8 as \ufffd (json_str's rules). Everything
 * else is kept byte for byte: escapes as written, key order, duplicates.
 */
/* It may grow (\u003c for <): longer than max bytes is JSON_BIG, refused before allocating. */
enum json_check json_compact(const char *s, size_t n, size_t max, char **out, size_t *outlen);

/* What INFO and NAME said of a, or NULL. */
const struct render_info *render_info_find(const struct render_trace *t, const struct tt_addr *a);
/*
 * Is anything worth showing known of e: a name or one of the common fields,
 * or (body true) a service answer other than an empty {} or [].
 */
bool render_info_known(const struct render_info *e, bool body);
/*
 * The place and network of e, as one phrase: "Mountain View, United States,
 * AS15169 Google LLC", those fields known; "" if none. Not escaped.
 */
const char *render_place(const struct render_info *e, char *buf, size_t len);
/*
 * The trace's entries in the order of the hops that first showed their
 * address, those of no hop last in order of arrival; returns how many
 * went into list (at most RENDER_INFO_ADDRS).
 */
int render_info_sorted(const struct render_trace *t, const struct render_info **list);

#endif
