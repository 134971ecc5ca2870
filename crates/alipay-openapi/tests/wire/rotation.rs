//! Certificate mode: Alipay rotating its certificate. Only a signed answer starts a
//! download; the certificate is adopted only when it chains to a configured root, is
//! valid now, has the SN the answer named, and its download answer verifies with its
//! key; old and new SNs then both verify; a refused SN is not downloaded on every call.
//! DEV certificates from keys/ (scripts/dev-certs.sh).

use base64::Engine;
use chrono::{DateTime, Utc};
use payport_alipay_openapi::{CertMode, CertSn, PrivateKey, SignType, Signer};

use super::cert_mode::{answered_under, certs};
use super::*;

const DOWNLOAD: &str = "alipay.open.app.alipaycert.download";
const REFUND: &str = "alipay.trade.refund";

fn dev(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The simulator's next Alipay certificate (leaf, then the DEV intermediate), its SN and
/// the key that signs under it.
fn rotated() -> (String, String, Signer) {
    let pem = dev("dev_alipay_rotated_cert.pem");
    let sn = CertSn::of_pem(&pem).unwrap().sn().to_owned();
    let key = PrivateKey::parse(&dev("dev_alipay_rotated_private_pkcs8.pem")).unwrap();
    (pem, sn, Signer::new(&key, SignType::Rsa2).unwrap())
}

/// The DEV root file configured, the adapter's clock in December 2027 (after the DEV
/// certificates were made).
async fn wire_at(at: i64) -> stub::Wire {
    let certs = CertMode {
        root_bundle_pem: dev("dev_alipay_root_bundle.pem"),
        ..certs()
    };
    stub::start_at(Some(certs), DateTime::<Utc>::from_timestamp(at, 0).unwrap()).await
}

const DEC_2027: i64 = 1_830_000_000;

/// `node` under certificate `sn`, signed by `signer` (`None`: no `sign`).
fn under(method: &str, node: &str, sn: &str, signer: Option<&Signer>) -> Reply {
    let body = stub::body_for(method, node, signer);
    let at = body.rfind(r#","sign":"#).unwrap_or(body.len() - 1);
    Reply::Raw(format!(
        r#"{},"alipay_cert_sn":"{sn}"{}"#,
        &body[..at],
        &body[at..]
    ))
}

fn refund_node() -> String {
    format!(r#"{SUCCESS}","fund_change":"Y","refund_fee":"10.50"}}"#)
}

fn download_node(pem: &str) -> String {
    let content = base64::engine::general_purpose::STANDARD.encode(pem);
    format!(r#"{SUCCESS}","alipay_cert_content":"{content}"}}"#)
}

fn downloads(wire: &stub::Wire) -> usize {
    let requests = wire.state.requests.lock().unwrap();
    requests.iter().filter(|r| r.method == DOWNLOAD).count()
}

/// Everything logged on this thread until the guard is dropped (tokio's test runtime
/// runs the adapter on the test's thread).
fn capture_logs() -> (
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    tracing::subscriber::DefaultGuard,
) {
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || Sink(sink.clone()))
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

fn count(logs: &std::sync::Mutex<Vec<u8>>, text: &str) -> usize {
    String::from_utf8_lossy(&logs.lock().unwrap())
        .matches(text)
        .count()
}

async fn unknown(wire: &stub::Wire) -> String {
    match wire.gateway.submit_refund(&refund()).await {
        Err(GatewayError::Unknown(message)) => message,
        other => panic!("unknown outcome expected: {other:?}"),
    }
}

#[tokio::test]
async fn a_chained_certificate_is_adopted_and_old_and_new_sns_both_verify_after() {
    let (logs, _guard) = capture_logs();
    let wire = wire_at(DEC_2027).await;
    let (pem, sn, signer) = rotated();
    wire.state
        .reply(REFUND, under(REFUND, &refund_node(), &sn, Some(&signer)));
    wire.state.reply(
        DOWNLOAD,
        under(DOWNLOAD, &download_node(&pem), &sn, Some(&signer)),
    );
    wire.gateway.submit_refund(&refund()).await.unwrap();
    assert_eq!(downloads(&wire), 1);
    // Alipay's roll-out: answers alternate between the certificates; each verifies
    // with its own key, and nothing is downloaded again.
    for _ in 0..2 {
        wire.state.reply(
            REFUND,
            answered_under(REFUND, &refund_node(), &certs().alipay_cert_sn),
        );
        wire.gateway.submit_refund(&refund()).await.unwrap();
        wire.state
            .reply(REFUND, under(REFUND, &refund_node(), &sn, Some(&signer)));
        wire.gateway.submit_refund(&refund()).await.unwrap();
    }
    assert_eq!(downloads(&wire), 1);
    assert_eq!(count(&logs, "Alipay rotated its certificate"), 1);
    // An answer under the new SN signed with the old key is still refused.
    wire.state.reply(
        REFUND,
        under(REFUND, &refund_node(), &sn, Some(&stub::alipay_signer())),
    );
    let err = wire.gateway.submit_refund(&refund()).await.unwrap_err();
    assert!(matches!(err, GatewayError::BadSignature(_)), "{err}");
}

#[tokio::test]
async fn a_chained_certificate_with_another_sn_than_the_answer_named_is_refused() {
    let wire = wire_at(DEC_2027).await;
    let (pem, _, signer) = rotated();
    let named = "ffffffffffffffffffffffffffffffff";
    wire.state
        .reply(REFUND, under(REFUND, &refund_node(), named, Some(&signer)));
    wire.state.reply(
        DOWNLOAD,
        under(DOWNLOAD, &download_node(&pem), named, Some(&signer)),
    );
    let message = unknown(&wire).await;
    assert!(
        message.contains("the downloaded certificate has SN"),
        "{message}"
    );
}

#[tokio::test]
async fn a_download_answer_not_signed_with_the_new_key_is_refused() {
    let (pem, sn, signer) = rotated();
    for download_signer in [Some(stub::alipay_signer()), None] {
        let wire = wire_at(DEC_2027).await;
        wire.state
            .reply(REFUND, under(REFUND, &refund_node(), &sn, Some(&signer)));
        wire.state.reply(
            DOWNLOAD,
            under(
                DOWNLOAD,
                &download_node(&pem),
                &sn,
                download_signer.as_ref(),
            ),
        );
        let message = unknown(&wire).await;
        assert!(
            message.contains("does not verify with the certificate it carries"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn an_expired_chained_certificate_is_refused() {
    let wire = wire_at(4_000_000_000).await; // 2096: the DEV certificates have expired
    let (pem, sn, signer) = rotated();
    wire.state
        .reply(REFUND, under(REFUND, &refund_node(), &sn, Some(&signer)));
    wire.state.reply(
        DOWNLOAD,
        under(DOWNLOAD, &download_node(&pem), &sn, Some(&signer)),
    );
    let message = unknown(&wire).await;
    assert!(message.contains("valid from"), "{message}");
}

#[tokio::test]
async fn an_unsigned_answer_naming_a_new_sn_downloads_nothing() {
    let wire = wire_at(DEC_2027).await;
    let (_, sn, _) = rotated();
    wire.state
        .reply(REFUND, under(REFUND, &refund_node(), &sn, None));
    let _ = unknown(&wire).await;
    assert_eq!(downloads(&wire), 0);
}

#[tokio::test]
async fn a_refused_sn_is_not_downloaded_again_on_every_call() {
    let (logs, _guard) = capture_logs();
    let wire = wire_at(DEC_2027).await;
    let (pem, sn, signer) = rotated();
    wire.state
        .reply(REFUND, under(REFUND, &refund_node(), &sn, Some(&signer)));
    // Signed with the old key: refused.
    wire.state.reply(
        DOWNLOAD,
        under(
            DOWNLOAD,
            &download_node(&pem),
            &sn,
            Some(&stub::alipay_signer()),
        ),
    );
    for _ in 0..3 {
        let _ = unknown(&wire).await;
    }
    // Several at once wait for the one download, which is not repeated either.
    let submission = refund();
    let (one, two, three) = tokio::join!(
        wire.gateway.submit_refund(&submission),
        wire.gateway.submit_refund(&submission),
        wire.gateway.submit_refund(&submission),
    );
    for result in [one, two, three] {
        assert!(
            matches!(result, Err(GatewayError::Unknown(_))),
            "{result:?}"
        );
    }
    assert_eq!(downloads(&wire), 1);
    assert_eq!(
        count(&logs, "Alipay named a certificate payport does not trust"),
        1
    );
}
