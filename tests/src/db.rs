//! Test databases: a temporary SQLite file, or a PostgreSQL database per test, a copy
//! of a migrated template (`payport_test_support::db`, which also says when PostgreSQL
//! tests are skipped: locally when it is unreachable, never in CI).

/// Which database payport runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A PostgreSQL database of one test's own; dropped with the value.
pub struct PgDatabase(payport_test_support::db::PgDatabase);

impl PgDatabase {
    /// Creates a fresh, already migrated database, or `None` (after saying so on
    /// stderr) when PostgreSQL cannot be reached outside CI. payport's own start-up
    /// migration then finds nothing to apply.
    ///
    /// # Panics
    /// PostgreSQL is unreachable while `CI` is set, or the database cannot be created.
    pub async fn create() -> Option<PgDatabase> {
        payport_test_support::db::PgDatabase::migrated()
            .await
            .map(PgDatabase)
    }

    /// The URL payport connects to.
    pub fn url(&self) -> String {
        self.0.url().to_owned()
    }
}
