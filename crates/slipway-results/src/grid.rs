//! The grid of one job: one column per build, newest first, and one row per test, each cell
//! that test's result in that build (or nothing, when the build did not report it).
//!
//! Row order: the job's `Overall` row (from each build's `passed`) is kept apart, in
//! [`Grid::overall`]; test rows come sorted as in [`build`]'s documentation, so what is broken
//! now is on top.

use std::collections::BTreeMap;

use serde::Serialize;
use slipway_core::results::{Build, Status, TestResult};

/// The JSON schema of `slipway results grid --format json`.
pub const SCHEMA: &str = "slipway.results.grid/v1";

/// The name of the row made from each build's own result.
pub const OVERALL: &str = "Overall";

/// The message of a failed build none of whose tests failed (TestGrid's wording).
pub const FAILED_OUTSIDE_TESTS: &str = "Build failed outside of test results";

/// One build and its test results: the input of every view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildResults {
    pub build: Build,
    pub tests: Vec<TestResult>,
}

/// A job's history as a grid.
///
/// JSON (`slipway.results.grid/v1`): `job`, `columns` (newest first), `overall` and `rows`.
/// A row's `cells` is a plain array with one entry per column, in column order: `null` where the
/// build has no result for the test, else the cell. Arrays rather than TestGrid's run-length
/// encoding, so `rows[r].cells[c]` is the result of `columns[c]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grid {
    pub job: String,
    pub columns: Vec<Column>,
    /// The build's own result: pass or fail from `passed`, no result while it is unknown.
    pub overall: Row,
    pub rows: Vec<Row>,
}

/// A column's header: one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub build_id: String,
    /// Unix seconds.
    pub started: Option<i64>,
    pub finished: Option<i64>,
    pub version: Option<String>,
    pub passed: Option<bool>,
    /// Where the build's evidence is (its build log, or the JUnit file it came from), as a URL a
    /// browser opens; `None` when it is not known or not browsable (`s3://`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The browsable evidence of a build whose results came from `source` (a Prow build directory
/// or a JUnit file, as a path or URL): the build directory's `build-log.txt`, or the file.
pub fn evidence_link(source: &str) -> Option<String> {
    let source = source.trim();
    if source.is_empty() || source.contains(" (and ") {
        return None;
    }
    let is_file = [".xml", ".xml.gz"].iter().any(|extension| source.ends_with(extension));
    let target = |base: &str| {
        if is_file { base.to_owned() } else { format!("{}/build-log.txt", base.trim_end_matches('/')) }
    };
    if source.starts_with("https://") || source.starts_with("http://") {
        return Some(target(source));
    }
    if let Some(rest) = source.strip_prefix("gs://") {
        return Some(target(&format!("https://storage.googleapis.com/{rest}")));
    }
    if let Some(path) = source.strip_prefix("file://").or(Some(source).filter(|path| path.starts_with('/'))) {
        return Some(target(&format!("file://{}", percent_path(path))));
    }
    None
}

/// A path percent-encoded for a `file://` URL: `/`, letters, digits and `-._~` kept.
fn percent_path(path: &str) -> String {
    path.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// One test across the builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub name: String,
    /// One per column; `None` is TestGrid's NO_RESULT (a blank cell).
    pub cells: Vec<Option<Cell>>,
}

/// One test's result in one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Runs in this build (reruns count) and how many passed.
    pub runs: u32,
    pub passes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// TestGrid's coalesced result of a cell (`result.Coalesce`): what alerts and flakiness see.
/// Skips count as passes, as PASS_WITH_SKIPS does in TestGrid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Flaky,
}

impl Cell {
    pub fn outcome(&self) -> Outcome {
        match self.status {
            Status::Pass | Status::Skip => Outcome::Pass,
            Status::Fail => Outcome::Fail,
            Status::Flaky => Outcome::Flaky,
        }
    }

    fn of(test: &TestResult) -> Cell {
        Cell {
            status: test.status,
            message: test.message.clone().filter(|message| !message.is_empty()),
            runs: test.runs,
            passes: test.passes,
            duration_ms: test.duration_ms,
        }
    }
}

impl From<&Build> for Column {
    fn from(build: &Build) -> Column {
        Column {
            build_id: build.build_id.clone(),
            started: build.started,
            finished: build.finished,
            version: build.version.clone(),
            passed: build.passed,
            link: evidence_link(&build.source),
        }
    }
}

/// The grid of `job` from its builds, given newest first (as `Store::builds` returns them).
///
/// Test rows are sorted in three groups, then by name within each:
/// 1. tests whose newest result is a failure (broken now);
/// 2. tests with a failed or flaky cell anywhere in the grid;
/// 3. the rest.
pub fn build(job: &str, history: &[BuildResults]) -> Grid {
    let columns: Vec<Column> = history.iter().map(|results| Column::from(&results.build)).collect();
    let mut rows: BTreeMap<&str, Vec<Option<Cell>>> = BTreeMap::new();
    for (index, results) in history.iter().enumerate() {
        for test in &results.tests {
            let cells = rows.entry(test.name.as_str()).or_insert_with(|| vec![None; columns.len()]);
            cells[index] = Some(Cell::of(test));
        }
    }
    let mut rows: Vec<Row> = rows.into_iter().map(|(name, cells)| Row { name: name.to_owned(), cells }).collect();
    rows.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name)));
    let overall = Row { name: OVERALL.to_owned(), cells: history.iter().map(overall_cell).collect() };
    Grid { job: job.to_owned(), columns, overall, rows }
}

/// The sort group of a row (see [`build`]).
fn rank(row: &Row) -> u8 {
    let newest = row.cells.iter().flatten().next();
    if newest.is_some_and(|cell| cell.status == Status::Fail) {
        0
    } else if row.cells.iter().flatten().any(|cell| matches!(cell.status, Status::Fail | Status::Flaky)) {
        1
    } else {
        2
    }
}

/// The `Overall` cell of a build: its own `passed`, with TestGrid's message when it failed
/// although no test did, and a count of failed tests otherwise.
fn overall_cell(results: &BuildResults) -> Option<Cell> {
    let passed = results.build.passed?;
    let duration_ms = match (results.build.started, results.build.finished) {
        (Some(started), Some(finished)) => u64::try_from(finished.saturating_sub(started)).ok().map(|s| s * 1000),
        _ => None,
    };
    let message = (!passed).then(|| match results.tests.iter().filter(|test| test.status == Status::Fail).count() {
        0 => FAILED_OUTSIDE_TESTS.to_owned(),
        1 => "1 test failed".to_owned(),
        count => format!("{count} tests failed"),
    });
    Some(Cell {
        status: if passed { Status::Pass } else { Status::Fail },
        message,
        runs: 1,
        passes: u32::from(passed),
        duration_ms,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A build of `job` started at `started`, with `passed`.
    pub(crate) fn build_of(job: &str, id: &str, started: i64, passed: Option<bool>) -> Build {
        Build {
            job: job.to_owned(),
            build_id: id.to_owned(),
            started: Some(started),
            finished: Some(started + 600),
            passed,
            version: Some(format!("v1.0.{id}")),
            source: format!("logs/{job}/{id}"),
        }
    }

    /// A test result: `status` with `message`, one run (two for flaky: one passed).
    pub(crate) fn test_of(name: &str, status: Status, message: Option<&str>) -> TestResult {
        let (runs, passes) = match status {
            Status::Pass | Status::Skip => (1, 1),
            Status::Flaky => (2, 1),
            Status::Fail => (1, 0),
        };
        TestResult {
            name: name.to_owned(),
            status,
            duration_ms: Some(1500),
            runs,
            passes,
            message: message.map(str::to_owned),
        }
    }

    /// The history of `job` from rows of status letters, one string per test and one letter
    /// per build, newest first: `P` pass, `F` fail, `K` flaky, `S` skip, `.` no result.
    /// `overall` gives each build's `passed` the same way (`.` = unknown).
    pub(crate) fn history(job: &str, overall: &str, tests: &[(&str, &str)]) -> Vec<BuildResults> {
        let builds = overall.len();
        (0..builds)
            .map(|index| {
                let id = (1000 + builds - index).to_string();
                let passed = match overall.as_bytes()[index] {
                    b'P' => Some(true),
                    b'F' => Some(false),
                    _ => None,
                };
                let started = 1_795_000_000 + i64::try_from((builds - index) * 86_400).expect("small");
                let tests = tests
                    .iter()
                    .filter_map(|(name, statuses)| {
                        let status = match statuses.as_bytes()[index] {
                            b'P' => Status::Pass,
                            b'F' => Status::Fail,
                            b'K' => Status::Flaky,
                            b'S' => Status::Skip,
                            _ => return None,
                        };
                        let message = matches!(status, Status::Fail | Status::Flaky)
                            .then(|| format!("{name} failed in build {id}"));
                        Some(test_of(name, status, message.as_deref()))
                    })
                    .collect();
                BuildResults { build: build_of(job, &id, started, passed), tests }
            })
            .collect()
    }

    fn letters(row: &Row) -> String {
        row.cells
            .iter()
            .map(|cell| match cell.as_ref().map(|cell| cell.status) {
                None => '.',
                Some(Status::Pass) => 'P',
                Some(Status::Fail) => 'F',
                Some(Status::Flaky) => 'K',
                Some(Status::Skip) => 'S',
            })
            .collect()
    }

    #[test]
    fn rows_are_tests_and_columns_are_builds_newest_first() {
        let grid = build("e2e", &history("e2e", "FPP", &[("b", "FPP"), ("a", "P.P")]));
        let ids: Vec<&str> = grid.columns.iter().map(|column| column.build_id.as_str()).collect();
        assert_eq!(ids, ["1003", "1002", "1001"]);
        let rows: Vec<(&str, String)> = grid.rows.iter().map(|row| (row.name.as_str(), letters(row))).collect();
        assert_eq!(rows, [("b", "FPP".to_owned()), ("a", "P.P".to_owned())]);
        assert_eq!(letters(&grid.overall), "FPP");
    }

    #[test]
    fn broken_rows_come_first_then_rows_that_failed_or_flaked_then_the_rest_by_name() {
        let grid = build(
            "e2e",
            &history(
                "e2e",
                "FFPP",
                &[
                    ("a-clean", "PPPP"),
                    ("b-flaked", "PKPP"),
                    ("c-broken-now", ".FPP"),
                    ("d-failed-once", "PPFP"),
                    ("e-broken-now", "FFFF"),
                    ("f-skipped", "SSSS"),
                ],
            ),
        );
        let names: Vec<&str> = grid.rows.iter().map(|row| row.name.as_str()).collect();
        assert_eq!(names, ["c-broken-now", "e-broken-now", "b-flaked", "d-failed-once", "a-clean", "f-skipped"]);
    }

    #[test]
    fn the_overall_row_comes_from_passed_and_says_why_it_failed() {
        let grid = build("e2e", &history("e2e", "FF.P", &[("a", "FPPP")]));
        assert_eq!(letters(&grid.overall), "FF.P");
        let messages: Vec<Option<&str>> =
            grid.overall.cells.iter().map(|cell| cell.as_ref().and_then(|cell| cell.message.as_deref())).collect();
        assert_eq!(messages, [Some("1 test failed"), Some(FAILED_OUTSIDE_TESTS), None, None]);
    }

    #[test]
    fn json_cells_are_plain_arrays_with_null_for_no_result() {
        let grid = build("e2e", &history("e2e", "FP", &[("a", "F.")]));
        let json = serde_json::to_value(&grid).expect("serializes");
        assert_eq!(json["rows"][0]["cells"][1], serde_json::Value::Null);
        assert_eq!(json["rows"][0]["cells"][0]["status"], "fail");
        assert_eq!(json["rows"][0]["cells"][0]["message"], "a failed in build 1002");
        assert_eq!(json["columns"][0]["build_id"], "1002");
        assert_eq!(json["overall"]["name"], "Overall");
    }
}
