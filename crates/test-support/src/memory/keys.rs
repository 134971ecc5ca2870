//! Idempotency keys in memory, and the heartbeats of the instances holding them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payport_domain::ports::{
    Abandoned, IdempotencyInsert, IdempotencyRecord, IdempotencyStore, IN_FLIGHT,
};
use payport_domain::RepoError;

use super::MemoryStore;
use crate::lock;

fn held_by(record: &IdempotencyRecord, holder: &str) -> bool {
    record.http_status == IN_FLIGHT && record.holder.as_deref() == Some(holder)
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn idempotency_insert(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<IdempotencyInsert, RepoError> {
        let mut keys = lock(&self.idempotency);
        if let Some(existing) = keys.get(&record.key) {
            return Ok(IdempotencyInsert::Duplicate(existing.clone()));
        }
        keys.insert(record.key.clone(), record.clone());
        Ok(IdempotencyInsert::Inserted)
    }

    async fn idempotency_lookup(&self, key: &str) -> Result<Option<IdempotencyRecord>, RepoError> {
        Ok(lock(&self.idempotency).get(key).cloned())
    }

    async fn idempotency_complete(
        &self,
        key: &str,
        holder: &str,
        http_status: u16,
        response_body: &str,
    ) -> Result<bool, RepoError> {
        match lock(&self.idempotency).get_mut(key) {
            Some(record) if held_by(record, holder) => {
                record.http_status = http_status;
                response_body.clone_into(&mut record.response_body);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn idempotency_release(&self, key: &str, holder: &str) -> Result<bool, RepoError> {
        let mut keys = lock(&self.idempotency);
        if keys.get(key).is_some_and(|r| held_by(r, holder)) {
            keys.remove(key);
            return Ok(true);
        }
        Ok(false)
    }

    async fn idempotency_take_over(
        &self,
        reservation: &IdempotencyRecord,
        abandoned: Abandoned,
    ) -> Result<bool, RepoError> {
        // Both locks, keys first (as nowhere else takes both): one decision at a time.
        let mut keys = lock(&self.idempotency);
        let instances = lock(&self.instances);
        let Some(stored) = keys.get_mut(&reservation.key) else {
            return Ok(false);
        };
        if stored.http_status != IN_FLIGHT || stored.request_hash != reservation.request_hash {
            return Ok(false);
        }
        let holder_gone = match &stored.holder {
            None => false,
            Some(holder) if Some(holder) == reservation.holder.as_ref() => false,
            Some(holder) => instances
                .get(holder)
                .is_none_or(|beat| *beat < abandoned.silent_since),
        };
        if !(holder_gone || stored.created_at < abandoned.reserved_before) {
            return Ok(false);
        }
        stored.holder.clone_from(&reservation.holder);
        stored.created_at = reservation.created_at;
        Ok(true)
    }

    async fn instance_beat(&self, instance: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
        lock(&self.instances).insert(instance.to_owned(), now);
        Ok(())
    }

    async fn instance_leave(&self, instance: &str) -> Result<(), RepoError> {
        lock(&self.instances).remove(instance);
        Ok(())
    }

    async fn instances_purge(&self, silent_since: DateTime<Utc>) -> Result<u64, RepoError> {
        let mut instances = lock(&self.instances);
        let before = instances.len();
        instances.retain(|_, beat| *beat >= silent_since);
        Ok((before - instances.len()) as u64)
    }

    async fn idempotency_purge(&self, created_before: DateTime<Utc>) -> Result<u64, RepoError> {
        let mut keys = lock(&self.idempotency);
        let before = keys.len();
        keys.retain(|_, record| record.created_at >= created_before);
        Ok((before - keys.len()) as u64)
    }
}
