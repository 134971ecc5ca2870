//! Recording a refund made outside payport ([`Refund::external`]): inserted already
//! `succeeded`, with its order's new refunded amount and the events, in one write
//! transaction.
//!
//! No over-refund check: Alipay paid the money back already, and refusing to record
//! it would only hide it. The order row is locked first all the same (PostgreSQL
//! `SELECT ... FOR UPDATE`; SQLite `BEGIN IMMEDIATE`), the lock a reservation takes,
//! so a reservation of the same order sees the external refund or runs before it.

use payport_domain::event::NewEvent;
use payport_domain::ports::check_refund_of_order;
use payport_domain::{Order, Refund, RepoError};

use crate::dialect::Dialect;
use crate::error::Abort;
use crate::orders::OrderQueries;
use crate::outbox::{OutboxQueries, Written};
use crate::pool::write_tx;
use crate::refunds::RefundQueries;
use crate::DieselStore;

pub(crate) async fn insert_external(
    store: &DieselStore,
    refund: &Refund,
    order: &Order,
    events: &[NewEvent],
) -> Result<(), RepoError> {
    check_refund_of_order(refund, order)?;
    let no = order.out_trade_no.as_str();
    let request_no = refund.out_request_no.as_str();
    let renderer = store.renderer.as_ref();
    write_tx!(store, |conn| {
        if conn.lock_order(no).await?.is_none() {
            return Err(Abort::Stop(RepoError::NotFound(format!("order {no}"))));
        }
        if conn.refund_by_request_no(no, request_no).await?.is_some() {
            return Err(Abort::Stop(RepoError::Duplicate(format!(
                "refund {request_no} of order {no}"
            ))));
        }
        let order = conn.update_order(order).await?;
        let refund = conn.insert_refund(refund).await?;
        let written = Written {
            order: Some(order),
            refunds: vec![refund],
        };
        conn.write_events(renderer, events, &written).await
    })
    .map_err(|e: Abort<RepoError>| {
        e.into_repo(format_args!(
            "record external refund {request_no} of order {no}"
        ))
    })
}
