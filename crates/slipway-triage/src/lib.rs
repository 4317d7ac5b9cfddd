//! Failure clustering, compatible with Triage (kubernetes/test-infra `triage/`).
//!
//! Failure texts are normalized ([`normalize`]), grouped within each test and then across tests
//! ([`cluster`]) by Triage's similarity test ([`distance`]), and named by Triage's cluster ids
//! ([`ngram::cluster_id`]). [`input`] reads Triage's input files and [`output`] writes its
//! `failure_data.json`, so Triage's web page renders slipway's clusters. See
//! `docs/design/triage.md`.

pub mod cluster;
pub mod distance;
mod index;
pub mod ngram;
pub mod normalize;

pub use cluster::{Cluster, Clustering, Failure, Options, TestFailures, cluster};
pub use normalize::Normalizer;
