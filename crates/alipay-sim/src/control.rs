//! The control API for tests and demos: act as the buyer, inspect the books and the
//! notifications, set faults, let time pass.

use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{handler, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::error::AlipayError;
use crate::faults::Faults;
use crate::ledger::RefundAsk;
use crate::money::parse_fen;
use crate::sim::Simulator;

fn error(status: StatusCode, e: &AlipayError) -> Response {
    (status, Json(e.node())).into_response()
}

fn trade_or_404(sim: &Simulator, id: &str) -> Response {
    match sim.trade(id) {
        Some(trade) => Json(trade).into_response(),
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

#[derive(Deserialize)]
struct PayOptions {
    /// `false`: pay without notifying the merchant, as if every notification was lost.
    #[serde(default = "yes")]
    notify: bool,
}

fn yes() -> bool {
    true
}

/// An optional JSON body: empty means the defaults, anything else must parse.
fn options<T: serde::de::DeserializeOwned>(body: &str, empty: T) -> Result<T, String> {
    if body.trim().is_empty() {
        return Ok(empty);
    }
    serde_json::from_str(body).map_err(|e| e.to_string())
}

/// The buyer pays (as if through the cashier or the app); `{"notify": false}` pays
/// without the notification.
#[handler]
pub(crate) fn pay_trade(Path(id): Path<String>, body: String, sim: Data<&Simulator>) -> Response {
    let notify = match options(&body, PayOptions { notify: true }) {
        Ok(o) => o.notify,
        Err(e) => return invalid(&e),
    };
    let paid = sim.with_ledger(|ledger, now| match ledger.pay(&id, now) {
        Ok(event) => (Ok(()), if notify { vec![event] } else { Vec::new() }),
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

/// Each trade's refunds, counted by out_request_no (read-only).
#[handler]
pub(crate) fn refund_report(sim: Data<&Simulator>) -> Response {
    Json(crate::report::refund_report(&sim.ledger())).into_response()
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

#[derive(Deserialize)]
struct Advance {
    seconds: u32,
}

/// Moves the simulator's time on: `{"seconds": 86400}` makes yesterday's bill
/// available. Answers the new time.
#[handler]
pub(crate) fn advance_clock(body: String, sim: Data<&Simulator>) -> Response {
    match options::<Option<Advance>>(&body, None) {
        Ok(Some(ask)) => sim.advance(chrono::Duration::seconds(ask.seconds.into())),
        Ok(None) => return invalid("a JSON body with seconds is required"),
        Err(e) => return invalid(&e),
    }
    sim.tick();
    Json(json!({ "now": sim.now() })).into_response()
}

#[derive(Deserialize)]
struct ConsoleRefund {
    amount: String,
    #[serde(default)]
    out_request_no: Option<String>,
    /// `false`: refund without notifying the merchant.
    #[serde(default = "yes")]
    notify: bool,
}

/// A refund made in Alipay's merchant console, outside payport: in the books, the
/// queries and the bill like any other, refused by the same rules. `"notify": false`
/// makes it without the trade notification, as if it was lost.
#[handler]
pub(crate) fn console_refund(
    Path(id): Path<String>,
    body: String,
    sim: Data<&Simulator>,
) -> Response {
    let ask = match options::<Option<ConsoleRefund>>(&body, None) {
        Ok(Some(ask)) => ask,
        Ok(None) => return invalid("a JSON body with amount is required"),
        Err(e) => return invalid(&e),
    };
    let Some(amount_fen) = parse_fen(&ask.amount) else {
        return invalid("amount is not an Alipay amount");
    };
    let notify = ask.notify;
    let done = sim.with_ledger(|ledger, now| {
        // The console numbers a refund itself when the operator gives no number.
        let out_request_no = ask
            .out_request_no
            .unwrap_or_else(|| format!("console{}", ledger.refunds.len() + 1));
        let ask = RefundAsk {
            out_trade_no: Some(id.clone()),
            trade_no: None,
            amount_fen,
            out_request_no: Some(out_request_no),
            reason: Some("商户后台退款".to_owned()),
            batch_no: None,
        };
        match ledger.refund(ask, now) {
            Ok(done) => {
                let events = if notify {
                    done.event().into_iter().collect()
                } else {
                    Vec::new()
                };
                (Ok(done), events)
            }
            Err(e) => (Err(e), Vec::new()),
        }
    });
    match done {
        Ok(done) => Json(json!({ "trade": done.trade, "refund": done.refund })).into_response(),
        Err(e) if e.sub_code == "ACQ.TRADE_NOT_EXIST" => error(StatusCode::NOT_FOUND, &e),
        Err(e) => error(StatusCode::CONFLICT, &e),
    }
}

fn invalid(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &AlipayError::business("ACQ.INVALID_PARAMETER", message),
    )
}

/// `POST /control/alipay-cert/rotate`: the simulator signs with its next key and names
/// the next certificate from now on; `{"alipay_cert_sn": ...}`, or 409.
#[handler]
pub(crate) fn rotate_alipay_cert(sim: Data<&Simulator>) -> Response {
    match sim.rotate_alipay_cert() {
        Ok(sn) => Json(json!({ "alipay_cert_sn": sn })).into_response(),
        Err(why) => (StatusCode::CONFLICT, Json(json!({ "error": why }))).into_response(),
    }
}
