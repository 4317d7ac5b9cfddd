//! Clustering benchmark on deterministic synthetic data ([`data`]); prints figures, asserts
//! nothing but that every failure is in exactly one cluster.
//!
//! Data sets:
//!
//! - `hard`: 20,000 failures over 700 tests from 1,000 families of real-world-like text
//!   ([`data::hard`]: wrapped lines, long-tailed lengths, many kinds of values, families sharing
//!   a long stack trace); `hard-100k`: 100,000 over 3,000 tests from 5,000 families;
//!   `hard-triage`: the 20,000 with Triage's rules;
//! - `e2e`: 100,000 short node-e2e-like failures over 3,000 tests from 1,000 templates;
//! - `noisy`: 100,000 long failures over 3,000 tests from 4,000 families in which 6% of the
//!   words are displaced by values; `noisy-exact` (slipway's normalizer, Triage's similarity
//!   test only) and `noisy-triage` (Triage's rules) on the same data.
//!
//! Each data set runs in its own process (this binary re-runs itself), so the peak resident
//! memory it reports (`VmHWM` of `/proc/self/status`) is that data set's alone; it includes the
//! generated failures themselves. Wall time covers clustering (normalization, both phases, ids)
//! and, separately, rendering and writing Triage's `failure_data.json` and its 256 + owner slices
//! (`--output_slices`) to a temporary directory.
//!
//! Clusters per family = clusters ÷ true families that occur. Purity = the share of failures
//! that are in a cluster whose most common family is their own (summed over clusters: the
//! size of each cluster's largest family, divided by all failures).
//!
//! `SLIPWAY_TRIAGE_BENCH_ONLY=hard,e2e` picks data sets; `SLIPWAY_TRIAGE_BENCH_SCALE=10` divides
//! the sizes by 10 for a quick look.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::cast_precision_loss)]

mod data;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use data::Sizes;
use slipway_triage::input::Build;
use slipway_triage::output::{self, RenderOptions};
use slipway_triage::{Failure, Options, cluster};

const SCENARIO: &str = "SLIPWAY_TRIAGE_BENCH_SCENARIO";
const ALL: [&str; 7] = ["hard", "hard-100k", "hard-triage", "e2e", "noisy", "noisy-exact", "noisy-triage"];

fn scale() -> usize {
    std::env::var("SLIPWAY_TRIAGE_BENCH_SCALE").ok().and_then(|scale| scale.parse().ok()).unwrap_or(1).max(1)
}

fn sizes(failures: usize, tests: usize, families: usize) -> Sizes {
    let scale = scale();
    Sizes { failures: failures / scale, tests: tests / scale, families: families / scale }
}

fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        run(&scenario);
        return;
    }
    let exe = std::env::current_exe().expect("the benchmark knows its own path");
    let scenarios: Vec<String> = std::env::var("SLIPWAY_TRIAGE_BENCH_ONLY")
        .map(|only| only.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|_| ALL.map(str::to_owned).to_vec());
    println!(
        "slipway-triage clustering benchmark ({} cores)",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    for scenario in scenarios {
        let status =
            std::process::Command::new(&exe).env(SCENARIO, &scenario).status().expect("re-running the benchmark");
        assert!(status.success(), "scenario {scenario} failed");
    }
}

fn triage_rules() -> Options {
    Options::triage()
}

fn run(scenario: &str) {
    let ((failures, families), options) = match scenario {
        "hard" => (data::hard(sizes(20_000, 700, 1_000)), Options::default()),
        "hard-100k" => (data::hard(sizes(100_000, 3_000, 5_000)), Options::default()),
        "hard-triage" => (data::hard(sizes(20_000, 700, 1_000)), triage_rules()),
        "e2e" => (data::e2e(sizes(100_000, 3_000, 1_000)), Options::default()),
        "noisy" => (data::noisy(sizes(100_000, 3_000, 4_000)), Options::default()),
        // Without the value-aware word test: Triage's similarity test only.
        "noisy-exact" => {
            (data::noisy(sizes(100_000, 3_000, 4_000)), Options { value_aware: false, ..Options::default() })
        }
        "noisy-triage" => (data::noisy(sizes(100_000, 3_000, 4_000)), triage_rules()),
        other => panic!("unknown scenario {other} (one of {})", ALL.join(", ")),
    };
    let texts: usize = failures.iter().map(|failure| failure.text.len()).sum();
    let longest = failures.iter().map(|failure| failure.text.len()).max().unwrap_or(0);
    let tests = failures.iter().map(|failure| failure.test.as_str()).collect::<HashSet<_>>().len();
    let true_families = families.iter().collect::<HashSet<_>>().len();
    println!(
        "{scenario:>13}: {} failures ({} MB of text, longest {} kB), {tests} tests, {true_families} true families",
        failures.len(),
        texts / 1_000_000,
        longest / 1000,
    );
    let start = Instant::now();
    let clustering = cluster(&failures, &[], &options);
    let clustered = start.elapsed();
    let clusters = clustering.clusters.len();
    let singletons = clustering.clusters.iter().filter(|cluster| cluster.is_singleton()).count();
    let placed: usize = clustering.clusters.iter().map(|cluster| cluster.size()).sum();
    assert_eq!(placed, failures.len(), "every failure is in exactly one cluster");
    println!(
        "{:>13}  clustered in {:.3} s: {} local clusters, {clusters} clusters ({singletons} singletons), \
         {:.2} clusters per family, {:.4} purity",
        "",
        clustered.as_secs_f64(),
        clustering.local_clusters,
        clusters as f64 / true_families as f64,
        purity(&clustering, &families),
    );
    let clustered_rss = peak_rss_kb();
    let builds = builds(&failures);
    let directory = tempfile::tempdir().expect("a temporary directory");
    let destination = directory.path().join("failure_data.json");
    let pattern = directory.path().join("slices/failure_data_PREFIX.json").display().to_string();
    let start = Instant::now();
    let written =
        output::write(&builds, &failures, &clustering, &RenderOptions::default(), &destination, Some(&pattern))
            .expect("writing the output");
    let rendered = start.elapsed();
    println!(
        "{:>13}  failure_data.json and {} slices rendered and written in {:.3} s ({} MB in all)",
        "",
        written.slices,
        rendered.as_secs_f64(),
        written.bytes / 1_000_000
    );
    println!(
        "{:>13}  total {:.3} s; peak RSS {} MB after clustering, {} MB after writing (VmHWM, whole process, input included)",
        "",
        (clustered + rendered).as_secs_f64(),
        clustered_rss / 1024,
        peak_rss_kb() / 1024
    );
}

/// One build per build path, as a builds file would have them.
fn builds(failures: &[Failure]) -> HashMap<String, Build> {
    failures
        .iter()
        .map(|failure| {
            let mut parts = failure.build.rsplit('/');
            let number = parts.next().and_then(|number| number.parse().ok()).unwrap_or(1);
            let job = parts.next().unwrap_or("job").to_owned();
            let started = failure.started.unwrap_or(0);
            let build = Build { path: failure.build.clone(), started, job, number, ..Build::default() };
            (failure.build.clone(), build)
        })
        .collect()
}

/// The share of failures that are in a cluster whose majority family is their own.
fn purity(clustering: &slipway_triage::Clustering, families: &[u32]) -> f64 {
    let mut agreeing = 0;
    for cluster in &clustering.clusters {
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for test in &cluster.tests {
            for &failure in &test.failures {
                *counts.entry(families[failure]).or_default() += 1;
            }
        }
        agreeing += counts.values().max().copied().unwrap_or(0);
    }
    agreeing as f64 / families.len() as f64
}

fn peak_rss_kb() -> u64 {
    let status = fs_err::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
