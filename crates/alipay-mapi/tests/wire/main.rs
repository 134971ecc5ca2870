//! The adapter over real loopback HTTP against a stub gateway.do: what goes on the
//! wire, what each kind of nopwd answer comes to, and how batch_refund_notify is
//! verified (MD5, then notify_verify).

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod stub;

use std::time::Duration;

use payport_alipay_mapi::md5::{self, Verdict};
use payport_alipay_mapi::{MapiMode, Md5Key};
use payport_domain::ports::*;
use payport_domain::refund::RefundSuccess;
use payport_domain::{
    Amount, BatchNo, GatewayError, GatewayFailure, OutRequestNo, OutTradeNo, RefundId, TradeNo,
};
use stub::{decode, encode, field, start, xml, Form, Reply, KEY, PARTNER};

const NOPWD: &str = "refund_fastpay_by_platform_nopwd";
const PWD: &str = "refund_fastpay_by_platform_pwd";
const TRADE_NO: &str = "2024051322001400001234567890";

fn refund() -> RefundSubmission {
    RefundSubmission {
        refund_id: RefundId::parse("rf_1").unwrap(),
        out_trade_no: OutTradeNo::parse("shop_20240514_0001").unwrap(),
        trade_no: Some(TradeNo::parse(TRADE_NO).unwrap()),
        out_request_no: OutRequestNo::parse("rq_1").unwrap(),
        amount: Amount::parse("10.50").unwrap(),
        reason: Some("破损 #1 & <b>".into()),
        batch_no: None,
        submitted_at: None,
    }
}

fn key() -> Md5Key {
    Md5Key::new(KEY).unwrap()
}

/// `^\d{8}\d{3,24}$` with the Beijing date of the fixed clock.
fn assert_batch_no(batch_no: &str) {
    assert!(batch_no.bytes().all(|b| b.is_ascii_digit()), "{batch_no}");
    assert!((11..=32).contains(&batch_no.len()), "{batch_no}");
    assert!(batch_no.starts_with("20240514"), "{batch_no}");
    assert!(batch_no[8..].bytes().any(|b| b != b'0'), "{batch_no}");
}

#[tokio::test]
async fn nopwd_posts_one_signed_batch_with_the_charset_in_url_and_body() {
    let wire = start(MapiMode::NoPassword).await;
    wire.state.reply(NOPWD, Reply::Text(xml("T", None)));
    let submitted = wire.gateway.submit_refund(&refund()).await.unwrap();
    let requests = wire.state.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.http_method, "POST");
    assert_eq!(sent.query, vec![("_input_charset".into(), "utf-8".into())]);
    assert_eq!(field(&sent.body, "_input_charset"), Some("utf-8"));
    assert!(sent
        .content_type
        .starts_with("application/x-www-form-urlencoded"));
    // Every parameter once, in the body; the signature is B2's over exactly them.
    assert_eq!(md5::verify(&sent.body, &key()).verdict, Verdict::Valid);
    let p = |k: &str| field(&sent.body, k).unwrap();
    assert_eq!(p("service"), NOPWD);
    assert_eq!(p("partner"), PARTNER);
    assert_eq!(p("sign_type"), "MD5");
    assert_eq!(p("notify_url"), stub::NOTIFY_URL);
    assert_eq!(p("seller_email"), stub::SELLER_EMAIL);
    assert_eq!(p("refund_date"), "2024-05-14 10:00:00");
    assert_eq!(p("batch_num"), "1");
    // `#` stripped from the reason; `&` and `<` travel URL-encoded.
    assert_eq!(p("detail_data"), format!("{TRADE_NO}^10.50^破损 1 & <b>"));
    assert_batch_no(p("batch_no"));
    assert_eq!(
        submitted,
        RefundSubmitted::Accepted {
            batch_no: Some(BatchNo::parse(p("batch_no")).unwrap())
        }
    );
    // The exchange is logged, raw, without the key.
    let log = wire.log.all();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].operation, NOPWD);
    assert_eq!(log[0].out_trade_no.as_deref(), Some("shop_20240514_0001"));
    assert_eq!(log[0].out_request_no.as_deref(), Some("rq_1"));
    assert!(log[0].request.starts_with(&format!(
        "POST {}?_input_charset=utf-8\n\n",
        wire.gateway_url
    )));
    assert!(log[0]
        .response
        .as_deref()
        .unwrap()
        .contains("<is_success>T"));
    assert_eq!(log[0].outcome, "http 200");
    for entry in &log {
        assert!(!format!("{entry:?}").contains(KEY));
    }
}

/// PROTOCOL.md B4/C: the synchronous answer, row by row.
#[tokio::test]
async fn the_nopwd_outcome_table() {
    let wire = start(MapiMode::NoPassword).await;
    let rejected = |code: &str| {
        Err::<RefundSubmitted, _>(GatewayError::Rejected(GatewayFailure {
            code: code.into(),
            sub_code: None,
            message: String::new(),
        }))
    };
    let rows: Vec<(&str, Reply, Result<RefundSubmitted, GatewayError>)> = vec![
        (
            "F + code",
            Reply::Text(xml("F", Some("TRADE_STATUS_ERROR"))),
            rejected("TRADE_STATUS_ERROR"),
        ),
        (
            "F + DUPLICATE_BATCH_NO on a fresh number",
            Reply::Text(xml("F", Some("DUPLICATE_BATCH_NO"))),
            rejected("DUPLICATE_BATCH_NO"),
        ),
        (
            "F + ILLEGAL_SIGN",
            Reply::Text(xml("F", Some("ILLEGAL_SIGN"))),
            rejected("ILLEGAL_SIGN"),
        ),
        (
            "F + SYSTEM_ERROR",
            Reply::Text(xml("F", Some("SYSTEM_ERROR"))),
            Err(GatewayError::Unknown(String::new())),
        ),
        (
            "P",
            Reply::Text(xml("P", None)),
            Err(GatewayError::Unknown(String::new())),
        ),
        (
            "garbage",
            Reply::Text("<html><body>维护中</body></html>".into()),
            Err(GatewayError::Unknown(String::new())),
        ),
        (
            "HTTP 500",
            Reply::Status(500),
            Err(GatewayError::Unknown(String::new())),
        ),
        (
            "timeout",
            Reply::Delay(Duration::from_secs(3)),
            Err(GatewayError::Unknown(String::new())),
        ),
    ];
    for (name, reply, expected) in rows {
        wire.state.reply(NOPWD, reply);
        let got = wire.gateway.submit_refund(&refund()).await;
        match (&got, &expected) {
            (Err(GatewayError::Rejected(g)), Err(GatewayError::Rejected(e))) => {
                assert_eq!((&g.code, &g.sub_code), (&e.code, &e.sub_code), "{name}");
                assert!(g.message.contains("refused batch"), "{name}: {g:?}");
            }
            (Err(GatewayError::Unknown(why)), Err(GatewayError::Unknown(_))) => {
                let batch_no = wire.state.last().param("batch_no").unwrap().to_owned();
                assert!(why.contains(&batch_no), "{name}: {why}");
            }
            _ => panic!("{name}: got {got:?}, expected {expected:?}"),
        }
    }
    let log = wire.log.all();
    assert_eq!(log.last().unwrap().outcome, "timeout");
    assert!(log.last().unwrap().response.is_none());
    assert!(log.iter().any(|e| e.outcome == "HTTP 500"));
    // Nothing is retried: one request per submission.
    assert_eq!(wire.state.requests().len(), 8);
}

#[tokio::test]
async fn a_resent_refund_keeps_its_batch_no_and_a_duplicate_is_then_unknown() {
    let wire = start(MapiMode::NoPassword).await;
    let batch_no = BatchNo::parse("20240513000000000000000000001").unwrap();
    let resend = RefundSubmission {
        batch_no: Some(batch_no.clone()),
        ..refund()
    };
    wire.state.reply(NOPWD, Reply::Text(xml("T", None)));
    assert_eq!(
        wire.gateway.submit_refund(&resend).await,
        Ok(RefundSubmitted::Accepted {
            batch_no: Some(batch_no.clone())
        })
    );
    assert_eq!(wire.state.last().param("batch_no"), Some(batch_no.as_str()));
    // Alipay already has this very batch: it may have refunded.
    wire.state
        .reply(NOPWD, Reply::Text(xml("F", Some("DUPLICATE_BATCH_NO"))));
    let Err(GatewayError::Unknown(why)) = wire.gateway.submit_refund(&resend).await else {
        panic!("a duplicate on a re-send must be unknown");
    };
    assert!(why.contains("DUPLICATE_BATCH_NO"), "{why}");
    assert_eq!(wire.state.last().param("batch_no"), Some(batch_no.as_str()));
}

/// A batch numbered just before Beijing midnight and sent just after it: refund_date is
/// the time the number was made (the refund's submitted_at), not the send's, so the two
/// agree and Alipay does not refuse the batch.
#[tokio::test]
async fn a_batch_numbered_before_midnight_is_dated_by_that_moment_when_sent_after() {
    let wire = start(MapiMode::NoPassword).await;
    let batch_no = BatchNo::parse("20240513000000000000000000002").unwrap();
    // 2024-05-13 23:59:59 in Beijing; the adapter's clock reads 2024-05-14 10:00:00.
    let numbered_at = chrono::DateTime::parse_from_rfc3339("2024-05-13T15:59:59Z")
        .unwrap()
        .to_utc();
    let sent = RefundSubmission {
        batch_no: Some(batch_no.clone()),
        submitted_at: Some(numbered_at),
        ..refund()
    };
    wire.state.reply(NOPWD, Reply::Text(xml("T", None)));
    wire.gateway.submit_refund(&sent).await.unwrap();
    let request = wire.state.last();
    assert_eq!(request.param("batch_no"), Some(batch_no.as_str()));
    assert_eq!(request.param("refund_date"), Some("2024-05-13 23:59:59"));
}

#[tokio::test]
async fn fresh_refunds_get_fresh_batch_numbers() {
    let wire = start(MapiMode::NoPassword).await;
    wire.state.reply(NOPWD, Reply::Text(xml("T", None)));
    for _ in 0..3 {
        wire.gateway.submit_refund(&refund()).await.unwrap();
    }
    let numbers: std::collections::HashSet<String> = wire
        .state
        .requests()
        .iter()
        .map(|r| r.param("batch_no").unwrap().to_owned())
        .collect();
    assert_eq!(numbers.len(), 3);
}

#[tokio::test]
async fn connection_refused_is_unknown() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let gateway = payport_alipay_mapi::AlipayMapiGateway::new(
        stub::config(&format!("http://{addr}/gateway.do")),
        MapiMode::NoPassword,
        std::sync::Arc::new(stub::FixedClock(stub::now())),
    )
    .unwrap();
    let Err(GatewayError::Unknown(why)) = gateway.submit_refund(&refund()).await else {
        panic!("unknown expected");
    };
    assert!(why.contains("connection failed"), "{why}");
}

/// Extracts the action and the hidden fields of the operator form, unescaped.
fn read_form(html: &str) -> (String, Form) {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + tag[start..].find('"').unwrap();
        unescape(&tag[start..end])
    };
    let form_tag = &html[..html.find('>').unwrap()];
    let action = attr(form_tag, "action");
    let fields = html
        .split("<input type=\"hidden\"")
        .skip(1)
        .map(|tag| (attr(tag, "name"), attr(tag, "value")))
        .collect();
    (action, fields)
}

#[tokio::test]
async fn pwd_returns_the_operator_form_and_sends_nothing() {
    let wire = start(MapiMode::Password).await;
    let RefundSubmitted::AwaitingOperator {
        batch_no,
        form_html,
    } = wire.gateway.submit_refund(&refund()).await.unwrap()
    else {
        panic!("the password flow answers with a form");
    };
    assert!(wire.state.requests().is_empty());
    assert!(wire.log.all().is_empty());
    assert_batch_no(batch_no.as_str());
    assert!(form_html.starts_with("<form name=\"alipaysubmit\" method=\"post\" action=\""));
    assert!(form_html.ends_with("<script>document.forms['alipaysubmit'].submit();</script>"));
    // The reason's `&` and `<` are escaped in the attribute.
    assert!(form_html.contains("破损 1 &amp; &lt;b&gt;"), "{form_html}");
    let (action, fields) = read_form(&form_html);
    assert_eq!(action, format!("{}?_input_charset=utf-8", wire.gateway_url));
    assert_eq!(md5::verify(&fields, &key()).verdict, Verdict::Valid);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    for name in [
        "service",
        "partner",
        "_input_charset",
        "sign_type",
        "sign",
        "notify_url",
        "seller_email",
        "refund_date",
        "batch_no",
        "batch_num",
        "detail_data",
    ] {
        assert_eq!(
            names.iter().filter(|n| **n == name).count(),
            1,
            "{name} once"
        );
    }
    assert_eq!(field(&fields, "service"), Some(PWD));
    assert_eq!(field(&fields, "batch_no"), Some(batch_no.as_str()));
    assert_eq!(field(&fields, "_input_charset"), Some("utf-8"));
}

#[tokio::test]
async fn no_trade_no_is_a_config_error_and_nothing_is_sent() {
    for mode in [MapiMode::NoPassword, MapiMode::Password] {
        let wire = start(mode).await;
        let refund = RefundSubmission {
            trade_no: None,
            ..refund()
        };
        assert!(matches!(
            wire.gateway.submit_refund(&refund).await,
            Err(GatewayError::Config(_))
        ));
        assert!(wire.state.requests().is_empty());
    }
}

// ---- batch_refund_notify ----

const NOTIFY_ID: &str = "70fec0c2730b27528665af4517c27b95";

fn notify_fields(result_details: &str) -> Form {
    [
        ("notify_time", "2024-05-14 10:01:03"),
        ("notify_type", "batch_refund_notify"),
        ("notify_id", NOTIFY_ID),
        ("batch_no", "20240514001"),
        ("success_num", "1"),
        ("result_details", result_details),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn signed(fields: &Form) -> Form {
    md5::sign_params(fields, &key()).params
}

fn incoming(fields: Form) -> IncomingNotification {
    let raw_body = encode(&fields);
    // As the HTTP layer does: the fields are the body decoded once.
    assert_eq!(decode(raw_body.as_bytes()), fields);
    IncomingNotification { raw_body, fields }
}

/// PROTOCOL.md B4's real sample, with its service-fee part.
const SAMPLE: &str = "2015042100001000760048511054^1.00^SUCCESS$cnonlinegroup@lanecrawford.com^2088711824364505^0.01^SUCCESS";

#[tokio::test]
async fn a_signed_notify_confirmed_by_notify_verify_is_believed() {
    let wire = start(MapiMode::NoPassword).await;
    wire.state
        .reply("notify_verify", Reply::Text("true".into()));
    let details =
        format!("{SAMPLE}#2015042100001000760048511055^2.00^TRADE_HAS_CLOSED|a^b^c^d^0.01^SUCCESS");
    let notice = wire
        .gateway
        .verify_refund_notification(&incoming(signed(&notify_fields(&details))))
        .await
        .unwrap();
    assert_eq!(notice.notify_id, NOTIFY_ID);
    let batch_no = BatchNo::parse("20240514001").unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2024-05-14T10:01:03+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(
        notice.results,
        vec![
            RefundResult {
                reference: RefundReference::Batch {
                    batch_no: batch_no.clone(),
                    trade_no: TradeNo::parse("2015042100001000760048511054").unwrap(),
                    amount: payport_domain::Amount::parse("1.00").unwrap(),
                },
                outcome: RefundResultOutcome::Succeeded(RefundSuccess {
                    refund_fee: None,
                    refunded_at: Some(at),
                }),
            },
            RefundResult {
                reference: RefundReference::Batch {
                    batch_no,
                    trade_no: TradeNo::parse("2015042100001000760048511055").unwrap(),
                    amount: payport_domain::Amount::parse("2.00").unwrap(),
                },
                outcome: RefundResultOutcome::Failed(GatewayFailure {
                    code: "TRADE_HAS_CLOSED".into(),
                    sub_code: None,
                    message: "batch_refund_notify".into(),
                }),
            },
        ]
    );
    let asked = wire.state.last();
    assert_eq!(asked.http_method, "GET");
    assert_eq!(
        asked.query,
        vec![
            ("service".to_owned(), "notify_verify".to_owned()),
            ("partner".to_owned(), PARTNER.to_owned()),
            ("notify_id".to_owned(), NOTIFY_ID.to_owned()),
        ]
    );
    assert_eq!(wire.log.all().last().unwrap().operation, "notify_verify");
}

#[tokio::test]
async fn the_vectors_notifies_verify_as_expected() {
    let wire = start(MapiMode::Password).await;
    wire.state
        .reply("notify_verify", Reply::Text("true".into()));
    let path = format!(
        "{}/../../testdata/vectors/mapi_md5.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in v["cases"].as_array().unwrap() {
        if case["kind"] != "notify_verify" {
            continue;
        }
        let fields: Form = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let got = wire
            .gateway
            .verify_refund_notification(&incoming(fields))
            .await;
        if case["expected"].as_bool().unwrap() {
            assert!(got.is_ok(), "{}: {got:?}", case["id"]);
        } else {
            assert!(
                matches!(got, Err(GatewayError::BadSignature(_))),
                "{}: {got:?}",
                case["id"]
            );
        }
    }
    // Only the two genuine ones were worth asking Alipay about.
    assert_eq!(wire.state.requests().len(), 2);
}

#[tokio::test]
async fn md5_failures_are_refused_before_asking_alipay() {
    let wire = start(MapiMode::NoPassword).await;
    wire.state
        .reply("notify_verify", Reply::Text("true".into()));
    let good = signed(&notify_fields(SAMPLE));
    let with = |key: &str, value: &str| -> Form {
        good.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if k == key {
                        value.to_owned()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    };
    let bad_sign = with("sign", "0123456789abcdef0123456789abcdef");
    let tampered = with("success_num", "0");
    let rsa = with("sign_type", "RSA");
    let unsigned: Form = good.iter().filter(|(k, _)| k != "sign").cloned().collect();
    let other_key = md5::sign_params(
        &notify_fields(SAMPLE),
        &Md5Key::new("another-merchants-key").unwrap(),
    )
    .params;
    for (name, fields, verdict) in [
        ("bad sign", bad_sign, "bad_sign"),
        ("tampered", tampered, "bad_sign"),
        ("sign_type RSA", rsa, "wrong_sign_type"),
        ("no sign", unsigned, "missing_sign"),
        ("another key", other_key, "bad_sign"),
    ] {
        let Err(GatewayError::BadSignature(why)) = wire
            .gateway
            .verify_refund_notification(&incoming(fields))
            .await
        else {
            panic!("{name} must be refused");
        };
        assert!(why.contains(verdict), "{name}: {why}");
    }
    assert!(wire.state.requests().is_empty());
}

#[tokio::test]
async fn only_a_notify_verify_of_exactly_true_verifies() {
    let wire = start(MapiMode::NoPassword).await;
    let fields = signed(&notify_fields(SAMPLE));
    for (name, reply) in [
        ("false", Reply::Text("false".into())),
        ("invalid", Reply::Text("invalid".into())),
        ("TRUE", Reply::Text("TRUE".into())),
        ("true with a newline", Reply::Text("true\n".into())),
        ("html", Reply::Text("<html>true</html>".into())),
        ("HTTP 500", Reply::Status(500)),
        ("timeout", Reply::Delay(Duration::from_secs(3))),
    ] {
        wire.state.reply("notify_verify", reply);
        let got = wire
            .gateway
            .verify_refund_notification(&incoming(fields.clone()))
            .await;
        let Err(GatewayError::BadSignature(why)) = got else {
            panic!("{name}: {got:?}");
        };
        assert!(why.contains("notify_verify"), "{name}: {why}");
    }
    let Err(GatewayError::BadSignature(why)) = wire
        .gateway
        .verify_refund_notification(&incoming(fields))
        .await
    else {
        panic!("timeout");
    };
    assert!(why.contains("timeout"), "{why}");
}

#[tokio::test]
async fn a_signed_but_unreadable_notify_is_refused_before_asking_alipay() {
    let wire = start(MapiMode::NoPassword).await;
    wire.state
        .reply("notify_verify", Reply::Text("true".into()));
    for details in [
        "2015042100001000760048511054^1.00",
        "2015042100001000760048511054^1.00^SUCCESS#",
        "2015042100001000760048511054^1.00^SUCCESS$a^b^0.01",
    ] {
        let got = wire
            .gateway
            .verify_refund_notification(&incoming(signed(&notify_fields(details))))
            .await;
        assert!(
            matches!(&got, Err(GatewayError::Unknown(why)) if why.contains("result_details")),
            "{details}: {got:?}"
        );
    }
    let mut trade_notify = notify_fields(SAMPLE);
    trade_notify[1].1 = "trade_status_sync".into();
    assert!(matches!(
        wire.gateway
            .verify_refund_notification(&incoming(signed(&trade_notify)))
            .await,
        Err(GatewayError::Unknown(_))
    ));
    assert!(wire.state.requests().is_empty());
}
