//! Bearer tokens with two roles. Tokens come from config, are compared in constant
//! time, and never logged.

use std::sync::Arc;

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A shop's backend: orders, payments, refunds of its orders.
    Merchant,
    /// Customer service: everything, including approvals and all refunds.
    Operator,
}

/// The configured tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    pub merchant: Vec<String>,
    pub operator: Vec<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tokens({} merchant, {} operator)",
            self.merchant.len(),
            self.operator.len()
        )
    }
}

impl Tokens {
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

/// `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_token")]
pub struct BearerAuth(pub Role);

async fn check_token(req: &Request, bearer: Bearer) -> Option<Role> {
    req.data::<Arc<AppState>>()?.tokens.role_of(&bearer.token)
}

impl BearerAuth {
    /// # Errors
    /// FORBIDDEN unless the token is an operator's.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self.0 {
            Role::Operator => Ok(()),
            Role::Merchant => Err(ApiError::new(
                poem::http::StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "this needs an operator token",
            )),
        }
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
