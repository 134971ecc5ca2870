//! Typed access to the string fields of verified notifications and response nodes.
//! A required field that is missing or malformed is an error naming the field.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use payport_domain::GatewayError;
use serde_json::Value;

use payport_alipay_common::beijing;
use payport_alipay_crypto::Verifier;

use crate::notify::verify_notify;
use crate::outcome::Answer;

pub(crate) struct Fields(Vec<(String, String)>);

/// Verifies a notification or return (PROTOCOL.md A5) and gives access to its fields.
///
/// # Errors
/// `BadSignature` unless the signature verifies with the configured sign type.
pub(crate) fn verified_fields(
    fields: &[(String, String)],
    verifier: &Verifier,
) -> Result<Fields, GatewayError> {
    let check = verify_notify(verifier, fields);
    if !check.is_valid() {
        return Err(GatewayError::BadSignature(format!(
            "the notification did not verify: {:?}",
            check.verdict
        )));
    }
    Ok(Fields(fields.to_vec()))
}

impl Fields {
    pub(crate) fn from_node(node: &Answer) -> Fields {
        Fields(
            node.fields
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .chain(node.fields.iter().filter_map(|(k, v)| match v {
                    Value::Number(n) => Some((k.clone(), n.to_string())),
                    _ => None,
                }))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    pub(crate) fn time(&self, key: &str) -> Option<DateTime<Utc>> {
        self.get(key).and_then(beijing::parse_allowing_fraction)
    }

    pub(crate) fn required<'a, T, E: Display>(
        &'a self,
        key: &str,
        parse: impl FnOnce(&'a str) -> Result<T, E>,
    ) -> Result<T, GatewayError> {
        let value = self
            .get(key)
            .ok_or_else(|| GatewayError::Unknown(format!("Alipay's answer has no {key}")))?;
        parse(value).map_err(|e| GatewayError::Unknown(format!("Alipay's {key}: {e}")))
    }

    pub(crate) fn optional<'a, T, E: Display>(
        &'a self,
        key: &str,
        parse: impl FnOnce(&'a str) -> Result<T, E>,
    ) -> Result<Option<T>, GatewayError> {
        self.get(key)
            .map(|value| {
                parse(value).map_err(|e| GatewayError::Unknown(format!("Alipay's {key}: {e}")))
            })
            .transpose()
    }
}
