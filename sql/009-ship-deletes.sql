-- Traces a visitor deleted (with the delete token) that a fleet's PostgreSQL
-- store may hold: the helper deletes them there too, then here (fleet.c). Kept
-- in the file so that a restart in between forgets no deletion.
CREATE TABLE ship_deletes (
	id TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;
