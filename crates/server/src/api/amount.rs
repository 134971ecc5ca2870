//! `AmountText`: an amount as the API carries it, a JSON string like `"88.88"`.
//!
//! A plain `String` field would also take the JSON number `99999999.999999999`,
//! stringified after a trip through f64 (`"100000000.0"`), and so accept an amount the
//! client never wrote. Money is never a JSON number here.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountText(pub String);

impl Type for AmountText {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string(amount)".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(
                "An amount in yuan: a string, 0.01 to 100000000.00, at most two decimals.",
            ),
            // 0.01 to 100000000.00: zero and more are refused, so the spec says so.
            pattern: Some(
                r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,7}(\.[0-9]{1,2})?|100000000(\.00?)?)$"
                    .into(),
            ),
            example: Some(Value::String("88.88".into())),
            ..MetaSchema::new_with_format("string", "amount")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for AmountText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => Ok(AmountText(text)),
            Some(Value::Number(_)) => Err(ParseError::custom(
                "amounts are JSON strings like \"88.88\", never numbers",
            )),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for AmountText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_strings_are_amounts() {
        let parse = |v: Value| AmountText::parse_from_json(Some(v));
        assert_eq!(
            parse(Value::String("88.88".into())).ok(),
            Some(AmountText("88.88".into()))
        );
        assert!(parse(serde_json::json!(99_999_999.999_999_999)).is_err());
        assert!(parse(serde_json::json!(1)).is_err());
        assert!(parse(serde_json::json!(true)).is_err());
        assert!(AmountText::parse_from_json(None).is_err());
    }
}
