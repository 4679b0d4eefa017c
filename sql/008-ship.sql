-- The local file as the journal of a fleet's PostgreSQL store (docs/fleet.md):
-- ship is 1 on a trace still to be copied there, NULL once it is (and always
-- without PostgreSQL). The partial index holds only those waiting, so a
-- helper without PostgreSQL carries an empty one.
ALTER TABLE traces ADD COLUMN ship INTEGER CHECK (ship IS NULL OR ship = 1);
CREATE INDEX traces_ship ON traces (seq) WHERE ship IS NOT NULL;
