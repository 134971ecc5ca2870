//! The service itself: the spec served at /openapi.json is the committed
//! openapi/payport.json, which frontends integrate from.

use payport_blackbox::app::repo_path;
use payport_blackbox::{both_backends, Backend, TestApp};
use serde_json::Value;

both_backends!(the_served_spec_is_the_committed_one);

async fn the_served_spec_is_the_committed_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    let served = app.browse(&app.url("/openapi.json")).await;
    assert_eq!(served.status, 200);
    assert!(
        served
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        served.headers
    );
    let committed_text =
        std::fs::read_to_string(repo_path("openapi/payport.json")).expect("openapi/payport.json");
    let committed: Value = serde_json::from_str(&committed_text).expect("committed spec is JSON");
    assert!(
        served.json == committed && served.text.trim_end() == committed_text.trim_end(),
        "openapi/payport.json differs from the served /openapi.json; regenerate it with:\n\n    \
         cargo run -q -p payport-server -- openapi > openapi/payport.json\n"
    );
    // The paths of the contract are all there.
    let paths = served.json["paths"].as_object().unwrap();
    for path in [
        "/v1/orders",
        "/v1/orders/{out_trade_no}",
        "/v1/orders/{out_trade_no}/payments",
        "/v1/orders/{out_trade_no}/sync",
        "/v1/orders/{out_trade_no}/close",
        "/v1/orders/{out_trade_no}/refunds",
        "/v1/refunds",
        "/v1/refunds/{refund_id}",
        "/v1/refunds/{refund_id}/approve",
        "/v1/refunds/{refund_id}/reject",
        "/v1/refunds/{refund_id}/sync",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the spec");
    }
}
