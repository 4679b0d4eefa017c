-- How each reply was matched to its probe when not plainly: the HOP line's
-- FLAGS (docs/protocol.md), a sum of bits; 0 for none and for replies stored
-- before them. The range leaves room for bits of later versions.
ALTER TABLE replies ADD COLUMN flags INTEGER NOT NULL DEFAULT 0
    CHECK (flags BETWEEN 0 AND 255);
