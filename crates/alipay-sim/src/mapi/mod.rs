//! The legacy mapi gateway (MD5), as Alipay answers it (PROTOCOL.md B1–B4, C).
//!
//! `GET|POST /mapi/gateway.do` serves three services:
//! - `refund_fastpay_by_platform_nopwd` (B4), server to server: a signed, valid batch is
//!   recorded and carried out at once; the answer is unsigned XML whose `is_success=T`
//!   means *accepted* only. The outcome of each record arrives in
//!   `batch_refund_notify`. Refusals are `is_success=F` with `<error>CODE</error>`.
//! - `refund_fastpay_by_platform_pwd` (B3), in the operator's browser: a valid batch is
//!   held and a confirmation page asks for the payment password; `POST
//!   /mapi/confirm/:batch_no` carries it out and sends `batch_refund_notify`. The
//!   same batch sent again before it is confirmed shows the same page again.
//!   Refusals are an HTML page with the code. There is no return_url.
//! - `notify_verify` (B4): `true`/`false`/`invalid` as plain text; unsigned.
//!
//! Before either refund service runs: ILLEGAL_SERVICE, ILLEGAL_PARTNER, ILLEGAL_CHARSET,
//! ILLEGAL_SIGN_TYPE, ILLEGAL_SIGN (see `request`); then the whole-batch checks (see
//! `batch`) and DUPLICATE_BATCH_NO. A refused batch records nothing. An accepted
//! batch_no is used for good, even if its records all fail (C: unique per partner).
//!
//! Faults (`Faults.methods["refund_fastpay_by_platform_nopwd"]`) model the unknown
//! outcomes of C: `delay` carries the batch out and answers late; `http500`,
//! `unavailable` and `system_error{performed:false}` do nothing; `system_error
//! {performed:true}` carries it out and still answers `F`/SYSTEM_ERROR. The XML is
//! unsigned, so the signature faults change nothing.

mod batch;
mod notify;
mod pages;
mod refunds;
mod request;

use std::time::Duration;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Request, Response};

use self::batch::Batch;
use self::refunds::RecordResult;
use self::request::{authenticate, Params, NOPWD, NOTIFY_VERIFY, PWD};
use crate::faults::MethodFault;
use crate::ledger::PendingMapiBatch;
use crate::openapi::base_url;
use crate::signing::decode;
use crate::sim::{lock, Simulator};

const XML_HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

fn xml(body: String) -> Response {
    Response::builder()
        .content_type("text/xml; charset=utf-8")
        .body(format!("{XML_HEAD}{body}"))
}

fn xml_accepted() -> Response {
    xml("<alipay><is_success>T</is_success></alipay>".to_owned())
}

fn xml_error(code: &str) -> Response {
    xml(format!(
        "<alipay><is_success>F</is_success><error>{code}</error></alipay>"
    ))
}

/// `GET|POST /mapi/gateway.do`.
#[handler]
pub(crate) async fn gateway(req: &Request, body: Vec<u8>, sim: Data<&Simulator>) -> Response {
    let sim = sim.0.clone();
    let params = Params::collect(req.uri().query().unwrap_or(""), &body);
    match params.get("service") {
        Some(NOTIFY_VERIFY) => Response::builder()
            .content_type("text/plain; charset=utf-8")
            .body(notify::verify(
                &sim,
                params.get("partner"),
                params.get("notify_id"),
            )),
        Some(NOPWD) => nopwd(&sim, &params).await,
        Some(PWD) => pwd(&sim, &params, &base_url(req, "/mapi/gateway.do")),
        _ => xml_error("ILLEGAL_SERVICE"),
    }
}

/// B4: verify, validate, answer `T` and carry the batch out; faults as in the docs.
async fn nopwd(sim: &Simulator, params: &Params) -> Response {
    if let Err(code) = authenticate(sim, params) {
        return xml_error(code);
    }
    let batch = match batch::parse(params, NOPWD, &sim.config().mapi) {
        Ok(batch) => batch,
        Err(code) => return xml_error(code),
    };
    let fault = lock(&sim.inner.faults).take(NOPWD);
    let (answer, delay) = match fault {
        Some(MethodFault::Http500) => {
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body("<html><body>500 Internal Server Error</body></html>")
        }
        Some(MethodFault::Unavailable | MethodFault::SystemError { performed: false }) => {
            return xml_error("SYSTEM_ERROR")
        }
        Some(MethodFault::SystemError { performed: true }) => (xml_error("SYSTEM_ERROR"), None),
        Some(MethodFault::Delay { ms }) => (xml_accepted(), Some(Duration::from_millis(ms))),
        Some(MethodFault::BadSignature | MethodFault::MissingSignature) | None => {
            (xml_accepted(), None)
        }
    };
    let outcome = sim.with_ledger(|ledger, now| {
        if !ledger.use_mapi_batch_no(&batch.batch_no) {
            return (Err("DUPLICATE_BATCH_NO"), Vec::new());
        }
        let (results, events) = refunds::perform(ledger, &batch.batch_no, &batch.records, now);
        (Ok(results), events)
    });
    match outcome {
        Ok(results) => notify::send(sim, batch.notify_url.as_deref(), &batch.batch_no, &results),
        Err(code) => return xml_error(code),
    }
    // The work is done before the late answer, so a merchant that times out faces
    // the real unknown outcome: refunded, but not told (C).
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    answer
}

/// B3: verify, validate, hold the batch and show it to the operator.
fn pwd(sim: &Simulator, params: &Params, base: &str) -> Response {
    if let Err(code) = authenticate(sim, params) {
        return pages::error(StatusCode::BAD_REQUEST, code, "The request was refused.");
    }
    let Batch {
        batch_no,
        notify_url,
        records,
    } = match batch::parse(params, PWD, &sim.config().mapi) {
        Ok(batch) => batch,
        Err(code) => return pages::error(StatusCode::BAD_REQUEST, code, "The batch was refused."),
    };
    let held = sim.with_ledger(|ledger, now| {
        // The number is taken on arrival, so another batch under it is
        // DUPLICATE_BATCH_NO. The same batch again while it still waits for the
        // operator (a closed tab, a second window) shows its page again: nothing has
        // been refunded, and confirming carries it out once (PROTOCOL.md B3 ⚠).
        if !ledger.use_mapi_batch_no(&batch_no) {
            return match ledger.pending_mapi_batch(&batch_no) {
                Some(held) if held.records == records && held.notify_url == notify_url => {
                    (Ok(held.clone()), Vec::new())
                }
                _ => (Err("DUPLICATE_BATCH_NO"), Vec::new()),
            };
        }
        let pending = PendingMapiBatch {
            batch_no,
            notify_url,
            records,
            received_at: now,
        };
        ledger.hold_mapi_batch(pending.clone());
        (Ok(pending), Vec::new())
    });
    match held {
        Ok(pending) => pages::confirm(StatusCode::OK, base, &pending, None),
        Err(code) => pages::error(StatusCode::BAD_REQUEST, code, "The batch was refused."),
    }
}

fn not_pending(batch_no: &str) -> Response {
    pages::error(
        StatusCode::NOT_FOUND,
        "BATCH_NOT_PENDING",
        &format!("No refund batch {batch_no} is waiting for confirmation (already confirmed, or never received)."),
    )
}

/// `POST /mapi/confirm/:batch_no`: the operator confirms a pwd batch with the payment
/// password. This is a simulator: any non-empty password is the right one.
#[handler]
pub(crate) fn confirm(
    req: &Request,
    Path(batch_no): Path<String>,
    body: Vec<u8>,
    sim: Data<&Simulator>,
) -> Response {
    let base = base_url(req, &format!("/mapi/confirm/{batch_no}"));
    let password = decode(&body)
        .into_iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v)
        .unwrap_or_default();
    if password.trim().is_empty() {
        // Nothing is done: the page comes back with the error, as at Alipay.
        return match sim.ledger().pending_mapi_batch(&batch_no) {
            Some(batch) => pages::confirm(
                StatusCode::BAD_REQUEST,
                &base,
                batch,
                Some("Enter the payment password."),
            ),
            None => not_pending(&batch_no),
        };
    }
    let done: Option<(PendingMapiBatch, Vec<RecordResult>)> =
        sim.with_ledger(|ledger, now| match ledger.take_mapi_batch(&batch_no) {
            None => (None, Vec::new()),
            Some(batch) => {
                let (results, events) =
                    refunds::perform(ledger, &batch.batch_no, &batch.records, now);
                (Some((batch, results)), events)
            }
        });
    let Some((batch, results)) = done else {
        return not_pending(&batch_no);
    };
    notify::send(&sim, batch.notify_url.as_deref(), &batch.batch_no, &results);
    pages::done(&batch.batch_no, &results)
}
