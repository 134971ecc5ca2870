//! Rows the domain cannot read are errors, never defaults.

use std::time::Duration;

use payport_domain::ports::{DeliveryQueue, OrderFilter, WebhookEndpoints};
use payport_domain::{RefundId, RepoError};
use payport_test_support::contract::webhooks::endpoint;

use crate::support::{at, close_order, insert_paid, no, repos, store_tests, TestDb};

store_tests!(
    unknown_statuses_are_errors_not_defaults,
    a_corrupt_delivery_fails_alone_and_the_rest_of_its_batch_goes_out,
);

const T: &str = "'2026-01-01T00:00:00.000000Z'";

fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, RepoError>, what: &str) {
    match result {
        Err(RepoError::Unavailable(why)) => {
            assert!(why.contains("corrupt row") && why.contains(what), "{why}");
        }
        other => panic!("expected a corrupt-row error about {what}, got {other:?}"),
    }
}

async fn unknown_statuses_are_errors_not_defaults(db: &TestDb) {
    let (orders, refunds) = repos(&db.store);
    insert_paid(&db.store, "good", 100).await;
    // Rows as a newer payport, or a person at a SQL prompt, might leave them (the
    // CHECK constraints are switched off for this).
    db.exec_raw(
        &format!(
            "INSERT INTO orders (out_trade_no, subject, total_amount, status, created_at, \
             expires_at, updated_at) VALUES ('shipped', 'Tea', 100, 'shipped', {T}, {T}, {T}); \
             INSERT INTO refunds (refund_id, out_trade_no, out_request_no, amount, gateway, \
             status, created_at, updated_at) VALUES ('rf_odd', 'good', 'r1', 10, 'openapi', \
             'SUCCESS', {T}, {T}); \
             INSERT INTO refunds (refund_id, out_trade_no, out_request_no, amount, gateway, \
             status, created_at, updated_at) VALUES ('rf_gw', 'good', 'r2', 10, 'wechat', \
             'approved', {T}, {T});"
        ),
        true,
    )
    .await;

    assert_corrupt(orders.get(&no("shipped")).await, "\"shipped\"");
    assert_corrupt(
        orders.list(&OrderFilter::default()).await.map(|p| p.items),
        "orders.status",
    );
    assert_corrupt(
        refunds.get(&RefundId::parse("rf_odd").unwrap()).await,
        "\"SUCCESS\"",
    );
    assert_corrupt(
        refunds.get(&RefundId::parse("rf_gw").unwrap()).await,
        "refunds.gateway",
    );
    assert_corrupt(refunds.list_for_order(&no("good")).await, "refunds.");
    // A reservation on an order with an unreadable refund refuses to guess.
    let new = crate::support::new_refund("shipped", "r9", 1);
    match refunds
        .reserve(&new, &payport_test_support::event_id())
        .await
    {
        Err(payport_domain::ports::ReserveError::Repo(RepoError::Unavailable(why))) => {
            assert!(why.contains("corrupt row"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    // The readable order is still readable.
    assert!(orders.get(&no("good")).await.unwrap().is_some());
}

async fn a_corrupt_delivery_fails_alone_and_the_rest_of_its_batch_goes_out(db: &TestDb) {
    const LEASE: Duration = Duration::from_secs(60);
    let store = &db.store;
    store
        .create_endpoint(&endpoint("we_1", None, 1))
        .await
        .unwrap();
    let good = [
        close_order(store, "o1").await,
        close_order(store, "o2").await,
    ];
    // An event id payport never writes, due before the others, in the same batch.
    db.exec_raw(
        &format!(
            "INSERT INTO events (id, event_type, object_id, created_at, body) VALUES \
             ('evt bad!', 'order.closed', 'o0', {T}, '{{}}'); \
             INSERT INTO webhook_deliveries (event_id, endpoint_id, status, since, \
             next_attempt_at, updated_at) VALUES ('evt bad!', 'we_1', 'pending', {T}, {T}, {T});"
        ),
        false,
    )
    .await;

    let claimed = store
        .claim_due_deliveries(at(500), 10, LEASE)
        .await
        .unwrap();
    let ids: Vec<_> = claimed.iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(ids, good, "the healthy deliveries are claimed");

    // The corrupt one failed, saying why, and is not claimed again; the healthy ones
    // are, once their lease runs out unrecorded.
    let failed = db
        .texts_raw(
            "SELECT d.status || ' ' || a.error AS v FROM webhook_deliveries d \
             JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.event_id = 'evt bad!'",
        )
        .await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].starts_with("failed corrupt row: webhook_deliveries.event_id"),
        "{failed:?}"
    );
    let again = store
        .claim_due_deliveries(at(560), 10, LEASE)
        .await
        .unwrap();
    let ids: Vec<_> = again.iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(ids, good);
}
