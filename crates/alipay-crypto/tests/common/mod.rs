//! Shared by the integration tests: the conformance vectors and their DEV-only keys.

pub use payport_test_support::vectors::*;
