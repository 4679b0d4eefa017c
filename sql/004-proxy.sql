-- Issue 6: a trace that ended at a proxy in front of the server says so when
-- read back. Why it was taken for a proxy, as the STARTED line's proxy=
-- (docs/protocol.md); NULL when nothing pointed at one.
ALTER TABLE traces ADD COLUMN proxy TEXT
    CHECK (proxy IN ('forwarded', 'x-forwarded-for', 'via', 'listed'));
