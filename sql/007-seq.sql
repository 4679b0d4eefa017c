-- Issue 15: a trace's hops, replies and look-ups are keyed by its row
-- number (traces.seq, in the order traces begin), not by its random id. Keyed
-- by the id, each trace's rows went onto a page of their own somewhere in
-- each table: at 1,200 traces a second the broker wrote and synced about
-- 50 kB a trace and read pages back. Now they go at the end of their tables;
-- only traces' index on id stays random (the id stays the public name,
-- 128 random bits, DESIGN.md).
--
-- The broker applies this with foreign keys on and inside a transaction
-- (where PRAGMA foreign_keys cannot change), so: new tables first, the old
-- children dropped before their parent, then the renames, which rewrite the
-- new children's references from traces_new to traces.

CREATE TABLE traces_new (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,	-- never reused: what the other tables refer to
	id TEXT NOT NULL UNIQUE,	-- 32 lowercase hex digits, 128 random bits
	uid INTEGER NOT NULL,
	family INTEGER NOT NULL CHECK (family IN (4, 6)),
	client TEXT NOT NULL,
	cport INTEGER NOT NULL CHECK (cport BETWEEN 1 AND 65535),
	server TEXT NOT NULL,
	sport INTEGER NOT NULL CHECK (sport BETWEEN 1 AND 65535),
	started_at INTEGER NOT NULL,
	ended_at INTEGER,
	reason TEXT,
	hops INTEGER,
	duration_us INTEGER,
	token TEXT,
	client_prefix INTEGER NOT NULL DEFAULT 0 CHECK (client_prefix IN (0, 1)),
	proxy TEXT CHECK (proxy IN ('forwarded', 'x-forwarded-for', 'via', 'listed'))
);
INSERT INTO traces_new (seq, id, uid, family, client, cport, server, sport, started_at,
    ended_at, reason, hops, duration_us, token, client_prefix, proxy)
    SELECT rowid, id, uid, family, client, cport, server, sport, started_at, ended_at,
    reason, hops, duration_us, token, client_prefix, proxy FROM traces ORDER BY rowid;

CREATE TABLE hops_new (
	trace_seq INTEGER NOT NULL REFERENCES traces_new (seq) ON DELETE CASCADE,
	ttl INTEGER NOT NULL CHECK (ttl BETWEEN 1 AND 255),
	sent INTEGER NOT NULL CHECK (sent >= 0),
	reused_addr TEXT,
	reused_age_ms INTEGER CHECK (reused_age_ms IS NULL OR reused_age_ms BETWEEN 0 AND 3600000),
	PRIMARY KEY (trace_seq, ttl)
) WITHOUT ROWID;
INSERT INTO hops_new SELECT t.seq, h.ttl, h.sent, h.reused_addr, h.reused_age_ms
    FROM hops h JOIN traces_new t ON t.id = h.trace_id ORDER BY t.seq, h.ttl;

CREATE TABLE replies_new (
	trace_seq INTEGER NOT NULL,
	ttl INTEGER NOT NULL,
	idx INTEGER NOT NULL CHECK (idx >= 0),
	addr TEXT NOT NULL,
	rtt_us INTEGER NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('time-exceeded', 'unreachable',
	    'packet-too-big', 'destination')),
	code INTEGER NOT NULL,
	reply_ttl INTEGER NOT NULL CHECK (reply_ttl BETWEEN 0 AND 255),
	quoted_ttl INTEGER NOT NULL DEFAULT 0 CHECK (quoted_ttl BETWEEN 0 AND 255),
	size INTEGER NOT NULL DEFAULT 0 CHECK (size BETWEEN 0 AND 65535),
	ext INTEGER NOT NULL DEFAULT 0 CHECK (ext BETWEEN 0 AND 2),
	edst TEXT,
	mpls TEXT,
	flags INTEGER NOT NULL DEFAULT 0 CHECK (flags BETWEEN 0 AND 255),
	PRIMARY KEY (trace_seq, ttl, idx),
	FOREIGN KEY (trace_seq, ttl) REFERENCES hops_new (trace_seq, ttl) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO replies_new SELECT t.seq, r.ttl, r.idx, r.addr, r.rtt_us, r.kind, r.code,
    r.reply_ttl, r.quoted_ttl, r.size, r.ext, r.edst, r.mpls, r.flags
    FROM replies r JOIN traces_new t ON t.id = r.trace_id ORDER BY t.seq, r.ttl, r.idx;

CREATE TABLE trace_lookups_new (
	trace_seq INTEGER NOT NULL REFERENCES traces_new (seq) ON DELETE CASCADE,
	addr TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('info', 'name')),
	data TEXT NOT NULL,
	PRIMARY KEY (trace_seq, addr, kind)
) WITHOUT ROWID;
INSERT INTO trace_lookups_new SELECT t.seq, l.addr, l.kind, l.data
    FROM trace_lookups l JOIN traces_new t ON t.id = l.trace_id ORDER BY t.seq;

DROP TABLE replies;
DROP TABLE trace_lookups;
DROP TABLE hops;
DROP TABLE traces;
ALTER TABLE traces_new RENAME TO traces;
ALTER TABLE hops_new RENAME TO hops;
ALTER TABLE replies_new RENAME TO replies;
ALTER TABLE trace_lookups_new RENAME TO trace_lookups;

CREATE INDEX traces_client_started ON traces (client, started_at);
CREATE INDEX traces_uid_started ON traces (uid, started_at);
CREATE INDEX traces_started ON traces (started_at);
