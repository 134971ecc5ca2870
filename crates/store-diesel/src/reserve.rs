//! The refund reservation: the over-refund invariant, enforced by the database.
//!
//! One write transaction (`write_tx!`): lock the order (PostgreSQL `SELECT ... FOR
//! UPDATE`; SQLite `BEGIN IMMEDIATE`), look for a refund with the same out_request_no,
//! sum the amounts the order's refunds still hold, run the domain's [`admit_refund`]
//! (the over-refund check, and the approval threshold over the order's refunds),
//! insert. Every reservation of one order (from any process on
//! the same database) queues on that lock, so each one sees all the others that
//! committed before it, and the sum can never pass the total. The same transaction
//! writes the reservation's events (see `outbox.rs`): `refund.<the status admitted>`,
//! or `refund.approved` then `refund.processing` for a refund admitted straight into
//! `processing` with its `submitted_at` and legacy `batch_no` (`NewRefund::send_at_once`:
//! the request's only write before the gateway call).

use payport_domain::event::reservation_events;
use payport_domain::policy::admit_refund;
use payport_domain::ports::ReserveError;
use payport_domain::refund::NewRefund;
use payport_domain::{Amount, EventId, OrderStatus, Refund, RepoError};

use crate::dialect::Dialect;
use crate::error::{corrupt, Abort};
use crate::outbox::OutboxQueries;
use crate::pool::write_tx;
use crate::refunds::RefundQueries;
use crate::DieselStore;

pub(crate) async fn reserve(
    store: &DieselStore,
    new: &NewRefund,
    event_id: &EventId,
) -> Result<Refund, ReserveError> {
    let no = new.out_trade_no.as_str();
    let renderer = store.renderer.as_ref();
    write_tx!(store, |conn| {
        let Some((status, total)) = conn.lock_order(no).await? else {
            return Err(Abort::Stop(ReserveError::OrderNotFound));
        };
        let status = OrderStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("orders.status = {status:?} (out_trade_no {no:?})")))?;
        let total = Amount::from_fen(total).ok_or_else(|| {
            corrupt(format!(
                "orders.total_amount = {total} (out_trade_no {no:?})"
            ))
        })?;
        let request_no = new.out_request_no.as_str();
        if let Some(existing) = conn.refund_by_request_no(no, request_no).await? {
            let existing = Refund::try_from(existing)?;
            return Err(Abort::Stop(ReserveError::DuplicateOutRequestNo(Box::new(
                existing,
            ))));
        }
        let held = conn.held_amounts(no).await?;
        let reserved = held
            .into_iter()
            .map(Amount::from_fen)
            .collect::<Option<Vec<Amount>>>()
            .and_then(Amount::sum)
            .ok_or_else(|| corrupt(format!("refund amounts of order {no:?} are out of range")))?;
        let refund = admit_refund(status, total, reserved, new).map_err(ReserveError::Refused)?;
        conn.insert_refund(&refund).await?;
        // Read back what was stored (timestamps to the microsecond), as `get` will.
        let stored = conn
            .refund_by_id(refund.refund_id.as_str())
            .await?
            .ok_or_else(|| {
                RepoError::Unavailable(format!("refund {} vanished", refund.refund_id))
            })?;
        let stored = Refund::try_from(stored)?;
        let events = reservation_events(new, &stored, event_id);
        conn.write_events(renderer, &events).await?;
        Ok(stored)
    })
    .map_err(|e: Abort<ReserveError>| {
        e.into_reserve(format_args!(
            "reserve refund {} ({}) on order {no}",
            new.refund_id, new.out_request_no
        ))
    })
}
