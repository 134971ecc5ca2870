//! When to ask Alipay whether a pending order was paid: its payment notification may
//! never come (lost, or refused by a proxy), and the buyer's money must not be.
//!
//! The schedule is a list of offsets from the moment the payment started; after the
//! last one, the last gap repeats. Checks stop at the order's expiry: one last check
//! there at most, then the expiry worker closes the order, and closing asks Alipay
//! first (a paid trade refuses to close and is synced instead), so nothing is lost.

use chrono::{DateTime, Duration, Utc};

/// 15 s, 1, 2, 5, 10 and 30 minutes after the payment started.
pub fn default_offsets() -> Vec<Duration> {
    vec![
        Duration::seconds(15),
        Duration::minutes(1),
        Duration::minutes(2),
        Duration::minutes(5),
        Duration::minutes(10),
        Duration::minutes(30),
    ]
}

/// The shortest repeat gap: a schedule ending in equal or zero offsets must not make
/// the worker ask in a loop.
const MIN_GAP: Duration = Duration::seconds(1);

/// The first check when a payment starts at `now`: the first offset, not after the
/// expiry. `None` for an empty schedule.
pub fn first_check(
    offsets: &[Duration],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    offsets.first().map(|first| (now + *first).min(expires_at))
}

/// The check after `now` of a payment started at `started_at`: the first point of the
/// schedule later than `now`. A point past `expires_at` becomes `expires_at` while that
/// is still ahead; after it, `None` (no more checks).
pub fn next_check(
    offsets: &[Duration],
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let last = *offsets.last()?;
    let point = match offsets.iter().map(|o| started_at + *o).find(|p| *p > now) {
        Some(point) => point,
        None => {
            let before_last = offsets
                .len()
                .checked_sub(2)
                .map_or(Duration::zero(), |i| offsets[i]);
            let gap = (last - before_last).max(MIN_GAP);
            let last_point = started_at + last;
            // Whole gaps already behind `now`, plus the one that lands after it.
            let passed = (now - last_point).num_milliseconds() / gap.num_milliseconds();
            let ahead = i32::try_from(passed.saturating_add(1)).ok();
            match ahead.and_then(|n| gap.checked_mul(n)) {
                Some(span) => last_point + span,
                None => return (now < expires_at).then_some(expires_at),
            }
        }
    };
    if point <= expires_at {
        Some(point)
    } else {
        (now < expires_at).then_some(expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn past_the_schedule_the_last_gap_repeats_from_the_last_point() {
        let offsets = [Duration::seconds(10), Duration::seconds(25)];
        let far = t0() + Duration::days(1);
        // Points t0+25, then every 15 s: t0+100 falls between t0+100 and t0+115.
        let next = next_check(&offsets, t0(), t0() + Duration::seconds(100), far);
        assert_eq!(next, Some(t0() + Duration::seconds(115)));
        let next = next_check(&offsets, t0(), t0() + Duration::seconds(26), far);
        assert_eq!(next, Some(t0() + Duration::seconds(40)));
    }

    #[test]
    fn a_payment_started_too_long_ago_to_count_gaps_is_checked_at_its_expiry_or_not_at_all() {
        let offsets = [Duration::seconds(1)];
        let started = t0() - Duration::days(365 * 100);
        let expires = t0() + Duration::hours(1);
        assert_eq!(next_check(&offsets, started, t0(), expires), Some(expires));
        assert_eq!(next_check(&offsets, started, expires, expires), None);
        let long_expired = t0() - Duration::hours(1);
        assert_eq!(next_check(&offsets, started, t0(), long_expired), None);
    }
}
