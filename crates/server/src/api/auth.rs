//! Bearer auth with two roles, checked against the [`Tokens`] in the state the HTTP
//! layer is given (configured in [`crate::config::auth`]).

use std::sync::Arc;

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::error::ApiError;
pub use crate::config::auth::{Role, Tokens};
use crate::state::AppState;

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
