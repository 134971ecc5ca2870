//! Throwaway databases for tests: PostgreSQL databases of a test's own, and temporary
//! SQLite files.
//!
//! **Why a template database.** Running payport's migrations costs far more than
//! copying a migrated database, and the suites make hundreds of databases. So, as the
//! Rust registry's own server does in its tests, each test process migrates one
//! *template* database once and every test gets `CREATE DATABASE x TEMPLATE tmpl`, a
//! file-level copy; the copy is dropped `WITH (FORCE)` when the test's
//! [`PgDatabase`] is dropped, passed or failed.
//!
//! The template is named by a hash of `migrations/postgres`, so a changed schema gets
//! a fresh template, and test processes running at once (several crates, several
//! worktrees on one server) share it without clashing: it is built under a name of
//! its own and renamed into place when fully migrated; the loser of a race drops its
//! build and uses the winner's. Templates are kept between runs on purpose.
//!
//! Where: `postgres://postgres@127.0.0.1:5432/postgres`, or `PAYPORT_TEST_PG_URL`, is
//! the admin connection. Unreachable: with `CI` set the test fails; otherwise it prints
//! `SKIPPED (PostgreSQL): <why>; set PAYPORT_TEST_PG_URL or start PostgreSQL` to stderr
//! and the caller gets `None` (the test returns early and passes).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use payport_store_diesel::{ConnectOptions, DieselStore};

/// The admin connection when `PAYPORT_TEST_PG_URL` is not set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// `PAYPORT_TEST_PG_URL`, or [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var("PAYPORT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Whether `CI` is set (and not `false`): then PostgreSQL is required.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// `url` with its database name replaced by `name`.
pub fn database_url(url: &str, name: &str) -> String {
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

/// A PostgreSQL database of one test's own; dropped `WITH (FORCE)` with the value.
#[derive(Debug)]
pub struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    /// A copy of the migrated template, or `None` when PostgreSQL is unreachable
    /// outside CI (see the module doc).
    ///
    /// # Panics
    /// PostgreSQL is unreachable while `CI` is set; the template or the copy cannot be
    /// made.
    pub async fn migrated() -> Option<PgDatabase> {
        let admin_url = admin_url();
        let admin = reachable(&admin_url).await?;
        let template = template(&admin_url)
            .as_deref()
            .unwrap_or_else(|e| panic!("cannot make the template database: {e}"));
        let name = unique_name("payport_test");
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        // A template cannot be copied while anyone is connected to it; the only ones who
        // ever are, briefly, are other processes finishing their build of it.
        let mut attempts = 0;
        while let Err(e) = admin.batch_execute(&sql).await {
            attempts += 1;
            if !is_busy(&e) || attempts >= 100 {
                panic!("cannot create {name} from {template}: {}", with_causes(&e));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(PgDatabase::new(admin_url, name))
    }

    /// A database without payport's tables (for the migration tests), or `None` as for
    /// [`PgDatabase::migrated`].
    ///
    /// # Panics
    /// As [`PgDatabase::migrated`].
    pub async fn empty() -> Option<PgDatabase> {
        let admin_url = admin_url();
        let admin = reachable(&admin_url).await?;
        let name = unique_name("payport_test");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("cannot create {name}: {}", with_causes(&e)));
        Some(PgDatabase::new(admin_url, name))
    }

    fn new(admin_url: String, name: String) -> PgDatabase {
        let url = database_url(&admin_url, &name);
        PgDatabase {
            admin_url,
            name,
            url,
        }
    }

    /// The URL payport connects to.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = on_own_runtime(&self.admin_url, sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// A SQLite file in a temporary folder, removed with the value.
#[derive(Debug)]
pub struct SqliteFile {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SqliteFile {
    /// # Panics
    /// No temporary folder can be made.
    pub fn new() -> SqliteFile {
        let dir = tempfile::tempdir().expect("temp dir");
        SqliteFile {
            path: dir.path().join("payport.db"),
            _dir: dir,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sqlite://<path>`; the file is created on first connection.
    pub fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

impl Default for SqliteFile {
    fn default() -> SqliteFile {
        SqliteFile::new()
    }
}

/// The admin connection, or `None` after reporting the skip (outside CI).
async fn reachable(admin_url: &str) -> Option<tokio_postgres::Client> {
    match connect(admin_url).await {
        Ok(client) => Some(client),
        Err(e) => {
            assert!(
                !in_ci(),
                "PostgreSQL is required in CI (CI is set): cannot connect to {admin_url}: {e}"
            );
            // Straight to stderr, past the test harness's capture, so that a skip is
            // seen in every run, not only with --nocapture.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED (PostgreSQL): cannot connect to {admin_url}: {e}; \
                 set PAYPORT_TEST_PG_URL or start PostgreSQL"
            );
            None
        }
    }
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
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

fn sql_state(e: &tokio_postgres::Error) -> Option<&str> {
    e.code().map(tokio_postgres::error::SqlState::code)
}

/// `object_in_use`: someone is connected to the database.
fn is_busy(e: &tokio_postgres::Error) -> bool {
    sql_state(e) == Some("55006")
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `sql` on an admin connection from a thread with a runtime of its own, joined:
/// for `Drop` (which cannot await) and for work that must not depend on the calling
/// test's runtime, which ends with the test.
fn on_own_runtime(admin_url: &str, sql: String) -> Result<(), String> {
    let admin_url = admin_url.to_owned();
    std::thread::spawn(move || {
        block_on(async {
            let admin = connect(&admin_url).await?;
            admin.batch_execute(&sql).await.map_err(|e| with_causes(&e))
        })
    })
    .join()
    .map_err(|_| "thread panicked".to_owned())?
}

fn block_on<T>(work: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(work)
}

/// The migrated template's name, made once per process (on a thread of its own, so
/// that no test's runtime holds its connections).
fn template(admin_url: &str) -> &'static Result<String, String> {
    static TEMPLATE: OnceLock<Result<String, String>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let admin_url = admin_url.to_owned();
        std::thread::spawn(move || block_on(ensure_template(&admin_url)))
            .join()
            .unwrap_or_else(|_| Err("template thread panicked".into()))
    })
}

async fn ensure_template(admin_url: &str) -> Result<String, String> {
    let name = format!("payport_tmpl_{:016x}", migrations_hash()?);
    let admin = connect(admin_url).await?;
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map_err(|e| with_causes(&e))?
        .is_some();
    if exists {
        return Ok(name);
    }
    // Built under a name of its own, renamed when complete: the template's name never
    // shows a half-migrated database to another process.
    let build = unique_name("payport_tmpl_build");
    admin
        .batch_execute(&format!("CREATE DATABASE \"{build}\""))
        .await
        .map_err(|e| with_causes(&e))?;
    let migrated = migrate(&database_url(admin_url, &build)).await;
    let renamed = match migrated {
        Ok(()) => rename_into_place(&admin, &build, &name).await,
        Err(e) => Err(e),
    };
    match renamed {
        Ok(true) => Ok(name),
        // Another process won the race: its template is as good as ours.
        Ok(false) => drop_quietly(&admin, &build).await.map(|()| name),
        Err(e) => {
            let _ = drop_quietly(&admin, &build).await;
            Err(e)
        }
    }
}

async fn migrate(url: &str) -> Result<(), String> {
    let options = ConnectOptions { max_connections: 1 };
    let store = DieselStore::connect_with(url, &options)
        .await
        .map_err(|e| e.to_string())?;
    store.run_migrations().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Renames `build` to `name`; `false` when `name` exists already.
async fn rename_into_place(
    admin: &tokio_postgres::Client,
    build: &str,
    name: &str,
) -> Result<bool, String> {
    let sql = format!("ALTER DATABASE \"{build}\" RENAME TO \"{name}\"");
    for _ in 0..100 {
        // The migration's pool may still be closing its connection.
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&build],
            )
            .await
            .map_err(|e| with_causes(&e))?;
        match admin.batch_execute(&sql).await {
            Ok(()) => return Ok(true),
            // duplicate_database
            Err(e) if sql_state(&e) == Some("42P04") => return Ok(false),
            Err(e) if is_busy(&e) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => return Err(with_causes(&e)),
        }
    }
    Err(format!("{build} stayed in use; cannot rename it to {name}"))
}

async fn drop_quietly(admin: &tokio_postgres::Client, name: &str) -> Result<(), String> {
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .map_err(|e| with_causes(&e))
}

/// FNV-1a over the PostgreSQL migrations (paths and contents, in path order): stable
/// across processes and builds, unlike `std`'s hasher.
fn migrations_hash() -> Result<u64, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    let mut files = Vec::new();
    collect_files(&root, &mut files).map_err(|e| format!("{}: {e}", root.display()))?;
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in files {
        let relative = file.strip_prefix(&root).unwrap_or(&file);
        feed(relative.to_string_lossy().as_bytes());
        feed(&std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    Ok(hash)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
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

    #[test]
    fn the_migrations_hash_is_stable() {
        assert_eq!(super::migrations_hash(), super::migrations_hash());
    }
}
