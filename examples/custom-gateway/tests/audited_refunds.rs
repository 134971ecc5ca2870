//! The example over real HTTP: a paid order's refund goes through the decorator and
//! succeeds at the simulator; one above the decorator's limit fails with its code.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payport_domain::Amount;
use payport_example_custom_gateway::audit::{AuditTrail, OVER_LIMIT};
use payport_example_custom_gateway::{example_config, serve, MERCHANT_TOKEN};
use serde_json::{json, Value};
use tokio::sync::oneshot;

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self.http.request(method, url).bearer_auth(MERCHANT_TOKEN);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Creates an order and has the buyer pay it at the simulator (scan, pay), then
    /// waits for Alipay's notification to mark it paid.
    async fn paid_order(&self, out_trade_no: &str, total_amount: &str) {
        let (status, order) = self
            .post(
                "/v1/orders",
                json!({"subject": "Green tea", "total_amount": total_amount, "out_trade_no": out_trade_no}),
            )
            .await;
        assert_eq!(status, 201, "{order}");
        let (status, payment) = self
            .post(
                &format!("/v1/orders/{out_trade_no}/payments"),
                json!({"method": "qr"}),
            )
            .await;
        assert_eq!(status, 200, "{payment}");
        let qr_code = payment["qr_code"].as_str().expect("qr_code");
        let scanned = self.http.get(qr_code).send().await.expect("scan");
        assert_eq!(scanned.status().as_u16(), 200);
        let (status, paid) = self
            .post(
                &format!("/sim/control/trades/{out_trade_no}/pay"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{paid}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, order) = self.get(&format!("/v1/orders/{out_trade_no}")).await;
            if order["status"] == "paid" {
                return;
            }
            assert!(Instant::now() < deadline, "never paid: {order}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_go_through_the_audited_gateway_and_its_limit() {
    let data = tempfile::tempdir().expect("temp dir");
    let trail: AuditTrail = Arc::new(Mutex::new(Vec::new()));
    let limit = Amount::parse("50.00").expect("limit");
    let (ready_tx, ready_rx) = oneshot::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        example_config(data.path(), "127.0.0.1:0"),
        trail.clone(),
        limit,
        move |addr, _| {
            let _ = ready_tx.send(addr);
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let addr = ready_rx.await.expect("payport started");
    let client = Client {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    };

    client.paid_order("AUDIT_1", "88.00").await;
    let (status, refund) = client
        .post("/v1/orders/AUDIT_1/refunds", json!({"amount": "30.00"}))
        .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!(refund["status"], "succeeded", "{refund}");
    let (_, sim_refunds) = client.get("/sim/control/refunds").await;
    assert_eq!(
        sim_refunds.as_array().map(Vec::len),
        Some(1),
        "{sim_refunds}"
    );
    {
        let trail = trail.lock().expect("trail");
        assert_eq!(trail.len(), 1, "{trail:?}");
        assert_eq!(trail[0].refund_id.as_str(), refund["refund_id"]);
        assert_eq!(trail[0].amount, Amount::parse("30.00").expect("amount"));
        assert_eq!(trail[0].outcome, "sent");
    }

    let (status, refused) = client
        .post("/v1/orders/AUDIT_1/refunds", json!({"amount": "58.00"}))
        .await;
    assert_eq!(status, 201, "{refused}");
    assert_eq!(refused["status"], "failed", "{refused}");
    assert_eq!(refused["failure"]["code"], OVER_LIMIT, "{refused}");
    let (_, sim_refunds) = client.get("/sim/control/refunds").await;
    assert_eq!(
        sim_refunds.as_array().map(Vec::len),
        Some(1),
        "nothing more reached Alipay"
    );
    {
        let trail = trail.lock().expect("trail");
        assert_eq!(trail.len(), 2, "{trail:?}");
        assert_eq!(trail[1].outcome, format!("refused: {OVER_LIMIT}"));
    }

    // The legacy gateways are decorated too: asking for one does not skip the limit.
    let (status, legacy) = client
        .post(
            "/v1/orders/AUDIT_1/refunds",
            json!({"amount": "51.00", "gateway": "mapi_nopwd"}),
        )
        .await;
    assert_eq!(status, 201, "{legacy}");
    assert_eq!(legacy["failure"]["code"], OVER_LIMIT, "{legacy}");
    assert_eq!(trail.lock().expect("trail").len(), 3);

    let _ = stop.send(());
    server.await.expect("joined").expect("served");
}
