//! payport-store-diesel: the domain's repository ports over Diesel + diesel-async,
//! for SQLite (embedded default) and PostgreSQL. Not implemented yet (issue 5).
