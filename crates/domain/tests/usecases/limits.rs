//! Limits at their exact edges: the largest value accepted and the smallest refused,
//! so that a limit that is off by one (`>=` for `>`) shows.

use chrono::Duration;

use super::support::*;
use payport_domain::ids::BatchNo;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::*;
use payport_domain::refund::RefundGatewayKind;
use payport_domain::usecases::{NewOrder, RefundRequest};

fn new_order(subject: String, body: Option<String>, time_to_pay: Duration) -> NewOrder {
    NewOrder {
        out_trade_no: None,
        subject,
        body,
        total_amount: yuan("1.00"),
        time_to_pay: Some(time_to_pay),
    }
}

#[tokio::test]
async fn an_order_takes_a_subject_and_body_of_their_full_length_in_characters() {
    let app = Harness::new().build();
    // Multi-byte characters: the limits count characters, as Alipay does.
    let ok = new_order(
        "茶".repeat(256),
        Some("叶".repeat(128)),
        Duration::minutes(30),
    );
    assert!(app.orders.create(ok).await.is_ok());
    for (subject, body) in [
        ("茶".repeat(257), None),
        ("tea".into(), Some("叶".repeat(129))),
    ] {
        let err = app
            .orders
            .create(new_order(subject, body, Duration::minutes(30)))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_FAILED", "{err}");
    }
}

#[tokio::test]
async fn an_order_is_payable_for_1_minute_to_15_days() {
    let app = Harness::new().build();
    for time in [Duration::minutes(1), Duration::days(15)] {
        let order = app
            .orders
            .create(new_order("tea".into(), None, time))
            .await
            .unwrap();
        assert_eq!(order.expires_at, t0() + time);
    }
    for time in [
        Duration::minutes(1) - Duration::seconds(1),
        Duration::days(15) + Duration::seconds(1),
    ] {
        let err = app
            .orders
            .create(new_order("tea".into(), None, time))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_FAILED", "{err}");
    }
}

#[tokio::test]
async fn a_return_url_may_be_1024_characters_and_no_longer() {
    let mut h = Harness::new();
    h.store.put_order(pending_order("o1", "1.00"));
    let base = "https://shop.example/";
    let longest = format!("{base}{}", "a".repeat(1024 - base.len()));
    let expected = longest.clone();
    h.payments
        .expect_create_payment()
        .withf(move |r| r.return_url.as_deref() == Some(expected.as_str()))
        .times(1)
        .returning(|_| Ok(PaymentInstruction::QrCode("https://qr.alipay.com/x".into())));
    let app = h.build();
    let o1 = otn("o1");
    let start = |url: String| {
        app.orders
            .start_payment(&o1, PaymentMethod::Qr, Some(url), None)
    };
    let too_long = format!("{longest}a");
    let err = start(too_long).await.unwrap_err();
    assert_eq!(err.code(), "VALIDATION_FAILED", "{err}");
    start(longest.clone()).await.unwrap();
    assert_eq!(app.store.order("o1").return_url, Some(longest));
}

#[tokio::test]
async fn a_refund_reason_may_be_256_characters_and_no_longer() {
    let mut h = Harness::new();
    h.store.put_order(paid_order("o1", "10.00"));
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    let app = h.build();
    let request = |reason: String| RefundRequest {
        out_trade_no: otn("o1"),
        amount: yuan("1.00"),
        reason: Some(reason),
        out_request_no: None,
        gateway: None,
    };
    let err = app
        .refunds
        .request(request("退".repeat(257)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "VALIDATION_FAILED", "{err}");
    let refund = app
        .refunds
        .request(request("退".repeat(256)))
        .await
        .unwrap();
    assert_eq!(refund.reason, Some("退".repeat(256)));
}

#[tokio::test]
async fn an_operator_batch_holds_up_to_1000_refunds() {
    let mut h = Harness::new();
    h.settings.refund_policy.approval = ApprovalPolicy::Manual;
    h.settings.refund_policy.default_gateway = RefundGatewayKind::MapiPwd;
    // A trade appears once per batch: one refund each of 1001 orders.
    let orders: Vec<String> = (0..1001).map(|i| format!("o{i}")).collect();
    for id in &orders {
        h.store.put_order(paid_order(id, "10.00"));
    }
    let mut batches = MockRefundBatches::new();
    batches
        .expect_submit_batch()
        .withf(|refunds| refunds.len() == 1000)
        .times(1)
        .returning(|_| {
            Ok(RefundSubmitted::AwaitingOperator {
                batch_no: BatchNo::parse("20261121001").unwrap(),
                form_html: "<form></form>".into(),
            })
        });
    h.mapi_pwd_batches = Some(batches);
    let app = h.build();
    let mut ids = Vec::new();
    for id in &orders {
        let request = RefundRequest {
            out_trade_no: otn(id),
            amount: yuan("1.00"),
            reason: None,
            out_request_no: None,
            gateway: None,
        };
        ids.push(app.refunds.request(request).await.unwrap().refund_id);
    }
    let err = app.refunds.batch_for_operator(&ids).await.unwrap_err();
    assert_eq!(err.code(), "VALIDATION_FAILED", "{err}");
    let batch = app.refunds.batch_for_operator(&ids[..1000]).await.unwrap();
    assert_eq!(batch.len(), 1000);
}
