//! Paths shared by the integration tests.

use std::path::PathBuf;

/// This crate's test fixtures.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `../shared/corpus`, which every checkout of slipway has beside it.
pub(crate) fn corpus() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        path.is_dir(),
        "the shared corpus is missing at {}; slipway's tests need ../shared beside the checkout",
        path.display()
    );
    path
}
