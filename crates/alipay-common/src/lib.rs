//! payport-alipay-common: the small wire helpers both Alipay adapters need, in one place.
//!
//! Used by `payport-alipay-openapi` and `payport-alipay-mapi`. Not by the simulator,
//! which keeps its own versions so that a bug here shows up as a disagreement with it
//! rather than hiding behind the same code on both sides.
//!
//! # Layout
//! - [`beijing`]: Alipay's `yyyy-MM-dd HH:mm:ss` timestamps in Beijing time (UTC+8).
//! - [`calls`]: counting and timing each call to Alipay, with one vocabulary of outcomes.
//! - [`html`]: escaping for double-quoted HTML attribute values (auto-submit forms).
//! - [`transport`]: a one-line description of a reqwest error for logs and outcomes.

pub mod beijing;
pub mod calls;
pub mod html;
pub mod transport;
