//! The JSON error body and its HTTP status, one stable machine `code` per failure.

use payport_domain::usecases::ServiceError;
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// What every error answers.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example = true)]
pub struct ErrorBody {
    /// A stable UPPER_SNAKE code to match on, e.g. `REFUND_EXCEEDS_REFUNDABLE`.
    pub code: String,
    /// A sentence for people; not stable.
    pub message: String,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            code: "REFUND_EXCEEDS_REFUNDABLE".into(),
            message: "the refund exceeds what is left to refund (12.00)".into(),
        }
    }
}

/// Every error an operation can answer.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// VALIDATION_FAILED: the request is malformed or a value is invalid.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// UNAUTHORIZED: no or an unknown bearer token.
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
        let body = Json(ErrorBody {
            code: code.to_owned(),
            message: message.into(),
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
    let mut uniform = (
        status,
        poem::web::Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response();
    // The matched route stays known to the request metrics.
    if let Some(route) = response.data::<poem::PathPattern>() {
        uniform.set_data(route.clone());
    }
    uniform
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
