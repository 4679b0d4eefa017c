-- Issue 15: a silent hop may carry the router that a recent trace measured at
-- its TTL through the same neighbouring hops (docs/engine.md, "ICMP budget and
-- reuse"): not a measurement, so not a reply; the HOP line's reused=ADDR,AGE_MS
-- (docs/protocol.md). NULL for none, and for hops stored before it.
ALTER TABLE hops ADD COLUMN reused_addr TEXT;
-- How long before the hop settled that router answered, in ms.
ALTER TABLE hops ADD COLUMN reused_age_ms INTEGER
    CHECK (reused_age_ms IS NULL OR reused_age_ms BETWEEN 0 AND 3600000);
