//! The process exit codes every slipway command shares (the contract in DESIGN.md).
//!
//! Scripts and CI systems branch on these, so they never change meaning.

/// Success: the command did its work and every check holds.
pub const SUCCESS: u8 = 0;
/// A check found a problem: versions disagree, tests failed, an alert fires.
pub const CHECK_FAILED: u8 = 1;
/// Usage or configuration error: bad flag, invalid YAML, unknown job, bad version.
pub const USAGE: u8 = 2;
/// Infrastructure unreachable or failing: registry, database, object store, cluster, executor.
pub const INFRASTRUCTURE: u8 = 3;
/// Nothing available in time: no free lease, a timeout while waiting.
pub const UNAVAILABLE: u8 = 4;
/// Interrupted by a signal (Ctrl-C).
pub const INTERRUPTED: u8 = 130;
