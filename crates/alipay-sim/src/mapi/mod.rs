//! The legacy mapi gateway (MD5). Being built: see issue 4, legacy side.

use poem::http::StatusCode;
use poem::web::Path;
use poem::{handler, Response};

#[handler]
pub(crate) fn gateway() -> Response {
    Response::builder()
        .status(StatusCode::NOT_IMPLEMENTED)
        .body("mapi gateway not built yet")
}

#[handler]
pub(crate) fn confirm(Path(_batch_no): Path<String>) -> Response {
    Response::builder()
        .status(StatusCode::NOT_IMPLEMENTED)
        .body("mapi gateway not built yet")
}
