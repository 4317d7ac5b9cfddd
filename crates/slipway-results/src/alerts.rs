//! Alerts: a test, or a job through its `Overall` row, that has failed in N builds in a row, as
//! TestGrid's updater decides it (`alertRow`).
//!
//! [`alert_row`] walks one row from the newest build to the oldest, skipping builds without a
//! result for it. Pass and skip cells count as passes (TestGrid coalesces PASS_WITH_SKIPS to
//! PASS). A failure adds to the run of consecutive failures and to the total; the newest one
//! is the outage's latest failure and gives the message, the oldest one seen is its first
//! failure. A pass while fewer than N failures are counted ends the walk with no alert once M
//! passes are seen, else resets the run; a pass after N failures is the last pass before the
//! outage, and M of them end the walk. A flaky cell resets the run, or ends the walk when N
//! failures are already counted (which build broke it cannot be told). The row alerts when the
//! run reached N. N = 0 turns alerts off.

use std::fmt::Write as _;

use crate::grid::{Cell, Column, Grid, Outcome, Row};
use serde::Serialize;

/// The JSON schema of `slipway results alerts --format json` (and of the webhook message).
pub const SCHEMA: &str = "slipway.results.alerts/v1";

/// When a row alerts, and when its alert clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    /// Consecutive failing builds that open an alert (TestGrid's `num_failures_to_alert`); 0
    /// turns alerts off.
    pub failures_to_open: u32,
    /// Passing builds that close it (TestGrid's `num_passes_to_disable_alert`).
    pub passes_to_close: u32,
}

impl Default for Thresholds {
    /// Kubernetes' TestGrid defaults: 3 failures open, 1 pass closes.
    fn default() -> Thresholds {
        Thresholds { failures_to_open: 3, passes_to_close: 1 }
    }
}

/// What [`alert_row`] found in one row: indexes are columns of the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowAlert {
    /// Every failure seen in the walk (TestGrid's `fail_count`).
    pub fail_count: u32,
    /// The oldest failing build of the outage.
    pub first_failure: usize,
    /// The newest failing build.
    pub latest_failure: usize,
    /// The pass just before the outage, when the builds looked at reach back that far.
    pub last_pass: Option<usize>,
}

/// A build, as alerts name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildRef {
    pub build_id: String,
    pub started: Option<i64>,
}

/// An open alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub job: String,
    /// The failing test; `None` when the job itself fails (its `Overall` row).
    pub test: Option<String>,
    pub fail_count: u32,
    pub first_failure: BuildRef,
    pub latest_failure: BuildRef,
    pub last_pass: Option<BuildRef>,
    /// The latest failure's message.
    pub message: Option<String>,
}

/// The alerts of some jobs.
///
/// JSON (`slipway.results.alerts/v1`): `failures_to_open`, `passes_to_close`, `jobs` (the jobs
/// looked at), `alerts` (sorted by job; the job's own alert first, then tests by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub failures_to_open: u32,
    pub passes_to_close: u32,
    pub jobs: Vec<String>,
    pub alerts: Vec<Alert>,
}

/// Whether `cells` (one row, newest first) alerts under `thresholds`; see the module docs.
pub fn alert_row(cells: &[Option<Cell>], thresholds: Thresholds) -> Option<RowAlert> {
    let Thresholds { failures_to_open, passes_to_close } = thresholds;
    if failures_to_open == 0 {
        return None;
    }
    let mut consecutive = 0;
    let mut total = 0;
    let mut passes = 0;
    let mut first_failure = None;
    let mut latest_failure = None;
    let mut last_pass = None;
    for (index, cell) in cells.iter().enumerate() {
        match cell.as_ref().map(Cell::outcome) {
            None => {}
            Some(Outcome::Pass) => {
                passes += 1;
                if consecutive >= failures_to_open {
                    last_pass.get_or_insert(index);
                    if passes >= passes_to_close {
                        break;
                    }
                } else if passes >= passes_to_close {
                    return None;
                } else {
                    consecutive = 0;
                }
            }
            Some(Outcome::Fail) => {
                passes = 0;
                last_pass = None;
                consecutive += 1;
                total += 1;
                latest_failure.get_or_insert(index);
                first_failure = Some(index);
            }
            Some(Outcome::Flaky) => {
                passes = 0;
                if consecutive >= failures_to_open {
                    break;
                }
                consecutive = 0;
            }
        }
    }
    if consecutive < failures_to_open {
        return None;
    }
    Some(RowAlert {
        fail_count: total,
        first_failure: first_failure.expect("a run of failures has a first failure"),
        latest_failure: latest_failure.expect("a run of failures has a latest failure"),
        last_pass,
    })
}

/// The open alerts of `grids`: each job's `Overall` row and each test row.
pub fn find(grids: &[Grid], thresholds: Thresholds) -> Report {
    let mut alerts = Vec::new();
    for grid in grids {
        for (row, test) in std::iter::once((&grid.overall, None)).chain(grid.rows.iter().map(|row| (row, Some(row)))) {
            if let Some(found) = alert_row(&row.cells, thresholds) {
                alerts.push(alert(grid, row, test.map(|row| row.name.clone()), &found));
            }
        }
    }
    alerts.sort_by(|a, b| (&a.job, &a.test).cmp(&(&b.job, &b.test)));
    Report {
        failures_to_open: thresholds.failures_to_open,
        passes_to_close: thresholds.passes_to_close,
        jobs: grids.iter().map(|grid| grid.job.clone()).collect(),
        alerts,
    }
}

fn alert(grid: &Grid, row: &Row, test: Option<String>, found: &RowAlert) -> Alert {
    let reference = |index: usize| {
        let Column { build_id, started, .. } = &grid.columns[index];
        BuildRef { build_id: build_id.clone(), started: *started }
    };
    Alert {
        job: grid.job.clone(),
        test,
        fail_count: found.fail_count,
        first_failure: reference(found.first_failure),
        latest_failure: reference(found.latest_failure),
        last_pass: found.last_pass.map(reference),
        message: row.cells[found.latest_failure].as_ref().and_then(|cell| cell.message.clone()),
    }
}

/// The text report: one paragraph per alert, then a summary line.
///
/// ```text
/// ALERT node-e2e (the job)
///   3 failed builds since 1004 (2026-11-23 10:13Z), latest 1006 (2026-11-25 10:13Z); last pass 1003 (…)
///   2 tests failed
/// ```
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for alert in &report.alerts {
        let job = crate::printable(&alert.job);
        let _ = match &alert.test {
            Some(test) => writeln!(out, "ALERT {job} {}", crate::printable(test)),
            None => writeln!(out, "ALERT {job} (the job)"),
        };
        let builds = if alert.fail_count == 1 { "build" } else { "builds" };
        let last_pass = alert.last_pass.as_ref().map_or_else(
            || "no pass in the builds looked at".to_owned(),
            |pass| format!("last pass {}", describe(pass)),
        );
        let _ = writeln!(
            out,
            "  {} failed {builds} since {}, latest {}; {last_pass}",
            alert.fail_count,
            describe(&alert.first_failure),
            describe(&alert.latest_failure)
        );
        if let Some(message) = alert.message.as_deref().filter(|message| !message.trim().is_empty()) {
            let _ = writeln!(out, "  {}", crate::first_line(message, 200));
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

fn describe(build: &BuildRef) -> String {
    match build.started {
        Some(started) => format!("{} ({})", build.build_id, crate::minute(started)),
        None => build.build_id.clone(),
    }
}

/// `2 alerts open in 1 of 3 jobs (...)`: the last line of [`text`] and the start of the
/// webhook's `text`. Jobs are counted once however many alerts they have.
pub fn summary(report: &Report) -> String {
    let open = match report.alerts.len() {
        0 => "no alerts open".to_owned(),
        1 => "1 alert open".to_owned(),
        count => format!("{count} alerts open"),
    };
    let alerting: std::collections::BTreeSet<&str> = report.alerts.iter().map(|alert| alert.job.as_str()).collect();
    let checked = report.jobs.len();
    let jobs = |count: usize| if count == 1 { "1 job".to_owned() } else { format!("{count} jobs") };
    let scope = if alerting.is_empty() || alerting.len() == checked {
        jobs(checked)
    } else {
        format!("{} of {}", alerting.len(), jobs(checked))
    };
    format!(
        "{open} in {scope} (an alert opens after {} failing builds in a row and clears after {} passing)",
        report.failures_to_open, report.passes_to_close
    )
}

/// The message `--webhook` POSTs: the JSON report with a `text` field first, which chat
/// services that take Slack's incoming-webhook format (Slack, Mattermost, Rocket.Chat) show.
///
/// `{"text": "...", "schema": "slipway.results.alerts/v1", "failures_to_open": 3,
/// "passes_to_close": 1, "jobs": [...], "alerts": [...]}`; `text` is the summary and then one
/// line per alert: `• JOB TEST: N failed builds since BUILD (latest BUILD): message`.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookMessage<'a> {
    pub text: String,
    pub schema: &'static str,
    #[serde(flatten)]
    pub report: &'a Report,
}

/// The [`WebhookMessage`] of `report`.
pub fn webhook_message(report: &Report) -> WebhookMessage<'_> {
    let mut text = summary(report);
    for alert in &report.alerts {
        let subject = match &alert.test {
            Some(test) => format!("{} {}", alert.job, crate::first_line(test, 200)),
            None => format!("{} (the job)", alert.job),
        };
        let _ = write!(
            text,
            "\n• {subject}: {} failed builds since {} (latest {})",
            alert.fail_count, alert.first_failure.build_id, alert.latest_failure.build_id
        );
        if let Some(message) = alert.message.as_deref().filter(|message| !message.trim().is_empty()) {
            let _ = write!(text, ": {}", crate::first_line(message, 200));
        }
    }
    WebhookMessage { text, schema: SCHEMA, report }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::tests::history;

    /// A row from status letters, newest first: `P` pass, `F` fail, `K` flaky, `S` skip, `.`
    /// no result.
    fn row(letters: &str) -> Vec<Option<Cell>> {
        let grid = crate::grid::build("job", &history("job", &".".repeat(letters.len()), &[("t", letters)]));
        grid.rows.into_iter().next().map(|row| row.cells).unwrap_or_default()
    }

    fn alert_of(letters: &str, failures_to_open: u32, passes_to_close: u32) -> Option<RowAlert> {
        alert_row(&row(letters), Thresholds { failures_to_open, passes_to_close })
    }

    fn open(
        fail_count: u32,
        first_failure: usize,
        latest_failure: usize,
        last_pass: Option<usize>,
    ) -> Option<RowAlert> {
        Some(RowAlert { fail_count, first_failure, latest_failure, last_pass })
    }

    #[test]
    fn n_failures_then_a_pass_alerts_with_the_outage_bounds() {
        assert_eq!(alert_of("FFFP", 3, 1), open(3, 2, 0, Some(3)));
        assert_eq!(alert_of("FFFFPFF", 3, 1), open(4, 3, 0, Some(4)));
    }

    #[test]
    fn fewer_failures_than_the_threshold_do_not_alert() {
        assert_eq!(alert_of("FFP", 3, 1), None);
        assert_eq!(alert_of("FF", 3, 1), None);
        assert_eq!(alert_of("PFFF", 3, 1), None, "a newer pass closes it");
    }

    #[test]
    fn an_outage_reaching_past_the_oldest_build_has_no_last_pass() {
        assert_eq!(alert_of("FFF", 3, 1), open(3, 2, 0, None));
    }

    #[test]
    fn no_result_cells_are_ignored() {
        assert_eq!(alert_of("F..F.F.P", 3, 1), open(3, 5, 0, Some(7)));
        assert_eq!(alert_of("..FF.P", 3, 1), None);
    }

    #[test]
    fn skips_count_as_passes_as_in_testgrid() {
        assert_eq!(alert_of("SFFF", 3, 1), None);
        assert_eq!(alert_of("FFFS", 3, 1), open(3, 2, 0, Some(3)));
    }

    #[test]
    fn a_flaky_cell_resets_the_run_or_ends_an_outage() {
        // Before enough failures, a flaky cell only restarts the run: the older failures can
        // still reach the threshold, and TestGrid then reports every failure it walked over,
        // the newest one as the latest.
        assert_eq!(alert_of("FFKFFF", 3, 1), open(5, 5, 0, None));
        assert_eq!(alert_of("FFKFF", 3, 1), None);
        assert_eq!(alert_of("FFFKF", 3, 1), open(3, 2, 0, None), "after enough failures: the walk ends there");
    }

    /// TestGrid's own cases (`pkg/updater/updater_test.go`, `TestAlertRow`), as letters.
    #[test]
    fn testgrid_cases() {
        assert_eq!(alert_of("FFFFFF", 0, 0), None, "never alert by default");
        assert_eq!(alert_of("PPPPPP", 1, 3), None, "passes do not alert");
        assert_eq!(alert_of("KKKKKK", 1, 0), None, "flakes do not alert");
        assert_eq!(alert_of("FFPFF", 3, 0), None, "intermittent failures do not alert");
        assert_eq!(alert_of("FFFPPP", 3, 0), open(3, 2, 0, Some(3)), "new failures alert");
        assert_eq!(alert_of("PPFFFF", 1, 3), open(4, 5, 2, None), "too few passes do not close");
        assert_eq!(alert_of("KKFFFF", 1, 0), open(4, 5, 2, None), "flakes do not close");
        assert_eq!(alert_of("FKFPFF", 2, 2), open(4, 5, 0, None), "failures after insufficient passes");
        assert_eq!(alert_of("PFFFFF", 1, 0), None, "close alert");
        assert_eq!(alert_of("F.FFFF", 5, 2), open(5, 5, 0, None), "track through empty results");
        assert_eq!(alert_of("P.PFFF", 1, 2), None, "track passes through empty results");
        assert_eq!(alert_of("PFPFFP", 2, 2), open(3, 4, 1, Some(5)), "complex");
        assert_eq!(alert_of("PFPFFPF", 2, 2), open(4, 6, 1, None), "complex, then an older failure");
        assert_eq!(alert_of("PFPFPPP", 2, 3), None, "alert consecutive failures only");
    }

    #[test]
    fn more_passes_to_close_look_through_a_single_pass() {
        // Newest first: F P F F F P P. With 2 passes to close, the single pass resets the run
        // (it was 1), the next three failures reach the threshold, and two passes end it.
        assert_eq!(alert_of("FPFFFPP", 3, 2), open(4, 4, 0, Some(5)));
        // Once alerting, a lone pass does not end the outage: the failure after it clears the
        // remembered pass and the run goes on.
        assert_eq!(alert_of("FFFPFP", 3, 2), open(4, 4, 0, Some(5)));
        assert_eq!(alert_of("FPP", 1, 2), open(1, 0, 0, Some(1)));
        assert_eq!(alert_of("PFFF", 3, 2), open(3, 3, 1, None), "one pass is not enough to close");
    }

    #[test]
    fn a_threshold_of_zero_disables_alerts() {
        assert_eq!(alert_of("FFFFFF", 0, 1), None);
    }

    #[test]
    fn zero_passes_to_close_ends_at_the_first_pass() {
        assert_eq!(alert_of("FFFP", 3, 0), open(3, 2, 0, Some(3)));
        assert_eq!(alert_of("FFPFFF", 3, 0), None);
    }

    #[test]
    fn jobs_alert_through_their_overall_row_and_tests_through_theirs() {
        let grid = crate::grid::build(
            "node-e2e",
            &history("node-e2e", "FFFP", &[("b", "FFFP"), ("a", "FFPP"), ("c", "KFFF")]),
        );
        let report = find(&[grid], Thresholds::default());
        let subjects: Vec<(Option<&str>, u32, &str)> = report
            .alerts
            .iter()
            .map(|alert| (alert.test.as_deref(), alert.fail_count, alert.first_failure.build_id.as_str()))
            .collect();
        assert_eq!(subjects, [(None, 3, "1002"), (Some("b"), 3, "1002"), (Some("c"), 3, "1001")]);
        assert_eq!(report.alerts[0].message.as_deref(), Some("2 tests failed"));
        assert_eq!(report.alerts[1].message.as_deref(), Some("b failed in build 1004"));
        assert_eq!(report.alerts[1].last_pass.as_ref().map(|pass| pass.build_id.as_str()), Some("1001"));
    }

    #[test]
    fn the_webhook_message_has_slack_text_and_the_report() {
        let grid = crate::grid::build("node-e2e", &history("node-e2e", "PPPP", &[("b", "FFFP")]));
        let report = find(&[grid], Thresholds::default());
        let message = serde_json::to_value(webhook_message(&report)).expect("serializes");
        assert_eq!(
            message["text"],
            "1 alert open in 1 job (an alert opens after 3 failing builds in a row and clears after 1 passing)\n\
             • node-e2e b: 3 failed builds since 1002 (latest 1004): b failed in build 1004"
        );
        assert_eq!(message["schema"], SCHEMA);
        assert_eq!(message["alerts"][0]["test"], "b");
        assert_eq!(message["alerts"][0]["last_pass"]["build_id"], "1001");
    }
}
