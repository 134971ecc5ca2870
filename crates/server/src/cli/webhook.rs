//! `payport webhook verify`: checks a webhook delivery as a receiver should, to find
//! out why a receiver refuses payport's deliveries (wrong secret, a body changed on
//! the way, a clock off by more than the tolerance).

use payport_webhooks::signature;
use serde_json::json;

use super::ToolOutcome;

/// stdin: the raw body as received. stdout: `{"valid", "t"}` or `{"valid": false,
/// "reason", "message"}`; exit 0 when the signature is valid, 1 when it is not.
/// `tolerance` 0 accepts any age (to check a delivery stored long ago).
pub fn verify(secret: &str, header: &str, tolerance: u64, now: i64, body: &[u8]) -> ToolOutcome {
    if secret.is_empty() {
        return ToolOutcome::Unusable("--secret is empty".into());
    }
    let tolerance = (tolerance > 0).then_some(tolerance);
    let mut result = signature::verify(secret, header, body, now, tolerance);
    // A shell pipe often adds a final newline that was not in the delivered body.
    let trimmed = body
        .strip_suffix(b"\n")
        .map(|b| b.strip_suffix(b"\r").unwrap_or(b));
    if let (Err(signature::VerifyError::Mismatch), Some(trimmed)) = (&result, trimmed) {
        result = signature::verify(secret, header, trimmed, now, tolerance);
    }
    match result {
        Ok(()) => {
            let t = header
                .split(',')
                .find_map(|item| item.trim().strip_prefix("t="))
                .and_then(|t| t.parse::<i64>().ok());
            ToolOutcome::Done(json!({ "valid": true, "t": t }))
        }
        Err(e) => ToolOutcome::Invalid(json!({
            "valid": false,
            "reason": e.kind(),
            "message": e.to_string(),
        })),
    }
}
