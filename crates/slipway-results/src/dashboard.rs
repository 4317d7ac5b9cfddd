//! Dashboards: several jobs on one page, as TestGrid's dashboards of tabs.
//!
//! A dashboard comes from `results.dashboards` in slipway.yaml, or from the `testgrid-*`
//! annotations of Prow jobs, read as TestGrid's configurator reads them:
//! `testgrid-dashboards` (a comma-separated list; without it a job is on no dashboard),
//! `testgrid-tab-name` (default: the job's name), `testgrid-num-failures-to-alert` (default 3),
//! `testgrid-alert-email` (shown on the first dashboard only), `testgrid-base-options`
//! (`include-filter-by-regex=...&exclude-filter-by-regex=...`) and `description`.
//!
//! Each tab is summarized as TestGrid's summarizer does: FAILING when a row has an alert, else
//! FLAKY when a recent column (the newest 10 finished builds) holds anything but passes, PASSING
//! when they hold only passes, UNKNOWN without results.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alerts::{self, Alert, Thresholds};
use crate::grid::{Grid, Row};

/// The JSON schema of `slipway results dashboard`.
pub const SCHEMA: &str = "slipway.results.dashboard/v1";

/// How many of the newest finished builds decide a tab's status (TestGrid's
/// `num_columns_recent` as Kubernetes sets it).
pub const RECENT_COLUMNS: usize = 10;

/// `results.dashboards[]` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct DashboardSection {
    pub name: String,
    pub tabs: Vec<TabSection>,
}

/// A tab of a dashboard: one job, with TestGrid's options that matter.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct TabSection {
    /// The tab's name (default: the job's).
    pub name: Option<String>,
    pub job: String,
    pub num_failures_to_alert: Option<u32>,
    pub num_passes_to_disable_alert: Option<u32>,
    /// `include-filter-by-regex=RE&exclude-filter-by-regex=RE`: which test rows the tab shows.
    pub base_options: Option<String>,
    pub alert_email: Option<String>,
    pub description: Option<String>,
}

/// A dashboard, its tabs resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    pub name: String,
    pub tabs: Vec<Tab>,
}

/// A tab, resolved: where it came from and its thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tab {
    pub name: String,
    pub job: String,
    pub thresholds: Thresholds,
    pub include: Option<String>,
    pub exclude: Option<String>,
    pub alert_email: Option<String>,
    pub description: Option<String>,
    /// `slipway.yaml` or `annotations of <job>`.
    pub source: String,
}

/// Why a dashboard's configuration cannot be used: the key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

/// The dashboards of `configured` (slipway.yaml) and of the jobs' `annotations`: a dashboard
/// named in both has the configured tabs first; a tab the configuration already has (same
/// name) is not added again.
pub fn assemble(
    configured: &[DashboardSection],
    annotations: &[(String, BTreeMap<String, String>)],
) -> Result<Vec<Dashboard>, ConfigError> {
    let mut dashboards: Vec<Dashboard> = Vec::new();
    for (index, section) in configured.iter().enumerate() {
        if section.name.trim().is_empty() {
            return Err(ConfigError { key: format!("results.dashboards[{index}].name"), message: "is empty".into() });
        }
        let mut tabs = Vec::new();
        for (tab_index, tab) in section.tabs.iter().enumerate() {
            let key = format!("results.dashboards[{index}].tabs[{tab_index}]");
            tabs.push(resolve(tab, "slipway.yaml".into(), &key)?);
        }
        dashboards.push(Dashboard { name: section.name.clone(), tabs });
    }
    for (job, annotations) in annotations {
        let Some(names) = annotations.get("testgrid-dashboards") else { continue };
        let failures = match annotations.get("testgrid-num-failures-to-alert") {
            Some(text) => Some(text.trim().parse::<u32>().map_err(|_| ConfigError {
                key: format!("the annotation testgrid-num-failures-to-alert of {job}"),
                message: format!("`{text}` is not a whole number"),
            })?),
            None => None,
        };
        let names: Vec<&str> = names.split(',').map(str::trim).filter(|name| !name.is_empty()).collect();
        for (position, dashboard) in names.iter().enumerate() {
            let section = TabSection {
                name: annotations.get("testgrid-tab-name").cloned(),
                job: job.clone(),
                num_failures_to_alert: failures,
                num_passes_to_disable_alert: None,
                base_options: annotations.get("testgrid-base-options").cloned(),
                // TestGrid puts the alert address on the first dashboard only.
                alert_email: if position == 0 { annotations.get("testgrid-alert-email").cloned() } else { None },
                description: annotations.get("description").cloned(),
            };
            let key = format!("the testgrid annotations of {job}");
            let tab = resolve(&section, format!("annotations of {job}"), &key)?;
            match dashboards.iter_mut().find(|existing| existing.name == *dashboard) {
                Some(existing) if existing.tabs.iter().any(|other| other.name == tab.name) => {}
                Some(existing) => existing.tabs.push(tab),
                None => dashboards.push(Dashboard { name: (*dashboard).to_owned(), tabs: vec![tab] }),
            }
        }
    }
    Ok(dashboards)
}

fn resolve(section: &TabSection, source: String, key: &str) -> Result<Tab, ConfigError> {
    if section.job.trim().is_empty() {
        return Err(ConfigError { key: format!("{key}.job"), message: "names no job".into() });
    }
    let passes = section.num_passes_to_disable_alert.unwrap_or(crate::config::DEFAULT_PASSES);
    if passes == 0 {
        return Err(ConfigError {
            key: format!("{key}.num_passes_to_disable_alert"),
            message: "must be at least 1".into(),
        });
    }
    let (include, exclude) = match &section.base_options {
        Some(options) => {
            base_options(options).map_err(|message| ConfigError { key: format!("{key}.base_options"), message })?
        }
        None => (None, None),
    };
    Ok(Tab {
        name: section.name.clone().filter(|name| !name.trim().is_empty()).unwrap_or_else(|| section.job.clone()),
        job: section.job.clone(),
        thresholds: Thresholds {
            failures_to_open: section.num_failures_to_alert.unwrap_or(crate::config::DEFAULT_FAILURES),
            passes_to_close: passes,
        },
        include,
        exclude,
        alert_email: section.alert_email.clone(),
        description: section.description.clone(),
        source,
    })
}

/// TestGrid's base options as far as slipway applies them: the row filters.
fn base_options(options: &str) -> Result<(Option<String>, Option<String>), String> {
    let (mut include, mut exclude) = (None, None);
    for pair in options.trim_start_matches('?').split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value);
        regex::Regex::new(&value).map_err(|error| format!("`{value}` is not a regular expression: {error}"))?;
        match name {
            "include-filter-by-regex" => include = Some(value),
            "exclude-filter-by-regex" => exclude = Some(value),
            // Other options (sorting, grouping) change how TestGrid draws, not what it shows.
            _ => {}
        }
    }
    Ok((include, exclude))
}

/// `%XX` and `+` of a query string decoded.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a tab is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Failing,
    Flaky,
    Passing,
    Unknown,
}

/// A tab with its grid (rows filtered by the base options) and summary.
#[derive(Debug, Clone, Serialize)]
pub struct TabView {
    #[serde(flatten)]
    pub tab: Tab,
    pub status: Status,
    /// Of the recent columns, how many passed.
    pub recent_columns: usize,
    pub recent_passed: usize,
    pub tests: usize,
    pub alerts: Vec<Alert>,
    #[serde(skip)]
    pub grid: Grid,
}

/// The tab's view of `grid` (the job's grid, newest build first).
pub fn view(tab: &Tab, mut grid: Grid) -> TabView {
    let include = tab.include.as_deref().and_then(|pattern| regex::Regex::new(pattern).ok());
    let exclude = tab.exclude.as_deref().and_then(|pattern| regex::Regex::new(pattern).ok());
    grid.rows.retain(|row: &Row| {
        include.as_ref().is_none_or(|pattern| pattern.is_match(&row.name))
            && exclude.as_ref().is_none_or(|pattern| !pattern.is_match(&row.name))
    });
    let report = alerts::find(std::slice::from_ref(&grid), tab.thresholds);
    let recent: Vec<usize> = grid
        .columns
        .iter()
        .enumerate()
        .filter(|(_, column)| column.finished.is_some() || column.passed.is_some())
        .map(|(index, _)| index)
        .take(RECENT_COLUMNS)
        .collect();
    let column_passed = |index: usize| {
        grid.rows.iter().all(|row| {
            row.cells[index].as_ref().is_none_or(|cell| {
                matches!(cell.status, slipway_core::results::Status::Pass | slipway_core::results::Status::Skip)
            })
        }) && grid.overall.cells[index].as_ref().is_none_or(|cell| cell.status != slipway_core::results::Status::Fail)
    };
    let recent_passed = recent.iter().filter(|index| column_passed(**index)).count();
    let status = if !report.alerts.is_empty() {
        Status::Failing
    } else if recent.is_empty() {
        Status::Unknown
    } else if recent_passed < recent.len() {
        Status::Flaky
    } else {
        Status::Passing
    };
    TabView {
        tab: tab.clone(),
        status,
        recent_columns: recent.len(),
        recent_passed,
        tests: grid.rows.len(),
        alerts: report.alerts,
        grid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::build;
    use crate::grid::tests::history;

    fn annotated(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn annotations_make_tabs_as_testgrid_s_configurator_does() {
        let configured = vec![DashboardSection {
            name: "sig-node-cri-o".into(),
            tabs: vec![TabSection { job: "ci-crio-e2e".into(), name: Some("e2e".into()), ..TabSection::default() }],
        }];
        let annotations = vec![
            (
                "ci-node-crio-features".to_owned(),
                annotated(&[
                    ("testgrid-dashboards", "sig-node-cri-o, sig-node-release-blocking"),
                    ("testgrid-alert-email", "sig-node-ci@example.org"),
                    ("testgrid-num-failures-to-alert", "18"),
                    ("testgrid-base-options", "include-filter-by-regex=Feature%3ADRA&exclude-filter-by-regex=Slow"),
                ]),
            ),
            ("no-dashboard".to_owned(), annotated(&[("testgrid-tab-name", "x")])),
        ];
        let dashboards = assemble(&configured, &annotations).expect("valid");
        let names: Vec<(&str, Vec<&str>)> = dashboards
            .iter()
            .map(|dashboard| (dashboard.name.as_str(), dashboard.tabs.iter().map(|tab| tab.name.as_str()).collect()))
            .collect();
        assert_eq!(
            names,
            [
                ("sig-node-cri-o", vec!["e2e", "ci-node-crio-features"]),
                ("sig-node-release-blocking", vec!["ci-node-crio-features"])
            ]
        );
        let features = &dashboards[0].tabs[1];
        assert_eq!(features.thresholds, Thresholds { failures_to_open: 18, passes_to_close: 1 });
        assert_eq!((features.include.as_deref(), features.exclude.as_deref()), (Some("Feature:DRA"), Some("Slow")));
        assert_eq!(features.alert_email.as_deref(), Some("sig-node-ci@example.org"));
        assert_eq!(dashboards[1].tabs[0].alert_email, None, "the alert address goes to the first dashboard only");
        let bad = vec![(
            "j".to_owned(),
            annotated(&[("testgrid-dashboards", "d"), ("testgrid-num-failures-to-alert", "many")]),
        )];
        assert!(
            assemble(&[], &bad).expect_err("not a number").to_string().contains("testgrid-num-failures-to-alert of j")
        );
        let regex = vec![DashboardSection {
            name: "d".into(),
            tabs: vec![TabSection {
                job: "j".into(),
                base_options: Some("include-filter-by-regex=(".into()),
                ..TabSection::default()
            }],
        }];
        assert_eq!(assemble(&regex, &[]).expect_err("bad regex").key, "results.dashboards[0].tabs[0].base_options");
    }

    #[test]
    fn tabs_are_failing_flaky_passing_or_unknown() {
        let tab = |failures: u32| Tab {
            name: "t".into(),
            job: "e2e".into(),
            thresholds: Thresholds { failures_to_open: failures, passes_to_close: 1 },
            include: None,
            exclude: None,
            alert_email: None,
            description: None,
            source: "slipway.yaml".into(),
        };
        let failing = view(&tab(2), build("e2e", &history("e2e", "FFP", &[("a", "FFP"), ("b", "PPP")])));
        assert_eq!((failing.status, failing.alerts.len()), (Status::Failing, 2), "the job and its test");
        let flaky = view(&tab(3), build("e2e", &history("e2e", "PFP", &[("a", "PFP")])));
        assert_eq!((flaky.status, flaky.recent_columns, flaky.recent_passed), (Status::Flaky, 3, 2));
        let passing = view(&tab(3), build("e2e", &history("e2e", "PP", &[("a", "PP")])));
        assert_eq!(passing.status, Status::Passing);
        let mut filtered_tab = tab(3);
        filtered_tab.exclude = Some("^a$".into());
        let filtered = view(&filtered_tab, build("e2e", &history("e2e", "PP", &[("a", "FF"), ("b", "PP")])));
        assert_eq!((filtered.tests, filtered.status), (1, Status::Passing), "the excluded row does not count");
    }
}
