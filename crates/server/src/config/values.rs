//! Settings that are parsed into their typed values as the configuration loads, so a
//! bad value refuses to start with its key named (the loader puts the key first).
//! Each is written and read as the same text, whether from TOML or the environment;
//! each error reads "must be ...; got ..." after the key.

use payport_alipay_openapi::SignType;
use payport_domain::policy::ApprovalPolicy;
use payport_domain::refund::RefundGatewayKind;
use payport_domain::Amount;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

use super::AlipayMode;

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d)
}

fn must_be<E: serde::de::Error>(expected: &str, got: &str) -> E {
    E::custom(must_be_text(expected, got))
}

fn must_be_text(expected: &str, got: &str) -> String {
    // A received value is shown whole only when short: it may be a pasted secret.
    let got: String = got.chars().take(40).collect();
    format!("must be {expected}; got {got:?}")
}

/// `alipay.mode`: `simulator`, `sandbox`, `production` or `custom`.
pub mod mode {
    use super::*;

    pub fn serialize<S: Serializer>(value: &AlipayMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AlipayMode, D::Error> {
        let text = text(d)?;
        AlipayMode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or_else(|| must_be("one of simulator, sandbox, production, custom", &text))
    }
}

/// `alipay.sign_type`: exactly `RSA2` or `RSA`.
pub mod sign_type {
    use super::*;

    pub fn serialize<S: Serializer>(value: &SignType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignType, D::Error> {
        let text = text(d)?;
        text.parse().map_err(|_| must_be("RSA2 or RSA", &text))
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
            amount => ApprovalPolicy::ManualAbove(Amount::parse(amount).map_err(|e| {
                format!(
                    "must be auto, manual or an amount such as 100.00 ({e}); got {:?}",
                    amount.chars().take(40).collect::<String>()
                )
            })?),
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
        RefundGatewayKind::parse(&text)
            .ok_or_else(|| must_be("one of openapi, mapi_nopwd, mapi_pwd", &text))
    }
}

/// `reconciliation.daily_at`: a time of day, `HH:MM` (24-hour).
pub mod time_of_day {
    use super::*;
    use chrono::NaiveTime;

    pub fn to_text(value: NaiveTime) -> String {
        value.format("%H:%M").to_string()
    }

    /// # Errors
    /// Not exactly `HH:MM`.
    pub fn parse(text: &str) -> Result<NaiveTime, String> {
        NaiveTime::parse_from_str(text, "%H:%M")
            .ok()
            .filter(|t| to_text(*t) == text)
            .ok_or_else(|| {
                must_be::<serde::de::value::Error>("a time HH:MM such as 09:00", text).to_string()
            })
    }

    pub fn serialize<S: Serializer>(value: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_text(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        parse(&text(d)?).map_err(D::Error::custom)
    }
}

/// `payments.check_after_secs`: whole seconds, a list in TOML (`[15, 60]`), or the
/// same text in the environment (`PAYPORT_PAYMENTS__CHECK_AFTER_SECS="[15, 60]"`;
/// the brackets may be left out).
pub mod seconds_list {
    use std::fmt;

    use serde::de::{SeqAccess, Visitor};
    use serde::Serialize;

    use super::*;

    const EXPECTED: &str = "a list of whole seconds such as [15, 60, 120]";

    /// # Errors
    /// Anything but comma-separated whole numbers, optionally in brackets.
    pub fn parse(text: &str) -> Result<Vec<u64>, String> {
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(trimmed);
        if inner.trim().is_empty() {
            return Ok(Vec::new());
        }
        inner
            .split(',')
            .map(|part| part.trim().parse::<u64>())
            .collect::<Result<_, _>>()
            .map_err(|_| must_be_text(EXPECTED, text))
    }

    pub fn serialize<S: Serializer>(value: &[u64], s: S) -> Result<S::Ok, S::Error> {
        value.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        struct Seconds;

        impl<'de> Visitor<'de> for Seconds {
            type Value = Vec<u64>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
                let mut all = Vec::new();
                while let Some(secs) = seq.next_element::<u64>()? {
                    all.push(secs);
                }
                Ok(all)
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<u64>, E> {
                parse(text).map_err(E::custom)
            }
        }

        d.deserialize_any(Seconds)
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

    #[test]
    fn daily_at_is_hh_mm() {
        for text in ["09:00", "00:00", "23:59"] {
            let time = time_of_day::parse(text).expect(text);
            assert_eq!(time_of_day::to_text(time), text);
        }
        for bad in ["9:00", "24:00", "09:00:00", "nine", ""] {
            assert!(time_of_day::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seconds_lists_read_with_or_without_brackets() {
        assert_eq!(seconds_list::parse("[0, 1]"), Ok(vec![0, 1]));
        assert_eq!(seconds_list::parse(" 15,60 ,120"), Ok(vec![15, 60, 120]));
        assert_eq!(seconds_list::parse("[]"), Ok(vec![]));
        for bad in ["[1, -2]", "15 60", "1.5", "[1,]"] {
            let e = seconds_list::parse(bad).unwrap_err();
            assert!(
                e.starts_with("must be a list of whole seconds"),
                "{bad}: {e}"
            );
        }
    }
}
