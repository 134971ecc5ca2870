//! The exchange log's batch writer (`exchange_log.rs`): rows recorded at once are
//! inserted together, each caller returns once its row is committed or with its
//! batch's error, and nobody waits forever.

use std::time::Duration;

use payport_domain::ports::{ExchangeLog, GatewayExchange};
use tokio::task::JoinSet;

use crate::support::{at, store_tests, TestDb};

store_tests!(
    many_concurrent_records_all_land,
    a_failed_batch_reaches_every_caller,
);

/// Long enough for any batch on a loaded CI machine; a hang fails instead of stalling.
const PATIENCE: Duration = Duration::from_secs(30);

fn exchange(i: usize) -> GatewayExchange {
    GatewayExchange {
        operation: "alipay.trade.refund".into(),
        out_trade_no: Some("o1".into()),
        out_request_no: (i % 2 == 0).then(|| format!("r{i}")),
        request: format!("biz_content={{\"n\":{i}}}&sign=abc"),
        response: (i % 3 != 0).then(|| "{\"code\":\"10000\"}".into()),
        outcome: "http 200".into(),
        started_at: at(i64::try_from(i).unwrap()),
        duration_ms: 5,
    }
}

/// `n` records at once, from tasks of their own on clones of the store (as gateway
/// calls of concurrent requests are); each one's result.
async fn record_at_once(db: &TestDb, n: usize) -> Vec<Result<(), String>> {
    let mut calls = JoinSet::new();
    for i in 0..n {
        let store = db.store.clone();
        calls.spawn(async move { store.record(&exchange(i)).await.map_err(|e| e.to_string()) });
    }
    tokio::time::timeout(PATIENCE, calls.join_all())
        .await
        .expect("every record returns")
}

async fn many_concurrent_records_all_land(db: &TestDb) {
    const N: usize = 300;
    let results = record_at_once(db, N).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // Every row, each as recorded (returned means committed).
    let mut stored = db.store.exchanges_for_order("o1").await.unwrap();
    stored.sort_by_key(|e| e.started_at);
    assert_eq!(stored, (0..N).map(exchange).collect::<Vec<_>>());
    if !db.is_sqlite() {
        // Each transaction stamps its rows with its own xid: fewer than one per row
        // shows the rows shared transactions.
        let xids = db
            .texts_raw("SELECT count(DISTINCT xmin::text)::text AS v FROM gateway_exchanges")
            .await
            .concat();
        eprintln!("{N} concurrent records written in {xids} transaction(s)");
        assert!(xids.parse::<usize>().unwrap() < N, "{xids} transactions");
    }
    // Idle again: the next record starts a writer of its own.
    db.store.record(&exchange(N)).await.unwrap();
    assert_eq!(
        db.store.exchanges_for_order("o1").await.unwrap().len(),
        N + 1
    );
}

async fn a_failed_batch_reaches_every_caller(db: &TestDb) {
    db.store.record(&exchange(0)).await.unwrap();
    db.exec_raw("DROP TABLE gateway_exchanges", false).await;
    let results = record_at_once(db, 20).await;
    for result in &results {
        let error = result.as_ref().unwrap_err();
        assert!(error.contains("alipay.trade.refund"), "{error}");
    }
    // The writer stopped cleanly: a later record is answered too, not left waiting.
    let later = tokio::time::timeout(PATIENCE, db.store.record(&exchange(1))).await;
    assert!(later.expect("answered").is_err());
}
