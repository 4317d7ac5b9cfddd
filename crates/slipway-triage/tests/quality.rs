//! Clustering quality on the benchmark's hard data, at a size a test can afford: the same
//! targets as the benchmark (`benches/cluster`), checked rather than printed.

#![allow(clippy::cast_precision_loss)]

#[path = "../benches/cluster/data.rs"]
mod data;

use std::collections::{HashMap, HashSet};

use slipway_triage::{Clustering, Options, cluster};

/// Clusters per true family, and purity (the share of failures in a cluster whose most
/// common family is their own).
fn quality(clustering: &Clustering, families: &[u32]) -> (f64, f64) {
    let mut agreeing = 0;
    for cluster in &clustering.clusters {
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for failure in cluster.tests.iter().flat_map(|test| &test.failures) {
            *counts.entry(families[*failure]).or_default() += 1;
        }
        agreeing += counts.values().max().copied().unwrap_or(0);
    }
    let true_families = families.iter().collect::<HashSet<_>>().len();
    (clustering.clusters.len() as f64 / true_families as f64, agreeing as f64 / families.len() as f64)
}

fn every_failure_once(clustering: &Clustering, count: usize) {
    let mut seen: Vec<usize> =
        clustering.clusters.iter().flat_map(|cluster| &cluster.tests).flat_map(|test| test.failures.clone()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..count).collect::<Vec<_>>());
}

#[test]
fn hard_failures_cluster_by_family() {
    let (failures, families) = data::hard(data::Sizes { failures: 1_500, tests: 50, families: 80 });
    let clustering = cluster(&failures, &[], &Options::default());
    every_failure_once(&clustering, failures.len());
    let (per_family, purity) = quality(&clustering, &families);
    assert!(per_family <= 1.5, "{per_family:.2} clusters per family");
    assert!(purity >= 0.98, "purity {purity:.4}");
}

/// Triage's rules on the same data: the comparison the benchmark prints, and a check that
/// this data is hard (were it easy, the test above would prove little).
#[test]
fn triages_rules_split_the_hard_families() {
    let (failures, families) = data::hard(data::Sizes { failures: 300, tests: 20, families: 30 });
    let clustering = cluster(&failures, &[], &Options::triage());
    every_failure_once(&clustering, failures.len());
    let (per_family, _) = quality(&clustering, &families);
    assert!(per_family > 3.0, "{per_family:.2} clusters per family with Triage's rules");
}
