//! Migrations, embedded from `migrations/{sqlite,postgres}` and applied on a dedicated
//! blocking connection (diesel_migrations is synchronous).
//!
//! All pending migrations run in ONE transaction, so a failure leaves the schema as it
//! was, and concurrent runs (several instances starting at once) do not interleave:
//! SQLite takes the write lock with `BEGIN IMMEDIATE`; PostgreSQL takes a transaction
//! advisory lock first. The second run then finds nothing pending: running migrations
//! again is a no-op.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::StoreError;
use crate::pool::{PgConn, Target, SQLITE_PRAGMAS};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// An arbitrary constant: the advisory lock that serialises payport migrations.
const PG_MIGRATION_LOCK: i64 = 0x0070_6179_706f_7274; // "payport" in ASCII

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run, oldest first; empty when the schema was current.
    pub applied: Vec<String>,
}

/// Whether the database's schema is the one this build expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The newest migration this build carries.
    pub expected: String,
    /// The newest migration applied to the database; `None` on an empty one.
    pub applied: Option<String>,
}

impl SchemaStatus {
    /// The newest migration this build knows is applied. A newer one (a newer build
    /// migrated the database first) is fine: migrations only add.
    pub fn is_current(&self) -> bool {
        // Versions are digits of one length (dates and a counter): text order is
        // their order.
        self.applied
            .as_deref()
            .is_some_and(|applied| applied >= self.expected.as_str())
    }
}

/// The newest embedded migration of `backend`, as diesel records it.
pub(crate) fn expected_version(backend: crate::Backend) -> Result<String, StoreError> {
    let source = match backend {
        crate::Backend::Sqlite => SQLITE_MIGRATIONS,
        crate::Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    let migrations = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source)
        .map_err(|e| StoreError::Migration(format!("embedded migrations: {e}")))?;
    migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
        .ok_or_else(|| StoreError::Migration("no embedded migrations".into()))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn run_all<C>(conn: &mut C, source: EmbeddedMigrations) -> Result<Vec<String>, BoxError>
where
    C: MigrationHarness<C::Backend> + Connection,
{
    let applied = conn.run_pending_migrations(source)?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Applies every pending migration. Blocks: call from a blocking thread.
pub(crate) fn run_blocking(target: &Target) -> Result<MigrationReport, StoreError> {
    let failed = |e: &dyn std::fmt::Display| StoreError::Migration(format!("{target:?}: {e}"));
    let applied = match target {
        Target::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(path).map_err(|e| failed(&e))?;
            conn.batch_execute(SQLITE_PRAGMAS).map_err(|e| failed(&e))?;
            conn.immediate_transaction(|conn| run_all(conn, SQLITE_MIGRATIONS))
                .map_err(|e| failed(&e))?
        }
        Target::Postgres(url) => {
            // The async connection driven from this blocking thread: no libpq needed.
            let mut conn =
                AsyncConnectionWrapper::<PgConn>::establish(url).map_err(|e| failed(&e))?;
            conn.transaction(|conn| {
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"))
                    .execute(conn)?;
                run_all(conn, POSTGRES_MIGRATIONS)
            })
            .map_err(|e| failed(&e))?
        }
    };
    Ok(MigrationReport { applied })
}
