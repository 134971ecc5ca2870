//! Errors: [`StoreError`] for setting the store up; everything a repository call can
//! fail with is the domain's [`RepoError`].
//!
//! Database errors are mapped in one place: unique violations (SQLite extended code
//! 2067/1555, PostgreSQL 23505) become [`RepoError::Duplicate`]; everything else is
//! [`RepoError::Unavailable`] with what was being done. A row that does not map back to
//! the domain (an unknown status, a negative amount, a bad id) is never defaulted: it is
//! [`RepoError::Unavailable`] with "corrupt row".

use std::fmt;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use payport_domain::ports::ReserveError;
use payport_domain::RepoError;

/// Why the store could not be opened or migrated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("database migrations failed: {0}")]
    Migration(String),
}

/// Maps a database error met while doing `context`.
pub(crate) fn db_error(context: impl fmt::Display, error: DieselError) -> RepoError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            let key = info.constraint_name().unwrap_or(info.message());
            RepoError::Duplicate(format!("{context}: {key}"))
        }
        DieselError::NotFound => RepoError::NotFound(context.to_string()),
        other => RepoError::Unavailable(format!("{context}: {other}")),
    }
}

/// A stored row that does not map back to the domain.
pub(crate) fn corrupt(what: impl fmt::Display) -> RepoError {
    RepoError::Unavailable(format!("corrupt row: {what}"))
}

/// How a transaction body stops: a database error (mapped with context afterwards), or
/// an outcome of the operation itself (a conflict, a refused reservation ...). Either
/// one rolls the transaction back.
#[derive(Debug)]
pub(crate) enum Abort<E> {
    Db(DieselError),
    Stop(E),
}

impl<E> From<DieselError> for Abort<E> {
    fn from(error: DieselError) -> Self {
        Abort::Db(error)
    }
}

impl From<RepoError> for Abort<RepoError> {
    fn from(error: RepoError) -> Self {
        Abort::Stop(error)
    }
}

impl From<RepoError> for Abort<ReserveError> {
    fn from(error: RepoError) -> Self {
        Abort::Stop(ReserveError::Repo(error))
    }
}

/// A step of a reservation that can only fail as a repository does (writing its event).
impl From<Abort<RepoError>> for Abort<ReserveError> {
    fn from(abort: Abort<RepoError>) -> Self {
        match abort {
            Abort::Db(e) => Abort::Db(e),
            Abort::Stop(e) => Abort::Stop(ReserveError::Repo(e)),
        }
    }
}

impl From<ReserveError> for Abort<ReserveError> {
    fn from(error: ReserveError) -> Self {
        Abort::Stop(error)
    }
}

impl Abort<RepoError> {
    pub(crate) fn into_repo(self, context: impl fmt::Display) -> RepoError {
        match self {
            Abort::Db(e) => db_error(context, e),
            Abort::Stop(e) => e,
        }
    }
}

impl Abort<ReserveError> {
    pub(crate) fn into_reserve(self, context: impl fmt::Display) -> ReserveError {
        match self {
            Abort::Db(e) => ReserveError::Repo(db_error(context, e)),
            Abort::Stop(e) => e,
        }
    }
}
