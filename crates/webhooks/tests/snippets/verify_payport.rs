// The README's Rust snippet, word for word (tests/snippets.rs checks that it is).
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// `now` in unix seconds; `tolerance` in seconds, e.g. 300.
pub fn verify_payport(secret: &str, header: &str, body: &[u8], now: i64, tolerance: u64) -> bool {
    let mut t = None;
    let mut signatures = Vec::new();
    for (name, value) in header
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
    {
        match name {
            "t" => t = value.parse::<i64>().ok(),
            "v1" => signatures.extend(hex::decode(value)),
            _ => {}
        }
    }
    let Some(t) = t.filter(|t| now.abs_diff(*t) <= tolerance) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    signatures
        .iter()
        .any(|s| mac.clone().verify_slice(s).is_ok())
}
