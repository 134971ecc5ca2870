//! The buyer's side: the cashier page (subject, amount, QR code, Pay and Cancel), the
//! QR code's landing URL, and the return to the merchant after paying.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{handler, Request, Response};
use qrcode::render::svg;
use qrcode::QrCode;

use crate::bill::BillPeriod;
use crate::error::AlipayError;
use crate::ledger::{Trade, TradeStatus};
use crate::notify::{fen, return_params};
use crate::openapi::base_url;
use crate::signing::encode;
use crate::sim::Simulator;

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Alipay simulator</title><style>\
         body{{font-family:system-ui,sans-serif;background:#f5f7fa;margin:0}}\
         main{{max-width:420px;margin:40px auto;background:#fff;border-radius:12px;padding:28px;box-shadow:0 2px 12px #0001}}\
         h1{{font-size:18px;color:#1677ff;margin:0 0 4px}} .sim{{color:#999;font-size:12px}}\
         .amount{{font-size:36px;font-weight:600;margin:16px 0}} .qr svg{{width:200px;height:200px}}\
         button{{font-size:16px;padding:10px 24px;border-radius:6px;border:1px solid #1677ff;margin:8px 8px 0 0;cursor:pointer}}\
         .pay{{background:#1677ff;color:#fff}} .cancel{{background:#fff;color:#1677ff}} .status{{font-weight:600}}\
         </style></head><body><main><h1>Alipay</h1><div class=\"sim\">offline simulator · no real money</div>{body}</main></body></html>"
    );
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(html)
}

pub(crate) fn error_page(e: &AlipayError) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Error",
        &format!(
            "<p class=\"status\">{}</p><p>{}</p>",
            escape(&e.sub_code),
            escape(&e.sub_msg)
        ),
    )
}

fn qr_svg(content: &str) -> String {
    QrCode::new(content.as_bytes())
        .map(|code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default()
}

fn cashier(trade: &Trade, base: &str) -> Response {
    let amount = fen(trade.total_fen);
    let id = escape(&trade.out_trade_no);
    let actions = match trade.status {
        TradeStatus::WaitBuyerPay => format!(
            "<div class=\"qr\">{}</div><p>Scan with Alipay, or pay here.</p>\
             <form method=\"post\" action=\"{base}/cashier/{id}/pay\" style=\"display:inline\">\
             <button class=\"pay\" id=\"pay\" type=\"submit\">Pay ¥{amount}</button></form>\
             <form method=\"post\" action=\"{base}/cashier/{id}/cancel\" style=\"display:inline\">\
             <button class=\"cancel\" id=\"cancel\" type=\"submit\">Cancel</button></form>",
            qr_svg(&format!("{base}/qr/{}", trade.out_trade_no))
        ),
        other => format!("<p class=\"status\" id=\"status\">{}</p>", other.as_wire()),
    };
    page(
        StatusCode::OK,
        "Cashier",
        &format!(
            "<p id=\"subject\">{}</p><div class=\"amount\" id=\"amount\">¥{amount}</div>\
             <p class=\"sim\">order {id} · trade {}</p>{actions}",
            escape(&trade.subject),
            escape(&trade.trade_no)
        ),
    )
}

fn not_found() -> Response {
    error_page(&AlipayError::business("ACQ.TRADE_NOT_EXIST", "交易不存在"))
}

/// `GET /cashier/:out_trade_no`.
#[handler]
pub(crate) fn show_cashier(
    req: &Request,
    Path(id): Path<String>,
    sim: Data<&Simulator>,
) -> Response {
    let base = base_url(req, &format!("/cashier/{id}"));
    match sim.with_ledger(|ledger, _| (ledger.seen(&id), Vec::new())) {
        Some(trade) => cashier(&trade, &base),
        None => not_found(),
    }
}

/// `GET /qr/:out_trade_no`: the buyer scanned the code.
#[handler]
pub(crate) fn scanned(req: &Request, Path(id): Path<String>, sim: Data<&Simulator>) -> Response {
    let base = base_url(req, &format!("/qr/{id}"));
    match sim.with_ledger(|ledger, _| (ledger.seen(&id), Vec::new())) {
        Some(trade) => cashier(&trade, &base),
        None => not_found(),
    }
}

/// `POST /cashier/:out_trade_no/pay`: the buyer pays; the browser returns to the shop.
#[handler]
pub(crate) fn pay_at_cashier(
    req: &Request,
    Path(id): Path<String>,
    sim: Data<&Simulator>,
) -> Response {
    let base = base_url(req, &format!("/cashier/{id}/pay"));
    let paid = sim.with_ledger(|ledger, now| match ledger.pay(&id, now) {
        Ok(event) => (Ok(()), vec![event]),
        Err(e) => (Err(e), Vec::new()),
    });
    if let Err(e) = paid {
        return error_page(&e);
    }
    let Some(trade) = sim.trade(&id) else {
        return not_found();
    };
    match &trade.return_url {
        Some(url) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let params = encode(&return_params(&sim, &trade));
            Response::builder()
                .status(StatusCode::FOUND)
                .header("Location", format!("{url}{separator}{params}"))
                .finish()
        }
        None => cashier(&trade, &base),
    }
}

/// `POST /cashier/:out_trade_no/cancel`: the buyer leaves without paying. The trade
/// stays open until it expires or the merchant closes it, as at Alipay.
#[handler]
pub(crate) fn cancel_at_cashier(Path(id): Path<String>, sim: Data<&Simulator>) -> Response {
    let Some(trade) = sim.trade(&id) else {
        return not_found();
    };
    match trade.quit_url.or(trade.return_url) {
        Some(url) => Response::builder()
            .status(StatusCode::FOUND)
            .header("Location", url)
            .finish(),
        None => page(
            StatusCode::OK,
            "Cancelled",
            "<p class=\"status\" id=\"status\">You left the cashier. The order is still unpaid.</p>",
        ),
    }
}

/// `GET /bills/trade/{pid}_{yyyymmdd}.csv.zip`: the bill behind a download URL
/// (PROTOCOL.md A10).
#[handler]
pub(crate) fn bill_file(
    Path((kind, file)): Path<(String, String)>,
    sim: Data<&Simulator>,
) -> Response {
    let pid = &sim.config().mapi.partner;
    let period = file
        .strip_prefix(pid.as_str())
        .and_then(|f| f.strip_prefix('_'))
        .and_then(|f| f.strip_suffix(".csv.zip"))
        .filter(|stamp| stamp.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|stamp| match stamp.len() {
            8 => Some(format!("{}-{}-{}", &stamp[..4], &stamp[4..6], &stamp[6..])),
            6 => Some(format!("{}-{}", &stamp[..4], &stamp[4..])),
            _ => None,
        })
        .and_then(|date| BillPeriod::parse(&date));
    let Some(period) = period.filter(|p| kind == "trade" && p.is_ready(sim.now())) else {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body("no such bill");
    };
    match crate::bill::trade_bill_zip(&sim.ledger(), pid, period, sim.now()) {
        Ok(zip) => Response::builder()
            .content_type("application/zip")
            .header(
                "Content-Disposition",
                format!("attachment; filename=\"{file}\""),
            )
            .body(zip),
        Err(e) => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(e),
    }
}
