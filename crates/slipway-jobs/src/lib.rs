//! CI jobs at work: the model (re-exported from `slipway-job-model`, which has no I/O), marker
//! resolution, checkouts, the executors runs go through, the runs themselves, and the scheduler's
//! service.

mod checkout;
pub mod exec;
pub mod launch;
pub mod leases;
pub mod lost;
pub mod retention;
pub mod runner;
pub mod scheduler;

pub use slipway_job_model::{
    Job, JobSpec, Problem, PullPolicy, duration, job, matrix, resolve, resolve_all, schedule, spec,
};
