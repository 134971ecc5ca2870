-- Expired Idempotency-Keys are deleted by creation time (the background worker).
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
