//! Test support for slipway's crates: throwaway git repositories, tiny but real ELF executables,
//! multi-arch images pushed to the local registry (including deliberately broken ones), and
//! buckets in the S3, GCS and Azure emulators.
//!
//! Tests that need the registry call [`registry::address`], which fails with instructions when
//! none is running: `scripts/test-services.sh start` starts one, as `.ci/run` does.

pub mod azure;
pub mod browser;
pub mod docker;
pub mod elf;
pub mod gcs;
pub mod git;
mod http;
pub mod images;
pub mod paths;
pub mod podman;
pub mod postgres;
pub mod registry;
pub mod s3;
pub mod upstream;
