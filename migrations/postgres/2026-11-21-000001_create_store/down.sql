DROP TABLE notification_inbox;
DROP TABLE gateway_exchanges;
DROP TABLE idempotency_keys;
DROP TABLE refunds;
DROP TABLE orders;
