//! Ingesting inputs into the store: each Prow build directory becomes one build, and the JUnit
//! files given on their own (or found in a directory without builds) together become one more.
//!
//! Every build is stored with one [`Store::replace_build`]: all its JUnit files combined and
//! merged, so ingesting the same inputs again changes nothing.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use slipway_artifacts::Storage;
use slipway_core::exit;
use slipway_core::results::{Build, Status, TestResult};
use slipway_store::Store;
use slipway_store::results::Replaced;

/// The JSON schema of `slipway results ingest`'s report.
pub const INGEST_SCHEMA: &str = "slipway.results.ingest/v1";

use crate::error::{Error, Problem};
use crate::merge::merge;
use crate::prow::{self, BuildFiles, FINISHED, STARTED};
use crate::source::{Read, Source};

/// The job of JUnit files given on their own when `--job` is not.
pub const DEFAULT_JOB: &str = "local";

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The job of JUnit files given on their own (default [`DEFAULT_JOB`]).
    pub job: Option<String>,
    /// Their build id (default: a hash of their results, see the crate documentation).
    pub build: Option<String>,
    /// Now, in Unix seconds (recorded as the time of ingestion).
    pub now: i64,
    /// The environment object storage reads its settings from (`AWS_*`, `GOOGLE_*`,
    /// `AZURE_*`); `None`: the process's.
    pub environment: Option<Vec<(String, String)>>,
    /// Which files of a directory are JUnit candidates: a glob relative to each build directory
    /// (or to a directory without builds). Default: `*.xml` and `*.xml.gz` under a build's
    /// `artifacts/`, every `*.xml` of a plain directory.
    pub glob: Option<String>,
}

/// How many files are parsed at once.
const PARALLEL: usize = 8;

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Builds by what storing them did.
    pub builds: Counts,
    /// JUnit files read.
    pub files: usize,
    /// Test results stored (one per test per build).
    pub tests: usize,
    /// Inputs that could not be read or parsed; the rest was ingested.
    pub problems: Vec<Problem>,
    /// XML files found in directories that are not JUnit (another root element), left out.
    pub not_junit: Vec<Problem>,
    /// Each build stored, in the order stored.
    pub ingested: Vec<Ingested>,
}

impl Report {
    /// 0, or 2 (DESIGN.md's bad input) when any input could not be read or parsed.
    pub fn exit_code(&self) -> u8 {
        if self.problems.is_empty() { exit::SUCCESS } else { exit::USAGE }
    }
}

/// Builds inserted, updated (stored before with other content) and unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// One build stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingested {
    pub job: String,
    pub build_id: String,
    /// Where it was read from.
    pub source: String,
    /// `inserted`, `updated` or `unchanged`.
    pub outcome: &'static str,
    /// JUnit files read for it.
    pub files: usize,
    /// Its tests, by status.
    pub tests: usize,
    pub pass: usize,
    pub fail: usize,
    pub flaky: usize,
    pub skip: usize,
}

/// Ingests `inputs`: local JUnit files, local directories, or storage URLs (`s3://...`,
/// `gs://...`, `file://...`; a URL ending in `.xml` may name one object). Problems with single
/// inputs are reported in the [`Report`]; storage or a database that fails is an [`Error`].
pub async fn ingest(store: &Store, inputs: &[String], options: &Options) -> Result<Report, Error> {
    ingest_showing(store, inputs, options, &slipway_core::progress::Quiet).await
}

/// [`ingest`], telling `progress` of every file read (a bar on a terminal).
pub async fn ingest_showing(
    store: &Store,
    inputs: &[String],
    options: &Options,
    progress: &dyn slipway_core::progress::Progress,
) -> Result<Report, Error> {
    let mut report = Report::default();
    let glob = match &options.glob {
        Some(glob) => Some(
            globset::GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map_err(|error| Error::Glob { glob: glob.clone(), message: error.kind().to_string() })?
                .compile_matcher(),
        ),
        None => None,
    };
    // First every input is listed, so progress knows how many files there are; then read.
    // Files given one by one must be JUnit; files found in a directory may be other XML.
    let mut loose: Vec<(Source, String, bool)> = Vec::new();
    let mut builds: Vec<(Source, BuildFiles)> = Vec::new();
    for input in inputs {
        let Some((source, is_file)) = open(input, options, &mut report.problems)? else { continue };
        if is_file {
            loose.push((source, String::new(), true));
            continue;
        }
        let keys = source.list(&mut report.problems).await?;
        if keys.is_empty() && input.contains("://") && (input.ends_with(".xml") || input.ends_with(".xml.gz")) {
            loose.push((source, String::new(), true));
            continue;
        }
        let layout = prow::layout(&keys, glob.as_ref());
        if layout.builds.is_empty() && layout.loose.is_empty() {
            let wanted = options.glob.as_deref().unwrap_or("*.xml");
            report.problems.push(Problem::new(
                source.shown(""),
                None,
                format!("no Prow builds (started.json, finished.json) and no JUnit files ({wanted}) here"),
            ));
        }
        builds.extend(layout.builds.into_iter().map(|build| (source.clone(), build)));
        loose.extend(layout.loose.into_iter().map(|key| (source.clone(), key, false)));
    }
    let files = builds.iter().map(|(_, build)| build.junit.len()).sum::<usize>() + loose.len();
    progress.begin(files as u64, "ingesting");
    for (source, build) in &builds {
        ingest_prow_build(store, source, build, options, &mut report, progress).await?;
    }
    if !loose.is_empty() {
        ingest_loose(store, &loose, options, &mut report, progress).await?;
    }
    progress.end();
    Ok(report)
}

/// Opens one input: `(source, is a single file)`, or `None` after recording why not.
fn open(input: &str, options: &Options, problems: &mut Vec<Problem>) -> Result<Option<(Source, bool)>, Error> {
    if input.contains("://") {
        let storage = match &options.environment {
            Some(environment) => Storage::open_with(input, environment.iter().cloned())?,
            None => Storage::open(input)?,
        };
        return Ok(Some((Source::Remote(storage), false)));
    }
    let path = std::path::Path::new(input);
    let resolved = match fs_err::canonicalize(path) {
        Ok(resolved) => resolved,
        Err(error) => {
            let reason = match error.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
                _ => error.to_string(),
            };
            problems.push(Problem::new(input.to_owned(), None, reason));
            return Ok(None);
        }
    };
    let is_file = !resolved.is_dir();
    Ok(Some((Source::Local { root: resolved, shown: input.to_owned() }, is_file)))
}

async fn ingest_prow_build(
    store: &Store,
    source: &Source,
    files: &BuildFiles,
    options: &Options,
    report: &mut Report,
    progress: &dyn slipway_core::progress::Progress,
) -> Result<(), Error> {
    let location = source.location(&files.directory);
    let Some((job, build_id)) = prow::job_and_build(&location) else {
        report.problems.push(Problem::new(
            source.shown(&files.directory),
            None,
            "a build directory must be <job>/<build-id>/: the job and build cannot be told from this path".to_owned(),
        ));
        return Ok(());
    };
    let started = if files.has_started {
        source.read_json(&files.key(STARTED), &mut report.problems).await?
    } else {
        Value::Null
    };
    let finished = if files.has_finished {
        source.read_json(&files.key(FINISHED), &mut report.problems).await?
    } else {
        Value::Null
    };
    let metadata = prow::metadata(&started, &finished);
    let files_read = read_all(files.junit.iter().map(|key| (source, key.as_str(), false)), report, progress).await?;
    let read = files_read.len();
    let cells: Vec<TestResult> = files_read.into_iter().flat_map(|(_, parsed)| parsed.cells).collect();
    let build = Build {
        job,
        build_id,
        started: metadata.started,
        finished: metadata.finished,
        passed: metadata.passed,
        version: metadata.version,
        source: location,
    };
    store_build(store, build, merge(cells), read, options, report).await
}

/// The JUnit files given on their own: one build of `--job`, `--build`.
async fn ingest_loose(
    store: &Store,
    loose: &[(Source, String, bool)],
    options: &Options,
    report: &mut Report,
    progress: &dyn slipway_core::progress::Progress,
) -> Result<(), Error> {
    let files_read =
        read_all(loose.iter().map(|(source, key, given)| (source, key.as_str(), *given)), report, progress).await?;
    let read = files_read.len();
    let mut cells = Vec::new();
    let mut modified: Option<i64> = None;
    let mut sources = Vec::new();
    for ((source, key), parsed) in files_read {
        cells.extend(parsed.cells);
        modified = modified.max(source.modified(key));
        sources.push(source.location(key));
    }
    if read == 0 {
        return Ok(());
    }
    let tests = merge(cells);
    let source = match sources.len() {
        1 => sources.swap_remove(0),
        count => format!("{} (and {} more files)", sources[0], count - 1),
    };
    let build = Build {
        job: options.job.clone().unwrap_or_else(|| DEFAULT_JOB.to_owned()),
        build_id: options.build.clone().unwrap_or_else(|| results_hash(&tests)),
        // JUnit files alone say nothing of a run still going: the build is over, it passed
        // unless a test failed, and it ended when its newest file was written.
        started: modified,
        finished: modified.or(Some(options.now)),
        passed: Some(!tests.iter().any(|test| test.status == Status::Fail)),
        version: None,
        source,
    };
    store_build(store, build, tests, read, options, report).await
}

/// Reads files `PARALLEL` at a time, in order; what cannot be read is recorded in `report` (a
/// file found in a directory that is XML of another kind as a note). `given`: the file was named
/// on its own, so it must be JUnit.
async fn read_all<'a>(
    files: impl Iterator<Item = (&'a Source, &'a str, bool)>,
    report: &mut Report,
    progress: &dyn slipway_core::progress::Progress,
) -> Result<Vec<((&'a Source, &'a str), crate::parse::Parsed)>, Error> {
    use futures_util::StreamExt;
    let mut reads =
        futures_util::stream::iter(files.map(|(source, key, given)| async move {
            source.read(key).await.map(|read| ((source, key), given, read))
        }))
        .buffered(PARALLEL);
    let mut parsed = Vec::new();
    // What the build holds so far: its files together stay within one file's limits.
    let (mut cases, mut kept) = (0, 0);
    while let Some(result) = reads.next().await {
        let (file, given, read) = result?;
        progress.advance(&file.0.shown(file.1));
        match read {
            Read::Parsed(content) => {
                cases += content.cells.len();
                kept += crate::parse::kept_text(&content);
                if cases > crate::MAX_TEST_CASES || kept > crate::MAX_KEPT_TEXT {
                    let message = format!(
                        "left out: with it, the build's files would hold more than {} test cases or {} MiB of \
                         names and texts, what slipway keeps of one build",
                        crate::MAX_TEST_CASES,
                        crate::MAX_KEPT_TEXT / (1024 * 1024)
                    );
                    report.problems.push(Problem::new(file.0.shown(file.1), None, message));
                    cases -= content.cells.len();
                    kept -= crate::parse::kept_text(&content);
                    continue;
                }
                parsed.push((file, content));
            }
            Read::NotJunit(problem) if !given => report.not_junit.push(problem),
            Read::NotJunit(problem) | Read::Problem(problem) => report.problems.push(problem),
        }
    }
    Ok(parsed)
}

async fn store_build(
    store: &Store,
    build: Build,
    tests: Vec<TestResult>,
    files: usize,
    options: &Options,
    report: &mut Report,
) -> Result<(), Error> {
    let replaced = store.replace_build(&build, &tests, options.now).await.map_err(|source| Error::Store {
        job: build.job.clone(),
        build_id: build.build_id.clone(),
        source,
    })?;
    let outcome = match replaced {
        Replaced::Inserted => {
            report.builds.inserted += 1;
            "inserted"
        }
        Replaced::Updated => {
            report.builds.updated += 1;
            "updated"
        }
        Replaced::Unchanged => {
            report.builds.unchanged += 1;
            "unchanged"
        }
    };
    let count = |status: Status| tests.iter().filter(|test| test.status == status).count();
    report.files += files;
    report.tests += tests.len();
    report.ingested.push(Ingested {
        outcome,
        files,
        tests: tests.len(),
        pass: count(Status::Pass),
        fail: count(Status::Fail),
        flaky: count(Status::Flaky),
        skip: count(Status::Skip),
        job: build.job,
        build_id: build.build_id,
        source: build.source,
    });
    Ok(())
}

/// The default build id of loose JUnit files: the first 12 hex digits of a SHA-256 over their
/// merged results, so the same results are the same build however often they are ingested.
fn results_hash(tests: &[TestResult]) -> String {
    let mut hasher = Sha256::new();
    for test in tests {
        let duration = test.duration_ms.map(|ms| ms.to_string()).unwrap_or_default();
        for field in [
            test.name.as_str(),
            test.status.as_str(),
            &duration,
            &test.runs.to_string(),
            &test.passes.to_string(),
            test.message.as_deref().unwrap_or_default(),
        ] {
            hasher.update(field.as_bytes());
            hasher.update([0]);
        }
    }
    hasher.finalize().iter().take(6).map(|byte| format!("{byte:02x}")).collect()
}
