//! Release consistency: find every reference to a project's version and images, check they
//! agree with a git tag and a registry, and bump them all at once.
//!
//! The flow is parse, resolve, act: [`source`] loads the files (work tree or a tag's tree),
//! [`scan`] finds references, [`render`] follows kustomize overlays, [`project`] decides which
//! images are the project's, [`check`] compares everything with the release, and [`verify`] and
//! [`bump`] act on the result (registry checks; atomic edits, commit and tag). The [`ledger`]
//! records what each release was, so [`ledger::audit`] can tell what changed after it.

pub mod analysis;
pub mod branches;
pub mod bump;
pub mod check;
pub mod config;
pub mod error;
pub mod ledger;
pub mod project;
pub mod promoter;
pub mod render;
pub mod scan;
pub mod source;
pub mod verify;
pub mod yaml;

pub use config::Settings;
pub use error::Error;
