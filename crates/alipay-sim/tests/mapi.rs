//! The simulator's legacy mapi side (PROTOCOL.md B): the MD5 vectors, then every rule
//! over loopback — nopwd and pwd refund batches, batch_refund_notify, notify_verify,
//! and the refusals.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use payport_alipay_sim::config::{DEV_MD5_KEY, DEV_PARTNER};
use payport_alipay_sim::faults::{FaultRule, Faults, MethodFault};
use payport_alipay_sim::signing::{encode, md5_sign};
use payport_alipay_sim::TradeStatus;
use serde_json::Value;
use support::{accepted, field, refused, signed, with, without, Form, Rig, TODAY};

const NOPWD: &str = "refund_fastpay_by_platform_nopwd";
const PWD: &str = "refund_fastpay_by_platform_pwd";

fn vectors() -> Value {
    serde_json::from_str(&support::repo_file("testdata/vectors/mapi_md5.json")).unwrap()
}

fn form_of(params: &Value) -> Form {
    params
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn cases(kind: &str) -> Vec<Value> {
    let all = vectors()["cases"].as_array().unwrap().clone();
    all.into_iter().filter(|c| c["kind"] == kind).collect()
}

#[test]
fn md5_sign_reproduces_every_request_vector() {
    let requests = cases("request");
    assert_eq!(requests.len(), 5);
    assert_eq!(vectors()["keys"]["md5_key"], DEV_MD5_KEY);
    for case in requests {
        let (content, sign) = md5_sign(&form_of(&case["params"]), DEV_MD5_KEY);
        assert_eq!(
            content,
            case["string_to_sign"].as_str().unwrap(),
            "{}",
            case["id"]
        );
        assert_eq!(
            format!("{content}{DEV_MD5_KEY}"),
            case["string_to_hash"].as_str().unwrap()
        );
        assert_eq!(sign, case["sign"].as_str().unwrap(), "{}", case["id"]);
    }
}

#[test]
fn md5_gives_every_notify_vector_its_verdict() {
    let notifies = cases("notify_verify");
    assert_eq!(notifies.len(), 3);
    for case in notifies {
        let form = form_of(&case["params"]);
        let (content, sign) = md5_sign(&form, DEV_MD5_KEY);
        assert_eq!(
            content,
            case["verify_string"].as_str().unwrap(),
            "{}",
            case["id"]
        );
        assert_eq!(
            sign,
            case["expected_sign_for_received_params"].as_str().unwrap()
        );
        let verdict = field(&form, "sign") == Some(sign.as_str());
        assert_eq!(
            verdict,
            case["expected"].as_bool().unwrap(),
            "{}",
            case["id"]
        );
    }
}

/// The vectors' own requests, sent as they were signed, pass the gateway's checks.
#[tokio::test]
async fn the_vectors_requests_are_accepted_as_signed() {
    let rig = Rig::start().await;
    let by_id = |id: &str| {
        cases("request")
            .into_iter()
            .find(|c| c["id"] == id)
            .map(|c| form_of(&c["params"]))
            .unwrap()
    };
    // Empty notify_url: nothing is sent to the vectors' example.com hosts.
    let nopwd = by_id("mapi_refund_nopwd_empty_value");
    let (_, sign) = md5_sign(&nopwd, DEV_MD5_KEY);
    assert_eq!(rig.post(&with(&nopwd, "sign", &sign)).await.1, accepted());
    // pwd batches are only held (never confirmed here), so nothing is sent either.
    let pwd = by_id("mapi_refund_pwd_two_trades");
    let (_, sign) = md5_sign(&pwd, DEV_MD5_KEY);
    let (status, page) = rig.post(&with(&pwd, "sign", &sign)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("type=\"password\""), "{page}");
    // The exact URL a library built (GET, its own encoding).
    let library = cases("request")
        .into_iter()
        .find(|c| c["id"] == "mapi_lib_refund_pwd_url")
        .unwrap();
    let url = library["library_url"].as_str().unwrap();
    let (_, query) = url.split_once('?').unwrap();
    let (status, page) = rig.get_query(query).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("库函数生成"), "{page}");
}

#[tokio::test]
async fn nopwd_refunds_then_notifies_with_a_verifiable_md5_form() {
    let rig = Rig::start().await;
    let a = rig.paid_trade("order_a", "10.00").await;
    let b = rig.paid_trade("order_b", "20.00").await;
    let batch_no = format!("{TODAY}001");
    let form = rig.batch(
        NOPWD,
        &batch_no,
        &[
            (&a, "3.00", "协商退款"),
            (&b, "20", "size too big + wrong color"),
        ],
    );
    assert_eq!(rig.post(&signed(&form)).await.1, accepted());

    let notify = rig.batch_notify(&batch_no).await;
    assert_eq!(field(&notify, "notify_type"), Some("batch_refund_notify"));
    assert_eq!(field(&notify, "sign_type"), Some("MD5"));
    assert_eq!(field(&notify, "success_num"), Some("2"));
    assert_eq!(field(&notify, "notify_time"), Some("2024-05-14 10:00:00"));
    assert_eq!(
        field(&notify, "result_details").unwrap(),
        format!("{a}^3.00^SUCCESS#{b}^20.00^SUCCESS")
    );
    let (content, sign) = md5_sign(&notify, DEV_MD5_KEY);
    assert_eq!(field(&notify, "sign"), Some(sign.as_str()), "{content}");
    assert!(
        !content.contains("sign"),
        "sign and sign_type are not signed: {content}"
    );

    let notify_id = field(&notify, "notify_id").unwrap();
    let partner = format!("partner={DEV_PARTNER}");
    assert_eq!(
        rig.notify_verify(&format!("{partner}&notify_id={notify_id}"))
            .await,
        "true"
    );
    assert_eq!(
        rig.notify_verify(&format!(
            "{partner}&notify_id=70fec0c2730b27528665af4517c27b95"
        ))
        .await,
        "false"
    );
    assert_eq!(
        rig.notify_verify(&format!("partner=2088000000000000&notify_id={notify_id}"))
            .await,
        "false"
    );
    assert_eq!(
        rig.notify_verify(&format!("notify_id={notify_id}")).await,
        "invalid"
    );
    assert_eq!(rig.notify_verify(&partner).await, "invalid");

    let ledger = rig.sim.ledger();
    assert_eq!(ledger.trade("order_a").unwrap().refunded_fen, 300);
    assert_eq!(
        ledger.trade("order_b").unwrap().status,
        TradeStatus::TradeClosed
    );
    assert!(ledger
        .refunds
        .iter()
        .all(|r| r.out_request_no == batch_no && r.batch_no.as_deref() == Some(batch_no.as_str())));
    // The trades' own trade_status_sync notifications follow, as for OpenAPI refunds.
    for _ in 0..500 {
        if rig
            .received("trade_status_sync")
            .iter()
            .filter(|f| field(f, "out_biz_no") == Some(batch_no.as_str()))
            .count()
            == 2
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "no trade_status_sync for the refunds: {:?}",
        rig.received("trade_status_sync")
    );
}

#[tokio::test]
async fn pwd_waits_for_the_payment_password() {
    let rig = Rig::start().await;
    let a = rig.paid_trade("order_a", "10.00").await;
    let batch_no = format!("{TODAY}0002");
    let form = signed(&rig.batch(PWD, &batch_no, &[(&a, "4.50", "退货 <b>")]));
    // The merchant's auto-submit form, as a GET with the params in the query.
    let (status, page) = rig.get(&form).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<input type=\"password\" name=\"password\""),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "action=\"{}/mapi/confirm/{batch_no}\"",
            rig.sim_url
        )),
        "{page}"
    );
    assert!(
        page.contains(&a) && page.contains("¥4.50") && page.contains("退货 &lt;b&gt;"),
        "{page}"
    );
    assert_eq!(rig.sim.ledger().trade("order_a").unwrap().refunded_fen, 0);
    // Opened again before confirming (a closed tab): the same page, nothing refunded.
    let (status, again) = rig.get(&form).await;
    assert_eq!(status, 200, "{again}");
    assert!(again.contains("type=\"password\""), "{again}");
    // Another batch under the held number is refused.
    let other = signed(&rig.batch(PWD, &batch_no, &[(&a, "4.00", "other")]));
    assert!(rig.post(&other).await.1.contains("DUPLICATE_BATCH_NO"));
    assert_eq!(rig.sim.ledger().trade("order_a").unwrap().refunded_fen, 0);

    let (status, page) = rig.confirm(&batch_no, "").await;
    assert_eq!(status, 400);
    assert!(
        page.contains("id=\"error\"") && page.contains("type=\"password\""),
        "{page}"
    );
    assert_eq!(rig.sim.ledger().trade("order_a").unwrap().refunded_fen, 0);

    let (status, page) = rig.confirm(&batch_no, "any-dev-password").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("1 of 1 refunded") && page.contains("SUCCESS"),
        "{page}"
    );
    assert_eq!(rig.sim.ledger().trade("order_a").unwrap().refunded_fen, 450);
    let notify = rig.batch_notify(&batch_no).await;
    assert_eq!(
        field(&notify, "result_details").unwrap(),
        format!("{a}^4.50^SUCCESS")
    );
    assert_eq!(
        field(&notify, "sign"),
        Some(md5_sign(&notify, DEV_MD5_KEY).1.as_str())
    );

    // Confirmed once only: a second submit does nothing.
    let (status, page) = rig.confirm(&batch_no, "any-dev-password").await;
    assert_eq!(status, 404, "{page}");
    assert_eq!(rig.sim.ledger().trade("order_a").unwrap().refunded_fen, 450);
    // And the batch number stays taken.
    let (status, page) = rig.post(&form).await;
    assert_eq!(status, 400);
    assert!(page.contains("DUPLICATE_BATCH_NO"), "{page}");
}

#[tokio::test]
async fn a_batch_no_is_used_once() {
    let rig = Rig::start().await;
    let a = rig.paid_trade("order_a", "10.00").await;
    let batch_no = format!("{TODAY}003");
    let form = signed(&rig.batch(NOPWD, &batch_no, &[(&a, "1.00", "first")]));
    assert_eq!(rig.post(&form).await.1, accepted());
    assert_eq!(rig.post(&form).await.1, refused("DUPLICATE_BATCH_NO"));
    let other = signed(&rig.batch(NOPWD, &batch_no, &[(&a, "2.00", "other data")]));
    assert_eq!(rig.post(&other).await.1, refused("DUPLICATE_BATCH_NO"));
    let pwd = signed(&rig.batch(PWD, &batch_no, &[(&a, "1.00", "first")]));
    assert!(rig.post(&pwd).await.1.contains("DUPLICATE_BATCH_NO"));
    rig.batch_notify(&batch_no).await;
    assert_eq!(rig.sim.ledger().trade("order_a").unwrap().refunded_fen, 100);
    assert_eq!(rig.received("batch_refund_notify").len(), 1);
}

#[tokio::test]
async fn records_fail_one_by_one_inside_a_batch() {
    let rig = Rig::start().await;
    let a = rig.paid_trade("order_a", "10.00").await;
    let b = rig.paid_trade("order_b", "2.00").await;
    let missing = "2024051422001000000000000999";
    let batch_no = format!("{TODAY}004");
    let form = rig.batch(
        NOPWD,
        &batch_no,
        &[
            (&a, "5.00", "ok"),
            (missing, "1.00", "no such trade"),
            (&b, "3.00", "too much"),
        ],
    );
    assert_eq!(rig.post(&signed(&form)).await.1, accepted());
    let notify = rig.batch_notify(&batch_no).await;
    assert_eq!(field(&notify, "success_num"), Some("1"));
    assert_eq!(
        field(&notify, "result_details").unwrap(),
        format!("{a}^5.00^SUCCESS#{missing}^1.00^TRADE_NOT_EXIST#{b}^3.00^REFUND_AMOUNT_NOT_VALID")
    );
    let ledger = rig.sim.ledger();
    assert_eq!(ledger.trade("order_a").unwrap().refunded_fen, 500);
    assert_eq!(ledger.trade("order_b").unwrap().refunded_fen, 0);
}

#[tokio::test]
async fn refunds_stop_at_what_is_left() {
    let rig = Rig::start().await;
    let a = rig.paid_trade("order_a", "10.00").await;
    let mut results = Vec::new();
    for (serial, amount) in [
        ("011", "6.00"),
        ("012", "4.01"),
        ("013", "4.00"),
        ("014", "0.01"),
    ] {
        let batch_no = format!("{TODAY}{serial}");
        let form = signed(&rig.batch(NOPWD, &batch_no, &[(&a, amount, "partial")]));
        assert_eq!(rig.post(&form).await.1, accepted());
        let notify = rig.batch_notify(&batch_no).await;
        results.push(field(&notify, "result_details").unwrap().to_owned());
    }
    assert_eq!(
        results,
        [
            format!("{a}^6.00^SUCCESS"),
            format!("{a}^4.01^REFUND_AMOUNT_NOT_VALID"),
            format!("{a}^4.00^SUCCESS"),
            // Fully refunded, so closed.
            format!("{a}^0.01^TRADE_STATUS_ERROR"),
        ]
    );
    let trade = rig.sim.ledger().trade("order_a").unwrap().clone();
    assert_eq!(
        (trade.refunded_fen, trade.status),
        (1000, TradeStatus::TradeClosed)
    );
}

#[tokio::test]
async fn forged_or_malformed_requests_are_refused_and_leave_no_trace() {
    let rig = Rig::start().await;
    let batch_no = format!("{TODAY}005");
    let form = rig.batch(
        NOPWD,
        &batch_no,
        &[("2024051422001000000000000001", "1.00", "r")],
    );
    let good = signed(&form);
    let sign = field(&good, "sign").unwrap().to_owned();
    let (_, forged) = md5_sign(&form, "not-the-key-not-the-key-not-the-");

    let cases: Vec<(&str, Form)> = vec![
        ("ILLEGAL_SIGN", with(&good, "sign", &forged)),
        ("ILLEGAL_SIGN", with(&good, "sign", &sign.to_uppercase())),
        ("ILLEGAL_SIGN", without(&good, "sign")),
        (
            "ILLEGAL_SIGN",
            with(&good, "detail_data", "2024051422001000000000000001^9.00^r"),
        ),
        ("ILLEGAL_SIGN_TYPE", with(&good, "sign_type", "md5")),
        ("ILLEGAL_SIGN_TYPE", with(&good, "sign_type", "RSA")),
        (
            "ILLEGAL_PARTNER",
            signed(&with(&form, "partner", "2088000000000000")),
        ),
        (
            "ILLEGAL_SERVICE",
            signed(&with(&form, "service", "refund_fastpay_by_platform")),
        ),
    ];
    for (code, form) in cases {
        assert_eq!(rig.post(&form).await.1, refused(code), "{form:?}");
    }
    // GBK is not spoken here; the charset must be in the URL (B1) and the same as in the body.
    let gbk = signed(&with(&form, "_input_charset", "gbk"));
    assert_eq!(rig.post(&gbk).await.1, refused("ILLEGAL_CHARSET"));
    assert_eq!(
        rig.post_raw("", &encode(&good)).await.1,
        refused("ILLEGAL_SIGN")
    );
    assert_eq!(
        rig.post_raw("_input_charset=UTF-8", &encode(&good)).await.1,
        refused("ILLEGAL_SIGN")
    );
    // A parameter sent twice with different values.
    let query = format!("_input_charset=utf-8&batch_no={TODAY}999");
    assert_eq!(
        rig.post_raw(&query, &encode(&good)).await.1,
        refused("ILLEGAL_SIGN")
    );
    // The pwd service shows its refusals in the browser.
    let pwd = with(&signed(&with(&form, "service", PWD)), "sign", &forged);
    let (status, page) = rig.post(&pwd).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("ILLEGAL_SIGN") && page.contains("<html"),
        "{page}"
    );

    // Nothing was recorded: the genuine request still goes through.
    assert!(rig.sim.ledger().batch_nos.is_empty());
    assert_eq!(rig.post(&good).await.1, accepted());
}

#[tokio::test]
async fn every_batch_format_error_refuses_the_whole_batch() {
    let rig = Rig::start().await;
    let trade = "2024051422001000000000000001";
    let batch_no = format!("{TODAY}006");
    let form = rig.batch(NOPWD, &batch_no, &[(trade, "1.00", "r")]);
    let two = |detail: &str| with(&with(&form, "batch_num", "2"), "detail_data", detail);
    let thousand_and_one = vec![format!("{trade}^1.00^r"); 1001].join("#");
    let long_reason = format!("{trade}^1.00^{}", "退".repeat(86));
    let cases: Vec<(&str, Form)> = vec![
        ("BATCH_NO_FORMAT_ERROR", with(&form, "batch_no", "2024051")),
        ("BATCH_NO_FORMAT_ERROR", with(&form, "batch_no", "20240514")),
        (
            "BATCH_NO_FORMAT_ERROR",
            with(&form, "batch_no", "2024051412"),
        ),
        (
            "BATCH_NO_FORMAT_ERROR",
            with(&form, "batch_no", "20240514000"),
        ),
        (
            "BATCH_NO_FORMAT_ERROR",
            with(&form, "batch_no", "20241314001"),
        ),
        (
            "BATCH_NO_FORMAT_ERROR",
            with(&form, "batch_no", "20230229001"),
        ),
        (
            "BATCH_NO_FORMAT_ERROR",
            with(&form, "batch_no", "2024051400a1"),
        ),
        (
            "BATCH_NO_FORMAT_ERROR",
            with(&form, "batch_no", &format!("{TODAY}{}", "1".repeat(25))),
        ),
        ("BATCH_NO_FORMAT_ERROR", without(&form, "batch_no")),
        ("BATCH_NUM_ERROR", with(&form, "batch_num", "one")),
        ("BATCH_NUM_NOT_EQUAL_TOTAL", with(&form, "batch_num", "2")),
        ("BATCH_NUM_NOT_EQUAL_TOTAL", two(&format!("{trade}^1.00^r"))),
        (
            "BATCH_NUM_EXCEED_LIMIT",
            with(
                &with(&form, "batch_num", "1001"),
                "detail_data",
                &thousand_and_one,
            ),
        ),
        ("BATCH_NUM_EXCEED_LIMIT", with(&form, "batch_num", "1001")),
        (
            "REFUND_DATE_ERROR",
            with(&form, "refund_date", "2024-05-14T10:00:00"),
        ),
        (
            "REFUND_DATE_ERROR",
            with(&form, "refund_date", "2024-5-14 10:00:00"),
        ),
        (
            "REFUND_DATE_ERROR",
            with(&form, "refund_date", "2024-02-30 10:00:00"),
        ),
        ("REFUND_DATE_ERROR", without(&form, "refund_date")),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", &format!("{trade}^1.00")),
        ),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", &format!("{trade}^1.00^r^x")),
        ),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", &format!("{trade}^1.001^r")),
        ),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", &format!("{trade}^0.00^r")),
        ),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", &format!("{trade}^-1^r")),
        ),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", &format!("{trade}^1.00^a$b")),
        ),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", &format!("{trade}^1.00^a|b")),
        ),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", &long_reason),
        ),
        (
            "DETAIL_DATA_FORMAT_ERROR",
            with(&form, "detail_data", "^1.00^r"),
        ),
        ("DETAIL_DATA_FORMAT_ERROR", two(&format!("{trade}^1.00^r#"))),
        (
            "DUBL_TRADE_NO_IN_SAME_BATCH",
            two(&format!("{trade}^1.00^r#{trade}^2.00^s")),
        ),
        (
            "SELLER_INFO_NOT_EXIST",
            with(&form, "seller_email", "someone@example.com"),
        ),
        // seller_user_id wins over seller_email.
        (
            "SELLER_INFO_NOT_EXIST",
            with(&form, "seller_user_id", "2088000000000000"),
        ),
    ];
    for (code, form) in cases {
        assert_eq!(rig.post(&signed(&form)).await.1, refused(code), "{form:?}");
    }
    let (status, page) = rig
        .post(&signed(&with(
            &with(&form, "service", PWD),
            "detail_data",
            &format!("{trade}^1.00^a|b"),
        )))
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("PWD_REFUND_NOT_ALLOW_ROYALTY"), "{page}");
    // pwd needs a seller; nopwd may leave it out, as the vectors' nopwd requests do.
    let (status, page) = rig
        .post(&signed(&without(
            &with(&form, "service", PWD),
            "seller_email",
        )))
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("SELLER_INFO_NOT_EXIST"), "{page}");

    // Nothing was recorded, and seller_user_id alone (or winning) is enough.
    assert!(rig.sim.ledger().batch_nos.is_empty());
    let by_user_id = with(
        &with(&form, "seller_email", "someone@example.com"),
        "seller_user_id",
        DEV_PARTNER,
    );
    assert_eq!(rig.post(&signed(&by_user_id)).await.1, accepted());
    let notify = rig.batch_notify(&batch_no).await;
    assert_eq!(
        field(&notify, "result_details").unwrap(),
        format!("{trade}^1.00^TRADE_NOT_EXIST")
    );
}

#[tokio::test]
async fn a_system_error_may_still_have_refunded() {
    let rig = Rig::start().await;
    let a = rig.paid_trade("order_a", "10.00").await;
    rig.sim.set_faults(Faults {
        methods: [(
            NOPWD.to_owned(),
            FaultRule {
                fault: MethodFault::SystemError { performed: true },
                times: Some(1),
            },
        )]
        .into(),
        ..Faults::default()
    });
    let batch_no = format!("{TODAY}007");
    let form = signed(&rig.batch(NOPWD, &batch_no, &[(&a, "1.00", "r")]));
    assert_eq!(rig.post(&form).await.1, refused("SYSTEM_ERROR"));
    // Resending the same batch tells the merchant it was taken; the notify says how it went.
    assert_eq!(rig.post(&form).await.1, refused("DUPLICATE_BATCH_NO"));
    let notify = rig.batch_notify(&batch_no).await;
    assert_eq!(
        field(&notify, "result_details").unwrap(),
        format!("{a}^1.00^SUCCESS")
    );
    assert_eq!(rig.sim.ledger().trade("order_a").unwrap().refunded_fen, 100);
}

#[tokio::test]
async fn a_batch_refund_is_in_the_next_days_bill_under_its_batch_no() {
    let rig = Rig::start().await;
    let trade_no = rig.paid_trade("order_bill", "10.00").await;
    let batch_no = format!("{TODAY}042");
    let form = rig.batch(NOPWD, &batch_no, &[(&trade_no, "2.50", "退货")]);
    assert_eq!(rig.post(&signed(&form)).await.1, accepted());
    rig.batch_notify(&batch_no).await;
    let url = format!("{}/bills/trade/{DEV_PARTNER}_{TODAY}.csv.zip", rig.sim_url);
    // Today's bill does not exist until the Beijing day is over.
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
    rig.clock.advance(chrono::Duration::days(1));
    let zip = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    let lines = payport_alipay_openapi::parse_trade_bill_zip(&zip).unwrap();
    let refund = lines
        .iter()
        .find(|l| l.kind == payport_domain::ports::BillLineKind::Refund)
        .unwrap();
    assert_eq!(refund.trade_no, trade_no);
    assert_eq!(refund.out_request_no.as_deref(), Some(batch_no.as_str()));
    assert_eq!(refund.amount.to_string(), "2.50");
    assert_eq!(lines.len(), 2, "the payment and the refund");
}
