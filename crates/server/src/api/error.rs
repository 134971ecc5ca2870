//! The JSON error body and its HTTP status, one stable machine `code` per failure.

use payport_domain::usecases::ServiceError;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// Every stable `code` an error may carry; the spec lists them as `ErrorBody.code`'s
/// enum, and the README's error table explains each. Never rename one: clients match
/// on them.
pub const ERROR_CODES: &[&str] = &[
    "VALIDATION_FAILED",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "GATEWAY_OPERATOR_ONLY",
    "NOT_FOUND",
    "ORDER_NOT_FOUND",
    "REFUND_NOT_FOUND",
    "EVENT_NOT_FOUND",
    "WEBHOOK_ENDPOINT_NOT_FOUND",
    "RECONCILIATION_NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "ORDER_ALREADY_EXISTS",
    "ORDER_NOT_PAID",
    "ORDER_CLOSED",
    "ORDER_FINISHED",
    "ORDER_EXPIRED",
    "OUT_REQUEST_NO_REUSED",
    "INVALID_STATE",
    "CONFLICT",
    "DUPLICATE",
    "IDEMPOTENCY_KEY_IN_USE",
    "RECONCILIATION_RUNNING",
    "PAYLOAD_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "REFUND_EXCEEDS_REFUNDABLE",
    "REFUND_WINDOW_EXPIRED",
    "IDEMPOTENCY_KEY_REUSED",
    "GATEWAY_NOT_CONFIGURED",
    "GATEWAY_REJECTED",
    "GATEWAY_DATA_MISMATCH",
    "NOTIFICATION_REFUSED",
    "INTERNAL_ERROR",
    "GATEWAY_UNAVAILABLE",
    "STORAGE_UNAVAILABLE",
];

/// What every error answers.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example = true, skip_serializing_if_is_none)]
pub struct ErrorBody {
    /// A stable UPPER_SNAKE code to match on, e.g. `REFUND_EXCEEDS_REFUNDABLE`.
    pub code: String,
    /// A sentence for people; not stable.
    pub message: String,
    /// The request field or parameter at fault, on a `VALIDATION_FAILED` answer that
    /// can name one (`subject`, `limit`, `Idempotency-Key`); absent otherwise.
    pub param: Option<String>,
    /// The request's id, as in the `X-Request-Id` header and payport's log: quote it
    /// when asking about a request.
    pub request_id: String,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            code: "REFUND_EXCEEDS_REFUNDABLE".into(),
            message: "the refund exceeds what is left to refund (12.00)".into(),
            param: None,
            request_id: "0b7c6f8e2d4a4e1f9c3b5a7d9e1f3a5c".into(),
        }
    }
}

/// Every error an operation can answer.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// VALIDATION_FAILED: the request is malformed or a value is invalid.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// UNAUTHORIZED: no or an unknown bearer token. Checked before anything else.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// FORBIDDEN: the token's role may not do this; GATEWAY_OPERATOR_ONLY: only an
    /// operator may choose this refund gateway.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// ORDER_NOT_FOUND, REFUND_NOT_FOUND, EVENT_NOT_FOUND, WEBHOOK_ENDPOINT_NOT_FOUND,
    /// RECONCILIATION_NOT_FOUND.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// INVALID_STATE, ORDER_NOT_PAID, ORDER_CLOSED, ORDER_FINISHED, ORDER_EXPIRED,
    /// ORDER_ALREADY_EXISTS, OUT_REQUEST_NO_REUSED, CONFLICT, IDEMPOTENCY_KEY_IN_USE,
    /// RECONCILIATION_RUNNING, DUPLICATE (clashes with a stored record; retrying does
    /// not help).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// REFUND_EXCEEDS_REFUNDABLE, REFUND_WINDOW_EXPIRED, IDEMPOTENCY_KEY_REUSED,
    /// GATEWAY_NOT_CONFIGURED.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// GATEWAY_REJECTED, GATEWAY_DATA_MISMATCH: Alipay refused or contradicted us.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// GATEWAY_UNAVAILABLE, STORAGE_UNAVAILABLE: try again.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        // The request's id is filled in on the way out (telemetry::RequestLog).
        let body = Json(ErrorBody {
            code: code.to_owned(),
            message: message.into(),
            param: None,
            request_id: String::new(),
        });
        match status.as_u16() {
            401 => ApiError::Unauthorized(body),
            403 => ApiError::Forbidden(body),
            404 => ApiError::NotFound(body),
            409 => ApiError::Conflict(body),
            422 => ApiError::Unprocessable(body),
            502 => ApiError::BadGateway(body),
            503 => ApiError::Unavailable(body),
            _ => ApiError::BadRequest(body),
        }
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_FAILED", message)
    }

    /// VALIDATION_FAILED naming the field or parameter at fault.
    pub fn invalid(param: &str, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::validation(message);
        e.body_mut().param = Some(param.to_owned());
        e
    }

    fn body_mut(&mut self) -> &mut ErrorBody {
        match self {
            ApiError::BadRequest(b)
            | ApiError::Unauthorized(b)
            | ApiError::Forbidden(b)
            | ApiError::NotFound(b)
            | ApiError::Conflict(b)
            | ApiError::Unprocessable(b)
            | ApiError::BadGateway(b)
            | ApiError::Unavailable(b) => &mut b.0,
        }
    }

    pub fn body(&self) -> &ErrorBody {
        match self {
            ApiError::BadRequest(b)
            | ApiError::Unauthorized(b)
            | ApiError::Forbidden(b)
            | ApiError::NotFound(b)
            | ApiError::Conflict(b)
            | ApiError::Unprocessable(b)
            | ApiError::BadGateway(b)
            | ApiError::Unavailable(b) => &b.0,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        use ServiceError as E;
        let status = match &e {
            E::Validation(_) => StatusCode::BAD_REQUEST,
            E::OrderNotFound(_)
            | E::RefundNotFound(_)
            | E::EventNotFound(_)
            | E::EndpointNotFound(_)
            | E::ReconciliationNotFound(_) => StatusCode::NOT_FOUND,
            E::OrderExists(_)
            | E::OrderNotPaid
            | E::OrderClosed
            | E::OrderFinished
            | E::OrderExpired
            | E::OutRequestNoReused(_)
            | E::InvalidState(_)
            | E::Conflict
            | E::ReconciliationRunning(_)
            | E::Duplicate(_) => StatusCode::CONFLICT,
            E::RefundExceedsRefundable { .. }
            | E::RefundWindowExpired { .. }
            | E::GatewayNotConfigured(_) => StatusCode::UNPROCESSABLE_ENTITY,
            E::GatewayRejected(_) | E::GatewayDataMismatch(_) | E::NotificationRefused(_) => {
                StatusCode::BAD_GATEWAY
            }
            E::GatewayUnavailable(_) | E::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        // What the store said (SQL, table and constraint names) goes to the log, under
        // the request's id, and never into the answer.
        let message = match &e {
            E::Storage(detail) => {
                tracing::warn!(code = e.code(), detail = %detail, "request failed in storage");
                "storage is unavailable; try again later".to_owned()
            }
            E::Duplicate(detail) => {
                tracing::warn!(code = e.code(), detail = %detail, "request failed in storage");
                e.to_string()
            }
            _ => {
                if status.is_server_error() {
                    tracing::warn!(code = e.code(), error = %e, "request failed");
                }
                e.to_string()
            }
        };
        ApiError::new(status, e.code(), message)
    }
}

/// Turns any error that escaped a handler (parse errors, missing auth, unknown route)
/// into the same JSON body with a stable code, so clients parse one error shape.
/// Answers that already are JSON (our `ApiError`s) pass through unchanged.
pub async fn uniform_errors(e: poem::Error) -> Response {
    let status = e.status();
    let detail = e.to_string();
    let param = param_of(&e);
    let response = e.into_response();
    let is_json = response
        .headers()
        .get(poem::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let code = match status.as_u16() {
        400 => "VALIDATION_FAILED",
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        s if s >= 500 => "INTERNAL_ERROR",
        _ => "VALIDATION_FAILED",
    };
    let message = if status.is_server_error() {
        tracing::error!(error = %detail, "unhandled error");
        "internal error".to_owned()
    } else {
        // poem's parse errors quote what was received.
        payport_domain::clip::clip_to(&detail, 512)
    };
    let mut body = serde_json::json!({ "code": code, "message": message, "request_id": "" });
    if let Some(param) = param.filter(|_| code == "VALIDATION_FAILED") {
        body["param"] = param.into();
    }
    let mut uniform = (status, poem::web::Json(body)).into_response();
    // The matched route stays known to the request metrics.
    if let Some(route) = response.data::<poem::PathPattern>() {
        uniform.set_data(route.clone());
    }
    uniform
}

/// The parameter or body field a parse error is about, when it is known; never read
/// from the message, which may quote what the client sent.
fn param_of(e: &poem::Error) -> Option<String> {
    if let Some(p) = e.downcast_ref::<poem_openapi::error::ParseParamError>() {
        return Some(p.name.to_owned());
    }
    e.downcast_ref::<super::body::BodyError>()?.param.clone()
}

/// Fills in the request's id in an error body (`{"code", "message", ...}`) on its way
/// out; other answers pass unchanged.
pub async fn with_request_id(response: Response, request_id: &str) -> Response {
    let is_json = response
        .headers()
        .get(poem::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status().as_u16() < 400 || !is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = body.into_bytes().await.unwrap_or_default();
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut fields)) if fields.contains_key("code") => {
            fields.insert("request_id".into(), request_id.into());
            serde_json::to_vec(&fields).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    let mut parts = parts;
    parts.headers.remove(poem::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, poem::Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_details_never_reach_the_answer() {
        let sql = "update order o1: UNIQUE constraint failed: orders.trade_no";
        for (e, status, code) in [
            (
                ServiceError::Storage(sql.into()),
                503,
                "STORAGE_UNAVAILABLE",
            ),
            (ServiceError::Duplicate(sql.into()), 409, "DUPLICATE"),
        ] {
            let api = ApiError::from(e);
            let body = api.body().clone();
            assert_eq!(body.code, code);
            assert!(!body.message.contains("UNIQUE"), "{}", body.message);
            assert!(!body.message.contains("orders"), "{}", body.message);
            let answered = poem::IntoResponse::into_response(api).status();
            assert_eq!(answered.as_u16(), status);
        }
    }

    /// Every error a use case can return, one of each variant: the match below stops
    /// compiling when a variant is added, so its code cannot be left out of the spec.
    fn every_service_error() -> Vec<ServiceError> {
        use payport_domain::refund::{GatewayFailure, RefundGatewayKind};
        use payport_domain::{Amount, EndpointId, EventId, OutTradeNo, RefundId};
        let order = OutTradeNo::parse("o1").unwrap_or_else(|_| unreachable!());
        let refund = RefundId::parse("r1").unwrap_or_else(|_| unreachable!());
        let day = chrono::NaiveDate::default();
        let all = vec![
            ServiceError::Validation("x".into()),
            ServiceError::OrderNotFound(order.clone()),
            ServiceError::OrderExists(order),
            ServiceError::RefundNotFound(refund.clone()),
            ServiceError::EventNotFound(EventId::parse("e1").unwrap_or_else(|_| unreachable!())),
            ServiceError::EndpointNotFound(
                EndpointId::parse("w1").unwrap_or_else(|_| unreachable!()),
            ),
            ServiceError::ReconciliationNotFound(day),
            ServiceError::ReconciliationRunning(day),
            ServiceError::OrderNotPaid,
            ServiceError::OrderClosed,
            ServiceError::OrderFinished,
            ServiceError::OrderExpired,
            ServiceError::RefundExceedsRefundable {
                refundable: Amount::ZERO,
            },
            ServiceError::RefundWindowExpired { days: 1 },
            ServiceError::OutRequestNoReused(refund),
            ServiceError::InvalidState(payport_domain::error::TransitionError {
                what: "an order",
                from: "paid",
                action: "close",
            }),
            ServiceError::GatewayRejected(GatewayFailure {
                code: "x".into(),
                sub_code: None,
                message: "x".into(),
            }),
            ServiceError::GatewayUnavailable("x".into()),
            ServiceError::GatewayNotConfigured(RefundGatewayKind::MapiPwd),
            ServiceError::GatewayDataMismatch("x".into()),
            ServiceError::NotificationRefused("x".into()),
            ServiceError::Conflict,
            ServiceError::Duplicate("x".into()),
            ServiceError::Storage("x".into()),
        ];
        for e in &all {
            match e {
                ServiceError::Validation(_)
                | ServiceError::OrderNotFound(_)
                | ServiceError::OrderExists(_)
                | ServiceError::RefundNotFound(_)
                | ServiceError::EventNotFound(_)
                | ServiceError::EndpointNotFound(_)
                | ServiceError::ReconciliationNotFound(_)
                | ServiceError::ReconciliationRunning(_)
                | ServiceError::OrderNotPaid
                | ServiceError::OrderClosed
                | ServiceError::OrderFinished
                | ServiceError::OrderExpired
                | ServiceError::RefundExceedsRefundable { .. }
                | ServiceError::RefundWindowExpired { .. }
                | ServiceError::OutRequestNoReused(_)
                | ServiceError::InvalidState(_)
                | ServiceError::GatewayRejected(_)
                | ServiceError::GatewayUnavailable(_)
                | ServiceError::GatewayNotConfigured(_)
                | ServiceError::GatewayDataMismatch(_)
                | ServiceError::NotificationRefused(_)
                | ServiceError::Conflict
                | ServiceError::Duplicate(_)
                | ServiceError::Storage(_) => {}
            }
        }
        all
    }

    #[tokio::test]
    async fn every_code_the_server_answers_is_one_the_spec_lists() {
        let mut answered: Vec<String> = every_service_error()
            .into_iter()
            .map(|e| ApiError::from(e).body().code.clone())
            .collect();
        // The codes the HTTP layer makes itself: auth, roles, idempotency, and the
        // answers of poem's own errors.
        answered.extend(
            [
                "UNAUTHORIZED",
                "FORBIDDEN",
                "GATEWAY_OPERATOR_ONLY",
                "IDEMPOTENCY_KEY_REUSED",
                "IDEMPOTENCY_KEY_IN_USE",
            ]
            .map(String::from),
        );
        for status in [400, 401, 403, 404, 405, 413, 415, 500] {
            let status = StatusCode::from_u16(status).unwrap_or_default();
            let body = uniform_errors(poem::Error::from_status(status))
                .await
                .into_body()
                .into_string()
                .await
                .unwrap_or_default();
            let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            answered.push(body["code"].as_str().unwrap_or_default().to_owned());
        }
        for code in &answered {
            assert!(
                ERROR_CODES.contains(&code.as_str()),
                "{code} is not in ERROR_CODES"
            );
        }
        for code in ERROR_CODES {
            assert!(
                answered.iter().any(|a| a == code),
                "{code} is never answered"
            );
        }
    }

    #[tokio::test]
    async fn a_parse_error_quoting_a_huge_value_is_clipped() {
        let received = "x".repeat(100_000);
        let e = poem::Error::from_string(
            format!("parse request payload error: {received}"),
            poem::http::StatusCode::BAD_REQUEST,
        );
        let body = uniform_errors(e)
            .await
            .into_body()
            .into_string()
            .await
            .unwrap_or_default();
        assert!(body.contains("VALIDATION_FAILED"), "{body}");
        assert!(body.len() < 1_000, "{} bytes", body.len());
    }
}
