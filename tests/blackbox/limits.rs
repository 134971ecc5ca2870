//! What an anonymous caller can make payport read is bounded: bodies above the limit
//! (64 KiB for Alipay's callbacks, 1 MiB for the API) get 413 with the usual error
//! body, whether announced by `Content-Length` (refused before any of it is read) or
//! streamed; callbacks with more fields than any Alipay message are refused at once.

use std::time::Duration;

use payport_blackbox::{TestApp, MERCHANT_TOKEN};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const API_LIMIT: usize = 1024 * 1024;

/// Sends `head` then `chunks` (ignoring a server that stops reading), and reads the
/// answer: its status and body. `None` when nothing came back within 10 s.
async fn raw(app: &TestApp, head: &str, chunks: &[Vec<u8>]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    for chunk in chunks {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let read = async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if complete(&answer) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.get(9..12)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// A whole answer with a `Content-Length` body has arrived.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .is_some_and(|len| body.len() >= len)
}

fn error_code(body: &str) -> Value {
    serde_json::from_str::<Value>(body).unwrap_or(Value::Null)["code"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_body_announced_above_the_limit_is_refused_before_it_is_read() {
    let app = TestApp::sqlite().await;
    let head = format!(
        "POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MERCHANT_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 150000000\r\n\r\n"
    );
    // Not one byte of the 150 MB is sent: the answer must not wait for it.
    let (status, body) = raw(&app, &head, &[])
        .await
        .expect("no answer without the body");
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_body_streamed_past_the_limit_is_refused() {
    let app = TestApp::sqlite().await;
    let head = format!(
        "POST /v1/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MERCHANT_TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    // One byte more than the limit, in chunks, with no length announced.
    let mut chunks = Vec::new();
    let mut left = API_LIMIT + 1;
    while left > 0 {
        let n = left.min(16 * 1024);
        let mut chunk = format!("{n:x}\r\n").into_bytes();
        chunk.extend(std::iter::repeat_n(b' ', n));
        chunk.extend_from_slice(b"\r\n");
        chunks.push(chunk);
        left -= n;
    }
    let (status, body) = raw(&app, &head, &chunks).await.expect("an answer");
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    // The service is fine afterwards.
    let (status, _) = app.get("/v1/orders/none").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_bodies_above_their_limit_are_refused_before_they_are_read() {
    let app = TestApp::sqlite().await;
    for path in [
        "/callbacks/alipay/mapi/refund-notify",
        "/callbacks/alipay/notify",
    ] {
        // 60,000 empty fields (`a=&` each) would be 180,000 bytes.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 180000\r\n\r\n"
        );
        let (status, body) = raw(&app, &head, &[])
            .await
            .expect("no answer without the body");
        assert_eq!(status, 413, "{path}: {body}");
        assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE", "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_with_more_fields_than_alipay_sends_are_refused() {
    let app = TestApp::sqlite().await;
    let http = reqwest::Client::new();
    // 20,000 fields in 40 KB: under the size limit, far over the field cap.
    let flood = "a&".repeat(20_000);
    for path in [
        "/callbacks/alipay/mapi/refund-notify",
        "/callbacks/alipay/notify",
    ] {
        let answer = http
            .post(app.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(flood.clone())
            .send()
            .await
            .expect("callback");
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.text().await.expect("body"), "failure", "{path}");
    }
    let health = http.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
}
