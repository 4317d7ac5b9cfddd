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
        columns.jobs.insert(job.to_owned(), job_columns(numbers.into_iter()));
    }
    columns
}

/// The builds sorted once as [`columns`] sorts them, each job's columns made into JSON once:
/// each slice's builds are written from here, its jobs' fragments copied in order, without
/// sorting or serializing per slice.
pub struct ColumnIndex<'a> {
    /// Per job, in name order: how many builds it has, where they are relative to the job's
    /// first build, its directory and its columns.
    jobs: Vec<JobIndex<'a>>,
}

struct JobIndex<'a> {
    name: &'a str,
    builds: usize,
    /// Columns counted from the job's first build.
    columns: JobColumns,
    path: &'a str,
    /// Its builds' columns as JSON ([`fragments`]), made once for every slice.
    fragments: [Vec<u8>; 7],
}

impl<'a> ColumnIndex<'a> {
    pub fn new(builds: impl IntoIterator<Item = &'a Build>) -> ColumnIndex<'a> {
        let mut sorted: Vec<&Build> = builds.into_iter().filter(|build| build.number != 0).collect();
        sorted.sort_by(|a, b| a.job.cmp(&b.job).then(a.number.cmp(&b.number)).then_with(|| a.path.cmp(&b.path)));
        let runs: Vec<&[&Build]> = sorted.chunk_by(|a, b| a.job == b.job).collect();
        let jobs = runs
            .into_par_iter()
            .map(|run| {
                let first = run[0];
                let path = first.path.rfind('/').map_or("", |slash| &first.path[..slash]);
                let columns = job_columns(run.iter().enumerate().map(|(column, build)| (build.number, column)));
                JobIndex { name: first.job.as_str(), builds: run.len(), columns, path, fragments: fragments(run) }
            })
            .collect();
        ColumnIndex { jobs }
    }

    /// The columns of these jobs' builds (Triage's `buildsToColumns` of them).
    pub fn view(&self, jobs: &HashSet<&str>) -> ColumnsView<'_> {
        let jobs = self.jobs.iter().filter(|job| jobs.contains(job.name)).collect();
        ColumnsView { jobs }
    }
}

/// [`Columns`] of some jobs, serialized from a [`ColumnIndex`] as it is written.
pub struct ColumnsView<'a> {
    jobs: Vec<&'a JobIndex<'a>>,
}

/// The names of [`Cols`]' columns, in order.
const COLUMNS: [&str; 7] = ["started", "tests_failed", "elapsed", "tests_run", "result", "executor", "pr"];

/// One job's builds as JSON fragments, one per column: its values, comma-separated.
fn fragments(builds: &[&Build]) -> [Vec<u8>; 7] {
    fn join<T: Serialize>(values: impl Iterator<Item = T>) -> Vec<u8> {
        let mut fragment = Vec::new();
        for (index, value) in values.enumerate() {
            if index > 0 {
                fragment.push(b',');
            }
            serde_json::to_writer(&mut fragment, &value).expect("numbers and strings serialize");
        }
        fragment
    }
    [
        join(builds.iter().map(|build| build.started)),
        join(builds.iter().map(|build| build.tests_failed)),
        join(builds.iter().map(|build| build.elapsed)),
        join(builds.iter().map(|build| build.tests_run)),
        join(builds.iter().map(|build| build.result.as_str())),
        join(builds.iter().map(|build| build.executor.as_str())),
        join(builds.iter().map(|build| build.pr.as_str())),
    ]
}

impl ColumnsView<'_> {
    /// Writes the view as JSON: [`Columns`]' schema, each job's columns copied from its
    /// fragments.
    pub fn write_json(&self, out: &mut impl Write) -> std::io::Result<()> {
        let jobs = &self.jobs;
        out.write_all(b"{\"jobs\":{")?;
        let mut offset = 0;
        for (index, job) in jobs.iter().enumerate() {
            if index > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, job.name)?;
            out.write_all(b":")?;
            match &job.columns {
                JobColumns::Range([first, count, base]) => {
                    serde_json::to_writer(&mut *out, &[*first, *count, base + offset as i64])?;
                }
                JobColumns::Map(numbers) => {
                    let shifted: BTreeMap<&str, usize> =
                        numbers.iter().map(|(number, column)| (number.as_str(), column + offset)).collect();
                    serde_json::to_writer(&mut *out, &shifted)?;
                }
            }
            offset += job.builds;
        }
        out.write_all(b"},\"cols\":{")?;
        for (column, name) in COLUMNS.iter().enumerate() {
            if column > 0 {
                out.write_all(b",")?;
            }
            write!(out, "\"{name}\":[")?;
            for (index, job) in jobs.iter().enumerate() {
                if index > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(&job.fragments[column])?;
            }
            out.write_all(b"]")?;
        }
        out.write_all(b"},\"job_paths\":")?;
        serde_json::to_writer(&mut *out, &jobs.iter().map(|job| (job.name, job.path)).collect::<BTreeMap<_, _>>())?;
        out.write_all(b"}")
    }
}

/// Where one job's builds are, given `(number, column)` in column order: a range when the
/// numbers are consecutive and so are their columns, else number → column (a number seen twice
/// keeps its last column).
fn job_columns(builds: impl Iterator<Item = (i64, usize)>) -> JobColumns {
    let numbers: BTreeMap<i64, usize> = builds.collect();
    let (Some((&first, &base)), Some((&last, _))) = (numbers.first_key_value(), numbers.last_key_value()) else {
        return JobColumns::Map(BTreeMap::new());
    };
    let count = numbers.len();
    let dense = numbers.values().enumerate().all(|(offset, &column)| column == base + offset);
    if dense && i64::try_from(count).is_ok_and(|count| last == first + count - 1) {
        JobColumns::Range([first, count as i64, base as i64])
    } else {
        JobColumns::Map(numbers.into_iter().map(|(number, column)| (number.to_string(), column)).collect())
    }
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
    // The first text's distinct tokens, numbered; each other text marks those it has.
    let mut ids: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    for token in tokens(first) {
        let next = ids.len();
        ids.entry(token).or_insert(next);
    }
    let mut alive = vec![true; ids.len()];
    let mut remaining = ids.len();
    let mut seen = vec![0usize; ids.len()];
    for (generation, text) in texts.enumerate() {
        if remaining == 0 {
            break;
        }
        let generation = generation + 1;
        for token in tokens(text.as_ref()) {
            if let Some(&id) = ids.get(token) {
                seen[id] = generation;
            }
        }
        for (alive, &seen) in alive.iter_mut().zip(&seen) {
            if *alive && seen != generation {
                *alive = false;
                remaining -= 1;
            }
        }
    }
    let common: HashSet<&str> = ids.iter().filter(|&(_, &id)| alive[id]).map(|(&token, _)| token).collect();
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

/// One slice Triage writes with `--output_slices PATTERN`: the clusters of one id prefix
/// (`00`..`ff`) or of one owner (`sig-OWNER`). It borrows its clusters from the whole
/// [`FailureData`]; its builds are computed only when it is written.
#[derive(Debug)]
pub struct Slice<'a> {
    /// What replaces `PREFIX` in the pattern.
    pub name: String,
    pub clustered: Vec<&'a JsonCluster>,
}

impl<'a> Slice<'a> {
    /// The jobs of the slice's clusters.
    pub fn jobs(&self) -> HashSet<&'a str> {
        self.clustered
            .iter()
            .flat_map(|cluster| &cluster.tests)
            .flat_map(|test| &test.jobs)
            .map(|job| job.name.as_str())
            .collect()
    }

    /// The builds of the slice's jobs, in columns.
    pub fn builds(&self, builds: &HashMap<String, Build>) -> Columns {
        let jobs = self.jobs();
        columns(builds.values().filter(|build| jobs.contains(build.job.as_str())))
    }
}

/// Writes a slice: Triage's schema, with borrowed clusters and builds.
fn write_slice(out: &mut impl Write, clustered: &[&JsonCluster], builds: &ColumnsView<'_>) -> std::io::Result<()> {
    out.write_all(b"{\"clustered\":")?;
    serde_json::to_writer(&mut *out, clustered)?;
    out.write_all(b",\"builds\":")?;
    builds.write_json(out)?;
    out.write_all(b"}")
}

/// The slices of `data`: one per id prefix `00`..`ff`, then one per owner: those of the owners
/// file, those found on the clusters, and `testing`.
pub fn slices<'a>(data: &'a FailureData, owners: &BTreeMap<String, Vec<String>>) -> Vec<Slice<'a>> {
    let mut names: BTreeSet<&str> = owners.keys().map(String::as_str).collect();
    names.extend(data.clustered.iter().map(|cluster| cluster.owner.as_str()));
    names.insert(DEFAULT_OWNER);
    let mut slices: Vec<Slice<'a>> = (0..=255u8)
        .map(|prefix| {
            let name = format!("{prefix:02x}");
            let clustered = data.clustered.iter().filter(|cluster| cluster.id.starts_with(&name)).collect();
            Slice { name, clustered }
        })
        .collect();
    for owner in names {
        let clustered = data.clustered.iter().filter(|cluster| cluster.owner == owner).collect();
        slices.push(Slice { name: format!("sig-{owner}"), clustered });
    }
    slices
}

/// What [`write`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub clusters: usize,
    pub slices: usize,
    /// Bytes written, over all files.
    pub bytes: u64,
}

/// Renders `failure_data.json` to `destination` and, with a pattern (which must hold
/// `PREFIX`), its slices. Every file or none: each is written beside its destination first,
/// and only when all are written are they renamed into place. Slices are written in parallel
/// as they are made, each borrowing its clusters, so at most one slice per thread is in memory
/// besides the whole data.
pub fn write(
    builds: &HashMap<String, Build>,
    failures: &[Failure],
    clustering: &Clustering,
    options: &RenderOptions,
    destination: &Path,
    slice_pattern: Option<&str>,
) -> Result<Written, Error> {
    if let Some(pattern) = slice_pattern
        && !pattern.contains("PREFIX")
    {
        return Err(Error::SlicePattern { pattern: pattern.to_owned() });
    }
    let data = render(builds, failures, clustering, options);
    let slices = slice_pattern.map(|_| slices(&data, &options.owners)).unwrap_or_default();
    let index = slice_pattern.map(|_| ColumnIndex::new(builds.values()));
    let main = write_file(destination, |out| serde_json::to_writer(out, &data).map_err(std::io::Error::from))
        .map(|bytes| (destination.to_owned(), bytes));
    let others: Vec<Result<(PathBuf, u64), Error>> = match (&main, slice_pattern) {
        (Ok(_), Some(pattern)) => slices
            .par_iter()
            .map(|slice| {
                let path = PathBuf::from(pattern.replace("PREFIX", &slice.name));
                let index = index.as_ref().expect("made with the pattern");
                let builds = index.view(&slice.jobs());
                write_file(&path, |out| write_slice(out, &slice.clustered, &builds)).map(|bytes| (path, bytes))
            })
            .collect(),
        _ => Vec::new(),
    };
    let (done, errors): (Vec<_>, Vec<_>) = std::iter::once(main).chain(others).partition(Result::is_ok);
    let done: Vec<(PathBuf, u64)> = done.into_iter().filter_map(Result::ok).collect();
    if let Some(error) = errors.into_iter().find_map(Result::err) {
        for (path, _) in &done {
            let _ = fs_err::remove_file(temporary_path(path));
        }
        return Err(error);
    }
    for (path, _) in &done {
        fs_err::rename(temporary_path(path), path).map_err(|source| Error::Write { path: path.clone(), source })?;
    }
    let bytes = done.iter().map(|(_, bytes)| bytes).sum();
    Ok(Written { clusters: data.clustered.len(), slices: slices.len(), bytes })
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

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".slipway-tmp");
    path.with_file_name(name)
}

/// Writes a file beside `path` (its [`temporary_path`]) with `write`; returns the bytes
/// written. A file left half-written is removed.
fn write_file(
    path: &Path,
    write: impl FnOnce(&mut Counting<std::io::BufWriter<std::fs::File>>) -> std::io::Result<()>,
) -> Result<u64, Error> {
    let error = |source| Error::Write { path: path.to_owned(), source };
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent).map_err(error)?;
    }
    let temporary = temporary_path(path);
    let file = std::fs::File::create(&temporary).map_err(error)?;
    let mut writer = Counting { inner: std::io::BufWriter::new(file), bytes: 0 };
    let result = write(&mut writer).and_then(|()| writer.flush()).map_err(error);
    if result.is_err() {
        let _ = fs_err::remove_file(&temporary);
    }
    result.map(|()| writer.bytes)
}

/// A writer that counts what passes through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests;
