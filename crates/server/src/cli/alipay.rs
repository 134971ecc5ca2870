//! `payport alipay sign | verify-notify | verify-response`: reproduce or check what
//! Alipay computes, to find out why a signature does not match. In certificate mode
//! (PROTOCOL.md A9) `sign` adds the certificates' SNs and the verify tools take
//! Alipay's key from its certificate, as requests and payport's checks do.

use std::path::Path;

use payport_alipay_openapi::sign_content::request_sign_content;
use payport_alipay_openapi::{
    extract_response, parse_form_urlencoded, public_key_of_pem, CertSn, PrivateKey, PublicKey,
    SignType, Signer, Verifier, VerifierExt,
};
use serde_json::{json, Value};

use super::cert_sn::{cert_of_file, root_of_file};
use super::{read_key_file, ToolOutcome};

/// Where the tools take Alipay's public key from (clap makes sure exactly one is given).
pub enum AlipayKey<'a> {
    /// `--alipay-public-key`: PEM or one-line base64 (public key mode).
    PublicKey(&'a Path),
    /// `--alipay-cert`: Alipay's certificate (certificate mode); its SN is reported.
    Cert(&'a Path),
}

impl<'a> AlipayKey<'a> {
    /// The one of `--alipay-public-key` and `--alipay-cert` given; clap already refuses
    /// neither and both, and this says the same should it ever let one through.
    pub fn of(public_key: Option<&'a Path>, cert: Option<&'a Path>) -> Result<Self, ToolOutcome> {
        match (public_key, cert) {
            (Some(file), None) => Ok(Self::PublicKey(file)),
            (None, Some(file)) => Ok(Self::Cert(file)),
            _ => Err(ToolOutcome::Unusable(
                "give either --alipay-public-key or --alipay-cert, not both".into(),
            )),
        }
    }
}

/// The app's certificate and Alipay's root bundle, whose SNs certificate mode signs.
pub struct RequestCerts<'a> {
    pub app_cert: &'a Path,
    pub alipay_root_cert: &'a Path,
}

fn sign_type(text: &str) -> Result<SignType, String> {
    text.parse::<SignType>()
        .map_err(|_| format!("sign type {text:?} is neither RSA2 nor RSA"))
}

/// stdin: a JSON object of request parameters (string values).
/// stdout: `{"string_to_sign": ..., "sign": ...}` by PROTOCOL.md A2; with `certs`, also
/// `app_cert_sn` and `alipay_root_cert_sn`, which are added to what is signed.
pub fn sign(
    private_key: &Path,
    certs: Option<&RequestCerts<'_>>,
    sign_type_name: &str,
    input: &[u8],
) -> ToolOutcome {
    let run = || -> Result<Value, String> {
        let sign_type = sign_type(sign_type_name)?;
        let key = PrivateKey::parse(&read_key_file(private_key)?)
            .map_err(|e| format!("{}: {e}", private_key.display()))?;
        let signer = Signer::new(&key, sign_type).map_err(|e| e.to_string())?;
        let params: serde_json::Map<String, Value> = serde_json::from_slice(input)
            .map_err(|e| format!("standard input is not a JSON object of parameters: {e}"))?;
        let sns = certs.map(request_sns).transpose()?;
        let mut pairs = Vec::with_capacity(params.len() + 2);
        for (name, sn) in sns.iter().flatten() {
            match params.get(*name) {
                None => pairs.push((*name, sn.as_str())),
                // Given twice, the two must agree: a stale SN is what this tool hunts.
                Some(Value::String(given)) if given == sn => {}
                Some(given) => {
                    return Err(format!(
                        "standard input has {name} {given}, but the certificate's SN is {sn:?}"
                    ))
                }
            }
        }
        for (key, value) in &params {
            let Value::String(value) = value else {
                return Err(format!(
                    "parameter {key:?} is not a string; send every value as a JSON string"
                ));
            };
            pairs.push((key.as_str(), value.as_str()));
        }
        let string_to_sign =
            request_sign_content(pairs.iter().copied().filter(|(k, _)| *k != "sign"));
        let sign = signer
            .sign(string_to_sign.as_bytes())
            .map_err(|e| format!("signing failed: {e}"))?;
        let mut out = json!({ "string_to_sign": string_to_sign, "sign": sign });
        for (name, sn) in sns.iter().flatten() {
            out[*name] = json!(sn);
        }
        Ok(out)
    };
    match run() {
        Ok(json) => ToolOutcome::Done(json),
        Err(why) => ToolOutcome::Unusable(why),
    }
}

/// `app_cert_sn` and `alipay_root_cert_sn` of the files, as requests send them.
fn request_sns(certs: &RequestCerts<'_>) -> Result<[(&'static str, String); 2], String> {
    let app = cert_of_file(certs.app_cert)?;
    let root = root_of_file(certs.alipay_root_cert)?
        .sn()
        .map_err(|e| format!("{}: {e}", certs.alipay_root_cert.display()))?;
    Ok([
        ("app_cert_sn", app.sn().to_owned()),
        ("alipay_root_cert_sn", root),
    ])
}

/// The verifier, and the certificate's SN when the key came from one.
fn verifier(
    key: &AlipayKey<'_>,
    sign_type_name: &str,
) -> Result<(Verifier, Option<CertSn>), String> {
    let sign_type = sign_type(sign_type_name)?;
    let (key, sn) = match *key {
        AlipayKey::PublicKey(file) => {
            let key = PublicKey::parse(&read_key_file(file)?)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            (key, None)
        }
        AlipayKey::Cert(file) => {
            let sn = cert_of_file(file)?;
            // The SN reads DER too; the key is taken from PEM text only.
            let pem = std::fs::read_to_string(file).map_err(|_| {
                format!(
                    "{}: give Alipay's certificate as PEM (openssl x509 -inform der converts it)",
                    file.display()
                )
            })?;
            let key = public_key_of_pem(&pem).map_err(|e| format!("{}: {e}", file.display()))?;
            (key, Some(sn))
        }
    };
    let verifier = Verifier::new(&key, sign_type).map_err(|e| e.to_string())?;
    Ok((verifier, sn))
}

/// stdin: the raw form body Alipay POSTed. stdout: `{"valid", "string_to_verify"}`.
pub fn verify_notify(key: &AlipayKey<'_>, sign_type_name: &str, input: &[u8]) -> ToolOutcome {
    let (verifier, _) = match verifier(key, sign_type_name) {
        Ok(v) => v,
        Err(why) => return ToolOutcome::Unusable(why),
    };
    let body = trim_line_end(input);
    let fields = match parse_form_urlencoded(body) {
        Ok(fields) => fields,
        Err(e) => return ToolOutcome::Unusable(format!("standard input is not a form body: {e}")),
    };
    let check = verifier.verify_notify(&fields);
    let json = json!({
        "valid": check.is_valid(),
        "verdict": format!("{:?}", check.verdict),
        "string_to_verify": check.content,
    });
    if check.is_valid() {
        ToolOutcome::Done(json)
    } else {
        ToolOutcome::Invalid(json)
    }
}

/// stdin: a raw gateway response body. stdout: `{"valid", "signed_content"}`; with
/// `--alipay-cert`, also the `alipay_cert_sn` the answer names and the certificate's
/// `cert_sn`: when they differ, Alipay signed under another (rotated) certificate.
pub fn verify_response(
    key: &AlipayKey<'_>,
    sign_type_name: &str,
    method: Option<&str>,
    input: &[u8],
) -> ToolOutcome {
    let (verifier, cert_sn) = match verifier(key, sign_type_name) {
        Ok(v) => v,
        Err(why) => return ToolOutcome::Unusable(why),
    };
    let Ok(body) = std::str::from_utf8(trim_line_end(input)) else {
        return ToolOutcome::Unusable("standard input is not UTF-8 text".into());
    };
    // With no method node in sight, a method name that matches nothing makes the
    // extractor take `error_response`, as Alipay's SDKs do.
    let method = method
        .map(str::to_owned)
        .or_else(|| response_method(body))
        .unwrap_or_else(|| "alipay.unnamed.method".to_owned());
    let check = match verifier.verify_response(body, &method) {
        Ok(check) => check,
        Err(e) => return ToolOutcome::Unusable(format!("not a gateway response: {e}")),
    };
    let mut json = json!({
        "valid": check.is_verified(),
        "verdict": match &check {
            payport_alipay_openapi::response::ResponseCheck::Verified { .. } => "verified",
            payport_alipay_openapi::response::ResponseCheck::BadSignature { .. } => "bad_signature",
            payport_alipay_openapi::response::ResponseCheck::Unsigned { .. } => "unsigned",
        },
        "signed_content": check.content(),
    });
    if let Some(cert_sn) = cert_sn {
        let answered = extract_response(body, &method)
            .ok()
            .and_then(|r| r.alipay_cert_sn);
        json["alipay_cert_sn"] = json!(answered);
        json["cert_sn"] = json!(cert_sn.sn());
    }
    if check.is_verified() {
        ToolOutcome::Done(json)
    } else {
        ToolOutcome::Invalid(json)
    }
}

/// The method whose `<method>_response` node the body carries, as underscores (which
/// name the same node), when `--method` is not given.
fn response_method(body: &str) -> Option<String> {
    let end = body.find("_response\"")?;
    let start = body[..end].rfind('"')? + 1;
    Some(body[start..end].to_owned()).filter(|m| m != "error")
}

/// Shell pipes often add a final newline that is not part of the body.
fn trim_line_end(input: &[u8]) -> &[u8] {
    let mut end = input.len();
    while end > 0 && matches!(input[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &input[..end]
}
