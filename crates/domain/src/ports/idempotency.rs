//! Idempotency keys of the HTTP API: the first response to a key is stored, so a
//! retried POST gets the same answer instead of creating something twice.
//!
//! The key is unique in storage. The HTTP layer reserves a key ([`IN_FLIGHT`]) before
//! doing the work and stores the response after; when two requests with one key race,
//! the second insert gets [`IdempotencyInsert::Duplicate`] with the stored record, to
//! replay it (same `request_hash`) or refuse the request (a different one).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::RepoError;

/// The status a key is stored with while its request is being handled.
pub const IN_FLIGHT: u16 = 102;

/// A stored response to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The client's `Idempotency-Key` (scoped by the caller as it sees fit).
    pub key: String,
    /// A fingerprint of the request (method, path, body ...), chosen by the caller.
    pub request_hash: String,
    pub http_status: u16,
    pub response_body: String,
    pub created_at: DateTime<Utc>,
}

impl IdempotencyRecord {
    /// Whether a retried request is the same request as the stored one.
    pub fn matches(&self, request_hash: &str) -> bool {
        self.request_hash == request_hash
    }
}

/// What storing a record came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyInsert {
    Inserted,
    /// The key was stored already (by a concurrent request); nothing was overwritten.
    Duplicate(IdempotencyRecord),
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Stores `record` unless its key exists; then returns the stored one.
    /// `Inserted` means `record` is stored: a key released by its request between the
    /// conflict and the read is not a won race (the insert is tried again).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_insert(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyInsert, RepoError>;

    /// The stored response for `key`, if any.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_lookup(&self, key: &str) -> Result<Option<IdempotencyRecord>, RepoError>;

    /// Records the final response of a request whose key was stored [`IN_FLIGHT`].
    /// Returns `false` when the key was not in flight (nothing changed).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_complete(
        &self,
        key: &str,
        http_status: u16,
        response_body: &str,
    ) -> Result<bool, RepoError>;

    /// Forgets an in-flight key whose request failed without a definitive answer, so
    /// that a retry with the same key runs again. Returns `false` when not in flight.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_release(&self, key: &str) -> Result<bool, RepoError>;

    /// Deletes every record created before `created_before` (expired keys, and
    /// reservations of requests that never finished); returns how many.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_purge(&self, created_before: DateTime<Utc>) -> Result<u64, RepoError>;
}
