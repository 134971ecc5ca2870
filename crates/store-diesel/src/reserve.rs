//! The refund reservation: the over-refund invariant, enforced by the database.
//!
//! One write transaction (`write_tx!`): lock the order (PostgreSQL `SELECT ... FOR
//! UPDATE`; SQLite `BEGIN IMMEDIATE`), read the order's refunds once (their
//! out_request_nos, to find a repeat, and the amounts they still hold, summed), run the
//! domain's [`admit_refund`] (the over-refund check, and the approval threshold over
//! the order's refunds), insert. Every reservation of one order (from any process on
//! the same database) queues on that lock, so each one sees all the others that
//! committed before it, and the sum can never pass the total. The same transaction
//! writes the reservation's events (see `outbox.rs`), `refund.<the status admitted>`;
//! a refund approved and sent at once (`NewRefund::send_at_once`) is then marked sent
//! (`processing`, with its `submitted_at` and legacy `batch_no`) by a conditional
//! update in the same transaction, followed by `refund.processing`
//! (`event::reservation_steps`): the request's only write before the gateway call.

use payport_domain::event::{reservation_steps, NewEvent};
use payport_domain::policy::admit_refund;
use payport_domain::ports::ReserveError;
use payport_domain::refund::NewRefund;
use payport_domain::{Amount, EventId, OrderStatus, Refund, RepoError};

use crate::dialect::Dialect;
use crate::error::{corrupt, Abort};
use crate::outbox::{OutboxQueries, Written};
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
        // One read of the order's refunds answers both questions: is this request a
        // repeat, and how much of the total is held.
        let claims = conn.refund_claims(no).await?;
        if claims.iter().any(|(used, ..)| used == request_no) {
            let existing = conn
                .refund_by_request_no(no, request_no)
                .await?
                .ok_or_else(|| RepoError::Unavailable(format!("refund {request_no} vanished")))?;
            return Err(Abort::Stop(ReserveError::DuplicateOutRequestNo(Box::new(
                Refund::try_from(existing)?,
            ))));
        }
        let reserved = claims
            .into_iter()
            .filter(|(_, _, holds)| *holds)
            .map(|(_, amount, _)| Amount::from_fen(amount))
            .collect::<Option<Vec<Amount>>>()
            .and_then(Amount::sum)
            .ok_or_else(|| corrupt(format!("refund amounts of order {no:?} are out of range")))?;
        let admitted = admit_refund(status, total, reserved, new).map_err(ReserveError::Refused)?;
        let steps = reservation_steps(new, admitted, event_id);
        let mut written = Written::default();
        let mut bodies = Vec::with_capacity(steps.len());
        for (refund, event) in &steps {
            let row = if written.refunds.is_empty() {
                conn.insert_refund(refund).await?
            } else {
                conn.update_refund(refund).await?
            };
            // Rendered after each step, from the row it returned (the last one written
            // for the refund): its event's body shows the refund as that step stored it.
            written.refunds.push(row);
            bodies.extend(
                conn.render_events(renderer, std::slice::from_ref(event), &written)
                    .await?,
            );
        }
        let events: Vec<NewEvent> = steps.into_iter().map(|(_, event)| event).collect();
        conn.append_events(&events, bodies).await?;
        let stored = written
            .refunds
            .pop()
            .ok_or_else(|| RepoError::Unavailable("a reservation without steps".into()))?;
        Ok(Refund::try_from(stored)?)
    })
    .map_err(|e: Abort<ReserveError>| {
        e.into_reserve(format_args!(
            "reserve refund {} ({}) on order {no}",
            new.refund_id, new.out_request_no
        ))
    })
}
