//! payport-server: wires the domain to its adapters and serves HTTP. The only crate
//! that knows every adapter, and within it only [`wiring`] builds one: everything
//! else holds trait objects, and takes from the adapter crates only value types and
//! pure helpers (`SignType`, the simulator's DEV ids, the form parser).
//!
//! # Embedding payport
//! A program can run payport with parts of its own in place of the built-in ones:
//! a [`Store`] (every storage port), a payment gateway, refund gateways (wrapping or
//! replacing the Alipay ones), a clock or an id source. Everything else, including
//! the configuration's checks, the HTTP API and the background worker, is as
//! `payport serve` runs it. `examples/custom-gateway` is a complete program.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use payport_domain::ports::{Clock, PaymentGateway};
//! use payport_server::config::Config;
//! use payport_server::{Payport, Store};
//!
//! async fn run(
//!     store: impl Store,
//!     payments: Arc<dyn PaymentGateway>,
//!     clock: Arc<dyn Clock>,
//! ) -> anyhow::Result<()> {
//!     let config = Config::load().map_err(anyhow::Error::msg)?;
//!     Payport::builder(config)
//!         .store(store)
//!         .payment_gateway(payments)
//!         .clock(clock)
//!         // Receives the built-in Alipay refund gateways; returns those to use.
//!         .map_refund_gateways(|gateways| gateways)
//!         .serve(
//!             |addr, _wired| println!("payport on http://{addr}"),
//!             async {
//!                 let _ = tokio::signal::ctrl_c().await;
//!             },
//!         )
//!         .await
//! }
//! ```
//!
//! [`PayportBuilder::build`] wires without serving: mount [`app::app`] in a server
//! of your own and run [`worker::spawn`], [`deliveries::spawn`] and
//! [`lifecycle::spawn_heartbeat`] (after [`lifecycle::register`]) beside it.
//!
//! # Layout
//! Modules form a tree; each depends only on those listed before it.
//! - [`config`]: defaults, `payport.toml`, `PAYPORT_*` environment variables, read
//!   strictly and parsed into typed values as they load ([`config::sources`]), then
//!   checked whole before anything is opened ([`config::checks`]: keys, ranges,
//!   production safety); [`config::auth`]: tokens and roles.
//! - [`runtime`]: the real clock and id source.
//! - [`state`]: what the HTTP layer and the worker are given ([`state::AppState`],
//!   trait objects only) and the wired application ([`state::Wired`]).
//! - [`wiring`]: from config to use cases, adapters and the simulator;
//!   [`Payport::builder`] for programs that replace built-in parts. It also takes
//!   the API's event renderer (`api::event_models`), which the store calls to write
//!   each event as the API shows it.
//! - [`api`]: the `/v1` API (poem-openapi); [`callbacks`]: Alipay's notifications and
//!   returns; [`telemetry`]: request ids and access logs; [`web`]: the browser pages
//!   built from `web/` and embedded; [`app`]: the routes;
//!   [`body_limit`]: request-body limits (413) enforced while reading.
//! - [`worker`]: background refund syncs and order expiry; [`deliveries`]: webhook
//!   delivery, in a task of its own; [`lifecycle`]: the instance's heartbeat and its
//!   graceful shutdown.
//! - [`serve`]: binding, wiring, serving with the worker.
//! - [`cli`]: the troubleshooting tools (`payport alipay ...`, `payport sim`).

pub mod api;
pub mod app;
pub mod body_limit;
pub mod callbacks;
pub mod cli;
pub mod config;
pub mod deliveries;
pub mod lifecycle;
pub mod malloc;
pub mod runtime;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod wiring;
pub mod worker;

pub use wiring::{Payport, PayportBuilder, Store};
