/* The schema migrations compiled in from sql/NNN-*.sql by embed.sh. */
#ifndef TT_SQL_MIGRATIONS_H
#define TT_SQL_MIGRATIONS_H

/* Migration i (from 0) takes PRAGMA user_version from i to i + 1; NULL-terminated. */
extern const char *const sql_migrations[];
/* The same for a fleet's PostgreSQL store (sql/pg/NNN-*.sql), its version in tracetrout_schema. */
extern const char *const pg_migrations[];

#endif
