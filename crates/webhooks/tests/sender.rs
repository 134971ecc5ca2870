//! The sender against receivers on 127.0.0.1: what a receiver gets (headers, body,
//! a signature it can check) and what an attempt records when the receiver fails,
//! refuses the connection or never answers.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use payport_domain::ports::WebhookSender;
use payport_domain::webhook::{DueDelivery, WebhookSecret};
use payport_domain::EventId;
use payport_test_support::FixedClock;
use payport_webhooks::{signature, HttpWebhookSender};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "whsec_sender_test_0123456789abcdef";
const BODY: &str = r#"{"id":"evt_abc","type":"order.paid","data":{"object":{}}}"#;
const NOW: i64 = 1_800_000_000;

/// One request as the receiver read it.
#[derive(Debug)]
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A receiver that answers one request with `answer` (a raw HTTP response) and hands
/// back what it read.
async fn receiver(answer: impl Into<String>) -> (String, tokio::task::JoinHandle<Received>) {
    let answer = answer.into();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/payport", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut bytes = Vec::new();
        let mut buf = [0_u8; 4096];
        let received = loop {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "the request ended early");
            bytes.extend_from_slice(&buf[..n]);
            let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
            let partial = Received {
                head,
                body: bytes[end + 4..].to_vec(),
            };
            let length: usize = partial
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if partial.body.len() >= length {
                break partial;
            }
        };
        socket.write_all(answer.as_bytes()).await.unwrap();
        socket.shutdown().await.unwrap();
        received
    });
    (url, task)
}

fn delivery(url: &str) -> DueDelivery {
    DueDelivery {
        delivery_id: 7,
        event_id: EventId::parse("evt_abc".to_owned()).unwrap(),
        endpoint_id: payport_domain::EndpointId::parse("we_1").unwrap(),
        body: BODY.to_owned(),
        url: url.to_owned(),
        secret: WebhookSecret::new(SECRET),
        attempts: 0,
        since: DateTime::from_timestamp(NOW, 0).unwrap(),
        claim: 1,
    }
}

fn sender(timeout: Duration) -> HttpWebhookSender {
    let clock = Arc::new(FixedClock(DateTime::from_timestamp(NOW, 0).unwrap()));
    HttpWebhookSender::new(timeout, clock).unwrap()
}

fn assert_no_secret(error: &str) {
    assert!(!error.contains(SECRET), "{error}");
    assert!(!error.contains("whsec_"), "{error}");
}

#[tokio::test]
async fn a_2xx_is_delivered_and_the_receiver_can_check_every_header() {
    let (url, received) = receiver("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").await;
    let attempt = sender(Duration::from_secs(5)).send(&delivery(&url)).await;
    assert!(attempt.delivered(), "{attempt:?}");
    assert_eq!(attempt.status_code, Some(204));
    assert_eq!(attempt.error, None);
    assert_eq!(attempt.at.timestamp(), NOW);

    let got = received.await.unwrap();
    assert!(
        got.head.starts_with("POST /hooks/payport HTTP/1.1"),
        "{}",
        got.head
    );
    assert_eq!(got.body, BODY.as_bytes(), "the stored body, verbatim");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("payport-event-id"), Some("evt_abc"));
    let agent = got.header("user-agent").unwrap();
    assert_eq!(agent, concat!("payport/", env!("CARGO_PKG_VERSION")));
    let header = got.header("payport-signature").unwrap();
    assert!(header.starts_with(&format!("t={NOW},v1=")), "{header}");
    signature::verify(SECRET, header, &got.body, NOW + 1, Some(300)).unwrap();
    assert!(
        !got.head.contains(SECRET),
        "the secret itself is never sent"
    );
}

#[tokio::test]
async fn a_500_is_not_delivered_and_keeps_a_short_excerpt() {
    let (url, received) = receiver(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 25\r\n\r\ndatabase\nlocked, sorry!",
    )
    .await;
    let attempt = sender(Duration::from_secs(5)).send(&delivery(&url)).await;
    received.await.unwrap();
    assert!(!attempt.delivered());
    assert_eq!(attempt.status_code, Some(500));
    let error = attempt.error.unwrap();
    assert_eq!(error, "HTTP 500: database locked, sorry!");
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_long_answer_is_clipped() {
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 4000\r\n\r\n{}",
        "x".repeat(4000)
    );
    let (url, received) = receiver(answer).await;
    let attempt = sender(Duration::from_secs(5)).send(&delivery(&url)).await;
    received.await.unwrap();
    let error = attempt.error.unwrap();
    assert!(error.starts_with("HTTP 400: xxxx"), "{error}");
    assert!(error.len() < 300, "{} bytes: {error}", error.len());
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_not_delivered() {
    let (url, received) = receiver(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    let attempt = sender(Duration::from_secs(5)).send(&delivery(&url)).await;
    received.await.unwrap();
    assert!(!attempt.delivered());
    assert_eq!(attempt.status_code, Some(302));
    assert_eq!(
        attempt.error.as_deref(),
        Some("HTTP 302 (redirects are not followed)")
    );
}

#[tokio::test]
async fn a_refused_connection_is_not_delivered() {
    // A port that was just free: nothing listens on it any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks?token=receiver-token",
        listener.local_addr().unwrap()
    );
    drop(listener);
    let attempt = sender(Duration::from_secs(5)).send(&delivery(&url)).await;
    assert!(!attempt.delivered());
    assert_eq!(attempt.status_code, None);
    let error = attempt.error.unwrap();
    assert!(error.starts_with("connection failed"), "{error}");
    assert!(
        !error.contains("receiver-token"),
        "no URL in errors: {error}"
    );
    assert_no_secret(&error);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    // Accepts and reads, never answers; holds the connection until the test ends.
    let silent = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = socket.read_to_end(&mut sink).await;
    });
    let attempt = sender(Duration::from_millis(300))
        .send(&delivery(&url))
        .await;
    silent.abort();
    assert!(!attempt.delivered());
    assert_eq!(attempt.status_code, None);
    let error = attempt.error.unwrap();
    assert_eq!(error, "timed out after 300 ms");
}
