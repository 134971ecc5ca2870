//! The storage contract suite on the in-memory store, the same tests store-diesel runs
//! on SQLite and PostgreSQL.

payport_test_support::store_contract!(payport_test_support::contract::MemoryDb::open);
