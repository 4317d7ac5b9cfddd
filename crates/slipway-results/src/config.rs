//! The `results:` section of slipway.yaml: what the views default to when no flag says.
//!
//! ```yaml
//! results:
//!   alerts:
//!     failures: 3        # failing builds in a row that open an alert (TestGrid's num_failures_to_alert)
//!     passes: 1          # passing builds that close it (num_passes_to_disable_alert)
//!     builds: 100        # builds of each job to look at
//!     webhook: https://hooks.slack.com/services/...
//! ```

use serde::{Deserialize, Serialize};

/// The section as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ResultsSection {
    pub alerts: AlertsSection,
    /// Dashboards: tabs of jobs on one page (more come from Prow jobs' `testgrid-dashboards`).
    pub dashboards: Vec<crate::dashboard::DashboardSection>,
}

/// `results.alerts`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AlertsSection {
    /// Failing builds in a row that open an alert (0: no alerts); default 3.
    pub failures: Option<u32>,
    /// Passing builds that close an alert; default 1.
    pub passes: Option<u32>,
    /// Builds of each job to look at, newest first (0: all); default 100.
    pub builds: Option<u32>,
    /// Where open alerts are POSTed.
    pub webhook: Option<String>,
}

/// The defaults, as TestGrid's.
pub const DEFAULT_FAILURES: u32 = 3;
pub const DEFAULT_PASSES: u32 = 1;
pub const DEFAULT_BUILDS: u32 = 100;

impl AlertsSection {
    /// Checks the values; the key that is wrong and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.passes == Some(0) {
            return Err(("results.alerts.passes", "must be at least 1: an alert closes after a passing build".into()));
        }
        Ok(())
    }
}
