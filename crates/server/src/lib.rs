//! payport-server: wires the domain to its adapters and serves HTTP. The only crate
//! that knows every adapter.
//!
//! # Layout
//! - [`config`]: defaults, `payport.toml`, `PAYPORT_*` environment variables.
//! - [`state`]: wiring from config to use cases, adapters and the simulator.
//! - [`app`]: the routes; [`api`]: the `/v1` API (poem-openapi); [`callbacks`]:
//!   Alipay's notifications and returns.
//! - [`serve`]: binding, migrating, serving; [`worker`]: background refund syncs and
//!   order expiry; [`telemetry`]: request ids and access logs.
//! - [`runtime`]: the real clock and id source.
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
pub mod worker;
