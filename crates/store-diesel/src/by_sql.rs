//! Prepared statements that diesel would parse afresh on every call, cached by their
//! SQL text instead.
//!
//! diesel caches a statement only when its type alone fixes its SQL. It never caches
//! an `UPDATE` (a changeset's `None` fields can drop columns), an `IN` list of bind
//! parameters on SQLite, a multi-row `INSERT`, nor raw SQL. Those were most of a
//! notification's and a refund's statements, so SQLite parsed and compiled each one
//! again inside the writer's batch, and PostgreSQL parsed and planned it again on
//! every call. Yet a prepared statement depends on nothing but its SQL text: the
//! values travel as bind parameters. [`BySql`] tells diesel's statement cache that
//! the wrapped query is safe to keep, keyed by its SQL text (it has no static query
//! id; PostgreSQL's key adds the bind types), so each distinct text is prepared once
//! per connection.
//!
//! Only wrap a query whose distinct texts are few: a fixed statement (`by_sql`), or
//! a list through `by_sql_for_list`, which caches it only up to [`MAX_CACHED_LIST`]
//! items and leaves a longer one to diesel. Never one whose text is built from
//! values: each length is a statement kept on every connection, and on PostgreSQL on
//! the server too.
//!
//! The answer is read where diesel-async hands a query to the statement cache (it
//! overrides the same method for its own wrapper); diesel's synchronous `execute`
//! borrows the query and asks the borrow instead, so there the wrapper does nothing.
//!
//! A cached statement can still be compiled again: SQLite recompiles one whenever a
//! new value is bound to a parameter its planner looked at, and the bundled SQLite
//! looks at `LIMIT ?`, which diesel writes for every `.first()`. So reads by a unique
//! key use `.get_result()`, which adds no `LIMIT`. (SQLite's planner stability
//! guarantee would stop those recompilations everywhere, but it also keeps a bound
//! `status = ?` from using the partial indexes on status that the claims rely on.)

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

/// The longest `IN` list or multi-row `INSERT` worth a cached statement: what one
/// request writes (a refund's transaction writes two events, a notification one, a
/// worker's claim takes 20 rows) and no more, so a 1,000-refund operator batch does
/// not leave a thousand statements on a connection.
const MAX_CACHED_LIST: usize = 20;

/// A query cached by its SQL text (when `cache`): `query.by_sql()`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BySql<Q> {
    query: Q,
    cache: bool,
}

pub(crate) trait CacheBySql: Sized {
    /// This query, prepared once per connection and SQL text (module doc).
    fn by_sql(self) -> BySql<Self> {
        BySql {
            query: self,
            cache: true,
        }
    }

    /// This query with a list of `len` items (an `IN` list, a multi-row `INSERT`):
    /// cached by its text up to [`MAX_CACHED_LIST`] items, left to diesel beyond.
    fn by_sql_for_list(self, len: usize) -> BySql<Self> {
        BySql {
            query: self,
            cache: len <= MAX_CACHED_LIST,
        }
    }
}

impl<Q> CacheBySql for Q {}

impl<Q> QueryId for BySql<Q> {
    type QueryId = ();
    // No static id: the cache key is the SQL text and the bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for BySql<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> QueryFragment<DB> for BySql<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, backend: &DB) -> QueryResult<bool> {
        if self.cache {
            Ok(true)
        } else {
            self.query.is_safe_to_cache_prepared(backend)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::prelude::*;
    use diesel::sql_types::Integer;
    use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};

    use super::CacheBySql;
    use crate::pool::{sqlite_setup, SqliteConn};

    diesel::table! {
        items (id) {
            id -> Integer,
            n -> Integer,
        }
    }

    /// The SQL texts the connection prepared into its cache.
    #[derive(Default, Clone)]
    struct Cached(Arc<Mutex<Vec<String>>>);

    impl Instrumentation for Cached {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                self.0.lock().expect("lock").push(sql.to_owned());
            }
        }
    }

    impl Cached {
        fn texts(&self) -> Vec<String> {
            self.0.lock().expect("lock").clone()
        }
    }

    /// A connection as payport's pool makes them (diesel-async over SQLite), with
    /// three rows.
    async fn connection() -> (SqliteConn, Cached) {
        let mut conn = sqlite_setup(":memory:").await.expect("SQLite");
        conn.batch_execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
             INSERT INTO items VALUES (1, 10), (2, 20), (3, 30);",
        )
        .await
        .expect("schema");
        let cached = Cached::default();
        conn.set_instrumentation(cached.clone());
        (conn, cached)
    }

    #[tokio::test]
    async fn an_update_and_an_in_list_are_prepared_once_per_text_and_see_each_calls_values() {
        let (mut conn, cached) = connection().await;
        for (id, n) in [(1, 11), (2, 21), (1, 12)] {
            let updated = diesel::update(items::table.find(id))
                .set(items::n.eq(n))
                .by_sql()
                .execute(&mut conn)
                .await
                .expect("update");
            assert_eq!(updated, 1);
        }
        for (ids, expected) in [
            (vec![1, 2], vec![12, 21]),
            (vec![2, 3], vec![21, 30]),
            (vec![3], vec![30]),
        ] {
            let found: Vec<i32> = items::table
                .filter(items::id.eq_any(&ids))
                .select(items::n)
                .order(items::id)
                .by_sql()
                .load(&mut conn)
                .await
                .expect("select");
            assert_eq!(found, expected);
        }
        let texts = cached.texts();
        // One UPDATE, and the IN list with two ids and with one.
        assert_eq!(texts.len(), 3, "{texts:#?}");
        assert_eq!(texts.iter().filter(|t| t.starts_with("UPDATE")).count(), 1);
    }

    #[tokio::test]
    async fn a_list_is_cached_only_up_to_the_bound() {
        let (mut conn, cached) = connection().await;
        for len in [2, super::MAX_CACHED_LIST + 1] {
            let ids: Vec<i32> = (1..=i32::try_from(len).expect("small")).collect();
            let found: Vec<i32> = items::table
                .filter(items::id.eq_any(&ids))
                .select(items::n)
                .by_sql_for_list(ids.len())
                .load(&mut conn)
                .await
                .expect("select");
            assert_eq!(found.len(), 3.min(len));
        }
        assert_eq!(cached.texts().len(), 1, "only the two-item list");
    }

    #[tokio::test]
    async fn without_it_diesel_prepares_an_update_on_every_call() {
        // The premise of this module: should a diesel upgrade cache updates itself,
        // the wrapper can go.
        let (mut conn, cached) = connection().await;
        for n in [1, 2] {
            diesel::update(items::table.find(1))
                .set(items::n.eq(n))
                .execute(&mut conn)
                .await
                .expect("update");
        }
        assert!(cached.texts().is_empty());
        let _: i32 = diesel::select(1.into_sql::<Integer>())
            .get_result(&mut conn)
            .await
            .expect("select");
        assert_eq!(
            cached.texts().len(),
            1,
            "a typed SELECT is cached by diesel"
        );
    }
}
