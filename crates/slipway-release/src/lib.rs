//! Release consistency: find every reference to a project's version and images, check they
//! agree with a git tag and a registry, and bump them all at once.

pub mod config;
pub mod error;
pub mod git;
pub mod render;
pub mod scan;
pub mod source;
pub mod yaml;

pub use config::Settings;
pub use error::Error;
