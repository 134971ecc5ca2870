//! Test databases: a temporary SQLite file, or a fresh PostgreSQL database per test.
//!
//! PostgreSQL: `postgres://postgres@127.0.0.1:5432/postgres` (or `PAYPORT_TEST_PG_URL`)
//! is the admin connection; each test creates `payport_bb_<pid>_<n>_<nanos>` and drops
//! it `WITH (FORCE)` when the test ends. Unreachable: with `CI` set the test fails;
//! otherwise it prints why it was skipped and passes (the store suite's policy,
//! crates/store-diesel/tests/store/support.rs).

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which database payport runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A PostgreSQL database of one test's own; dropped with the value.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

async fn connect_admin(url: &str) -> Result<tokio_postgres::Client, String> {
    let connecting = tokio_postgres::connect(url, tokio_postgres::NoTls);
    match tokio::time::timeout(Duration::from_secs(10), connecting).await {
        Ok(Ok((client, connection))) => {
            tokio::spawn(connection);
            Ok(client)
        }
        Ok(Err(e)) => Err(with_causes(&e)),
        Err(_) => Err("timed out after 10 s".into()),
    }
}

/// An error with its causes: tokio-postgres puts the useful part in the source.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// `url` with its database name replaced by `name`.
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    format!("{server}/{name}{query}")
}

impl PgDatabase {
    /// Creates a fresh database, or `None` (after saying so on stderr) when PostgreSQL
    /// cannot be reached outside CI.
    ///
    /// # Panics
    /// PostgreSQL is unreachable while `CI` is set, or the database cannot be created.
    pub async fn create() -> Option<PgDatabase> {
        let admin_url =
            std::env::var("PAYPORT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
        let admin = match connect_admin(&admin_url).await {
            Ok(client) => client,
            Err(e) => {
                assert!(
                    !in_ci(),
                    "PostgreSQL is required in CI (CI is set): cannot connect to {admin_url}: {e}"
                );
                // Straight to stderr, past the harness's capture, so a skip is always seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED (PostgreSQL): cannot connect to {admin_url}: {e}; \
                     set PAYPORT_TEST_PG_URL or start PostgreSQL"
                );
                return None;
            }
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "payport_bb_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot create the test database {name}: {}",
                    with_causes(&e)
                )
            });
        Some(PgDatabase { admin_url, name })
    }

    /// The URL payport connects to.
    pub fn url(&self) -> String {
        database_url(&self.admin_url, &self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop cannot await: a thread with a runtime of its own does it, joined so that
        // the database is gone when the test returns.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = connect_admin(&admin_url).await?;
                admin.batch_execute(&sql).await.map_err(|e| with_causes(&e))
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: thread panicked",
                self.name
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_url_replaces_only_the_name() {
        assert_eq!(
            super::database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::database_url("postgres://u:p@h/db?sslmode=disable", "y"),
            "postgres://u:p@h/y?sslmode=disable"
        );
    }
}
