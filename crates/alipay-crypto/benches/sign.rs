//! RSA2 sign and verify of a typical refund request string, per compiled-in backend, on
//! one thread and on two at once (`*_2_threads`: the pair's combined rate).
//!
//! `cargo bench -p payport-alipay-crypto -- --warm-up-time 1 --measurement-time 3`
//! (with `--no-default-features` only the `rsa` backend is measured). Keys are the
//! DEV-only conformance keys; the content is the `req_partial_refund` vector's string
//! to sign. Figures: docs/PERFORMANCE.md.

// Bench code: an unwrap is the assertion that the fixture loaded.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use payport_alipay_crypto::{Backend, PrivateKey, PublicKey, SignType, Signer, Verifier};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/vectors");
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/vectors/keys");

fn key_text(file: &str) -> String {
    std::fs::read_to_string(format!("{KEYS}/{file}")).unwrap()
}

/// Read from the vectors rather than rebuilt: building it is the adapter's protocol code.
fn refund_content() -> String {
    let text = std::fs::read_to_string(format!("{VECTORS}/request_sign.json")).unwrap();
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    let case = vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "req_partial_refund")
        .unwrap();
    case["string_to_sign"].as_str().unwrap().to_owned()
}

/// Wall time of `iters` calls of `op` split over two threads: criterion then reports
/// the two threads' combined throughput.
fn on_two_threads(iters: u64, op: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for share in [iters / 2, iters - iters / 2] {
            let op = &op;
            scope.spawn(move || (0..share).for_each(|_| op()));
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let private = PrivateKey::parse(&key_text("app_private_pkcs8.pem")).unwrap();
    let public = PublicKey::parse(&key_text("app_public_spki.pem")).unwrap();
    let content = refund_content();
    let mut group = c.benchmark_group("rsa2_refund_request");
    group.throughput(Throughput::Elements(1));
    for &backend in Backend::ALL {
        let signer = Signer::with_backend(&private, SignType::Rsa2, backend).unwrap();
        let verifier = Verifier::with_backend(&public, SignType::Rsa2, backend).unwrap();
        let sign = signer.sign(content.as_bytes()).unwrap();
        assert!(verifier.verify(content.as_bytes(), &sign));

        group.bench_function(format!("sign/{}", backend.name()), |b| {
            b.iter(|| signer.sign(black_box(content.as_bytes())).unwrap())
        });
        group.bench_function(format!("verify/{}", backend.name()), |b| {
            b.iter(|| verifier.verify(black_box(content.as_bytes()), black_box(&sign)))
        });
        group.bench_function(format!("sign_2_threads/{}", backend.name()), |b| {
            b.iter_custom(|iters| {
                on_two_threads(iters, || {
                    signer.sign(black_box(content.as_bytes())).unwrap();
                })
            })
        });
        group.bench_function(format!("verify_2_threads/{}", backend.name()), |b| {
            b.iter_custom(|iters| {
                on_two_threads(iters, || {
                    assert!(verifier.verify(black_box(content.as_bytes()), black_box(&sign)));
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
