//! payport's browser pages, built from `web/` (TypeScript) into `web/dist/` and
//! embedded here, so that building payport never needs Node: `/console`, the
//! operator console, and (simulator mode only) `/demo`, a demo shop. The pages need
//! no auth themselves; they ask for a token and call the `/v1` API with it.

use poem::http::{header, StatusCode};
use poem::web::{Data, Json, Path};
use poem::{get, handler, EndpointExt, IntoResponse, Response, Route};

/// One built file: its name under the page's path, its type and its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($page:literal, $name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../../../web/dist/", $page, "/", $name)),
        }
    };
}

const CONSOLE: &[Asset] = &[
    asset!("console", "index.html", "text/html; charset=utf-8"),
    asset!("console", "console.js", "text/javascript; charset=utf-8"),
    asset!("console", "style.css", "text/css; charset=utf-8"),
];

const DEMO: &[Asset] = &[
    asset!("demo", "index.html", "text/html; charset=utf-8"),
    asset!("demo", "demo.js", "text/javascript; charset=utf-8"),
    asset!("demo", "style.css", "text/css; charset=utf-8"),
];

/// Scripts and styles from payport only; the token never leaves for another origin.
/// `form-action` stays open: the console posts Alipay's operator form in a new tab.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                      base-uri 'none'; frame-ancestors 'none'";

fn serve(assets: &'static [Asset], name: &str) -> Response {
    match assets.iter().find(|a| a.name == name) {
        Some(asset) => Response::builder()
            .content_type(asset.content_type)
            .header(header::CONTENT_SECURITY_POLICY, POLICY)
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(header::REFERRER_POLICY, "no-referrer")
            .body(asset.bytes),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[handler]
fn console_page() -> Response {
    serve(CONSOLE, "index.html")
}

#[handler]
fn console_asset(Path(name): Path<String>) -> Response {
    serve(CONSOLE, &name)
}

/// The routes to nest under `/console`.
pub fn console() -> Route {
    Route::new()
        .at("/", get(console_page))
        .at("/:name", get(console_asset))
}

#[handler]
fn demo_page() -> Response {
    serve(DEMO, "index.html")
}

#[handler]
fn demo_asset(Path(name): Path<String>) -> Response {
    serve(DEMO, &name)
}

/// The merchant token the demo shop's form starts with: the DEV one, if payport made
/// up DEV tokens. It is printed at start-up and written in the source, so serving it
/// gives nothing away; a configured token is never served, nor any operator token.
/// Served beside the page rather than written into it, so that the page stays the
/// committed build byte for byte and the visitor sees the token in a field.
#[derive(Clone)]
struct DemoToken(Option<&'static str>);

/// Never cached: it depends on how payport was started, and names a token.
#[handler]
fn demo_token(token: Data<&DemoToken>) -> impl IntoResponse {
    Json(serde_json::json!({ "dev_merchant_token": token.0 .0 }))
        .with_header(header::CACHE_CONTROL, "no-store")
}

/// The routes to nest under `/demo`, in simulator mode only: `/demo/` is the product
/// and checkout, `/demo/thanks` the page the cashier returns to. `dev_tokens` says
/// whether payport runs on the DEV tokens (none configured).
pub fn demo(dev_tokens: bool) -> impl poem::Endpoint {
    let token = DemoToken(dev_tokens.then_some(crate::config::auth::DEV_MERCHANT_TOKEN));
    Route::new()
        .at("/", get(demo_page))
        .at("/thanks", get(demo_page))
        .at("/token.json", get(demo_token))
        .at("/:name", get(demo_asset))
        .data(token)
}
