//! The `/v1` HTTP API (poem-openapi): one `#[OpenApi]` impl per resource, a typed
//! error with a stable code for every failure, bearer auth with two roles.

mod amount;
pub mod auth;
pub mod body;
pub mod error;
pub mod event_models;
mod events;
mod examples;
pub mod idempotency;
pub mod models;
mod orders;
pub mod reconciliations;
mod refunds;
pub mod spec;
pub mod text;
mod webhooks;

use payport_domain::{Amount, IdError};
use poem_openapi::{OpenApiService, Tags};

use self::error::ApiError;

#[derive(Tags)]
pub enum ApiTags {
    /// Orders and payments.
    Orders,
    /// Refunds, approvals and syncs.
    Refunds,
    /// Events: every status change, to catch up and to see each webhook delivery.
    Events,
    /// Where events are delivered (operators).
    Webhooks,
    /// A day's books checked against Alipay's trade bill (operators).
    Reconciliations,
}

/// Parses an amount in Alipay's format, naming the field in the error.
fn parse_amount(field: &str, text: &str) -> Result<Amount, ApiError> {
    Amount::parse(text).map_err(|e| ApiError::invalid(field, format!("{field}: {e}")))
}

/// Turns an id parser into one whose error is a VALIDATION_FAILED answer.
fn parse_id<T>(parse: fn(String) -> Result<T, IdError>) -> impl Fn(String) -> Result<T, ApiError> {
    move |text| parse(text).map_err(|e| ApiError::invalid(e.kind, e.to_string()))
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// The QR code as an SVG document.
fn qr_svg(content: &str) -> Result<String, ApiError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(content.as_bytes())
        .map_err(|e| ApiError::validation(format!("qr_code cannot be drawn: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

pub type Api = (
    orders::OrdersApi,
    refunds::RefundsApi,
    events::EventsApi,
    webhooks::WebhooksApi,
    reconciliations::ReconciliationsApi,
);

/// The API with its OpenAPI description; handlers find the `Arc<AppState>` in the
/// request's data.
pub fn service() -> OpenApiService<Api, ()> {
    OpenApiService::new(
        (
            orders::OrdersApi,
            refunds::RefundsApi,
            events::EventsApi,
            webhooks::WebhooksApi,
            reconciliations::ReconciliationsApi,
        ),
        "payport",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Alipay payments and refunds. Amounts are strings in yuan with at most two \
         decimals (\"88.88\"). A response field without a value is left out, never \
         `null`; in a request, an optional field may be left out or `null`. Every error \
         is `{code, message, request_id, param?}` with a stable `code`. A request \
         without a valid token is answered 401 before its key, parameters or body are \
         looked at (only a body over the size limit is refused first, unread). \
         POSTs that create something honour `Idempotency-Key`. Every status change of \
         an order or a refund is an event (`GET /v1/events`), POSTed to webhook \
         endpoints signed with `Payport-Signature: t=<unix seconds>,v1=<hex \
         HMAC-SHA256 of \"<t>.<body>\">`.",
    )
}

/// The OpenAPI document, as served at `/openapi.json` and committed in `openapi/`:
/// poem-openapi's, completed by [`spec::complete`].
pub fn spec_json() -> String {
    static SPEC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| spec::complete(&service().spec()))
        .clone()
}
