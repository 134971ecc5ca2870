//! The smaller ports in memory: the notification inbox, the exchange log, and
//! lease-based claims of background work.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payport_domain::event::NewEvent;
use payport_domain::ports::{
    Backlog, ExchangeLog, GatewayExchange, InboxApplied, InboxEntry, InboxState, NotificationInbox,
    NotificationSource, WorkKind, WorkQueue,
};
use payport_domain::{Order, OrderStatus, OutTradeNo, Refund, RefundStatus, RepoError};

use super::{save_order, MemoryStore};
use crate::lock;

#[async_trait]
impl NotificationInbox for MemoryStore {
    async fn record(&self, entry: &InboxEntry) -> Result<InboxState, RepoError> {
        let mut inbox = lock(&self.inbox);
        let key = (entry.source, entry.notify_id.clone());
        let first = lock(&self.inbox_contents)
            .entry(key.clone())
            .or_insert_with(|| entry.content.clone())
            .clone();
        if first != entry.content {
            return Ok(InboxState::Conflicting);
        }
        let handled = *inbox.entry(key).or_insert_with(|| {
            lock(&self.raw_notifications).push(entry.raw_body.clone());
            false
        });
        Ok(if handled {
            InboxState::AlreadyHandled
        } else {
            InboxState::ToHandle
        })
    }

    async fn mark_handled(
        &self,
        source: NotificationSource,
        notify_id: &str,
        _at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        match lock(&self.inbox).get_mut(&(source, notify_id.to_owned())) {
            Some(handled) => {
                *handled = true;
                Ok(())
            }
            None => Err(RepoError::NotFound(format!(
                "mark notification {} {notify_id} handled",
                source.as_str()
            ))),
        }
    }

    async fn record_and_apply<'a>(
        &self,
        entry: &InboxEntry,
        order: Option<&'a Order>,
        events: &[NewEvent],
    ) -> Result<InboxApplied, RepoError> {
        let mut inbox = lock(&self.inbox);
        let mut contents = lock(&self.inbox_contents);
        let key = (entry.source, entry.notify_id.clone());
        if contents
            .get(&key)
            .is_some_and(|first| *first != entry.content)
        {
            return Ok(InboxApplied::Conflicting);
        }
        if inbox.get(&key) == Some(&true) {
            return Ok(InboxApplied::AlreadyHandled);
        }
        // The order first: if its save fails, nothing of the notification is kept.
        if let Some(order) = order {
            self.transact(|orders, _| {
                save_order(orders, order)?;
                Ok::<_, RepoError>(((), events.to_vec()))
            })?;
        }
        contents
            .entry(key.clone())
            .or_insert_with(|| entry.content.clone());
        if inbox.insert(key, true).is_none() {
            lock(&self.raw_notifications).push(entry.raw_body.clone());
        }
        Ok(InboxApplied::Applied)
    }
}

#[async_trait]
impl ExchangeLog for MemoryStore {
    async fn record(&self, exchange: &GatewayExchange) -> Result<(), RepoError> {
        self.exchanges.record(exchange).await
    }
}

/// `(now + lease, now - lease)`: until when a claim holds, and since when an untouched
/// row counts as abandoned.
pub(super) fn lease_window(
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<(DateTime<Utc>, DateTime<Utc>), RepoError> {
    let out_of_range = || RepoError::Unavailable(format!("claim lease {lease:?} is out of range"));
    let lease = chrono::Duration::from_std(lease).map_err(|_| out_of_range())?;
    let until = now.checked_add_signed(lease).ok_or_else(out_of_range)?;
    let stale_before = now.checked_sub_signed(lease).ok_or_else(out_of_range)?;
    Ok((until, stale_before))
}

/// The port's "due": a `processing` refund whose sync time came, or that was left
/// untouched for a lease without one (a crashed submission); an `approved` one left
/// untouched for a lease (a crash between approval and sending), unless claimed.
fn is_due(refund: &Refund, now: DateTime<Utc>, stale_before: DateTime<Utc>) -> bool {
    let untouched = refund.updated_at <= stale_before;
    match refund.status {
        RefundStatus::Processing => match refund.next_sync_at {
            Some(at) => at <= now,
            None => untouched,
        },
        RefundStatus::Approved => untouched && refund.next_sync_at.is_none_or(|at| at <= now),
        _ => false,
    }
}

/// When a due refund became due: its sync time, or for one without, when it counted
/// as abandoned.
fn due_since(refund: &Refund, lease: chrono::Duration) -> Option<DateTime<Utc>> {
    refund
        .next_sync_at
        .or_else(|| refund.updated_at.checked_add_signed(lease))
}

/// An order the expiry claim would take: pending, expired, not claimed by another.
fn is_expired(
    order: &Order,
    now: DateTime<Utc>,
    claims: &std::collections::HashMap<OutTradeNo, DateTime<Utc>>,
) -> bool {
    order.status == OrderStatus::Pending
        && order.expires_at <= now
        && claims
            .get(&order.out_trade_no)
            .is_none_or(|until| *until <= now)
}

fn is_check_due(order: &Order, now: DateTime<Utc>) -> bool {
    order.status == OrderStatus::Pending && order.payment_check_at.is_some_and(|at| at <= now)
}

#[async_trait]
impl WorkQueue for MemoryStore {
    async fn claim_due_refunds(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Refund>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (until, stale_before) = lease_window(now, lease)?;
        let mut refunds = lock(&self.refunds);
        let mut due: Vec<&mut Refund> = refunds
            .iter_mut()
            .filter(|r| is_due(r, now, stale_before))
            .collect();
        // Oldest due first; a refund without a sync time last (PostgreSQL's NULLS LAST).
        due.sort_by(|a, b| {
            let key = |r: &Refund| {
                (
                    r.next_sync_at.is_none(),
                    r.next_sync_at,
                    r.refund_id.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut claimed: Vec<Refund> = due
            .into_iter()
            .take(take)
            .map(|r| {
                r.next_sync_at = Some(until);
                r.version += 1;
                r.clone()
            })
            .collect();
        claimed.sort_by(|a, b| (a.created_at, &a.refund_id).cmp(&(b.created_at, &b.refund_id)));
        Ok(claimed)
    }

    async fn claim_expired_orders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Order>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (until, _) = lease_window(now, lease)?;
        let orders = lock(&self.orders);
        let mut claims = lock(&self.order_claims);
        let mut expired: Vec<&Order> = orders
            .values()
            .filter(|o| is_expired(o, now, &claims))
            .collect();
        expired
            .sort_by(|a, b| (a.expires_at, &a.out_trade_no).cmp(&(b.expires_at, &b.out_trade_no)));
        expired.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        for order in &expired {
            claims.insert(order.out_trade_no.clone(), until);
        }
        Ok(expired.into_iter().cloned().collect())
    }

    async fn claim_payment_checks(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Order>, RepoError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (until, _) = lease_window(now, lease)?;
        let mut orders = lock(&self.orders);
        let mut due: Vec<&mut Order> = orders
            .values_mut()
            .filter(|o| is_check_due(o, now))
            .collect();
        due.sort_by(|a, b| {
            (a.payment_check_at, &a.out_trade_no).cmp(&(b.payment_check_at, &b.out_trade_no))
        });
        // The check time is the claim; the version stays, as in the database.
        Ok(due
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|o| {
                o.payment_check_at = Some(until);
                o.clone()
            })
            .collect())
    }

    async fn backlog(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<Backlog>, RepoError> {
        let (_, stale_before) = lease_window(now, lease)?;
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let backlog = |kind, due: Vec<Option<DateTime<Utc>>>| Backlog {
            kind,
            due: due.len() as u64,
            oldest_due_at: due.into_iter().flatten().min(),
        };
        let refunds: Vec<_> = lock(&self.refunds)
            .iter()
            .filter(|r| is_due(r, now, stale_before))
            .map(|r| due_since(r, lease))
            .collect();
        let orders = lock(&self.orders);
        let checks = orders
            .values()
            .filter(|o| is_check_due(o, now))
            .map(|o| o.payment_check_at)
            .collect();
        let claims = lock(&self.order_claims);
        let expired = orders
            .values()
            .filter(|o| is_expired(o, now, &claims))
            .map(|o| Some(o.expires_at))
            .collect();
        Ok(vec![
            backlog(WorkKind::RefundSync, refunds),
            backlog(WorkKind::PaymentCheck, checks),
            backlog(WorkKind::ExpiredOrder, expired),
        ])
    }

    async fn schedule_payment_check(
        &self,
        out_trade_no: &OutTradeNo,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), RepoError> {
        if let Some(order) = lock(&self.orders).get_mut(out_trade_no) {
            if order.status == OrderStatus::Pending {
                order.payment_check_at = at;
            }
        }
        Ok(())
    }
}
