//! Pages for `list`: newest first, by `(created_at, id)` descending, with a keyset
//! cursor so that rows inserted meanwhile neither repeat nor shift a page.
//!
//! The cursor is opaque to callers; it is `p1.<created_at in µs>.<id>` of the last row
//! of the page. A cursor this store did not issue is refused with
//! [`RepoError::NotFound`] (there is no such page).

use chrono::{DateTime, Utc};
use payport_domain::ports::Page;
use payport_domain::RepoError;

use crate::time::DbTime;

/// Where a page starts: after this row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub created_at: DbTime,
    pub id: String,
}

impl Cursor {
    pub(crate) fn new(created_at: DateTime<Utc>, id: &str) -> Cursor {
        Cursor {
            created_at: DbTime(created_at),
            id: id.to_owned(),
        }
    }

    fn encode(&self) -> String {
        format!("p1.{}.{}", self.created_at.0.timestamp_micros(), self.id)
    }

    fn decode(text: &str) -> Option<Cursor> {
        let rest = text.strip_prefix("p1.")?;
        let (micros, id) = rest.split_once('.')?;
        let created_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        let id_ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        id_ok.then(|| Cursor::new(created_at, id))
    }
}

/// A validated page request.
#[derive(Debug, Clone)]
pub(crate) struct PageRequest {
    limit: usize,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// A `limit` of 0 asks for the default page size.
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 500;

    pub(crate) fn new(limit: u32, cursor: Option<&str>) -> Result<PageRequest, RepoError> {
        let limit = match usize::try_from(limit) {
            Ok(0) => Self::DEFAULT_LIMIT,
            Ok(n) => n.min(Self::MAX_LIMIT),
            Err(_) => Self::MAX_LIMIT,
        };
        let after = cursor
            .map(|c| {
                Cursor::decode(c).ok_or_else(|| {
                    RepoError::NotFound(format!("page cursor {c:?} (not one this store issued)"))
                })
            })
            .transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::try_from(self.limit)
            .unwrap_or(i64::MAX)
            .saturating_add(1)
    }

    pub(crate) fn finish<T>(&self, mut items: Vec<T>, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let next_cursor = if items.len() > self.limit {
            items.truncate(self.limit);
            items.last().map(|last| cursor_of(last).encode())
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let at = DateTime::from_timestamp_micros(1_790_000_000_000_001).unwrap();
        let cursor = Cursor::new(at, "order_1");
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "p1.", "p1.x.o1", "p1.1.", "p2.1.o1", "p1.1.o-1"] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
        assert!(matches!(
            PageRequest::new(10, Some("nope")),
            Err(RepoError::NotFound(_))
        ));
    }

    #[test]
    fn limits_default_and_cap() {
        assert_eq!(PageRequest::new(0, None).unwrap().limit, 50);
        assert_eq!(PageRequest::new(7, None).unwrap().fetch_limit(), 8);
        assert_eq!(PageRequest::new(100_000, None).unwrap().limit, 500);
    }
}
