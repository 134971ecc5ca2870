//! [`IdempotencyStore`] over the `idempotency_keys` table: the key is the primary key,
//! so of two racing inserts exactly one wins and the other reads the winner's record.
//! The `instances` table holds each instance's heartbeat; a take-over is one
//! conditional `UPDATE` that reads it, so of two takers one wins.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::ports::{
    Abandoned, IdempotencyInsert, IdempotencyRecord, IdempotencyStore, IN_FLIGHT,
};
use payport_domain::RepoError;

use crate::error::{corrupt, db_error};
use crate::pool::{for_each_backend, with_conn, write_conn};
use crate::schema::idempotency_keys as keys;
use crate::schema::instances;
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
    instance_id: Option<String>,
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
            holder: row.instance_id,
        })
    }
}

/// `key`'s record while it is in flight and `holder`'s: the only record its answer or
/// its release may touch (another instance may have taken it over).
type HeldInFlight<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Find<keys::table, &'a str>,
        diesel::dsl::Eq<keys::http_status, i32>,
    >,
    diesel::dsl::Eq<keys::instance_id, &'a str>,
>;

fn held_in_flight<'a>(key: &'a str, holder: &'a str) -> HeldInFlight<'a> {
    keys::table
        .find(key)
        .filter(keys::http_status.eq(i32::from(IN_FLIGHT)))
        .filter(keys::instance_id.eq(holder))
}

trait KeyQueries {
    async fn find_key(&mut self, key: &str) -> QueryResult<Option<KeyRow>>;
    /// Inserts unless the key exists; `Ok(false)` then.
    async fn insert_key(&mut self, row: &KeyRow) -> QueryResult<bool>;
    /// Replaces `holder`'s in-flight record's response; `Ok(false)` if there is none.
    async fn complete_key(
        &mut self,
        key: &str,
        holder: &str,
        status: i32,
        body: &str,
    ) -> QueryResult<bool>;
    /// Deletes `holder`'s in-flight record; `Ok(false)` if there is none.
    async fn release_key(&mut self, key: &str, holder: &str) -> QueryResult<bool>;
    /// Hands an abandoned in-flight record of the same request to `row`'s instance.
    async fn take_over_key(
        &mut self,
        row: &KeyRow,
        silent_since: DbTime,
        reserved_before: DbTime,
    ) -> QueryResult<bool>;
    /// Inserts the instance, or moves its heartbeat.
    async fn beat(&mut self, instance: &str, now: DbTime) -> QueryResult<()>;
    /// Deletes the instance's row.
    async fn forget_instance(&mut self, instance: &str) -> QueryResult<()>;
    /// Deletes the instances silent since `silent_since`; how many.
    async fn forget_silent(&mut self, silent_since: DbTime) -> QueryResult<u64>;
    /// Deletes the records created before `cut_off`; how many.
    async fn purge_keys(&mut self, cut_off: &DbTime) -> QueryResult<u64>;
}

for_each_backend! {
    impl KeyQueries {
        async fn find_key(&mut self, key: &str) -> QueryResult<Option<KeyRow>> {
            keys::table
                .find(key)
                .select(KeyRow::as_select())
                .get_result(self)
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

        async fn complete_key(
            &mut self,
            key: &str,
            holder: &str,
            status: i32,
            body: &str,
        ) -> QueryResult<bool> {
            diesel::update(held_in_flight(key, holder))
            .set((keys::http_status.eq(status), keys::response_body.eq(body)))
            .execute(self)
            .await
            .map(|updated| updated == 1)
        }

        async fn release_key(&mut self, key: &str, holder: &str) -> QueryResult<bool> {
            diesel::delete(held_in_flight(key, holder))
            .execute(self)
            .await
            .map(|deleted| deleted == 1)
        }

        async fn take_over_key(
            &mut self,
            row: &KeyRow,
            silent_since: DbTime,
            reserved_before: DbTime,
        ) -> QueryResult<bool> {
            let alive = instances::table
                .filter(instances::heartbeat_at.ge(silent_since))
                .select(instances::instance_id.nullable());
            // A NULL holder (a key older than instances) is never "another instance":
            // neither `<>` nor `NOT IN` is true of it, so only its age frees it.
            let holder_gone = keys::instance_id
                .ne(row.instance_id.as_deref().unwrap_or_default())
                .and(diesel::dsl::not(keys::instance_id.eq_any(alive)));
            let abandoned = holder_gone.or(keys::created_at.lt(reserved_before).nullable());
            diesel::update(
                keys::table
                    .find(&row.idempotency_key)
                    .filter(keys::http_status.eq(i32::from(IN_FLIGHT)))
                    .filter(keys::request_hash.eq(&row.request_hash))
                    .filter(abandoned),
            )
            .set((
                keys::instance_id.eq(&row.instance_id),
                keys::created_at.eq(row.created_at),
            ))
            .execute(self)
            .await
            .map(|updated| updated == 1)
        }

        async fn beat(&mut self, instance: &str, now: DbTime) -> QueryResult<()> {
            diesel::insert_into(instances::table)
                .values((
                    instances::instance_id.eq(instance),
                    instances::started_at.eq(now),
                    instances::heartbeat_at.eq(now),
                ))
                .on_conflict(instances::instance_id)
                .do_update()
                .set(instances::heartbeat_at.eq(now))
                .execute(self)
                .await
                .map(|_| ())
        }

        async fn forget_instance(&mut self, instance: &str) -> QueryResult<()> {
            diesel::delete(instances::table.find(instance))
                .execute(self)
                .await
                .map(|_| ())
        }

        async fn forget_silent(&mut self, silent_since: DbTime) -> QueryResult<u64> {
            diesel::delete(instances::table.filter(instances::heartbeat_at.lt(silent_since)))
                .execute(self)
                .await
                .map(|deleted| deleted as u64)
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
    async fn idempotency_complete(
        &self,
        key: &str,
        holder: &str,
        http_status: u16,
        response_body: &str,
    ) -> Result<bool, RepoError> {
        let status = i32::from(http_status);
        write_conn!(self, |conn| conn
            .complete_key(key, holder, status, response_body)
            .await)
        .map_err(|e| db_error(format_args!("complete idempotency key {key:?}"), e))
    }

    async fn idempotency_release(&self, key: &str, holder: &str) -> Result<bool, RepoError> {
        write_conn!(self, |conn| conn.release_key(key, holder).await)
            .map_err(|e| db_error(format_args!("release idempotency key {key:?}"), e))
    }

    async fn idempotency_take_over(
        &self,
        reservation: &IdempotencyRecord,
        abandoned: Abandoned,
    ) -> Result<bool, RepoError> {
        let key = reservation.key.as_str();
        let row = key_row(reservation);
        let silent_since = DbTime(abandoned.silent_since);
        let reserved_before = DbTime(abandoned.reserved_before);
        write_conn!(self, |conn| conn
            .take_over_key(&row, silent_since, reserved_before)
            .await)
        .map_err(|e| db_error(format_args!("take over idempotency key {key:?}"), e))
    }

    async fn instance_beat(&self, instance: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
        write_conn!(self, |conn| conn.beat(instance, DbTime(now)).await)
            .map_err(|e| db_error(format_args!("heartbeat of instance {instance:?}"), e))
    }

    async fn instance_leave(&self, instance: &str) -> Result<(), RepoError> {
        write_conn!(self, |conn| conn.forget_instance(instance).await)
            .map_err(|e| db_error(format_args!("remove instance {instance:?}"), e))
    }

    async fn instances_purge(&self, silent_since: DateTime<Utc>) -> Result<u64, RepoError> {
        let silent_since = DbTime(silent_since);
        write_conn!(self, |conn| conn.forget_silent(silent_since).await)
            .map_err(|e| db_error("forget silent instances", e))
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
        let row = key_row(record);
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

fn key_row(record: &IdempotencyRecord) -> KeyRow {
    KeyRow {
        idempotency_key: record.key.clone(),
        request_hash: record.request_hash.clone(),
        http_status: i32::from(record.http_status),
        response_body: record.response_body.clone(),
        created_at: DbTime(record.created_at),
        instance_id: record.holder.clone(),
    }
}

/// How often a reservation is retried when its key is released under it (each round
/// needs another request to take the key and let it go again: a handful is plenty).
const INSERT_ATTEMPTS: usize = 8;
