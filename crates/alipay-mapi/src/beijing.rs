//! Alipay's times are Beijing time (UTC+8) whatever the server's zone: `refund_date`,
//! the date in `batch_no`, and `notify_time`.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Checked at compile time: an invalid offset would fail the build, not a request.
const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// `yyyy-MM-dd HH:mm:ss` (`refund_date`).
pub(crate) fn format(at: DateTime<Utc>) -> String {
    at.with_timezone(&BEIJING).format(FORMAT).to_string()
}

/// `yyyyMMdd` (the first 8 digits of `batch_no`).
pub(crate) fn date_digits(at: DateTime<Utc>) -> String {
    at.with_timezone(&BEIJING).format("%Y%m%d").to_string()
}

/// Seconds since Beijing midnight, `0..86400`.
pub(crate) fn second_of_day(at: DateTime<Utc>) -> u32 {
    use chrono::Timelike;
    at.with_timezone(&BEIJING).num_seconds_from_midnight() % 86_400
}

/// Parses `yyyy-MM-dd HH:mm:ss` as Beijing time (`notify_time`).
pub(crate) fn parse(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, FORMAT).ok()?;
    BEIJING
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_is_utc_plus_8_whatever_the_server_zone() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 16, 30, 5).unwrap();
        assert_eq!(format(at), "2026-11-22 00:30:05");
        assert_eq!(date_digits(at), "20261122");
        assert_eq!(second_of_day(at), 30 * 60 + 5);
        assert_eq!(parse("2026-11-22 00:30:05"), Some(at));
        assert_eq!(parse("2026-11-22T00:30:05"), None);
        assert_eq!(parse(""), None);
    }
}
