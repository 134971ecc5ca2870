-- payport's store on PostgreSQL. Money is BIGINT fen; statuses are text with CHECK
-- constraints (the Rust side maps them explicitly and rejects unknown values too);
-- every aggregate row carries a `version` for conditional updates.

CREATE TABLE orders (
    out_trade_no     TEXT        NOT NULL,
    subject          TEXT        NOT NULL,
    body             TEXT,
    total_amount     BIGINT      NOT NULL,
    status           TEXT        NOT NULL,
    trade_no         TEXT,
    buyer_id         TEXT,
    buyer_logon_id   TEXT,
    refunded_amount  BIGINT      NOT NULL DEFAULT 0,
    return_url       TEXT,
    paid_after_close BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    paid_at          TIMESTAMPTZ,
    closed_at        TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT      NOT NULL DEFAULT 0,
    -- Background expiry: a worker that claimed this order holds it until then.
    claimed_until    TIMESTAMPTZ,
    CONSTRAINT orders_pkey PRIMARY KEY (out_trade_no),
    CONSTRAINT orders_trade_no_key UNIQUE (trade_no),
    CONSTRAINT orders_status_check CHECK (status IN
        ('pending', 'paid', 'partially_refunded', 'refunded', 'closed', 'finished')),
    CONSTRAINT orders_total_amount_check CHECK (total_amount > 0 AND total_amount <= 10000000000),
    CONSTRAINT orders_refunded_amount_check CHECK (refunded_amount >= 0 AND refunded_amount <= total_amount),
    CONSTRAINT orders_version_check CHECK (version >= 0)
);

CREATE INDEX orders_created_idx ON orders (created_at DESC, out_trade_no DESC);
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, out_trade_no DESC);
CREATE INDEX orders_pending_expiry_idx ON orders (expires_at) WHERE status = 'pending';

CREATE TABLE refunds (
    refund_id          TEXT        NOT NULL,
    out_trade_no       TEXT        NOT NULL,
    out_request_no     TEXT        NOT NULL,
    amount             BIGINT      NOT NULL,
    reason             TEXT,
    gateway            TEXT        NOT NULL,
    status             TEXT        NOT NULL,
    failure_code       TEXT,
    failure_sub_code   TEXT,
    failure_message    TEXT,
    last_error         TEXT,
    rejection_reason   TEXT,
    refund_fee         BIGINT,
    batch_no           TEXT,
    operator_form_html TEXT,
    attempts           BIGINT      NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    submitted_at       TIMESTAMPTZ,
    completed_at       TIMESTAMPTZ,
    next_sync_at       TIMESTAMPTZ,
    version            BIGINT      NOT NULL DEFAULT 0,
    CONSTRAINT refunds_pkey PRIMARY KEY (refund_id),
    CONSTRAINT refunds_order_fkey FOREIGN KEY (out_trade_no) REFERENCES orders (out_trade_no),
    -- Alipay dedupes retries on (trade, out_request_no): one refund per pair, ever.
    CONSTRAINT refunds_out_request_no_key UNIQUE (out_trade_no, out_request_no),
    CONSTRAINT refunds_gateway_check CHECK (gateway IN ('openapi', 'mapi_nopwd', 'mapi_pwd')),
    CONSTRAINT refunds_status_check CHECK (status IN
        ('pending_approval', 'approved', 'rejected', 'processing', 'awaiting_operator',
         'succeeded', 'failed')),
    CONSTRAINT refunds_amount_check CHECK (amount > 0 AND amount <= 10000000000),
    CONSTRAINT refunds_refund_fee_check CHECK (refund_fee IS NULL OR refund_fee >= 0),
    CONSTRAINT refunds_failure_check CHECK (
        (failure_code IS NULL AND failure_sub_code IS NULL AND failure_message IS NULL)
        OR (failure_code IS NOT NULL AND failure_message IS NOT NULL)),
    CONSTRAINT refunds_attempts_check CHECK (attempts >= 0 AND attempts <= 4294967295),
    CONSTRAINT refunds_version_check CHECK (version >= 0)
);

CREATE INDEX refunds_order_idx ON refunds (out_trade_no, created_at, refund_id);
CREATE INDEX refunds_created_idx ON refunds (created_at DESC, refund_id DESC);
CREATE INDEX refunds_status_created_idx ON refunds (status, created_at DESC, refund_id DESC);
CREATE INDEX refunds_processing_sync_idx ON refunds (next_sync_at) WHERE status = 'processing';

-- Idempotency-Key of the HTTP API: the first response is stored and replayed.
CREATE TABLE idempotency_keys (
    idempotency_key TEXT        NOT NULL,
    request_hash    TEXT        NOT NULL,
    http_status     INTEGER     NOT NULL,
    response_body   TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (idempotency_key),
    CONSTRAINT idempotency_keys_http_status_check CHECK (http_status BETWEEN 100 AND 599)
);

-- Every call to a gateway, raw, for disputes and debugging.
CREATE TABLE gateway_exchanges (
    id             BIGINT GENERATED ALWAYS AS IDENTITY,
    operation      TEXT        NOT NULL,
    out_trade_no   TEXT,
    out_request_no TEXT,
    request        TEXT        NOT NULL,
    response       TEXT,
    outcome        TEXT        NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    duration_ms    BIGINT      NOT NULL,
    CONSTRAINT gateway_exchanges_pkey PRIMARY KEY (id)
);

CREATE INDEX gateway_exchanges_order_idx ON gateway_exchanges (out_trade_no, started_at);

-- Verified notifications, verbatim, once per (source, notify_id): redeliveries dedupe here.
CREATE TABLE notification_inbox (
    source       TEXT        NOT NULL,
    notify_id    TEXT        NOT NULL,
    out_trade_no TEXT,
    raw_body     TEXT        NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    handled_at   TIMESTAMPTZ,
    CONSTRAINT notification_inbox_pkey PRIMARY KEY (source, notify_id),
    CONSTRAINT notification_inbox_source_check CHECK (source IN
        ('trade_status_sync', 'batch_refund_notify'))
);

CREATE INDEX notification_inbox_order_idx ON notification_inbox (out_trade_no);
