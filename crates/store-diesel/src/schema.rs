//! The tables, written once for both backends: [`UtcTime`](crate::time::UtcTime) maps to
//! `TIMESTAMPTZ` or fixed-width text, `BigInt` to `BIGINT` or SQLite's 64-bit `INTEGER`.
//! Kept in step with `migrations/{sqlite,postgres}` by hand (and by the tests, which
//! read and write every column on both backends).

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    orders (out_trade_no) {
        out_trade_no -> Text,
        subject -> Text,
        body -> Nullable<Text>,
        total_amount -> BigInt,
        status -> Text,
        trade_no -> Nullable<Text>,
        buyer_id -> Nullable<Text>,
        buyer_logon_id -> Nullable<Text>,
        refunded_amount -> BigInt,
        return_url -> Nullable<Text>,
        paid_after_close -> Bool,
        created_at -> UtcTime,
        expires_at -> UtcTime,
        paid_at -> Nullable<UtcTime>,
        closed_at -> Nullable<UtcTime>,
        finished_at -> Nullable<UtcTime>,
        updated_at -> UtcTime,
        version -> BigInt,
        claimed_until -> Nullable<UtcTime>,
        payment_started_at -> Nullable<UtcTime>,
        payment_check_at -> Nullable<UtcTime>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    refunds (refund_id) {
        refund_id -> Text,
        out_trade_no -> Text,
        out_request_no -> Text,
        amount -> BigInt,
        reason -> Nullable<Text>,
        gateway -> Text,
        status -> Text,
        failure_code -> Nullable<Text>,
        failure_sub_code -> Nullable<Text>,
        failure_message -> Nullable<Text>,
        last_error -> Nullable<Text>,
        rejection_reason -> Nullable<Text>,
        refund_fee -> Nullable<BigInt>,
        batch_no -> Nullable<Text>,
        operator_form_html -> Nullable<Text>,
        attempts -> BigInt,
        created_at -> UtcTime,
        updated_at -> UtcTime,
        submitted_at -> Nullable<UtcTime>,
        completed_at -> Nullable<UtcTime>,
        next_sync_at -> Nullable<UtcTime>,
        version -> BigInt,
        external -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    idempotency_keys (idempotency_key) {
        idempotency_key -> Text,
        request_hash -> Text,
        http_status -> Integer,
        response_body -> Text,
        created_at -> UtcTime,
        instance_id -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    instances (instance_id) {
        instance_id -> Text,
        started_at -> UtcTime,
        heartbeat_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    gateway_exchanges (id) {
        id -> BigInt,
        operation -> Text,
        out_trade_no -> Nullable<Text>,
        out_request_no -> Nullable<Text>,
        request -> Text,
        response -> Nullable<Text>,
        outcome -> Text,
        started_at -> UtcTime,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    notification_inbox (source, notify_id) {
        source -> Text,
        notify_id -> Text,
        out_trade_no -> Nullable<Text>,
        raw_body -> Text,
        received_at -> UtcTime,
        handled_at -> Nullable<UtcTime>,
        content -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    events (seq) {
        seq -> BigInt,
        id -> Text,
        event_type -> Text,
        object_id -> Text,
        created_at -> UtcTime,
        body -> Text,
        tx -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    webhook_endpoints (id) {
        id -> Text,
        url -> Text,
        secret -> Text,
        event_types -> Nullable<Text>,
        configured -> Bool,
        created_at -> UtcTime,
        deleted_at -> Nullable<UtcTime>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    webhook_deliveries (id) {
        id -> BigInt,
        event_id -> Text,
        endpoint_id -> Text,
        status -> Text,
        attempts -> BigInt,
        since -> UtcTime,
        next_attempt_at -> Nullable<UtcTime>,
        claimed_until -> Nullable<UtcTime>,
        claim -> BigInt,
        updated_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempted_at -> UtcTime,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::time::UtcTime;

    reconciliations (date) {
        date -> Text,
        status -> Text,
        alipay_payments -> BigInt,
        alipay_refunds -> BigInt,
        payport_payments -> BigInt,
        payport_refunds -> BigInt,
        matched -> BigInt,
        mismatches -> BigInt,
        unresolved -> BigInt,
        last_error -> Nullable<Text>,
        attempts -> BigInt,
        next_attempt_at -> Nullable<UtcTime>,
        claimed_until -> Nullable<UtcTime>,
        created_at -> UtcTime,
        updated_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    reconciliation_items (date, position) {
        date -> Text,
        position -> BigInt,
        kind -> Text,
        out_trade_no -> Text,
        out_request_no -> Nullable<Text>,
        alipay_amount -> Nullable<BigInt>,
        payport_amount -> Nullable<BigInt>,
        action -> Text,
        note -> Nullable<Text>,
    }
}

diesel::joinable!(refunds -> orders (out_trade_no));
diesel::joinable!(reconciliation_items -> reconciliations (date));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::allow_tables_to_appear_in_same_query!(orders, refunds);
diesel::allow_tables_to_appear_in_same_query!(idempotency_keys, instances);
diesel::allow_tables_to_appear_in_same_query!(
    events,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts
);
