//! payport-webhooks: delivering events to the merchant's own systems.
//!
//! - [`HttpWebhookSender`] implements the domain's `WebhookSender` port: one POST of
//!   the stored event body per attempt, signed with the endpoint's secret, with a
//!   short timeout and no redirects. What it reports of an attempt is short and holds
//!   no secret.
//! - [`signature`]: the `Payport-Signature` header (`t=<unix seconds>,v1=<hex
//!   HMAC-SHA256 over "<t>.<body>">`, Stripe's scheme), made by payport and checked by
//!   receivers (and `payport webhook verify`).
//!
//! Retries, claims and the schedule are the domain's (`Webhooks`); this crate only
//! sends.

mod sender;
pub mod signature;

pub use sender::{HttpWebhookSender, DEFAULT_TIMEOUT, EVENT_ID_HEADER, SIGNATURE_HEADER};
