//! payport-alipay-mapi: Alipay's legacy mapi gateway (`mapi.alipay.com/gateway.do`, MD5).
//!
//! Implements the domain's refund capabilities `RefundSubmitter`, `RefundBatches` and
//! `RefundNotificationVerifier` ([`AlipayMapiGateway`]; it has no refund query) for
//! `refund_fastpay_by_platform_pwd` (an operator confirms with the payment password)
//! and `refund_fastpay_by_platform_nopwd` (server to server), and verifies
//! `batch_refund_notify` — PROTOCOL.md B, mapped onto the domain's outcomes per
//! section C.
//!
//! The MD5 signer reproduces `testdata/vectors/mapi_md5.json` byte for byte.
//!
//! # Layout
//! - [`key`]: `Md5Key`, the shared secret: redacted `Debug`, no `Display`, zeroed on drop.
//! - [`md5`]: B2's string to sign, `sign`, `sign_params`, and `verify` (the local half
//!   of notify verification).
//! - [`batch`]: `BatchLine` → `Batch` (`detail_data`, `batch_num`, `refund_date`) with
//!   B3's rules; pure, for one refund or many.
//! - [`batch_no`]: `BatchNoSource` and the default `ProcessBatchNos` (why its numbers
//!   are unique is written there).
//! - [`request`]: the signed B3/B4 parameters, the POST URL with `_input_charset`, and
//!   the operator's auto-submitting form.
//! - [`answer`]: the nopwd XML answer and its outcome table.
//! - [`notify`]: `batch_refund_notify` fields and `result_details` → `RefundNotice`.
//! - [`config`]: `MapiConfig`, `MapiMode`.
//! - [`gateway`]: `AlipayMapiGateway` and its refund capability implementations.
//! - `client` (private): reqwest with timeouts and no retries, and the exchange log.
//!
//! Beijing time, attribute escaping and transport error text come from
//! `payport-alipay-common` (shared with the OpenAPI adapter); `crate::beijing` and
//! `crate::html` name its modules.

pub mod answer;
pub mod batch;
pub mod batch_no;
mod client;
pub mod config;
pub mod gateway;
pub mod key;
pub mod md5;
pub mod notify;
pub mod request;

use payport_alipay_common::{beijing, html};

pub use answer::SyncAnswer;
pub use batch::{build_batch, clean_reason, Batch, BatchError, BatchLine, BatchRecord};
pub use batch_no::{BatchNoSource, ProcessBatchNos};
pub use config::{MapiConfig, MapiMode};
pub use gateway::AlipayMapiGateway;
pub use key::{KeyError, Md5Key};
pub use notify::{parse_result_details, BatchRefundNotify, NotifyError, ResultRecord};
