-- The fleet's shared store in PostgreSQL (docs/fleet.md): the finished traces
-- of every helper that writes to it, with their hops, replies and kept
-- look-ups, as each helper's SQLite file holds them, and with the vantage
-- point (the server that traced) and the site that asked. tracetroutd runs
-- each migration in a transaction of its own, under an advisory lock, and
-- records it in tracetrout_schema itself: no transaction statements here.

CREATE TABLE traces (
	seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,	-- what the other tables refer to
	id text NOT NULL UNIQUE CHECK (id ~ '^[0-9a-f]{32}$'),	-- 128 random bits
	vantage text NOT NULL,		-- the helper's vantage setting (default: its host name)
	site text NOT NULL,		-- who asked, by a name the fleet shares (uid: on one machine)
	uid integer NOT NULL,		-- who asked on that machine (SO_PEERCRED)
	family smallint NOT NULL CHECK (family IN (4, 6)),
	client inet NOT NULL,		-- the visitor, or its /24 or /48 (client_prefix)
	cport integer NOT NULL CHECK (cport BETWEEN 1 AND 65535),
	server inet NOT NULL,
	sport integer NOT NULL CHECK (sport BETWEEN 1 AND 65535),
	started_at bigint NOT NULL,	-- ms since the epoch
	ended_at bigint NOT NULL,
	reason text NOT NULL,		-- END reason (docs/protocol.md)
	hops integer NOT NULL,
	duration_us bigint NOT NULL,
	token text,			-- the delete token
	client_prefix boolean NOT NULL,
	proxy text CHECK (proxy IN ('forwarded', 'x-forwarded-for', 'via', 'listed'))
);
-- A visitor's history from every vantage point, a site's, and retention sweeps.
CREATE INDEX traces_client_started ON traces (client, started_at);
CREATE INDEX traces_site_started ON traces (site, started_at);
CREATE INDEX traces_started ON traces (started_at);

CREATE TABLE hops (
	trace_seq bigint NOT NULL REFERENCES traces (seq) ON DELETE CASCADE,
	ttl smallint NOT NULL CHECK (ttl BETWEEN 1 AND 255),	-- as shown, after HOP_OFFSET
	sent integer NOT NULL CHECK (sent >= 0),
	reused_addr inet,		-- a router's recent answer shown in place of a timeout
	reused_age_ms integer CHECK (reused_age_ms BETWEEN 0 AND 3600000),
	PRIMARY KEY (trace_seq, ttl)
);

CREATE TABLE replies (
	trace_seq bigint NOT NULL,
	ttl smallint NOT NULL,
	idx smallint NOT NULL CHECK (idx >= 0),
	addr inet NOT NULL,
	rtt_us bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('time-exceeded', 'unreachable', 'packet-too-big',
	    'destination')),
	code integer NOT NULL,
	reply_ttl smallint NOT NULL CHECK (reply_ttl BETWEEN 0 AND 255),
	quoted_ttl smallint NOT NULL CHECK (quoted_ttl BETWEEN 0 AND 255),
	size integer NOT NULL CHECK (size BETWEEN 0 AND 65535),
	ext smallint NOT NULL CHECK (ext BETWEEN 0 AND 2),
	edst text,
	mpls text,
	flags smallint NOT NULL CHECK (flags BETWEEN 0 AND 255),
	PRIMARY KEY (trace_seq, ttl, idx),
	FOREIGN KEY (trace_seq, ttl) REFERENCES hops (trace_seq, ttl) ON DELETE CASCADE
);

CREATE TABLE trace_lookups (
	trace_seq bigint NOT NULL REFERENCES traces (seq) ON DELETE CASCADE,
	addr text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('info', 'name')),
	data text NOT NULL,
	PRIMARY KEY (trace_seq, addr, kind)
);
