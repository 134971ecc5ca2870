//! The `Payport-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>`, the MAC
//! taken with the endpoint's secret over `"<t>.<raw body>"` (Stripe's scheme, so
//! receivers can reuse what they know).
//!
//! The time is signed with the body: a captured delivery cannot be replayed later than
//! the receiver's tolerance. Several `v1` entries are accepted (a receiver may be
//! given a header signed with more than one secret while rotating); entries with
//! other names are ignored, so later schemes can be added beside `v1`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far from now a receiver accepts `t` by default: five minutes.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// Why a header does not prove that the body came from the secret's holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// Not `t=<digits>,v1=<64 hex digits>[,v1=...]`; says what is wrong.
    Malformed(String),
    /// `t` is further from now than the tolerance (an old delivery replayed, or a
    /// clock far off).
    OutsideTolerance { t: i64, now: i64, tolerance: u64 },
    /// No `v1` is the MAC of this body at this time with this secret.
    Mismatch,
}

impl VerifyError {
    /// A stable name for each kind, for scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::OutsideTolerance { .. } => "outside_tolerance",
            Self::Mismatch => "mismatch",
        }
    }
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "the signature header is malformed: {why}"),
            Self::OutsideTolerance { t, now, tolerance } => write!(
                f,
                "the signature's time t={t} is {} s from now ({now}), more than the tolerance of {tolerance} s",
                now.abs_diff(*t)
            ),
            Self::Mismatch => f.write_str(
                "no v1 signature matches this body with this secret (wrong secret, or the body was changed)",
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

fn mac(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header for `body` sent at `t` (unix seconds): `t=<t>,v1=<hex>`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let code = mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(code))
}

/// The `t` and the `v1` MACs of a header.
fn parse(header: &str) -> Result<(i64, Vec<Vec<u8>>), VerifyError> {
    let malformed = |why: &str| VerifyError::Malformed(why.to_owned());
    let mut t = None;
    let mut macs = Vec::new();
    for item in header.split(',') {
        let (name, value) = item
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed("every item must be name=value"))?;
        match name {
            "t" if t.is_some() => return Err(malformed("t is given more than once")),
            "t" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed("t must be unix seconds (digits)"));
                }
                t = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| malformed("t is out of range"))?,
                );
            }
            "v1" => {
                let code = hex::decode(value)
                    .ok()
                    .filter(|code| code.len() == 32)
                    .ok_or_else(|| malformed("v1 must be 64 hex digits"))?;
                macs.push(code);
            }
            _ => {}
        }
    }
    let t = t.ok_or_else(|| malformed("t is missing"))?;
    if macs.is_empty() {
        return Err(malformed("v1 is missing"));
    }
    Ok((t, macs))
}

/// Checks that `header` signs `body` with `secret`, at a `t` at most `tolerance`
/// seconds from `now` (unix seconds; `None`: any time, e.g. to check a stored
/// delivery). The MACs are compared in constant time.
///
/// # Errors
/// [`VerifyError`]: a malformed header, a `t` outside the tolerance, or no match.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: Option<u64>,
) -> Result<(), VerifyError> {
    let (t, macs) = parse(header)?;
    if let Some(tolerance) = tolerance {
        if now.abs_diff(t) > tolerance {
            return Err(VerifyError::OutsideTolerance { t, now, tolerance });
        }
    }
    let expected = mac(secret, t, body);
    // Every candidate is checked, so the time taken does not say which one matched.
    let matched = macs.iter().fold(false, |any, code| {
        expected.clone().verify_slice(code).is_ok() | any
    });
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_0123456789abcdef";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"order.paid"}"#;
    const T: i64 = 1_800_000_000;

    #[test]
    fn a_signed_body_verifies_and_anything_changed_does_not() {
        let header = sign(SECRET, T, BODY);
        assert!(header.starts_with("t=1800000000,v1="), "{header}");
        assert_eq!(verify(SECRET, &header, BODY, T + 10, Some(300)), Ok(()));
        assert_eq!(
            verify("whsec_other_secret_value", &header, BODY, T, Some(300)),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, &header, b"{}", T, Some(300)),
            Err(VerifyError::Mismatch)
        );
        // The time is signed too: moving t breaks the MAC.
        let moved = header.replace("t=1800000000", "t=1800000001");
        assert_eq!(
            verify(SECRET, &moved, BODY, T, Some(300)),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn old_and_future_times_are_refused_unless_the_check_is_off() {
        let header = sign(SECRET, T, BODY);
        for now in [T + 301, T - 301] {
            let e = verify(SECRET, &header, BODY, now, Some(300)).unwrap_err();
            assert_eq!(e.kind(), "outside_tolerance", "{e}");
        }
        assert_eq!(verify(SECRET, &header, BODY, T + 300, Some(300)), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, T + 86_400, None), Ok(()));
    }

    #[test]
    fn any_of_several_v1_entries_may_match_and_other_schemes_are_ignored() {
        let good = sign(SECRET, T, BODY);
        let other = sign("whsec_rotated_away_0000", T, BODY);
        let other_v1 = other.split_once(",v1=").map(|(_, v)| v).unwrap_or_default();
        let header = format!("{good}, v1={other_v1}, v0=abc");
        assert_eq!(verify(SECRET, &header, BODY, T, Some(300)), Ok(()));
        let swapped = format!("t={T},v1={other_v1}");
        assert_eq!(
            verify(SECRET, &swapped, BODY, T, Some(300)),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let v1 = "0".repeat(64);
        for (header, says) in [
            ("", "name=value"),
            (&*format!("v1={v1}"), "t is missing"),
            (&*format!("t={T}"), "v1 is missing"),
            (&*format!("t=-5,v1={v1}"), "digits"),
            (&*format!("t=1e9,v1={v1}"), "digits"),
            (&*format!("t=99999999999999999999,v1={v1}"), "out of range"),
            (&*format!("t={T},t={T},v1={v1}"), "more than once"),
            (&*format!("t={T},v1=abc"), "64 hex"),
            (&*format!("t={T},v1={}", "g".repeat(64)), "64 hex"),
        ] {
            match verify(SECRET, header, BODY, T, Some(300)) {
                Err(VerifyError::Malformed(why)) => assert!(why.contains(says), "{header}: {why}"),
                other => panic!("{header}: {other:?}"),
            }
        }
    }
}
