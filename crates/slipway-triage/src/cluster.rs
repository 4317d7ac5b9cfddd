//! Two-phase clustering, as Triage does it (`triage/summarize/cluster.go`), without its
//! time-budget bail-outs and without dropping anything.
//!
//! 1. **Within each test** (tests in parallel, biggest first): each failure text is normalized;
//!    a text seen before in this test joins the same cluster (exact lookup); otherwise the first
//!    similar text of the test's clusters (see [`crate::index`]) decides; otherwise the text
//!    starts a new cluster and is its key.
//! 2. **Across tests** (sequentially, tests with most failures first, and within a test its
//!    clusters biggest first): a local cluster whose key is already known joins that global
//!    cluster; otherwise it joins the first similar global cluster; otherwise it becomes a new
//!    global cluster under its key. Keys of a previous run can seed the global clusters, so
//!    their ids survive.
//!
//! Triage compares a new text with each cluster's *key* only. With
//! [`Options::exemplars`] above 1, a cluster is also represented by the first few other distinct
//! texts that joined it, and a text (or a local cluster, through any of its representatives)
//! joins a cluster when it is similar to any of them. With noisy texts two occurrences of one
//! failure are often just above Triage's 10% limit from each other while close to some other
//! occurrence; this is what keeps such a failure in one cluster. `exemplars: 1` is Triage's rule.

use foldhash::{HashMap, HashMapExt};

use rayon::prelude::*;

use crate::index::{Index, Probe, Scratch};
use crate::ngram;
use crate::normalize::{DEFAULT_MAX_CLUSTER_TEXT_LENGTH, Normalizer};

/// One failed test of one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The test's name.
    pub test: String,
    /// The build it failed in: Triage's build path (the key into the builds file), or
    /// `job/build` for slipway's history.
    pub build: String,
    /// When the build started, Unix seconds.
    pub started: Option<i64>,
    /// The failure text.
    pub text: String,
}

/// How to cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub normalizer: Normalizer,
    /// Texts longer than this are cut in the middle before comparison (Triage's
    /// `--max_cluster_text_length`).
    pub max_cluster_text_length: usize,
    /// How many distinct texts represent a cluster in comparisons (its key included); 1 is
    /// Triage's rule.
    pub exemplars: usize,
    /// Whether texts similar by the value-aware word test ([`crate::words`]) also match;
    /// without it, only Triage's test counts.
    pub value_aware: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            normalizer: Normalizer::Slipway,
            max_cluster_text_length: DEFAULT_MAX_CLUSTER_TEXT_LENGTH,
            exemplars: 4,
            value_aware: true,
        }
    }
}

impl Options {
    /// Triage's rules exactly: its normalizer, its similarity test, and each cluster
    /// represented by its key alone.
    pub fn triage() -> Options {
        Options { normalizer: Normalizer::Triage, exemplars: 1, value_aware: false, ..Options::default() }
    }

    /// The rules that go with a normalizer: [`Options::triage`] for Triage's, the defaults
    /// for slipway's.
    pub fn for_normalizer(normalizer: Normalizer) -> Options {
        match normalizer {
            Normalizer::Triage => Options::triage(),
            Normalizer::Slipway => Options::default(),
        }
    }
}

/// One cluster: failures whose texts are alike, grouped by test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The normalized text of the failure that started the cluster.
    pub key: String,
    /// Triage's id of the key ([`ngram::cluster_id`]).
    pub id: String,
    /// The cluster's failures by test: most failures first, then by name.
    pub tests: Vec<TestFailures>,
}

impl Cluster {
    /// The number of failures in the cluster.
    pub fn size(&self) -> usize {
        self.tests.iter().map(|test| test.failures.len()).sum()
    }

    /// Whether the cluster holds a single failure. Triage leaves those out of its output;
    /// slipway keeps them (marked), since a new failure is often the first sign of a regression.
    pub fn is_singleton(&self) -> bool {
        self.size() == 1
    }
}

/// One test's failures within a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailures {
    pub name: String,
    /// Indexes into the clustered failures, in the order clustered (by build).
    pub failures: Vec<usize>,
}

/// What clustering found, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clustering {
    /// Clusters, most failures first, then by key. Every failure is in exactly one.
    pub clusters: Vec<Cluster>,
    /// How many clusters the tests' failures formed before the global phase.
    pub local_clusters: usize,
    /// Previous keys that seeded the global phase.
    pub seeded: usize,
    /// Previous keys that could not be used, since they normalize to another text (Triage
    /// calls them "lost").
    pub lost: usize,
}

/// A cluster of one test's failures.
#[derive(Debug)]
struct LocalCluster {
    /// The first member's text first, then other distinct texts that joined.
    exemplars: Vec<Probe>,
    failures: Vec<usize>,
}

/// One test and its local clusters.
#[derive(Debug)]
struct LocalTest<'a> {
    name: &'a str,
    clusters: Vec<LocalCluster>,
}

/// Clusters `failures`. `previous_keys` are the keys of an earlier run (Triage's `--previous`),
/// in that run's order; those still in use keep their place, and so their ids.
pub fn cluster(failures: &[Failure], previous_keys: &[String], options: &Options) -> Clustering {
    let tests = by_test(failures);
    let mut global = Global::new(options);
    let (seeded, lost) = global.seed(previous_keys, options);
    let mut local_clusters = 0;
    // Tests are clustered in parallel a chunk at a time, and each chunk is merged before the
    // next is clustered: the local clusters of all tests are never in memory at once.
    for chunk in tests.chunks(LOCAL_CHUNK) {
        let mut local: Vec<LocalTest<'_>> = chunk
            .par_iter()
            .map(|(name, indexes)| LocalTest { name, clusters: cluster_test(failures, indexes, options) })
            .collect();
        local_clusters += local.iter().map(|test| test.clusters.len()).sum::<usize>();
        for test in &mut local {
            test.clusters.sort_by(|a, b| {
                b.failures.len().cmp(&a.failures.len()).then_with(|| a.exemplars[0].text.cmp(&b.exemplars[0].text))
            });
        }
        // Each local cluster is looked up in parallel among the global clusters as they stood
        // before this chunk; what is not found there is looked up again, in order, among the
        // texts this chunk added.
        let before = global.index.len();
        let found: Vec<Vec<Option<u32>>> = local
            .par_iter()
            .map_init(Scratch::default, |scratch, test| {
                test.clusters.iter().map(|cluster| global.lookup(cluster, scratch, 0)).collect()
            })
            .collect();
        for (test, found) in local.into_iter().zip(found) {
            global.add_test(test, &found, before);
        }
    }
    let mut clusters: Vec<Cluster> = global
        .clusters
        .into_par_iter()
        .filter(|cluster| !cluster.tests.is_empty())
        .map(|cluster| {
            let mut tests: Vec<TestFailures> = cluster
                .tests
                .into_iter()
                .map(|(name, failures)| TestFailures { name: name.to_owned(), failures })
                .collect();
            tests.sort_by(|a, b| b.failures.len().cmp(&a.failures.len()).then_with(|| a.name.cmp(&b.name)));
            let id = ngram::cluster_id(&cluster.key);
            Cluster { key: cluster.key, id, tests }
        })
        .collect();
    clusters.sort_by_cached_key(|cluster| (std::cmp::Reverse(cluster.size()), cluster.key.clone()));
    Clustering { clusters, local_clusters, seeded, lost }
}

/// How many tests are clustered locally before their clusters are merged.
const LOCAL_CHUNK: usize = 64;

/// Failure indexes by test, tests with most failures first (then by name), each test's failures
/// sorted by build as Triage sorts them.
fn by_test(failures: &[Failure]) -> Vec<(&str, Vec<usize>)> {
    let mut tests: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, failure) in failures.iter().enumerate() {
        tests.entry(failure.test.as_str()).or_default().push(index);
    }
    let mut tests: Vec<(&str, Vec<usize>)> = tests.into_iter().collect();
    for (_, indexes) in &mut tests {
        indexes.sort_by(|&a, &b| failures[a].build.cmp(&failures[b].build));
    }
    tests.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(b.0)));
    tests
}

/// Phase 1 for one test.
fn cluster_test(failures: &[Failure], indexes: &[usize], options: &Options) -> Vec<LocalCluster> {
    let mut clusters: Vec<LocalCluster> = Vec::new();
    // Every distinct normalized text of the test, and its cluster.
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut index = Index::new(options.value_aware);
    let mut scratch = Scratch::default();
    for &failure in indexes {
        let text = options.normalizer.normalize(&failures[failure].text, options.max_cluster_text_length);
        if let Some(&cluster) = seen.get(&text) {
            clusters[cluster as usize].failures.push(failure);
            continue;
        }
        let probe = Probe::new(text);
        let cluster = match index.find(&probe, &mut scratch) {
            Some(cluster) => {
                let local = &mut clusters[cluster as usize];
                local.failures.push(failure);
                if local.exemplars.len() < options.exemplars {
                    index.insert(&probe, cluster);
                    local.exemplars.push(probe.clone());
                }
                cluster
            }
            None => {
                let cluster = u32::try_from(clusters.len()).expect("fewer than 2^32 clusters");
                index.insert(&probe, cluster);
                clusters.push(LocalCluster { exemplars: vec![probe.clone()], failures: vec![failure] });
                cluster
            }
        };
        seen.insert(probe.text, cluster);
    }
    clusters
}

/// A global cluster under construction.
#[derive(Debug)]
struct GlobalCluster<'a> {
    key: String,
    /// How many representatives it has in the index.
    exemplars: usize,
    tests: Vec<(&'a str, Vec<usize>)>,
}

/// Phase 2 state.
#[derive(Debug)]
struct Global<'a> {
    clusters: Vec<GlobalCluster<'a>>,
    /// Every representative text, and its cluster.
    known: HashMap<String, u32>,
    index: Index,
    exemplars: usize,
    scratch: Scratch,
}

impl<'a> Global<'a> {
    fn new(options: &Options) -> Global<'a> {
        Global {
            clusters: Vec::new(),
            known: HashMap::new(),
            index: Index::new(options.value_aware),
            exemplars: options.exemplars,
            scratch: Scratch::default(),
        }
    }

    /// Seeds empty clusters from previous keys; returns (seeded, lost).
    fn seed(&mut self, keys: &[String], options: &Options) -> (usize, usize) {
        let mut lost = 0;
        for key in keys {
            if !options.normalizer.is_normalized(key, options.max_cluster_text_length) {
                lost += 1;
                continue;
            }
            if self.known.contains_key(key) {
                continue;
            }
            self.new_cluster(&Probe::new(key.clone()));
        }
        (self.clusters.len(), lost)
    }

    fn new_cluster(&mut self, key: &Probe) -> u32 {
        let cluster = u32::try_from(self.clusters.len()).expect("fewer than 2^32 clusters");
        self.index.insert(key, cluster);
        self.known.insert(key.text.clone(), cluster);
        self.clusters.push(GlobalCluster { key: key.text.clone(), exemplars: 1, tests: Vec::new() });
        cluster
    }

    /// The global cluster a local cluster joins: the one whose representative is its key, else
    /// the first similar among the texts indexed after the first `since`.
    fn lookup(&self, local: &LocalCluster, scratch: &mut Scratch, since: u32) -> Option<u32> {
        if let Some(&cluster) = self.known.get(&local.exemplars[0].text) {
            return Some(cluster);
        }
        local.exemplars.iter().find_map(|exemplar| self.index.find_since(exemplar, scratch, since))
    }

    /// Adds a test's local clusters (sorted, biggest first), given what [`Global::lookup`]
    /// found for each among the first `before` indexed texts.
    fn add_test(&mut self, test: LocalTest<'a>, found: &[Option<u32>], before: u32) {
        let mut scratch = std::mem::take(&mut self.scratch);
        for (local, &found) in test.clusters.into_iter().zip(found) {
            // A text this chunk made a key comes first, as it would in order.
            let found = self
                .known
                .get(&local.exemplars[0].text)
                .copied()
                .or(found)
                .or_else(|| self.lookup(&local, &mut scratch, before));
            let cluster = match found {
                Some(cluster) => cluster,
                None => self.new_cluster(&local.exemplars[0]),
            };
            let global = &mut self.clusters[cluster as usize];
            // Tests are added one at a time, so this test's entry, if any, is the last one.
            match global.tests.last_mut() {
                Some((name, failures)) if *name == test.name => failures.extend(local.failures),
                _ => global.tests.push((test.name, local.failures)),
            }
            // The local cluster's other texts become representatives too, while there is room.
            for exemplar in local.exemplars {
                if self.known.contains_key(&exemplar.text) {
                    continue;
                }
                let global = &mut self.clusters[cluster as usize];
                if global.exemplars >= self.exemplars {
                    break;
                }
                global.exemplars += 1;
                self.index.insert(&exemplar, cluster);
                self.known.insert(exemplar.text, cluster);
            }
        }
        self.scratch = scratch;
    }
}

#[cfg(test)]
mod tests;
