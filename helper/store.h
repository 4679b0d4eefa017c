/* The broker's SQLite store of traces, hops and replies (sql/NNN-*.sql migrations). */
#ifndef TT_STORE_H
#define TT_STORE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct store;

/*
 * Opens or creates the database at path (and its parent directory), sets
 * WAL, busy_timeout, foreign keys and synchronous=NORMAL, and applies the
 * compiled-in migrations. Returns NULL with a message in err on failure,
 * including a database whose schema is newer than this code.
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/* The same with another migration list (NULL-terminated); for tests. */
struct store *store_open_with(const char *path, const char *const *migrations, char *err,
    size_t errlen);
/* store_close(NULL) is harmless. */
void store_close(struct store *st);

/*
 * Writers. Each returns 0, or -1 after logging (rate-limited) and counting
 * the error: a failing store must never stop tracing. With st NULL (no
 * storage) they do nothing and return 0.
 */
int store_trace_begin(struct store *st, const char *id, uid_t uid,
    const struct proto_trace_req *req, int64_t started_at_ms);
/* hop->ttl is the hop as shown, after HOP_OFFSET. */
int store_hop(struct store *st, const char *id, const struct proto_hop *hop);
int store_trace_end(struct store *st, const char *id, const char *reason, int hops,
    int64_t ended_at_ms, uint64_t duration_us);
/*
 * Removes a trace with its hops and replies: one that could not be stored
 * whole is not kept, so every trace in the database with an end is complete.
 */
int store_trace_forget(struct store *st, const char *id);

/* Errors counted since store_open. */
unsigned long store_errors(const struct store *st);
/* The schema version this code creates: the number of compiled-in migrations. */
int store_schema_version(void);

#endif
