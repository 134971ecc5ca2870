//! payport-alipay-sim: an offline Alipay that speaks both gateways for real.
//!
//! It verifies the merchant's signatures, keeps trades and refunds by Alipay's rules,
//! signs its answers over the exact response text, shows a cashier with a QR code and
//! Pay/Cancel buttons, and sends signed notifications on Alipay's retry schedule. It is
//! written from PROTOCOL.md, not from payport's adapters: it depends on nothing of
//! payport but `payport-alipay-crypto` (keys, `Signer`, `Verifier`), and has its own
//! amount format, Beijing time, escaping and clock, so that an adapter bug cannot hide
//! behind the same code here.
//!
//! # Layout
//! - [`ledger`]: trades and refunds, and Alipay's rules over them (no IO).
//! - [`sim`]: `Simulator`: books, keys, faults, notifier, state file.
//! - `openapi` (private): `gateway.do` — checks, methods, signed answers.
//! - `cashier` (private): the buyer's pages and the return to the shop.
//! - [`notify`]: signed notifications and their delivery with retries.
//! - `mapi` (private): the legacy MD5 gateway (`/mapi/gateway.do`).
//! - `control` (private): the control API under `/control`.
//! - [`faults`]: fault injection. [`config`]: keys and ids. [`signing`]: Alipay's side
//!   of the signature rules. [`clock`]: its own `Clock` trait, system or manual time.
//! - [`bill`]: the trade bill file, a zip of GBK CSV files.
//! - [`money`]: fen to and from Alipay's `0.01`..`100000000.00` amount text.
//! - [`report`]: each trade's refunds, counted by refund number (`/control/refund-report`).
//!
//! # Routes (relative to where it is mounted, e.g. `/sim`)
//! `GET|POST /gateway.do`, `GET /cashier/:out_trade_no`, `POST /cashier/:id/pay`,
//! `POST /cashier/:id/cancel`, `GET /qr/:id`, `GET /bills/trade/{pid}_{yyyymmdd}.csv.zip`,
//! `GET|POST /mapi/gateway.do` (refund services and `notify_verify`),
//! `POST /mapi/confirm/:batch_no` (the operator's password page), and `/control/...`.

pub mod bill;
mod cashier;
pub mod clock;
pub mod config;
mod control;
pub mod error;
pub mod faults;
mod ids;
pub mod ledger;
mod mapi;
pub mod money;
pub mod notify;
mod openapi;
pub mod report;
mod routes;
pub mod signing;
pub mod sim;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{MapiConfig, NextAlipayCert, SimCerts, SimConfig};
pub use faults::{FaultRule, Faults, MethodFault, NotifyFaults};
pub use ledger::{Ledger, SimRefund, Trade, TradeStatus};
pub use sim::{Delivery, Simulator};
