//! payport-server: wires the domain to its adapters and serves HTTP. The only crate
//! that knows every adapter, and within it only [`wiring`] names one.
//!
//! # Layout
//! Modules form a tree; each depends only on those listed before it.
//! - [`config`]: defaults, `payport.toml`, `PAYPORT_*` environment variables, parsed
//!   into typed values as they load ([`config::auth`]: tokens and roles).
//! - [`runtime`]: the real clock and id source.
//! - [`state`]: what the HTTP layer and the worker are given ([`state::AppState`],
//!   trait objects only) and the wired application ([`state::Wired`]).
//! - [`wiring`]: from config to use cases, adapters and the simulator;
//!   [`Payport::builder`] for programs that replace built-in parts.
//! - [`api`]: the `/v1` API (poem-openapi); [`callbacks`]: Alipay's notifications and
//!   returns; [`telemetry`]: request ids and access logs; [`app`]: the routes.
//! - [`worker`]: background refund syncs and order expiry.
//! - [`serve`]: binding, wiring, serving with the worker.
//! - [`cli`]: the troubleshooting tools (`payport alipay ...`, `payport sim`).

pub mod api;
pub mod app;
pub mod callbacks;
pub mod cli;
pub mod config;
pub mod runtime;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod wiring;
pub mod worker;

pub use wiring::{Payport, PayportBuilder, Store};
