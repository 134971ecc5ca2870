//! The HTTP application: the `/v1` API, its spec and docs, Alipay's callbacks, the
//! health and readiness checks, the metrics, the operator console under `/console`, and
//! (in simulator mode) the simulator under `/sim` and the demo shop under `/demo`.

use std::sync::Arc;

use poem::endpoint::BoxEndpoint;
use poem::http::{Method, StatusCode};
use poem::web::{Data, Json};
use poem::{
    get, handler, post, Endpoint, EndpointExt, IntoEndpoint, IntoResponse, Request, Response, Route,
};
use tokio::sync::Notify;

use crate::api::error::uniform_errors;
use crate::api::idempotency::Idempotency;
use crate::body_limit::{BodyLimit, API_LIMIT, CALLBACK_LIMIT};
use crate::state::{AppState, Wired};
use crate::{api, callbacks, telemetry, web};

/// `GET /healthz`: the process is up and serving.
#[handler]
fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for the database before it calls it not ready.
const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /readyz`: the database answers, at the schema this build expects; else 503
/// with the reason.
#[handler]
async fn readyz(state: Data<&Arc<AppState>>) -> Response {
    let checked = tokio::time::timeout(READINESS_TIMEOUT, state.readiness.check())
        .await
        .unwrap_or_else(|_| Err("the database did not answer within 2 s".to_owned()));
    match checked {
        Ok(()) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "code": "NOT_READY", "message": reason })),
        )
            .into_response(),
    }
}

/// `GET /openapi.json`: the completed document ([`api::spec_json`]), the same as
/// `openapi/payport.json`.
#[handler]
fn openapi_json() -> Response {
    Response::builder()
        .content_type("application/json; charset=utf-8")
        .body(api::spec_json())
}

/// A 405 says which methods the path has (`Allow`), as HTTP requires.
async fn allow_header<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    let mut response = next.call(req).await?.into_response();
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(allow) = api::spec::allowed_methods(&path).and_then(|m| m.parse().ok()) {
            response
                .headers_mut()
                .insert(poem::http::header::ALLOW, allow);
        }
    }
    Ok(response)
}

/// Wakes the delivery loop after a request that may have changed a status (and so
/// written events), so that its events go out at once rather than at the next poll.
async fn wake_deliveries<E: Endpoint>(
    next: Arc<E>,
    req: Request,
    due: Arc<Notify>,
) -> poem::Result<E::Output> {
    let writes = req.method() != Method::GET && req.method() != Method::HEAD;
    let answer = next.call(req).await;
    if writes {
        due.notify_one();
    }
    answer
}

/// The whole application as one endpoint, with its state attached; serve it with
/// the background worker and the delivery loop beside it ([`crate::worker::spawn`],
/// [`crate::deliveries::spawn`]).
pub fn app(wired: &Wired) -> BoxEndpoint<'static> {
    let service = api::service();
    // The interactive docs show the completed document, as /openapi.json serves it.
    let page = service
        .swagger_ui_html()
        .replace(&service.spec(), &api::spec_json());
    let docs = poem::endpoint::make_sync(move |_| poem::web::Html(page.clone()));
    let v1 = service
        .into_endpoint()
        .catch_all_error(uniform_errors)
        .around(allow_header)
        .with(Idempotency {
            store: wired.state.idempotency.clone(),
            clock: wired.state.clock.clone(),
            instance: wired.state.instance.clone(),
        })
        .with(BodyLimit { max: API_LIMIT });
    let callback = BodyLimit {
        max: CALLBACK_LIMIT,
    };
    let mut route = Route::new()
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at("/openapi.json", get(openapi_json))
        .nest("/docs", docs)
        .nest("/console", web::console())
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
    if wired.state.metrics_enabled {
        // The recorder goes in now, so that nothing counted before the first scrape
        // is lost.
        telemetry::exporter::handle();
        route = route.at("/metrics", get(telemetry::exporter::serve_metrics));
    }
    if let Some(sim) = &wired.sim {
        route = route.nest("/sim", sim.clone().with(BodyLimit { max: API_LIMIT }));
        // The demo shop pays at the simulator's cashier, so it exists only beside it.
        route = route.nest("/demo", web::demo(wired.dev_tokens.is_some()));
    }
    let due = wired.state.deliveries_due.clone();
    route
        .around(move |next, req| wake_deliveries(next, req, due.clone()))
        .data(wired.state.clone())
        .catch_all_error(uniform_errors)
        .with(telemetry::RequestLog)
        .boxed()
}
