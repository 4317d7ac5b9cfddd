//! The job model, without I/O: what `slipway.yaml` and `job import-prow` share ([`spec`]), the
//! checked [`Job`] ([`job`]), durations as Go writes them, schedules in real time zones,
//! Kubernetes version matrices and skip rules, pull policies, and when the scheduler starts a
//! run ([`decide`]). Nothing here reads a file, the clock or the network, so `slipway-prow`
//! and the scheduler's rules depend on it without a database, HTTP or object-storage client.

pub mod decide;
pub mod duration;
pub mod job;
pub mod matrix;
pub mod pull;
pub mod schedule;
pub mod spec;

pub use job::{Job, Problem, resolve, resolve_all};
pub use pull::PullPolicy;
pub use spec::{JobSpec, LeaseSpec};
