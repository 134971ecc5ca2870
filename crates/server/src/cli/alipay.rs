//! `payport alipay sign | verify-notify | verify-response`: reproduce or check what
//! Alipay computes, to find out why a signature does not match.

use std::path::Path;

use payport_alipay_openapi::sign_content::request_sign_content;
use payport_alipay_openapi::{
    parse_form_urlencoded, PrivateKey, PublicKey, SignType, Signer, Verifier, VerifierExt,
};
use serde_json::{json, Value};

use super::{read_key_file, ToolOutcome};

fn sign_type(text: &str) -> Result<SignType, String> {
    text.parse::<SignType>()
        .map_err(|_| format!("sign type {text:?} is neither RSA2 nor RSA"))
}

/// stdin: a JSON object of request parameters (string values).
/// stdout: `{"string_to_sign": ..., "sign": ...}` by PROTOCOL.md A2.
pub fn sign(private_key: &Path, sign_type_name: &str, input: &[u8]) -> ToolOutcome {
    let run = || -> Result<Value, String> {
        let sign_type = sign_type(sign_type_name)?;
        let key = PrivateKey::parse(&read_key_file(private_key)?)
            .map_err(|e| format!("{}: {e}", private_key.display()))?;
        let signer = Signer::new(&key, sign_type).map_err(|e| e.to_string())?;
        let params: serde_json::Map<String, Value> = serde_json::from_slice(input)
            .map_err(|e| format!("standard input is not a JSON object of parameters: {e}"))?;
        let mut pairs = Vec::with_capacity(params.len());
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
        Ok(json!({ "string_to_sign": string_to_sign, "sign": sign }))
    };
    match run() {
        Ok(json) => ToolOutcome::Done(json),
        Err(why) => ToolOutcome::Unusable(why),
    }
}

fn verifier(public_key: &Path, sign_type_name: &str) -> Result<Verifier, String> {
    let sign_type = sign_type(sign_type_name)?;
    let key = PublicKey::parse(&read_key_file(public_key)?)
        .map_err(|e| format!("{}: {e}", public_key.display()))?;
    Verifier::new(&key, sign_type).map_err(|e| e.to_string())
}

/// stdin: the raw form body Alipay POSTed. stdout: `{"valid", "string_to_verify"}`.
pub fn verify_notify(public_key: &Path, sign_type_name: &str, input: &[u8]) -> ToolOutcome {
    let verifier = match verifier(public_key, sign_type_name) {
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

/// stdin: a raw gateway response body. stdout: `{"valid", "signed_content"}`.
pub fn verify_response(
    public_key: &Path,
    sign_type_name: &str,
    method: Option<&str>,
    input: &[u8],
) -> ToolOutcome {
    let verifier = match verifier(public_key, sign_type_name) {
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
    let json = json!({
        "valid": check.is_verified(),
        "verdict": match &check {
            payport_alipay_openapi::response::ResponseCheck::Verified { .. } => "verified",
            payport_alipay_openapi::response::ResponseCheck::BadSignature { .. } => "bad_signature",
            payport_alipay_openapi::response::ResponseCheck::Unsigned { .. } => "unsigned",
        },
        "signed_content": check.content(),
    });
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
