//! The HTTP application: the `/v1` API, its spec and docs, Alipay's callbacks, the
//! health check, and (in simulator mode) the simulator under `/sim`.

use poem::endpoint::BoxEndpoint;
use poem::{get, handler, post, EndpointExt, IntoEndpoint, Route};

use crate::api::error::uniform_errors;
use crate::api::idempotency::Idempotency;
use crate::body_limit::{BodyLimit, API_LIMIT, CALLBACK_LIMIT};
use crate::state::Wired;
use crate::{api, callbacks, telemetry};

/// `GET /healthz`: the process is up and serving.
#[handler]
fn healthz() -> &'static str {
    "ok"
}

/// The whole application as one endpoint, with its state attached; serve it with
/// the background worker beside it ([`crate::worker::spawn`]).
pub fn app(wired: &Wired) -> BoxEndpoint<'static> {
    let service = api::service();
    let spec = service.spec_endpoint();
    let docs = service.swagger_ui();
    let v1 = service
        .into_endpoint()
        .catch_all_error(uniform_errors)
        .with(Idempotency {
            store: wired.state.idempotency.clone(),
            clock: wired.state.clock.clone(),
        })
        .with(BodyLimit { max: API_LIMIT });
    let callback = BodyLimit {
        max: CALLBACK_LIMIT,
    };
    let mut route = Route::new()
        .at("/healthz", get(healthz))
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .at(
            "/callbacks/alipay/notify",
            post(callbacks::trade_notify).with(callback),
        )
        .at("/callbacks/alipay/return", get(callbacks::payment_return))
        .at(
            "/callbacks/alipay/mapi/refund-notify",
            post(callbacks::mapi_refund_notify).with(callback),
        )
        .nest("/", v1);
    if let Some(sim) = &wired.sim {
        route = route.nest("/sim", sim.clone().with(BodyLimit { max: API_LIMIT }));
    }
    route
        .data(wired.state.clone())
        .catch_all_error(uniform_errors)
        .with(telemetry::RequestLog)
        .boxed()
}
