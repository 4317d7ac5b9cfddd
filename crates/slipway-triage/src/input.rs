//! Triage's input files (`triage/summarize/files.go`), as BigQuery exports them from Kettle's
//! table.
//!
//! - The builds file is one JSON array of `{path, started, elapsed, tests_run, tests_failed,
//!   result, executor, job, number, pr, key}`; numbers arrive as strings (numbers are accepted
//!   too). Builds without `started` or `number` are skipped, `elapsed` is truncated to whole
//!   seconds, and the pull request of a `pr-logs` path is its third-from-last segment. Builds
//!   are keyed by `path`.
//! - Each failed-tests file holds one JSON object per line, `{started, build, name,
//!   failure_text}`, where `build` is the build's path. Empty lines are skipped. (Triage's loader
//!   also counts each earlier file's records again for every later file; that is not
//!   reproduced.)
//!
//! Errors name the file and, through serde_json, the line and column.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Deserializer};

use crate::cluster::Failure;
use crate::error::{Error, Malformed, json_error};

/// One build, as Triage keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Build {
    pub path: String,
    /// Unix seconds.
    pub started: i64,
    /// Seconds.
    pub elapsed: i64,
    pub tests_run: i64,
    pub tests_failed: i64,
    pub result: String,
    pub executor: String,
    pub job: String,
    pub number: i64,
    pub pr: String,
    pub key: String,
}

/// A builds file's record. Every field is optional, and numeric fields may be JSON strings (as
/// BigQuery writes them) or numbers; a value that is neither is an error at its line.
#[derive(Debug, Deserialize)]
struct RawBuild {
    #[serde(default, deserialize_with = "text")]
    path: String,
    #[serde(default, deserialize_with = "integer")]
    started: Option<i64>,
    #[serde(default, deserialize_with = "seconds")]
    elapsed: Option<i64>,
    #[serde(default, deserialize_with = "integer")]
    tests_run: Option<i64>,
    #[serde(default, deserialize_with = "integer")]
    tests_failed: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    result: String,
    #[serde(default, deserialize_with = "text")]
    executor: String,
    #[serde(default, deserialize_with = "text")]
    job: String,
    #[serde(default, deserialize_with = "integer")]
    number: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    pr: String,
    #[serde(default, deserialize_with = "text")]
    key: String,
}

/// A failed-tests record.
#[derive(Debug, Deserialize)]
struct RawFailure {
    #[serde(default, deserialize_with = "integer")]
    started: Option<i64>,
    build: String,
    name: String,
    #[serde(default, deserialize_with = "text")]
    failure_text: String,
}

/// A string, a number (as its JSON text) or null (empty).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Null(()),
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match Scalar::deserialize(deserializer)? {
        Scalar::Text(text) => text,
        Scalar::Number(number) => number.to_string(),
        Scalar::Null(()) => String::new(),
    })
}

/// An integer given as a JSON string or number; empty or null is absent.
fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = text(deserializer)?;
    if value.is_empty() {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("{value:?} is not an integer")))
}

/// Seconds given as a JSON string or number, possibly with a fraction (truncated).
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = text(deserializer)?;
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<f64>() {
        // Triage parses a float and truncates it; `as` saturates on absurd values.
        #[expect(clippy::cast_possible_truncation)]
        Ok(seconds) if seconds.is_finite() => Ok(Some(seconds as i64)),
        _ => Err(serde::de::Error::custom(format!("{value:?} is not a number of seconds"))),
    }
}

/// Opens an input file, decompressing it when it is gzip (by its first bytes, whatever its
/// name: Triage's inputs are often `.json.gz` exports).
fn open(path: &Path) -> Result<Box<dyn BufRead>, Error> {
    let read_error = |source| Error::Read { path: path.to_owned(), source };
    let mut file = BufReader::new(std::fs::File::open(path).map_err(read_error)?);
    let gzip = file.fill_buf().map_err(read_error)?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip { Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(file))) } else { Box::new(file) })
}

/// Reads a builds file (gzip-compressed or not): builds by path.
pub fn read_builds(path: &Path) -> Result<HashMap<String, Build>, Error> {
    let reader = open(path)?;
    let raw: Vec<RawBuild> = serde_json::from_reader(reader).map_err(|error| {
        json_error(path, error, |path, line, column, source| Error::Builds { path, line, column, source })
    })?;
    let mut builds = HashMap::with_capacity(raw.len());
    for build in raw {
        let (Some(started), Some(number)) = (build.started, build.number) else { continue };
        let pr = if build.path.contains("pr-logs") {
            let parts: Vec<&str> = build.path.split('/').collect();
            parts.len().checked_sub(3).map_or(build.pr, |index| parts[index].to_owned())
        } else {
            build.pr
        };
        let build = Build {
            started,
            elapsed: build.elapsed.unwrap_or(0),
            tests_run: build.tests_run.unwrap_or(0),
            tests_failed: build.tests_failed.unwrap_or(0),
            number,
            pr,
            path: build.path,
            result: build.result,
            executor: build.executor,
            job: build.job,
            key: build.key,
        };
        builds.insert(build.path.clone(), build);
    }
    Ok(builds)
}

/// Reads failed-tests files (gzip-compressed or not), one record per line, appending to
/// `failures`.
pub fn read_failures(path: &Path, failures: &mut Vec<Failure>) -> Result<(), Error> {
    let mut reader = open(path)?;
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read =
            reader.read_until(b'\n', &mut line).map_err(|source| Error::Read { path: path.to_owned(), source })?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = line.strip_suffix(b"\n").unwrap_or(&line);
        let record = record.strip_suffix(b"\r").unwrap_or(record);
        let raw: RawFailure = serde_json::from_slice(record).map_err(|error| Error::Failure {
            path: path.to_owned(),
            line: number,
            column: error.column(),
            source: Malformed::new(&error),
        })?;
        failures.push(Failure { test: raw.name, build: raw.build, started: raw.started, text: raw.failure_text });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        fs_err::write(&path, content).expect("temporary file");
        path
    }

    #[test]
    fn builds_are_read_as_triage_reads_them() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = write(
            dir.path(),
            "builds.json",
            r#"[
              {"path": "gs://b/logs/ci-a/10", "started": "1700000000", "elapsed": "61.9", "tests_run": "5",
               "tests_failed": "1", "result": "FAILURE", "executor": "x", "job": "ci-a", "number": "10"},
              {"path": "gs://b/pr-logs/pull/org_repo/123/pull-a/7", "started": 1700000100, "job": "pull-a", "number": 7, "pr": null},
              {"path": "gs://b/logs/ci-a/11", "job": "ci-a", "number": "11"}
            ]"#,
        );
        let builds = read_builds(&path).expect("valid builds");
        assert_eq!(builds.len(), 2, "the build without a start time is skipped");
        let ci = &builds["gs://b/logs/ci-a/10"];
        assert_eq!((ci.started, ci.elapsed, ci.tests_run, ci.number), (1_700_000_000, 61, 5, 10));
        assert_eq!(builds["gs://b/pr-logs/pull/org_repo/123/pull-a/7"].pr, "123");
    }

    #[test]
    fn bad_builds_name_the_file_line_and_value() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path =
            write(dir.path(), "builds.json", "[\n  {\"path\": \"p\", \"started\": \"soon\", \"number\": \"1\"}\n]");
        let error = read_builds(&path).expect_err("bad started");
        let message = format!("{error}: {}", std::error::Error::source(&error).expect("cause"));
        let expected =
            "builds.json:2:34: not a Triage builds file (a JSON array of builds): \"soon\" is not an integer";
        assert!(message.ends_with(expected), "{message}");
        assert_eq!(error.exit_code(), slipway_core::exit::USAGE);
    }

    #[test]
    fn failures_are_read_line_by_line() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = write(
            dir.path(),
            "tests.json",
            "{\"started\": \"1700000000\", \"build\": \"gs://b/logs/ci-a/10\", \"name\": \"t1\", \"failure_text\": \"boom\"}\n\n{\"build\": \"gs://b/logs/ci-a/11\", \"name\": \"t1\", \"failure_text\": null}\n",
        );
        let mut failures = Vec::new();
        read_failures(&path, &mut failures).expect("valid failures");
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].started, Some(1_700_000_000));
        assert_eq!(failures[1].text, "");
    }

    #[test]
    fn gzip_compressed_inputs_are_read_as_they_are() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("temporary directory");
        let gzip = |name: &str, text: &str| {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(text.as_bytes()).expect("compress");
            let path = dir.path().join(name);
            fs_err::write(&path, encoder.finish().expect("compress")).expect("write");
            path
        };
        let builds = gzip(
            "builds.json.gz",
            r#"[{"path": "gs://b/logs/ci-a/10", "started": 1700000000, "job": "ci-a", "number": 10}]"#,
        );
        assert_eq!(read_builds(&builds).expect("gzip builds").len(), 1);
        // Named without .gz: the content decides.
        let tests =
            gzip("tests.json", "{\"build\": \"gs://b/logs/ci-a/10\", \"name\": \"t1\", \"failure_text\": \"boom\"}\n");
        let mut failures = Vec::new();
        read_failures(&tests, &mut failures).expect("gzip failures");
        assert_eq!(failures[0].text, "boom");
    }

    #[test]
    fn a_malformed_line_is_named() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path =
            write(dir.path(), "tests.json", "{\"build\": \"b\", \"name\": \"t\"}\n{\"build\": \"b\", \"name\": \n");
        let error = read_failures(&path, &mut Vec::new()).expect_err("malformed");
        assert!(error.to_string().ends_with("tests.json:2:23: not a Triage failure record"), "{error}");
        let path = dir.path().join("bytes.json");
        fs_err::write(&path, b"{\"build\": \"b\", \"name\": \"t\xff\"}\n").expect("temporary file");
        let error = read_failures(&path, &mut Vec::new()).expect_err("invalid UTF-8");
        assert!(error.to_string().ends_with("bytes.json:1:26: not a Triage failure record"), "{error}");
        let missing = read_failures(&dir.path().join("missing.json"), &mut Vec::new()).expect_err("missing");
        assert_eq!(missing.exit_code(), slipway_core::exit::USAGE);
    }
}
