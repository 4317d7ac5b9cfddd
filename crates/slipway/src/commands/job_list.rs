//! `slipway job list`.

use std::io::Write;

use serde::Serialize;
use slipway_core::exit;
use slipway_jobs::job::Run;

use crate::cli::Format;
use crate::cli_jobs::JobListArgs;
use crate::config_file::Globals;
use crate::{config_file, output, settings_jobs};

/// The JSON schema of `job list`.
const SCHEMA: &str = "slipway.job.list/v1";

#[derive(Serialize)]
struct Listed {
    name: String,
    /// `host` or the image.
    runs_on: String,
    command: Vec<String>,
    schedule: Option<String>,
    /// The next scheduled start (RFC 3339), for cron jobs.
    next_run: Option<String>,
    timeout: String,
    matrix: Vec<String>,
}

pub(super) fn run(args: JobListArgs, globals: &Globals) -> anyhow::Result<u8> {
    let JobListArgs { format } = args;
    let loaded = config_file::load(globals)?;
    super::warn(&loaded.warnings);
    let jobs = settings_jobs::jobs(&loaded)?;
    let now = jiff::Timestamp::now();
    let listed: Vec<Listed> = jobs
        .iter()
        .map(|job| {
            let (runs_on, command) = match &job.run {
                Run::Host { argv } => ("host".to_owned(), argv.clone()),
                Run::Container { image, command, args } => {
                    (image.clone(), command.iter().chain(args).cloned().collect())
                }
            };
            Listed {
                name: job.name.clone(),
                runs_on,
                command,
                schedule: job.schedule.as_ref().map(slipway_jobs::schedule::Schedule::describe),
                next_run: job
                    .schedule
                    .as_ref()
                    .and_then(|schedule| schedule.next_cron_after(now))
                    .map(|at| at.to_string()),
                timeout: slipway_jobs::duration::format(job.timeout),
                matrix: job.kubernetes.clone(),
            }
        })
        .collect();
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, SCHEMA, &serde_json::json!({ "jobs": listed }))?,
        Format::Text if listed.is_empty() => {
            writeln!(crate::output::stderr(), "no jobs: add a `jobs:` section to slipway.yaml (see the README)")?;
        }
        Format::Text => {
            for job in &listed {
                let schedule = job.schedule.as_deref().unwrap_or("on demand");
                let next = job.next_run.as_deref().map(|at| format!(", next {at}")).unwrap_or_default();
                writeln!(stdout, "{}  ({}; {schedule}{next}; timeout {})", job.name, job.runs_on, job.timeout)?;
                if !job.matrix.is_empty() {
                    writeln!(stdout, "    matrix: {}", job.matrix.join(", "))?;
                }
            }
        }
    }
    Ok(exit::SUCCESS)
}
