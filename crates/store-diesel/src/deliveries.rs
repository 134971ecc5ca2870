//! [`DeliveryQueue`]: claiming due webhook deliveries and recording each attempt.
//!
//! A claim works as in `claims.rs`: one write transaction selects due deliveries
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: inside `BEGIN IMMEDIATE`) and sets
//! their `claimed_until`, so no other sender takes them until the lease runs out. A
//! sender that dies holding one loses it then, and the delivery is due again.
//!
//! Every claim (and every redelivery, see `events.rs`) also bumps the delivery's
//! `claim`, which the claimer gets back. An attempt is recorded under that value: it
//! always joins the history, but moves the delivery (status, count, next time, the
//! lease) only while the value is still current. So a sender whose lease ran out
//! cannot release the claim of the one that took over, and an attempt in flight
//! during a redelivery cannot undo it.
//!
//! The backlog (a gauge) counts what a claim would take, by the claim's own filter.
//!
//! A claimed row that does not map back to the domain (a corrupt id) is failed in the
//! claim's transaction, with an attempt saying why: were the claim to fail instead,
//! the healthy deliveries of its batch would be claimed again after every lease and
//! never sent.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::ports::{DeliveryBacklog, DeliveryQueue};
use payport_domain::webhook::{
    DeliveryAttempt, DeliveryNext, DeliveryStatus, DueDelivery, WebhookSecret,
};
use payport_domain::{EndpointId, EventId, RepoError};

use crate::claims::lease_window;
use crate::dialect::{due_delivery_rows, Dialect};
use crate::error::{corrupt, db_error, Abort};
use crate::pool::{for_each_backend, with_conn, write_tx};
use crate::schema::{
    events, webhook_attempts as attempts, webhook_deliveries as deliveries,
    webhook_endpoints as endpoints,
};
// By this name in `due_delivery_rows!`.
use crate::schema::webhook_endpoints;
use crate::time::DbTime;
use crate::DieselStore;

/// A claimed delivery with what sending it needs.
#[derive(Queryable)]
struct DueRow {
    id: i64,
    event_id: String,
    endpoint_id: String,
    body: String,
    url: String,
    secret: String,
    attempts: i64,
    since: DbTime,
    claim: i64,
}

impl TryFrom<DueRow> for DueDelivery {
    type Error = RepoError;

    fn try_from(row: DueRow) -> Result<DueDelivery, RepoError> {
        let at = |what: &str, value: &dyn std::fmt::Display| {
            corrupt(format!(
                "webhook_deliveries.{what} = {value} (id {})",
                row.id
            ))
        };
        Ok(DueDelivery {
            delivery_id: row.id,
            event_id: EventId::parse(row.event_id.as_str()).map_err(|e| at("event_id", &e))?,
            endpoint_id: EndpointId::parse(row.endpoint_id.as_str())
                .map_err(|e| at("endpoint_id", &e))?,
            attempts: u32::try_from(row.attempts).map_err(|_| at("attempts", &row.attempts))?,
            body: row.body,
            url: row.url,
            secret: WebhookSecret::new(row.secret),
            since: row.since.0,
            claim: row.claim,
        })
    }
}

/// The changes that fail a delivery for good at `now`: nothing more is due, and no
/// claim holds it.
pub(crate) fn failed_at(now: DbTime) -> FailedAt {
    (
        deliveries::status.eq(DeliveryStatus::Failed.as_str()),
        deliveries::next_attempt_at.eq(None),
        deliveries::claimed_until.eq(None),
        deliveries::updated_at.eq(now),
    )
}

pub(crate) type FailedAt = (
    diesel::dsl::Eq<deliveries::status, &'static str>,
    diesel::dsl::Eq<deliveries::next_attempt_at, Option<DbTime>>,
    diesel::dsl::Eq<deliveries::claimed_until, Option<DbTime>>,
    diesel::dsl::Eq<deliveries::updated_at, DbTime>,
);

#[derive(Insertable)]
#[diesel(table_name = attempts)]
struct NewAttemptRow<'a> {
    delivery_id: i64,
    attempted_at: DbTime,
    status_code: Option<i32>,
    error: Option<&'a str>,
    duration_ms: i64,
}

trait DeliveryQueries {
    /// Claims up to `limit` due deliveries until `until`, each under a new `claim`.
    /// Call it inside a write transaction.
    async fn claim_deliveries(
        &mut self,
        now: DbTime,
        until: DbTime,
        limit: i64,
    ) -> QueryResult<Vec<DueRow>>;
    /// Fails a delivery whose row is corrupt, with an attempt at `now` saying `why`.
    async fn fail_corrupt_delivery(&mut self, id: i64, now: DbTime, why: &str) -> QueryResult<()>;
    /// See [`DeliveryQueue::record_attempt`]; `Ok(false)` when there is no such
    /// delivery. Call it inside a write transaction.
    async fn record_delivery_attempt(
        &mut self,
        delivery_id: i64,
        claim: i64,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
    ) -> QueryResult<bool>;
}

for_each_backend! {
    impl DeliveryQueries {
        async fn claim_deliveries(
            &mut self,
            now: DbTime,
            until: DbTime,
            limit: i64,
        ) -> QueryResult<Vec<DueRow>> {
            let ids = self.claimable_deliveries(now, limit).await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
                .set((
                    deliveries::claimed_until.eq(until),
                    deliveries::claim.eq(deliveries::claim + 1),
                ))
                .execute(self)
                .await?;
            deliveries::table
                .inner_join(endpoints::table)
                .inner_join(events::table.on(events::id.eq(deliveries::event_id)))
                .filter(deliveries::id.eq_any(&ids))
                .order((deliveries::next_attempt_at.asc(), deliveries::id.asc()))
                .select((
                    deliveries::id,
                    deliveries::event_id,
                    deliveries::endpoint_id,
                    events::body,
                    endpoints::url,
                    endpoints::secret,
                    deliveries::attempts,
                    deliveries::since,
                    deliveries::claim,
                ))
                .load(self)
                .await
        }

        async fn fail_corrupt_delivery(
            &mut self,
            id: i64,
            now: DbTime,
            why: &str,
        ) -> QueryResult<()> {
            diesel::insert_into(attempts::table)
                .values(NewAttemptRow {
                    delivery_id: id,
                    attempted_at: now,
                    status_code: None,
                    error: Some(why),
                    duration_ms: 0,
                })
                .execute(self)
                .await?;
            diesel::update(deliveries::table.find(id))
                .set(failed_at(now))
                .execute(self)
                .await
                .map(drop)
        }

        async fn record_delivery_attempt(
            &mut self,
            delivery_id: i64,
            claim: i64,
            attempt: &DeliveryAttempt,
            next: DeliveryNext,
        ) -> QueryResult<bool> {
            let at = DbTime(attempt.at);
            let this = deliveries::table.find(delivery_id);
            // Write-locks the row (PostgreSQL re-reads `claim` after waiting for a
            // concurrent claim or redelivery), so what follows sees a settled claim.
            let held = diesel::update(this.filter(deliveries::claim.eq(claim)))
                .set((
                    deliveries::attempts.eq(deliveries::attempts + 1),
                    deliveries::claimed_until.eq(None::<DbTime>),
                    deliveries::updated_at.eq(at),
                ))
                .execute(self)
                .await?
                == 1;
            if !held {
                let found = this
                    .select(deliveries::id)
                    .first::<i64>(self)
                    .await
                    .optional()?;
                if found.is_none() {
                    return Ok(false);
                }
            }
            diesel::insert_into(attempts::table)
                .values(NewAttemptRow {
                    delivery_id,
                    attempted_at: at,
                    status_code: attempt.status_code.map(i32::from),
                    error: attempt.error.as_deref(),
                    duration_ms: attempt.duration_ms,
                })
                .execute(self)
                .await?;
            if !held {
                // Another claim or a redelivery replaced this one: the attempt joins
                // the history, and the delivery's state stays theirs.
                return Ok(true);
            }
            // A 2xx is the truth whatever happened meanwhile. A failure moves only a
            // delivery still pending: one failed meanwhile (its endpoint deleted)
            // stays so.
            let pending = deliveries::status.eq(DeliveryStatus::Pending.as_str());
            let none = None::<DbTime>;
            match next {
                DeliveryNext::Delivered => {
                    diesel::update(this)
                        .set((
                            deliveries::status.eq(DeliveryStatus::Delivered.as_str()),
                            deliveries::next_attempt_at.eq(none),
                        ))
                        .execute(self)
                        .await?
                }
                DeliveryNext::RetryAt(when) => {
                    diesel::update(this.filter(pending))
                        .set(deliveries::next_attempt_at.eq(DbTime(when)))
                        .execute(self)
                        .await?
                }
                DeliveryNext::GiveUp => {
                    diesel::update(this.filter(pending))
                        .set((
                            deliveries::status.eq(DeliveryStatus::Failed.as_str()),
                            deliveries::next_attempt_at.eq(none),
                        ))
                        .execute(self)
                        .await?
                }
            };
            Ok(true)
        }
    }
}

#[async_trait]
impl DeliveryQueue for DieselStore {
    async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<DueDelivery>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (until, _) = lease_window(now, lease)?;
        write_tx!(self, |conn| {
            let rows = conn
                .claim_deliveries(DbTime(now), until, i64::from(limit))
                .await?;
            let mut due = Vec::with_capacity(rows.len());
            for row in rows {
                let id = row.id;
                match DueDelivery::try_from(row) {
                    Ok(delivery) => due.push(delivery),
                    Err(e) => {
                        let why = match e {
                            RepoError::Unavailable(why) => why,
                            other => other.to_string(),
                        };
                        conn.fail_corrupt_delivery(id, DbTime(now), &why).await?;
                    }
                }
            }
            Ok(due)
        })
        .map_err(|e: Abort<RepoError>| e.into_repo("claim due webhook deliveries"))
    }

    async fn delivery_backlog(&self, now: DateTime<Utc>) -> Result<DeliveryBacklog, RepoError> {
        let now = DbTime(now);
        // One plain read, no transaction: a gauge may be a moment stale, and it should
        // neither wait on the claimers nor hold them up.
        let (due, oldest): (i64, Option<DbTime>) = with_conn!(self, |conn| {
            due_delivery_rows!(now)
                .select((count_star(), min(deliveries::next_attempt_at)))
                .get_result(conn)
                .await
        })
        .map_err(|e| db_error("read the webhook delivery backlog", e))?;
        Ok(DeliveryBacklog {
            due: u64::try_from(due).unwrap_or(0),
            oldest_due_at: oldest.map(|t| t.0),
        })
    }

    async fn record_attempt(
        &self,
        claimed: &DueDelivery,
        attempt: &DeliveryAttempt,
        next: DeliveryNext,
    ) -> Result<(), RepoError> {
        let (delivery_id, claim) = (claimed.delivery_id, claimed.claim);
        let context = || format!("record an attempt at webhook delivery {delivery_id}");
        let found = write_tx!(self, |conn| {
            Ok(conn
                .record_delivery_attempt(delivery_id, claim, attempt, next)
                .await?)
        })
        .map_err(|e: Abort<RepoError>| e.into_repo(context()))?;
        if found {
            Ok(())
        } else {
            Err(RepoError::NotFound(context()))
        }
    }
}
