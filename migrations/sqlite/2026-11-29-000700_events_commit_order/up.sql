-- The writing transaction of each event, which PostgreSQL orders events by. SQLite
-- has one writer at a time, so events commit in `seq` order: `tx` is 0 for all, and
-- `(tx, seq)` order is `seq` order.
ALTER TABLE events ADD COLUMN tx INTEGER NOT NULL DEFAULT 0;

-- The list's order, alone and after its filters (the same as PostgreSQL's).
CREATE INDEX events_tx_idx ON events (tx, seq);
DROP INDEX events_object_idx;
CREATE INDEX events_object_idx ON events (object_id, tx, seq);
DROP INDEX events_type_idx;
CREATE INDEX events_type_idx ON events (event_type, tx, seq);
