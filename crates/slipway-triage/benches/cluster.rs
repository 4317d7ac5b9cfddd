//! Clustering benchmark on deterministic synthetic data; prints figures, asserts nothing.
//!
//! Two data sets of 100,000 failures over 3,000 tests:
//!
//! - `e2e`: node-e2e-like messages from 1,000 templates whose variable parts (pod and node
//!   names, IPs, timestamps, durations, line numbers, counts) change in every occurrence;
//! - `noisy`: long messages (60–200 words) of 4,000 families in which about 6% of the words are
//!   replaced, in every occurrence, by an IP, a UUID, a hex value or a plain number.
//!
//! Two more runs on the noisy data show what Triage's similarity test alone gives:
//! `noisy-exact` (slipway's normalizer, Triage's test only) and `noisy-triage` (Triage's
//! normalizer and test, one representative per cluster: Triage's rules, without its cap on
//! precise checks).
//!
//! Each data set runs in its own process (this binary re-runs itself), so the peak resident
//! memory it reports (`VmHWM` of `/proc/self/status`) is that data set's alone; it includes the
//! generated failures themselves. Wall time covers clustering (normalization, both phases, ids)
//! and, separately, rendering and serializing Triage's `failure_data.json`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::time::Instant;

use slipway_triage::input::Build;
use slipway_triage::output::{self, RenderOptions};
use slipway_triage::{Failure, Normalizer, Options, cluster};

const FAILURES: usize = 100_000;
const TESTS: usize = 3_000;

/// `SLIPWAY_TRIAGE_BENCH_SCALE=10` divides the sizes by 10, for quick looks.
fn scale() -> usize {
    std::env::var("SLIPWAY_TRIAGE_BENCH_SCALE").ok().and_then(|scale| scale.parse().ok()).unwrap_or(1)
}
const SCENARIO: &str = "SLIPWAY_TRIAGE_BENCH_SCENARIO";

fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        run(&scenario);
        return;
    }
    let exe = std::env::current_exe().expect("the benchmark knows its own path");
    let scenarios: Vec<String> = std::env::var("SLIPWAY_TRIAGE_BENCH_ONLY")
        .map(|only| only.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|_| ["e2e", "noisy", "noisy-exact", "noisy-triage"].map(str::to_owned).to_vec());
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

fn run(scenario: &str) {
    let (failures, families, options) = match scenario {
        "e2e" => {
            let (failures, families) = e2e();
            (failures, families, Options::default())
        }
        "noisy" => {
            let (failures, families) = noisy();
            (failures, families, Options::default())
        }
        // Without the value-aware word test: Triage's similarity test only.
        "noisy-exact" => {
            let (failures, families) = noisy();
            (failures, families, Options { value_aware: false, ..Options::default() })
        }
        // Triage's own rules on the noisy data, for comparison.
        "noisy-triage" => {
            let (failures, families) = noisy();
            (
                failures,
                families,
                Options { normalizer: Normalizer::Triage, exemplars: 1, value_aware: false, ..Options::default() },
            )
        }
        other => panic!("unknown scenario {other}"),
    };
    let texts: usize = failures.iter().map(|failure| failure.text.len()).sum();
    let tests = failures.iter().map(|failure| failure.test.as_str()).collect::<std::collections::HashSet<_>>().len();
    let start = Instant::now();
    let clustering = cluster(&failures, &[], &options);
    let clustered = start.elapsed();
    let clusters = clustering.clusters.len();
    let singletons = clustering.clusters.iter().filter(|cluster| cluster.is_singleton()).count();
    let placed: usize = clustering.clusters.iter().map(|cluster| cluster.size()).sum();
    assert_eq!(placed, failures.len(), "every failure is in exactly one cluster");
    let purity = purity(&clustering, &families);
    println!(
        "{scenario:>13}: {} failures ({} MB of text), {tests} tests, {} true families",
        failures.len(),
        texts / 1_000_000,
        families.iter().collect::<std::collections::HashSet<_>>().len(),
    );
    let true_families = families.iter().collect::<std::collections::HashSet<_>>().len();
    println!(
        "{:>13}  clustered in {:.3} s: {} local clusters, {clusters} clusters ({singletons} singletons), \
         {:.2}× the true families, {:.4} purity",
        "",
        clustered.as_secs_f64(),
        clustering.local_clusters,
        clusters as f64 / true_families as f64,
        purity,
    );
    let clustered_rss = peak_rss_kb();
    // Triage's output: a builds file's worth of builds (one per build path), then rendering.
    let builds: HashMap<String, Build> = failures
        .iter()
        .map(|failure| {
            let mut parts = failure.build.rsplit('/');
            let number = parts.next().and_then(|number| number.parse().ok()).unwrap_or(1);
            let job = parts.next().unwrap_or("job").to_owned();
            let started = failure.started.unwrap_or(0);
            let build = Build { path: failure.build.clone(), started, job, number, ..Build::default() };
            (failure.build.clone(), build)
        })
        .collect();
    let start = Instant::now();
    let data = output::render(&builds, &failures, &clustering, &RenderOptions::default());
    let json = serde_json::to_vec(&data).expect("serializable");
    let rendered = start.elapsed();
    println!(
        "{:>13}  failure_data.json rendered and serialized in {:.3} s ({} MB)",
        "",
        rendered.as_secs_f64(),
        json.len() / 1_000_000
    );
    println!(
        "{:>13}  peak RSS {} MB after clustering, {} MB after rendering (VmHWM, whole process, input included)",
        "",
        clustered_rss / 1024,
        peak_rss_kb() / 1024
    );
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

/// SplitMix64: a small deterministic generator, so the data is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, probability: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < probability
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits).map(|_| char::from(b"0123456789abcdef"[self.below(16)])).collect()
    }

    fn ip(&mut self) -> String {
        format!("10.{}.{}.{}", self.below(256), self.below(256), self.below(256))
    }

    fn uuid(&mut self) -> String {
        format!("{}-{}-{}-{}-{}", self.hex(8), self.hex(4), self.hex(4), self.hex(4), self.hex(12))
    }

    /// A made-up word of 6 to 10 letters.
    fn word(&mut self) -> String {
        let length = 6 + self.below(5);
        (0..length).map(|_| char::from(b'a' + self.below(26) as u8)).collect()
    }

    fn suffix(&mut self) -> String {
        (0..5).map(|_| char::from(b"bcdfghjklmnpqrstvwxz2456789"[self.below(27)])).collect()
    }
}

/// Test names and how many failures each test has: a few tests fail a lot, most a little.
fn tests(rng: &mut Rng) -> Vec<(String, usize)> {
    let weights: Vec<f64> = (0..TESTS / scale()).map(|rank| 1.0 / (rank as f64 + 10.0).powf(0.9)).collect();
    let total: f64 = weights.iter().sum();
    let areas = ["sig-node", "sig-storage", "sig-network", "sig-apps", "sig-scheduling", "sig-cli", "sig-auth"];
    let mut tests: Vec<(String, usize)> = weights
        .iter()
        .enumerate()
        .map(|(rank, weight)| {
            let area = rng.pick(&areas);
            let name = format!("Kubernetes e2e suite: [It] [{area}] behaviour {rank} should work as expected");
            (name, ((weight / total) * (FAILURES / scale()) as f64).floor().max(1.0) as usize)
        })
        .collect();
    let assigned: usize = tests.iter().map(|(_, count)| count).sum();
    let mut missing = (FAILURES / scale()).saturating_sub(assigned);
    let mut index = 0;
    while missing > 0 {
        tests[index % (TESTS / scale())].1 += 1;
        missing -= 1;
        index += 1;
    }
    tests
}

/// Builds: 600 jobs × runs; each failure is in one.
fn build(rng: &mut Rng) -> (String, i64) {
    let job = rng.below(600);
    let number = 1000 + rng.below(400);
    (format!("gs://kubernetes-ci-logs/logs/ci-job-{job}/{number}"), 1_760_000_000 + (number as i64) * 3600)
}

/// Failures of the `e2e` data set and the template each came from.
fn e2e() -> (Vec<Failure>, Vec<u32>) {
    let mut rng = Rng(0x5EED_0001);
    const TEMPLATES: usize = 1_000;
    let subjects =
        ["pod", "container", "volume", "service", "deployment", "node", "endpoint", "lease", "job", "daemonset"];
    let verbs = [
        "to be running",
        "to be ready",
        "to be deleted",
        "to attach",
        "to respond",
        "to become healthy",
        "to schedule",
    ];
    let causes = [
        "context deadline exceeded",
        "connection refused",
        "i/o timeout",
        "the object has been modified; please apply your changes to the latest version and try again",
        "no route to host",
        "the server could not find the requested resource",
        "etcdserver: request timed out",
        "rpc error: code = Unavailable desc = connection error",
    ];
    let files = ["pods.go", "util.go", "wait.go", "framework.go", "volumes.go", "service.go", "network.go"];
    // A template: a shape and its fixed words; its variable parts are drawn per failure.
    let templates: Vec<(usize, [&str; 4], String)> = (0..TEMPLATES)
        .map(|_| {
            let words = [rng.pick(&subjects), rng.pick(&verbs), rng.pick(&causes), rng.pick(&files)];
            let salt = (0..5).map(|_| rng.word()).collect::<Vec<_>>().join(" ");
            (rng.below(5), words, salt)
        })
        .collect();
    let mut failures = Vec::with_capacity(FAILURES);
    let mut families = Vec::with_capacity(FAILURES);
    for (test, count) in tests(&mut rng) {
        let own: Vec<usize> = (0..1 + rng.below(4)).map(|_| rng.below(TEMPLATES)).collect();
        for _ in 0..count {
            let template = own[rng.below(own.len())];
            let (shape, [subject, verb, cause, file], ref salt) = templates[template];
            let text = match shape {
                0 => format!(
                    "[FAILED] Timed out after {}.{:03}s.\nExpected {subject} \"{subject}-{}\" in namespace \"e2e-tests-{salt}-{}\" {verb}: {cause}\nIn [It] at: k8s.io/kubernetes/test/e2e/common/{file}:{} @ 12/{:02}/25 {:02}:{:02}:{:02}.{:03}",
                    rng.below(600),
                    rng.below(1000),
                    rng.suffix(),
                    rng.below(10_000),
                    rng.below(2000),
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60),
                    rng.below(1000)
                ),
                1 => format!(
                    "{file}:{}: Unexpected error:\n    <*errors.errorString | 0x{}>: \n    error waiting for {subject} {}-{} on node {}: {cause} (template {salt})\noccurred",
                    rng.below(2000),
                    rng.hex(10),
                    subject,
                    rng.suffix(),
                    rng.ip()
                ),
                2 => format!(
                    "failed to {verb} {subject} {} at {}: {cause}; retried {} times over {}m{}s, last attempt at 2025-12-{:02}T{:02}:{:02}:{:02}Z (case {salt})",
                    rng.uuid(),
                    rng.ip(),
                    rng.below(20),
                    rng.below(10),
                    rng.below(60),
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60)
                ),
                3 => format!(
                    "Expected\n    <int>: {}\nto equal\n    <int>: {}\n{subject} {verb} check {salt} failed at {file}:{} on node kind-worker{}",
                    rng.below(100),
                    rng.below(100),
                    rng.below(2000),
                    rng.below(4)
                ),
                _ => format!(
                    "I12{:02} {:02}:{:02}:{:02}.{:06}   {} {file}:{}] {subject} sync {salt} error: {cause}\ngoroutine {} [running]:\nmain.{subject}Worker(0x{}, 0x{})",
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60),
                    rng.below(1_000_000),
                    rng.below(100_000),
                    rng.below(2000),
                    rng.below(10_000),
                    rng.hex(12),
                    rng.hex(8)
                ),
            };
            let (build, started) = build(&mut rng);
            failures.push(Failure { test: test.clone(), build, started: Some(started), text });
            families.push(template as u32);
        }
    }
    (failures, families)
}

/// Failures of the `noisy` data set and the family each came from.
fn noisy() -> (Vec<Failure>, Vec<u32>) {
    let mut rng = Rng(0x5EED_0002);
    const FAMILIES: usize = 4_000;
    const NOISE: f64 = 0.06;
    let syllables = [
        "ka", "ru", "po", "de", "sch", "ed", "con", "tai", "ner", "ti", "me", "out", "net", "work", "vol", "ume", "le",
        "ase", "sync", "pro", "xy", "api", "ser", "ver", "node", "pod", "fail", "ed", "wait", "ing", "for", "ready",
        "st", "ate", "err", "or", "re", "try", "dial", "tcp", "read", "write", "lock", "mount", "path", "cgroup",
    ];
    let vocabulary: Vec<String> =
        (0..3_000).map(|_| (0..1 + rng.below(3)).map(|_| rng.pick(&syllables)).collect::<String>()).collect();
    let frames = [
        "[FAILED] Timed out waiting for the condition:",
        "Unexpected error:",
        "panic: runtime error:",
        "failed to run e2e step:",
        "Error from server:",
    ];
    let families: Vec<Vec<&str>> = (0..FAMILIES)
        .map(|_| {
            let mut words = vec![frames[rng.below(frames.len())]];
            let length = 60 + rng.below(141);
            words.extend((0..length).map(|_| vocabulary[rng.below(vocabulary.len())].as_str()));
            words
        })
        .collect();
    let mut failures = Vec::with_capacity(FAILURES);
    let mut family_of = Vec::with_capacity(FAILURES);
    for (test, count) in tests(&mut rng) {
        let own: Vec<usize> = (0..1 + rng.below(5)).map(|_| rng.below(FAMILIES)).collect();
        for _ in 0..count {
            let family = own[rng.below(own.len())];
            let mut text = String::new();
            for (position, word) in families[family].iter().enumerate() {
                if position > 0 {
                    text.push(' ');
                }
                if position > 0 && rng.chance(NOISE) {
                    let noise = match rng.below(4) {
                        0 => rng.ip(),
                        1 => rng.uuid(),
                        2 => {
                            let digits = 8 + rng.below(8);
                            format!("0x{}", rng.hex(digits))
                        }
                        _ => rng.below(1_000_000).to_string(),
                    };
                    text.push_str(&noise);
                } else {
                    text.push_str(word);
                }
            }
            let (build, started) = build(&mut rng);
            failures.push(Failure { test: test.clone(), build, started: Some(started), text });
            family_of.push(family as u32);
        }
    }
    (failures, family_of)
}
