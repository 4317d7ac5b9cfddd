//! CI jobs: the model `slipway.yaml` and `job import-prow` share, version matrices and skip
//! rules, schedules in real time zones, the executors runs go through, and the runs themselves.

mod checkout;
pub mod duration;
pub mod exec;
pub mod job;
pub mod markers;
pub mod matrix;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod spec;

pub use job::{Job, Problem, resolve, resolve_all};
pub use spec::JobSpec;
