//! The "instant" gateway: answers `alipay.trade.precreate` and `alipay.trade.refund`
//! from the request alone, at once, signed with the DEV Alipay key like the real
//! gateway, so that payport still pays for its verify. It checks nothing: what it
//! measures is payport's own ceiling.

use std::sync::Arc;

use anyhow::Context;
use payport_alipay_openapi::{PrivateKey, SignType, Signer};
use poem::listener::TcpListener;
use poem::{handler, web::Data, EndpointExt, Request, Route, Server};
use serde_json::{json, Map, Value};

/// The key the DEV Alipay signs with (payport's custom mode trusts its public half).
pub const ALIPAY_PRIVATE_PEM: &str = include_str!("../../../keys/dev_alipay_private_pkcs8.pem");
/// Its public half, which payport (and the bench, calling the simulator) verifies with.
pub const ALIPAY_PUBLIC_PEM: &str = include_str!("../../../keys/dev_alipay_public_spki.pem");

/// Serves the gateway on a free port in this process; returns its `gateway.do` URL.
pub async fn start() -> anyhow::Result<String> {
    let key = PrivateKey::parse(ALIPAY_PRIVATE_PEM).context("DEV Alipay key")?;
    let signer = Arc::new(Signer::new(&key, SignType::Rsa2)?);
    let port = crate::procs::free_port()?;
    let app = Route::new()
        .at("/gateway.do", poem::get(gateway).post(gateway))
        .data(signer);
    let server = Server::new(TcpListener::bind(format!("127.0.0.1:{port}")));
    tokio::spawn(async move { server.run(app).await });
    // Up when it accepts a connection.
    let url = format!("http://127.0.0.1:{port}/gateway.do");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        anyhow::ensure!(std::time::Instant::now() < deadline, "instant gateway down");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    Ok(url)
}

#[handler]
fn gateway(req: &Request, body: Vec<u8>, signer: Data<&Arc<Signer>>) -> String {
    let mut params: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    params.extend(form_urlencoded::parse(&body).into_owned());
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let method = param("method");
    let biz: Map<String, Value> = serde_json::from_str(&param("biz_content")).unwrap_or_default();
    let text = |key: &str| {
        biz.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let node = match method.as_str() {
        "alipay.trade.precreate" => json!({
            "code": "10000", "msg": "Success",
            "out_trade_no": text("out_trade_no"),
            "qr_code": format!("https://qr.alipay.com/bench{}", text("out_trade_no")),
        }),
        // One full refund per order: the cumulative refund_fee is this refund.
        "alipay.trade.refund" => json!({
            "code": "10000", "msg": "Success",
            "trade_no": text("trade_no"),
            "out_trade_no": text("out_trade_no"),
            "buyer_logon_id": "buy***@example.com",
            "fund_change": "Y",
            "refund_fee": text("refund_amount"),
            "gmt_refund_pay": beijing_now(),
        }),
        _ => json!({
            "code": "40004", "msg": "Business Failed",
            "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "not in the instant gateway",
        }),
    };
    let node_text = node.to_string();
    let sign = signer.sign(node_text.as_bytes()).unwrap_or_default();
    let name = format!("{}_response", method.replace('.', "_"));
    format!(r#"{{"{name}":{node_text},"sign":"{sign}"}}"#)
}

/// Alipay's times: Beijing, `yyyy-MM-dd HH:mm:ss`.
pub fn beijing_now() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
