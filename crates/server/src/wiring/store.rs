//! The built-in store: Diesel over SQLite or PostgreSQL, migrated before use.

use anyhow::Context;
use async_trait::async_trait;
use payport_store_diesel::DieselStore;

use crate::state::Readiness;

/// Opens the database and brings its schema up to date BEFORE binding, so that no
/// request is ever served against an old schema.
///
/// # Errors
/// The database cannot be reached or migrated.
pub async fn open_store(database_url: &str) -> anyhow::Result<DieselStore> {
    let store = DieselStore::connect(database_url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(database_url)))?;
    let report = store
        .run_migrations()
        .await
        .context("cannot migrate the database")?;
    if !report.applied.is_empty() {
        tracing::info!(applied = ?report.applied, "database migrated");
    }
    Ok(store)
}

/// Ready when the database answers and has this build's newest migration.
pub(super) struct SchemaReady(pub DieselStore);

#[async_trait]
impl Readiness for SchemaReady {
    async fn check(&self) -> Result<(), String> {
        let status = self.0.schema_status().await.map_err(|e| e.to_string())?;
        if status.is_current() {
            Ok(())
        } else {
            Err(format!(
                "the database schema is at {}, this build needs {}: run `payport migrate`",
                status.applied.as_deref().unwrap_or("no migration"),
                status.expected
            ))
        }
    }
}

/// A store a program brought: payport cannot tell, so it is taken as ready.
pub(super) struct AssumedReady;

#[async_trait]
impl Readiness for AssumedReady {
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A database URL without its passwords, for logs and errors (see
/// [`payport_store_diesel::redact_url`]).
pub fn redact(url: &str) -> String {
    payport_store_diesel::redact_url(url)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn database_passwords_are_not_shown() {
        for (url, shown) in [
            (
                "postgres://payport:s3cret@db:5432/payport",
                "postgres://payport:***@db:5432/payport",
            ),
            (
                "postgres://postgres@127.0.0.1/x",
                "postgres://postgres@127.0.0.1/x",
            ),
            ("sqlite://payport.db", "sqlite://payport.db"),
            (
                "sqlite:///var/lib/payport.db",
                "sqlite:///var/lib/payport.db",
            ),
        ] {
            assert_eq!(redact(url), shown);
        }
    }

    #[test]
    fn a_password_with_a_slash_or_an_at_sign_is_masked_whole() {
        assert_eq!(
            redact("postgres://payport:se/cret@db:5432/payport"),
            "postgres://payport:***@db:5432/payport"
        );
        assert_eq!(
            redact("postgres://payport:a@b/c@d@db/payport"),
            "postgres://payport:***@db/payport"
        );
        assert_eq!(
            redact("postgres://payport:s?e#c@db/payport"),
            "postgres://payport:***@db/payport"
        );
    }

    #[test]
    fn password_parameters_are_masked() {
        assert_eq!(
            redact("postgres://payport@db/payport?password=secret&sslmode=require"),
            "postgres://payport@db/payport?password=***&sslmode=require"
        );
        assert_eq!(
            redact("postgres://db/payport?sslmode=verify-full&sslpassword=secret"),
            "postgres://db/payport?sslmode=verify-full&sslpassword=***"
        );
        assert_eq!(
            redact("postgres://u:p@db/x?PassWord=secret#frag"),
            "postgres://u:***@db/x?PassWord=***#frag"
        );
        assert_eq!(
            redact("host=db user=payport password='se cret' dbname=payport"),
            "host=db user=payport password=*** dbname=payport"
        );
    }
}
