DROP TABLE reconciliation_items;
DROP TABLE reconciliations;
DROP INDEX refunds_completed_idx;
DROP INDEX orders_paid_at_idx;
ALTER TABLE refunds DROP COLUMN external;
DROP INDEX orders_payment_check_idx;
ALTER TABLE orders DROP COLUMN payment_check_at;
ALTER TABLE orders DROP COLUMN payment_started_at;
