//! Prow job configuration, read as Prow reads it, checked for what Prow gets wrong, and turned
//! into slipway jobs.
//!
//! [`load`] reads files and directories of Prow YAML (job files and the core config alike),
//! keeping every field of every job and where it was written. [`apply_presets`] merges presets
//! exactly as Prow's `mergePreset` does. [`lint`] reports what Prow would reject and what it would
//! silently get wrong. [`to_slipway`] maps a job onto slipway's [`JobSpec`], keeping what slipway
//! does not use under [`JobSpec::prow`].
//!
//! [`JobSpec`]: slipway_job_model::JobSpec
//! [`JobSpec::prow`]: slipway_job_model::JobSpec::prow

mod fields;
pub mod import;
pub mod lint;
pub mod load;
pub mod presets;

pub use import::{ClusterEnv, Import, cluster_env, to_slipway};
pub use lint::{Finding, Rule, lint};
pub use load::{JobType, LoadError, Location, Preset, ProwConfig, ProwJob, SourceFile, load};
pub use presets::{PresetClash, apply_presets};
