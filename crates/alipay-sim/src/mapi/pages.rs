//! The operator's pages of the pwd refund flow (PROTOCOL.md B3): an error page, the
//! confirmation page with the payment password, and the result. They look like the
//! cashier. There is no return_url in this flow: the merchant learns the outcome only
//! from `batch_refund_notify`.

use poem::http::StatusCode;
use poem::Response;

use super::refunds::{RecordResult, SUCCESS};
use crate::cashier::escape;
use crate::ledger::PendingMapiBatch;
use crate::notify::fen;

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Alipay simulator</title><style>\
         body{{font-family:system-ui,sans-serif;background:#f5f7fa;margin:0}}\
         main{{max-width:560px;margin:40px auto;background:#fff;border-radius:12px;padding:28px;box-shadow:0 2px 12px #0001}}\
         h1{{font-size:18px;color:#1677ff;margin:0 0 4px}} .sim{{color:#999;font-size:12px}}\
         table{{border-collapse:collapse;width:100%;margin:16px 0;font-size:14px}}\
         th,td{{text-align:left;padding:6px 4px;border-bottom:1px solid #eee;word-break:break-all}}\
         input{{font-size:16px;padding:8px;border:1px solid #ccc;border-radius:6px;width:200px}}\
         button{{font-size:16px;padding:10px 24px;border-radius:6px;border:1px solid #1677ff;margin:8px 8px 0 0;cursor:pointer}}\
         .pay{{background:#1677ff;color:#fff}} .status{{font-weight:600}} .error{{color:#d4380d;font-weight:600}}\
         </style></head><body><main><h1>Alipay</h1><div class=\"sim\">offline simulator · no real money</div>{body}</main></body></html>"
    );
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(html)
}

/// What the browser sees when the gateway refuses the request.
pub(crate) fn error(status: StatusCode, code: &str, detail: &str) -> Response {
    page(
        status,
        "Error",
        &format!(
            "<p class=\"error\" id=\"error\">{}</p><p>{}</p>",
            escape(code),
            escape(detail)
        ),
    )
}

/// The batch for the operator to check, with the payment password field.
pub(crate) fn confirm(
    status: StatusCode,
    base: &str,
    batch: &PendingMapiBatch,
    problem: Option<&str>,
) -> Response {
    let rows: String = batch
        .records
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>¥{}</td><td>{}</td></tr>",
                escape(&r.trade_no),
                fen(r.amount_fen),
                escape(&r.reason)
            )
        })
        .collect();
    let total: i64 = batch.records.iter().map(|r| r.amount_fen).sum();
    let problem = problem
        .map(|p| format!("<p class=\"error\" id=\"error\">{}</p>", escape(p)))
        .unwrap_or_default();
    let batch_no = escape(&batch.batch_no);
    page(
        status,
        "Confirm refunds",
        &format!(
            "<p class=\"status\">Refund batch {batch_no}: {count} refund(s), ¥{total} in all</p>\
             <table id=\"records\"><tr><th>Trade</th><th>Amount</th><th>Reason</th></tr>{rows}</table>{problem}\
             <form method=\"post\" action=\"{base}/mapi/confirm/{batch_no}\">\
             <label for=\"password\">Payment password</label><br>\
             <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"off\"><br>\
             <button class=\"pay\" id=\"confirm\" type=\"submit\">Confirm</button></form>\
             <p class=\"sim\">Simulator: any non-empty password is accepted.</p>",
            count = batch.records.len(),
            total = fen(total),
        ),
    )
}

/// The outcome of each record after the operator confirmed.
pub(crate) fn done(batch_no: &str, results: &[RecordResult]) -> Response {
    let rows: String = results
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>¥{}</td><td>{}</td></tr>",
                escape(&r.trade_no),
                fen(r.amount_fen),
                escape(r.result)
            )
        })
        .collect();
    let succeeded = results.iter().filter(|r| r.result == SUCCESS).count();
    page(
        StatusCode::OK,
        "Refunds done",
        &format!(
            "<p class=\"status\" id=\"status\">Batch {} done: {succeeded} of {} refunded.</p>\
             <table id=\"results\"><tr><th>Trade</th><th>Amount</th><th>Result</th></tr>{rows}</table>",
            escape(batch_no),
            results.len()
        ),
    )
}
