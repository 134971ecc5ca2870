//! payport-test-support: what payport's test suites share, so each backend and adapter
//! is tested against the same doubles and the same contract.
//!
//! # Layout
//! - [`db`] (feature `db`): throwaway databases: PostgreSQL copies of a migrated
//!   template, empty PostgreSQL databases, temporary SQLite files; and the policy for
//!   an unreachable PostgreSQL (skip locally, fail in CI).
//! - [`MemoryStore`] (`memory/`): every storage port in memory, with the same contract
//!   as `DieselStore`: the over-refund rule applied atomically, version-conditional
//!   saves, unique keys, lease-based claims, in-flight idempotency keys, and events
//!   written with the change they describe (the webhook outbox).
//! - [`contract`]: the storage contract suite, generic over a [`contract::StoreUnderTest`],
//!   and [`store_contract!`] to instantiate it for one backend (store-diesel runs it on
//!   SQLite and PostgreSQL, `tests/contract.rs` here on the memory store).
//! - [`FixedClock`], [`MemoryLog`] (`fakes.rs`): a stopped clock and an exchange log
//!   that keeps what it is given, for the gateway adapters' tests.
//! - [`vectors`] (feature `vectors`): the official SDK's conformance vectors and their
//!   DEV keys, for the crypto and OpenAPI tests.

pub mod contract;
#[cfg(feature = "db")]
pub mod db;
mod fakes;
mod memory;
#[cfg(feature = "vectors")]
pub mod vectors;

pub use fakes::{FixedClock, MemoryLog};
pub use memory::MemoryStore;

/// A poisoned lock still holds good data here (a test panicked holding it): use it.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An event id no other call in this process returns, for tests that save changes
/// directly through the repositories.
pub fn event_id() -> payport_domain::EventId {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    payport_domain::EventId::parse(format!("evt_test_{}_{n}", std::process::id()))
        .unwrap_or_else(|e| panic!("{e}"))
}
