//! How a failed HTTP exchange is described in the exchange log and in `Unknown`
//! outcomes: one line, with the timeout case named plainly since it is the one an
//! operator acts on (the call may have reached Alipay).

/// `timeout`, `connection failed: ...`, or `transport error: ...`.
pub fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_owned()
    } else if e.is_connect() {
        format!("connection failed: {e}")
    } else {
        format!("transport error: {e}")
    }
}
