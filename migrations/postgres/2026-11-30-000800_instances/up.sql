-- Each running payport instance and when it last showed it was alive. An in-flight
-- Idempotency-Key names the instance handling its request: when that instance has
-- been silent for a few heartbeats, the request died with it and a retry with the
-- same key may take the key over instead of hearing "in use".
CREATE TABLE instances (
    instance_id  TEXT        NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT instances_pkey PRIMARY KEY (instance_id)
);

-- NULL on keys kept before instances were tracked: those are taken over by age only.
ALTER TABLE idempotency_keys ADD COLUMN instance_id TEXT;
