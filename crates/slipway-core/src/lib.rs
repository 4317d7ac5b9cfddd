//! slipway's domain types and rules, with no I/O.
//!
//! Everything here is a pure function over plain data: parsing and comparing release versions,
//! image references and platforms, reading an ELF header from bytes, a YAML tree that keeps each
//! node's line, the finding model that every check reports in, and the process exit codes that
//! every command shares. Adapters (git, registries, the file system) live in the capability
//! crates and hand their data to these types.

pub mod elf;
pub mod errors;
pub mod exit;
pub mod finding;
pub mod image;
pub mod metrics;
pub mod names;
pub mod platform;
pub mod progress;
pub mod redact;
pub mod results;
pub mod retention;
pub mod time;
pub mod version;
pub mod yaml;

pub use finding::{Finding, FindingKind, Severity};
pub use image::ImageReference;
pub use platform::Platform;
pub use version::Version;
