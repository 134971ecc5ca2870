//! The simulator's OpenAPI side over loopback: every rule of PROTOCOL.md A
//! (signatures, trades, refunds, notifications, faults, control), checked through a
//! real client, with signatures from the vectors' keys. One module per topic.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod bills;
mod certificates;
mod control;
mod faults;
mod notifications;
mod payments;
mod refunds;
mod signing;
mod support;

use chrono::Duration;
use payport_alipay_openapi::{parse_form_urlencoded, BillType};
use payport_alipay_sim::signing::{notify_content, request_content};
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::ports::*;
use payport_domain::{Amount, GatewayError, OutRequestNo, OutTradeNo, RefundId};
use reqwest::Method;
use serde_json::Value;
use support::{adapter, Rig};

fn otn(s: &str) -> OutTradeNo {
    OutTradeNo::parse(s).unwrap()
}

fn pay_request(id: &str, method: PaymentMethod, total: &str) -> PaymentRequest {
    PaymentRequest {
        method,
        out_trade_no: otn(id),
        subject: "Green tea <b>&</b>".into(),
        body: None,
        total_amount: Amount::parse(total).unwrap(),
        expires_at: support::t0() + Duration::minutes(30),
        return_url: Some("https://shop.example/return".into()),
        quit_url: None,
    }
}

fn refund(id: &str, number: &str, amount: &str) -> RefundSubmission {
    RefundSubmission {
        refund_id: RefundId::parse("rf").unwrap(),
        out_trade_no: otn(id),
        trade_no: None,
        out_request_no: OutRequestNo::parse(number).unwrap(),
        amount: Amount::parse(amount).unwrap(),
        reason: None,
        batch_no: None,
        submitted_at: None,
    }
}

/// A precreated trade the buyer has scanned and paid.
async fn paid_trade(rig: &Rig, id: &str, total: &str) {
    rig.gateway
        .create_payment(&pay_request(id, PaymentMethod::Qr, total))
        .await
        .unwrap();
    let paid = rig
        .control(Method::POST, &format!("/trades/{id}/pay"))
        .await;
    assert_eq!(paid.status(), 200);
}
