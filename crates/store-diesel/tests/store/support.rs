//! Test databases: a migrated (or empty) store on a fresh SQLite file or a fresh
//! PostgreSQL database, dropped when the test ends; made by `payport_test_support::db`
//! (migrated PostgreSQL databases are copies of a template; that module also says when
//! PostgreSQL tests are skipped).

use std::sync::Arc;

use async_trait::async_trait;
use diesel::connection::SimpleConnection as _;
use diesel::sqlite::SqliteConnection;
use diesel::Connection as _;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use payport_domain::ports::GatewayExchange;
use payport_domain::RepoError;
use payport_store_diesel::{ConnectOptions, DieselStore};
use payport_test_support::contract::{StoreUnderTest, TestRenderer};
use payport_test_support::db::{PgDatabase, SqliteFile};

pub use payport_test_support::contract::fixtures::*;

/// Runs each named `async fn name(db: &TestDb)` of the calling module against both
/// backends, as `sqlite::name` and `postgres::name`: the tests about Diesel itself
/// (the contract suite runs through `payport_test_support::store_contract!`). `empty:`
/// ones get a database without migrations.
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
    Sqlite(SqliteFile),
    Postgres(PgDatabase),
}

impl TestDb {
    pub async fn sqlite(migrated: bool) -> TestDb {
        let file = SqliteFile::new();
        let store = open(&file.url()).await;
        if migrated {
            store.run_migrations().await.expect("migrations");
        }
        TestDb {
            store,
            kind: Kind::Sqlite(file),
        }
    }

    /// A copy of the migrated template, or an empty database; `None`: skipped.
    pub async fn postgres(migrated: bool) -> Option<TestDb> {
        let database = if migrated {
            PgDatabase::migrated().await?
        } else {
            PgDatabase::empty().await?
        };
        let store = open(database.url()).await;
        Some(TestDb {
            store,
            kind: Kind::Postgres(database),
        })
    }

    /// A migrated SQLite store, for `store_contract!`.
    pub async fn open_sqlite() -> Option<TestDb> {
        Some(TestDb::sqlite(true).await)
    }

    /// A migrated PostgreSQL store, for `store_contract!`.
    pub async fn open_postgres() -> Option<TestDb> {
        TestDb::postgres(true).await
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.kind, Kind::Sqlite(_))
    }

    pub fn url(&self) -> String {
        match &self.kind {
            Kind::Sqlite(file) => file.url(),
            Kind::Postgres(database) => database.url().to_owned(),
        }
    }

    /// Another store on the same database: a second payport instance.
    pub async fn another_instance(&self) -> DieselStore {
        open(&self.url()).await
    }

    /// Runs SQL on a connection of its own, bypassing the store (and, with
    /// `checks_off`, the CHECK constraints), like a person at a SQL prompt would.
    pub async fn exec_raw(&self, sql: &str, checks_off: bool) {
        match &self.kind {
            Kind::Sqlite(file) => {
                let path = file.path().display().to_string();
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
            Kind::Postgres(database) => {
                let mut conn = AsyncPgConnection::establish(database.url())
                    .await
                    .expect("raw pg");
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

    /// The `v` column (text) of each row `sql` selects, read on a connection of its
    /// own, bypassing the store: for rows the store cannot read back.
    pub async fn texts_raw(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let rows: Vec<Row> = match &self.kind {
            Kind::Sqlite(file) => {
                let path = file.path().display().to_string();
                let sql = sql.to_owned();
                tokio::task::spawn_blocking(move || {
                    let mut conn = SqliteConnection::establish(&path).expect("raw sqlite");
                    diesel::RunQueryDsl::load(diesel::sql_query(sql), &mut conn).expect("raw query")
                })
                .await
                .expect("raw query task")
            }
            Kind::Postgres(database) => {
                let mut conn = AsyncPgConnection::establish(database.url())
                    .await
                    .expect("raw pg");
                diesel_async::RunQueryDsl::load(diesel::sql_query(sql), &mut conn)
                    .await
                    .expect("raw query")
            }
        };
        rows.into_iter().map(|row| row.v).collect()
    }

    /// SQLite's journal mode, read on a connection of its own (it is kept in the file).
    pub async fn sqlite_journal_mode(&self) -> String {
        #[derive(diesel::QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        let Kind::Sqlite(file) = &self.kind else {
            panic!("not SQLite");
        };
        let path = file.path().display().to_string();
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

#[async_trait]
impl StoreUnderTest for TestDb {
    type Store = DieselStore;

    fn store(&self) -> &DieselStore {
        &self.store
    }

    fn shared(&self) -> Arc<DieselStore> {
        Arc::new(self.store.clone())
    }

    async fn another_instance(&self) -> Arc<DieselStore> {
        Arc::new(TestDb::another_instance(self).await)
    }

    async fn exchanges_for_order(
        &self,
        out_trade_no: &str,
    ) -> Result<Vec<GatewayExchange>, RepoError> {
        self.store.exchanges_for_order(out_trade_no).await
    }
}

/// A store rendering events as the contract suite reads them.
async fn open(url: &str) -> DieselStore {
    let options = ConnectOptions { max_connections: 8 };
    DieselStore::connect_with(url, &options)
        .await
        .expect("connect")
        .with_event_renderer(Arc::new(TestRenderer))
}
