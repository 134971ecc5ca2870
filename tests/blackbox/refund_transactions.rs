//! What one refund through the API costs PostgreSQL (issue 14): at most two write
//! transactions (the reservation before the gateway call, the outcome after it), the
//! order read once, and the exchange log's row in its writer's batch. Every statement
//! payport's connections send is recorded by `sql_log`.
//!
//! How the figure counts: a transaction is a `BEGIN`...`COMMIT` on one connection; a
//! statement outside one is its own implicit transaction (PostgreSQL counts both in
//! `xact_commit`). Reads outside a transaction are listed as reads. The webhook
//! delivery loop's claims (a poll every 500 ms, whatever requests do) are left out, and
//! Alipay's notification of the refund is held, so that only the request is counted.

use std::time::Duration;

use payport_blackbox::sql_log::{SqlLog, Unit};
use payport_blackbox::{Backend, TestApp};

/// A claim of the delivery loop, which polls on its own.
fn is_delivery_poll(unit: &Unit) -> bool {
    match unit {
        Unit::Transaction { statements, .. } => statements
            .first()
            .is_some_and(|s| s.starts_with("SELECT \"webhook_deliveries\".\"id\"")),
        Unit::Autocommit(_) => false,
    }
}

fn short(sql: &str) -> &str {
    &sql[..sql.len().min(70)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_refund_costs_two_write_transactions_and_one_order_read() {
    let mut log = None;
    let Some(app) = TestApp::spawn(Backend::Postgres, |c| {
        log = Some(SqlLog::watch(&c.database_url));
    })
    .await
    else {
        return;
    };
    let log = log.unwrap();
    app.paid_order("TX_1", "10.00").await;
    app.notifications_settled(1).await;
    app.sim_hold_notifications().await;

    let mark = log.mark();
    let (status, refund) = app.refund("TX_1", "1.00").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    // The exchange log's row is committed before the gateway call returns; a moment
    // more lets any straggler show up here rather than go unseen.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let units: Vec<Unit> = log
        .since(mark)
        .into_iter()
        .filter(|u| !is_delivery_poll(u))
        .collect();

    let mut transactions = Vec::new();
    let mut reads = Vec::new();
    let mut writes = Vec::new();
    for unit in &units {
        match unit {
            Unit::Transaction {
                statements,
                committed,
            } => {
                assert!(committed, "rolled back: {statements:#?}");
                transactions.push(statements);
            }
            Unit::Autocommit(sql) if sql.starts_with("SELECT") => reads.push(sql.as_str()),
            Unit::Autocommit(sql) => writes.push(short(sql)),
        }
    }
    eprintln!(
        "one refund through the API: {} write transaction(s), {} statement(s) on their \
         own that write {writes:?}, {} read(s) {:#?}",
        transactions.len(),
        writes.len(),
        reads.len(),
        reads.iter().map(|s| short(s)).collect::<Vec<_>>()
    );
    // The reservation (stored already processing), then the outcome with its order.
    assert_eq!(transactions.len(), 2, "{units:#?}");
    assert!(
        transactions[0]
            .iter()
            .any(|s| s.starts_with("INSERT INTO \"refunds\"")),
        "{:#?}",
        transactions[0]
    );
    for table in ["UPDATE \"refunds\"", "UPDATE \"orders\""] {
        assert!(
            transactions[1].iter().any(|s| s.starts_with(table)),
            "{:#?}",
            transactions[1]
        );
    }
    // The exchange log's row: one multi-row INSERT per batch of concurrent calls.
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert!(
        writes[0].starts_with("INSERT INTO \"gateway_exchanges\""),
        "{writes:#?}"
    );
    // The order is read once per request, and nothing else is read outside a
    // transaction.
    let order_reads = reads
        .iter()
        .filter(|s| s.contains("FROM \"orders\""))
        .count();
    assert_eq!(order_reads, 1, "{reads:#?}");
    assert_eq!(reads.len(), 1, "{reads:#?}");
    app.stop().await;
}
