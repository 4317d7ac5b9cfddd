//! End-to-end tests of the `slipway` binary: real git repositories, the real local registry,
//! whole outputs snapshotted.

mod bump;
mod cache;
mod checkout;
mod cli;
mod descheduler;
mod env;
mod env_kind;
mod hostile;
mod image;
mod jobs;
mod jobs_cli;
mod lease;
mod ledger;
mod lost_runs;
mod marker;
mod prow;
mod prow_in_place;
mod prow_run;
mod results_ingest;
mod results_views;
mod runs_prune;
mod serve;
mod storage_credentials;
mod support;
mod triage;
mod verify;
mod verify_registry;
