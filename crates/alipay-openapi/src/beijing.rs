//! Alipay's timestamps: `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), whatever the
//! server's zone (PROTOCOL A1: JAVA/EASY use GMT+8; local-time SDKs break abroad).

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Checked at compile time: an invalid offset would fail the build, not a request.
const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

pub fn format(at: DateTime<Utc>) -> String {
    at.with_timezone(&BEIJING).format(FORMAT).to_string()
}

/// Parses `yyyy-MM-dd HH:mm:ss`, optionally with fractional seconds
/// (`gmt_refund` is `2015-04-28 15:45:57.320`).
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()?;
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
        assert_eq!(parse("2026-11-22 00:30:05"), Some(at));
        assert_eq!(
            parse("2015-04-28 15:45:57.320").map(format).as_deref(),
            Some("2015-04-28 15:45:57")
        );
        assert_eq!(parse("2015-04-28T15:45:57"), None);
        assert_eq!(parse(""), None);
    }
}
