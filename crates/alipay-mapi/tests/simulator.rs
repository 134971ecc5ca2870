//! End to end against the simulator's legacy side (`/mapi/gateway.do`): paid trades,
//! nopwd batches whose batch_refund_notify reaches a local receiver and verifies
//! (MD5 and notify_verify), and the pwd operator form POSTed as a browser would.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use payport_alipay_mapi::{AlipayMapiGateway, MapiConfig, MapiMode, Md5Key};
use payport_alipay_openapi::{
    AlipayOpenApiGateway, Client, OpenApiConfig, PrivateKey, PublicKey, SignType, Signer, Verifier,
};
use payport_alipay_sim::config::{DEV_APP_ID, DEV_MD5_KEY, DEV_PARTNER, DEV_SELLER_EMAIL};
use payport_alipay_sim::faults::{FaultRule, Faults, MethodFault};
use payport_alipay_sim::{ManualClock, SimConfig, Simulator};
use payport_domain::ports::*;
use payport_domain::{
    Amount, AppId, BatchNo, GatewayError, OutRequestNo, OutTradeNo, RefundId, TradeNo,
};
use payport_test_support::FixedClock;
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{handler, post, EndpointExt, Route, Server};

type Form = Vec<(String, String)>;

/// 2024-05-14 10:00:00 in Beijing.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 14, 2, 0, 0).unwrap()
}

fn decode(bytes: &[u8]) -> Form {
    form_urlencoded::parse(bytes).into_owned().collect()
}

fn encode(form: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        s.append_pair(k, v);
    }
    s.finish()
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn repo_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The merchant's notify endpoint: keeps each raw body, answers `success`.
#[handler]
fn receive(body: Vec<u8>, got: Data<&Arc<Mutex<Vec<Vec<u8>>>>>) -> &'static str {
    got.lock().unwrap().push(body);
    "success"
}

async fn serve(endpoint: impl poem::Endpoint + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(endpoint));
    format!("http://{addr}")
}

struct Rig {
    sim: Simulator,
    sim_url: String,
    notify_url: String,
    got: Arc<Mutex<Vec<Vec<u8>>>>,
    http: reqwest::Client,
}

impl Rig {
    async fn start() -> Rig {
        let mut config = SimConfig::dev();
        config.notify_minute = Duration::from_millis(5);
        let sim = Simulator::new(config, Arc::new(ManualClock::new(t0()))).unwrap();
        let sim_url = format!(
            "{}/sim",
            serve(Route::new().nest("/sim", sim.endpoint())).await
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let notify_url = format!(
            "{}/notify",
            serve(Route::new().at("/notify", post(receive)).data(got.clone())).await
        );
        Rig {
            sim,
            sim_url,
            notify_url,
            got,
            http: reqwest::Client::new(),
        }
    }

    fn mapi(&self, mode: MapiMode) -> AlipayMapiGateway {
        let mut config = MapiConfig::new(
            format!("{}/mapi/gateway.do", self.sim_url),
            DEV_PARTNER,
            Md5Key::new(DEV_MD5_KEY).unwrap(),
            self.notify_url.clone(),
        );
        config.seller_email = Some(DEV_SELLER_EMAIL.into());
        AlipayMapiGateway::new(config, mode, Arc::new(FixedClock(t0()))).unwrap()
    }

    /// A QR trade opened through the OpenAPI adapter and paid; its Alipay trade_no.
    async fn paid_trade(&self, out_trade_no: &str, total: &str) -> TradeNo {
        let signer = Signer::new(
            &PrivateKey::parse(&repo_file("keys/dev_app_private_pkcs8.pem")).unwrap(),
            SignType::Rsa2,
        )
        .unwrap();
        let verifier = Verifier::new(
            &PublicKey::parse(&repo_file("keys/dev_alipay_public_spki.pem")).unwrap(),
            SignType::Rsa2,
        )
        .unwrap();
        let config = OpenApiConfig::new(
            format!("{}/gateway.do", self.sim_url),
            AppId::parse(DEV_APP_ID).unwrap(),
        );
        let client = Client::new(config, signer, verifier, Arc::new(FixedClock(t0()))).unwrap();
        let openapi = AlipayOpenApiGateway::new(client);
        let instruction = openapi
            .create_payment(&PaymentRequest {
                method: PaymentMethod::Qr,
                out_trade_no: OutTradeNo::parse(out_trade_no).unwrap(),
                subject: "Tea".into(),
                body: None,
                total_amount: Amount::parse(total).unwrap(),
                expires_at: t0() + chrono::Duration::hours(2),
                return_url: None,
                quit_url: None,
            })
            .await
            .unwrap();
        assert!(matches!(instruction, PaymentInstruction::QrCode(_)));
        let paid = self
            .http
            .post(format!(
                "{}/control/trades/{out_trade_no}/pay",
                self.sim_url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status(), 200);
        let trade = self.sim.ledger().trade(out_trade_no).unwrap().clone();
        TradeNo::parse(trade.trade_no).unwrap()
    }

    /// Waits (up to 5 s) for the batch_refund_notify of `batch_no`, as received.
    async fn batch_notify(&self, batch_no: &BatchNo) -> IncomingNotification {
        for _ in 0..500 {
            let found = self.got.lock().unwrap().iter().find_map(|body| {
                let fields = decode(body);
                let ours = field(&fields, "notify_type") == Some("batch_refund_notify")
                    && field(&fields, "batch_no") == Some(batch_no.as_str());
                ours.then(|| IncomingNotification {
                    raw_body: String::from_utf8(body.clone()).unwrap(),
                    fields,
                })
            });
            if let Some(notification) = found {
                return notification;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no batch_refund_notify for {batch_no}");
    }
}

fn submission(out_trade_no: &str, trade_no: &TradeNo, amount: &str) -> RefundSubmission {
    RefundSubmission {
        refund_id: RefundId::parse(format!("rf_{out_trade_no}")).unwrap(),
        out_trade_no: OutTradeNo::parse(out_trade_no).unwrap(),
        trade_no: Some(trade_no.clone()),
        out_request_no: OutRequestNo::parse("rq_1").unwrap(),
        amount: Amount::parse(amount).unwrap(),
        reason: Some("质量问题 ^#$|".into()),
        batch_no: None,
        submitted_at: None,
    }
}

fn succeeded(notice: &RefundNotice, batch_no: &BatchNo, trade_no: &TradeNo) -> bool {
    notice.results.iter().any(|r| {
        matches!(&r.reference, RefundReference::Batch { batch_no: b, trade_no: t, .. }
            if b == batch_no && t == trade_no)
            && matches!(r.outcome, RefundResultOutcome::Succeeded(_))
    })
}

#[tokio::test]
async fn nopwd_is_accepted_then_its_notify_arrives_and_verifies() {
    let rig = Rig::start().await;
    let trade_no = rig.paid_trade("order_nopwd_1", "88.88").await;
    let gateway = rig.mapi(MapiMode::NoPassword);
    let refund = submission("order_nopwd_1", &trade_no, "10.00");
    let Ok(RefundSubmitted::Accepted {
        batch_no: Some(batch_no),
    }) = gateway.submit_refund(&refund).await
    else {
        panic!("the simulator accepts a valid batch");
    };
    assert!(batch_no.as_str().starts_with("20240514"));
    let notification = rig.batch_notify(&batch_no).await;
    let notice = gateway
        .verify_refund_notification(&notification)
        .await
        .unwrap();
    assert_eq!(notice.results.len(), 1);
    assert!(succeeded(&notice, &batch_no, &trade_no), "{notice:?}");
    // The money moved on the simulator's books.
    let trade = rig.sim.ledger().trade("order_nopwd_1").unwrap().clone();
    assert_eq!(trade.refunded_fen, 1000);

    // Re-sent under its number: Alipay has it already, so the outcome is unknown.
    let resend = RefundSubmission {
        batch_no: Some(batch_no.clone()),
        ..refund.clone()
    };
    let Err(GatewayError::Unknown(why)) = gateway.submit_refund(&resend).await else {
        panic!("a re-sent batch must not be rejected");
    };
    assert!(why.contains("DUPLICATE_BATCH_NO"), "{why}");

    // A record the simulator refuses (more than is left) fails by its code.
    let too_much = submission("order_nopwd_1", &trade_no, "80.00");
    let Ok(RefundSubmitted::Accepted {
        batch_no: Some(second),
    }) = gateway.submit_refund(&too_much).await
    else {
        panic!("the batch itself is well formed");
    };
    let notice = gateway
        .verify_refund_notification(&rig.batch_notify(&second).await)
        .await
        .unwrap();
    let RefundResultOutcome::Failed(failure) = &notice.results[0].outcome else {
        panic!("{notice:?}");
    };
    assert_eq!(failure.message, "batch_refund_notify");
    assert!(!failure.code.is_empty() && failure.code != "SUCCESS");
}

#[tokio::test]
async fn notifies_the_simulator_did_not_send_do_not_verify() {
    let rig = Rig::start().await;
    let trade_no = rig.paid_trade("order_forged_1", "10.00").await;
    let gateway = rig.mapi(MapiMode::NoPassword);
    let Ok(RefundSubmitted::Accepted {
        batch_no: Some(batch_no),
    }) = gateway
        .submit_refund(&submission("order_forged_1", &trade_no, "1.00"))
        .await
    else {
        panic!("accepted expected");
    };
    let genuine = rig.batch_notify(&batch_no).await;
    // Someone with the MD5 key re-signs a notify under a made-up notify_id: the MD5
    // passes, notify_verify does not (it answers `false`).
    let mut made_up: Form = genuine
        .fields
        .iter()
        .filter(|(k, _)| k != "sign" && k != "sign_type")
        .cloned()
        .collect();
    for (k, v) in &mut made_up {
        if k == "notify_id" {
            *v = "0000000000000000000000000000dead".into();
        }
    }
    let forged =
        payport_alipay_mapi::md5::sign_params(&made_up, &Md5Key::new(DEV_MD5_KEY).unwrap()).params;
    let got = gateway
        .verify_refund_notification(&IncomingNotification {
            raw_body: encode(&forged),
            fields: forged,
        })
        .await;
    assert!(
        matches!(&got, Err(GatewayError::BadSignature(why)) if why.contains("\"false\"")),
        "{got:?}"
    );
    // Tampered: the MD5 fails before anything is asked.
    let mut tampered = genuine.fields.clone();
    for (k, v) in &mut tampered {
        if k == "result_details" {
            *v = v.replace("SUCCESS", "TRADE_NOT_EXIST");
        }
    }
    assert!(matches!(
        gateway
            .verify_refund_notification(&IncomingNotification {
                raw_body: encode(&tampered),
                fields: tampered,
            })
            .await,
        Err(GatewayError::BadSignature(_))
    ));
    // The genuine one still verifies (notify_verify is not one-shot).
    assert!(gateway.verify_refund_notification(&genuine).await.is_ok());
}

#[tokio::test]
async fn a_system_error_after_the_refund_is_unknown_not_rejected() {
    let rig = Rig::start().await;
    let trade_no = rig.paid_trade("order_syserr_1", "20.00").await;
    let gateway = rig.mapi(MapiMode::NoPassword);
    rig.sim.set_faults(Faults {
        methods: HashMap::from([(
            "refund_fastpay_by_platform_nopwd".to_owned(),
            FaultRule {
                fault: MethodFault::SystemError { performed: true },
                times: Some(1),
            },
        )]),
        ..Faults::default()
    });
    let got = gateway
        .submit_refund(&submission("order_syserr_1", &trade_no, "5.00"))
        .await;
    assert!(
        matches!(&got, Err(GatewayError::Unknown(why)) if why.contains("SYSTEM_ERROR")),
        "{got:?}"
    );
    // It did happen: only the notify could say so.
    assert_eq!(
        rig.sim
            .ledger()
            .trade("order_syserr_1")
            .unwrap()
            .refunded_fen,
        500
    );
}

/// Reads the operator form's action and hidden fields, unescaped.
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
    let action = attr(&html[..html.find('>').unwrap()], "action");
    let fields = html
        .split("<input type=\"hidden\"")
        .skip(1)
        .map(|tag| (attr(tag, "name"), attr(tag, "value")))
        .collect();
    (action, fields)
}

#[tokio::test]
async fn pwd_form_posted_like_a_browser_shows_the_operator_page_then_notifies() {
    let rig = Rig::start().await;
    let trade_no = rig.paid_trade("order_pwd_1", "30.00").await;
    let gateway = rig.mapi(MapiMode::Password);
    let Ok(RefundSubmitted::AwaitingOperator {
        batch_no,
        form_html,
    }) = gateway
        .submit_refund(&submission("order_pwd_1", &trade_no, "12.34"))
        .await
    else {
        panic!("a form expected");
    };
    // Nothing reached the simulator yet.
    assert!(rig
        .sim
        .ledger()
        .pending_mapi_batch(batch_no.as_str())
        .is_none());
    let (action, fields) = read_form(&form_html);
    let page = rig
        .http
        .post(&action)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(encode(&fields))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("type=\"password\""), "{page}");
    assert!(page.contains(batch_no.as_str()), "{page}");
    // The operator confirms with the payment password.
    let confirmed = rig
        .http
        .post(format!("{}/mapi/confirm/{batch_no}", rig.sim_url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("password=123456")
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let notice = gateway
        .verify_refund_notification(&rig.batch_notify(&batch_no).await)
        .await
        .unwrap();
    assert!(succeeded(&notice, &batch_no, &trade_no), "{notice:?}");
    assert_eq!(
        rig.sim.ledger().trade("order_pwd_1").unwrap().refunded_fen,
        1234
    );
}
