//! What one request costs PostgreSQL. A refund through the API: two write
//! transactions (the reservation before the gateway call, the outcome after it), the
//! order read once, and the exchange log's row in its writer's batch. A payment
//! notification: one write transaction and the order read once. Every statement
//! payport's connections send is recorded by `sql_log`.
//!
//! How the figure counts: a transaction is a `BEGIN`...`COMMIT` on one connection; a
//! statement outside one is its own implicit transaction (PostgreSQL counts both in
//! `xact_commit`). Reads outside a transaction are listed as reads. The webhook
//! delivery loop's claims (a poll every 500 ms, whatever requests do) are left out, and
//! Alipay's notification of the refund is held, so that only the request is counted.

use std::time::Duration;

use payport_alipay_openapi::SignType;
use payport_blackbox::notify::{signed, trade_success, Key};
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

/// What a request sent, by kind.
struct Tally<'a> {
    /// Each committed transaction's statements (a rollback fails the test).
    transactions: Vec<&'a Vec<String>>,
    /// Statements on their own that read.
    reads: Vec<&'a str>,
    /// Statements on their own that write, shortened.
    writes: Vec<&'a str>,
}

fn tally(units: &[Unit]) -> Tally<'_> {
    let mut tally = Tally {
        transactions: Vec::new(),
        reads: Vec::new(),
        writes: Vec::new(),
    };
    for unit in units {
        match unit {
            Unit::Transaction {
                statements,
                committed,
            } => {
                assert!(committed, "rolled back: {statements:#?}");
                tally.transactions.push(statements);
            }
            Unit::Autocommit(sql) if sql.starts_with("SELECT") => tally.reads.push(sql.as_str()),
            Unit::Autocommit(sql) => tally.writes.push(short(sql)),
        }
    }
    tally
}

/// What payport sent since `mark`, the delivery loop's polls left out.
async fn units_since(log: &SqlLog, mark: usize) -> Vec<Unit> {
    // A moment more lets any straggler show up here rather than go unseen.
    tokio::time::sleep(Duration::from_millis(200)).await;
    log.since(mark)
        .into_iter()
        .filter(|u| !is_delivery_poll(u))
        .collect()
}

/// payport on a fresh PostgreSQL database, its statements recorded from the start.
async fn watched_app() -> Option<(TestApp, SqlLog)> {
    let mut log = None;
    let app = TestApp::spawn(Backend::Postgres, |c| {
        log = Some(SqlLog::watch(&c.database_url));
    })
    .await?;
    Some((app, log.expect("watched")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_refund_costs_two_write_transactions_and_one_order_read() {
    let Some((app, log)) = watched_app().await else {
        return;
    };
    app.paid_order("TX_1", "10.00").await;
    app.notifications_settled(1).await;
    app.sim_hold_notifications().await;

    let mark = log.mark();
    let (status, refund) = app.refund("TX_1", "1.00").await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    // The exchange log's row is committed before the gateway call returns.
    let units = units_since(&log, mark).await;

    let Tally {
        transactions,
        reads,
        writes,
    } = tally(&units);
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
    // Each transaction's events go in with one INSERT and their deliveries with one
    // more, under one outbox lock; the events render from the rows the saves returned.
    let counts: Vec<usize> = transactions.iter().map(|t| t.len()).collect();
    assert_eq!(counts, [7, 6], "{transactions:#?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_payment_notification_is_one_transaction_and_one_order_read() {
    let Some((app, log)) = watched_app().await else {
        return;
    };
    let trade_no = app.pending_with_trade("TX_2", "10.00").await;
    let paid = app.sim_pay_silently("TX_2").await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let notification = signed(
        trade_success("TX_2", &trade_no, "10.00", "notify-tx-2"),
        Key::Alipay,
        SignType::Rsa2,
    );

    let mark = log.mark();
    assert_eq!(app.post_notify(&notification).await, "success");
    let units = units_since(&log, mark).await;
    let Tally {
        transactions,
        reads,
        writes,
    } = tally(&units);
    eprintln!(
        "one payment notification: {} write transaction(s), {} write(s) on their own, \
         {} read(s)",
        transactions.len(),
        writes.len(),
        reads.len()
    );
    // The inbox record (marked handled), the order's change and its event, together.
    assert_eq!(transactions.len(), 1, "{units:#?}");
    for table in [
        "INSERT INTO \"notification_inbox\"",
        "UPDATE \"orders\"",
        "INSERT INTO \"events\"",
    ] {
        assert!(
            transactions[0].iter().any(|s| s.starts_with(table)),
            "{table}: {:#?}",
            transactions[0]
        );
    }
    // The inbox row, the order's UPDATE (returning the row its event renders from),
    // the order's refunds, the outbox lock, the event and its deliveries.
    assert_eq!(transactions[0].len(), 6, "{:#?}", transactions[0]);
    assert!(writes.is_empty(), "{writes:#?}");
    assert_eq!(reads.len(), 1, "{reads:#?}");
    assert!(reads[0].contains("FROM \"orders\""), "{reads:#?}");
    assert_eq!(app.order("TX_2").await["status"], "paid");

    // Redelivered: handled before, so one transaction that changes nothing.
    let mark = log.mark();
    assert_eq!(app.post_notify(&notification).await, "success");
    let again = units_since(&log, mark).await;
    let tally = tally(&again);
    assert_eq!(tally.transactions.len(), 1, "{again:#?}");
    assert!(
        !tally.transactions[0]
            .iter()
            .any(|s| s.starts_with("UPDATE \"orders\"")),
        "{again:#?}"
    );
    app.stop().await;
}
