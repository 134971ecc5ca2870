//! Timestamps: the domain's `DateTime<Utc>`, stored as PostgreSQL `TIMESTAMPTZ` and as
//! fixed-width UTC text on SQLite, both to the microsecond.
//!
//! [`UtcTime`] is one SQL type with a representation per backend, so the schema (and
//! every query) is written once. The conversions are done here by hand rather than with
//! diesel's `chrono` feature, which would switch on chrono's `clock` for the whole
//! workspace and undo the domain's "no clock" build.
//!
//! SQLite text is `YYYY-MM-DDTHH:MM:SS.ffffffZ`: always 27 characters, so comparing the
//! text (in `WHERE next_sync_at <= ?` and `ORDER BY created_at`) compares the times.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::data_types::PgTimestamp;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Text, Timestamptz};
use diesel::sqlite::Sqlite;

/// The SQL type of every timestamp column.
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct UtcTime;

// `MIN`/`MAX` of a timestamp are the earliest and latest on both backends: SQLite's
// fixed-width text sorts as the times do.
impl diesel::sql_types::SqlOrd for UtcTime {}

/// A timestamp on its way to or from the database.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = UtcTime)]
pub struct DbTime(pub DateTime<Utc>);

impl From<DateTime<Utc>> for DbTime {
    fn from(value: DateTime<Utc>) -> Self {
        DbTime(value)
    }
}

/// The SQLite text format; `%.6f` always prints six digits (truncating nanoseconds).
const SQLITE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";
const SQLITE_LEN: usize = 27;

/// PostgreSQL counts microseconds from 2000-01-01T00:00:00Z.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

impl DbTime {
    pub(crate) fn to_sqlite_text(self) -> Result<String, String> {
        let text = self.0.format(SQLITE_FORMAT).to_string();
        if text.len() != SQLITE_LEN {
            // Years outside 0000..=9999 would break the fixed width (and the ordering).
            return Err(format!("timestamp {} is out of range", self.0));
        }
        Ok(text)
    }

    pub(crate) fn from_sqlite_text(text: &str) -> Result<DbTime, String> {
        if text.len() != SQLITE_LEN {
            return Err(format!("timestamp {text:?} is not in payport's format"));
        }
        NaiveDateTime::parse_from_str(text, SQLITE_FORMAT)
            .map(|naive| DbTime(naive.and_utc()))
            .map_err(|e| format!("timestamp {text:?}: {e}"))
    }

    fn to_pg_micros(self) -> Result<i64, String> {
        self.0
            .timestamp_micros()
            .checked_sub(PG_EPOCH_OFFSET_MICROS)
            .ok_or_else(|| format!("timestamp {} is out of range", self.0))
    }

    fn from_pg_micros(micros: i64) -> Result<DbTime, String> {
        micros
            .checked_add(PG_EPOCH_OFFSET_MICROS)
            .and_then(DateTime::from_timestamp_micros)
            .map(DbTime)
            .ok_or_else(|| format!("timestamptz {micros} (infinity?) is out of range"))
    }
}

impl ToSql<UtcTime, Sqlite> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_sqlite_text()?);
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTime, Sqlite> for DbTime {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(DbTime::from_sqlite_text(&text)?)
    }
}

impl ToSql<UtcTime, Pg> for DbTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        let micros = PgTimestamp(self.to_pg_micros()?);
        <PgTimestamp as ToSql<Timestamptz, Pg>>::to_sql(&micros, &mut out.reborrow())
    }
}

impl FromSql<UtcTime, Pg> for DbTime {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let PgTimestamp(micros) = <PgTimestamp as FromSql<Timestamptz, Pg>>::from_sql(value)?;
        Ok(DbTime::from_pg_micros(micros)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_is_fixed_width_and_round_trips_microseconds() {
        let t = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        let text = DbTime(t).to_sqlite_text().unwrap();
        assert_eq!(text, "2026-09-21T14:13:20.123456Z");
        assert_eq!(DbTime::from_sqlite_text(&text), Ok(DbTime(t)));
        let whole = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        assert_eq!(DbTime(whole).to_sqlite_text().unwrap().len(), SQLITE_LEN);
        assert!(DbTime::from_sqlite_text("2026-09-21 14:13:20").is_err());
        assert!(DbTime::from_sqlite_text("2026-09-21T14:13:20.123456+08").is_err());
    }

    #[test]
    fn text_order_is_time_order() {
        let a = DbTime(DateTime::from_timestamp_micros(1_790_000_000_000_000).unwrap());
        let b = DbTime(DateTime::from_timestamp_micros(1_790_000_000_000_001).unwrap());
        let c = DbTime(DateTime::from_timestamp_micros(1_790_000_001_000_000).unwrap());
        let text = |t: DbTime| t.to_sqlite_text().unwrap();
        assert!(text(a) < text(b));
        assert!(text(b) < text(c));
    }

    #[test]
    fn postgres_micros_round_trip() {
        let t = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        let micros = DbTime(t).to_pg_micros().unwrap();
        assert_eq!(micros, 1_790_000_000_123_456 - PG_EPOCH_OFFSET_MICROS);
        assert_eq!(DbTime::from_pg_micros(micros), Ok(DbTime(t)));
        assert!(DbTime::from_pg_micros(i64::MAX).is_err());
    }
}
