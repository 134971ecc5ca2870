//! RSA2 sign and verify of a typical refund request string, per compiled-in backend.
//!
//! `cargo bench -p payport-alipay-openapi --features aws-lc -- --warm-up-time 1 --measurement-time 3`
//! (without the feature only the `rsa` backend is measured). Keys are the DEV-only
//! conformance keys; the content is the `req_partial_refund` vector's string to sign.

// Bench code: an unwrap is the assertion that the fixture loaded.
#![allow(clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use payport_alipay_openapi::{
    request_sign_content, Backend, PrivateKey, PublicKey, SignType, Signer, Verifier,
};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/vectors/keys");

fn key_text(file: &str) -> String {
    std::fs::read_to_string(format!("{KEYS}/{file}")).unwrap()
}

fn refund_content() -> String {
    request_sign_content([
        ("app_id", "2021000000000001"),
        ("method", "alipay.trade.refund"),
        ("format", "JSON"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("timestamp", "2024-05-13 17:49:20"),
        ("version", "1.0"),
        ("notify_url", "https://api.example.com/alipay/refund-notify"),
        (
            "biz_content",
            "{\"trade_no\":\"2024051322001400001234567891\",\"refund_amount\":\"20.00\",\
             \"out_request_no\":\"RF-2024-0513-0009-02\",\"refund_reason\":\"部分退款：尺码不合适\"}",
        ),
    ])
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
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
