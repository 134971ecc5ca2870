//! Idempotency keys of the HTTP API: the first response to a key is stored, so a
//! retried POST gets the same answer instead of creating something twice.
//!
//! The key is unique in storage. The HTTP layer reserves a key ([`IN_FLIGHT`]) before
//! doing the work and stores the response after; when two requests with one key race,
//! the second insert gets [`IdempotencyInsert::Duplicate`] with the stored record, to
//! replay it (same `request_hash`) or refuse the request (a different one).
//!
//! A reservation names the instance handling it (its `holder`), and instances beat
//! a heartbeat here, so that a key held by an instance that died is handed to a
//! retry ([`IdempotencyStore::idempotency_take_over`]) within a few heartbeats,
//! rather than staying "in use".

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
    /// The instance that reserved the key and handles its request (`None`: a record
    /// kept before instances were tracked).
    pub holder: Option<String>,
}

impl IdempotencyRecord {
    /// Whether a retried request is the same request as the stored one.
    pub fn matches(&self, request_hash: &str) -> bool {
        self.request_hash == request_hash
    }
}

/// When an in-flight key counts as abandoned, for
/// [`IdempotencyStore::idempotency_take_over`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abandoned {
    /// Its holder has beaten no heartbeat since (or has left, or never beat).
    pub silent_since: DateTime<Utc>,
    /// It was reserved before this, whoever holds it: no request runs that long, so
    /// its answer was lost (say, the store failed as it was being recorded).
    pub reserved_before: DateTime<Utc>,
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

    /// Records the final response of a request whose key was stored [`IN_FLIGHT`]
    /// by `holder`. Returns `false` when the key was not in flight, or another
    /// instance took it over (nothing changed: the taker's answer counts).
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_complete(
        &self,
        key: &str,
        holder: &str,
        http_status: u16,
        response_body: &str,
    ) -> Result<bool, RepoError>;

    /// Forgets an in-flight key of `holder` whose request failed without a
    /// definitive answer, so that a retry with the same key runs again. Returns
    /// `false` when not in flight or not `holder`'s.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_release(&self, key: &str, holder: &str) -> Result<bool, RepoError>;

    /// Hands the in-flight key `reservation.key`, reserved for the same request
    /// (`request_hash`), to `reservation.holder` with its `created_at`, when it is
    /// [`Abandoned`]: held by another instance silent since `silent_since`, or
    /// reserved before `reserved_before`. One conditional write: of several takers
    /// exactly one gets `true`; the others then see a live holder.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_take_over(
        &self,
        reservation: &IdempotencyRecord,
        abandoned: Abandoned,
    ) -> Result<bool, RepoError>;

    /// This instance is alive at `now`: registers it the first time (and again if
    /// its row was purged), then moves its heartbeat.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn instance_beat(&self, instance: &str, now: DateTime<Utc>) -> Result<(), RepoError>;

    /// This instance stops (a graceful shutdown): its in-flight keys are free at once.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn instance_leave(&self, instance: &str) -> Result<(), RepoError>;

    /// Forgets instances silent since `silent_since` (dead ones); returns how many.
    /// Their keys stay abandoned.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn instances_purge(&self, silent_since: DateTime<Utc>) -> Result<u64, RepoError>;

    /// Deletes every record created before `created_before` (expired keys, and
    /// reservations of requests that never finished); returns how many.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`].
    async fn idempotency_purge(&self, created_before: DateTime<Utc>) -> Result<u64, RepoError>;
}
