//! Settings that are parsed into their typed values as the configuration loads, so a
//! bad value refuses to start with its key named (figment adds the key to the error).
//! Each is written and read as the same text, whether from TOML or the environment.

use payport_alipay_openapi::SignType;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::refund::RefundGatewayKind;
use payport_domain::Amount;
use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer, Serializer};

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d)
}

/// `alipay.sign_type`: exactly `RSA2` or `RSA`.
pub mod sign_type {
    use super::*;

    pub fn serialize<S: Serializer>(value: &SignType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignType, D::Error> {
        let text = text(d)?;
        text.parse()
            .map_err(|_| D::Error::invalid_value(Unexpected::Str(&text), &"RSA2 or RSA"))
    }
}

/// `refunds.approval`: `auto`, `manual`, or an amount above which an operator must
/// approve (Alipay's amount format, e.g. `100.00`).
pub mod approval {
    use super::*;

    pub fn to_text(value: ApprovalPolicy) -> String {
        match value {
            ApprovalPolicy::Auto => "auto".to_owned(),
            ApprovalPolicy::Manual => "manual".to_owned(),
            ApprovalPolicy::ManualAbove(amount) => amount.to_string(),
        }
    }

    /// # Errors
    /// Neither `auto`, `manual` nor an amount.
    pub fn parse(text: &str) -> Result<ApprovalPolicy, String> {
        Ok(match text {
            "auto" => ApprovalPolicy::Auto,
            "manual" => ApprovalPolicy::Manual,
            amount => ApprovalPolicy::ManualAbove(
                Amount::parse(amount)
                    .map_err(|e| format!("expected auto, manual or an amount: {e}"))?,
            ),
        })
    }

    pub fn serialize<S: Serializer>(value: &ApprovalPolicy, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_text(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ApprovalPolicy, D::Error> {
        parse(&text(d)?).map_err(D::Error::custom)
    }
}

/// `refunds.default_gateway`: `openapi`, `mapi_nopwd` or `mapi_pwd`.
pub mod gateway_kind {
    use super::*;

    pub fn serialize<S: Serializer>(value: &RefundGatewayKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RefundGatewayKind, D::Error> {
        let text = text(d)?;
        RefundGatewayKind::parse(&text).ok_or_else(|| {
            D::Error::invalid_value(Unexpected::Str(&text), &"openapi, mapi_nopwd or mapi_pwd")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_reads_back_what_it_writes() {
        for text in ["auto", "manual", "100.00", "0.01"] {
            let policy = approval::parse(text).expect(text);
            assert_eq!(approval::to_text(policy), text);
        }
        assert!(approval::parse("sometimes").is_err());
        assert!(approval::parse("1.005").is_err());
    }
}
