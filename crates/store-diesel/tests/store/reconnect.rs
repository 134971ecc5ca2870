//! PostgreSQL going away under a running store (a restart, an administrator killing
//! sessions): the pool must replace its dead connections by itself, with no restart of
//! payport. `pg_terminate_backend` on every session of the database is what a restart
//! looks like from the client: each connection gets a FATAL error and is closed.

use std::time::{Duration, Instant};

use payport_domain::ports::OrderRepository;
use tokio::task::JoinSet;

use crate::support::{no, paid_order, TestDb};

/// `ConnectOptions::max_connections` of the test stores (support.rs).
const POOL: usize = 8;

/// `POOL` reads at once, so the pool opens (up to) all its connections; every result.
async fn concurrent_reads(db: &TestDb) -> Vec<Result<(), String>> {
    let mut reads = JoinSet::new();
    for _ in 0..POOL {
        let store = db.store.clone();
        reads.spawn(async move {
            match store.get(&no("o1")).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err("the order is missing".to_owned()),
                Err(e) => Err(e.to_string()),
            }
        });
    }
    reads.join_all().await
}

/// How many sessions of the test database started at `before` or earlier are still
/// there. Each ask opens a session of its own, which lingers a moment after it is
/// closed: counting those too, a busy machine could keep the count above 0 forever.
async fn sessions_from(db: &TestDb, before: &str) -> String {
    let rows = db
        .texts_raw(&format!(
            "SELECT count(*)::text AS v FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND backend_start <= '{before}'::timestamptz"
        ))
        .await;
    rows.concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pool_recovers_when_postgresql_closes_every_connection() {
    let Some(db) = TestDb::postgres(true).await else {
        return;
    };
    db.store.insert(&paid_order("o1", 100)).await.unwrap();
    for result in concurrent_reads(&db).await {
        result.unwrap();
    }

    let before = db.texts_raw("SELECT now()::text AS v").await.concat();
    db.exec_raw(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
        false,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while sessions_from(&db, &before).await != "0" {
        assert!(
            Instant::now() < deadline,
            "the sessions were not terminated"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A pooled connection that is already known dead is replaced at checkout; one that
    // is not fails its one query and is dropped. Either way, each fails at most once.
    let mut failures = Vec::new();
    loop {
        let round = concurrent_reads(&db).await;
        let failed = round.iter().filter(|r| r.is_err()).count();
        failures.extend(round.into_iter().filter_map(Result::err));
        if failed == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "still failing: {failures:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(failures.len() <= POOL, "{failures:?}");

    // Recovered for good: nothing stale is left in the pool.
    for _ in 0..3 {
        for result in concurrent_reads(&db).await {
            result.unwrap();
        }
    }
}
