//! Test support for slipway's crates: throwaway git repositories, tiny but real ELF executables,
//! and multi-arch images pushed to the local registry (including deliberately broken ones).
//!
//! Tests that need the registry call [`registry::address`], which fails with instructions when
//! none is running: `scripts/test-services.sh start` starts one, as `.ci/run` does.

pub mod docker;
pub mod elf;
pub mod git;
pub mod images;
pub mod paths;
pub mod podman;
pub mod postgres;
pub mod registry;
pub mod s3;
