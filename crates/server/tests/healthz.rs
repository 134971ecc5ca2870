//! The binary's server answers over real loopback HTTP.

use tokio::sync::oneshot;

#[tokio::test]
async fn healthz_answers_ok_over_loopback() {
    let (bound_tx, bound_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(payport_server::serve::serve(
        "127.0.0.1:0",
        move |addr| {
            let _ = bound_tx.send(addr);
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let addr = bound_rx.await.expect("server bound");
    let response = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "ok");
    stop_tx.send(()).expect("stop");
    server.await.expect("join").expect("clean shutdown");
}
