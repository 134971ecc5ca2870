//! Bearer auth with two roles, checked against the [`Tokens`] in the state the HTTP
//! layer is given (configured in [`crate::config::auth`]).

use std::sync::Arc;

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;
use sha2::{Digest, Sha256};

use super::error::ApiError;
pub use crate::config::auth::{Role, Tokens};
use crate::state::AppState;

/// `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_token")]
pub struct BearerAuth(pub Caller);

/// Who is calling: the token's role, and a stable pseudonym of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    /// What `Idempotency-Key`s and the refund numbers derived from them are scoped
    /// by, so that two callers never share them ([`caller_scope`]).
    pub scope: String,
}

/// 16 hex digits of SHA-256(token): the same for every request with one token, and
/// no way back to the token (it may end up in refund numbers sent to Alipay).
pub fn caller_scope(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..8])
}

/// The caller with this token, if it is one of the configured tokens.
pub fn authenticate(tokens: &Tokens, token: &str) -> Option<Caller> {
    tokens.role_of(token).map(|role| Caller {
        role,
        scope: caller_scope(token),
    })
}

/// The token of an `Authorization: Bearer <token>` header, parsed as the
/// [`BearerAuth`] scheme does.
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_at_checked("Bearer ".len())?;
    scheme
        .eq_ignore_ascii_case("Bearer ")
        .then(|| token.trim_start_matches(' '))
}

async fn check_token(req: &Request, bearer: Bearer) -> Option<Caller> {
    authenticate(&req.data::<Arc<AppState>>()?.tokens, &bearer.token)
}

impl BearerAuth {
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// # Errors
    /// FORBIDDEN unless the token is an operator's.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self.0.role {
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
    fn scopes_are_per_token_and_hide_it() {
        let a = caller_scope("m-token-a");
        assert_eq!(a, caller_scope("m-token-a"));
        assert_ne!(a, caller_scope("m-token-b"));
        assert_eq!(a.len(), 16);
        assert!(!a.contains("token"));
    }
}
