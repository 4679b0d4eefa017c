-- A fleet's traces from other servers (docs/fleet.md): a permalink made on
-- another server is fetched from PostgreSQL into this file, with the name of
-- the server that traced it. NULL: this server traced it.
ALTER TABLE traces ADD COLUMN vantage TEXT;
