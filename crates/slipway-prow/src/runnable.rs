//! A Prow job made ready to run as a slipway job: its presets applied, imported, checked.
//! `job run`, `job list` and `schedule` read Prow config in place through this.

use slipway_job_model::Job;

use crate::load::{JobType, Location, ProwConfig, ProwJob};
use crate::{apply_presets, to_slipway};

/// A Prow job that slipway can run.
#[derive(Debug, Clone)]
pub struct Runnable {
    pub job: Job,
    pub job_type: JobType,
    /// `org/repo` for presubmits and postsubmits.
    pub repo: Option<String>,
    pub location: Location,
    /// What will not be the same as on Prow (secrets, a second container), one sentence each.
    pub notes: Vec<String>,
}

/// A Prow job that slipway cannot run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRunnable {
    pub name: String,
    pub job_type: JobType,
    pub location: Location,
    /// Why, one sentence per problem, each naming the field.
    pub reasons: Vec<String>,
}

impl std::fmt::Display for NotRunnable {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}: Prow {} `{}` cannot run: {}",
            self.location,
            self.job_type.as_str(),
            self.name,
            self.reasons.join("; ")
        )
    }
}

/// Makes `job` of `config` runnable: presets (from any file of `config`) applied, then imported
/// and checked as a slipway job.
pub fn runnable(config: &ProwConfig, job: &ProwJob) -> Result<Runnable, NotRunnable> {
    let not_runnable = |reasons: Vec<String>| NotRunnable {
        name: job.name.clone(),
        job_type: job.job_type,
        location: job.location.clone(),
        reasons,
    };
    let merged = apply_presets(job, &config.presets).map_err(|clash| not_runnable(vec![clash.reason()]))?;
    let import = to_slipway(&merged);
    let resolved = slipway_job_model::resolve(&import.spec, &job.name).map_err(|problems| {
        not_runnable(
            problems
                .iter()
                .map(|problem| {
                    let field = problem.key.strip_prefix(&format!("{}.", job.name)).unwrap_or(&problem.key);
                    format!("`{field}`: {}", problem.message)
                })
                .collect(),
        )
    })?;
    Ok(Runnable {
        job: resolved,
        job_type: job.job_type,
        repo: job.repo.clone(),
        location: job.location.clone(),
        notes: import.notes,
    })
}

/// Every job of `config`, runnable or not, in file order.
pub fn all(config: &ProwConfig) -> Vec<Result<Runnable, NotRunnable>> {
    config.jobs.iter().map(|job| runnable(config, job)).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(yaml: &str) -> ProwConfig {
        let mut config = ProwConfig::default();
        crate::load::read_text(Path::new("jobs.yaml"), yaml, &mut config).expect("valid");
        config
    }

    #[test]
    fn jobs_become_runnable_or_say_why_not() {
        let config = config(
            "presets:\n- labels: {preset-x: \"true\"}\n  env: [{name: X, value: from-preset}]\nperiodics:\n- name: ci-good\n  interval: 2h\n  labels: {preset-x: \"true\"}\n  spec:\n    containers:\n    - image: busybox\n      command: [sh, -c, 'echo $X']\n- name: ci-bad\n  interval: 99999999999999999h\n  spec:\n    containers:\n    - image: busybox\n      command: ['true']\npresubmits:\n  org/repo:\n  - name: pull-nothing\n    always_run: true\n",
        );
        let all = all(&config);
        assert_eq!(all.len(), 3);
        let good = all[0].as_ref().expect("runnable");
        assert_eq!(good.job.env.get("X").map(String::as_str), Some("from-preset"));
        assert!(good.job.schedule.is_some());
        let bad = all[1].as_ref().expect_err("an interval beyond Go's range");
        assert_eq!(bad.location.line, 12);
        assert!(bad.to_string().starts_with("jobs.yaml:12: Prow periodic `ci-bad` cannot run: `interval`"), "{bad}");
        let nothing = all[2].as_ref().expect_err("no command");
        assert_eq!(nothing.job_type, JobType::Presubmit);
        assert!(!nothing.reasons.is_empty());
    }
}
