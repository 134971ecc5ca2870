//! Database transactions per operation, on PostgreSQL: `xact_commit + xact_rollback`
//! of the run's own database in `pg_stat_database`, read before and after each phase.
//!
//! PostgreSQL counts a backend's transactions in that backend and publishes them
//! (flushes) at most once a second, when it goes idle; an idle backend with counts
//! still pending publishes them 10 s later (`PGSTAT_IDLE_INTERVAL`). So a count is
//! read only once payport's connections have been idle that long ([`SETTLE`]), and
//! the bench's own connection forces its flush (`pg_stat_force_next_flush()`). Each
//! read is one transaction of the bench's, which the next read sees: it is
//! subtracted. So is payport's background work at rest (the delivery loop's claim
//! twice a second, the worker's passes: about 4 a second), measured over one
//! [`SETTLE`] before the first phase; what requests add to it (a write wakes the
//! delivery loop) stays with them.

use std::time::{Duration, Instant};

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
    /// payport's transactions per second at rest.
    idle_per_sec: f64,
}

/// A settled count, and when it was read.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    count: u64,
    at: Instant,
}

impl TxCounter {
    /// Connects, and measures payport's transactions at rest over one [`SETTLE`];
    /// returns the last reading too, the first phase's start.
    pub async fn connect(database_url: &str) -> anyhow::Result<(TxCounter, Reading)> {
        let (client, connection) = tokio_postgres::connect(database_url, NoTls)
            .await
            .context("connecting to count the run's transactions")?;
        tokio::spawn(connection);
        let mut counter = TxCounter {
            client,
            idle_per_sec: 0.0,
        };
        let first = counter.settled().await?;
        let second = counter.settled().await?;
        let idle = counter.between(first, second);
        counter.idle_per_sec = idle / second.at.duration_since(first.at).as_secs_f64();
        Ok((counter, second))
    }

    /// The database's transactions so far, once every backend has published its own.
    pub async fn settled(&self) -> anyhow::Result<Reading> {
        tokio::time::sleep(SETTLE).await;
        let at = Instant::now();
        let messages = self.client.simple_query(READ).await?;
        let count = messages
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(1),
                _ => None,
            })
            .context("pg_stat_database has no row for the run's database")?;
        Ok(Reading {
            count: count.parse()?,
            at,
        })
    }

    /// payport's transactions between two readings beyond its work at rest; the later
    /// reading sees the earlier one's own transaction too.
    pub fn between(&self, before: Reading, after: Reading) -> f64 {
        let counted = after.count.saturating_sub(before.count).saturating_sub(1);
        let at_rest = self.idle_per_sec * after.at.duration_since(before.at).as_secs_f64();
        (counted as f64 - at_rest).max(0.0)
    }
}
