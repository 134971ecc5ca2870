//! The OpenAPI methods the simulator speaks, over the ledger's rules.

use chrono::{NaiveDateTime, TimeZone};
use poem::Response;
use serde_json::{json, Map, Value};

use super::{Answer, Call};
use crate::bill::BillPeriod;
use crate::error::AlipayError;
use crate::ledger::{NewTrade, Product, RefundAsk, Trade};
use crate::money::parse_fen;
use crate::notify::{beijing, fen, time};
use crate::sim::Simulator;

pub(crate) fn run(sim: &Simulator, call: &Call) -> Answer {
    let result = match call.method.as_str() {
        "alipay.trade.page.pay" => return browser_pay(sim, call, Product::Page),
        "alipay.trade.wap.pay" => return browser_pay(sim, call, Product::Wap),
        "alipay.trade.precreate" => precreate(sim, call),
        "alipay.trade.query" => query(sim, call),
        "alipay.trade.close" => close(sim, call),
        "alipay.trade.refund" => refund(sim, call),
        "alipay.trade.fastpay.refund.query" => refund_query(sim, call),
        "alipay.data.dataservice.bill.downloadurl.query" => bill(sim, call),
        "alipay.open.app.alipaycert.download" => alipay_cert(sim, call),
        // app.pay order strings go to the Alipay app, never to gateway.do.
        _ => Err(AlipayError::invalid("isv.invalid-method", "不存在的方法名")),
    };
    match result {
        Ok(node) => Answer::Success(node),
        Err(e) => Answer::Error(e),
    }
}

/// An Alipay certificate by SN, as base64 of its PEM text (`alipay_cert_content`, as
/// the Java SDK's response class names it).
fn alipay_cert(sim: &Simulator, call: &Call) -> Result<Map<String, Value>, AlipayError> {
    use base64::Engine;
    let sn = call.biz_str("alipay_cert_sn").ok_or_else(|| {
        AlipayError::missing("isv.missing-alipay-cert-sn", "缺少支付宝公钥证书序列号")
    })?;
    let pem = sim
        .alipay_cert_pem(sn)
        .ok_or_else(|| AlipayError::business("CERT_NOT_EXIST", "证书不存在"))?;
    let content = base64::engine::general_purpose::STANDARD.encode(pem);
    Ok(object(json!({ "alipay_cert_content": content })))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn parse_amount(call: &Call, key: &str) -> Result<i64, AlipayError> {
    let text = call
        .biz_str(key)
        .ok_or_else(|| AlipayError::business("ACQ.INVALID_PARAMETER", &format!("缺少 {key}")))?;
    parse_fen(text)
        .ok_or_else(|| AlipayError::business("ACQ.INVALID_PARAMETER", &format!("{key} 格式错误")))
}

fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok()?;
    beijing()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The trade a pay or precreate call asks for.
pub(crate) fn new_trade(
    call: &Call,
    product: Product,
    seen: bool,
) -> Result<NewTrade, AlipayError> {
    let expected_code = match product {
        Product::Page => Some("FAST_INSTANT_TRADE_PAY"),
        Product::Wap => Some("QUICK_WAP_WAY"),
        Product::App => Some("QUICK_MSECURITY_PAY"),
        Product::Precreate => None,
    };
    if let (Some(expected), Some(given)) = (expected_code, call.biz_str("product_code")) {
        if given != expected {
            return Err(AlipayError::business(
                "ACQ.INVALID_PARAMETER",
                "product_code 不匹配",
            ));
        }
    }
    let time_expire = match call.biz_str("time_expire") {
        None => None,
        Some(text) => Some(parse_time(text).ok_or_else(|| {
            AlipayError::business("ACQ.INVALID_PARAMETER", "time_expire 格式错误")
        })?),
    };
    Ok(NewTrade {
        out_trade_no: call
            .biz_str("out_trade_no")
            .ok_or_else(|| AlipayError::business("ACQ.INVALID_PARAMETER", "缺少 out_trade_no"))?
            .to_owned(),
        subject: call.biz_str("subject").unwrap_or_default().to_owned(),
        body: call.biz_str("body").map(str::to_owned),
        total_fen: parse_amount(call, "total_amount")?,
        product,
        notify_url: call.param("notify_url").map(str::to_owned),
        return_url: call.param("return_url").map(str::to_owned),
        quit_url: call.biz_str("quit_url").map(str::to_owned),
        time_expire,
        seen_by_buyer: seen,
    })
}

/// Page/wap pay, opened by the buyer's browser: the trade exists from now on, and the
/// browser goes on to the cashier.
fn browser_pay(sim: &Simulator, call: &Call, product: Product) -> Answer {
    let opened = new_trade(call, product, true)
        .and_then(|new| sim.with_ledger(|ledger, now| (ledger.open_trade(new, now), Vec::new())));
    match opened {
        Ok(trade) => Answer::Browser(
            Response::builder()
                .status(poem::http::StatusCode::FOUND)
                .header(
                    "Location",
                    format!("{}/cashier/{}", call.base_url, trade.out_trade_no),
                )
                .finish(),
        ),
        Err(e) => Answer::Browser(crate::cashier::error_page(&e)),
    }
}

fn precreate(sim: &Simulator, call: &Call) -> Result<Map<String, Value>, AlipayError> {
    let new = new_trade(call, Product::Precreate, false)?;
    let trade = sim.with_ledger(|ledger, now| (ledger.open_trade(new, now), Vec::new()))?;
    Ok(object(json!({
        "out_trade_no": trade.out_trade_no,
        "qr_code": format!("{}/qr/{}", call.base_url, trade.out_trade_no),
    })))
}

fn trade_keys(call: &Call) -> (Option<&str>, Option<&str>) {
    (call.biz_str("out_trade_no"), call.biz_str("trade_no"))
}

fn trade_node(trade: &Trade) -> Map<String, Value> {
    let mut node = object(json!({
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "trade_status": trade.status.as_wire(),
        "total_amount": fen(trade.total_fen),
    }));
    if let Some(paid) = trade.paid_at {
        node.insert("send_pay_date".into(), time(paid).into());
        node.insert("buyer_pay_amount".into(), fen(trade.total_fen).into());
        node.insert("receipt_amount".into(), fen(trade.total_fen).into());
        node.insert("point_amount".into(), "0.00".into());
        node.insert("invoice_amount".into(), fen(trade.total_fen).into());
    }
    if let Some(buyer) = &trade.buyer_id {
        node.insert("buyer_user_id".into(), buyer.clone().into());
    }
    if let Some(logon) = &trade.buyer_logon_id {
        node.insert("buyer_logon_id".into(), logon.clone().into());
    }
    node
}

fn query(sim: &Simulator, call: &Call) -> Result<Map<String, Value>, AlipayError> {
    let (out_trade_no, trade_no) = trade_keys(call);
    sim.with_ledger(|ledger, _| {
        (
            ledger.visible(out_trade_no, trade_no).map(trade_node),
            Vec::new(),
        )
    })
}

fn close(sim: &Simulator, call: &Call) -> Result<Map<String, Value>, AlipayError> {
    let (out_trade_no, trade_no) = trade_keys(call);
    sim.with_ledger(|ledger, now| {
        // A trade the buyer never opened does not exist for Alipay yet.
        let result = ledger
            .visible(out_trade_no, trade_no)
            .map(|t| t.trade_no.clone())
            .and_then(|t| ledger.close(None, Some(&t), now).map(|event| (t, event)));
        match result {
            Ok((trade_no, event)) => {
                let out = ledger
                    .by_trade_no(&trade_no)
                    .map(|t| t.out_trade_no.clone());
                (
                    Ok(object(json!({ "trade_no": trade_no, "out_trade_no": out }))),
                    event.into_iter().collect(),
                )
            }
            Err(e) => (Err(e), Vec::new()),
        }
    })
}

fn refund(sim: &Simulator, call: &Call) -> Result<Map<String, Value>, AlipayError> {
    let (out_trade_no, trade_no) = trade_keys(call);
    let ask = RefundAsk {
        out_trade_no: out_trade_no.map(str::to_owned),
        trade_no: trade_no.map(str::to_owned),
        amount_fen: parse_amount(call, "refund_amount")?,
        out_request_no: call.biz_str("out_request_no").map(str::to_owned),
        reason: call.biz_str("refund_reason").map(str::to_owned),
        batch_no: None,
    };
    let done = sim.with_ledger(|ledger, now| match ledger.refund(ask, now) {
        Ok(done) => {
            let events = done.event().into_iter().collect();
            (Ok(done), events)
        }
        other => (other, Vec::new()),
    })?;
    let trade = &done.trade;
    Ok(object(json!({
        "trade_no": trade.trade_no,
        "out_trade_no": trade.out_trade_no,
        "buyer_logon_id": trade.buyer_logon_id,
        "buyer_user_id": trade.buyer_id,
        "fund_change": if done.fund_change { "Y" } else { "N" },
        "refund_fee": fen(trade.refunded_fen),
        "gmt_refund_pay": time(done.refund.refunded_at),
    })))
}

fn refund_query(sim: &Simulator, call: &Call) -> Result<Map<String, Value>, AlipayError> {
    let (out_trade_no, trade_no) = trade_keys(call);
    let out_request_no = call
        .biz_str("out_request_no")
        .ok_or_else(|| AlipayError::business("ACQ.INVALID_PARAMETER", "缺少 out_request_no"))?;
    sim.with_ledger(|ledger, _| {
        let result = ledger
            .refund_query(out_trade_no, trade_no, out_request_no)
            .map(|(trade, refund)| {
                let mut node = object(json!({
                    "trade_no": trade.trade_no,
                    "out_trade_no": trade.out_trade_no,
                    "out_request_no": out_request_no,
                    "total_amount": fen(trade.total_fen),
                }));
                // No refund under this number: no refund_status (PROTOCOL.md A7).
                if let Some(refund) = refund {
                    node.insert("refund_amount".into(), fen(refund.amount_fen).into());
                    node.insert("refund_status".into(), "REFUND_SUCCESS".into());
                    node.insert("gmt_refund_pay".into(), time(refund.refunded_at).into());
                }
                node
            });
        (result, Vec::new())
    })
}

fn bill(sim: &Simulator, call: &Call) -> Result<Map<String, Value>, AlipayError> {
    let bill_type = call.biz_str("bill_type").unwrap_or_default();
    let date = call.biz_str("bill_date").unwrap_or_default();
    let period = BillPeriod::parse(date);
    let (Some(period), true) = (period, matches!(bill_type, "trade" | "signcustomer")) else {
        return Err(AlipayError::business(
            "ACQ.INVALID_PARAMETER",
            "bill_type 或 bill_date 错误",
        ));
    };
    // Only trade bills are simulated: the simulator keeps no account ledger for a
    // signcustomer bill. Before the period is over, no bill exists (PROTOCOL.md A10).
    if bill_type != "trade" || !period.is_ready(sim.now()) {
        return Err(AlipayError::business("isp.bill_not_exist", "账单不存在"));
    }
    let file = crate::bill::file_name(&sim.config().mapi.partner, period);
    Ok(object(json!({
        "bill_download_url": format!("{}/bills/{bill_type}/{file}", call.base_url),
    })))
}
