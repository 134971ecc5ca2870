//! What poem-openapi cannot say itself, added to its document in this one place (so
//! the served `/openapi.json` and the committed `openapi/payport.json` agree): the
//! server, who may call each operation (`x-payport-roles`), the error codes, and the
//! statuses each operation can really answer.

use serde_json::{json, Map, Value};

use super::error::ERROR_CODES;

/// The operations only an operator's token may call; every other one takes a
/// merchant's token too.
pub const OPERATOR_ONLY: &[&str] = &[
    "listRefunds",
    "approveRefund",
    "rejectRefund",
    "createOperatorBatch",
    "redeliverEvent",
    "createWebhookEndpoint",
    "listWebhookEndpoints",
    "deleteWebhookEndpoint",
    "runReconciliation",
    "getReconciliation",
];

/// The one merchant operation that can answer 403: a merchant asking for `mapi_pwd`.
const MERCHANT_FORBIDDEN: &[&str] = &["createRefund"];

/// Operations without a path id that still look records up: the refunds of a batch,
/// the event named as `after`.
const FINDS_BY_REFERENCE: &[&str] = &["createOperatorBatch", "listEvents"];

/// The operations that call Alipay, and so can answer 502 (Alipay refused or
/// contradicted payport). An operator batch asks the password flow for its form, and
/// answers 502 if it gets anything else. tests/spec_scan.rs checks this list against
/// the handlers' source.
const CALLS_ALIPAY: &[&str] = &[
    "startPayment",
    "syncOrder",
    "closeOrder",
    "createRefund",
    "approveRefund",
    "createOperatorBatch",
    "syncRefund",
    "runReconciliation",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

/// poem-openapi's document, completed. Panics only if poem-openapi's own output is not
/// JSON, which the tests would show at once.
pub fn complete(generated: &str) -> String {
    let mut spec: Value = serde_json::from_str(generated).unwrap_or_default();
    spec["servers"] = json!([{
        "url": "http://127.0.0.1:8080",
        "description": "Local development: payport's default listen address"
    }]);
    if let Some(code) = spec.pointer_mut("/components/schemas/ErrorBody/properties/code") {
        code["enum"] = json!(ERROR_CODES);
    }
    if let Some(paths) = spec["paths"].as_object_mut() {
        for operations in paths.values_mut() {
            let Some(operations) = operations.as_object_mut() else {
                continue;
            };
            for (method, op) in operations.iter_mut() {
                if let Some(op) = op.as_object_mut() {
                    complete_operation(method, op);
                }
            }
        }
    }
    serde_json::to_string_pretty(&spec).unwrap_or_default()
}

fn complete_operation(method: &str, op: &mut Map<String, Value>) {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let operator_only = OPERATOR_ONLY.contains(&id.as_str());
    op.insert(
        "x-payport-roles".into(),
        if operator_only {
            json!(["operator"])
        } else {
            json!(["merchant", "operator"])
        },
    );
    if operator_only {
        let note = "Operators only: a merchant's token is answered 403 FORBIDDEN.";
        let description = match op.get("description").and_then(Value::as_str) {
            Some(d) => format!("{d}\n\n{note}"),
            None => note.to_owned(),
        };
        op.insert("description".into(), description.into());
    }
    let has_params = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    let has_path_id = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|p| p.iter().any(|p| p["in"] == "path"));
    let has_body = op.contains_key("requestBody");
    let error = op
        .get("responses")
        .and_then(|r| r.get("400"))
        .and_then(|r| r.get("content"))
        .cloned();
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let mut drop = Vec::new();
    if !operator_only && !MERCHANT_FORBIDDEN.contains(&id.as_str()) {
        drop.push("403");
    }
    if method == "get" || method == "delete" {
        // Neither goes through Idempotency-Key (POSTs only) or asks for a state
        // another request may hold.
        drop.extend(["409", "422"]);
    }
    if !CALLS_ALIPAY.contains(&id.as_str()) {
        drop.push("502");
    }
    if !has_path_id && !FINDS_BY_REFERENCE.contains(&id.as_str()) {
        drop.push("404");
    }
    if !has_params && !has_body {
        drop.push("400");
    }
    for status in drop {
        responses.remove(status);
    }
    let Some(content) = error else {
        return;
    };
    // Answered before any handler runs, so poem-openapi does not know of them.
    responses.insert(
        "413".into(),
        json!({
            "description": "PAYLOAD_TOO_LARGE: the request body is over 1 MiB.",
            "content": content,
        }),
    );
    if has_body {
        responses.insert(
            "415".into(),
            json!({
                "description": "UNSUPPORTED_MEDIA_TYPE: the body is not sent as \
                                `Content-Type: application/json`, or is missing.",
                "content": content,
            }),
        );
    }
}

/// The methods the spec declares for a request path, for a 405's `Allow` header
/// (`GET, POST`); `None` for a path the API does not have.
pub fn allowed_methods(path: &str) -> Option<String> {
    static ROUTES: std::sync::OnceLock<Vec<(Vec<String>, String)>> = std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let spec: Value = serde_json::from_str(&super::spec_json()).unwrap_or_default();
        spec["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(template, ops)| {
                        let segments = template.split('/').map(str::to_owned).collect();
                        let methods = METHODS
                            .iter()
                            .filter(|m| ops.get(**m).is_some())
                            .map(|m| m.to_uppercase())
                            .collect::<Vec<_>>()
                            .join(", ");
                        (segments, methods)
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let wanted: Vec<&str> = path.split('/').collect();
    // As the router does: a literal segment wins over a `{param}`
    // (`/v1/refunds/operator-batches` is not a refund id).
    routes
        .iter()
        .filter(|(segments, _)| {
            segments.len() == wanted.len()
                && segments.iter().zip(&wanted).all(|(s, w)| {
                    s == w || (s.starts_with('{') && s.ends_with('}') && !w.is_empty())
                })
        })
        .min_by_key(|(segments, _)| segments.iter().filter(|s| s.starts_with('{')).count())
        .map(|(_, methods)| methods.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_gets_the_methods_its_operations_have() {
        assert_eq!(allowed_methods("/v1/orders").as_deref(), Some("GET, POST"));
        assert_eq!(
            allowed_methods("/v1/orders/shop_1/sync").as_deref(),
            Some("POST")
        );
        assert_eq!(
            allowed_methods("/v1/refunds/operator-batches").as_deref(),
            Some("POST")
        );
        assert_eq!(allowed_methods("/v1/nothing"), None);
    }
}
