//! Flakiness, as TestGrid's summarizer computes it (`flakiness.go`, `flipanalyzer.go`), and the
//! tests that failed and passed within one build.
//!
//! For each test row of each job, over the builds in the window:
//! - cells are coalesced (skips count as passes); builds without a result are left out;
//! - a failure whose message is one word (`^\w+$`, ASCII, as in Go) is an *infra* failure and is
//!   left out entirely;
//! - a failure in a build where no test passed or flaked (a failing column; only when the job has
//!   more than one test) is counted as a failure but left out of the flip sequence;
//! - *flip flakiness*: in that sequence, runs of 3 or more consecutive failures are skipped; of
//!   what remains, each failure that follows a pass (or starts the sequence) and each flaky cell
//!   is a flip, and flakiness = 100 × flips / cells considered.
//!
//! A test that never passed (nor flaked) in the window is failing, not flaky: its flakiness is 0.
//! A test is listed when it has at least one flip. Each flaky cell (a test that failed and
//! passed within one build, from reruns) is also listed as a rerun, with its runs and passes.

use std::fmt::Write as _;

use serde::Serialize;

use crate::grid::{Cell, Grid, Outcome};

/// The JSON schema of `slipway results flakes --format json`.
pub const SCHEMA: &str = "slipway.results.flakes/v1";

/// Runs of this many consecutive failures (or more) are a breakage, not flakiness
/// (TestGrid's `ignoreFailuresInARow`).
pub const IGNORE_FAILURES_IN_A_ROW: usize = 3;

/// What [`flip_flakiness`] counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flips {
    pub flips: u32,
    pub considered: u32,
}

impl Flips {
    /// 100 × flips / considered; 0 when nothing was considered.
    pub fn percent(self) -> f64 {
        if self.considered == 0 { 0.0 } else { 100.0 * f64::from(self.flips) / f64::from(self.considered) }
    }
}

/// TestGrid's `calculateFlipFlakiness` over one test's outcomes (infra failures and failing
/// columns already removed). The order (newest or oldest first) does not change the result.
pub fn flip_flakiness(outcomes: &[Outcome]) -> Flips {
    let mut counted = Flips::default();
    let mut last_passing = true;
    let mut index = 0;
    while index < outcomes.len() {
        let failures = outcomes[index..].iter().take_while(|outcome| **outcome == Outcome::Fail).count();
        if failures >= IGNORE_FAILURES_IN_A_ROW {
            index += failures;
            if index >= outcomes.len() {
                break;
            }
        }
        counted.considered += 1;
        match outcomes[index] {
            Outcome::Pass => last_passing = true,
            Outcome::Flaky => {
                counted.flips += 1;
                last_passing = true;
            }
            Outcome::Fail => {
                if last_passing {
                    counted.flips += 1;
                }
                last_passing = false;
            }
        }
        index += 1;
    }
    counted
}

/// Whether a failure message marks an infra failure: one word, TestGrid's `^\w+$`.
pub fn is_infra_failure(message: Option<&str>) -> bool {
    message.is_some_and(|message| {
        !message.is_empty() && message.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
    })
}

/// Whether a build that started at `started` is in a window starting at `since` (no window:
/// every build). Builds without a start time are kept: nothing is dropped for lack of data.
pub fn in_window(started: Option<i64>, since: Option<i64>) -> bool {
    match (started, since) {
        (Some(started), Some(since)) => started >= since,
        _ => true,
    }
}

/// One test's flakiness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestFlakiness {
    pub job: String,
    pub test: String,
    /// 0 to 100, rounded to two decimals; `flips` and `considered` give it exactly.
    pub flakiness: f64,
    pub flips: u32,
    pub considered: u32,
    /// Builds in the window where it passed (or was skipped), failed (infra failures apart),
    /// failed with a one-word message, and was flaky.
    pub passed: u32,
    pub failed: u32,
    pub infra_failures: u32,
    pub flaky: u32,
}

/// A test that failed and passed within one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rerun {
    pub job: String,
    pub test: String,
    pub build_id: String,
    pub started: Option<i64>,
    pub runs: u32,
    pub passes: u32,
    pub message: Option<String>,
}

/// One job's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    pub job: String,
    /// Builds in the window.
    pub builds: usize,
    /// Tests with a pass, a failure or a flaky cell in the window (TestGrid's analysed tests).
    pub tests: u32,
    /// The mean flakiness of those tests (TestGrid's tab average), rounded to two decimals.
    pub average_flakiness: f64,
}

/// Flakiness of some jobs.
///
/// JSON (`slipway.results.flakes/v1`): `since` (Unix seconds, or null for all builds), `jobs`,
/// `tests` (tests with at least one flip, most flaky first, then by job and test) and `reruns`
/// (by job, test, then newest build first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since: Option<i64>,
    pub jobs: Vec<JobSummary>,
    pub tests: Vec<TestFlakiness>,
    pub reruns: Vec<Rerun>,
}

/// The flakiness of every test of `grids` over the builds that started at or after `since`.
pub fn analyse(grids: &[Grid], since: Option<i64>) -> Report {
    let mut jobs = Vec::new();
    let mut tests = Vec::new();
    let mut reruns = Vec::new();
    for grid in grids {
        let window: Vec<bool> = grid.columns.iter().map(|column| in_window(column.started, since)).collect();
        let failing = failing_columns(grid);
        let mut analysed: u32 = 0;
        let mut total = 0.0;
        for row in &grid.rows {
            let mut outcomes = Vec::new();
            let mut counts = TestFlakiness {
                job: grid.job.clone(),
                test: row.name.clone(),
                flakiness: 0.0,
                flips: 0,
                considered: 0,
                passed: 0,
                failed: 0,
                infra_failures: 0,
                flaky: 0,
            };
            for (index, cell) in row.cells.iter().enumerate() {
                let Some(cell) = cell.as_ref().filter(|_| window[index]) else {
                    continue;
                };
                match cell.outcome() {
                    Outcome::Fail if is_infra_failure(cell.message.as_deref()) => counts.infra_failures += 1,
                    Outcome::Fail => {
                        counts.failed += 1;
                        if !failing[index] {
                            outcomes.push(Outcome::Fail);
                        }
                    }
                    Outcome::Pass => {
                        counts.passed += 1;
                        outcomes.push(Outcome::Pass);
                    }
                    Outcome::Flaky => {
                        counts.flaky += 1;
                        outcomes.push(Outcome::Flaky);
                        reruns.push(rerun(grid, &row.name, index, cell));
                    }
                }
            }
            if counts.passed + counts.failed + counts.flaky == 0 {
                continue;
            }
            // A test that never passed in the window is failing, not flaky: TestGrid's flip count
            // would make a test that failed in its only build 100% flaky.
            let ever_passed = counts.passed + counts.flaky > 0;
            let flips = if ever_passed { flip_flakiness(&outcomes) } else { Flips::default() };
            analysed += 1;
            total += flips.percent();
            if flips.flips > 0 {
                tests.push(TestFlakiness {
                    flakiness: round(flips.percent()),
                    flips: flips.flips,
                    considered: flips.considered,
                    ..counts
                });
            }
        }
        jobs.push(JobSummary {
            job: grid.job.clone(),
            builds: window.iter().filter(|inside| **inside).count(),
            tests: analysed,
            average_flakiness: if analysed == 0 { 0.0 } else { round(total / f64::from(analysed)) },
        });
    }
    tests.sort_by(|a, b| b.flakiness.total_cmp(&a.flakiness).then_with(|| (&a.job, &a.test).cmp(&(&b.job, &b.test))));
    // Grids are newest first, so a stable sort by job and test keeps builds newest first.
    reruns.sort_by(|a, b| (&a.job, &a.test).cmp(&(&b.job, &b.test)));
    Report { since, jobs, tests, reruns }
}

/// TestGrid's `failingColumns`: builds where no test passed or flaked, when there is more than
/// one test.
fn failing_columns(grid: &Grid) -> Vec<bool> {
    if grid.rows.len() <= 1 {
        return vec![false; grid.columns.len()];
    }
    (0..grid.columns.len())
        .map(|index| {
            !grid.rows.iter().any(|row| {
                row.cells[index].as_ref().is_some_and(|cell| matches!(cell.outcome(), Outcome::Pass | Outcome::Flaky))
            })
        })
        .collect()
}

fn rerun(grid: &Grid, test: &str, index: usize, cell: &Cell) -> Rerun {
    let column = &grid.columns[index];
    Rerun {
        job: grid.job.clone(),
        test: test.to_owned(),
        build_id: column.build_id.clone(),
        started: column.started,
        runs: cell.runs,
        passes: cell.passes,
        message: cell.message.clone(),
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The text report: the flaky tests, the reruns, and a summary line.
///
/// ```text
/// FLAKINESS  FLIPS  BUILDS  JOB       TEST
///     50.0%      2       4  node-e2e  E2eNode Suite.[It] pulls an image
/// ```
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let job_width = report
        .tests
        .iter()
        .map(|test| test.job.chars().count())
        .chain(report.reruns.iter().map(|rerun| rerun.job.chars().count()))
        .chain(std::iter::once(3))
        .max()
        .unwrap_or(3);
    if !report.tests.is_empty() {
        let _ = writeln!(out, "FLAKINESS  FLIPS  BUILDS  {:<job_width$}  TEST", "JOB");
        for test in &report.tests {
            let _ = writeln!(
                out,
                "{:>8.1}%  {:>5}  {:>6}  {:<job_width$}  {}",
                test.flakiness,
                test.flips,
                test.considered,
                test.job,
                crate::printable(&test.test)
            );
        }
    }
    if !report.reruns.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "failed and passed within one build:");
        let build_width = report.reruns.iter().map(|rerun| rerun.build_id.chars().count()).max().unwrap_or(5).max(5);
        let _ = writeln!(out, "{:<job_width$}  {:<build_width$}  PASSED    TEST", "JOB", "BUILD");
        for rerun in &report.reruns {
            let passed = format!("{} of {}", rerun.passes, rerun.runs);
            let _ = writeln!(
                out,
                "{:<job_width$}  {:<build_width$}  {passed:<8}  {}",
                rerun.job,
                rerun.build_id,
                crate::printable(&rerun.test)
            );
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

fn summary(report: &Report) -> String {
    let analysed: u32 = report.jobs.iter().map(|job| job.tests).sum();
    let builds: usize = report.jobs.iter().map(|job| job.builds).sum();
    let flaky = match report.tests.len() {
        0 => "no flaky tests".to_owned(),
        count => format!("{count} flaky"),
    };
    let tests = if analysed == 1 { "test" } else { "tests" };
    let builds_word = if builds == 1 { "build" } else { "builds" };
    let jobs = if report.jobs.len() == 1 { "job" } else { "jobs" };
    let window =
        report.since.map_or_else(|| " (all builds)".to_owned(), |since| format!(" since {}", crate::minute(since)));
    let reruns = match report.reruns.len() {
        0 => String::new(),
        1 => "; 1 test failed and passed within one build".to_owned(),
        count => format!("; {count} times a test failed and passed within one build"),
    };
    format!("{flaky} of {analysed} {tests} in {builds} {builds_word} of {} {jobs}{window}{reruns}", report.jobs.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::tests::history;
    use crate::grid::{BuildResults, build};

    fn outcomes(letters: &str) -> Vec<Outcome> {
        letters
            .chars()
            .map(|letter| match letter {
                'P' => Outcome::Pass,
                'F' => Outcome::Fail,
                'K' => Outcome::Flaky,
                other => panic!("no outcome {other}"),
            })
            .collect()
    }

    fn flips(letters: &str) -> (u32, u32) {
        let counted = flip_flakiness(&outcomes(letters));
        (counted.flips, counted.considered)
    }

    #[test]
    fn flips_count_failures_that_follow_passes() {
        assert_eq!(flips(""), (0, 0));
        assert_eq!(flips("PPPP"), (0, 4));
        assert_eq!(flips("PFPF"), (2, 4));
        assert_eq!(flips("FPPP"), (1, 4), "a failure at the start follows an assumed pass");
        assert_eq!(flips("PFFP"), (1, 4), "two failures in a row are one flip");
    }

    #[test]
    fn runs_of_three_failures_or_more_are_skipped() {
        assert_eq!(flips("PFFFP"), (0, 2));
        assert_eq!(flips("PFFFFFF"), (0, 1));
        assert_eq!(flips("FFF"), (0, 0));
        assert_eq!(flips("PFFFPFP"), (1, 4));
    }

    #[test]
    fn flaky_cells_are_always_flips() {
        assert_eq!(flips("KKPP"), (2, 4));
        assert_eq!(flips("FK"), (2, 2));
        assert_eq!(flips("KF"), (2, 2), "a flaky cell counts as passing before the failure");
    }

    #[test]
    fn the_direction_of_the_walk_does_not_matter() {
        for letters in ["PFFPFKPFFFP", "FFPKFFFFPF", "KPFPFFF"] {
            let reversed: String = letters.chars().rev().collect();
            assert_eq!(flips(letters), flips(&reversed), "{letters}");
        }
    }

    #[test]
    fn infra_failures_are_one_word_messages() {
        assert!(is_infra_failure(Some("timeout")));
        assert!(is_infra_failure(Some("Error_42")));
        assert!(!is_infra_failure(Some("")));
        assert!(!is_infra_failure(None));
        assert!(!is_infra_failure(Some("timed out")));
        assert!(!is_infra_failure(Some("échec")), "Go's \\w is ASCII");
    }

    fn with_message(mut history: Vec<BuildResults>, build: usize, test: &str, message: &str) -> Vec<BuildResults> {
        for result in &mut history[build].tests {
            if result.name == test {
                result.message = Some(message.to_owned());
            }
        }
        history
    }

    #[test]
    fn a_job_report_applies_testgrid_rules() {
        let history = history(
            "e2e",
            "PFPPFP",
            &[
                ("flaky", "PFPKFP"),
                ("broken", "FFFFPP"),
                ("infra", "PFPPPP"),
                ("steady", "PPPP.P"),
                ("rerun", "PPKPPP"),
            ],
        );
        let history = with_message(history, 1, "infra", "timeout");
        let report = analyse(&[build("e2e", &history)], None);
        let listed: Vec<(&str, f64, u32, u32)> =
            report.tests.iter().map(|test| (test.test.as_str(), test.flakiness, test.flips, test.considered)).collect();
        assert_eq!(listed, [("flaky", 50.0, 3, 6), ("rerun", 16.67, 1, 6)]);
        let only = crate::grid::tests::history("e2e", "F", &[("failed-once", "F"), ("passed", "P")]);
        let report_of_one = analyse(&[build("e2e", &only)], None);
        assert!(
            report_of_one.tests.is_empty(),
            "a test that failed in its only build is failing, not flaky: {:?}",
            report_of_one.tests
        );
        assert_eq!(report_of_one.jobs[0].average_flakiness, 0.0);
        let infra = report.tests.iter().find(|test| test.test == "infra");
        assert_eq!(infra, None, "its one failure is an infra failure");
        let reruns: Vec<(&str, &str, u32, u32)> = report
            .reruns
            .iter()
            .map(|rerun| (rerun.test.as_str(), rerun.build_id.as_str(), rerun.runs, rerun.passes))
            .collect();
        assert_eq!(reruns, [("flaky", "1003", 2, 1), ("rerun", "1004", 2, 1)]);
        assert_eq!(report.jobs[0].tests, 5);
        assert_eq!(report.jobs[0].builds, 6);
        assert_eq!(report.jobs[0].average_flakiness, 13.33);
    }

    #[test]
    fn failures_in_a_build_where_every_test_failed_are_not_flips() {
        let history = history("e2e", "PFP", &[("a", "PFP"), ("b", "PFP"), ("c", "P.P")]);
        let report = analyse(&[build("e2e", &history)], None);
        assert!(report.tests.is_empty(), "{:?}", report.tests);
        let single = history_of_one();
        let report = analyse(&[build("e2e", &single)], None);
        assert_eq!(report.tests.len(), 1, "with one test, no column is a failing column");
    }

    fn history_of_one() -> Vec<BuildResults> {
        history("e2e", "PFP", &[("a", "PFP")])
    }

    #[test]
    fn the_window_keeps_newer_builds_and_builds_without_a_start() {
        let mut history = history("e2e", "PPFP", &[("a", "PPFP"), ("b", "PPPP")]);
        let cut = history[1].build.started;
        history[3].build.started = None;
        let report = analyse(&[build("e2e", &history)], cut);
        assert_eq!(report.jobs[0].builds, 3);
        assert!(report.tests.is_empty(), "the failure is before the window: {:?}", report.tests);
        assert!(in_window(None, Some(5)));
        assert!(in_window(Some(5), Some(5)));
        assert!(!in_window(Some(4), Some(5)));
        assert!(in_window(Some(4), None));
    }
}
