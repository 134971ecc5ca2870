//! The requests of one order's life, as a shop and Alipay send them, each checked for
//! the answer a correct payport gives.

use std::sync::Arc;

use payport_alipay_openapi::{notify_verify_content, PrivateKey, SignType, Signer};
use serde_json::Value;

use payport_blackbox::notify::{set, trade_success};

use crate::instant::{beijing_now, ALIPAY_PRIVATE_PEM};
use crate::procs::TOKEN;

/// Every order's total, refunded in full.
pub const TOTAL: &str = "10.00";

/// An HTTP client on payport and, in simulator runs, the simulator.
#[derive(Clone)]
pub struct Shop {
    pub http: reqwest::Client,
    pub payport: String,
    pub sim: Option<String>,
}

/// Sends `request` and returns the body when the status is `expected`.
async fn expect(
    request: reqwest::RequestBuilder,
    expected: u16,
    what: &str,
) -> Result<String, String> {
    let reply = request.send().await.map_err(|e| format!("{what}: {e}"))?;
    let status = reply.status().as_u16();
    let text = reply.text().await.map_err(|e| format!("{what}: {e}"))?;
    if status == expected {
        Ok(text)
    } else {
        Err(format!(
            "{what}: {status} {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

impl Shop {
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.payport))
            .bearer_auth(TOKEN)
            .header("Content-Type", "application/json")
    }

    pub async fn create_order(self: Arc<Self>, out_trade_no: String) -> Result<String, String> {
        let body = format!(
            r#"{{"subject":"Bench tea","total_amount":"{TOTAL}","out_trade_no":"{out_trade_no}"}}"#
        );
        expect(self.post("/v1/orders").body(body), 201, "create order").await?;
        Ok(out_trade_no)
    }

    /// A computer-website payment: payport signs the `alipay.trade.page.pay` URL and
    /// form, with no call to Alipay (the buyer's browser takes them there). The order
    /// stays pending, so the QR phase can start its payment next.
    pub async fn start_page_payment(
        self: Arc<Self>,
        out_trade_no: String,
    ) -> Result<String, String> {
        self.start(out_trade_no, "page", "pay_url").await
    }

    /// A QR payment: payport signs a precreate and verifies its answer.
    pub async fn start_payment(self: Arc<Self>, out_trade_no: String) -> Result<String, String> {
        self.start(out_trade_no, "qr", "qr_code").await
    }

    /// Starts a payment by `method`, whose answer must carry `field`.
    async fn start(
        &self,
        out_trade_no: String,
        method: &str,
        field: &str,
    ) -> Result<String, String> {
        let path = format!("/v1/orders/{out_trade_no}/payments");
        let what = format!("start {method} payment");
        let body = format!(r#"{{"method":"{method}"}}"#);
        let text = expect(self.post(&path).body(body), 200, &what).await?;
        if !text.contains(field) {
            return Err(format!("{what}: no {field} in {text}"));
        }
        Ok(out_trade_no)
    }

    /// The buyer pays: in the simulator without its notification (the bench sends
    /// its own), returning Alipay's trade number; the instant gateway keeps no trades,
    /// so the number is made up.
    pub async fn buyer_pays(
        self: Arc<Self>,
        out_trade_no: String,
    ) -> Result<(String, String), String> {
        let Some(sim) = &self.sim else {
            let trade_no = format!(
                "2026{}",
                out_trade_no.replace(|c: char| !c.is_ascii_alphanumeric(), "")
            );
            return Ok((out_trade_no, trade_no));
        };
        let request = self
            .http
            .post(format!("{sim}/control/trades/{out_trade_no}/pay"))
            .body(r#"{"notify":false}"#);
        let text = expect(request, 200, "simulator pay").await?;
        let trade: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let trade_no = trade["trade_no"]
            .as_str()
            .ok_or_else(|| format!("simulator pay: no trade_no in {text}"))?;
        Ok((out_trade_no, trade_no.to_owned()))
    }

    /// Posts a signed TRADE_SUCCESS notification (a form body from [`notification`]).
    pub async fn notify(
        self: Arc<Self>,
        (out_trade_no, form): (String, String),
    ) -> Result<String, String> {
        let request = self
            .http
            .post(format!("{}/callbacks/alipay/notify", self.payport))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; text/html; charset=UTF-8",
            )
            .body(form);
        let text = expect(request, 200, "notification").await?;
        if text != "success" {
            return Err(format!("notification answered {text}"));
        }
        Ok(out_trade_no)
    }

    /// A full refund, which must succeed at once.
    pub async fn refund(self: Arc<Self>, out_trade_no: String) -> Result<(), String> {
        let path = format!("/v1/orders/{out_trade_no}/refunds");
        let body = format!(r#"{{"amount":"{TOTAL}"}}"#);
        let text = expect(self.post(&path).body(body), 201, "refund").await?;
        let refund: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        match refund["status"].as_str() {
            Some("succeeded") => Ok(()),
            other => Err(format!("refund ended {other:?}: {text}")),
        }
    }

    /// The first page of orders, newest first.
    pub async fn list_orders(self: Arc<Self>) -> Result<(), String> {
        let request = self
            .http
            .get(format!("{}/v1/orders?limit=20", self.payport))
            .bearer_auth(TOKEN);
        let text = expect(request, 200, "list orders").await?;
        if !text.contains("out_trade_no") {
            return Err(format!("list orders: an empty page: {text}"));
        }
        Ok(())
    }
}

/// Signs notifications the way Alipay does, with the DEV Alipay key.
pub struct Notifier(Signer);

impl Notifier {
    pub fn new() -> anyhow::Result<Notifier> {
        let key = PrivateKey::parse(ALIPAY_PRIVATE_PEM)?;
        Ok(Notifier(Signer::new(&key, SignType::Rsa2)?))
    }

    /// The form body of a signed TRADE_SUCCESS notification for a paid order.
    pub fn notification(&self, out_trade_no: &str, trade_no: &str) -> anyhow::Result<String> {
        let notify_id = format!("bench{trade_no}");
        let mut fields = trade_success(out_trade_no, trade_no, TOTAL, &notify_id);
        // Paid now: the refund window counts from the payment.
        let now = beijing_now();
        for key in ["notify_time", "gmt_create", "gmt_payment"] {
            set(&mut fields, key, &now);
        }
        let sign = self.0.sign(notify_verify_content(&fields).as_bytes())?;
        fields.push(("sign_type".into(), "RSA2".into()));
        fields.push(("sign".into(), sign));
        Ok(form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&fields)
            .finish())
    }
}
