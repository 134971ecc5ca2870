ALTER TABLE idempotency_keys DROP COLUMN instance_id;
DROP TABLE instances;
