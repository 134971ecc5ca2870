//! Request ids, access logs and request metrics; the Prometheus exporter
//! ([`exporter`]); how long a queue's oldest item waited, for the backlog gauges. Bodies, query strings and headers are never logged: they may hold
//! tokens, signatures or buyer ids.

pub mod exporter;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Utc};
use poem::http::Method;
use poem::{Endpoint, IntoResponse, Middleware, PathPattern, Request, Response};
use tracing::Instrument;

pub const REQUEST_ID: &str = "x-request-id";

pub struct RequestLog;

impl<E: Endpoint> Middleware<E> for RequestLog {
    type Output = RequestLogEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestLogEndpoint(inner)
    }
}

pub struct RequestLogEndpoint<E>(E);

impl<E: Endpoint> Endpoint for RequestLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        // A caller's id is kept if it is short and plain; otherwise a fresh one.
        let id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 64
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %payport_domain::clip::clip_to(req.uri().path(), 256));
        let started = Instant::now();
        let method = method_label(req.method());
        async move {
            let response = match self.0.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => e.into_response(),
            };
            // An error body names the request too, for whoever reads only the body.
            let mut response = crate::api::error::with_request_id(response, &id).await;
            if let Ok(value) = id.parse() {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            // The route's template (`/v1/orders/:out_trade_no`), never the path itself:
            // one series per route, and no order number in a label.
            let route = response
                .data::<PathPattern>()
                .map_or_else(|| "unmatched".to_owned(), |p| route_label(&p.0));
            let status = response.status().as_u16();
            let elapsed = started.elapsed();
            let labels = [
                ("method", method.to_owned()),
                ("route", route.clone()),
                ("status", status.to_string()),
            ];
            metrics::counter!("payport_http_requests_total", &labels).increment(1);
            metrics::histogram!("payport_http_request_duration_seconds", &labels)
                .record(elapsed.as_secs_f64());
            tracing::info!(
                request_id = %id,
                method,
                route,
                status,
                ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                "handled"
            );
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

/// How long the oldest due item of a queue has waited at `now`, in seconds, for a
/// gauge: 0 when nothing is due, and never negative (a due item fell due by `now`,
/// as the clock that read it saw it).
pub fn waited_secs(now: DateTime<Utc>, oldest_due_at: Option<DateTime<Utc>>) -> f64 {
    oldest_due_at
        .and_then(|at| (now - at).to_std().ok())
        .map_or(0.0, |waited| waited.as_secs_f64())
}

/// A matched pattern as the API documents it: poem-openapi matches
/// `/v1/orders/{out_trade_no}` as `/v1/orders/:param0`, so the spec's paths are
/// looked up by that form; other routes are shown as they were mounted.
fn route_label(pattern: &str) -> String {
    static DOCUMENTED: OnceLock<HashMap<String, String>> = OnceLock::new();
    let documented = DOCUMENTED.get_or_init(|| {
        let spec: serde_json::Value =
            serde_json::from_str(&crate::api::spec_json()).unwrap_or_default();
        spec["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .keys()
                    .map(|path| (poem_form(path), path.clone()))
                    .collect()
            })
            .unwrap_or_default()
    });
    documented
        .get(pattern)
        .cloned()
        .unwrap_or_else(|| pattern.to_owned())
}

/// `/a/{x}/b/{y}` as poem-openapi routes it: `/a/:param0/b/:param1`.
fn poem_form(path: &str) -> String {
    let mut params = 0;
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                params += 1;
                format!(":param{}", params - 1)
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The standard methods by name; any other (poem accepts extensions) as `other`, so
/// that a caller cannot add series.
fn method_label(method: &Method) -> &'static str {
    ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn api_routes_are_labelled_as_the_spec_writes_them() {
        assert_eq!(
            route_label("/v1/orders/:param0/refunds"),
            "/v1/orders/{out_trade_no}/refunds"
        );
        assert_eq!(
            route_label("/v1/refunds/:param0"),
            "/v1/refunds/{refund_id}"
        );
        assert_eq!(route_label("/healthz"), "/healthz");
    }
}
