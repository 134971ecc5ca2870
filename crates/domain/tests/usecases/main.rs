//! Use-case tests through the public API: mocked gateways, clock and ids; an
//! in-memory store with the real reservation rule; a property test of the refund
//! invariant. `events` records every save to prove each status change hands exactly
//! its events to the save that makes it; `webhooks` tests that use case on mocks.

// Helpers outside `#[test]` fns unwrap too; in tests an unwrap is the assertion.
#![allow(clippy::unwrap_used)]

mod batch_amounts;
mod events;
mod external;
mod invariants;
mod limits;
mod notifications;
mod orders;
mod payment_checks;
mod reconcile;
mod refunds;
mod replays;
mod shared_values;
mod support;
mod webhooks;
