//! payport-alipay-openapi: Alipay's current OpenAPI gateway (`gateway.do`, RSA2/RSA).
//!
//! Will implement the domain's `PaymentGateway` and `RefundGateway` ports: request
//! signing, response and notification verification, and the trade APIs of
//! `PROTOCOL.md` section A. Not implemented yet (issue 3).
