/*
 * An operator's search of the stored traces (store.h's store_query, issue
 * 17): the SQL functions that key addresses and look-up answers for it
 * (sql/011-query.sql).
 */
#include "store.h"
#include "store_int.h"

#include <stddef.h>

/* tt_addr_key(text): an address's key (addr_key), NULL for anything else. */
static void
sql_addr_key(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	const unsigned char *t = sqlite3_value_text(argv[0]);
	uint8_t key[ADDR_KEY_LEN];
	struct tt_addr a;

	(void)argc;
	if (t == NULL || addr_parse((const char *)t, &a) < 0) {
		sqlite3_result_null(cx);
		return;
	}
	addr_key(&a, key);
	sqlite3_result_blob(cx, key, sizeof(key), SQLITE_TRANSIENT);
}

/* An info body's keys (store_info_keys) from a function's argument; -1 if none. */
static int
info_keys(sqlite3_value *v, uint32_t *asn, char *country, size_t clen)
{
	const char *body;

	if (sqlite3_value_type(v) == SQLITE_NULL || (body = (const char *)sqlite3_value_text(v)) == NULL)
		return -1;
	return store_info_keys(body, (size_t)sqlite3_value_bytes(v), asn, country, clen) == 0 ? 0 : -1;
}

/* tt_info_asn(json): the AS number of an info answer, NULL if it has none. */
static void
sql_info_asn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	char country[64];
	uint32_t asn;

	(void)argc;
	if (info_keys(argv[0], &asn, country, sizeof(country)) < 0 || asn == 0)
		sqlite3_result_null(cx);
	else
		sqlite3_result_int64(cx, asn);
}

/* tt_info_country(json): its country, the ISO code when it has one, else the name; or NULL. */
static void
sql_info_country(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	char country[64];
	uint32_t asn;

	(void)argc;
	if (info_keys(argv[0], &asn, country, sizeof(country)) < 0 || country[0] == '\0')
		sqlite3_result_null(cx);
	else
		sqlite3_result_text(cx, country, -1, SQLITE_TRANSIENT);
}

int
store_query_functions(sqlite3 *db)
{
	static const struct {
		const char *name;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{ "tt_addr_key", sql_addr_key },
		{ "tt_info_asn", sql_info_asn },
		{ "tt_info_country", sql_info_country },
	};
	int rc = SQLITE_OK;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]) && rc == SQLITE_OK; i++)
		rc = sqlite3_create_function_v2(db, fns[i].name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
		    NULL, fns[i].fn, NULL, NULL, NULL);
	return rc;
}
