//! The rules on hand-made orders, refunds and items.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::ids::{BatchNo, OutRequestNo, OutTradeNo, TradeNo};
use crate::order::PaymentConfirmation;
use crate::policy::ApprovalPolicy;
use crate::refund::{NewRefund, RefundGatewayKind, RefundSuccess};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn yuan(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

fn order(id: &str, total: &str, paid: bool) -> Order {
    let mut order = Order::new(
        OutTradeNo::parse(id).unwrap(),
        "Tea".into(),
        None,
        yuan(total),
        at("2026-11-20T01:00:00Z"),
        Duration::minutes(30),
    );
    if paid {
        let payment = PaymentConfirmation {
            trade_no: TradeNo::parse(format!("T{id}")).unwrap(),
            paid_at: at("2026-11-20T01:01:00Z"),
            buyer_id: None,
            buyer_logon_id: None,
        };
        order
            .confirm_payment(payment, at("2026-11-20T01:01:00Z"))
            .unwrap();
    }
    order
}

fn refund(id: &str, amount: &str, status: RefundStatus) -> Refund {
    let mut refund = NewRefund {
        refund_id: RefundId::parse(id).unwrap(),
        out_trade_no: OutTradeNo::parse("o1").unwrap(),
        out_request_no: OutRequestNo::parse(format!("r{id}")).unwrap(),
        amount: yuan(amount),
        reason: None,
        gateway: RefundGatewayKind::MapiNoPwd,
        approval: ApprovalPolicy::Auto,
        created_at: at("2026-11-20T02:00:00Z"),
        send_at_once: None,
    }
    .into_refund(RefundStatus::Approved);
    let now = at("2026-11-20T02:00:00Z");
    match status {
        RefundStatus::Approved => {}
        RefundStatus::Processing => refund.start_submission(now).unwrap(),
        RefundStatus::Succeeded => {
            refund.start_submission(now).unwrap();
            refund.succeed(RefundSuccess::default(), now).unwrap();
        }
        RefundStatus::Failed => {
            refund.start_submission(now).unwrap();
            let failure = crate::refund::GatewayFailure {
                code: "40004".into(),
                sub_code: None,
                message: "no".into(),
            };
            refund.fail(failure, now).unwrap();
        }
        other => panic!("no fixture for {other:?}"),
    }
    refund.batch_no = Some(BatchNo::parse("20261120001").unwrap());
    refund
}

#[test]
fn the_beijing_day_starts_at_16_utc_the_day_before() {
    let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    assert_eq!(
        beijing_day(date),
        (at("2026-11-19T16:00:00Z"), at("2026-11-20T16:00:00Z"))
    );
    assert_eq!(beijing_date(at("2026-11-19T16:00:00Z")), date);
    assert_eq!(
        beijing_date(at("2026-11-19T15:59:59Z")),
        date.pred_opt().unwrap()
    );
}

#[test]
fn the_daily_run_checks_yesterday_once_beijing_time_reaches_daily_at() {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    // 08:59 and 09:00 Beijing on 2026-11-21.
    assert_eq!(due_date(at("2026-11-21T00:59:00Z"), nine), None);
    assert_eq!(
        due_date(at("2026-11-21T01:00:00Z"), nine),
        NaiveDate::from_ymd_opt(2026, 11, 20)
    );
    // 23:30 UTC is 07:30 the next Beijing day: too early for its yesterday.
    assert_eq!(due_date(at("2026-11-21T23:30:00Z"), nine), None);
}

#[test]
fn payment_lines() {
    let paid = order("o1", "10.00", true);
    let pending = order("o2", "10.00", false);
    assert_eq!(
        payment_verdict(yuan("10.00"), Some(&paid)),
        PaymentVerdict::Matched
    );
    assert_eq!(
        payment_verdict(yuan("10.00"), None),
        PaymentVerdict::UnknownOrder
    );
    assert_eq!(
        payment_verdict(yuan("9.99"), Some(&paid)),
        PaymentVerdict::AmountMismatch {
            payport: yuan("10.00")
        }
    );
    assert_eq!(
        payment_verdict(yuan("10.00"), Some(&pending)),
        PaymentVerdict::Sync
    );
}

#[test]
fn refund_lines() {
    let paid = order("o1", "10.00", true);
    let unpaid = order("o1", "10.00", false);
    let ok = refund("rf_1", "3.00", RefundStatus::Succeeded);
    let sent = refund("rf_2", "2.00", RefundStatus::Processing);
    let failed = refund("rf_3", "2.00", RefundStatus::Failed);
    let three = yuan("3.00");
    assert_eq!(
        refund_verdict(three, std::slice::from_ref(&ok), Some(&paid)),
        RefundVerdict::Matched
    );
    assert_eq!(
        refund_verdict(yuan("4.00"), std::slice::from_ref(&ok), Some(&paid)),
        RefundVerdict::AmountMismatch { payport: three }
    );
    // A legacy batch line is the sum of the trade's refunds in the batch.
    assert_eq!(
        refund_verdict(yuan("5.00"), &[ok.clone(), sent.clone()], Some(&paid)),
        RefundVerdict::Settle(vec![sent.refund_id.clone()])
    );
    assert!(matches!(
        refund_verdict(yuan("2.00"), &[failed], Some(&paid)),
        RefundVerdict::ForAPerson { note, .. } if note.contains("failed")
    ));
    // An OpenAPI refund has a signed query: the bill does not settle it.
    let openapi = Refund {
        gateway: RefundGatewayKind::OpenApi,
        ..sent.clone()
    };
    assert_eq!(
        refund_verdict(yuan("2.00"), std::slice::from_ref(&openapi), Some(&paid)),
        RefundVerdict::Query(vec![openapi.refund_id.clone()])
    );
    // Flagged for a person: never settled, even of the bill's amount.
    let mut flagged = sent.clone();
    flagged
        .record_anomaly("Alipay reported 2.50", at("2026-11-20T03:00:00Z"))
        .unwrap();
    assert!(matches!(
        refund_verdict(yuan("2.00"), &[flagged], Some(&paid)),
        RefundVerdict::ForAPerson { note, .. } if note.contains("2.50")
    ));
    assert_eq!(
        refund_verdict(three, &[], Some(&paid)),
        RefundVerdict::RecordExternal
    );
    assert_eq!(
        refund_verdict(three, &[], None),
        RefundVerdict::UnknownOrder { note: None }
    );
    assert!(matches!(
        refund_verdict(three, &[], Some(&unpaid)),
        RefundVerdict::UnknownOrder { note: Some(_) }
    ));
}

#[test]
fn what_the_bill_lacks_is_missing_at_alipay() {
    let billed = order("o1", "10.00", true);
    let unbilled = order("o2", "8.00", true);
    let ok = refund("rf_1", "3.00", RefundStatus::Succeeded);
    let items = missing_at_alipay(
        &[billed, unbilled],
        &HashSet::from(["o1".to_owned()]),
        std::slice::from_ref(&ok),
        &HashSet::new(),
    );
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].out_trade_no, "o2");
    assert_eq!(items[0].payport_amount, Some(yuan("8.00")));
    assert_eq!(items[1].out_request_no.as_deref(), Some("rrf_1"));
    assert_eq!(items[1].payport_amount, Some(yuan("3.00")));
    assert!(items.iter().all(|i| i.kind == ItemKind::MissingAtAlipay));
    assert!(missing_at_alipay(
        &[],
        &HashSet::new(),
        std::slice::from_ref(&ok),
        &HashSet::from([ok.refund_id.clone()])
    )
    .is_empty());
}

#[test]
fn a_rerun_keeps_earlier_actions_it_does_not_list_again() {
    let settled = ReconciliationItem {
        out_request_no: Some("b1".into()),
        action: ItemAction::SettledRefund,
        ..item(ItemKind::RefundMissingHere, "o1")
    };
    let for_a_person = item(ItemKind::PaymentMissingHere, "o2");
    let again = ReconciliationItem {
        action: ItemAction::Synced,
        ..item(ItemKind::PaymentMissingHere, "o3")
    };
    let relisted = item(ItemKind::PaymentMissingHere, "o3");
    let merged = merge_earlier(
        &[settled.clone(), for_a_person, again],
        vec![relisted.clone()],
    );
    assert_eq!(merged, vec![relisted, settled]);
}

#[test]
fn counts_split_unresolved_from_mismatches() {
    let items = [
        item(ItemKind::Unresolved, "o1"),
        item(ItemKind::AmountMismatch, "o2"),
        item(ItemKind::MissingAtAlipay, "o3"),
    ];
    let c = counts((2, 1), (3, 0), 2, &items);
    assert_eq!(
        c,
        ReconciliationCounts {
            alipay_payments: 2,
            alipay_refunds: 1,
            payport_payments: 3,
            payport_refunds: 0,
            matched: 2,
            mismatches: 2,
            unresolved: 1,
        }
    );
}
