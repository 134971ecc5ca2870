//! The SQLite writer on its own: concurrent bodies committed together, a failing body
//! rolled back alone, a cancelled body never committed (its batch fails).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection as _;
use diesel::result::Error as DieselError;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection as _, QueryableByName};
use payport_domain::RepoError;

use super::Writer;
use crate::pool::sqlite_write;

/// A database file with one table `t(v INTEGER UNIQUE)`, removed on drop.
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new() -> TempDb {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "payport-writer-{}-{}.db",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let db = TempDb(std::env::temp_dir().join(name));
        db.sync()
            .batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
            .unwrap();
        db
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// A connection of its own: it sees committed rows only.
    fn sync(&self) -> SqliteConnection {
        SqliteConnection::establish(self.path()).unwrap()
    }

    fn values(&self) -> Vec<i64> {
        values_at(self.path())
    }
}

/// The rows of `t` committed in the database at `path`, in order.
fn values_at(path: &str) -> Vec<i64> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        v: i64,
    }
    let query = diesel::sql_query("SELECT v FROM t ORDER BY v");
    let mut conn = SqliteConnection::establish(path).unwrap();
    let rows: Vec<Row> = diesel::RunQueryDsl::load(query, &mut conn).unwrap();
    rows.into_iter().map(|r| r.v).collect()
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path()));
        }
    }
}

/// Why a test body gave up on purpose.
#[derive(Debug)]
enum Failure {
    Db(DieselError),
    Refused,
}

impl From<DieselError> for Failure {
    fn from(e: DieselError) -> Self {
        Failure::Db(e)
    }
}

async fn insert(conn: &mut crate::pool::SqliteConn, v: i64) -> Result<(), Failure> {
    let query = diesel::sql_query(format!("INSERT INTO t (v) VALUES ({v})"));
    diesel_async::RunQueryDsl::execute(query, conn).await?;
    Ok(())
}

/// Inserts `v` and `-v` in one body, `pause`s between them, then refuses if `refuse`.
async fn write_pair(
    writer: &Writer,
    v: i64,
    pause: Option<Duration>,
    refuse: bool,
) -> Result<Result<(), Failure>, RepoError> {
    let span = tracing::Span::none();
    Ok(sqlite_write!(writer, span, |conn| {
        insert(conn, v).await?;
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
        insert(conn, -v).await?;
        if refuse {
            return Err(Failure::Refused);
        }
        Ok(())
    }))
}

/// Runs `write(writer, v)` for every `v` in `1..=n`, each in a task of its own, and
/// returns `(v, result)` in the order of `v`.
async fn concurrently<R, F, Fut>(writer: &Writer, n: i64, write: F) -> Vec<(i64, R)>
where
    F: Fn(Writer, i64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let tasks: Vec<_> = (1..=n)
        .map(|v| {
            let (writer, write) = (writer.clone(), write.clone());
            tokio::spawn(async move { (v, write(writer, v).await) })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bodies_all_commit_and_are_all_visible() {
    let db = TempDb::new();
    let writer = Writer::new(db.path());
    let results = concurrently(&writer, 300, |writer, v| async move {
        write_pair(&writer, v, None, false).await
    })
    .await;
    for (_, result) in results {
        result.unwrap().unwrap();
    }
    let mut expected: Vec<i64> = (1..=300).flat_map(|v| [-v, v]).collect();
    expected.sort_unstable();
    assert_eq!(db.values(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_body_loses_only_its_own_writes() {
    let db = TempDb::new();
    let writer = Writer::new(db.path());
    // Every third refuses after writing; every fifth writes pair 1 too, so all but
    // one of those (and 1) collide.
    let key = |v: i64| if v % 5 == 0 { 1 } else { v };
    let path = db.path().to_owned();
    let results = concurrently(&writer, 200, move |writer, v| {
        let path = path.clone();
        async move {
            let result = write_pair(&writer, key(v), None, v % 3 == 0).await;
            if let Ok(Err(Failure::Db(_))) = &result {
                // Answered once the row it collided with is committed: a retry sees it.
                assert!(values_at(&path).contains(&1), "{v}");
            }
            result
        }
    })
    .await;
    let mut expected = Vec::new();
    for (v, result) in results {
        match result.unwrap() {
            Ok(()) => expected.extend([key(v), -key(v)]),
            Err(Failure::Refused) => assert_eq!(v % 3, 0, "{v} refused"),
            Err(Failure::Db(e)) => {
                assert_eq!(key(v), 1, "{v}: {e}");
                assert!(e.to_string().contains("UNIQUE"), "{v}: {e}");
            }
        }
    }
    expected.sort_unstable();
    assert_eq!(db.values(), expected);
}

/// A body cancelled while it holds the writer, its savepoint open: it stopped halfway,
/// so the whole batch is rolled back and the bodies released into it hear so; the
/// writer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_body_fails_its_batch() {
    let (db, first, third) = cancel_in_a_batch(false, false).await;
    assert!(
        matches!(&first, Err(Failure::Db(e)) if e.to_string().contains("cancelled")),
        "{first:?}"
    );
    third.unwrap();
    assert_eq!(db.values(), vec![-3, 3]);
}

/// A body cancelled once its savepoint is gone (here it released it itself): nobody
/// can tell what the transaction holds, so the whole batch is rolled back and the
/// bodies released into it hear so; the writer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_body_without_its_savepoint_fails_its_batch() {
    let (db, first, third) = cancel_in_a_batch(true, false).await;
    assert!(
        matches!(&first, Err(Failure::Db(e)) if e.to_string().contains("cancelled")),
        "{first:?}"
    );
    third.unwrap();
    assert_eq!(db.values(), vec![-3, 3]);
}

/// A body that fails in a batch that is then rolled back: its own error may rest on
/// writes of the batch that were never committed (a duplicate found, an amount
/// refused), so it hears that the batch failed instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_body_whose_batch_fails_hears_the_batch_failure() {
    let (db, first, third) = cancel_in_a_batch(false, true).await;
    assert!(
        matches!(&first, Err(Failure::Db(e)) if e.to_string().contains("cancelled")),
        "{first:?}"
    );
    third.unwrap();
    assert_eq!(db.values(), vec![-3, 3]);
}

/// Writes pair 1 (released into a young batch without a commit, or refused if
/// `first_refuses`), then pair 2, which stalls halfway until its caller gives up
/// (`release` its savepoint first), then pair 3; returns the answers to 1 and 3.
async fn cancel_in_a_batch(
    release: bool,
    first_refuses: bool,
) -> (TempDb, Result<(), Failure>, Result<(), Failure>) {
    let db = TempDb::new();
    let writer = Writer::new(db.path());
    let shared = Arc::clone(&writer.0);
    // 0 holds the writer until 1, 2 and 3 queue behind it, so that they find it in
    // that order, with a young batch.
    let blocker = tokio::spawn({
        let writer = writer.clone();
        async move {
            let span = tracing::Span::none();
            let result: Result<(), Failure> = sqlite_write!(writer, span, |_conn| {
                while shared.waiting.load(Ordering::SeqCst) < 3 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(Failure::Refused)
            });
            Ok::<_, RepoError>(result)
        }
    });
    let pause = || tokio::time::sleep(Duration::from_millis(20));
    pause().await;
    let first = tokio::spawn({
        let writer = writer.clone();
        async move { write_pair(&writer, 1, None, first_refuses).await }
    });
    pause().await;
    let second = tokio::spawn({
        let writer = writer.clone();
        async move {
            let span = tracing::Span::none();
            let stall = async {
                let result: Result<(), Failure> = sqlite_write!(writer, span, |conn| {
                    insert(conn, 2).await?;
                    if release {
                        let sql = diesel::sql_query("RELEASE body");
                        diesel_async::RunQueryDsl::execute(sql, &mut *conn).await?;
                    }
                    std::future::pending::<()>().await;
                    Ok(())
                });
                Ok::<_, RepoError>(result)
            };
            tokio::time::timeout(Duration::from_millis(300), stall).await
        }
    });
    pause().await;
    let third = tokio::spawn({
        let writer = writer.clone();
        async move { write_pair(&writer, 3, None, false).await }
    });
    assert!(matches!(
        blocker.await.unwrap().unwrap(),
        Err(Failure::Refused)
    ));
    assert!(second.await.unwrap().is_err(), "2 timed out");
    let first = first.await.unwrap().unwrap();
    let third = third.await.unwrap().unwrap();
    (db, first, third)
}

/// Callers given up while their body holds the writer, among many quick ones: every
/// pair is all or nothing, every `Ok` is there, and every body that was cancelled (or
/// failed, its batch rolled back with a cancelled one) left nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_callers_leave_whole_pairs_only() {
    let db = TempDb::new();
    let writer = Writer::new(db.path());
    // Every seventh body stalls halfway and its caller gives up, in the queue or (more
    // often) in the body; the others are quick and wait as long as it takes.
    let results = concurrently(&writer, 210, |writer, v| async move {
        let (pause, deadline) = if v % 7 == 0 {
            let deadline = Duration::from_millis(u64::try_from(v).unwrap());
            (Some(Duration::from_secs(60)), deadline)
        } else {
            (None, Duration::from_secs(60))
        };
        tokio::time::timeout(deadline, write_pair(&writer, v, pause, false)).await
    })
    .await;
    let mut ok = Vec::new();
    for result in results {
        match result {
            (v, Ok(Ok(Ok(())))) => ok.push(v),
            (_, Ok(Ok(Err(Failure::Db(_))) | Err(RepoError::Unavailable(_)))) => {} // nothing left
            (v, Ok(other)) => panic!("{v}: {other:?}"),
            (v, Err(_)) => assert_eq!(v % 7, 0, "{v} timed out"),
        }
    }
    // Each cancelled body fails the batch it was in, which here can be every batch:
    // what matters is that no pair is half there and every `Ok` is.
    let values = db.values();
    for v in 1..=210 {
        let has = (values.contains(&v), values.contains(&-v));
        assert_eq!(has, (ok.contains(&v), ok.contains(&v)), "pair {v}");
    }
    // The writer still works.
    write_pair(&writer, 1000, None, false)
        .await
        .unwrap()
        .unwrap();
}

/// The savepoints' journal lives in memory (`temp_store = MEMORY`), and a body that
/// changed more pages than SQLite keeps in memory otherwise (64 KiB; here the table's
/// and its index's, about 100 KiB) is still undone alone: every body runs in a
/// savepoint, its batch or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_failing_body_is_undone_from_the_in_memory_journal() {
    #[derive(QueryableByName)]
    struct TempStore {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        temp_store: i32,
    }
    let db = TempDb::new();
    db.sync()
        .batch_execute(
            "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 5000) \
             INSERT INTO t (v) SELECT x FROM s",
        )
        .unwrap();
    let writer = Writer::new(db.path());
    let mode = async {
        let span = tracing::Span::none();
        let mode: Result<i32, Failure> = sqlite_write!(writer, span, |conn| {
            let query = diesel::sql_query("PRAGMA temp_store");
            let row: TempStore = diesel_async::RunQueryDsl::get_result(query, conn).await?;
            Ok(row.temp_store)
        });
        Ok::<_, RepoError>(mode)
    };
    assert_eq!(
        mode.await.unwrap().unwrap(),
        2,
        "the writer's temp_store is MEMORY"
    );
    let results = concurrently(&writer, 3, |writer, n| async move {
        let span = tracing::Span::none();
        let result: Result<(), Failure> = sqlite_write!(writer, span, |conn| {
            if n == 2 {
                // 5,000 rows over many pages, each page journalled before it changes.
                let sql = diesel::sql_query("DELETE FROM t WHERE v <= 5000");
                diesel_async::RunQueryDsl::execute(sql, &mut *conn).await?;
                return Err(Failure::Refused);
            }
            insert(conn, 10_000 + n).await
        });
        Ok::<_, RepoError>(result)
    })
    .await;
    for (n, result) in results {
        match result.unwrap() {
            Err(Failure::Refused) => assert_eq!(n, 2),
            other => assert!(other.is_ok() && n != 2, "{n}: {other:?}"),
        }
    }
    let mut expected: Vec<i64> = (1..=5000).collect();
    expected.extend([10_001, 10_003]);
    assert_eq!(db.values(), expected);
}
