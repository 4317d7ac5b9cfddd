//! Paths shared by the integration tests.

use std::path::PathBuf;

pub(crate) use slipway_test::paths::corpus;

/// This crate's test fixtures.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
