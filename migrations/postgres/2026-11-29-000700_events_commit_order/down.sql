DROP INDEX events_type_idx;
CREATE INDEX events_type_idx ON events (event_type, seq);
DROP INDEX events_object_idx;
CREATE INDEX events_object_idx ON events (object_id, seq);
DROP INDEX events_tx_idx;
ALTER TABLE events DROP COLUMN tx;
