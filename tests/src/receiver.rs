//! A shop's webhook receiver on a loopback port: it records every request (headers,
//! raw body), checks its `Payport-Signature` with the shop's secret, and answers as
//! told: 200 at once, or 500 to the first attempt of each event and 200 after. It can
//! also be down (its port reserved, nothing listening) and come up later on the same
//! port.
//!
//! The signature is checked with an HMAC-SHA256 of its own (over `sha2`), not
//! payport's code, so that a mistake there cannot hide behind the same mistake here.
//!
//! Self-contained on purpose: the binary's crash test includes this file too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use poem::http::StatusCode;
use poem::listener::{Listener, TcpListener};
use poem::{Request, Response, Server};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How far a signature's `t` may be from the receiver's clock (Stripe's default).
pub const TOLERANCE_SECS: i64 = 300;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// 200 to everything.
    Accept,
    /// 500 to the first attempt of each event id, 200 to the later ones.
    FailFirst,
}

/// One request as it arrived, and what the receiver answered.
#[derive(Debug, Clone)]
pub struct Received {
    /// `Payport-Event-Id`.
    pub event_id: Option<String>,
    /// `Payport-Signature`.
    pub signature: Option<String>,
    pub content_type: Option<String>,
    /// The raw body, as signed.
    pub body: String,
    /// Whether `signature` verifies over `body` with the secret, within the tolerance.
    pub signature_ok: bool,
    /// The status the receiver answered.
    pub answered: u16,
}

impl Received {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn event(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn event_type(&self) -> String {
        self.event()["type"].as_str().unwrap_or_default().to_owned()
    }

    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.answered)
    }
}

struct Books {
    policy: Policy,
    secret: String,
    received: Vec<Received>,
    attempts: HashMap<String, u32>,
}

/// A running (or reserved) receiver; stops listening when dropped.
pub struct Receiver {
    addr: SocketAddr,
    books: Arc<Mutex<Books>>,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Receiver {
    /// Listening on a free loopback port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start(policy: Policy, secret: &str) -> Receiver {
        let mut receiver = Receiver::down(policy, secret);
        receiver.up().await;
        receiver
    }

    /// Down: a free loopback port noted and released, nothing listening on it, so
    /// deliveries are refused until [`Receiver::up`].
    ///
    /// # Panics
    /// When no port can be bound.
    pub fn down(policy: Policy, secret: &str) -> Receiver {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = probe.local_addr().expect("its address");
        drop(probe);
        Receiver {
            addr,
            books: Arc::new(Mutex::new(Books {
                policy,
                secret: secret.to_owned(),
                received: Vec::new(),
                attempts: HashMap::new(),
            })),
            running: None,
        }
    }

    /// Starts listening on the receiver's port (a no-op when it already is).
    ///
    /// # Panics
    /// When the port cannot be bound again.
    pub async fn up(&mut self) {
        if self.running.is_some() {
            return;
        }
        let acceptor = TcpListener::bind(self.addr)
            .into_acceptor()
            .await
            .unwrap_or_else(|e| panic!("the receiver cannot listen on {}: {e}", self.addr));
        let books = self.books.clone();
        let endpoint = poem::endpoint::make(move |request: Request| {
            let books = books.clone();
            async move { answer(&books, request).await }
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(endpoint, shutdown, Some(Duration::from_secs(1)))
                .await;
        });
        self.running = Some((stop, server));
    }

    /// Checks signatures with `secret` from now on (an endpoint made through the API
    /// learns its secret only when it is created).
    ///
    /// # Panics
    /// When a handler panicked while holding the books.
    pub fn set_secret(&self, secret: &str) {
        secret.clone_into(&mut self.books.lock().expect("books").secret);
    }

    /// Where payport should POST.
    pub fn url(&self) -> String {
        format!("http://{}/payport/webhooks", self.addr)
    }

    /// Every request so far, in arrival order.
    ///
    /// # Panics
    /// When a handler panicked while holding the books.
    pub fn received(&self) -> Vec<Received> {
        self.books.lock().expect("books").received.clone()
    }

    /// The requests answered 2xx, in arrival order.
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(Received::delivered)
            .collect()
    }

    /// Polls until `done` holds for the requests received so far (for at most
    /// `patience`), and returns them.
    ///
    /// # Panics
    /// When it does not hold in time: `what` and everything received are shown.
    pub async fn wait_for(
        &self,
        what: &str,
        patience: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + patience;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not see {what} within {patience:?}; it saw {received:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some((stop, server)) = self.running.take() {
            let _ = stop.send(());
            server.abort();
        }
    }
}

async fn answer(books: &Mutex<Books>, request: Request) -> Response {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let event_id = header("payport-event-id");
    let signature = header("payport-signature");
    let content_type = header("content-type");
    let body = match request.into_body().into_bytes().await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => return Response::builder().status(StatusCode::BAD_REQUEST).finish(),
    };
    let mut books = books.lock().expect("books");
    let signature_ok = signature
        .as_deref()
        .is_some_and(|s| verify(&books.secret, s, &body, unix_now()));
    let attempt = {
        let count = books
            .attempts
            .entry(event_id.clone().unwrap_or_default())
            .or_insert(0);
        *count += 1;
        *count
    };
    let answered = match books.policy {
        Policy::FailFirst if attempt == 1 => 500,
        _ => 200,
    };
    books.received.push(Received {
        event_id,
        signature,
        content_type,
        body,
        signature_ok,
        answered,
    });
    Response::builder()
        .status(StatusCode::from_u16(answered).expect("a status"))
        .body(if answered == 200 { "ok" } else { "try again" })
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("a sane clock")
}

/// Checks a `t=<unix>,v1=<hex>[,v1=...]` header: some v1 is the HMAC-SHA256 of
/// `"<t>.<body>"` under `secret`, and `t` is within [`TOLERANCE_SECS`] of `now`.
pub fn verify(secret: &str, header: &str, body: &str, now: i64) -> bool {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    let Some(t) = t else {
        return false;
    };
    let expected = hex::encode(hmac_sha256(
        secret.as_bytes(),
        format!("{t}.{body}").as_bytes(),
    ));
    (now - t).abs() <= TOLERANCE_SECS && signatures.contains(&expected)
}

/// HMAC (RFC 2104) over SHA-256.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0_u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::{hmac_sha256, unix_now, verify, Policy, Receiver};

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than a block is hashed first.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn verify_needs_the_secret_the_body_and_a_fresh_time() {
        let header = |t: i64, body: &str| {
            let mac = hmac_sha256(b"whsec_test", format!("{t}.{body}").as_bytes());
            format!("t={t},v1={}", hex::encode(mac))
        };
        let good = header(1_000, "{}");
        assert!(verify("whsec_test", &good, "{}", 1_000));
        assert!(verify("whsec_test", &good, "{}", 1_300));
        assert!(!verify("whsec_test", &good, "{}", 1_301), "stale");
        assert!(!verify("whsec_other", &good, "{}", 1_000), "wrong secret");
        assert!(!verify("whsec_test", &good, "{ }", 1_000), "another body");
        assert!(!verify("whsec_test", "v1=00", "{}", 1_000), "no t");
        let two = format!("t=1000,v1=00,{}", &good[7..]);
        assert!(verify("whsec_test", &two, "{}", 1_000), "any v1 may match");
    }

    #[tokio::test]
    async fn down_refuses_then_up_on_the_same_port_fails_each_event_once() {
        let mut receiver = Receiver::down(Policy::FailFirst, "whsec_test");
        let http = reqwest::Client::new();
        let url = receiver.url();
        let post = |event: &'static str| {
            let t = unix_now();
            let mac = hmac_sha256(b"whsec_test", format!("{t}.{{}}").as_bytes());
            http.post(&url)
                .header("Payport-Event-Id", event)
                .header(
                    "Payport-Signature",
                    format!("t={t},v1={}", hex::encode(mac)),
                )
                .body("{}")
                .send()
        };
        assert!(post("evt_1").await.is_err(), "nothing listens while down");
        receiver.up().await;
        let statuses = [
            post("evt_1").await.expect("sent").status().as_u16(),
            post("evt_1").await.expect("sent").status().as_u16(),
            post("evt_2").await.expect("sent").status().as_u16(),
        ];
        assert_eq!(statuses, [500, 200, 500]);
        let received = receiver.received();
        assert_eq!(received.len(), 3);
        assert!(received.iter().all(|r| r.signature_ok && r.body == "{}"));
        assert_eq!(receiver.delivered().len(), 1);
    }
}
