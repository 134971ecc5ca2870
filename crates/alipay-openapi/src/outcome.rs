//! What a verified gateway answer means for the caller (PROTOCOL.md A8 and C).
//!
//! | answer | outcome |
//! |---|---|
//! | `10000` | success: read the fields |
//! | `40004` + `ACQ.SYSTEM_ERROR` | unknown: query, or retry with identical parameters |
//! | `40004` + `aop.ACQ.SYSTEM_ERROR` (the gateway's spelling) | unknown, as `ACQ.SYSTEM_ERROR` |
//! | `40004` + `ACQ.DISCORDANT_REPEAT_REQUEST` | unknown: the number was used before, check whether it refunded |
//! | `40004` + any other sub_code | rejected (final) |
//! | `20000` (isp/aop.unknow-error) | unknown |
//! | `40005` (call limit exceeded) | unknown: "not now" is no "no"; never mark a refund failed on it |
//! | `20001`, `40001`, `40002`, `40003`, `40006` | rejected: the call was not executed |
//! | any other code | unknown: never guess |

use payport_domain::{GatewayError, GatewayFailure};
use serde_json::{Map, Value};

/// The common fields of a `<method>_response` node.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub code: String,
    pub msg: String,
    pub sub_code: Option<String>,
    pub sub_msg: Option<String>,
    pub fields: Map<String, Value>,
}

impl Answer {
    /// Parses the (already verified) raw node text.
    ///
    /// # Errors
    /// `Unknown` when it is not a JSON object with a `code`.
    pub fn parse(content: &str) -> Result<Answer, GatewayError> {
        let fields: Map<String, Value> = serde_json::from_str(content).map_err(|e| {
            GatewayError::Unknown(format!("response node is not a JSON object: {e}"))
        })?;
        let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
        let code = text("code")
            .ok_or_else(|| GatewayError::Unknown("response node has no code".into()))?;
        Ok(Answer {
            msg: text("msg").unwrap_or_default(),
            sub_code: text("sub_code").filter(|s| !s.is_empty()),
            sub_msg: text("sub_msg").filter(|s| !s.is_empty()),
            code,
            fields,
        })
    }

    /// A string field, `None` when absent or empty.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.fields
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn failure(&self) -> GatewayFailure {
        GatewayFailure {
            code: self.code.clone(),
            sub_code: self.sub_code.clone(),
            message: self.sub_msg.clone().unwrap_or_else(|| self.msg.clone()),
        }
    }

    /// `Ok(self)` for `10000`; otherwise the error the table above gives.
    ///
    /// # Errors
    /// `Rejected` or `Unknown` per the table.
    pub fn into_success(self) -> Result<Answer, GatewayError> {
        match classify(&self.code, self.sub_code.as_deref()) {
            Class::Success => Ok(self),
            Class::Rejected => Err(GatewayError::Rejected(self.failure())),
            Class::Unknown => Err(GatewayError::Unknown(self.failure().to_string())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Success,
    Rejected,
    Unknown,
}

/// Sub-codes of `40004` whose outcome is not known.
const UNKNOWN_SUB_CODES: [&str; 3] = [
    "ACQ.SYSTEM_ERROR",
    "aop.ACQ.SYSTEM_ERROR",
    "ACQ.DISCORDANT_REPEAT_REQUEST",
];

/// Throttling (`40005`) is absent on purpose: it says "try later", and a refund
/// marked failed on it could be made again under a new number while a later call
/// under the old one still refunds (PROTOCOL.md C).
pub fn classify(code: &str, sub_code: Option<&str>) -> Class {
    match code {
        "10000" => Class::Success,
        "40004" if sub_code.is_some_and(|s| UNKNOWN_SUB_CODES.contains(&s)) => Class::Unknown,
        "40004" | "20001" | "40001" | "40002" | "40003" | "40006" => Class::Rejected,
        _ => Class::Unknown,
    }
}

/// Codes Alipay answers without a signature because the call never ran (it could not
/// authenticate us): the only unsigned answers believed, and only as failures.
pub fn unsigned_failure_believable(code: &str) -> bool {
    matches!(code, "40001" | "40002" | "20001" | "40006")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_table_row_by_row() {
        let rows = [
            ("10000", None, Class::Success),
            ("40004", Some("ACQ.SYSTEM_ERROR"), Class::Unknown),
            (
                "40004",
                Some("ACQ.DISCORDANT_REPEAT_REQUEST"),
                Class::Unknown,
            ),
            ("40004", Some("ACQ.INVALID_PARAMETER"), Class::Rejected),
            (
                "40004",
                Some("ACQ.SELLER_BALANCE_NOT_ENOUGH"),
                Class::Rejected,
            ),
            (
                "40004",
                Some("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"),
                Class::Rejected,
            ),
            (
                "40004",
                Some("ACQ.REASON_TRADE_BEEN_FREEZEN"),
                Class::Rejected,
            ),
            ("40004", Some("ACQ.TRADE_NOT_EXIST"), Class::Rejected),
            ("40004", Some("ACQ.TRADE_HAS_FINISHED"), Class::Rejected),
            ("40004", Some("ACQ.TRADE_STATUS_ERROR"), Class::Rejected),
            (
                "40004",
                Some("ACQ.REASON_TRADE_REFUND_FEE_ERR"),
                Class::Rejected,
            ),
            ("40004", Some("ACQ.TRADE_NOT_ALLOW_REFUND"), Class::Rejected),
            ("40004", Some("ACQ.REFUND_FEE_ERROR"), Class::Rejected),
            ("40004", None, Class::Rejected),
            ("20000", Some("isp.unknow-error"), Class::Unknown),
            ("20000", Some("aop.unknow-error"), Class::Unknown),
            ("20001", Some("aop.invalid-auth-token"), Class::Rejected),
            ("40001", Some("isv.missing-signature"), Class::Rejected),
            ("40002", Some("isv.invalid-signature"), Class::Rejected),
            ("40002", Some("isv.invalid-app-id"), Class::Rejected),
            ("40003", None, Class::Rejected),
            ("40005", None, Class::Unknown),
            ("40005", Some("isv.call-limit-exceeded"), Class::Unknown),
            ("40004", Some("aop.ACQ.SYSTEM_ERROR"), Class::Unknown),
            (
                "40006",
                Some("isv.insufficient-isv-permissions"),
                Class::Rejected,
            ),
            ("99999", None, Class::Unknown),
            ("", None, Class::Unknown),
        ];
        for (code, sub, class) in rows {
            assert_eq!(classify(code, sub), class, "{code} {sub:?}");
        }
    }

    #[test]
    fn a_node_becomes_success_or_the_right_error() {
        let ok = Answer::parse(r#"{"code":"10000","msg":"Success","fund_change":"Y"}"#).unwrap();
        assert_eq!(
            ok.clone().into_success().unwrap().text("fund_change"),
            Some("Y")
        );
        let node = Answer::parse(
            r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_HAS_FINISHED","sub_msg":"交易已完结"}"#,
        )
        .unwrap();
        let GatewayError::Rejected(failure) = node.into_success().unwrap_err() else {
            panic!("rejected expected");
        };
        assert_eq!(failure.sub_code.as_deref(), Some("ACQ.TRADE_HAS_FINISHED"));
        assert_eq!(failure.message, "交易已完结");
        let node = Answer::parse(
            r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"系统错误"}"#,
        )
        .unwrap();
        assert!(matches!(node.into_success(), Err(GatewayError::Unknown(_))));
        assert!(Answer::parse("[1]").is_err());
        assert!(Answer::parse(r#"{"msg":"no code"}"#).is_err());
    }
}
