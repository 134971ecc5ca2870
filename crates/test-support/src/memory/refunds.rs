//! `RefundRepository` in memory: the reservation runs the domain's over-refund rule
//! with the order and its refunds locked, as `DieselStore` does in one transaction.

use async_trait::async_trait;
use payport_domain::event::NewEvent;
use payport_domain::policy::admit_refund;
use payport_domain::ports::{Page, RefundFilter, RefundRepository, ReserveError};
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

#[async_trait]
impl RefundRepository for MemoryStore {
    async fn reserve(&self, new: &NewRefund, _event_id: &EventId) -> Result<Refund, ReserveError> {
        // Both locks held for the whole check-and-insert: the atomicity the port demands.
        let orders = lock(&self.orders);
        let mut refunds = lock(&self.refunds);
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
        refunds.push(refund.clone());
        drop(refunds);
        drop(orders);
        self.record_history(&refund);
        Ok(refund)
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
        let mut of_order: Vec<Refund> = lock(&self.refunds)
            .iter()
            .filter(|r| &r.out_trade_no == out_trade_no)
            .cloned()
            .collect();
        of_order.sort_by(|a, b| (a.created_at, &a.refund_id).cmp(&(b.created_at, &b.refund_id)));
        Ok(of_order)
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

    async fn update(&self, refund: &Refund, _events: &[NewEvent]) -> Result<(), RepoError> {
        save_refund(&mut lock(&self.refunds), refund)?;
        self.record_history(refund);
        Ok(())
    }

    async fn update_all(&self, refunds: &[Refund], _events: &[NewEvent]) -> Result<(), RepoError> {
        {
            let mut stored = lock(&self.refunds);
            let mut draft = stored.clone();
            for refund in refunds {
                save_refund(&mut draft, refund)?;
            }
            *stored = draft;
        }
        for refund in refunds {
            self.record_history(refund);
        }
        Ok(())
    }

    async fn update_with_order(
        &self,
        refund: &Refund,
        order: &Order,
        _events: &[NewEvent],
    ) -> Result<(), RepoError> {
        if refund.out_trade_no != order.out_trade_no {
            return Err(RepoError::NotFound(format!(
                "refund {} of order {} (it belongs to order {})",
                refund.refund_id, order.out_trade_no, refund.out_trade_no
            )));
        }
        {
            let mut orders = lock(&self.orders);
            let mut refunds = lock(&self.refunds);
            let mut order_draft = orders.clone();
            save_order(&mut order_draft, order)?;
            let mut refund_draft = refunds.clone();
            save_refund(&mut refund_draft, refund)?;
            *orders = order_draft;
            *refunds = refund_draft;
        }
        self.record_history(refund);
        Ok(())
    }
}
