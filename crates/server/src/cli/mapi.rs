//! `payport mapi sign | verify-notify`: reproduce or check the legacy gateway's MD5
//! signatures (PROTOCOL.md B2), to find out why Alipay answers ILLEGAL_SIGN or why a
//! `batch_refund_notify` was refused.
//!
//! The key file holds the partner's MD5 key as text; a final line ending is ignored.
//! `verify-notify` is the MD5 check only and makes no network call: it cannot ask
//! Alipay's `notify_verify` whether the notify_id is genuine, which the service also
//! requires before it believes a notification.

use std::path::Path;

use payport_alipay_mapi::{md5, Md5Key};
use payport_alipay_openapi::parse_form_urlencoded;
use serde_json::{json, Value};

use super::{read_key_file, ToolOutcome};

/// Reads the MD5 key, naming the file in any error.
fn md5_key(key_file: &Path) -> Result<Md5Key, String> {
    let text = read_key_file(key_file)?;
    // Editors add a final newline; the key itself never ends with one.
    Md5Key::new(text.trim_end_matches(['\r', '\n']))
        .map_err(|e| format!("{}: {e}", key_file.display()))
}

/// stdin: a JSON object of request parameters (string values).
/// stdout: `{"string_to_sign": ..., "sign": ...}` by PROTOCOL.md B2 (sign, sign_type and
/// empty values left out; the key appended with no separator; lowercase hex MD5).
pub fn sign(key_file: &Path, input: &[u8]) -> ToolOutcome {
    let run = || -> Result<Value, String> {
        let key = md5_key(key_file)?;
        let params: serde_json::Map<String, Value> = serde_json::from_slice(input)
            .map_err(|e| format!("standard input is not a JSON object of parameters: {e}"))?;
        let mut pairs = Vec::with_capacity(params.len());
        for (name, value) in &params {
            let Value::String(value) = value else {
                return Err(format!(
                    "parameter {name:?} is not a string; send every value as a JSON string"
                ));
            };
            pairs.push((name.as_str(), value.as_str()));
        }
        let string_to_sign = md5::string_to_sign(pairs);
        let sign = md5::sign(&string_to_sign, &key);
        Ok(json!({ "string_to_sign": string_to_sign, "sign": sign }))
    };
    match run() {
        Ok(json) => ToolOutcome::Done(json),
        Err(why) => ToolOutcome::Unusable(why),
    }
}

/// stdin: the raw form body Alipay POSTed. stdout: `{"valid", "verdict",
/// "string_to_verify"}`; exit 0 when the MD5 sign matches, 1 when it does not.
pub fn verify_notify(key_file: &Path, input: &[u8]) -> ToolOutcome {
    let key = match md5_key(key_file) {
        Ok(key) => key,
        Err(why) => return ToolOutcome::Unusable(why),
    };
    let fields = match parse_form_urlencoded(trim_line_end(input)) {
        Ok(fields) => fields,
        Err(e) => return ToolOutcome::Unusable(format!("standard input is not a form body: {e}")),
    };
    if fields.is_empty() {
        return ToolOutcome::Unusable("standard input holds no form fields".into());
    }
    let check = md5::verify(&fields, &key);
    let json = json!({
        "valid": check.is_valid(),
        "verdict": check.verdict.as_str(),
        "string_to_verify": check.string_to_verify,
    });
    if check.is_valid() {
        ToolOutcome::Done(json)
    } else {
        ToolOutcome::Invalid(json)
    }
}

/// Shell pipes often add a final newline that is not part of the body.
fn trim_line_end(input: &[u8]) -> &[u8] {
    let mut end = input.len();
    while end > 0 && matches!(input[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &input[..end]
}
