//! Connections: one bb8 pool per backend behind [`Pools`], SQLite's one writer, and the
//! macros that let each query be written once and compiled for both connection types.
//!
//! - SQLite: `SyncConnectionWrapper<SqliteConnection>` (each call runs on tokio's
//!   blocking pool, except the writer's inside a body: `inline.rs`). Every new
//!   connection gets WAL, a 5 s busy timeout and foreign keys. The pool serves
//!   reads (WAL: they see committed data and never wait for the writer); every write
//!   goes to the store's one writer connection, which commits concurrent writes
//!   together (group commit, `writer.rs`).
//! - PostgreSQL: `AsyncPgConnection` (tokio-postgres, no libpq). Reads and writes share
//!   the pool; PostgreSQL groups concurrent commits' WAL flushes by itself.
//!
//! Pooled connections that come back with an open transaction (a cancelled future) are
//! dropped by the pool, never reused: diesel-async reports them as broken.
//!
//! A checkout sends nothing to the database (see `checkout_check`): no `SELECT 1`
//! per transaction. A connection whose socket closed (PostgreSQL restarted, backend
//! terminated) is still noticed there and replaced.
//!
//! Which macro: `with_conn!` for reads; `write_tx!` for a transaction; `write_conn!`
//! for one write statement that needs no transaction. A write through `with_conn!`
//! still works on SQLite, but it goes around the writer: it waits on SQLite's lock
//! (polling, up to the busy timeout) for a moment between two of the writer's batches,
//! which under a steady load of writes may not come in time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use diesel::sqlite::SqliteConnection;
use diesel::ConnectionResult;
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolableConnection, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use payport_domain::RepoError;

use crate::error::StoreError;
use crate::inline::Spawner;
use crate::redact::redact_url;
use crate::writer::Writer;

pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection, Spawner>;
pub(crate) type PgConn = AsyncPgConnection;

/// Run on every new SQLite connection, before anything else. WAL lets readers go on
/// while one writer commits; the busy timeout makes writers queue for the lock instead
/// of failing; foreign keys are off in SQLite unless asked for. `synchronous = FULL`
/// (the default, said out loud): a committed refund survives a power cut.
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON;";

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database is, parsed from the URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A file path for `SqliteConnection::establish`.
    Sqlite(String),
    /// The URL as given (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Target {
    /// `sqlite://PATH` (`sqlite:///abs/path` for an absolute one), `sqlite:PATH`,
    /// `postgres://...` or `postgresql://...`.
    pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::UnsupportedUrl(redact_url(url)))?;
        // An in-memory database would be one per pooled connection: not a store.
        if path.is_empty() || path.starts_with(":memory:") || path.contains("mode=memory") {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        Ok(Target::Sqlite(path.to_owned()))
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sqlite(path) => write!(f, "sqlite://{path}"),
            Target::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

/// The pool of whichever backend the URL named, and SQLite's one writer (see
/// `writer.rs`). Cheap to clone (bb8 pools and the writer are `Arc`s).
#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite(Pool<SqliteConn>, Writer),
    Postgres(Pool<PgConn>),
}

/// How long to wait for a connection (a new one, or a free one from the pool).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

type SetupFuture<'a, C> = Pin<Box<dyn Future<Output = ConnectionResult<C>> + Send + 'a>>;

/// A reader's page cache, 1 MiB instead of SQLite's 2 MiB: SQLite drops a connection's
/// whole cache when it starts reading after another connection's commit, so under
/// write load a reader's cache is cold again on nearly every read, and at 5
/// connections the default cost peak memory (46.5-49.0 MB at concurrency 64 in the
/// load bench, 44.8-45.8 MB with this, at the same throughput).
const SQLITE_READER_PRAGMAS: &str = "PRAGMA cache_size = -1024;";

pub(crate) fn sqlite_setup(path: &str) -> SetupFuture<'_, SqliteConn> {
    sqlite_open(path, Spawner::pooled(), SQLITE_READER_PRAGMAS)
}

/// The writer's savepoints journal every page a body changes (so that a failed body
/// can be undone alone) into a sub-journal, a temporary file by default: a `pwrite`
/// per page per body. In memory it holds the pages of the body running, emptied as
/// each body is released: a few for a request, more for an operator's bulk action (a
/// batch of refunds, an endpoint retired with its pending deliveries), while it runs.
const SQLITE_WRITER_PRAGMAS: &str = "PRAGMA temp_store = MEMORY;";

/// The writer's connection: inside a body, its statements run inline (`inline.rs`).
pub(crate) fn sqlite_writer_setup(path: &str) -> SetupFuture<'_, SqliteConn> {
    sqlite_open(path, Spawner::writer(), SQLITE_WRITER_PRAGMAS)
}

fn sqlite_open<'a>(
    path: &'a str,
    spawner: Spawner,
    more_pragmas: &'static str,
) -> SetupFuture<'a, SqliteConn> {
    let path = path.to_owned();
    Box::pin(async move {
        let sync = tokio::task::spawn_blocking(move || {
            <SqliteConnection as diesel::Connection>::establish(&path)
        })
        .await
        .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))??;
        let mut conn = SqliteConn::with_runtime(sync, spawner);
        conn.batch_execute(&format!("{SQLITE_PRAGMAS} {more_pragmas}"))
            .await
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    })
}

/// What bb8 runs on every checkout, instead of diesel-async's default
/// (`RecyclingMethod::Verified`, a `SELECT 1` round trip before every transaction):
/// the connection's own state, no I/O. It refuses a connection left in a broken
/// transaction and a PostgreSQL connection whose socket has closed (its driver task
/// ends when the server goes away), so after a restart the pool opens new ones. A
/// connection that dies unnoticed fails its one query and then reports itself broken,
/// so bb8 drops it on return: an outage costs failed requests, never a stuck pool.
fn checkout_check<C: PoolableConnection + 'static>() -> RecyclingMethod<C> {
    RecyclingMethod::CustomFunction(Box::new(|conn: &mut C| {
        let result = if conn.is_broken() {
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection,
                Box::new("the pooled connection is closed or broken".to_owned()),
            ))
        } else {
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }))
}

impl Pools {
    pub(crate) async fn open(target: &Target, max_size: u32) -> Result<Pools, StoreError> {
        let connect_error =
            |e: &dyn std::fmt::Display| StoreError::Connect(format!("{target:?}: {e}"));
        // bb8 connects lazily and retries until its timeout, which hides the cause:
        // one direct connection first, so a bad URL fails here with the real error.
        let first_connection = async {
            match target {
                Target::Sqlite(path) => sqlite_setup(path).await.map(drop),
                Target::Postgres(url) => PgConn::establish(url).await.map(drop),
            }
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, first_connection).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(connect_error(&e)),
            Err(_) => return Err(connect_error(&"timed out")),
        }
        Ok(match target {
            Target::Sqlite(path) => {
                let mut config = ManagerConfig::<SqliteConn>::default();
                config.custom_setup = Box::new(sqlite_setup);
                config.recycling_method = checkout_check();
                let manager = AsyncDieselConnectionManager::new_with_config(path, config);
                Pools::Sqlite(
                    Pool::builder()
                        .max_size(max_size)
                        .connection_timeout(CONNECT_TIMEOUT)
                        .build_unchecked(manager),
                    Writer::new(path),
                )
            }
            Target::Postgres(url) => {
                let mut config = ManagerConfig::<PgConn>::default();
                config.recycling_method = checkout_check();
                let manager = AsyncDieselConnectionManager::new_with_config(url, config);
                Pools::Postgres(
                    Pool::builder()
                        .max_size(max_size)
                        .connection_timeout(CONNECT_TIMEOUT)
                        .build_unchecked(manager),
                )
            }
        })
    }
}

/// Takes a connection from `pool`.
pub(crate) async fn checkout<C>(pool: &Pool<C>) -> Result<PooledConnection<'_, C>, RepoError>
where
    C: diesel_async::pooled_connection::PoolableConnection + 'static,
    AsyncDieselConnectionManager<C>:
        bb8::ManageConnection<Connection = C, Error = diesel_async::pooled_connection::PoolError>,
{
    pool.get()
        .await
        .map_err(|e| RepoError::Unavailable(format!("no database connection: {e}")))
}

/// `with_conn!(store, |conn| body)`: runs `body` with `conn: &mut SqliteConn` or
/// `&mut PgConn` taken from the store's pool. `body` is compiled once per backend;
/// pool errors return early as [`RepoError::Unavailable`] (via `?`).
macro_rules! with_conn {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pools {
            $crate::pool::Pools::Sqlite(pool, _) => {
                let mut pooled = $crate::pool::checkout(pool).await?;
                let $conn: &mut $crate::pool::SqliteConn = &mut pooled;
                $body
            }
            $crate::pool::Pools::Postgres(pool) => {
                let mut pooled = $crate::pool::checkout(pool).await?;
                let $conn: &mut $crate::pool::PgConn = &mut pooled;
                $body
            }
        }
    };
}

/// `write_tx!(store, |conn| body)`: runs `body` (an async block's contents returning
/// `Result<T, Abort<E>>`) in a write transaction, committed on `Ok`, rolled back on
/// `Err`. The one place where the backends' transactions differ:
///
/// - SQLite: on the store's writer (`writer.rs`), inside its open `BEGIN IMMEDIATE`
///   transaction, in a savepoint of its own: bodies run one at a time, and concurrent
///   ones are committed together (one fsync). `Err` rolls back to the savepoint and
///   returns when the batch ends; `Ok` returns once the batch has committed (an error if it did
///   not). `BEGIN IMMEDIATE` takes the database's single write lock before the first
///   read, so the reads in `body` cannot go stale before its writes; other processes'
///   writers wait on the busy timeout. A plain `BEGIN` would take the lock only at the
///   first write and could fail with `SQLITE_BUSY` instead.
/// - PostgreSQL: `BEGIN` (read committed) on a pooled connection; rows are locked where
///   `body` asks for it (`SELECT ... FOR UPDATE [SKIP LOCKED]`, see `dialect.rs`) and
///   by its updates.
///
/// Each runs in a `db_tx` span (debug level), waiting for a connection (or the
/// writer, and its batch's commit) included, and ends with a debug line saying how
/// long it took: a slow request shows where its time went.
macro_rules! write_tx {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let span = tracing::debug_span!("db_tx");
        let started = std::time::Instant::now();
        let result = match &$store.pools {
            $crate::pool::Pools::Sqlite(_, writer) => {
                $crate::pool::sqlite_write!(writer, span, |$conn| $body)
            }
            $crate::pool::Pools::Postgres(pool) => {
                let checkout = $crate::pool::checkout(pool);
                let mut pooled = tracing::Instrument::instrument(checkout, span.clone()).await?;
                let conn: &mut $crate::pool::PgConn = &mut pooled;
                let tx = diesel_async::AsyncConnection::transaction(
                    conn,
                    async |$conn: &mut $crate::pool::PgConn| $body,
                );
                tracing::Instrument::instrument(tx, span.clone()).await
            }
        };
        $crate::pool::tx_done(&span, started, result.is_ok());
        result
    }};
}

/// `write_conn!(store, |conn| body)`: one write that needs no transaction of its own
/// (a single statement), with `body` returning `Result<T, E>`, `E:
/// From<diesel::result::Error>`. PostgreSQL: on a pooled connection, as `with_conn!`.
/// SQLite: on the writer, as a body of the open batch like `write_tx!`'s, so that it
/// neither waits on SQLite's lock behind the batches nor holds them up; its `Ok` also
/// waits for the batch's commit.
macro_rules! write_conn {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pools {
            $crate::pool::Pools::Sqlite(_, writer) => {
                let span = tracing::debug_span!("db_write");
                $crate::pool::sqlite_write!(writer, span, |$conn| $body)
            }
            $crate::pool::Pools::Postgres(pool) => {
                let mut pooled = $crate::pool::checkout(pool).await?;
                let $conn: &mut $crate::pool::PgConn = &mut pooled;
                $body
            }
        }
    };
}

/// `sqlite_write!(writer, span, |conn| body)`: `body` as one savepoint of the writer's
/// batch (`writer.rs`). The body is an async block, not a closure, so it may borrow
/// the caller's data as `write_tx!`'s always could; `return` and `?` in it end the
/// body, not the caller. Writer errors return early as [`RepoError::Unavailable`].
macro_rules! sqlite_write {
    ($writer:expr, $span:expr, |$conn:ident| $body:expr) => {{
        let mut held = tracing::Instrument::instrument($writer.hold(), $span.clone()).await?;
        let writer_conn: &mut $crate::pool::SqliteConn = held.conn();
        let body = async {
            let $conn: &mut $crate::pool::SqliteConn = writer_conn;
            $body
        };
        let body = $crate::inline::inline(body);
        let result = tracing::Instrument::instrument(body, $span.clone()).await;
        tracing::Instrument::instrument(held.finish(result), $span.clone()).await
    }};
}

/// The closing line of a `write_tx!`, in its span.
pub(crate) fn tx_done(span: &tracing::Span, started: std::time::Instant, committed: bool) {
    let _in_span = span.enter();
    tracing::debug!(
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        committed,
        "db transaction"
    );
}

/// `for_each_backend! { impl Trait { fns } }`: the same method bodies for both
/// connection types, so a query is written once.
macro_rules! for_each_backend {
    (impl $tr:ident { $($items:tt)* }) => {
        impl $tr for $crate::pool::SqliteConn {
            $($items)*
        }
        impl $tr for $crate::pool::PgConn {
            $($items)*
        }
    };
}

pub(crate) use {for_each_backend, sqlite_write, with_conn, write_conn, write_tx};
