//! `Idempotency-Key` on POSTs: the first answer to a key is stored and replayed for
//! the same request; the same key with a different request is refused.
//!
//! The caller is authenticated first: a request without a valid token is answered
//! 401 before its key is read, so strangers store nothing. The key is then reserved
//! (stored "in flight") BEFORE the request runs, so two racing requests with one key
//! cannot both create something; the second is told the key is in use. Keys are
//! scoped to the caller's token, so callers cannot replay each other's answers.
//! Answers that are not definitive (5xx, 401, a transient 409 CONFLICT) and answers
//! that changed nothing and may change later (404, 405) release the key for a retry.
//!
//! A key is kept [`KEY_LIFETIME`] from its first use: after that the same key is a new
//! request, and the background worker deletes it.
//!
//! A reservation names this instance. A request that dies with its instance (a crash,
//! SIGKILL) leaves its key in flight; once that instance has been silent for a few
//! heartbeats ([`Instance::silent_after`]), a retry with the same key and request
//! takes the key over and runs the request again, rather than hearing "in use".
//! That never makes a second refund: the retried refund has the same
//! `out_request_no` (from the body, or derived from the key), and a refund asked for
//! under a number in use is the refund already there (sent or not: the worker queries
//! or resends one left unsent, under that same number). Only the holder of a key
//! records its answer, so a presumed-dead instance that was only slow cannot
//! overwrite the taker's.

use std::sync::Arc;

use payport_domain::ports::{
    Abandoned, IdempotencyInsert, IdempotencyRecord, IdempotencyStore, IN_FLIGHT,
};
use poem::http::{Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response};
use sha2::{Digest, Sha256};

use super::auth::{authenticate, bearer_token};
use super::error::ApiError;
use crate::state::{AppState, Instance};

pub const HEADER: &str = "Idempotency-Key";

/// How long a key's answer is replayed (as Stripe does).
pub const KEY_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// The key as stored: the caller's scope ([`super::auth::caller_scope`]) and its key.
pub fn stored_key(scope: &str, key: &str) -> String {
    format!("{scope}:{key}")
}
const MAX_KEY_LEN: usize = 255;

pub struct Idempotency {
    pub store: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn payport_domain::ports::Clock>,
    pub instance: Instance,
}

impl<E: Endpoint> Middleware<E> for Idempotency {
    type Output = IdempotencyEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        IdempotencyEndpoint {
            inner,
            store: self.store.clone(),
            clock: self.clock.clone(),
            instance: self.instance.clone(),
        }
    }
}

pub struct IdempotencyEndpoint<E> {
    inner: E,
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn payport_domain::ports::Clock>,
    instance: Instance,
}

/// What identifies a request under its key: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    sha256_hex(&[method.as_bytes(), path.as_bytes(), body])
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

fn answer(e: ApiError) -> Response {
    e.into_response()
}

/// Longer than any request can take (the gateway timeout is 15 s): an in-flight key
/// older than this lost its answer (say, the store failed as it was recorded),
/// whichever instance holds it.
const IN_FLIGHT_LEASE: chrono::Duration = chrono::Duration::minutes(2);

impl<E> IdempotencyEndpoint<E> {
    /// Reserves the key; returns the stored record when it is someone else's. An
    /// abandoned in-flight reservation of the same request (its instance is silent,
    /// or it is older than [`IN_FLIGHT_LEASE`]) is taken over instead.
    async fn reserve(
        &self,
        reservation: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, payport_domain::RepoError> {
        let expired_before = reservation.created_at - KEY_LIFETIME;
        match self.store.idempotency_insert(reservation).await? {
            IdempotencyInsert::Duplicate(stored) if stored.created_at < expired_before => {
                // Expired: a new request. The worker purges such keys; do it now.
                self.store.idempotency_purge(expired_before).await?;
                match self.store.idempotency_insert(reservation).await? {
                    IdempotencyInsert::Inserted => Ok(None),
                    IdempotencyInsert::Duplicate(again) => Ok(Some(again)),
                }
            }
            IdempotencyInsert::Inserted => Ok(None),
            IdempotencyInsert::Duplicate(stored)
                if stored.http_status == IN_FLIGHT && stored.matches(&reservation.request_hash) =>
            {
                let silent_after =
                    chrono::Duration::from_std(self.instance.silent_after()).unwrap_or_default();
                let abandoned = Abandoned {
                    silent_since: reservation.created_at - silent_after,
                    reserved_before: reservation.created_at - IN_FLIGHT_LEASE,
                };
                if self
                    .store
                    .idempotency_take_over(reservation, abandoned)
                    .await?
                {
                    tracing::warn!(
                        holder = stored.holder.as_deref().unwrap_or("unknown"),
                        "took over an Idempotency-Key whose request died with its instance"
                    );
                    return Ok(None);
                }
                Ok(Some(stored))
            }
            IdempotencyInsert::Duplicate(stored) => Ok(Some(stored)),
        }
    }
}

impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let key = req
            .headers()
            .get(HEADER)
            .map(|v| v.to_str().map(str::to_owned));
        let key = match (req.method() == Method::POST, key) {
            (true, Some(key)) => key.unwrap_or_default(),
            _ => return self.inner.call(req).await.map(IntoResponse::into_response),
        };
        let caller = req
            .data::<Arc<AppState>>()
            .zip(bearer_token(&req))
            .and_then(|(state, token)| authenticate(&state.tokens, token));
        let Some(caller) = caller else {
            return Ok(answer(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "a valid bearer token is required",
            )));
        };
        if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Ok(answer(ApiError::invalid(
                HEADER,
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )));
        }
        let body = req.take_body().into_bytes().await?;
        let stored_key = stored_key(&caller.scope, &key);
        let fingerprint = fingerprint(req.method().as_str(), req.uri().path(), &body);
        let reservation = IdempotencyRecord {
            key: stored_key.clone(),
            request_hash: fingerprint.clone(),
            http_status: IN_FLIGHT,
            response_body: String::new(),
            created_at: self.clock.now(),
            holder: Some(self.instance.id.clone()),
        };
        match self.reserve(&reservation).await {
            Ok(None) => {}
            Ok(Some(stored)) => return Ok(replay(&stored, &fingerprint)),
            Err(e) => {
                return Ok(answer(ApiError::from(
                    payport_domain::usecases::ServiceError::from(e),
                )))
            }
        }
        req.set_body(Body::from(body));
        let response = self.inner.call(req).await.map(IntoResponse::into_response);
        let response = match response {
            Ok(response) => response,
            Err(e) => e.into_response(),
        };
        let status = response.status();
        let (parts, body) = response.into_parts();
        let bytes = body.into_bytes().await.unwrap_or_default();
        let definitive = !(status.is_server_error()
            || status == StatusCode::UNAUTHORIZED
            || status == StatusCode::NOT_FOUND
            || status == StatusCode::METHOD_NOT_ALLOWED
            || (status == StatusCode::CONFLICT && is_transient_conflict(&bytes)));
        let stored = if definitive {
            self.store
                .idempotency_complete(
                    &stored_key,
                    &self.instance.id,
                    status.as_u16(),
                    &String::from_utf8_lossy(&bytes),
                )
                .await
                .map(|_| ())
        } else {
            self.store
                .idempotency_release(&stored_key, &self.instance.id)
                .await
                .map(|_| ())
        };
        if let Err(e) = stored {
            // The request itself is done; a retry with this key will be told it is in use.
            tracing::warn!(error = %e, "could not record an idempotency key's answer");
        }
        Ok(Response::from_parts(parts, Body::from(bytes)))
    }
}

/// "Changed concurrently" and "busy, try again" answers are not the request's answer:
/// a retry with the same key must run again rather than replay them.
fn is_transient_conflict(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
        .is_some_and(|code| {
            matches!(
                code.as_str(),
                "CONFLICT" | "IDEMPOTENCY_KEY_IN_USE" | "RECONCILIATION_RUNNING"
            )
        })
}

fn replay(stored: &IdempotencyRecord, fingerprint: &str) -> Response {
    if !stored.matches(fingerprint) {
        return answer(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used with a different request",
        ));
    }
    if stored.http_status == IN_FLIGHT {
        return answer(ApiError::new(
            StatusCode::CONFLICT,
            "IDEMPOTENCY_KEY_IN_USE",
            "a request with this Idempotency-Key is still being handled; retry shortly",
        ));
    }
    Response::builder()
        .status(StatusCode::from_u16(stored.http_status).unwrap_or(StatusCode::OK))
        .content_type("application/json; charset=utf-8")
        .header("Idempotency-Replayed", "true")
        .body(stored.response_body.clone())
}
