//! The repository test suite, written once and run against SQLite (a temp file per
//! test) and PostgreSQL (a fresh database per test): `sqlite::*` and `postgres::*` in
//! every module. See `support.rs` for how the databases are made and when PostgreSQL
//! tests are skipped.

// The suite's test bodies are plain async fns (instantiated per backend by
// `store_tests!`), which clippy's allow-unwrap-in-tests does not see as tests.
#![allow(clippy::unwrap_used)]

mod support;

mod claims;
mod concurrency;
mod corrupt_rows;
mod inbox_log_keys;
mod migrations;
mod orders;
mod refunds;
mod reserve;
