//! Artifact storage and version markers.
//!
//! [`Storage`] opens a local directory, `s3://`, `gs://` or `az://` URL through object_store.
//! On it, [`BuildDir`] writes and reads builds in the Prow artifact layout
//! (`logs/<job>/<build-id>/started.json`, `finished.json`, `build-log.txt`, `prowjob.json`,
//! `artifacts/**`, and `logs/<job>/latest-build.txt`), [`allocate_build_id`] hands out build ids
//! that increase per job and are never given twice, and [`Markers`] reads and publishes version
//! markers with compare-and-swap. Every write is one object stored whole; errors carry the
//! storage URL and map to slipway's exit codes through [`Error::exit_code`].

mod backends;
mod build_id;
mod credentials;
mod documents;
mod error;
mod layout;
mod local;
mod marker;
mod name;
mod storage;

pub use build_id::{allocate_build_id, latest_build, snowflake};
pub use credentials::{Cloud, CredentialsError, Problem};
pub use documents::Versioned;
pub use error::{Error, Result};
pub use layout::{BuildDir, FinishReport, Finished, JobResult, ProwJob, ProwJobState, Started, list_builds};
pub use marker::{MARKER_SCHEMA, MarkerState, Markers, Published};
pub use storage::Storage;

/// The `artifacts:` section of `slipway.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct ArtifactsSection {
    /// Where artifacts and markers live: a directory (relative to the project), or an
    /// `s3://`, `gs://`, `az://` URL. Default: `.slipway/artifacts` in the project.
    pub storage: Option<String>,
}
