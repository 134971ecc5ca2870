//! [`IdempotencyStore`] over the `idempotency_keys` table: the key is the primary key,
//! so of two racing inserts exactly one wins and the other reads the winner's record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::ports::{IdempotencyInsert, IdempotencyRecord, IdempotencyStore, IN_FLIGHT};
use payport_domain::RepoError;

use crate::error::{corrupt, db_error};
use crate::pool::{for_each_backend, with_conn, write_conn};
use crate::schema::idempotency_keys as keys;
use crate::time::DbTime;
use crate::DieselStore;

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct KeyRow {
    idempotency_key: String,
    request_hash: String,
    http_status: i32,
    response_body: String,
    created_at: DbTime,
}

impl TryFrom<KeyRow> for IdempotencyRecord {
    type Error = RepoError;

    fn try_from(row: KeyRow) -> Result<Self, RepoError> {
        let http_status = u16::try_from(row.http_status).map_err(|_| {
            corrupt(format!(
                "idempotency_keys.http_status = {} (key {:?})",
                row.http_status, row.idempotency_key
            ))
        })?;
        Ok(IdempotencyRecord {
            key: row.idempotency_key,
            request_hash: row.request_hash,
            http_status,
            response_body: row.response_body,
            created_at: row.created_at.0,
        })
    }
}

trait KeyQueries {
    async fn find_key(&mut self, key: &str) -> QueryResult<Option<KeyRow>>;
    /// Inserts unless the key exists; `Ok(false)` then.
    async fn insert_key(&mut self, row: &KeyRow) -> QueryResult<bool>;
    /// Replaces an in-flight record's response; `Ok(false)` if it was not in flight.
    async fn complete_key(&mut self, key: &str, status: i32, body: &str) -> QueryResult<bool>;
    /// Deletes an in-flight record; `Ok(false)` if it was not in flight.
    async fn release_key(&mut self, key: &str) -> QueryResult<bool>;
    /// Deletes the records created before `cut_off`; how many.
    async fn purge_keys(&mut self, cut_off: &DbTime) -> QueryResult<u64>;
}

for_each_backend! {
    impl KeyQueries {
        async fn find_key(&mut self, key: &str) -> QueryResult<Option<KeyRow>> {
            keys::table
                .find(key)
                .select(KeyRow::as_select())
                .first(self)
                .await
                .optional()
        }

        async fn insert_key(&mut self, row: &KeyRow) -> QueryResult<bool> {
            diesel::insert_into(keys::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(self)
                .await
                .map(|inserted| inserted == 1)
        }

        async fn complete_key(&mut self, key: &str, status: i32, body: &str) -> QueryResult<bool> {
            diesel::update(
                keys::table
                    .find(key)
                    .filter(keys::http_status.eq(i32::from(IN_FLIGHT))),
            )
            .set((keys::http_status.eq(status), keys::response_body.eq(body)))
            .execute(self)
            .await
            .map(|updated| updated == 1)
        }

        async fn release_key(&mut self, key: &str) -> QueryResult<bool> {
            diesel::delete(
                keys::table
                    .find(key)
                    .filter(keys::http_status.eq(i32::from(IN_FLIGHT))),
            )
            .execute(self)
            .await
            .map(|deleted| deleted == 1)
        }

        async fn purge_keys(&mut self, cut_off: &DbTime) -> QueryResult<u64> {
            diesel::delete(keys::table.filter(keys::created_at.lt(*cut_off)))
                .execute(self)
                .await
                .map(|deleted| deleted as u64)
        }
    }
}

#[async_trait]
impl IdempotencyStore for DieselStore {
    /// Records the final response of a request whose key was stored [`IN_FLIGHT`].
    /// Returns `false` when the key was not in flight (nothing changed).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_complete(
        &self,
        key: &str,
        http_status: u16,
        response_body: &str,
    ) -> Result<bool, RepoError> {
        let status = i32::from(http_status);
        write_conn!(self, |conn| conn
            .complete_key(key, status, response_body)
            .await)
        .map_err(|e| db_error(format_args!("complete idempotency key {key:?}"), e))
    }

    /// Forgets an in-flight key whose request failed without a definitive answer, so
    /// that a retry with the same key runs again. Returns `false` when not in flight.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_release(&self, key: &str) -> Result<bool, RepoError> {
        write_conn!(self, |conn| conn.release_key(key).await)
            .map_err(|e| db_error(format_args!("release idempotency key {key:?}"), e))
    }

    /// The stored response for `key`, if any.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_lookup(&self, key: &str) -> Result<Option<IdempotencyRecord>, RepoError> {
        with_conn!(self, |conn| conn.find_key(key).await)
            .map_err(|e| db_error(format_args!("read idempotency key {key:?}"), e))?
            .map(IdempotencyRecord::try_from)
            .transpose()
    }

    /// Stores `record` unless its key exists; then returns the stored one.
    ///
    /// A conflicting key can vanish before it is read (its request released it): the
    /// insert is then tried again, so that `Inserted` always means "stored".
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_insert(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyInsert, RepoError> {
        let key = record.key.as_str();
        let context = || format!("store idempotency key {key:?}");
        let row = KeyRow {
            idempotency_key: record.key.clone(),
            request_hash: record.request_hash.clone(),
            http_status: i32::from(record.http_status),
            response_body: record.response_body.clone(),
            created_at: DbTime(record.created_at),
        };
        for _ in 0..INSERT_ATTEMPTS {
            // A write (on SQLite, the writer's: see pool.rs), then a read that needs
            // no transaction around it.
            if write_conn!(self, |conn| conn.insert_key(&row).await)
                .map_err(|e| db_error(context(), e))?
            {
                return Ok(IdempotencyInsert::Inserted);
            }
            let existing = with_conn!(self, |conn| conn.find_key(key).await)
                .map_err(|e| db_error(context(), e))?;
            if let Some(row) = existing {
                return Ok(IdempotencyInsert::Duplicate(row.try_into()?));
            }
        }
        // Each lost round means another request took and released the key meanwhile.
        Err(RepoError::Unavailable(format!(
            "{}: the key kept changing hands",
            context()
        )))
    }

    /// Deletes every record created before `created_before`, in flight or not.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_purge(&self, created_before: DateTime<Utc>) -> Result<u64, RepoError> {
        let cut_off = DbTime(created_before);
        write_conn!(self, |conn| conn.purge_keys(&cut_off).await)
            .map_err(|e| db_error("purge expired idempotency keys", e))
    }
}

/// How often a reservation is retried when its key is released under it (each round
/// needs another request to take the key and let it go again: a handful is plenty).
const INSERT_ATTEMPTS: usize = 8;
