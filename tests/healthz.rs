//! payport answers its health check over real loopback HTTP.

use payport_blackbox::TestApp;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::sqlite().await;
    let response = reqwest::get(app.url("/healthz")).await.expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "ok");
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let app = TestApp::sqlite().await;
    let response = reqwest::get(app.url("/nope")).await.expect("request");
    assert_eq!(response.status(), 404);
    app.stop().await;
}
