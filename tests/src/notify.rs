//! Hand-made `trade_status_sync` notifications, signed like Alipay (the simulator's
//! key), like an attacker (the forger's key), with SHA-1, or not at all, and POSTed
//! to payport's public callback.

use payport_alipay_openapi::{notify_verify_content, PrivateKey, SignType, Signer};

use crate::app::{repo_path, TestApp};
use crate::http::read;

/// The simulator's DEV app id and seller: what payport's merchant checks expect.
pub const APP_ID: &str = "2021000000000001";
pub const SELLER_ID: &str = "2088102000000001";

/// Who signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The key the simulator signs with: the "real" Alipay here.
    Alipay,
    /// Someone else's key.
    Forger,
}

/// Form fields in order.
pub type Fields = Vec<(String, String)>;

/// The fields of a TRADE_SUCCESS notification, unsigned.
pub fn trade_success(
    out_trade_no: &str,
    trade_no: &str,
    total_amount: &str,
    notify_id: &str,
) -> Fields {
    [
        ("notify_time", "2026-01-01 12:00:00"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", notify_id),
        ("app_id", APP_ID),
        ("auth_app_id", APP_ID),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("trade_no", trade_no),
        ("out_trade_no", out_trade_no),
        ("seller_id", SELLER_ID),
        ("seller_email", "refund-test@example.com"),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", total_amount),
        ("receipt_amount", total_amount),
        ("buyer_pay_amount", total_amount),
        ("subject", "Green tea"),
        ("buyer_id", "2088102000009999"),
        ("buyer_logon_id", "buy***@example.com"),
        ("gmt_create", "2026-01-01 11:59:00"),
        ("gmt_payment", "2026-01-01 11:59:30"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Replaces (or adds) a field.
pub fn set(fields: &mut Fields, key: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => value.clone_into(v),
        None => fields.push((key.to_owned(), value.to_owned())),
    }
}

/// Adds `sign_type` and `sign` over the fields (content per PROTOCOL.md A5).
///
/// # Panics
/// When the test key cannot be read or used.
pub fn signed(mut fields: Fields, key: Key, sign_type: SignType) -> Fields {
    let file = match key {
        Key::Alipay => "testdata/vectors/keys/alipay_private_pkcs8.pem",
        Key::Forger => "testdata/vectors/keys/forger_private_pkcs8.pem",
    };
    let pem = std::fs::read_to_string(repo_path(file)).expect("test key");
    let signer = Signer::new(&PrivateKey::parse(&pem).expect("key"), sign_type).expect("signer");
    let sign = signer
        .sign(notify_verify_content(&fields).as_bytes())
        .expect("sign");
    fields.push(("sign_type".into(), sign_type.as_str().to_owned()));
    fields.push(("sign".into(), sign));
    fields
}

impl TestApp {
    /// POSTs a notification to `/callbacks/alipay/notify` (no token, Alipay's malformed
    /// Content-Type) and returns payport's answer: `success` or `failure`.
    ///
    /// # Panics
    /// Unless the answer is a 200.
    pub async fn post_notify(&self, fields: &Fields) -> String {
        let request = self
            .http
            .post(self.url("/callbacks/alipay/notify"))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; text/html; charset=UTF-8",
            )
            .form(fields);
        let reply = read(request.send().await.expect("notify")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.text
    }
}
