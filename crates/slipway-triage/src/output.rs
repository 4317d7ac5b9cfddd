//! Triage's output, `failure_data.json` (`triage/summarize/output.go`), which Triage's web page
//! (`triage/index.html`, `model.js`, `render.js`) renders, and its slices.
//!
//! ```text
//! { "clustered": [ { "key", "id", "text", "spans", "tests": [ { "name", "jobs": [ { "name", "builds" } ] } ],
//!                    "owner", "failures", "singleton" } ],
//!   "builds": { "jobs": { JOB: [first, count, first column] | { BUILD: column } },
//!               "cols": { "started", "tests_failed", "elapsed", "tests_run", "result", "executor", "pr" },
//!               "job_paths": { JOB: path } } }
//! ```
//!
//! As Triage writes it, with three differences: clusters of a single failure are kept (Triage
//! drops them) and marked `"singleton": true`; every cluster carries its number of failures
//! (`"failures"`, counting failures whose build is not in the builds file, which Triage's schema
//! cannot place under a job); and a test lists the paths of such builds under
//! `"unknown_builds"`. The page ignores fields it does not know.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use rayon::prelude::*;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::cluster::{Clustering, Failure};
use crate::error::{Error, json_error};
use crate::input::Build;
use crate::normalize::{DEFAULT_MAX_FAILURE_TEXT_LENGTH, normalize_name, truncate};

/// `failure_data.json`, and each slice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailureData {
    pub clustered: Vec<JsonCluster>,
    pub builds: Columns,
}

/// One cluster as the page shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JsonCluster {
    /// The normalized text.
    pub key: String,
    pub id: String,
    /// The raw text of the first failure of the cluster's biggest test.
    pub text: String,
    /// Lengths of alternating common and varying parts of `text` (common first).
    pub spans: Vec<usize>,
    pub tests: Vec<JsonTest>,
    pub owner: String,
    /// Failures in the cluster (slipway's addition).
    pub failures: usize,
    /// Whether the cluster has a single failure (slipway's addition; Triage drops those).
    pub singleton: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JsonTest {
    pub name: String,
    pub jobs: Vec<JsonJob>,
    /// Builds of failures that the builds file does not know (slipway's addition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_builds: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JsonJob {
    pub name: String,
    /// Build numbers, as strings, sorted descending as strings (as Triage sorts them).
    pub builds: Vec<String>,
}

/// Builds in columns (compresses well), and how to find a job's builds in them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Columns {
    pub jobs: BTreeMap<String, JobColumns>,
    pub cols: Cols,
    pub job_paths: BTreeMap<String, String>,
}

/// Where a job's builds are: `[first build, count, first column]` when its builds are numbered
/// and stored consecutively, else build number → column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum JobColumns {
    Range([i64; 3]),
    Map(BTreeMap<String, usize>),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cols {
    pub started: Vec<i64>,
    pub tests_failed: Vec<i64>,
    pub elapsed: Vec<i64>,
    pub tests_run: Vec<i64>,
    pub result: Vec<String>,
    pub executor: Vec<String>,
    pub pr: Vec<String>,
}

/// How to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Failure texts longer than this are cut in the middle (Triage's `--max_failure_text_length`).
    pub max_failure_text_length: usize,
    /// Owner → test name prefixes (Triage's `--owners`), used when a test name has no
    /// `[sig-...]` label.
    pub owners: BTreeMap<String, Vec<String>>,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions { max_failure_text_length: DEFAULT_MAX_FAILURE_TEXT_LENGTH, owners: BTreeMap::new() }
    }
}

/// The owner of clusters nobody else owns.
pub const DEFAULT_OWNER: &str = "testing";

/// Renders clusters of `failures` (whose `build` is a path in `builds`).
pub fn render(
    builds: &HashMap<String, Build>,
    failures: &[Failure],
    clustering: &Clustering,
    options: &RenderOptions,
) -> FailureData {
    let columns = columns(builds.values());
    let yesterday = columns.cols.started.iter().max().map_or(0, |newest| newest - 24 * 60 * 60);
    let clustered = clustering
        .clusters
        .par_iter()
        .map(|cluster| {
            let texts = cluster
                .tests
                .iter()
                .flat_map(|test| &test.failures)
                .map(|&failure| truncate(&failures[failure].text, options.max_failure_text_length));
            let spans = common_spans(texts);
            let first = cluster.tests[0].failures[0];
            let tests: Vec<JsonTest> =
                cluster.tests.iter().map(|test| json_test(&test.name, &test.failures, failures, builds)).collect();
            let owner = owner(&tests, builds, &columns.job_paths, yesterday, &options.owners);
            JsonCluster {
                key: cluster.key.clone(),
                id: cluster.id.clone(),
                text: truncate(&failures[first].text, options.max_failure_text_length).into_owned(),
                spans,
                tests,
                owner,
                failures: cluster.size(),
                singleton: cluster.is_singleton(),
            }
        })
        .collect();
    FailureData { clustered, builds: columns }
}

/// A test's failures grouped by job (Triage's `testsGroupByJob`).
fn json_test(name: &str, indexes: &[usize], failures: &[Failure], builds: &HashMap<String, Build>) -> JsonTest {
    let mut jobs: HashMap<&str, BTreeSet<String>> = HashMap::new();
    let mut unknown = BTreeSet::new();
    for &index in indexes {
        let path = &failures[index].build;
        match builds.get(path) {
            Some(build) if build.number != 0 => {
                jobs.entry(build.job.as_str()).or_default().insert(build.number.to_string());
            }
            _ => {
                unknown.insert(path.clone());
            }
        }
    }
    let mut jobs: Vec<JsonJob> = jobs
        .into_iter()
        .map(|(job, numbers)| JsonJob { name: job.to_owned(), builds: numbers.into_iter().rev().collect() })
        .collect();
    jobs.sort_by(|a, b| b.builds.len().cmp(&a.builds.len()).then_with(|| a.name.cmp(&b.name)));
    JsonTest { name: name.to_owned(), jobs, unknown_builds: unknown.into_iter().collect() }
}

/// Triage's `buildsToColumns`: builds sorted by job and number, in columns.
pub fn columns<'a>(builds: impl IntoIterator<Item = &'a Build>) -> Columns {
    let mut sorted: Vec<&Build> = builds.into_iter().filter(|build| build.number != 0).collect();
    sorted.sort_by(|a, b| a.job.cmp(&b.job).then(a.number.cmp(&b.number)).then_with(|| a.path.cmp(&b.path)));
    let mut columns = Columns::default();
    let mut by_job: BTreeMap<&str, BTreeMap<i64, usize>> = BTreeMap::new();
    for build in sorted {
        let column = columns.cols.started.len();
        let cols = &mut columns.cols;
        cols.started.push(build.started);
        cols.tests_failed.push(build.tests_failed);
        cols.elapsed.push(build.elapsed);
        cols.tests_run.push(build.tests_run);
        cols.result.push(build.result.clone());
        cols.executor.push(build.executor.clone());
        cols.pr.push(build.pr.clone());
        let numbers = by_job.entry(build.job.as_str()).or_default();
        if numbers.is_empty() {
            let directory = build.path.rfind('/').map_or("", |slash| &build.path[..slash]);
            columns.job_paths.insert(build.job.clone(), directory.to_owned());
        }
        numbers.insert(build.number, column);
    }
    for (job, numbers) in by_job {
        let (Some((&first, &base)), Some((&last, _))) = (numbers.first_key_value(), numbers.last_key_value()) else {
            continue;
        };
        let count = numbers.len();
        let dense = numbers.values().enumerate().all(|(offset, &column)| column == base + offset);
        let entry = if dense && i64::try_from(count).is_ok_and(|count| last == first + count - 1) {
            JobColumns::Range([first, count as i64, base as i64])
        } else {
            JobColumns::Map(numbers.into_iter().map(|(number, column)| (number.to_string(), column)).collect())
        };
        columns.jobs.insert(job.to_owned(), entry);
    }
    columns
}

/// Triage's `annotateOwners` for one cluster: the owner whose tests failed most in the last day
/// (relative to the newest build), then most before, then the first by name.
fn owner(
    tests: &[JsonTest],
    builds: &HashMap<String, Build>,
    job_paths: &BTreeMap<String, String>,
    yesterday: i64,
    owners: &BTreeMap<String, Vec<String>>,
) -> String {
    static SIG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[sig-([^\]]*)\]").expect("valid pattern"));
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for test in tests {
        let owner = match SIG.captures(&test.name) {
            Some(captures) => captures[1].to_owned(),
            None => {
                let name = normalize_name(&test.name);
                let prefixed = owners.iter().find(|(_, prefixes)| {
                    prefixes.iter().any(|prefix| !prefix.is_empty() && name.starts_with(prefix.as_str()))
                });
                match prefixed {
                    Some((owner, _)) => owner.clone(),
                    None => continue,
                }
            }
        };
        let count = counts.entry(owner).or_default();
        for job in &test.jobs {
            // Kettle prefixes non-standard CI (`pr:`, ...) with a colon.
            if job.name.contains(':') {
                continue;
            }
            let directory = job_paths.get(&job.name).map_or("", String::as_str);
            for number in &job.builds {
                match builds.get(&format!("{directory}/{number}")) {
                    Some(build) if build.started > yesterday => count.0 += 1,
                    Some(_) => count.1 += 1,
                    None => {}
                }
            }
        }
    }
    counts
        .into_iter()
        .max_by(|(a_name, a), (b_name, b)| a.cmp(b).then_with(|| b_name.cmp(a_name)))
        .map_or_else(|| DEFAULT_OWNER.to_owned(), |(owner, _)| owner)
}

/// Triage's `commonSpans`: the words (`\w+|\W+`, ASCII) common to every text, as alternating
/// lengths of common and varying runs of the first text (bytes).
pub fn common_spans<'a, I, S>(texts: I) -> Vec<usize>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str> + 'a,
{
    let mut texts = texts.into_iter();
    let Some(first) = texts.next() else { return Vec::new() };
    let first = first.as_ref();
    let mut common: HashSet<&str> = tokens(first).collect();
    for text in texts {
        if common.is_empty() {
            break;
        }
        let text = text.as_ref();
        let present: HashSet<&str> = tokens(text).filter(|token| common.contains(token)).collect();
        common.retain(|token| present.contains(token));
    }
    let mut spans = Vec::new();
    let mut matching = true;
    let mut length = 0;
    for token in tokens(first) {
        if common.contains(token) != matching {
            spans.push(length);
            length = 0;
            matching = !matching;
        }
        length += token.len();
    }
    if length != 0 {
        spans.push(length);
    }
    spans
}

/// `\w+|\W+` with Go's ASCII `\w`.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_';
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let kind = is_word(bytes[start]);
        let end = bytes[start..].iter().position(|&byte| is_word(byte) != kind).map_or(bytes.len(), |n| start + n);
        // Word characters are ASCII, so both ends are character boundaries.
        let token = &text[start..end];
        start = end;
        Some(token)
    })
}

/// The slices Triage writes with `--output_slices PATTERN`: one file per id prefix `00`..`ff`
/// and one per owner (`sig-OWNER`), each with the builds of its jobs. Owners are those of the
/// owners file, those found on the clusters, and `testing`.
pub fn slices(
    data: &FailureData,
    builds: &HashMap<String, Build>,
    pattern: &str,
    owners: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<(PathBuf, FailureData)>, Error> {
    if !pattern.contains("PREFIX") {
        return Err(Error::SlicePattern { pattern: pattern.to_owned() });
    }
    let mut names: BTreeSet<&str> = owners.keys().map(String::as_str).collect();
    names.extend(data.clustered.iter().map(|cluster| cluster.owner.as_str()));
    names.insert(DEFAULT_OWNER);
    let mut selections: Vec<(String, Vec<&JsonCluster>)> = (0..=255u8)
        .map(|prefix| {
            let prefix = format!("{prefix:02x}");
            let clusters = data.clustered.iter().filter(|cluster| cluster.id.starts_with(&prefix)).collect();
            (prefix, clusters)
        })
        .collect();
    for owner in names {
        let clusters = data.clustered.iter().filter(|cluster| cluster.owner == owner).collect();
        selections.push((format!("sig-{owner}"), clusters));
    }
    Ok(selections
        .into_par_iter()
        .map(|(name, clusters)| {
            let jobs: HashSet<&str> = clusters
                .iter()
                .flat_map(|cluster| &cluster.tests)
                .flat_map(|test| &test.jobs)
                .map(|job| job.name.as_str())
                .collect();
            let columns = columns(builds.values().filter(|build| jobs.contains(build.job.as_str())));
            let slice = FailureData { clustered: clusters.into_iter().cloned().collect(), builds: columns };
            (PathBuf::from(pattern.replace("PREFIX", &name)), slice)
        })
        .collect())
}

/// The keys of a previous `failure_data.json`, in order. Only the keys are kept: the rest of a
/// file that can be hundreds of megabytes is parsed and dropped as it streams by.
pub fn read_previous_keys(path: &Path) -> Result<Vec<String>, Error> {
    #[derive(Deserialize)]
    struct Previous {
        clustered: Vec<Key>,
    }
    #[derive(Deserialize)]
    struct Key {
        key: String,
    }
    let file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    let previous: Previous = serde_json::from_reader(BufReader::new(file)).map_err(|error| {
        json_error(path, error, |path, line, column, source| Error::Previous { path, line, column, source })
    })?;
    Ok(previous.clustered.into_iter().map(|cluster| cluster.key).collect())
}

/// An owners file: `{"owner": ["test name prefix", ...]}`.
pub fn read_owners(path: &Path) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    serde_json::from_reader(BufReader::new(file)).map_err(|error| {
        json_error(path, error, |path, line, column, source| Error::Owners { path, line, column, source })
    })
}

/// Writes every file or none: each is written beside its destination first, and only when all
/// are written are they renamed into place.
pub fn write_all(files: &[(PathBuf, FailureData)]) -> Result<(), Error> {
    let mut written: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    let result = files.iter().try_for_each(|(path, data)| {
        let temporary = temporary_path(path);
        write_json(&temporary, data)?;
        written.push((temporary, path));
        Ok(())
    });
    if let Err(error) = result {
        for (temporary, _) in &written {
            let _ = fs_err::remove_file(temporary);
        }
        return Err(error);
    }
    for (temporary, path) in &written {
        fs_err::rename(temporary, path).map_err(|source| Error::Write { path: path.to_path_buf(), source })?;
    }
    Ok(())
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".slipway-tmp");
    path.with_file_name(name)
}

fn write_json(path: &Path, data: &FailureData) -> Result<(), Error> {
    let error = |source| Error::Write { path: path.to_owned(), source };
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent).map_err(error)?;
    }
    let file = std::fs::File::create(path).map_err(error)?;
    let mut writer = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut writer, data).map_err(|source| error(source.into()))?;
    writer.flush().map_err(error)
}

#[cfg(test)]
mod tests;
