//! The operator console is served by payport itself, from files embedded at build
//! time: the page, and every script and style sheet it names, with their types.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

// Shared with tests/webhooks.rs, which uses the parts this test does not.
#[allow(dead_code)]
mod support;

use support::App;

/// What payport's pages are served with; written out here so that a change to them
/// is a change to this test too.
const SECURITY_HEADERS: [(&str, &str); 3] = [
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

#[tokio::test]
async fn the_console_and_its_assets_carry_the_security_headers() {
    let app = App::start(|_| {}).await;
    for path in [
        "/console",
        "/console/",
        "/console/console.js",
        "/console/style.css",
    ] {
        let response = app.raw("GET", path, &[], None).await;
        assert_eq!(response.status(), 200, "{path}");
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                response.headers().get(name).map(|v| v.to_str().unwrap()),
                Some(value),
                "{path}: {name}"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn console_page_and_its_assets_are_served_without_a_token() {
    let app = App::start(|_| {}).await;

    for path in ["/console", "/console/"] {
        let (status, content_type, body) = app.get_raw(path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(content_type, "text/html; charset=utf-8", "{path}");
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("<title>payport console</title>"), "{html}");
    }

    let (_, _, body) = app.get_raw("/console").await;
    let html = String::from_utf8(body).unwrap();
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/console/"))
        .collect();
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "the page names no script or no style sheet: {assets:?}"
    );
    for asset in assets {
        let (status, content_type, body) = app.get_raw(asset).await;
        assert_eq!(status, 200, "{asset}");
        assert!(!body.is_empty(), "{asset} is empty");
        let expected = if asset.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(content_type, expected, "{asset}");
    }

    let (status, _, _) = app.get_raw("/console/nothing.js").await;
    assert_eq!(status, 404);
    // The API beside it still wants a token.
    let (status, _) = app.call("", "GET", "/v1/orders", None).await;
    assert_eq!(status, 401);
    app.stop().await;
}
