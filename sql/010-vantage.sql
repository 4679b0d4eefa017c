-- A fleet's traces from other servers (docs/fleet.md): a permalink or a
-- visitor's history is fetched from PostgreSQL into this file, with the name
-- of the server that traced each trace. NULL: this server traced it.
ALTER TABLE traces ADD COLUMN vantage TEXT;
-- Such traces stay only while the broker answers from them (fleet.c): found by this index.
CREATE INDEX traces_foreign ON traces (seq) WHERE vantage IS NOT NULL;
