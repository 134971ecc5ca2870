-- Catching up on lost payment notifications, refunds made outside payport, and the
-- daily check of the books against Alipay's bill.

-- When the buyer was first sent to pay, and when the worker next asks Alipay whether
-- the order was paid (also its claim on the order).
ALTER TABLE orders ADD COLUMN payment_started_at TEXT;
ALTER TABLE orders ADD COLUMN payment_check_at TEXT;
CREATE INDEX orders_payment_check_idx ON orders (payment_check_at) WHERE status = 'pending';

-- A refund made outside payport (Alipay's merchant console) and learned afterwards.
ALTER TABLE refunds ADD COLUMN external INTEGER NOT NULL DEFAULT 0;

CREATE INDEX orders_paid_at_idx ON orders (paid_at);
CREATE INDEX refunds_completed_idx ON refunds (completed_at) WHERE status = 'succeeded';

-- One report per Beijing date: the latest run's counts and items.
CREATE TABLE reconciliations (
    date              TEXT    NOT NULL PRIMARY KEY,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'completed')),
    alipay_payments   INTEGER NOT NULL,
    alipay_refunds    INTEGER NOT NULL,
    payport_payments  INTEGER NOT NULL,
    payport_refunds   INTEGER NOT NULL,
    matched           INTEGER NOT NULL,
    mismatches        INTEGER NOT NULL,
    unresolved        INTEGER NOT NULL,
    last_error        TEXT,
    attempts          INTEGER NOT NULL,
    next_attempt_at   TEXT,
    -- An instance running the day's reconciliation holds it until then.
    claimed_until     TEXT,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
) STRICT;

CREATE TABLE reconciliation_items (
    date            TEXT    NOT NULL REFERENCES reconciliations (date) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('payment_missing_here',
        'refund_missing_here', 'missing_at_alipay', 'amount_mismatch', 'unresolved')),
    out_trade_no    TEXT    NOT NULL,
    out_request_no  TEXT,
    alipay_amount   INTEGER,
    payport_amount  INTEGER,
    action          TEXT    NOT NULL CHECK (action IN ('synced', 'recorded_external_refund',
        'settled_refund', 'none')),
    note            TEXT,
    PRIMARY KEY (date, position)
) STRICT;
