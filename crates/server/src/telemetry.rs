//! Request ids and access logs. Bodies, query strings and headers are never logged:
//! they may hold tokens, signatures or buyer ids.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
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
        async move {
            let mut response = match self.0.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => e.into_response(),
            };
            if let Ok(value) = id.parse() {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            tracing::info!(
                status = response.status().as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "handled"
            );
            Ok(response)
        }
        .instrument(span)
        .await
    }
}
