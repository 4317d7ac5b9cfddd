//! `slipway job list`.

use std::io::Write;

use serde::Serialize;
use slipway_core::exit;
use slipway_jobs::job::Run;

use crate::cli::Format;
use crate::cli_jobs::JobListArgs;
use crate::config_file::Globals;
use crate::output;
use crate::settings_jobs::{self, CatalogJob, Origin};

#[derive(Serialize)]
struct Listed {
    name: String,
    /// `slipway.yaml`, or the Prow file and line.
    source: String,
    /// `job` for slipway.yaml, else the Prow type: `periodic`, `presubmit`, `postsubmit`.
    kind: String,
    /// `org/repo` of a Prow presubmit or postsubmit.
    #[serde(skip_serializing_if = "Option::is_none")]
    repo: Option<String>,
    /// `host` or the image.
    runs_on: String,
    command: Vec<String>,
    schedule: Option<String>,
    /// The next scheduled start (RFC 3339), for cron jobs.
    next_run: Option<String>,
    timeout: String,
    matrix: Vec<String>,
    /// Why it cannot run here, for a Prow job that cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    cannot_run: Option<String>,
}

pub(super) fn run(args: JobListArgs, globals: &Globals) -> anyhow::Result<u8> {
    let JobListArgs { prow, format } = args;
    let settings = settings_jobs::list(globals, prow.paths)?;
    super::warn(&settings.warnings);
    let now = jiff::Timestamp::now();
    let mut listed: Vec<Listed> = settings.catalog.jobs.iter().map(|entry| listed(entry, now)).collect();
    listed.extend(settings.catalog.not_runnable.iter().map(|job| Listed {
        name: job.name.clone(),
        source: job.location.to_string(),
        kind: job.job_type.as_str().to_owned(),
        repo: None,
        runs_on: String::new(),
        command: Vec::new(),
        schedule: None,
        next_run: None,
        timeout: String::new(),
        matrix: Vec::new(),
        cannot_run: Some(job.reasons.join("; ")),
    }));
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => {
            output::json_with_schema(
                &mut stdout,
                slipway_jobs::job::LIST_SCHEMA,
                &serde_json::json!({ "jobs": listed }),
            )?;
        }
        Format::Text if listed.is_empty() => {
            writeln!(
                crate::output::stderr(),
                "no jobs: add a `jobs:` section to slipway.yaml, or read Prow jobs with --prow-config (see the README)"
            )?;
        }
        Format::Text => {
            for job in &listed {
                let origin = match job.kind.as_str() {
                    "job" => String::new(),
                    kind => format!(
                        "  [prow {kind}{}, {}]",
                        job.repo.as_ref().map(|repo| format!(" {repo}")).unwrap_or_default(),
                        job.source
                    ),
                };
                if let Some(reason) = &job.cannot_run {
                    writeln!(stdout, "{}  (cannot run here: {reason}){origin}", job.name)?;
                    continue;
                }
                let schedule = job.schedule.as_deref().unwrap_or("on demand");
                let next = job.next_run.as_deref().map(|at| format!(", next {at}")).unwrap_or_default();
                writeln!(stdout, "{}  ({}; {schedule}{next}; timeout {}){origin}", job.name, job.runs_on, job.timeout)?;
                if !job.matrix.is_empty() {
                    writeln!(stdout, "    matrix: {}", job.matrix.join(", "))?;
                }
            }
        }
    }
    Ok(exit::SUCCESS)
}

fn listed(entry: &CatalogJob, now: jiff::Timestamp) -> Listed {
    let job = &entry.job;
    let (runs_on, command) = match &job.run {
        Run::Host { argv } => ("host".to_owned(), argv.clone()),
        Run::Container { image, command, args } => (image.clone(), command.iter().chain(args).cloned().collect()),
    };
    let (source, kind, repo) = match &entry.origin {
        Origin::SlipwayYaml => ("slipway.yaml".to_owned(), "job".to_owned(), None),
        Origin::Prow { job_type, repo, location } => (location.to_string(), job_type.as_str().to_owned(), repo.clone()),
    };
    Listed {
        name: job.name.clone(),
        source,
        kind,
        repo,
        runs_on,
        command,
        schedule: job.schedule.as_ref().map(slipway_jobs::schedule::Schedule::describe),
        next_run: job.schedule.as_ref().and_then(|schedule| schedule.next_cron_after(now)).map(|at| at.to_string()),
        timeout: slipway_jobs::duration::format(job.timeout),
        matrix: job.kubernetes.clone(),
        cannot_run: None,
    }
}
