//! Clusters of a history's failures (slipway's store, not Triage's files): what `results
//! clusters` prints and `slipway serve` shows, with the jobs, builds and tests each cluster hit.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::cluster::{Cluster, Failure, Options, cluster};

/// One failed test of one build, as the history has it (and the store keeps it).
pub use slipway_core::results::Failure as HistoryFailure;

/// The clusters of some failures (`results clusters --format json`'s document, without its
/// schema).
#[derive(Debug, Serialize)]
pub struct Report {
    pub normalizer: &'static str,
    /// The window, in days (0: every build).
    pub days: u32,
    pub job: Option<String>,
    pub failures: usize,
    pub tests: usize,
    pub total_clusters: usize,
    pub singletons: usize,
    /// The biggest clusters first.
    pub clusters: Vec<ClusterReport>,
}

/// One cluster.
#[derive(Debug, Serialize)]
pub struct ClusterReport {
    pub id: String,
    /// The normalized text.
    pub key: String,
    pub failures: usize,
    pub singleton: bool,
    /// The raw text of the first failure of the biggest test.
    pub text: String,
    /// Job → the distinct build ids the cluster hit, newest first (the union over its tests).
    pub jobs: BTreeMap<String, Vec<String>>,
    /// Distinct (job, build) pairs the cluster hit.
    pub builds: usize,
    pub tests: Vec<TestReport>,
    /// Failures per day (`YYYY-MM-DD`, UTC, of the build's start → failures), of the builds
    /// with a start time.
    pub days_hit: BTreeMap<String, usize>,
}

/// One test of a cluster.
#[derive(Debug, Serialize)]
pub struct TestReport {
    pub name: String,
    pub failures: usize,
    /// Job → build ids, newest build ids first.
    pub jobs: BTreeMap<String, Vec<String>>,
}

/// Clusters `failures` and reports the `limit` biggest clusters (0: all).
pub fn report(history: Vec<HistoryFailure>, options: &Options, limit: usize, days: u32, job: Option<&str>) -> Report {
    let (failures, origins): (Vec<Failure>, Vec<(String, String)>) = history
        .into_iter()
        .map(|failure| {
            let clustered = Failure {
                test: failure.test,
                build: format!("{}/{}", failure.job, failure.build_id),
                started: failure.started,
                text: failure.message,
            };
            (clustered, (failure.job, failure.build_id))
        })
        .unzip();
    let clustering = cluster(&failures, &[], options);
    let shown = if limit == 0 { clustering.clusters.len() } else { limit.min(clustering.clusters.len()) };
    let clusters =
        clustering.clusters[..shown].iter().map(|cluster| cluster_report(cluster, &failures, &origins)).collect();
    Report {
        normalizer: options.normalizer.name(),
        days,
        job: job.map(str::to_owned),
        failures: failures.len(),
        tests: failures.iter().map(|failure| failure.test.as_str()).collect::<BTreeSet<_>>().len(),
        total_clusters: clustering.clusters.len(),
        singletons: clustering.clusters.iter().filter(|cluster| cluster.is_singleton()).count(),
        clusters,
    }
}

fn cluster_report(cluster: &Cluster, failures: &[Failure], origins: &[(String, String)]) -> ClusterReport {
    let mut days_hit: BTreeMap<String, usize> = BTreeMap::new();
    let tests: Vec<TestReport> = cluster
        .tests
        .iter()
        .map(|test| {
            let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for &failure in &test.failures {
                let (job, build) = &origins[failure];
                jobs.entry(job.clone()).or_default().push(build.clone());
                if let Some(day) = failures[failure].started.and_then(day) {
                    *days_hit.entry(day).or_default() += 1;
                }
            }
            for builds in jobs.values_mut() {
                builds.sort_unstable_by(|a, b| b.cmp(a));
                builds.dedup();
            }
            TestReport { name: test.name.clone(), failures: test.failures.len(), jobs }
        })
        .collect();
    let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for test in &tests {
        for (job, builds) in &test.jobs {
            jobs.entry(job.clone()).or_default().extend(builds.iter().cloned());
        }
    }
    for builds in jobs.values_mut() {
        builds.sort_unstable_by(|a, b| b.cmp(a));
        builds.dedup();
    }
    ClusterReport {
        id: cluster.id.clone(),
        key: cluster.key.clone(),
        failures: cluster.size(),
        singleton: cluster.is_singleton(),
        text: failures[cluster.tests[0].failures[0]].text.clone(),
        builds: jobs.values().map(Vec::len).sum(),
        jobs,
        tests,
        days_hit,
    }
}

/// The UTC date of a Unix time.
fn day(seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(seconds).ok().map(|time| time.strftime("%Y-%m-%d").to_string())
}
