//! The control API for tests and demos: act as the buyer, inspect the books and the
//! notifications, set faults, let time pass.

use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{handler, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::error::AlipayError;
use crate::faults::Faults;
use crate::sim::Simulator;

fn error(status: StatusCode, e: &AlipayError) -> Response {
    (status, Json(e.node())).into_response()
}

fn trade_or_404(sim: &Simulator, id: &str) -> Response {
    match sim.ledger().trade(id) {
        Some(trade) => Json(trade.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &AlipayError::business("ACQ.TRADE_NOT_EXIST", "交易不存在"),
        ),
    }
}

#[handler]
pub(crate) fn list_trades(sim: Data<&Simulator>) -> Response {
    sim.tick();
    Json(sim.ledger().trades).into_response()
}

#[handler]
pub(crate) fn show_trade(Path(id): Path<String>, sim: Data<&Simulator>) -> Response {
    sim.tick();
    trade_or_404(&sim, &id)
}

/// The buyer pays (as if through the cashier or the app).
#[handler]
pub(crate) fn pay_trade(Path(id): Path<String>, sim: Data<&Simulator>) -> Response {
    let paid = sim.with_ledger(|ledger, now| match ledger.pay(&id, now) {
        Ok(event) => (Ok(()), vec![event]),
        Err(e) => (Err(e), Vec::new()),
    });
    match paid {
        Ok(()) => trade_or_404(&sim, &id),
        Err(e) => error(StatusCode::CONFLICT, &e),
    }
}

/// The trade closes without payment (the buyer gave up, or it timed out).
#[handler]
pub(crate) fn close_trade(Path(id): Path<String>, sim: Data<&Simulator>) -> Response {
    let closed = sim.with_ledger(|ledger, now| match ledger.close(Some(&id), None, now) {
        Ok(event) => (Ok(()), event.into_iter().collect()),
        Err(e) => (Err(e), Vec::new()),
    });
    match closed {
        Ok(()) => trade_or_404(&sim, &id),
        Err(e) => error(StatusCode::CONFLICT, &e),
    }
}

#[handler]
pub(crate) fn list_refunds(sim: Data<&Simulator>) -> Response {
    Json(sim.ledger().refunds).into_response()
}

#[handler]
pub(crate) fn show_ledger(sim: Data<&Simulator>) -> Response {
    sim.tick();
    Json(sim.ledger()).into_response()
}

#[handler]
pub(crate) fn list_notifications(sim: Data<&Simulator>) -> Response {
    Json(sim.deliveries()).into_response()
}

#[derive(Deserialize)]
pub(crate) struct ReleaseOrder {
    #[serde(default)]
    order: Option<String>,
}

/// Sends held notifications (`?order=reverse` for newest first).
#[handler]
pub(crate) fn release(Query(q): Query<ReleaseOrder>, sim: Data<&Simulator>) -> Response {
    let released = sim.release_held(q.order.as_deref() == Some("reverse"));
    Json(json!({ "released": released })).into_response()
}

#[handler]
pub(crate) fn get_faults(sim: Data<&Simulator>) -> Response {
    Json(sim.faults()).into_response()
}

#[handler]
pub(crate) fn put_faults(Json(faults): Json<Faults>, sim: Data<&Simulator>) -> Response {
    sim.set_faults(faults);
    Json(sim.faults()).into_response()
}

#[handler]
pub(crate) fn clear_faults(sim: Data<&Simulator>) -> Response {
    sim.set_faults(Faults::default());
    Json(sim.faults()).into_response()
}

/// Lets time pass on the simulator's clock (expiries, refund windows).
#[handler]
pub(crate) fn tick(sim: Data<&Simulator>) -> Response {
    sim.tick();
    Json(json!({ "now": sim.now() })).into_response()
}
