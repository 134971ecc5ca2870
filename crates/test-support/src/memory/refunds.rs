//! `RefundRepository` in memory: the reservation runs the domain's over-refund rule
//! with the order and its refunds locked, as `DieselStore` does in one transaction;
//! every save writes its events with it (`MemoryStore::transact`).

use std::collections::HashMap;

use async_trait::async_trait;
use payport_domain::event::{reservation_steps, NewEvent};
use payport_domain::policy::admit_refund;
use payport_domain::ports::{
    check_refund_of_order, Page, RefundFilter, RefundRepository, ReserveError,
};
use payport_domain::refund::NewRefund;
use payport_domain::EventId;
use payport_domain::{Amount, Order, OutRequestNo, OutTradeNo, Refund, RefundId, RepoError};

use super::{page, save_order, MemoryStore};
use crate::lock;

/// A conditional save of one refund into `refunds`: the version must match, and the
/// keys and the amount (fixed at reservation, so the invariant holds) cannot change.
fn save_refund(refunds: &mut [Refund], refund: &Refund) -> Result<(), RepoError> {
    let id = &refund.refund_id;
    let stored = refunds
        .iter_mut()
        .find(|r| &r.refund_id == id)
        .ok_or_else(|| RepoError::NotFound(format!("refund {id}")))?;
    if stored.version != refund.version {
        return Err(RepoError::Conflict(format!(
            "refund {id} is at version {}, not {}",
            stored.version, refund.version
        )));
    }
    if stored.out_trade_no != refund.out_trade_no
        || stored.out_request_no != refund.out_request_no
        || stored.amount != refund.amount
    {
        return Err(RepoError::Conflict(format!(
            "refund {id}: out_trade_no, out_request_no and amount cannot change"
        )));
    }
    let next = refund
        .version
        .checked_add(1)
        .ok_or_else(|| RepoError::Conflict(format!("refund {id}: version overflows")))?;
    *stored = Refund {
        version: next,
        ..refund.clone()
    };
    Ok(())
}

/// The reservation's checks (the over-refund rule, a used out_request_no, a taken
/// refund_id) over the orders and refunds as they are: the refund to insert.
fn admit(
    orders: &HashMap<OutTradeNo, Order>,
    refunds: &[Refund],
    new: &NewRefund,
) -> Result<Refund, ReserveError> {
    let order = orders
        .get(&new.out_trade_no)
        .ok_or(ReserveError::OrderNotFound)?;
    let of_order = || {
        refunds
            .iter()
            .filter(|r| r.out_trade_no == new.out_trade_no)
    };
    if let Some(existing) = of_order().find(|r| r.out_request_no == new.out_request_no) {
        return Err(ReserveError::DuplicateOutRequestNo(Box::new(
            existing.clone(),
        )));
    }
    let reserved = Amount::sum(
        of_order()
            .filter(|r| r.status.holds_reservation())
            .map(|r| r.amount),
    )
    .ok_or_else(|| {
        RepoError::Unavailable(format!(
            "refund amounts of order {} are out of range",
            new.out_trade_no
        ))
    })?;
    let refund = admit_refund(order.status, order.total_amount, reserved, new)?;
    if refunds.iter().any(|r| r.refund_id == new.refund_id) {
        return Err(RepoError::Duplicate(format!("refund {}", new.refund_id)).into());
    }
    Ok(refund)
}

#[async_trait]
impl RefundRepository for MemoryStore {
    async fn reserve(&self, new: &NewRefund, event_id: &EventId) -> Result<Refund, ReserveError> {
        // Every lock held for the whole check-and-insert, in `transact`'s order: the
        // atomicity the port demands. Drafts are kept only if every step succeeds.
        let orders = lock(&self.orders);
        let mut refunds = lock(&self.refunds);
        let mut outbox = lock(&self.outbox);
        let admitted = admit(&orders, &refunds, new)?;
        let mut refund_draft = refunds.clone();
        let mut outbox_draft = outbox.clone();
        let mut steps = Vec::new();
        for (refund, event) in reservation_steps(new, admitted, event_id) {
            if steps.is_empty() {
                refund_draft.push(refund.clone());
            } else {
                save_refund(&mut refund_draft, &refund)?;
            }
            // After each step, as DieselStore: the body shows the refund as it stored it.
            let events = std::slice::from_ref(&event);
            outbox_draft.write(&self.renderer, events, &orders, &refund_draft)?;
            steps.push(refund);
        }
        let stored = refund_draft
            .iter()
            .find(|r| r.refund_id == new.refund_id)
            .cloned()
            .ok_or_else(|| RepoError::NotFound(format!("refund {}", new.refund_id)))?;
        *refunds = refund_draft;
        *outbox = outbox_draft;
        drop((orders, refunds, outbox));
        for step in &steps {
            self.record_history(step);
        }
        Ok(stored)
    }

    async fn get(&self, refund_id: &RefundId) -> Result<Option<Refund>, RepoError> {
        Ok(lock(&self.refunds)
            .iter()
            .find(|r| &r.refund_id == refund_id)
            .cloned())
    }

    async fn get_by_out_request_no(
        &self,
        out_trade_no: &OutTradeNo,
        out_request_no: &OutRequestNo,
    ) -> Result<Option<Refund>, RepoError> {
        Ok(lock(&self.refunds)
            .iter()
            .find(|r| &r.out_trade_no == out_trade_no && &r.out_request_no == out_request_no)
            .cloned())
    }

    async fn list_for_order(&self, out_trade_no: &OutTradeNo) -> Result<Vec<Refund>, RepoError> {
        self.list_for_orders(std::slice::from_ref(out_trade_no))
            .await
    }

    async fn list_for_orders(
        &self,
        out_trade_nos: &[OutTradeNo],
    ) -> Result<Vec<Refund>, RepoError> {
        let mut of_orders: Vec<Refund> = lock(&self.refunds)
            .iter()
            .filter(|r| out_trade_nos.contains(&r.out_trade_no))
            .cloned()
            .collect();
        // Oldest first overall is oldest first within each order, as in the database.
        of_orders.sort_by(|a, b| (a.created_at, &a.refund_id).cmp(&(b.created_at, &b.refund_id)));
        Ok(of_orders)
    }

    async fn list(&self, filter: &RefundFilter) -> Result<Page<Refund>, RepoError> {
        let items = lock(&self.refunds)
            .iter()
            .filter(|r| filter.status.is_none_or(|s| r.status == s))
            .cloned()
            .collect();
        page(items, filter.limit, filter.cursor.as_deref(), |r| {
            (r.created_at.timestamp_micros(), r.refund_id.to_string())
        })
    }

    async fn update(&self, refund: &Refund, events: &[NewEvent]) -> Result<(), RepoError> {
        self.transact(|_, refunds| {
            save_refund(refunds, refund)?;
            Ok(((), events.to_vec()))
        })?;
        self.record_history(refund);
        Ok(())
    }

    async fn update_all(&self, refunds: &[Refund], events: &[NewEvent]) -> Result<(), RepoError> {
        self.transact(|_, stored| {
            for refund in refunds {
                save_refund(stored, refund)?;
            }
            Ok(((), events.to_vec()))
        })?;
        for refund in refunds {
            self.record_history(refund);
        }
        Ok(())
    }

    async fn update_with_order(
        &self,
        refund: &Refund,
        order: &Order,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        check_refund_of_order(refund, order)?;
        self.transact(|orders, refunds| {
            save_order(orders, order)?;
            save_refund(refunds, refund)?;
            Ok(((), events.to_vec()))
        })?;
        self.record_history(refund);
        Ok(())
    }

    async fn insert_external(
        &self,
        refund: &Refund,
        order: &Order,
        events: &[NewEvent],
    ) -> Result<(), RepoError> {
        check_refund_of_order(refund, order)?;
        // No over-refund check: Alipay paid it already (see the port).
        self.transact(|orders, refunds| {
            let taken = refunds.iter().any(|r| {
                r.refund_id == refund.refund_id
                    || (r.out_trade_no == refund.out_trade_no
                        && r.out_request_no == refund.out_request_no)
            });
            if taken {
                return Err(RepoError::Duplicate(format!(
                    "refund {} of order {}",
                    refund.out_request_no, refund.out_trade_no
                )));
            }
            save_order(orders, order)?;
            refunds.push(refund.clone());
            Ok(((), events.to_vec()))
        })?;
        self.record_history(refund);
        Ok(())
    }
}
