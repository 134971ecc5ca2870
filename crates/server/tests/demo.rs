//! The demo shop (`/demo`) exists only beside the built-in simulator, whose cashier it
//! pays at; it prefills the DEV merchant token only when payport runs on the DEV
//! tokens, and never hands out a configured token or an operator token.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

// Shared with the other tests, which use the parts this test does not.
#[allow(dead_code)]
mod support;

use payport_server::config::auth::{DEV_MERCHANT_TOKEN, DEV_OPERATOR_TOKEN};
use payport_server::config::{AlipayMode, AuthConfig};
use serde_json::{json, Value};
use support::{App, MERCHANT, OPERATOR};

const PAGES: [&str; 4] = [
    "/demo",
    "/demo/",
    "/demo/thanks",
    "/demo/thanks?out_trade_no=x_1",
];

#[tokio::test]
async fn in_simulator_mode_the_shop_and_its_thank_you_page_are_served() {
    let app = App::start(|_| {}).await;
    for path in PAGES {
        let (status, content_type, body) = app.get_raw(path).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "text/html; charset=utf-8"),
            "{path}"
        );
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("payport demo shop"), "{path}: {html}");
    }
    let (_, _, body) = app.get_raw("/demo/").await;
    let html = String::from_utf8(body).unwrap();
    for (asset, content_type) in [
        ("/demo/demo.js", "text/javascript; charset=utf-8"),
        ("/demo/style.css", "text/css; charset=utf-8"),
    ] {
        assert!(html.contains(asset), "the page does not name {asset}");
        let (status, served_as, body) = app.get_raw(asset).await;
        assert_eq!((status, served_as.as_str()), (200, content_type), "{asset}");
        assert!(!body.is_empty(), "{asset} is empty");
    }
    assert_eq!(app.get_raw("/demo/nothing.js").await.0, 404);

    // Tokens are configured: the form starts empty; neither token leaves payport.
    let (status, _, body) = app.get_raw("/demo/token.json").await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer, json!({ "dev_merchant_token": null }));
    let script = String::from_utf8(app.get_raw("/demo/demo.js").await.2).unwrap();
    for secret in [MERCHANT, OPERATOR, DEV_MERCHANT_TOKEN, DEV_OPERATOR_TOKEN] {
        assert!(
            !script.contains(secret) && !html.contains(secret),
            "{secret} is in the page"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_shop_carries_the_security_headers_and_its_token_is_never_cached() {
    let app = App::start(|_| {}).await;
    let policy = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                  base-uri 'none'; frame-ancestors 'none'";
    for path in ["/demo/", "/demo/thanks", "/demo/demo.js", "/demo/style.css"] {
        let response = app.raw("GET", path, &[], None).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some(policy),
            "{path}"
        );
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{path}"
        );
    }
    let response = app.raw("GET", "/demo/token.json", &[], None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    app.stop().await;
}

#[tokio::test]
async fn on_the_dev_tokens_the_shop_offers_the_dev_merchant_token_only() {
    let app = App::start(|config| config.auth = AuthConfig::default()).await;
    let (status, _, body) = app.get_raw("/demo/token.json").await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer, json!({ "dev_merchant_token": DEV_MERCHANT_TOKEN }));
    assert!(!String::from_utf8_lossy(&body).contains(DEV_OPERATOR_TOKEN));

    // It is a merchant's: it creates orders but may not approve refunds.
    let order = json!({"subject": "Longjing tea", "total_amount": "88.00"});
    let (status, created) = app
        .call(DEV_MERCHANT_TOKEN, "POST", "/v1/orders", Some(order))
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = app
        .call(DEV_MERCHANT_TOKEN, "GET", "/v1/refunds", None)
        .await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[tokio::test]
async fn against_another_alipay_there_is_no_demo_shop() {
    let app = App::start(|config| {
        config.alipay.mode = AlipayMode::Custom;
        // Never called: the test only asks for pages.
        config.alipay.gateway_url = Some("http://127.0.0.1:9/gateway.do".into());
    })
    .await;
    for path in PAGES
        .into_iter()
        .chain(["/demo/demo.js", "/demo/token.json"])
    {
        assert_eq!(app.get_raw(path).await.0, 404, "{path}");
    }
    // The rest of payport is there.
    assert_eq!(app.get_raw("/console/").await.0, 200);
    app.stop().await;
}
