//! The HTTP application. For now only `GET /healthz`; the `/v1` API lands with issue 6.

use poem::{get, handler, Route};

/// `GET /healthz`: the process is up and serving.
#[handler]
fn healthz() -> &'static str {
    "ok"
}

pub fn app() -> Route {
    Route::new().at("/healthz", get(healthz))
}
