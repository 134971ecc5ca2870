//! Notifications to the merchant: signed `trade_status_sync` forms (PROTOCOL.md A5), sent
//! with the real malformed Content-Type and retried on Alipay's schedule until the
//! merchant answers exactly `success`.

use chrono::{DateTime, Utc};

use crate::ledger::{Event, Trade};
use crate::signing::{encode, notify_content};
use crate::sim::{lock, Delivery, Simulator};

/// Alipay's retry intervals in minutes after the first attempt: 8 attempts in all.
pub const RETRY_MINUTES: [u32; 7] = [4, 10, 10, 60, 120, 360, 900];

/// The header Alipay really sends (expressjs/body-parser #137).
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; text/html; charset=UTF-8";

#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: String,
    pub fields: Vec<(String, String)>,
}

impl Outgoing {
    fn field(&self, key: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

/// Fen as Alipay writes amounts (`20.00`); see [`crate::money::format_fen`].
pub fn fen(fen: i64) -> String {
    crate::money::format_fen(fen)
}

pub fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn millis(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

pub fn beijing() -> chrono::FixedOffset {
    const OFFSET: chrono::FixedOffset = match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(o) => o,
        None => panic!("UTC+8 is a valid offset"),
    };
    OFFSET
}

/// Adds `sign_type` and `sign` over the fields, as Alipay signs notifications/returns.
pub fn signed(sim: &Simulator, mut fields: Vec<(String, String)>) -> Vec<(String, String)> {
    let sign = sim.sign(&notify_content(&fields));
    fields.push(("sign_type".into(), "RSA2".into()));
    fields.push(("sign".into(), sign));
    fields
}

/// The signed notification for an event, if the trade asked for notifications.
pub fn trade_notification(sim: &Simulator, event: &Event) -> Option<Outgoing> {
    let (trade, refund) = match event {
        Event::Paid(t) | Event::Closed(t) | Event::Finished(t) => (t, None),
        Event::Refunded { trade, refund } => (trade, Some(refund)),
    };
    let url = trade.notify_url.clone()?;
    let config = sim.config();
    let now = sim.now();
    let mut fields: Vec<(String, String)> = vec![
        ("notify_time".into(), time(now)),
        ("notify_type".into(), "trade_status_sync".into()),
        ("notify_id".into(), sim.next_notify_id()),
        ("app_id".into(), config.app_id.clone()),
        ("auth_app_id".into(), config.app_id.clone()),
        ("charset".into(), "utf-8".into()),
        ("version".into(), "1.0".into()),
        ("trade_no".into(), trade.trade_no.clone()),
        ("out_trade_no".into(), trade.out_trade_no.clone()),
        ("seller_id".into(), config.seller_id.clone()),
        ("seller_email".into(), config.seller_email.clone()),
        ("trade_status".into(), trade.status.as_wire().into()),
        ("total_amount".into(), fen(trade.total_fen)),
        ("subject".into(), trade.subject.clone()),
        ("gmt_create".into(), time(trade.created_at)),
    ];
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            fields.push((k.to_owned(), v));
        }
    };
    add("body", trade.body.clone());
    add("buyer_id", trade.buyer_id.clone());
    add("buyer_logon_id", trade.buyer_logon_id.clone());
    if let Some(paid) = trade.paid_at {
        add("gmt_payment", Some(time(paid)));
        add("receipt_amount", Some(fen(trade.total_fen)));
        add("invoice_amount", Some(fen(trade.total_fen)));
        add("buyer_pay_amount", Some(fen(trade.total_fen)));
        add("point_amount", Some("0.00".into()));
        add(
            "fund_bill_list",
            Some(format!(
                r#"[{{"amount":"{}","fundChannel":"ALIPAYACCOUNT"}}]"#,
                fen(trade.total_fen)
            )),
        );
    }
    add("gmt_close", trade.closed_at.map(time));
    if let Some(refund) = refund {
        add("out_biz_no", Some(refund.out_request_no.clone()));
        add("refund_fee", Some(fen(trade.refunded_fen)));
        add("gmt_refund", Some(millis(refund.refunded_at)));
    }
    Some(Outgoing {
        url,
        fields: signed(sim, fields),
    })
}

/// Delivers in the background: the first attempt now, then on the retry schedule
/// (scaled by `notify_minute`) until the merchant answers exactly `success`.
pub fn spawn_delivery(sim: Simulator, outgoing: Outgoing) {
    tokio::spawn(async move {
        let schedule = std::iter::once(0).chain(RETRY_MINUTES);
        for (attempt, wait_minutes) in (1u32..).zip(schedule) {
            tokio::time::sleep(sim.config().notify_minute * wait_minutes).await;
            if deliver_once(&sim, &outgoing, attempt).await {
                return;
            }
        }
    });
}

async fn deliver_once(sim: &Simulator, outgoing: &Outgoing, attempt: u32) -> bool {
    let dropped = {
        let mut faults = lock(&sim.inner.faults);
        let drop = faults.notify.drop_attempts > 0;
        if drop {
            faults.notify.drop_attempts -= 1;
        }
        drop
    };
    let (outcome, answer) = if dropped {
        ("dropped by fault injection".to_owned(), None)
    } else {
        let sent = sim
            .inner
            .http
            .post(&outgoing.url)
            .header("Content-Type", CONTENT_TYPE)
            .header("User-Agent", "Mozilla/4.0")
            .body(encode(&outgoing.fields))
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                (format!("http {status}"), response.text().await.ok())
            }
            Err(e) => (format!("transport error: {e}"), None),
        }
    };
    let acknowledged = outcome == "http 200" && answer.as_deref() == Some("success");
    lock(&sim.inner.deliveries).push(Delivery {
        notify_id: outgoing.field("notify_id").unwrap_or_default(),
        notify_type: outgoing.field("notify_type").unwrap_or_default(),
        out_trade_no: outgoing.field("out_trade_no"),
        trade_status: outgoing.field("trade_status"),
        attempt,
        at: sim.now(),
        outcome,
        answer,
        acknowledged,
    });
    acknowledged
}

/// The signed parameters of the browser's return to `return_url` after paying (A6).
pub fn return_params(sim: &Simulator, trade: &Trade) -> Vec<(String, String)> {
    let config = sim.config();
    let method = match trade.product {
        crate::ledger::Product::Wap => "alipay.trade.wap.pay.return",
        _ => "alipay.trade.page.pay.return",
    };
    signed(
        sim,
        vec![
            ("charset".into(), "utf-8".into()),
            ("out_trade_no".into(), trade.out_trade_no.clone()),
            ("method".into(), method.into()),
            ("total_amount".into(), fen(trade.total_fen)),
            ("trade_no".into(), trade.trade_no.clone()),
            ("auth_app_id".into(), config.app_id.clone()),
            ("version".into(), "1.0".into()),
            ("app_id".into(), config.app_id.clone()),
            ("seller_id".into(), config.seller_id.clone()),
            ("timestamp".into(), time(sim.now())),
        ],
    )
}
