//! Database transactions per operation, on PostgreSQL: `xact_commit + xact_rollback`
//! of the run's own database in `pg_stat_database`, read before and after each phase.
//!
//! PostgreSQL counts a backend's transactions in that backend and publishes them
//! (flushes) at most once a second, when it goes idle; an idle backend with counts
//! still pending publishes them 10 s later (`PGSTAT_IDLE_INTERVAL`). So a count is
//! read only once payport's connections have been idle that long ([`SETTLE`]), and
//! the bench's own connection forces its flush (`pg_stat_force_next_flush()`). Each
//! read is one transaction of the bench's, which the next read sees: it is
//! subtracted ([`TxCounter::between`]). payport's background work (the delivery loop
//! polls twice a second, the worker's passes) is counted with the phase; at the
//! phases' thousands of operations it adds well under 0.01 per operation.

use std::time::Duration;

use anyhow::Context;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Longer than PostgreSQL's 10 s before an idle backend publishes its counts.
pub const SETTLE: Duration = Duration::from_secs(11);

/// One simple query, so one transaction: a prepared statement would add its own.
const READ: &str = "SELECT pg_stat_force_next_flush(), \
     (SELECT xact_commit + xact_rollback FROM pg_stat_database \
      WHERE datname = current_database())";

/// The bench's one connection to the run's database, for reading the count only.
pub struct TxCounter {
    client: Client,
}

impl TxCounter {
    pub async fn connect(database_url: &str) -> anyhow::Result<TxCounter> {
        let (client, connection) = tokio_postgres::connect(database_url, NoTls)
            .await
            .context("connecting to count the run's transactions")?;
        tokio::spawn(connection);
        Ok(TxCounter { client })
    }

    /// The database's transactions so far, once every backend has published its own.
    pub async fn settled(&self) -> anyhow::Result<u64> {
        tokio::time::sleep(SETTLE).await;
        let messages = self.client.simple_query(READ).await?;
        let count = messages
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(1),
                _ => None,
            })
            .context("pg_stat_database has no row for the run's database")?;
        Ok(count.parse()?)
    }

    /// payport's transactions between two reads: the later one sees the earlier
    /// read's own transaction too.
    pub fn between(before: u64, after: u64) -> u64 {
        after.saturating_sub(before).saturating_sub(1)
    }
}
