//! [`NotificationInbox`]: verified notifications kept verbatim, once per
//! `(source, notify_id)`. Alipay redelivers until it reads `success`; the key makes
//! every redelivery land on the same row, and `handled_at` says whether its handling
//! finished. A later body that differs from the first is reported, never stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use payport_domain::crash_points::{self, crash_point};
use payport_domain::event::NewEvent;
use payport_domain::ports::{
    InboxApplied, InboxEntry, InboxState, NotificationInbox, NotificationSource,
};
use payport_domain::{Order, RepoError};

use crate::by_sql::CacheBySql;
use crate::error::{db_error, Abort};
use crate::orders::OrderQueries;
use crate::outbox::{OutboxQueries, Written};
use crate::pool::{for_each_backend, write_conn, write_tx};
use crate::schema::notification_inbox as inbox;
use crate::time::DbTime;
use crate::DieselStore;

#[derive(Insertable)]
#[diesel(table_name = inbox)]
struct NewInboxRow<'a> {
    source: &'static str,
    notify_id: &'a str,
    out_trade_no: Option<&'a str>,
    raw_body: &'a str,
    received_at: DbTime,
    content: &'a str,
    handled_at: Option<DbTime>,
}

fn new_row(entry: &InboxEntry, handled_at: Option<DbTime>) -> NewInboxRow<'_> {
    NewInboxRow {
        source: entry.source.as_str(),
        notify_id: &entry.notify_id,
        out_trade_no: entry.out_trade_no.as_ref().map(|no| no.as_str()),
        raw_body: &entry.raw_body,
        received_at: entry.received_at.into(),
        content: &entry.content,
        handled_at,
    }
}

/// What the inbox row says about a delivery, compared with the first one's content.
fn state_of(entry: &InboxEntry, handled_at: Option<DbTime>, first_content: &str) -> InboxState {
    // A redelivery says the same (its send time and signature may differ); a row
    // from before contents were kept has none to compare.
    match handled_at {
        _ if !first_content.is_empty() && first_content != entry.content => InboxState::Conflicting,
        Some(_) => InboxState::AlreadyHandled,
        None => InboxState::ToHandle,
    }
}

pub(crate) trait InboxQueries {
    /// Inserts unless the key exists (the first delivery's body is kept); returns the
    /// row's `handled_at` and the first delivery's content.
    async fn record_notification(
        &mut self,
        entry: &InboxEntry,
    ) -> QueryResult<(Option<DbTime>, String)>;
    /// Inserts the entry as already handled (at its `received_at`); `Ok(false)` when
    /// its key exists (nothing is written then).
    async fn insert_handled_notification(&mut self, entry: &InboxEntry) -> QueryResult<bool>;
    /// The stored row's `handled_at` and first content.
    async fn recorded_notification(
        &mut self,
        entry: &InboxEntry,
    ) -> QueryResult<(Option<DbTime>, String)>;
    /// Sets `handled_at` once; `Ok(false)` if no such notification was recorded.
    async fn mark_notification_handled(
        &mut self,
        source: NotificationSource,
        notify_id: &str,
        at: DbTime,
    ) -> QueryResult<bool>;
}

for_each_backend! {
    impl InboxQueries {
        async fn record_notification(
            &mut self,
            entry: &InboxEntry,
        ) -> QueryResult<(Option<DbTime>, String)> {
            diesel::insert_into(inbox::table)
                .values(new_row(entry, None))
                .on_conflict_do_nothing()
                .execute(self)
                .await?;
            self.recorded_notification(entry).await
        }

        async fn insert_handled_notification(&mut self, entry: &InboxEntry) -> QueryResult<bool> {
            let inserted = diesel::insert_into(inbox::table)
                .values(new_row(entry, Some(entry.received_at.into())))
                .on_conflict_do_nothing()
                .execute(self)
                .await?;
            Ok(inserted == 1)
        }

        async fn recorded_notification(
            &mut self,
            entry: &InboxEntry,
        ) -> QueryResult<(Option<DbTime>, String)> {
            inbox::table
                .find((entry.source.as_str(), entry.notify_id.as_str()))
                .select((inbox::handled_at, inbox::content))
                .get_result(self)
                .await
        }

        async fn mark_notification_handled(
            &mut self,
            source: NotificationSource,
            notify_id: &str,
            at: DbTime,
        ) -> QueryResult<bool> {
            let key = (source.as_str(), notify_id);
            // The first handling's time is kept.
            let updated = diesel::update(inbox::table.find(key))
                .filter(inbox::handled_at.is_null())
                .set(inbox::handled_at.eq(at))
                .by_sql()
                .execute(self)
                .await?;
            if updated == 1 {
                return Ok(true);
            }
            let found: Option<String> = inbox::table
                .find(key)
                .select(inbox::notify_id)
                .get_result(self)
                .await
                .optional()?;
            Ok(found.is_some())
        }
    }
}

#[async_trait]
impl NotificationInbox for DieselStore {
    async fn record(&self, entry: &InboxEntry) -> Result<InboxState, RepoError> {
        let (handled_at, first_content) =
            write_conn!(self, |conn| conn.record_notification(entry).await).map_err(|e| {
                db_error(
                    format_args!(
                        "record notification {} {}",
                        entry.source.as_str(),
                        entry.notify_id
                    ),
                    e,
                )
            })?;
        Ok(state_of(entry, handled_at, &first_content))
    }

    /// One write transaction. The common case (a first delivery) is one INSERT of the
    /// entry already marked handled, the order's conditional UPDATE and its events; a
    /// redelivery reads the row instead. Any failure rolls all of it back, the entry
    /// included, so Alipay's next delivery handles it afresh.
    async fn record_and_apply<'a>(
        &self,
        entry: &InboxEntry,
        order: Option<&'a Order>,
        events: &[NewEvent],
    ) -> Result<InboxApplied, RepoError> {
        let renderer = self.renderer.as_ref();
        let at = DbTime(entry.received_at);
        write_tx!(self, |conn| {
            if !conn.insert_handled_notification(entry).await? {
                let (handled_at, first_content) = conn.recorded_notification(entry).await?;
                match state_of(entry, handled_at, &first_content) {
                    InboxState::Conflicting => return Ok(InboxApplied::Conflicting),
                    InboxState::AlreadyHandled => return Ok(InboxApplied::AlreadyHandled),
                    // Recorded by an earlier delivery whose handling never finished.
                    InboxState::ToHandle => {
                        conn.mark_notification_handled(entry.source, &entry.notify_id, at)
                            .await?;
                    }
                }
            }
            if let Some(order) = order {
                let stored = conn.update_order(order).await?;
                conn.write_events(renderer, events, &Written::order(stored))
                    .await?;
            }
            // All written, nothing committed: a crash here must lose all of it.
            crash_point(crash_points::NOTIFICATION_BEFORE_COMMIT);
            Ok(InboxApplied::Applied)
        })
        .map_err(|e: Abort<RepoError>| {
            e.into_repo(format_args!(
                "record and apply notification {} {}",
                entry.source.as_str(),
                entry.notify_id
            ))
        })
    }

    /// # Errors
    /// [`RepoError::NotFound`] when no such notification was recorded.
    async fn mark_handled(
        &self,
        source: NotificationSource,
        notify_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let context = || format!("mark notification {} {notify_id} handled", source.as_str());
        let found = write_conn!(self, |conn| conn
            .mark_notification_handled(source, notify_id, DbTime(at))
            .await)
        .map_err(|e| db_error(context(), e))?;
        if found {
            Ok(())
        } else {
            Err(RepoError::NotFound(context()))
        }
    }
}
