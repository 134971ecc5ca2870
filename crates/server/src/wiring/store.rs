//! The built-in store: Diesel over SQLite or PostgreSQL, migrated before use.

use anyhow::Context;
use payport_store_diesel::DieselStore;

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

/// A database URL without its password, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_not_shown() {
        assert_eq!(
            super::redact("postgres://payport:s3cret@db:5432/payport"),
            "postgres://payport:***@db:5432/payport"
        );
        assert_eq!(
            super::redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(super::redact("sqlite://payport.db"), "sqlite://payport.db");
    }
}
