//! payport-server: wires the domain to its adapters and serves HTTP.
//!
//! # Layout
//! - [`app`]: the poem application (routes).
//! - [`serve`]: binding a listener and running until Ctrl-C.
//! - [`cli`]: the troubleshooting tools (`payport alipay ...`).
//!
//! The server is the only crate that knows every adapter.

pub mod app;
pub mod cli;
pub mod serve;
