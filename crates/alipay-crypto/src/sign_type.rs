//! `sign_type`: which RSA signature scheme an app is configured for.
//!
//! Contract: `RSA2` is RSASSA-PKCS1-v1_5 with SHA-256 and `RSA` is RSASSA-PKCS1-v1_5
//! with SHA-1 (PROTOCOL.md A2 step 5). Parsing is exact and case-sensitive, because the
//! value is signed text: `rsa2` is not what Alipay sends, so it is refused rather than
//! guessed.

use std::fmt;
use std::str::FromStr;

/// The signature scheme of an app (request `sign_type`, and what its answers are checked with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignType {
    /// `RSA2`: RSASSA-PKCS1-v1_5 with SHA-256. What payport uses.
    Rsa2,
    /// `RSA`: RSASSA-PKCS1-v1_5 with SHA-1. Legacy apps only.
    Rsa,
}

impl SignType {
    /// The wire value, as sent in `sign_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Rsa2 => "RSA2",
            SignType::Rsa => "RSA",
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `sign_type` value other than exactly `RSA2` or `RSA`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sign_type {0:?} is not supported; expected exactly \"RSA2\" or \"RSA\"")]
pub struct UnknownSignType(pub String);

impl FromStr for SignType {
    type Err = UnknownSignType;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "RSA2" => Ok(SignType::Rsa2),
            "RSA" => Ok(SignType::Rsa),
            other => Err(UnknownSignType(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_exact_wire_values() {
        assert_eq!("RSA2".parse::<SignType>().unwrap(), SignType::Rsa2);
        assert_eq!("RSA".parse::<SignType>().unwrap(), SignType::Rsa);
        for bad in ["rsa2", "Rsa2", " RSA2", "RSA2 ", "RSA256", "MD5", ""] {
            assert!(bad.parse::<SignType>().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn round_trips_through_display() {
        for t in [SignType::Rsa2, SignType::Rsa] {
            assert_eq!(t.to_string().parse::<SignType>().unwrap(), t);
        }
    }
}
