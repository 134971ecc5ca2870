//! Use-case tests through the public API: mocked gateways, clock and ids; an
//! in-memory store with the real reservation rule; a property test of the refund
//! invariant.

mod invariants;
mod notifications;
mod orders;
mod refunds;
mod support;
