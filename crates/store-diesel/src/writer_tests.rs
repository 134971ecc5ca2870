//! The SQLite writer on its own: concurrent bodies committed together, a failing body
//! rolled back alone, a cancelled body never committed.

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
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            v: i64,
        }
        let query = diesel::sql_query("SELECT v FROM t ORDER BY v");
        let rows: Vec<Row> = diesel::RunQueryDsl::load(query, &mut self.sync()).unwrap();
        rows.into_iter().map(|r| r.v).collect()
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bodies_all_commit_and_are_all_visible() {
    let db = TempDb::new();
    let writer = Writer::new(db.path());
    let tasks: Vec<_> = (1..=300)
        .map(|v| {
            let writer = writer.clone();
            tokio::spawn(async move { write_pair(&writer, v, None, false).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap().unwrap();
    }
    let mut expected: Vec<i64> = (1..=300).flat_map(|v| [-v, v]).collect();
    expected.sort_unstable();
    assert_eq!(db.values(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_body_loses_only_its_own_writes() {
    let db = TempDb::new();
    let writer = Writer::new(db.path());
    let tasks: Vec<_> = (1..=200)
        .map(|v| {
            let writer = writer.clone();
            // Every third refuses after writing; every fifth collides with row 1.
            let refuse = v % 3 == 0;
            let key = if v % 5 == 0 { 1 } else { v };
            tokio::spawn(async move { (v, write_pair(&writer, key, None, refuse).await) })
        })
        .collect();
    let mut expected = Vec::new();
    for task in tasks {
        let (v, result) = task.await.unwrap();
        match result.unwrap() {
            Ok(()) => expected.extend([v, -v]),
            Err(Failure::Refused) => assert_eq!(v % 3, 0, "{v} refused"),
            Err(Failure::Db(e)) => {
                assert!(v % 5 == 0, "{v}: {e}");
                assert!(e.to_string().contains("UNIQUE"), "{v}: {e}");
            }
        }
    }
    expected.sort_unstable();
    assert_eq!(db.values(), expected);
}

/// A body cancelled while it holds the writer: its batch is rolled back whole, the
/// bodies released into it hear so, and the writer goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_body_is_never_committed() {
    let db = TempDb::new();
    let writer = Writer::new(db.path());
    let shared = Arc::clone(&writer.0);
    // 0 holds the writer until 1, 2 and 3 queue behind it, so that they find it in
    // that order, with a young batch: 1 is released into it without a commit.
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
        async move { write_pair(&writer, 1, None, false).await }
    });
    pause().await;
    // 2 writes half its pair, then its caller gives up.
    let second = tokio::spawn({
        let writer = writer.clone();
        async move {
            tokio::time::timeout(
                Duration::from_millis(300),
                write_pair(&writer, 2, Some(Duration::from_secs(60)), false),
            )
            .await
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
    let first = first.await.unwrap().unwrap();
    assert!(
        matches!(&first, Err(Failure::Db(e)) if e.to_string().contains("cancelled")),
        "{first:?}"
    );
    assert!(second.await.unwrap().is_err(), "2 timed out");
    third.await.unwrap().unwrap().unwrap();
    assert_eq!(db.values(), vec![-3, 3]);
}

/// Callers given up at random points: every pair is all or nothing, every `Ok` is
/// there, and every body that failed left nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_callers_leave_whole_pairs_only() {
    let db = TempDb::new();
    let writer = Writer::new(db.path());
    let tasks: Vec<_> = (1..=300)
        .map(|v: i64| {
            let writer = writer.clone();
            let pause = Duration::from_micros(u64::try_from(v % 7).unwrap() * 300);
            let deadline = Duration::from_micros(u64::try_from(v % 11).unwrap() * 500 + 100);
            tokio::spawn(async move {
                let write = write_pair(&writer, v, Some(pause), false);
                (v, tokio::time::timeout(deadline, write).await)
            })
        })
        .collect();
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (v, Ok(Ok(Ok(())))) => ok.push(v),
            (v, Ok(Ok(Err(Failure::Db(_))) | Err(RepoError::Unavailable(_)))) => failed.push(v),
            (_, Ok(other)) => panic!("{other:?}"),
            (_, Err(_)) => {} // cancelled: either way, as long as it is whole
        }
    }
    let values = db.values();
    for v in 1..=300 {
        let has = (values.contains(&v), values.contains(&-v));
        assert!(has.0 == has.1, "pair {v} is half there");
        if ok.contains(&v) {
            assert!(has.0, "{v} was answered Ok but is missing");
        }
        if failed.contains(&v) {
            assert!(!has.0, "{v} failed but is there");
        }
    }
    // The writer still works.
    write_pair(&writer, 1000, None, false)
        .await
        .unwrap()
        .unwrap();
}
