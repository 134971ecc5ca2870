//! Request-body limits, enforced while reading: a `Content-Length` above the limit is
//! refused before any of the body is read, and a body without one (chunked) is read
//! only until it passes the limit. Either way the answer is 413, which the app turns
//! into the usual error body with the stable code `PAYLOAD_TOO_LARGE`.
//!
//! Everything behind the limit (the idempotency middleware, the JSON parser, the
//! callbacks' form parser) then reads a body already held in memory and bounded.

use poem::error::ReadBodyError;
use poem::http::header::CONTENT_LENGTH;
use poem::{Body, Endpoint, Middleware, Request, Result};

/// Alipay's callbacks: a real notification is a few KB.
pub const CALLBACK_LIMIT: usize = 64 * 1024;
/// The JSON API (and the simulator's pages in simulator mode).
pub const API_LIMIT: usize = 1024 * 1024;

/// Refuses request bodies of more than `max` bytes with 413.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub max: usize,
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            max: self.max,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let announced = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|len| len > self.max as u64) {
            return Err(ReadBodyError::PayloadTooLarge.into());
        }
        let body = req.take_body().into_bytes_limit(self.max).await?;
        req.set_body(Body::from(body));
        self.inner.call(req).await
    }
}
