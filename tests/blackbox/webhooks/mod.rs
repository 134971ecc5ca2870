//! Webhooks as a shop receives them, on SQLite and on PostgreSQL.
//!
//! - `delivery`: every status change of the journey arrives signed, a failed delivery
//!   is retried; two instances on one database send each event once.
//! - `events_api`: the events API lists, filters and pages them, by role; an endpoint
//!   made through the API gets only the types it asked for.
//! - `return_url`: the buyer comes back to a return URL that names the order.
//!
//! payport killed with SIGKILL while the receiver is down: the server crate's
//! `tests/webhook_crash.rs` (it needs the binary).

mod delivery;
mod events_api;
mod return_url;
