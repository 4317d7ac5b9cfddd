//! `slipway schedule`: starting periodic jobs on time.
//!
//! [`decide`] holds the rules and is pure; [`service`] walks the jobs against the store with a
//! clock it is given, and hands runs to a launcher.

pub mod service;

pub use slipway_job_model::decide;

pub use decide::{Decision, JobState, decide};
pub use service::{Clock, Event, Launcher, Service, SystemClock};
