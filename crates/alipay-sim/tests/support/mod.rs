//! Test rig for the legacy mapi side: the simulator nested at `/sim` on a loopback
//! port, a merchant notify receiver on another, paid trades made through the OpenAPI
//! gateway and the control API, and MD5-signed mapi requests built per PROTOCOL.md B2.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use payport_alipay_crypto::{PrivateKey, SignType, Signer};
use payport_alipay_sim::config::{DEV_APP_ID, DEV_MD5_KEY, DEV_PARTNER, DEV_SELLER_EMAIL};
use payport_alipay_sim::signing::{decode, encode, md5_sign, request_content};
use payport_alipay_sim::{ManualClock, SimConfig, Simulator};
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{handler, post, EndpointExt, Route, Server};

pub type Form = Vec<(String, String)>;

pub fn repo_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// 2024-05-14 10:00:00 in Beijing, the vectors' day.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 14, 2, 0, 0).unwrap()
}

pub const TODAY: &str = "20240514";

pub fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `form` with `key` set to `value` (added when absent).
pub fn with(form: &[(String, String)], key: &str, value: &str) -> Form {
    let mut form = without(form, key);
    form.push((key.to_owned(), value.to_owned()));
    form
}

pub fn without(form: &[(String, String)], key: &str) -> Form {
    form.iter().filter(|(k, _)| k != key).cloned().collect()
}

/// Adds `sign` (B2, the dev MD5 key) and `sign_type=MD5`.
pub fn signed(form: &[(String, String)]) -> Form {
    let (_, sign) = md5_sign(form, DEV_MD5_KEY);
    let mut form = without(&without(form, "sign"), "sign_type");
    form.push(("sign_type".into(), "MD5".into()));
    form.push(("sign".into(), sign));
    form
}

#[handler]
fn receive(body: Vec<u8>, got: Data<&Arc<Mutex<Vec<Form>>>>) -> &'static str {
    got.lock().unwrap().push(decode(&body));
    "success"
}

async fn serve(endpoint: impl poem::Endpoint + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(endpoint));
    format!("http://{addr}")
}

pub struct Rig {
    pub sim: Simulator,
    pub clock: Arc<ManualClock>,
    /// `http://127.0.0.1:port/sim`.
    pub sim_url: String,
    pub notify_url: String,
    got: Arc<Mutex<Vec<Form>>>,
    pub http: reqwest::Client,
}

impl Rig {
    pub async fn start() -> Rig {
        let mut config = SimConfig::dev();
        config.notify_minute = Duration::from_millis(5);
        let clock = Arc::new(ManualClock::new(t0()));
        let sim = Simulator::new(config, clock.clone()).unwrap();
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
            clock,
            sim_url,
            notify_url,
            got,
            http: reqwest::Client::new(),
        }
    }

    /// Every form the merchant received with this `notify_type`, in order.
    pub fn received(&self, notify_type: &str) -> Vec<Form> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|f| field(f, "notify_type") == Some(notify_type))
            .cloned()
            .collect()
    }

    /// Waits (up to 5 s) for the `batch_refund_notify` of `batch_no`.
    pub async fn batch_notify(&self, batch_no: &str) -> Form {
        for _ in 0..500 {
            let found = self
                .received("batch_refund_notify")
                .into_iter()
                .find(|f| field(f, "batch_no") == Some(batch_no));
            if let Some(form) = found {
                return form;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "no batch_refund_notify for {batch_no}: {:?}",
            self.got.lock().unwrap()
        );
    }

    /// A precreated trade, paid by the buyer; returns its Alipay `trade_no`.
    pub async fn paid_trade(&self, out_trade_no: &str, total: &str) -> String {
        let biz = format!(
            r#"{{"out_trade_no":"{out_trade_no}","total_amount":"{total}","subject":"Tea"}}"#
        );
        let mut params: Form = [
            ("app_id", DEV_APP_ID),
            ("method", "alipay.trade.precreate"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", "2024-05-14 10:00:00"),
            ("version", "1.0"),
            ("notify_url", self.notify_url.as_str()),
            ("biz_content", biz.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let key = PrivateKey::parse(&repo_file("keys/dev_app_private_pkcs8.pem")).unwrap();
        let signer = Signer::new(&key, SignType::Rsa2).unwrap();
        let sign = signer.sign(request_content(&params).as_bytes()).unwrap();
        params.push(("sign".into(), sign));
        let answer = self
            .http
            .post(format!("{}/gateway.do", self.sim_url))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(encode(&params))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(answer.contains(r#""code":"10000""#), "{answer}");
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
        self.sim
            .ledger()
            .trade(out_trade_no)
            .unwrap()
            .trade_no
            .clone()
    }

    /// The unsigned parameters of a valid refund batch for `service`.
    pub fn batch(&self, service: &str, batch_no: &str, records: &[(&str, &str, &str)]) -> Form {
        let detail: Vec<String> = records
            .iter()
            .map(|(t, a, r)| format!("{t}^{a}^{r}"))
            .collect();
        [
            ("service", service),
            ("partner", DEV_PARTNER),
            ("_input_charset", "utf-8"),
            ("notify_url", self.notify_url.as_str()),
            ("seller_email", DEV_SELLER_EMAIL),
            ("refund_date", "2024-05-14 10:00:00"),
            ("batch_no", batch_no),
            ("batch_num", &records.len().to_string()),
            ("detail_data", &detail.join("#")),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// POSTs like the official demo: `_input_charset` in the URL, everything in the
    /// form. Returns the status and the body.
    pub async fn post(&self, form: &[(String, String)]) -> (u16, String) {
        let charset = field(form, "_input_charset").unwrap_or("utf-8");
        self.post_raw(&format!("_input_charset={charset}"), &encode(form))
            .await
    }

    pub async fn post_raw(&self, query: &str, body: &str) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}/mapi/gateway.do?{query}", self.sim_url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// GET with every parameter in the query.
    pub async fn get(&self, form: &[(String, String)]) -> (u16, String) {
        self.get_query(&encode(form)).await
    }

    pub async fn get_query(&self, query: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}/mapi/gateway.do?{query}", self.sim_url))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// The operator submits the confirmation form.
    pub async fn confirm(&self, batch_no: &str, password: &str) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}/mapi/confirm/{batch_no}", self.sim_url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode(&[("password".to_owned(), password.to_owned())]))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    pub async fn notify_verify(&self, query: &str) -> String {
        self.get_query(&format!("service=notify_verify&{query}"))
            .await
            .1
    }
}

pub fn accepted() -> String {
    r#"<?xml version="1.0" encoding="utf-8"?><alipay><is_success>T</is_success></alipay>"#
        .to_owned()
}

pub fn refused(code: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><alipay><is_success>F</is_success><error>{code}</error></alipay>"#
    )
}
