//! Test results as slipway keeps them: one cell per test per build, TestGrid's way.
//!
//! JUnit dialects differ in how they spell a result; ingestion maps each onto a [`Status`],
//! and every view (grid, flakes, alerts, clusters) works on these plain values.

use serde::{Deserialize, Serialize};

/// A test's result in one build, after merging reruns (TestGrid's coalesced cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Skipped (TestGrid's PASS_WITH_SKIPS).
    Skip,
    /// Failed and passed within one build (a rerun passed).
    Flaky,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Skip => "skip",
            Status::Flaky => "flaky",
            Status::Fail => "fail",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "pass" => Status::Pass,
            "skip" => Status::Skip,
            "flaky" => Status::Flaky,
            "fail" => Status::Fail,
            _ => return None,
        })
    }
}

/// One test's cell in one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    /// The row name, built as TestGrid builds it (`<suite>.<case>`).
    pub name: String,
    pub status: Status,
    /// Total time of its runs in this build, in milliseconds.
    pub duration_ms: Option<u64>,
    /// How many times it ran in this build (reruns count), and how many of those passed.
    pub runs: u32,
    pub passes: u32,
    /// The failure (or skip) text: message and body, possibly truncated (see ingestion).
    pub message: Option<String>,
}

/// One build of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    pub job: String,
    pub build_id: String,
    /// Unix seconds.
    pub started: Option<i64>,
    pub finished: Option<i64>,
    /// From finished.json; `None` while running or unknown.
    pub passed: Option<bool>,
    /// The commit or version the build tested (TestGrid's column header).
    pub version: Option<String>,
    /// Where it was read from (a directory, a URL, a file).
    pub source: String,
}

/// One failed (or flaky) test of one build, with its text: what the store keeps and
/// clustering works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub job: String,
    pub build_id: String,
    pub test: String,
    /// When the build started, Unix seconds.
    pub started: Option<i64>,
    pub message: String,
}
