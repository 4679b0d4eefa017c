-- The first schema: traces, their hops, and the replies to each hop's probes.
-- The broker runs each migration inside its own BEGIN IMMEDIATE transaction
-- and sets PRAGMA user_version itself: no transaction statements here.

CREATE TABLE traces (
	id TEXT PRIMARY KEY NOT NULL,	-- 32 lowercase hex digits, 128 random bits
	uid INTEGER NOT NULL,		-- who asked (SO_PEERCRED): history is per uid
	family INTEGER NOT NULL CHECK (family IN (4, 6)),
	client TEXT NOT NULL,		-- the visitor, as the server sees it
	cport INTEGER NOT NULL CHECK (cport BETWEEN 1 AND 65535),
	server TEXT NOT NULL,
	sport INTEGER NOT NULL CHECK (sport BETWEEN 1 AND 65535),
	started_at INTEGER NOT NULL,	-- ms since the epoch, when the engine accepted it
	ended_at INTEGER,		-- ms since the epoch; NULL while running or if lost
	reason TEXT,			-- END reason (docs/protocol.md)
	hops INTEGER,			-- hops reported, after HOP_OFFSET
	duration_us INTEGER		-- from STARTED to END
);
-- History of one visitor and retention sweeps go by client and time;
-- per-tenant history by uid and time.
CREATE INDEX traces_client_started ON traces (client, started_at);
CREATE INDEX traces_uid_started ON traces (uid, started_at);
CREATE INDEX traces_started ON traces (started_at);

CREATE TABLE hops (
	trace_id TEXT NOT NULL REFERENCES traces (id) ON DELETE CASCADE,
	ttl INTEGER NOT NULL CHECK (ttl BETWEEN 1 AND 255),	-- as shown, after HOP_OFFSET
	sent INTEGER NOT NULL CHECK (sent >= 0),	-- probes sent with this TTL
	PRIMARY KEY (trace_id, ttl)
) WITHOUT ROWID;

CREATE TABLE replies (
	trace_id TEXT NOT NULL,
	ttl INTEGER NOT NULL,
	idx INTEGER NOT NULL CHECK (idx >= 0),	-- order within the HOP line
	addr TEXT NOT NULL,		-- who answered
	rtt_us INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('time-exceeded', 'unreachable',
	    'packet-too-big', 'destination')),
	code INTEGER NOT NULL,		-- ICMP code; the MTU for packet-too-big
	reply_ttl INTEGER NOT NULL CHECK (reply_ttl BETWEEN 0 AND 255),
	PRIMARY KEY (trace_id, ttl, idx),
	FOREIGN KEY (trace_id, ttl) REFERENCES hops (trace_id, ttl) ON DELETE CASCADE
) WITHOUT ROWID;
