-- The transactional outbox: one event per status change, written in the transaction
-- that makes the change, and a delivery of it to every webhook endpoint that wants it.

-- `seq` is the order events were written (and committed) in: SQLite has one writer
-- at a time, so a reader paging after an event never skips one committed later.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The out_trade_no or refund_id the event is about.
    object_id  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- The bytes every delivery sends.
    body       TEXT NOT NULL,
    CONSTRAINT events_id_key UNIQUE (id),
    CONSTRAINT events_event_type_check CHECK (event_type IN
        ('order.paid', 'order.partially_refunded', 'order.refunded', 'order.closed',
         'order.finished', 'refund.pending_approval', 'refund.approved',
         'refund.rejected', 'refund.processing', 'refund.awaiting_operator',
         'refund.succeeded', 'refund.failed'))
) STRICT;

CREATE INDEX events_object_idx ON events (object_id, seq);
CREATE INDEX events_type_idx ON events (event_type, seq);

CREATE TABLE webhook_endpoints (
    id          TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    -- The HMAC key deliveries are signed with: needed in the clear to sign.
    secret      TEXT    NOT NULL,
    -- NULL: every type; otherwise the wanted types between commas,
    -- ',order.paid,refund.failed,', so that one LIKE matches a type on both backends.
    event_types TEXT,
    configured  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    -- Deleted endpoints are kept: their deliveries stay visible.
    deleted_at  TEXT,
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_event_types_check CHECK (event_types IS NULL
        OR (event_types LIKE ',%,' AND length(event_types) > 2)),
    CONSTRAINT webhook_endpoints_configured_check CHECK (configured IN (0, 1))
) STRICT;

-- One event for one endpoint. `attempts` counts the attempts since `since` (when the
-- delivery started, or was last redelivered), which the retry schedule counts from.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL,
    endpoint_id     TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    since           TEXT    NOT NULL,
    next_attempt_at TEXT,
    -- A sender that claimed this delivery holds it until then.
    claimed_until   TEXT,
    -- Counts claims and redeliveries: an attempt recorded under an older value only
    -- joins the history, so a sender whose lease ran out cannot undo what came after.
    claim           INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT    NOT NULL,
    CONSTRAINT webhook_deliveries_event_fkey FOREIGN KEY (event_id) REFERENCES events (id),
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (endpoint_id)
        REFERENCES webhook_endpoints (id),
    CONSTRAINT webhook_deliveries_event_endpoint_key UNIQUE (event_id, endpoint_id),
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN
        ('pending', 'delivered', 'failed')),
    CONSTRAINT webhook_deliveries_next_check CHECK (status <> 'pending'
        OR next_attempt_at IS NOT NULL),
    CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0
        AND attempts <= 4294967295)
) STRICT;

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id)
    WHERE status = 'pending';

-- Every attempt at a delivery, oldest first by id.
CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  INTEGER NOT NULL,
    attempted_at TEXT    NOT NULL,
    -- What the endpoint answered; NULL when nothing came back.
    status_code  INTEGER,
    -- Why it did not count as delivered; NULL when it did.
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    CONSTRAINT webhook_attempts_delivery_fkey FOREIGN KEY (delivery_id)
        REFERENCES webhook_deliveries (id),
    CONSTRAINT webhook_attempts_status_code_check CHECK (status_code IS NULL
        OR status_code BETWEEN 0 AND 65535)
) STRICT;

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
