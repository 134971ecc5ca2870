//! Identifiers from a seed: the same seed and the same calls give the same ids, so a
//! test run can be replayed exactly. By default the seed is fresh at every start, so
//! a restarted simulator never hands out an earlier run's `trade_no` or `notify_id`
//! again (the merchant's database outlives the simulator's memory).

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// A seed no earlier start used: the time, the process and the OS's randomness.
pub fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Where a fresh ledger's counter starts (it numbers `trade_no`s): anywhere in the
/// first 10^14 of the 15 digits they have, so two seeds' runs do not meet.
pub fn sequence_start(seed: u64) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_be_bytes());
    hasher.update(b"sequence");
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % 100_000_000_000_000
}

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

    #[test]
    fn fresh_seeds_differ_and_start_the_counter_elsewhere() {
        let (a, b) = (super::fresh_seed(), super::fresh_seed());
        assert_ne!(a, b);
        assert_ne!(super::sequence_start(a), super::sequence_start(b));
        assert_eq!(super::sequence_start(7), super::sequence_start(7));
        assert!(super::sequence_start(a) < 100_000_000_000_000);
    }
}
