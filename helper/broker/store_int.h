/*
 * What store.c shares with store_query.c, the operator's search of stored
 * traces; no other file includes it.
 */
#ifndef TT_HELPER_BROKER_STORE_INT_H
#define TT_HELPER_BROKER_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* The store's connection. */
sqlite3 *store_db(struct store *st);
/*
 * A filter drives a search when it matches fewer than n traces, whatever
 * store_query.c would choose: tests try each way with few traces. -1: its own choice.
 */
void store_query_drive(struct store *st, int n);
/* That n, or dflt if none was set. */
long long store_query_driving(const struct store *st, long long dflt);
/* Counts and logs a failure (rate-limited) with SQLite's message. */
void store_fail(struct store *st, const char *what, const char *id);
/*
 * A read failed: counted and logged as store_fail, and the batch taken for
 * lost if SQLite rolled it back (it does on some errors: a full disk, I/O).
 */
void store_read_fail(struct store *st, const char *what, const char *id);
/*
 * An ITEM's fields (docs/protocol.md) from columns col to col + 5 of s: id,
 * started_at, reason, hops, duration_us, vantage. The path is not read.
 */
void store_item_read(sqlite3_stmt *s, int col, struct store_item *it);
/* The path of it->id into it->path, as ITEM's path=. 0, or -1 (logged). */
int store_item_path(struct store *st, struct store_item *it);
/*
 * The keys a search finds an info body by: its AS number (0 if none) and
 * its country, the ISO code when the body has one, else the name ("" if
 * none). The same reading of the shapes as store_info_fields. 0, or 1 if the
 * body is not a JSON object, -1 on error.
 */
int store_info_keys(const char *body, size_t len, uint32_t *asn, char *country, size_t clen);
/*
 * Makes the SQL functions that sql/011-query.sql and the store's statements
 * call on db: tt_addr_key(text), tt_info_asn(json), tt_info_country(json).
 * Before the migrations run. SQLITE_OK or an error code.
 */
int store_query_functions(sqlite3 *db);

#endif
