//! Migrations on empty databases; running them again; concurrent runs; connection URLs.

use payport_domain::ports::OrderRepository;
use payport_store_diesel::{Backend, DieselStore, StoreError};

use crate::support::{no, paid_order, store_tests, TestDb};

/// Every migration, oldest first.
const MIGRATIONS: [&str; 7] = [
    "20261121000001",
    "20261122000300",
    "20261126000400",
    "20261127000500",
    "20261128000600",
    "20261129000700",
    "20261130000800",
];

store_tests!(empty: migrations_apply_to_an_empty_database_and_again_harmlessly,
    concurrent_migration_runs_apply_once, the_schema_status_follows_the_migrations);

async fn migrations_apply_to_an_empty_database_and_again_harmlessly(db: &TestDb) {
    let first = db.store.run_migrations().await.unwrap();
    assert_eq!(first.applied, MIGRATIONS);
    let again = db.store.run_migrations().await.unwrap();
    assert!(again.applied.is_empty(), "{again:?}");

    // The schema works, and a third run after data exists changes nothing.
    let order = paid_order("o1", 100);
    db.store.insert(&order).await.unwrap();
    assert!(db.store.run_migrations().await.unwrap().applied.is_empty());
    assert_eq!(db.store.get(&no("o1")).await.unwrap(), Some(order));

    if db.is_sqlite() {
        assert_eq!(db.store.backend(), Backend::Sqlite);
        assert_eq!(db.sqlite_journal_mode().await, "wal");
    } else {
        assert_eq!(db.store.backend(), Backend::Postgres);
    }
}

async fn concurrent_migration_runs_apply_once(db: &TestDb) {
    let other = db.another_instance().await;
    let (a, b) = tokio::join!(db.store.run_migrations(), other.run_migrations());
    let applied = a.unwrap().applied.len() + b.unwrap().applied.len();
    assert_eq!(
        applied,
        MIGRATIONS.len(),
        "exactly one instance applies each migration"
    );
}

/// What a readiness check reads: an unmigrated database fails the question, a
/// migrated one is current, and one whose newest migration was reverted is behind.
async fn the_schema_status_follows_the_migrations(db: &TestDb) {
    let newest = MIGRATIONS[MIGRATIONS.len() - 1];
    assert!(
        db.store.schema_status().await.is_err(),
        "no migrations table yet"
    );
    db.store.run_migrations().await.unwrap();
    let status = db.store.schema_status().await.unwrap();
    assert_eq!(status.expected, newest);
    assert_eq!(status.applied.as_deref(), Some(newest));
    assert!(status.is_current());

    db.exec_raw(
        &format!("DELETE FROM __diesel_schema_migrations WHERE version = '{newest}'"),
        false,
    )
    .await;
    let behind = db.store.schema_status().await.unwrap();
    assert_eq!(
        behind.applied.as_deref(),
        Some(MIGRATIONS[MIGRATIONS.len() - 2])
    );
    assert!(!behind.is_current(), "{behind:?}");
}

#[tokio::test]
async fn unsupported_urls_are_refused_by_name() {
    for url in [
        "mysql://root@localhost/db",
        "payport.db",
        "sqlite::memory:",
        "sqlite://",
    ] {
        match DieselStore::connect(url).await {
            Err(StoreError::UnsupportedUrl(_)) => {}
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn connection_errors_hide_the_password() {
    // Nothing listens on port 1.
    let err = DieselStore::connect("postgres://payport:s3cret@127.0.0.1:1/payport")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect(_)), "{err:?}");
    assert!(!text.contains("s3cret"), "{text}");
}

/// `run_migrations` blocks a thread of tokio's blocking pool, never the caller's:
/// it works from a current-thread runtime too (a `#[tokio::main(flavor =
/// "current_thread")]` server, say).
#[tokio::test(flavor = "current_thread")]
async fn migrations_run_from_a_current_thread_runtime() {
    let sqlite = TestDb::sqlite(false).await;
    assert_eq!(
        sqlite.store.run_migrations().await.unwrap().applied.len(),
        MIGRATIONS.len()
    );
    if let Some(pg) = TestDb::postgres(false).await {
        assert_eq!(
            pg.store.run_migrations().await.unwrap().applied.len(),
            MIGRATIONS.len()
        );
        pg.store.insert(&paid_order("o1", 1)).await.unwrap();
    }
}
