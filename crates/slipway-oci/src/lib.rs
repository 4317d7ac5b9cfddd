//! OCI registry access for slipway.
//!
//! [`Registry`] reads and writes manifests, indexes, configs and blobs over the distribution API
//! (plain HTTP for localhost and configured insecure registries, HTTPS otherwise; credentials from
//! the Docker config). [`layers`] finds a file in an image's layers by streaming them from the
//! top and stopping at the file. [`verify`] checks a published multi-arch image: every required
//! platform present, configs that agree with the index, the source revision, and the entrypoint
//! binary's real architecture.

pub mod auth;
pub mod build;
pub mod dockerfile;
pub mod entrypoint;
pub mod error;
pub mod layers;
pub mod manifest;
pub mod registry;
pub mod upload;
pub mod verify;

pub use error::Error;
pub use registry::{RegistriesSection, Registry, RegistryOptions};
