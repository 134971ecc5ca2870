//! payport-domain: the core of payport, with no IO.
//!
//! Money, identifiers, the order and refund state machines, the events their status
//! changes make, the ports adapters implement, and the use cases that drive them.
//! Nothing here opens a socket, a file or a database, or reads the clock: time and
//! ids come through ports, so every rule is testable with mocks and deterministic time.
//!
//! Every status change makes events ([`event`]) that the use case hands to the very
//! repository call that saves the change, so the store writes both in one
//! transaction (an outbox) or neither; a save that keeps the status hands none.
//!
//! # Layout
//! - [`money`]: `Amount`, integer fen, Alipay's exact decimal format.
//! - [`clip`]: received text shortened before it reaches an error or a log line.
//! - [`crash_points`]: where a test build can be told to die (feature `failpoints`).
//! - [`ids`]: `OutTradeNo`, `OutRequestNo`, `TradeNo`, `RefundId`, ... parsed at the edge.
//! - [`order`], [`refund`]: aggregates; statuses move only through their methods.
//! - [`payment_check`]: when a pending order's payment is checked at Alipay.
//! - [`anomaly`]: a refund Alipay contradicts, recorded for a person, never settled.
//! - [`alipay`]: Alipay's statuses, mapped exhaustively.
//! - [`policy`]: approval, refund window, and the over-refund invariant check.
//! - [`event`]: which events a status change makes (`order.paid`, `refund.succeeded`, ...).
//! - [`webhook`]: endpoints, deliveries and their retry schedule.
//! - [`reconciliation`]: a day checked against Alipay's bill, item by item.
//! - [`ports`]: gateways, repositories, the event log and webhook delivery, clock and
//!   id source (mockall mocks with `mocks`).
//! - [`usecases`]: `Orders`, `Refunds`, `Notifications`, `Webhooks`.

pub mod alipay;
pub mod anomaly;
pub mod clip;
pub mod crash_points;
pub mod error;
pub mod event;
pub mod ids;
pub mod money;
pub mod order;
pub mod payment_check;
pub mod policy;
pub mod ports;
pub mod reconciliation;
pub mod refund;
pub mod usecases;
pub mod webhook;

pub use error::{GatewayError, RepoError, TransitionError};
pub use ids::{
    AppId, BatchNo, EndpointId, EventId, IdError, OutRequestNo, OutTradeNo, RefundId, SellerId,
    TradeNo,
};
pub use money::{Amount, AmountError};
pub use order::{Order, OrderStatus};
pub use refund::{GatewayFailure, Refund, RefundGatewayKind, RefundStatus};
