-- What the formats of issue 4 need beyond the first schema: the delete
-- token, whether the visitor's address is stored truncated, and per reply
-- the ICMP evidence (quoted TTL, size, extensions, MPLS labels).

-- 32 hex digits, random and not derived from the id; NULL for traces stored
-- before tokens existed, which then cannot be deleted by their visitor.
ALTER TABLE traces ADD COLUMN token TEXT;
-- 1: client holds the visitor's /24 (IPv4) or /48 (IPv6), not the address.
ALTER TABLE traces ADD COLUMN client_prefix INTEGER NOT NULL DEFAULT 0
    CHECK (client_prefix IN (0, 1));

-- As in the HOP line (docs/protocol.md): 0 where not known.
ALTER TABLE replies ADD COLUMN quoted_ttl INTEGER NOT NULL DEFAULT 0
    CHECK (quoted_ttl BETWEEN 0 AND 255);
ALTER TABLE replies ADD COLUMN size INTEGER NOT NULL DEFAULT 0
    CHECK (size BETWEEN 0 AND 65535);
-- The ICMP extension structure: 0 none, 1 legacy, 2 RFC 4884.
ALTER TABLE replies ADD COLUMN ext INTEGER NOT NULL DEFAULT 0 CHECK (ext BETWEEN 0 AND 2);
-- The quoted destination when it was not the visitor's; NULL otherwise.
ALTER TABLE replies ADD COLUMN edst TEXT;
-- The MPLS label stack as the HOP line writes it (LABEL/EXP/S/TTL+...); NULL for none.
ALTER TABLE replies ADD COLUMN mpls TEXT;
