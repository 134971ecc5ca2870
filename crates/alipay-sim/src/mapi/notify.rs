//! `batch_refund_notify` and the `notify_verify` service (PROTOCOL.md B4).
//!
//! The notify is a POST form to the request's `notify_url` (not `dback_notify_url`),
//! MD5-signed per B2 over every field but `sign`/`sign_type`, and delivered like the
//! OpenAPI notifications: same retry schedule until the answer is exactly `success`,
//! same duplicate/hold/drop faults (B4: "assumed to match A5" ⚠). Its `notify_id` is
//! remembered so that `notify_verify` answers `true` for it.

use super::refunds::{result_details, success_num, RecordResult};
use crate::notify::{time, Outgoing};
use crate::signing::md5_sign;
use crate::sim::{lock, Simulator};

/// Sends `batch_refund_notify` for a carried-out batch, if the merchant gave a URL.
pub(crate) fn send(
    sim: &Simulator,
    notify_url: Option<&str>,
    batch_no: &str,
    results: &[RecordResult],
) {
    let Some(url) = notify_url else {
        return;
    };
    let notify_id = sim.next_notify_id();
    let mut fields: Vec<(String, String)> = vec![
        ("notify_time".into(), time(sim.now())),
        ("notify_type".into(), "batch_refund_notify".into()),
        ("notify_id".into(), notify_id.clone()),
        ("batch_no".into(), batch_no.to_owned()),
        ("success_num".into(), success_num(results).to_string()),
        ("result_details".into(), result_details(results)),
    ];
    let (_, sign) = md5_sign(&fields, &sim.config().mapi.md5_key);
    fields.push(("sign_type".into(), "MD5".into()));
    fields.push(("sign".into(), sign));
    lock(&sim.inner.mapi_notify_ids).push(notify_id);
    sim.dispatch(Outgoing {
        url: url.to_owned(),
        fields,
    });
}

/// `notify_verify`: `true` for a notify_id this simulator sent for this partner,
/// `false` otherwise, `invalid` when a parameter is missing (B4). Unsigned.
pub(crate) fn verify(
    sim: &Simulator,
    partner: Option<&str>,
    notify_id: Option<&str>,
) -> &'static str {
    let (Some(partner), Some(notify_id)) = (partner, notify_id) else {
        return "invalid";
    };
    let known = lock(&sim.inner.mapi_notify_ids)
        .iter()
        .any(|id| id == notify_id);
    if known && partner == sim.config().mapi.partner {
        "true"
    } else {
        "false"
    }
}
