//! A job's `branches` and `skip_branches`, as Prow's `Brancher` reads them.

use regex::Regex;
use serde_json::Value;

use crate::load::{ProwJob, scalar_text};

/// `branches` and `skip_branches` of a job, compiled as Prow compiles them (one unanchored
/// alternation each).
pub(crate) struct Brancher {
    branches: Vec<String>,
    skip: Vec<String>,
}

impl Brancher {
    pub(crate) fn of(job: &ProwJob) -> Brancher {
        let list = |key: &str| -> Vec<String> {
            job.fields
                .get(key)
                .and_then(Value::as_array)
                .map(|items| items.iter().map(scalar_text).collect())
                .unwrap_or_default()
        };
        Brancher { branches: list("branches"), skip: list("skip_branches") }
    }

    pub(crate) fn all(&self) -> bool {
        self.branches.is_empty() && self.skip.is_empty()
    }

    /// `Brancher.ShouldRun`; a pattern that does not compile matches (Prow would reject it anyway).
    pub(crate) fn should_run(&self, branch: &str) -> bool {
        let matches =
            |patterns: &[String]| Regex::new(&patterns.join("|")).map_or(true, |regex| regex.is_match(branch));
        if self.all() {
            return true;
        }
        if !self.skip.is_empty() && matches(&self.skip) {
            return false;
        }
        self.branches.is_empty() || matches(&self.branches)
    }

    /// `Brancher.Intersects` (pkg/config/jobs.go).
    pub(crate) fn intersects(&self, other: &Brancher) -> bool {
        if self.all() || other.all() {
            return true;
        }
        if !self.branches.is_empty() {
            if !other.branches.is_empty() {
                return self.branches.iter().any(|branch| other.branches.contains(branch));
            }
            return self.branches.iter().any(|branch| other.should_run(branch));
        }
        if other.branches.is_empty() {
            return true;
        }
        other.intersects(self)
    }
}
