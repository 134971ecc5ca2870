//! payport-alipay-mapi: Alipay's legacy mapi gateway (MD5).
//!
//! Will implement the domain's `RefundGateway` port for
//! `refund_fastpay_by_platform_pwd` / `_nopwd` and parse `batch_refund_notify`
//! (`PROTOCOL.md` section B). Not implemented yet (issue 7).
