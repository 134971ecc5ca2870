//! `payport alipay cert-sn`: the SNs certificate mode sends (PROTOCOL.md A9), with what
//! they were computed from, to find out why Alipay does not accept one.

use std::path::Path;

use payport_alipay_openapi::{CertError, CertSn, RootCertSn};
use serde_json::{json, Value};

use super::ToolOutcome;

/// `--cert F` or `--root-cert F` (clap makes sure one is given).
pub fn run(cert_file: Option<&Path>, root_file: Option<&Path>) -> ToolOutcome {
    match (cert_file, root_file) {
        (Some(file), _) => cert(file),
        (None, Some(file)) => root_cert(file),
        (None, None) => ToolOutcome::Unusable("give --cert or --root-cert".into()),
    }
}

/// stdout: `{"sn", "issuer", "serial", "hashed"}`: `hashed` is the text whose MD5 is `sn`.
fn cert(file: &Path) -> ToolOutcome {
    let sn = match cert_of_file(file) {
        Ok(sn) => sn,
        Err(why) => return ToolOutcome::Unusable(why),
    };
    ToolOutcome::Done(json!({
        "sn": sn.sn(),
        "issuer": sn.issuer(),
        "serial": sn.serial_decimal(),
        "hashed": format!("{}{}", sn.issuer(), sn.serial_decimal()),
    }))
}

/// stdout: `{"certificates": [...], "root_sn"}`, each certificate included or skipped
/// with the reason; exit 1 when none is included (no root SN).
fn root_cert(file: &Path) -> ToolOutcome {
    let root = match root_of_file(file) {
        Ok(root) => root,
        Err(why) => return ToolOutcome::Unusable(why),
    };
    let certificates: Vec<Value> = root
        .certificates()
        .iter()
        .enumerate()
        .map(|(index, cert)| {
            let algorithm = cert.signature_name().unwrap_or("unknown algorithm");
            let oid = cert.signature_oid();
            let why = if cert.counts_for_root() {
                format!("included: signed with {algorithm} ({oid}), an RSA algorithm")
            } else {
                format!("skipped: signed with {algorithm} ({oid}), not RSA (1.2.840.113549.1.1.*)")
            };
            json!({
                "index": index,
                "included": cert.counts_for_root(),
                "why": why,
                "sn": cert.sn(),
                "issuer": cert.issuer(),
                "serial": cert.serial_decimal(),
            })
        })
        .collect();
    match root.sn() {
        Ok(sn) => ToolOutcome::Done(json!({ "certificates": certificates, "root_sn": sn })),
        Err(e) => ToolOutcome::Invalid(json!({
            "certificates": certificates,
            "root_sn": null,
            "error": e.to_string(),
        })),
    }
}

/// The SN of a certificate file (PEM or DER), errors naming the file.
pub(super) fn cert_of_file(file: &Path) -> Result<CertSn, String> {
    read(file).and_then(|bytes| of_bytes(&bytes).map_err(|e| named(file, &e)))
}

/// The root bundle of a file (PEM or one DER certificate), errors naming the file.
pub(super) fn root_of_file(file: &Path) -> Result<RootCertSn, String> {
    read(file).and_then(|bytes| root_of_bytes(&bytes).map_err(|e| named(file, &e)))
}

fn read(file: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
}

/// PEM text, or DER (which starts with a SEQUENCE tag and is not text). PEM is read
/// leniently: a comment in another encoding around the blocks does not matter.
fn by_format<T>(
    bytes: &[u8],
    pem: impl FnOnce(&str) -> Result<T, CertError>,
    der: impl FnOnce(&[u8]) -> Result<T, CertError>,
) -> Result<T, CertError> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN") {
        pem(&text)
    } else if bytes.first() == Some(&0x30) {
        der(bytes)
    } else {
        Err(CertError::NoCertificate)
    }
}

fn of_bytes(bytes: &[u8]) -> Result<CertSn, CertError> {
    by_format(bytes, CertSn::of_pem, CertSn::of_der)
}

fn root_of_bytes(bytes: &[u8]) -> Result<RootCertSn, CertError> {
    by_format(bytes, RootCertSn::of_bundle, RootCertSn::of_der)
}

fn named(file: &Path, e: &CertError) -> String {
    format!("{}: {e}", file.display())
}
