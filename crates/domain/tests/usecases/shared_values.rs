//! What the domain defines and other crates rely on: names stored in the database and
//! shown by the API and metrics, the secret that never prints, which endpoint wants
//! which event, when a retried request is the same, when two notifications say the
//! same, and which order a refund may be saved with. Stores and adapters test these
//! through their own IO; here each is pinned where it is defined.

use crate::support::*;
use payport_domain::event::EventType;
use payport_domain::ids::{BatchNo, EndpointId, RefundId};
use payport_domain::policy::ApprovalPolicy;
use payport_domain::ports::*;
use payport_domain::refund::{
    GatewayFailure, NewRefund, RefundGatewayKind, RefundStatus, RefundSuccess,
};
use payport_domain::webhook::{DeliveryStatus, WebhookEndpoint, WebhookSecret};
use payport_domain::RepoError;

#[test]
fn stored_names_are_the_documented_ones_and_parse_back() {
    let delivery: Vec<&str> = DeliveryStatus::ALL.map(|s| s.as_str()).to_vec();
    assert_eq!(delivery, ["pending", "delivered", "failed"]);
    for s in DeliveryStatus::ALL {
        assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
    }
    assert_eq!(DeliveryStatus::parse("sent"), None);

    let methods: Vec<&str> = PaymentMethod::ALL.map(|m| m.as_str()).to_vec();
    assert_eq!(methods, ["page", "wap", "app", "qr"]);
    for m in PaymentMethod::ALL {
        assert_eq!(PaymentMethod::parse(m.as_str()), Some(m));
    }
    assert_eq!(PaymentMethod::parse("card"), None);

    assert_eq!(
        NotificationSource::TradeStatus.as_str(),
        "trade_status_sync"
    );
    assert_eq!(
        NotificationSource::MapiBatchRefund.as_str(),
        "batch_refund_notify"
    );
    let kinds: Vec<&str> = WorkKind::ALL.map(|k| k.as_str()).to_vec();
    assert_eq!(kinds, ["refund_sync", "payment_check", "expired_order"]);
}

#[test]
fn a_webhook_secret_never_prints() {
    let secret = WebhookSecret::new("whsec_do_not_log");
    let printed = format!("{secret:?}");
    assert_eq!(printed, "WebhookSecret(***)");
    assert_eq!(secret.expose(), "whsec_do_not_log");
}

#[test]
fn an_endpoint_wants_the_types_it_lists_or_every_type() {
    let mut endpoint = WebhookEndpoint {
        id: EndpointId::parse("we_1").unwrap(),
        url: "https://shop.example/hooks".into(),
        secret: WebhookSecret::new("s"),
        event_types: Some(vec![EventType::OrderPaid]),
        configured: false,
        created_at: t0(),
    };
    assert!(endpoint.wants(EventType::OrderPaid));
    assert!(!endpoint.wants(EventType::RefundSucceeded));
    endpoint.event_types = None;
    assert!(endpoint.wants(EventType::RefundSucceeded));
}

#[test]
fn a_retried_request_matches_only_its_own_fingerprint() {
    let record = IdempotencyRecord {
        key: "k1".into(),
        request_hash: "sha256:abc".into(),
        http_status: 201,
        response_body: "{}".into(),
        created_at: t0(),
        holder: None,
    };
    assert!(record.matches("sha256:abc"));
    assert!(!record.matches("sha256:abd"));
}

fn notice(notify_id: &str, amount: &str) -> RefundNotice {
    RefundNotice {
        notify_id: notify_id.into(),
        results: vec![RefundResult {
            reference: RefundReference::Batch {
                batch_no: BatchNo::parse("20261126001").unwrap(),
                trade_no: trade_no("T1"),
                amount: yuan(amount),
            },
            outcome: RefundResultOutcome::Succeeded(RefundSuccess::default()),
        }],
    }
}

/// A redelivery says the same; a notification with other results does not.
#[test]
fn a_refund_notice_s_content_is_its_results() {
    let first = notice("n1", "1.00");
    assert_eq!(first.content(), notice("n1", "1.00").content());
    assert_ne!(first.content(), notice("n1", "2.00").content());
    assert!(
        first.content().contains("20261126001"),
        "{}",
        first.content()
    );
    let failed = RefundNotice {
        results: vec![RefundResult {
            outcome: RefundResultOutcome::Failed(GatewayFailure {
                code: "40004".into(),
                sub_code: None,
                message: "failed".into(),
            }),
            ..first.results[0].clone()
        }],
        ..first.clone()
    };
    assert_ne!(first.content(), failed.content());
}

#[test]
fn a_refund_is_saved_only_with_its_own_order() {
    let refund = NewRefund {
        refund_id: RefundId::parse("rf_1").unwrap(),
        out_trade_no: otn("o1"),
        out_request_no: orn("r1"),
        amount: yuan("1.00"),
        reason: None,
        gateway: RefundGatewayKind::OpenApi,
        approval: ApprovalPolicy::Auto,
        created_at: t0(),
        send_at_once: None,
    }
    .into_refund(RefundStatus::Processing);
    assert_eq!(
        check_refund_of_order(&refund, &paid_order("o1", "10.00")),
        Ok(())
    );
    let err = check_refund_of_order(&refund, &paid_order("o2", "10.00")).unwrap_err();
    let RepoError::NotFound(why) = err else {
        panic!("{err:?}")
    };
    assert!(why.contains("o2") && why.contains("o1"), "{why}");
}
