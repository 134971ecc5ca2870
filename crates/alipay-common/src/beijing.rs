//! Alipay's timestamps: `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), whatever the
//! server's zone (PROTOCOL.md A1: JAVA/EASY use GMT+8; local-time SDKs break abroad).
//! The OpenAPI `timestamp` and `gmt_*` fields, and mapi's `refund_date`, the date in
//! `batch_no` and `notify_time`, all use it.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Timelike, Utc};

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Checked at compile time: an invalid offset would fail the build, not a request.
const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// `yyyy-MM-dd HH:mm:ss`.
pub fn format(at: DateTime<Utc>) -> String {
    at.with_timezone(&BEIJING).format(FORMAT).to_string()
}

/// `yyyyMMdd` (the first 8 digits of a mapi `batch_no`).
pub fn date_digits(at: DateTime<Utc>) -> String {
    at.with_timezone(&BEIJING).format("%Y%m%d").to_string()
}

/// Seconds since Beijing midnight, `0..86400`.
pub fn second_of_day(at: DateTime<Utc>) -> u32 {
    at.with_timezone(&BEIJING).num_seconds_from_midnight() % 86_400
}

/// Parses exactly `yyyy-MM-dd HH:mm:ss` (mapi's `notify_time`).
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    from_beijing(NaiveDateTime::parse_from_str(text, FORMAT).ok()?)
}

/// Parses `yyyy-MM-dd HH:mm:ss`, optionally with fractional seconds: OpenAPI's
/// `gmt_refund` is `2015-04-28 15:45:57.320`.
pub fn parse_allowing_fraction(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()?;
    from_beijing(naive)
}

fn from_beijing(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    BEIJING
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_in_beijing_time() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 16, 30, 5).unwrap();
        assert_eq!(format(at), "2026-11-22 00:30:05");
        assert_eq!(parse_allowing_fraction("2026-11-22 00:30:05"), Some(at));
        assert_eq!(
            parse_allowing_fraction("2015-04-28 15:45:57.320")
                .map(format)
                .as_deref(),
            Some("2015-04-28 15:45:57")
        );
        assert_eq!(parse_allowing_fraction("2015-04-28T15:45:57"), None);
        assert_eq!(parse_allowing_fraction(""), None);
    }

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

    #[test]
    fn the_exact_parse_refuses_fractions() {
        assert_eq!(parse("2015-04-28 15:45:57.320"), None);
    }
}
