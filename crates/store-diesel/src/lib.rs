//! payport-store-diesel: the domain's repository ports over Diesel + diesel-async, for
//! SQLite (the embedded default) and PostgreSQL (several payport instances on one
//! database).
//!
//! The ledger's integrity lives in the database, not in one process: unique
//! `out_trade_no`, unique `(out_trade_no, out_request_no)`, unique idempotency keys and
//! notification ids; money as 64-bit integer fen; statuses as text with CHECK
//! constraints and an explicit mapping that rejects unknown values; saves conditional
//! on a `version` column; refund reservations in one transaction with the order locked;
//! background work claimed with `FOR UPDATE SKIP LOCKED` (SQLite: `BEGIN IMMEDIATE`);
//! events written in the transaction of the change they describe (an outbox).
//!
//! ```no_run
//! # async fn start() -> Result<(), payport_store_diesel::StoreError> {
//! let store = payport_store_diesel::DieselStore::connect("sqlite://payport.db").await?;
//! store.run_migrations().await?; // before the server listens
//! # Ok(()) }
//! ```
//!
//! Timestamps are stored to the microsecond; finer digits are dropped.
//!
//! # Layout
//! - [`DieselStore`]: the pool and the entry points (here).
//! - `pool.rs`: the two backends' pools, and the macros that compile each query for
//!   both connection types (`with_conn!`, `write_tx!`, `write_conn!`,
//!   `for_each_backend!`).
//! - `writer.rs`: SQLite's one writer connection, which commits concurrent writes
//!   together (group commit).
//! - `dialect.rs`: the only SQL that differs: row locks (`FOR UPDATE [SKIP LOCKED]`).
//! - `schema.rs`, `time.rs`: the tables; timestamps per backend.
//! - `orders.rs`, `refunds.rs`, `reserve.rs`, `external.rs`: `OrderRepository`,
//!   `RefundRepository`.
//! - `inbox.rs`, `exchange_log.rs`: `NotificationInbox`, `ExchangeLog` (its rows
//!   batched by a writer task: one write for the calls that coincide).
//! - `by_sql.rs`: queries diesel would prepare afresh on every call (updates, `IN`
//!   lists, multi-row inserts, raw SQL), cached by their SQL text instead.
//! - `idempotency.rs`, `claims.rs`: idempotency keys; claiming background work.
//! - `outbox.rs`: events written with the change they describe, and their fan-out
//!   to webhook endpoints; `events.rs`: `EventLog`; `webhooks.rs`:
//!   `WebhookEndpoints`; `deliveries.rs`: `DeliveryQueue`.
//! - `page.rs`: keyset pagination of `list`.
//! - `migrate.rs`: embedded migrations from `migrations/{sqlite,postgres}`.
//! - `error.rs`: [`StoreError`], and how database errors become `RepoError`s.

mod by_sql;
mod claims;
mod deliveries;
mod dialect;
mod error;
mod events;
mod exchange_log;
mod external;
mod idempotency;
mod inbox;
mod inline;
mod migrate;
mod orders;
mod outbox;
mod page;
mod pool;
mod reconciliations;
mod redact;
mod refunds;
mod reserve;
mod schema;
mod time;
mod webhooks;
mod writer;

use std::sync::Arc;

use payport_domain::ports::EventRenderer;
use payport_domain::RepoError;

pub use error::StoreError;
pub use migrate::{MigrationReport, SchemaStatus};
pub use pool::Backend;
pub use redact::redact_url;

use pool::{Pools, Target};

/// The repositories over one database. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct DieselStore {
    pools: Pools,
    target: Target,
    /// Makes event bodies, inside the transaction of their change.
    renderer: Arc<dyn EventRenderer>,
    /// Batches `ExchangeLog::record`'s rows (`exchange_log.rs`).
    exchanges: Arc<exchange_log::ExchangeWriter>,
}

impl std::fmt::Debug for DieselStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The target's Debug masks a password.
        f.debug_struct("DieselStore")
            .field("database", &self.target)
            .finish_non_exhaustive()
    }
}

/// Connection pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The most connections the pool opens. SQLite writes all go to one more
    /// connection, the store's writer, whatever this is; the pool's connections are
    /// for readers, who run beside it.
    pub max_connections: u32,
}

impl ConnectOptions {
    pub fn for_backend(backend: Backend) -> ConnectOptions {
        let max_connections = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        };
        ConnectOptions { max_connections }
    }
}

impl DieselStore {
    /// Opens a pool on `database_url`: `sqlite://PATH` (`sqlite:///abs/path`),
    /// `sqlite:PATH`, `postgres://...` or `postgresql://...`, with default pool sizes.
    /// One connection is opened at once, so a bad URL fails here.
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`], [`StoreError::Connect`].
    pub async fn connect(database_url: &str) -> Result<DieselStore, StoreError> {
        let target = Target::parse(database_url)?;
        let options = ConnectOptions::for_backend(target.backend());
        Self::open(target, &options).await
    }

    /// As [`DieselStore::connect`], with pool settings.
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`], [`StoreError::Connect`].
    pub async fn connect_with(
        database_url: &str,
        options: &ConnectOptions,
    ) -> Result<DieselStore, StoreError> {
        Self::open(Target::parse(database_url)?, options).await
    }

    async fn open(target: Target, options: &ConnectOptions) -> Result<DieselStore, StoreError> {
        let pools = Pools::open(&target, options.max_connections.max(1)).await?;
        Ok(DieselStore {
            pools,
            target,
            renderer: Arc::new(outbox::DefaultRenderer),
            exchanges: Arc::default(),
        })
    }

    /// Renders event bodies with `renderer` (by default: a small JSON envelope naming
    /// the object). It is called inside the transaction of each change, so it must be
    /// quick and must not touch the store.
    #[must_use]
    pub fn with_event_renderer(mut self, renderer: Arc<dyn EventRenderer>) -> DieselStore {
        self.renderer = renderer;
        self
    }

    pub fn backend(&self) -> Backend {
        self.target.backend()
    }

    /// Asks the database (one query on a pooled connection) which migration it is at,
    /// against the newest this build carries: what a readiness check needs.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the database does not answer (or has no
    /// migrations table at all).
    pub async fn schema_status(&self) -> Result<SchemaStatus, RepoError> {
        use diesel::sql_types::{Nullable, Text};
        use diesel_async::RunQueryDsl;

        #[derive(diesel::QueryableByName)]
        struct Newest {
            #[diesel(sql_type = Nullable<Text>)]
            version: Option<String>,
        }
        let expected = migrate::expected_version(self.backend())
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        let query = "SELECT MAX(version) AS version FROM __diesel_schema_migrations";
        let newest: Newest = pool::with_conn!(self, |conn| diesel::sql_query(query)
            .get_result(conn)
            .await
            .map_err(|e| RepoError::Unavailable(format!("schema version: {e}")))?);
        Ok(SchemaStatus {
            expected,
            applied: newest.version,
        })
    }

    /// Applies the embedded migrations that are not applied yet (all in one
    /// transaction), on a connection of its own. Harmless to run again.
    ///
    /// # Errors
    /// [`StoreError::Migration`]; then nothing was applied.
    pub async fn run_migrations(&self) -> Result<MigrationReport, StoreError> {
        let target = self.target.clone();
        tokio::task::spawn_blocking(move || migrate::run_blocking(&target))
            .await
            .map_err(|e| StoreError::Migration(format!("migration task failed: {e}")))?
    }
}
