//! Bearer tokens with two roles: the `auth` settings as configured, and the [`Tokens`]
//! the HTTP layer checks callers against. Tokens are compared in constant time and
//! never printed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use subtle::ConstantTimeEq;

/// Made up when no token is configured, in simulator mode only.
pub const DEV_MERCHANT_TOKEN: &str = "dev-merchant-token";
pub const DEV_OPERATOR_TOKEN: &str = "dev-operator-token";

/// Bearer tokens; never printed (see `Debug`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    #[serde(deserialize_with = "comma_separated")]
    pub merchant_tokens: Vec<String>,
    #[serde(deserialize_with = "comma_separated")]
    pub operator_tokens: Vec<String>,
}

impl AuthConfig {
    pub fn is_empty(&self) -> bool {
        self.merchant_tokens.is_empty() && self.operator_tokens.is_empty()
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AuthConfig {{ merchant_tokens: {} redacted, operator_tokens: {} redacted }}",
            self.merchant_tokens.len(),
            self.operator_tokens.len()
        )
    }
}

/// Accepts `"a,b"` (environment) as well as `["a", "b"]` (TOML).
fn comma_separated<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tokens {
        One(String),
        Many(Vec<String>),
    }
    let tokens = match Tokens::deserialize(d)? {
        Tokens::One(s) => s.split(',').map(str::to_owned).collect(),
        Tokens::Many(v) => v,
    };
    Ok(tokens
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A shop's backend: orders, payments, refunds of its orders.
    Merchant,
    /// Customer service: everything, including approvals and all refunds.
    Operator,
}

/// The tokens in force.
#[derive(Clone, Default)]
pub struct Tokens {
    pub merchant: Vec<String>,
    pub operator: Vec<String>,
}

impl Tokens {
    /// The DEV tokens (see [`DEV_MERCHANT_TOKEN`]).
    pub fn dev() -> Tokens {
        Tokens {
            merchant: vec![DEV_MERCHANT_TOKEN.to_owned()],
            operator: vec![DEV_OPERATOR_TOKEN.to_owned()],
        }
    }

    /// The role of `token`; every configured token is compared, in constant time.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let matches = |list: &[String]| {
            list.iter()
                .fold(subtle::Choice::from(0), |found, t| {
                    found | t.as_bytes().ct_eq(token.as_bytes())
                })
                .into()
        };
        let operator: bool = matches(&self.operator);
        let merchant: bool = matches(&self.merchant);
        if operator {
            Some(Role::Operator)
        } else if merchant {
            Some(Role::Merchant)
        } else {
            None
        }
    }
}

impl From<&AuthConfig> for Tokens {
    fn from(auth: &AuthConfig) -> Tokens {
        Tokens {
            merchant: auth.merchant_tokens.clone(),
            operator: auth.operator_tokens.clone(),
        }
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tokens({} merchant, {} operator)",
            self.merchant.len(),
            self.operator.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_token() {
        let tokens = Tokens {
            merchant: vec!["m1".into(), "m2".into()],
            operator: vec!["op".into()],
        };
        assert_eq!(tokens.role_of("m2"), Some(Role::Merchant));
        assert_eq!(tokens.role_of("op"), Some(Role::Operator));
        assert_eq!(tokens.role_of("m"), None);
        assert_eq!(tokens.role_of(""), None);
        assert!(!format!("{tokens:?}").contains("m1"));
    }
}
