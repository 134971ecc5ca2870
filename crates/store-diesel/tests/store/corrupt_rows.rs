//! Rows the domain cannot read are errors, never defaults.

use payport_domain::ports::OrderFilter;
use payport_domain::{RefundId, RepoError};

use crate::support::{insert_paid, no, repos, store_tests, TestDb};

store_tests!(unknown_statuses_are_errors_not_defaults);

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
