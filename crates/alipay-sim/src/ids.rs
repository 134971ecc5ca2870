//! Deterministic identifiers: the same seed and the same calls give the same ids, so a
//! simulator run can be replayed exactly.

use sha2::{Digest, Sha256};

/// `notify_id`-style hex, from the seed, a purpose and a counter.
pub fn derived_hex(seed: u64, purpose: &str, n: u64, len: usize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_be_bytes());
    hasher.update(purpose.as_bytes());
    hasher.update(n.to_be_bytes());
    let mut hex = hex::encode(hasher.finalize());
    hex.truncate(len);
    hex
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_seed_same_ids_other_seed_other_ids() {
        let a = super::derived_hex(7, "notify", 1, 32);
        assert_eq!(a, super::derived_hex(7, "notify", 1, 32));
        assert_ne!(a, super::derived_hex(8, "notify", 1, 32));
        assert_ne!(a, super::derived_hex(7, "notify", 2, 32));
        assert_eq!(a.len(), 32);
    }
}
