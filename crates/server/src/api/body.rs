//! `JsonBody<T>`: poem-openapi's `Json<T>` for request bodies, plus the name of the
//! field at fault when the body does not fit `T`'s schema. poem-openapi's own parse
//! error says what was wrong ("expected string, found 42") but not where, so the
//! error answer could not carry `param`.
//!
//! The field is found exactly, never guessed: an object's fields are parsed one by
//! one in declaration order, each on its own value alone, so the field the parse
//! stopped at is the first one that fails when put, as received, into `T`'s example
//! (which parses). `param` is the top-level field's name (`subject`; an array's bad
//! element names the array, `refund_ids`); when none fails that way (the body is not
//! an object at all), there is no `param`.

use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{Example, ParseFromJSON, ToJSON, Type};
use serde_json::Value;

/// A JSON request body of type `T`; the spec sees exactly what `Json<T>` shows.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A body that does not fit its schema, with the field at fault when known.
#[derive(Debug)]
pub struct BodyError {
    pub param: Option<String>,
    pub reason: String,
}

// The same words as poem-openapi's own payload error.
impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parse request payload error: {}", self.reason)
    }
}

impl std::error::Error for BodyError {}

impl ResponseError for BodyError {
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON + ToJSON + Example> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        // As `Json<T>` does: an empty body is `null`, so it fails as "not an object".
        let value = if data.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&data).map_err(|e| BodyError {
                param: None,
                reason: e.to_string(),
            })?
        };
        match T::parse_from_json(Some(value)) {
            Ok(parsed) => Ok(JsonBody(parsed)),
            // The body is read again only when it failed, so that a good request does
            // not pay for a copy of itself.
            Err(e) => {
                let received = serde_json::from_slice(&data).unwrap_or(Value::Null);
                Err(BodyError {
                    param: field_at_fault::<T>(&received),
                    reason: e.into_message(),
                }
                .into())
            }
        }
    }
}

impl_apirequest_for_payload!(JsonBody<T>, T: ParseFromJSON + ToJSON + Example);

/// The first of `T`'s fields, in parse order, whose received value fails on its own.
pub fn field_at_fault<T: ParseFromJSON + ToJSON + Example>(received: &Value) -> Option<String> {
    let received = received.as_object()?;
    let Some(Value::Object(example)) = T::example().to_json() else {
        return None;
    };
    // Only a good example tells which field is bad.
    T::parse_from_json(Some(Value::Object(example.clone()))).ok()?;
    let mut registry = Registry::new();
    T::register(&mut registry);
    let schema = registry.schemas.get(&*T::name())?;
    schema.properties.iter().find_map(|(name, _)| {
        let mut alone = example.clone();
        match received.get(*name) {
            Some(value) => alone.insert((*name).to_owned(), value.clone()),
            None => alone.remove(*name),
        };
        T::parse_from_json(Some(Value::Object(alone)))
            .is_err()
            .then(|| (*name).to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::event_models::CreateWebhookEndpoint;
    use crate::api::models::{
        CreateOperatorBatch, CreateOrder, CreateRefund, RejectRefund, StartPayment,
    };
    use crate::api::reconciliations::RunReconciliation;
    use serde_json::json;

    fn example_parses<T: ParseFromJSON + ToJSON + Example>() -> bool {
        T::parse_from_json(T::example().to_json()).is_ok()
    }

    #[test]
    fn every_request_body_has_an_example_that_parses() {
        // Without one, no field could be named.
        assert!(example_parses::<CreateOrder>());
        assert!(example_parses::<StartPayment>());
        assert!(example_parses::<CreateRefund>());
        assert!(example_parses::<RejectRefund>());
        assert!(example_parses::<CreateOperatorBatch>());
        assert!(example_parses::<RunReconciliation>());
        assert!(example_parses::<CreateWebhookEndpoint>());
    }

    #[test]
    fn the_field_named_is_the_one_the_parse_stopped_at() {
        let at = |v: Value| field_at_fault::<CreateOrder>(&v);
        // Two faults: the parse stops at the first declared, and so does `param`.
        assert_eq!(at(json!({"subject": 42})).as_deref(), Some("subject"));
        assert_eq!(
            at(json!({"subject": "tea", "total_amount": true})).as_deref(),
            Some("total_amount")
        );
        assert_eq!(
            at(json!({"subject": "tea", "total_amount": "1.00", "timeout_minutes": "5"}))
                .as_deref(),
            Some("timeout_minutes")
        );
        let batch = |v: Value| field_at_fault::<CreateOperatorBatch>(&v);
        assert_eq!(
            batch(json!({"refund_ids": ["r1", 2]})).as_deref(),
            Some("refund_ids")
        );
        // Not an object: no field to name.
        assert_eq!(at(json!([1])), None);
        assert_eq!(at(Value::Null), None);
    }
}
