//! The repository test suite. The storage contract (payport-test-support's `contract`,
//! also run on the in-memory store) runs here on SQLite (a temp file per test) and
//! PostgreSQL (a copy of a migrated template database per test): `sqlite::*` and
//! `postgres::*`. The tests about Diesel itself (migrations, corrupt rows, reconnecting)
//! follow. See `support.rs` for how the databases are made and when PostgreSQL tests are
//! skipped.

// The Diesel-only test bodies are plain async fns (instantiated per backend by
// `store_tests!`), which clippy's allow-unwrap-in-tests does not see as tests.
#![allow(clippy::unwrap_used)]

mod support;

mod sqlite {
    payport_test_support::store_contract!(crate::support::TestDb::open_sqlite);
}

mod postgres {
    payport_test_support::store_contract!(crate::support::TestDb::open_postgres);
}

mod commit_order;
mod corrupt_rows;
mod exchange_log;
mod migrations;
mod reconnect;
