//! Alipay's callbacks: form-encoded in, plain `success`/`failure` out, and the buyer's
//! browser coming back from the cashier. Public (no bearer token) but verified before
//! anything in them is believed; the order of checks lives in the domain's
//! `Notifications` use case.
//!
//! The work an anonymous caller can cause here is bounded before it starts: bodies by
//! [`crate::body_limit::CALLBACK_LIMIT`] (enforced while reading), fields by
//! [`MAX_CALLBACK_FIELDS`], so parsing and checking a body is linear in at most 64 KiB
//! and runs on the async runtime without starving it. Logged reasons are clipped.

use std::sync::Arc;

use payport_alipay_openapi::{parse_form_at_most, MAX_CALLBACK_FIELDS};
use payport_domain::clip::clip_to;
use payport_domain::ports::IncomingNotification;
use payport_domain::usecases::{NotificationHandled, ServiceError};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Request, Response};

use crate::state::AppState;

fn plain(text: &'static str) -> Response {
    Response::builder()
        .content_type("text/plain; charset=utf-8")
        .body(text)
}

/// How much of a refusal's reason a log line keeps: reasons quote received values.
const LOGGED_REASON_BYTES: usize = 512;

/// The exact 7 characters Alipay wants; anything else makes it send again.
fn acknowledge(result: Result<NotificationHandled, ServiceError>, what: &'static str) -> Response {
    let verdict = match &result {
        Ok(NotificationHandled::Applied) => "applied",
        Ok(NotificationHandled::Duplicate) => "duplicate",
        Ok(NotificationHandled::NeedsAPerson(_)) => "needs_a_person",
        Ok(NotificationHandled::Deferred(_)) => "deferred",
        Err(_) => "refused",
    };
    metrics::counter!("payport_notifications_total", "kind" => what, "verdict" => verdict)
        .increment(1);
    match result {
        Ok(NotificationHandled::NeedsAPerson(anomalies)) => {
            for anomaly in anomalies {
                tracing::warn!(callback = what, anomaly = %clip_to(&anomaly, LOGGED_REASON_BYTES), "Alipay's result contradicts payport's record; not applied");
            }
            plain("success")
        }
        Ok(NotificationHandled::Deferred(why)) => {
            tracing::warn!(callback = what, reason = %clip_to(&why, LOGGED_REASON_BYTES), "a refund made outside payport is left for the daily reconciliation");
            plain("success")
        }
        Ok(NotificationHandled::Applied | NotificationHandled::Duplicate) => plain("success"),
        Err(e) => {
            let reason = clip_to(&e.to_string(), LOGGED_REASON_BYTES);
            tracing::warn!(callback = what, code = e.code(), reason = %reason, "callback not accepted; Alipay will resend it");
            plain("failure")
        }
    }
}

/// Decodes the body exactly once, whatever the (malformed) Content-Type says.
fn incoming(body: &[u8]) -> Result<IncomingNotification, ServiceError> {
    let fields = parse_form_at_most(body, MAX_CALLBACK_FIELDS)
        .map_err(|e| ServiceError::NotificationRefused(format!("not a form body: {e}")))?;
    Ok(IncomingNotification {
        raw_body: String::from_utf8_lossy(body).into_owned(),
        fields,
    })
}

/// `POST /callbacks/alipay/notify`: trade_status_sync (payments and refunds).
#[handler]
pub async fn trade_notify(body: Vec<u8>, state: Data<&Arc<AppState>>) -> Response {
    let result = match incoming(&body) {
        Ok(n) => state.notifications.handle_trade_notification(&n).await,
        Err(e) => Err(e),
    };
    acknowledge(result, "trade_status_sync")
}

/// `POST /callbacks/alipay/mapi/refund-notify`: legacy batch_refund_notify.
#[handler]
pub async fn mapi_refund_notify(body: Vec<u8>, state: Data<&Arc<AppState>>) -> Response {
    let result = match incoming(&body) {
        Ok(n) => state.notifications.handle_refund_notification(&n).await,
        Err(e) => Err(e),
    };
    acknowledge(result, "batch_refund_notify")
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body style=\"font-family:system-ui;max-width:30em;margin:3em auto\">\
             <h1>{}</h1><p id=\"status\">{}</p></body></html>",
            escape(title),
            escape(title),
            escape(text)
        ))
}

/// The shop's `return_url` with `out_trade_no=<no>` added to its query, so that its
/// thank-you page knows which order to show. The shop's own query and `#fragment`
/// are kept as they were.
pub fn with_out_trade_no(return_url: &str, out_trade_no: &str) -> String {
    let (base, fragment) = match return_url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (return_url, None),
    };
    let (path, query) = base.split_once('?').unwrap_or((base, ""));
    // The shop's own pairs stay as written, except an `out_trade_no` of its own: the
    // page must see one order number, the one Alipay's verified return named.
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            form_urlencoded::parse(key.as_bytes()).all(|(k, _)| k != "out_trade_no")
        })
        .map(str::to_owned)
        .collect();
    pairs.push(
        form_urlencoded::Serializer::new(String::new())
            .append_pair("out_trade_no", out_trade_no)
            .finish(),
    );
    let mut url = format!("{path}?{}", pairs.join("&"));
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

/// `GET /callbacks/alipay/return`: verifies the return, syncs the order with Alipay,
/// then sends the browser on to the shop's return_url with `out_trade_no` added (or
/// shows the status).
#[handler]
pub async fn payment_return(req: &Request, state: Data<&Arc<AppState>>) -> Response {
    let query = req.uri().query().unwrap_or("");
    let params = match parse_form_at_most(query.as_bytes(), MAX_CALLBACK_FIELDS) {
        Ok(params) => params,
        Err(_) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Payment not confirmed",
                "The return from Alipay could not be read.",
            )
        }
    };
    match state.notifications.handle_return(&params).await {
        Ok(order) => match &order.return_url {
            Some(url) => Response::builder()
                .status(StatusCode::FOUND)
                .header(
                    "Location",
                    with_out_trade_no(url, order.out_trade_no.as_str()),
                )
                .finish(),
            None => page(
                StatusCode::OK,
                "Payment",
                &format!("Order {} is {}.", order.out_trade_no, order.status.as_str()),
            ),
        },
        Err(e) => {
            let reason = clip_to(&e.to_string(), LOGGED_REASON_BYTES);
            tracing::warn!(code = e.code(), reason = %reason, "return refused");
            page(
                StatusCode::BAD_REQUEST,
                "Payment not confirmed",
                "The return from Alipay could not be verified.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_out_trade_no;

    #[test]
    fn the_return_url_names_the_order_and_keeps_its_own_query_and_fragment() {
        for (url, shown) in [
            (
                "https://shop.example/thanks",
                "https://shop.example/thanks?out_trade_no=o_1",
            ),
            (
                "https://shop.example/thanks?lang=zh&ref=a%20b",
                "https://shop.example/thanks?lang=zh&ref=a%20b&out_trade_no=o_1",
            ),
            (
                "https://shop.example/thanks?",
                "https://shop.example/thanks?out_trade_no=o_1",
            ),
            (
                "https://shop.example/thanks?a=1&",
                "https://shop.example/thanks?a=1&out_trade_no=o_1",
            ),
            (
                "https://shop.example/#/orders?tab=paid",
                "https://shop.example/?out_trade_no=o_1#/orders?tab=paid",
            ),
            (
                "http://127.0.0.1:3000/r?x=1#top",
                "http://127.0.0.1:3000/r?x=1&out_trade_no=o_1#top",
            ),
            // The shop's own out_trade_no (even percent-encoded) gives way to the
            // order the verified return named.
            (
                "https://shop.example/t?out_trade_no=other&a=1&out%5Ftrade%5Fno=x",
                "https://shop.example/t?a=1&out_trade_no=o_1",
            ),
        ] {
            assert_eq!(with_out_trade_no(url, "o_1"), shown, "{url}");
        }
    }
}
