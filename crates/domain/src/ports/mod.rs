//! Ports: what the domain needs from the outside world, as async traits.
//!
//! Adapters implement them (`payport-alipay-*`, `payport-store-diesel`); tests use the
//! mockall mocks (`Mock*`), generated for this crate's tests and exported with the
//! `mocks` feature.

mod bill;
mod events;
mod gateway;
mod idempotency;
mod reconciliation;
mod refund_gateway;
mod store;
mod system;
mod work;

pub use bill::*;
pub use events::*;
pub use gateway::*;
pub use idempotency::*;
pub use reconciliation::*;
pub use refund_gateway::*;
pub use store::*;
pub use system::*;
pub use work::*;
