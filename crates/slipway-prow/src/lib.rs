//! Prow job configuration, read as Prow reads it, checked for what Prow gets wrong, and turned
//! into slipway jobs.
//!
//! [`load`] reads files and directories of Prow YAML (job files and the core config alike),
//! keeping every field of every job and where it was written. [`apply_presets`] merges presets
//! exactly as Prow's `mergePreset` does. [`lint`] reports what Prow would reject and what it would
//! silently get wrong. [`to_slipway`] maps a job onto slipway's [`JobSpec`], keeping what slipway
//! does not use under [`JobSpec::prow`]; [`runnable`] does all of that for one job. [`affected`]
//! says which presubmits a change triggers, by Prow's rules.
//!
//! [`JobSpec`]: slipway_job_model::JobSpec
//! [`JobSpec::prow`]: slipway_job_model::JobSpec::prow

pub mod affected;
mod brancher;
mod fields;
pub mod import;
pub mod lint;
pub mod load;
pub mod presets;
mod presubmits_of;
pub mod runnable;

pub use import::{ClusterEnv, Import, cluster_env, to_slipway};
pub use lint::{Finding, Rule, lint};
pub use load::{JobType, LoadError, Location, Preset, ProwConfig, ProwJob, SourceFile, load, load_where};
pub use presets::{PresetClash, apply_presets};
pub use presubmits_of::load_presubmits_of;
pub use runnable::{NotRunnable, Runnable, runnable};

/// `prow:` in `slipway.yaml`: Prow job config read in place.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct ProwSection {
    /// Files or directories of Prow job config (and its `config.yaml`, for presets), relative
    /// to `slipway.yaml`: `job list`, `job run`, `job affected` and `schedule` read their jobs
    /// as if given with `--prow-config`.
    pub config: Vec<String>,
}
