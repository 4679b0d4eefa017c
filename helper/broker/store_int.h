/*
 * What store.c shares with store_query.c, the keys of the operator's search
 * of stored traces; no other file includes it.
 */
#ifndef TT_HELPER_BROKER_STORE_INT_H
#define TT_HELPER_BROKER_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

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
