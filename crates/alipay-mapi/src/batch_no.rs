//! Fresh `batch_no`s: Beijing date `yyyyMMdd` plus a serial (PROTOCOL.md B3: 3–24 digits,
//! not `000`, unique per partner for good — a used number is DUPLICATE_BATCH_NO).
//!
//! [`ProcessBatchNos`] makes `yyyyMMdd` + `SSSSS` + `IIIIIIII` + `CCCCCC` (27 digits):
//! - `SSSSS`: the second of the Beijing day when the batch is built (`00000`–`86399`);
//! - `IIIIIIII`: 8 digits drawn once per process from the OS's randomness;
//! - `CCCCCC`: a per-process counter, `000001`–`999999`, then `000001` again.
//!
//! Why that is unique:
//! - another day has another date prefix;
//! - within one process, a number repeats only if the counter comes round to the same
//!   value (999 999 batches later) within the same second of the day;
//! - two processes (several payport instances, or one restarted) differ in their
//!   instance digits unless both drew the same 8 digits (1 in 10^8 per pair), and even
//!   then they also need the same second and the same counter value.
//!
//! The counter never yields `000000`, so the serial is never all zeros. Re-sends do
//! not come here: they reuse the batch_no the refund already carries.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use payport_domain::{BatchNo, GatewayError};

use crate::beijing;

/// Where new batch numbers come from. Each call returns a number never returned before
/// (by any payport instance serving the same partner).
pub trait BatchNoSource: Send + Sync {
    /// A new batch number dated `now` in Beijing time.
    ///
    /// # Errors
    /// `Config` when no number can be made (e.g. a source backed by a database that is
    /// down); nothing is sent then.
    fn next_batch_no(&self, now: DateTime<Utc>) -> Result<BatchNo, GatewayError>;
}

/// The default source: time, an instance-unique random part and a counter (module doc).
#[derive(Debug)]
pub struct ProcessBatchNos {
    instance: u32,
    counter: AtomicU64,
}

const INSTANCE_MODULUS: u32 = 100_000_000;
const COUNTER_MODULUS: u64 = 999_999;

/// The OS could not provide randomness for the instance digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no OS randomness for the batch number's instance digits: {0}")]
pub struct NoRandomness(String);

impl ProcessBatchNos {
    /// Draws this process's instance digits from the OS.
    ///
    /// # Errors
    /// [`NoRandomness`] when the OS has none to give.
    pub fn new() -> Result<ProcessBatchNos, NoRandomness> {
        let mut bytes = [0u8; 4];
        getrandom::getrandom(&mut bytes).map_err(|e| NoRandomness(e.to_string()))?;
        Ok(ProcessBatchNos::with_instance(u32::from_le_bytes(bytes)))
    }

    /// With chosen instance digits (`instance % 10^8`): for tests, or for deployments
    /// that number their instances themselves.
    pub fn with_instance(instance: u32) -> ProcessBatchNos {
        ProcessBatchNos {
            instance: instance % INSTANCE_MODULUS,
            counter: AtomicU64::new(0),
        }
    }
}

impl BatchNoSource for ProcessBatchNos {
    fn next_batch_no(&self, now: DateTime<Utc>) -> Result<BatchNo, GatewayError> {
        let count = self.counter.fetch_add(1, Ordering::Relaxed) % COUNTER_MODULUS + 1;
        let text = format!(
            "{}{:05}{:08}{:06}",
            beijing::date_digits(now),
            beijing::second_of_day(now),
            self.instance,
            count
        );
        BatchNo::parse(text).map_err(|e| GatewayError::Config(format!("batch_no: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    #[test]
    fn date_is_beijing_and_serial_is_time_instance_counter() {
        let source = ProcessBatchNos::with_instance(1234);
        // 16:30:05 UTC is already the next day in Beijing.
        let first = source.next_batch_no(at(2026, 11, 21, 16, 30, 5)).unwrap();
        assert_eq!(first.as_str(), "202611220180500001234000001");
        let second = source.next_batch_no(at(2026, 11, 21, 16, 30, 5)).unwrap();
        assert_eq!(&second.as_str()[..8], "20261122");
        assert!(second.as_str().ends_with("000002"));
    }

    #[test]
    fn format_is_date_plus_3_to_24_digits_never_all_zero() {
        // Beijing midnight, instance 0: the only zeros that could line up.
        let source = ProcessBatchNos::with_instance(0);
        let midnight = at(2026, 11, 21, 16, 0, 0);
        for _ in 0..3 {
            let no = source.next_batch_no(midnight).unwrap();
            let text = no.as_str();
            assert!(text.bytes().all(|b| b.is_ascii_digit()));
            assert!((11..=32).contains(&text.len()), "{text}");
            assert!(text[8..].bytes().any(|b| b != b'0'), "{text}");
        }
    }

    #[test]
    fn the_counter_wraps_to_1_not_0() {
        let source = ProcessBatchNos::with_instance(7);
        source.counter.store(COUNTER_MODULUS - 1, Ordering::Relaxed);
        let now = at(2026, 1, 1, 0, 0, 0);
        assert!(source
            .next_batch_no(now)
            .unwrap()
            .as_str()
            .ends_with("999999"));
        assert!(source
            .next_batch_no(now)
            .unwrap()
            .as_str()
            .ends_with("000001"));
    }

    #[test]
    fn one_process_never_repeats_within_a_second() {
        let source = ProcessBatchNos::new().unwrap();
        let now = at(2026, 11, 21, 1, 2, 3);
        let numbers: HashSet<String> = (0..10_000)
            .map(|_| source.next_batch_no(now).unwrap().as_str().to_owned())
            .collect();
        assert_eq!(numbers.len(), 10_000);
    }

    #[test]
    fn instances_draw_their_own_digits() {
        let now = at(2026, 11, 21, 1, 2, 3);
        let a = ProcessBatchNos::new().unwrap().next_batch_no(now).unwrap();
        let b = ProcessBatchNos::new().unwrap().next_batch_no(now).unwrap();
        // Same date, second and counter: only the instance digits can tell them apart
        // (a 1-in-10^8 flake at worst).
        assert_ne!(a, b);
    }
}
