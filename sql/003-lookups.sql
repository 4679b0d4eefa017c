-- Hop enrichment (docs/protocol.md, "Hop enrichment"): the answers of the
-- look-ups by address, the broker's cache, and what each stored trace showed.

CREATE TABLE lookups (
	addr TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('info', 'name')),
	ok INTEGER NOT NULL CHECK (ok IN (0, 1)),	-- 0: it failed (the negative cache)
	data TEXT,			-- info: the JSON body; name: the name; NULL when it failed
	fetched_at INTEGER NOT NULL,	-- ms since the epoch
	PRIMARY KEY (addr, kind)
) WITHOUT ROWID;
CREATE INDEX lookups_fetched ON lookups (fetched_at);

-- A cache entry expires; a stored trace keeps the answers it had.
CREATE TABLE trace_lookups (
	trace_id TEXT NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
	addr TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('info', 'name')),
	data TEXT NOT NULL,
	PRIMARY KEY (trace_id, addr, kind)
) WITHOUT ROWID;
