-- Issue 17: operators' searches of the stored traces (store_query,
-- helper/broker/store_query.c). Addresses are kept as 16-byte keys that sort
-- as addresses do (IPv4 as ::ffff:a.b.c.d, common/addr.c's addr_key), so that a
-- prefix is one range of an index. tt_addr_key(), tt_info_asn() and
-- tt_info_country() are the broker's own SQL functions, made on its connection
-- before it migrates: no view, trigger or index here calls them, so any other
-- SQLite client still reads the file.

-- The visitor's address, or the first address of its stored prefix
-- (client_prefix); set when the trace begins. Its index replaces the one on
-- the text (the history asks by the key now): one index a visitor, not two.
ALTER TABLE traces ADD COLUMN client_key BLOB;
UPDATE traces SET client_key = tt_addr_key(client);
DROP INDEX traces_client_started;
CREATE INDEX traces_client_key ON traces (client_key, started_at);
-- How traces ended, newest first: one range of it for a reason and a time range.
CREATE INDEX traces_reason_started ON traces (reason, started_at);

-- Each finished trace's distinct hop addresses: every address that answered a
-- probe (the visitor's own answer among them), answers that came late
-- included, reused routers not (they are no answer). With the AS number and
-- the country (its ISO code when the answer has one, else its name) of the
-- info look-up kept with the trace for that address, when there is one
-- (docs/enrichment.md says which fields). Filled when the trace ends, by a
-- late answer after that, and when a look-up's answer is kept; the rows go
-- with their trace (a deletion, retention, a journal's shipping).
CREATE TABLE trace_addrs (
	addr_key BLOB NOT NULL,
	trace_seq INTEGER NOT NULL REFERENCES traces (seq) ON DELETE CASCADE,
	asn INTEGER,
	country TEXT COLLATE NOCASE,
	PRIMARY KEY (addr_key, trace_seq)
) WITHOUT ROWID;
-- The cascade's, and a trace's addresses by its row number.
CREATE INDEX trace_addrs_trace ON trace_addrs (trace_seq);
-- Only rows with a look-up's answer: most traces have none (no info-uri).
CREATE INDEX trace_addrs_asn ON trace_addrs (asn, trace_seq) WHERE asn IS NOT NULL;
CREATE INDEX trace_addrs_country ON trace_addrs (country, trace_seq) WHERE country IS NOT NULL;
-- The finished traces stored so far, in the keys' order (one pass, no random writes).
INSERT OR IGNORE INTO trace_addrs (addr_key, trace_seq, asn, country)
    SELECT tt_addr_key(r.addr), r.trace_seq, tt_info_asn(l.data), tt_info_country(l.data)
    FROM (SELECT DISTINCT trace_seq, addr FROM replies) r
    JOIN traces t ON t.seq = r.trace_seq
    LEFT JOIN trace_lookups l ON l.trace_seq = r.trace_seq AND l.addr = r.addr AND l.kind = 'info'
    WHERE t.ended_at IS NOT NULL
    ORDER BY 1, 2;
