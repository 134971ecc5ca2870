//! Alipay's error answers: `code`, `msg`, `sub_code`, `sub_msg` (PROTOCOL.md A8).

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayError {
    pub code: &'static str,
    pub msg: &'static str,
    pub sub_code: String,
    pub sub_msg: String,
}

impl AlipayError {
    /// `40004 Business Failed` with an ACQ.* sub_code.
    pub fn business(sub_code: &str, sub_msg: &str) -> AlipayError {
        AlipayError {
            code: "40004",
            msg: "Business Failed",
            sub_code: sub_code.to_owned(),
            sub_msg: sub_msg.to_owned(),
        }
    }

    /// `40001 Missing Required Arguments`.
    pub fn missing(sub_code: &str, sub_msg: &str) -> AlipayError {
        AlipayError {
            code: "40001",
            msg: "Missing Required Arguments",
            sub_code: sub_code.to_owned(),
            sub_msg: sub_msg.to_owned(),
        }
    }

    /// `40002 Invalid Arguments`.
    pub fn invalid(sub_code: &str, sub_msg: &str) -> AlipayError {
        AlipayError {
            code: "40002",
            msg: "Invalid Arguments",
            sub_code: sub_code.to_owned(),
            sub_msg: sub_msg.to_owned(),
        }
    }

    /// `20000 Service Currently Unavailable`.
    pub fn unavailable() -> AlipayError {
        AlipayError {
            code: "20000",
            msg: "Service Currently Unavailable",
            sub_code: "isp.unknow-error".to_owned(),
            sub_msg: "系统繁忙".to_owned(),
        }
    }

    /// Gateway-level errors are answered unsigned: Alipay could not authenticate the
    /// caller, so it does not sign for it.
    pub fn is_gateway_level(&self) -> bool {
        matches!(self.code, "40001" | "40002")
    }

    pub fn node(&self) -> Value {
        json!({
            "code": self.code,
            "msg": self.msg,
            "sub_code": self.sub_code,
            "sub_msg": self.sub_msg,
        })
    }
}
