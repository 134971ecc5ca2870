-- Event writers no longer queue on one lock, so `seq` alone is no longer the order
-- events commit in: the event of seq 6 may commit before that of seq 5. Each event
-- records its writing transaction's id; readers list `(tx, seq)` order and only the
-- events of transactions older than every one still running (see the store's
-- `dialect.rs`), so a reader paging after an event never skips one committed later.
-- Existing rows get 0: they keep their `seq` order and sort before every event
-- written from now on, whatever its transaction's id (one that began before this
-- migration has a lower id than the migration's own).
ALTER TABLE events ADD COLUMN tx BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint);

-- The list's order, alone and after its filters.
CREATE INDEX events_tx_idx ON events (tx, seq);
DROP INDEX events_object_idx;
CREATE INDEX events_object_idx ON events (object_id, tx, seq);
DROP INDEX events_type_idx;
CREATE INDEX events_type_idx ON events (event_type, tx, seq);
