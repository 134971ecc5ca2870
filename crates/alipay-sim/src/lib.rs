//! payport-alipay-sim: an offline Alipay that speaks both gateways for real.
//!
//! Will verify the merchant's signatures, keep trades and refunds by Alipay's rules,
//! sign its answers and send notifications. Not implemented yet (issue 4).
