//! Test databases: a migrated (or empty) store on a fresh SQLite file or a fresh
//! PostgreSQL database, dropped when the test ends.
//!
//! PostgreSQL: `postgres://postgres@127.0.0.1:5432/postgres` (or `PAYPORT_TEST_PG_URL`)
//! is the admin connection; each test creates `payport_test_<pid>_<n>_<nanos>` and drops
//! it `WITH (FORCE)` on Drop. Unreachable: with `CI` set the test fails; otherwise it
//! prints why it was skipped and passes.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection as _;
use diesel::sqlite::SqliteConnection;
use diesel::Connection as _;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use payport_domain::order::PaymentConfirmation;
use payport_domain::ports::{OrderRepository, RefundRepository};
use payport_domain::refund::NewRefund;
use payport_domain::{
    Amount, Order, OutRequestNo, OutTradeNo, Refund, RefundGatewayKind, RefundId, RefundStatus,
    TradeNo,
};
use payport_store_diesel::{ConnectOptions, DieselStore};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Runs each named `async fn name(db: &TestDb)` of the calling module against both
/// backends, as `sqlite::name` and `postgres::name`. `empty:` ones get a database
/// without migrations.
macro_rules! store_tests {
    (empty: $($name:ident),* $(,)?) => {
        $crate::support::store_tests!(@both false, $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::support::store_tests!(@both true, $($name),*);
    };
    (@both $migrated:literal, $($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let db = $crate::support::TestDb::sqlite($migrated).await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = $crate::support::TestDb::postgres($migrated).await else {
                        return;
                    };
                    super::$name(&db).await;
                }
            )*
        }
    };
}
pub(crate) use store_tests;

pub struct TestDb {
    pub store: DieselStore,
    kind: Kind,
}

enum Kind {
    Sqlite {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
    Postgres {
        url: String,
        _database: PgDatabase,
    },
}

impl TestDb {
    pub async fn sqlite(migrated: bool) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("payport.db");
        let url = format!("sqlite://{}", path.display());
        let store = open(&url, migrated).await;
        TestDb {
            store,
            kind: Kind::Sqlite { path, _dir: dir },
        }
    }

    pub async fn postgres(migrated: bool) -> Option<TestDb> {
        let admin_url =
            std::env::var("PAYPORT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
        let mut admin = match connect_admin(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => {
                let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
                assert!(
                    !in_ci,
                    "PostgreSQL is required in CI (CI is set): cannot connect to {admin_url}: {e}"
                );
                // Straight to stderr, past the test harness's capture, so that a
                // skip is seen in every run, not only with --nocapture.
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
            "payport_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let database = PgDatabase {
            admin_url: admin_url.clone(),
            name: name.clone(),
        };
        let url = database_url(&admin_url, &name);
        let options = ConnectOptions { max_connections: 8 };
        let store = DieselStore::connect_with(&url, &options)
            .await
            .expect("connect to the test database");
        if migrated {
            store.run_migrations().await.expect("migrations");
        }
        Some(TestDb {
            store,
            kind: Kind::Postgres {
                url,
                _database: database,
            },
        })
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.kind, Kind::Sqlite { .. })
    }

    pub fn url(&self) -> String {
        match &self.kind {
            Kind::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            Kind::Postgres { url, .. } => url.clone(),
        }
    }

    /// Another store on the same database: a second payport instance.
    pub async fn another_instance(&self) -> DieselStore {
        let options = ConnectOptions { max_connections: 8 };
        DieselStore::connect_with(&self.url(), &options)
            .await
            .expect("second store")
    }

    /// Runs SQL on a connection of its own, bypassing the store (and, with
    /// `checks_off`, the CHECK constraints), like a person at a SQL prompt would.
    pub async fn exec_raw(&self, sql: &str, checks_off: bool) {
        match &self.kind {
            Kind::Sqlite { path, .. } => {
                let path = path.display().to_string();
                let mut sql = sql.to_owned();
                if checks_off {
                    sql = format!("PRAGMA ignore_check_constraints = ON; {sql}");
                }
                tokio::task::spawn_blocking(move || {
                    let mut conn = SqliteConnection::establish(&path).expect("raw sqlite");
                    conn.batch_execute("PRAGMA busy_timeout = 5000;")
                        .expect("pragma");
                    conn.batch_execute(&sql).expect("raw sql");
                })
                .await
                .expect("raw sql task");
            }
            Kind::Postgres { url, .. } => {
                let mut conn = AsyncPgConnection::establish(url).await.expect("raw pg");
                if checks_off {
                    conn.batch_execute(
                        "ALTER TABLE orders DROP CONSTRAINT orders_status_check; \
                         ALTER TABLE refunds DROP CONSTRAINT refunds_status_check; \
                         ALTER TABLE refunds DROP CONSTRAINT refunds_gateway_check;",
                    )
                    .await
                    .expect("drop checks");
                }
                conn.batch_execute(sql).await.expect("raw sql");
            }
        }
    }

    /// SQLite's journal mode, read on a connection of its own (it is kept in the file).
    pub async fn sqlite_journal_mode(&self) -> String {
        #[derive(diesel::QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        let Kind::Sqlite { path, .. } = &self.kind else {
            panic!("not SQLite");
        };
        let path = path.display().to_string();
        tokio::task::spawn_blocking(move || {
            let mut conn = SqliteConnection::establish(&path).expect("raw sqlite");
            let query = diesel::sql_query("PRAGMA journal_mode");
            diesel::RunQueryDsl::get_result::<Mode>(query, &mut conn)
                .expect("journal_mode")
                .journal_mode
        })
        .await
        .expect("pragma task")
    }
}

async fn open(url: &str, migrated: bool) -> DieselStore {
    let options = ConnectOptions { max_connections: 8 };
    let store = DieselStore::connect_with(url, &options)
        .await
        .expect("connect");
    if migrated {
        store.run_migrations().await.expect("migrations");
    }
    store
}

async fn connect_admin(url: &str) -> Result<AsyncPgConnection, String> {
    match tokio::time::timeout(Duration::from_secs(10), AsyncPgConnection::establish(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out after 10 s".into()),
    }
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

/// Drops its database when the test ends, passed or failed.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop cannot await: a thread with a runtime of its own does it, and is joined
        // so that the database is gone when the test returns.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = connect_admin(&admin_url).await?;
                diesel::sql_query(sql)
                    .execute(&mut admin)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: thread panicked",
                self.name
            ),
        }
    }
}

// ---- domain fixtures -------------------------------------------------------------

/// The store seen through its two main ports (their method names overlap).
pub fn repos(store: &DieselStore) -> (&dyn OrderRepository, &dyn RefundRepository) {
    (store, store)
}

/// A fixed instant plus `secs`, whole seconds (the store keeps microseconds).
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000 + secs, 0).expect("time")
}

pub fn fen(n: i64) -> Amount {
    Amount::from_fen(n).expect("amount")
}

pub fn no(text: &str) -> OutTradeNo {
    OutTradeNo::parse(text).expect("out_trade_no")
}

/// A pending order created at `at(0)`, paying window 30 minutes.
pub fn pending_order(out_trade_no: &str, total_fen: i64) -> Order {
    Order::new(
        no(out_trade_no),
        "Tea".into(),
        None,
        fen(total_fen),
        at(0),
        chrono::Duration::minutes(30),
    )
}

pub fn paid_order(out_trade_no: &str, total_fen: i64) -> Order {
    let mut order = pending_order(out_trade_no, total_fen);
    order
        .confirm_payment(
            PaymentConfirmation {
                trade_no: TradeNo::parse(format!("T{}", out_trade_no.replace('_', "")))
                    .expect("trade_no"),
                paid_at: at(60),
                buyer_id: Some("2088000000000001".into()),
                buyer_logon_id: Some("b***@example.com".into()),
            },
            at(60),
        )
        .expect("pay");
    order
}

/// Inserts a paid order and returns it as stored.
pub async fn insert_paid(store: &DieselStore, out_trade_no: &str, total_fen: i64) -> Order {
    let order = paid_order(out_trade_no, total_fen);
    store.insert(&order).await.expect("insert order");
    order
}

pub fn new_refund(out_trade_no: &str, out_request_no: &str, amount_fen: i64) -> NewRefund {
    NewRefund {
        refund_id: RefundId::parse(format!("rf_{out_trade_no}_{out_request_no}"))
            .expect("refund_id"),
        out_trade_no: no(out_trade_no),
        out_request_no: OutRequestNo::parse(out_request_no).expect("out_request_no"),
        amount: fen(amount_fen),
        reason: Some("damaged".into()),
        gateway: RefundGatewayKind::OpenApi,
        status: RefundStatus::Approved,
        created_at: at(100),
    }
}

/// Reserves a refund and moves it to `processing` with the given `next_sync_at`.
pub async fn processing_refund(
    store: &DieselStore,
    out_trade_no: &str,
    out_request_no: &str,
    next_sync_at: Option<DateTime<Utc>>,
) -> Refund {
    let mut refund = store
        .reserve(&new_refund(out_trade_no, out_request_no, 1))
        .await
        .expect("reserve");
    refund.start_submission(at(110)).expect("submit");
    refund.next_sync_at = next_sync_at;
    RefundRepository::update(store, &refund)
        .await
        .expect("save processing");
    refund.version += 1;
    refund
}

/// A small xorshift generator, seeded per run (the seed is printed).
pub struct Rng(u64);

impl Rng {
    pub fn from_time() -> Rng {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        eprintln!("rng seed {seed}");
        Rng(seed)
    }

    /// Uniform enough in `1..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max + 1
    }
}
