//! The refund reservation: the over-refund invariant, enforced by the database.
//!
//! One write transaction (`write_tx!`): lock the order (PostgreSQL `SELECT ... FOR
//! UPDATE`; SQLite `BEGIN IMMEDIATE`), look for a refund with the same out_request_no,
//! sum the amounts the order's refunds still hold, run the domain's [`admit_refund`]
//! (the over-refund check, and the approval threshold over the order's refunds),
//! insert. Every reservation of one order (from any process on
//! the same database) queues on that lock, so each one sees all the others that
//! committed before it, and the sum can never pass the total. The same transaction
//! writes the reservation's event (see `outbox.rs`), `refund.<the status admitted>`;
//! a refund approved and sent at once (`NewRefund::send_at_once`) is then marked sent
//! (`processing`, with its `submitted_at` and legacy `batch_no`) by a conditional
//! update in the same transaction, followed by `refund.processing`
//! (`event::reservation_steps`): the request's only write before the gateway call.

use payport_domain::event::reservation_steps;
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
        let admitted = admit_refund(status, total, reserved, new).map_err(ReserveError::Refused)?;
        let refund_id = admitted.refund_id.clone();
        for (i, (refund, event)) in reservation_steps(new, admitted, event_id)
            .iter()
            .enumerate()
        {
            if i == 0 {
                conn.insert_refund(refund).await?;
            } else {
                conn.update_refund(refund).await?;
            }
            // After each step: its event's body shows the refund as that step stored it.
            conn.write_events(renderer, std::slice::from_ref(event))
                .await?;
        }
        // Read back what was stored (timestamps to the microsecond), as `get` will.
        let stored = conn
            .refund_by_id(refund_id.as_str())
            .await?
            .ok_or_else(|| RepoError::Unavailable(format!("refund {refund_id} vanished")))?;
        Ok(Refund::try_from(stored)?)
    })
    .map_err(|e: Abort<ReserveError>| {
        e.into_reserve(format_args!(
            "reserve refund {} ({}) on order {no}",
            new.refund_id, new.out_request_no
        ))
    })
}
