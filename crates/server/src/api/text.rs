//! Strict request text: `Text` takes only a JSON string (poem-openapi's `String` would
//! also take `42` or `true` and stringify it, which the spec does not allow), and
//! `DateText` is a `YYYY-MM-DD` date, declared `format: date` so that clients and
//! generators know what is valid.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

macro_rules! strict_text {
    ($(#[$doc:meta])* $name:ident, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
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

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::String(text)) => Self::parse_from_parameter(&text),
                    other => Err(ParseError::expected_type(other.unwrap_or_default())),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

strict_text!(
    /// A JSON string, never a number or a boolean.
    Text,
    MetaSchema::new("string")
);

strict_text!(
    /// A calendar date, `YYYY-MM-DD`.
    DateText,
    MetaSchema::new_with_format("string", "date")
);

impl ParseFromParameter for Text {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Text(value.to_owned()))
    }
}

impl ParseFromParameter for DateText {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()
            .filter(|d| d.format("%Y-%m-%d").to_string() == value)
            .map(|_| DateText(value.to_owned()))
            .ok_or_else(|| ParseError::custom("a date YYYY-MM-DD"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_strings_are_text() {
        assert_eq!(
            Text::parse_from_json(Some(Value::String("tea".into()))).ok(),
            Some(Text("tea".into()))
        );
        for bad in [serde_json::json!(42), serde_json::json!(true), Value::Null] {
            assert!(Text::parse_from_json(Some(bad)).is_err());
        }
        assert!(Text::parse_from_json(None).is_err());
    }

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        assert!(DateText::parse_from_parameter("2026-11-20").is_ok());
        for bad in ["2026-11-31", "2026-1-5", "20261120", "2026-11-20T00:00", ""] {
            assert!(DateText::parse_from_parameter(bad).is_err(), "{bad}");
        }
    }
}
