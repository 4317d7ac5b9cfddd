//! Failure clustering, compatible with Triage (kubernetes/test-infra `triage/`).
//!
//! Failure texts are normalized ([`normalize`]), grouped within each test and then across tests
//! ([`cluster()`]) by Triage's similarity test ([`distance`]), and named by Triage's cluster ids
//! ([`ngram::cluster_id`]). [`input`] reads Triage's input files and [`output`] writes its
//! `failure_data.json`, so Triage's web page renders slipway's clusters. See
//! `docs/design/triage.md`.

pub mod cluster;
pub mod distance;
mod error;
pub mod history;
mod index;
pub mod input;
pub mod ngram;
pub mod normalize;
pub mod output;
mod words;

pub use cluster::{Cluster, Clustering, Failure, Options, TestFailures, cluster};
pub use error::{Error, Malformed};
pub use normalize::Normalizer;

/// Runs `work` with `threads` worker threads for clustering and rendering (Triage's
/// `--num_workers`); without a count, rayon's default (one per core).
pub fn with_threads<R: Send>(threads: Option<usize>, work: impl FnOnce() -> R + Send) -> R {
    let pool = threads.and_then(|threads| rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build().ok());
    match pool {
        Some(pool) => pool.install(work),
        None => work(),
    }
}
