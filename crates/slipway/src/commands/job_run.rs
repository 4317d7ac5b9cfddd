//! `slipway job run`: one job (each of its matrix entries) now, recorded like CI.

use std::io::Write;
use std::path::PathBuf;

use slipway_core::exit;
use slipway_jobs::Job;
use slipway_jobs::exec::{self, CancellationToken};
use slipway_jobs::markers::Resolved;
use slipway_jobs::runner::{self, Context, Overrides, Report, Request, RunError};
use slipway_store::{RunState, Store, Trigger};

use crate::cli::Format;
use crate::cli_jobs::JobRunArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::{config_file, output, settings_jobs};

/// The JSON schema of `job run`.
const SCHEMA: &str = "slipway.job.run/v1";

pub(super) fn run(args: JobRunArgs, globals: &Globals) -> anyhow::Result<u8> {
    let JobRunArgs { job: name, prow_config, follow, matrix, env, volumes, refs, base_ref, pull, state, format } = args;
    let loaded = config_file::load(globals)?;
    super::warn(&loaded.warnings);
    let (job, notes) = if prow_config.is_empty() {
        (slipway_job(&loaded, &name)?, Vec::new())
    } else {
        prow_job(&prow_config, &name)?
    };
    super::warn(&notes);
    let entries = select_entries(&job, &matrix)?;
    let overrides = Overrides {
        env: env.into_iter().collect(),
        volumes: volumes.into_iter().map(|(name, path)| (name, PathBuf::from(path))).collect(),
        refs: refs.into_iter().collect(),
        base_ref,
        pull,
    };
    let runtime = super::runtime()?;
    let outcome = runtime.block_on(async {
        let store = Store::open(&settings_jobs::database_url(&loaded, state.database.database_url.clone())).await?;
        let storage =
            slipway_artifacts::Storage::open(&settings_jobs::storage_url(&loaded, state.storage.storage.clone()))?;
        let context = Context { store, storage, host: settings_jobs::host() };
        for lost in runner::reap_lost(&context).await? {
            let _ = writeln!(
                crate::output::stderr(),
                "note: {}/{} was left running by a slipway that is gone; recorded as an error",
                lost.job,
                lost.build_id
            );
        }
        let executor = exec::for_run(&job.run)?;
        let cancel = CancellationToken::new();
        let interrupt = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ =
                        writeln!(crate::output::stderr(), "interrupted: stopping the job (it is recorded as aborted)");
                    cancel.cancel();
                }
            })
        };
        let client = reqwest::Client::new();
        let markers = settings_jobs::markers(&loaded);
        let mut reports = Vec::new();
        let mut failure = None;
        for entry in entries {
            if cancel.is_cancelled() {
                break;
            }
            let resolved = match &entry {
                None => None,
                Some(entry) => {
                    let resolved = markers.resolve(&client, entry).await?;
                    if resolved.source != "given" {
                        let _ = writeln!(
                            crate::output::stderr(),
                            "{}: {entry} is {} ({})",
                            job.name,
                            resolved.version,
                            resolved.source
                        );
                    }
                    Some(resolved)
                }
            };
            if !follow {
                let name = runner::layout_name(&job.name, entry.as_deref());
                let _ = writeln!(
                    crate::output::stderr(),
                    "running {name}; follow it with `slipway runs logs {name} --follow`"
                );
            }
            let waiting = |going: usize| {
                let _ = writeln!(
                    crate::output::stderr(),
                    "waiting: {going} run(s) of {} are going (max_concurrency {})",
                    job.name,
                    job.max_concurrency
                );
            };
            let mut request = request(&loaded, &job, resolved, overrides.clone(), follow);
            request.on_wait = Some(&waiting);
            match runner::execute(&context, request, executor.as_ref(), cancel.clone()).await {
                Ok(report) => {
                    print_notes(&report);
                    reports.push(report);
                }
                Err(RunError::Exec { report, source }) => {
                    print_notes(&report);
                    reports.push((*report).clone());
                    failure = Some(RunError::Exec { report, source });
                    break;
                }
                Err(RunError::Interrupted { .. }) => break,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        interrupt.abort();
        context.store.close().await;
        anyhow::Ok((reports, failure, cancel.is_cancelled()))
    })?;
    let (reports, failure, interrupted) = outcome;
    let mut stdout = crate::output::stdout();
    let runs: Vec<&slipway_store::Run> = reports.iter().map(|report| &report.run).collect();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, SCHEMA, &serde_json::json!({ "runs": runs }))?,
        Format::Text => {
            for run in &runs {
                writeln!(stdout, "{}", super::runs::line(run))?;
                writeln!(stdout, "  artifacts: {}", run.artifacts)?;
            }
        }
    }
    if let Some(error) = failure {
        return Err(error.into());
    }
    if interrupted || runs.iter().any(|run| run.state == RunState::Aborted) {
        return Ok(exit::INTERRUPTED);
    }
    Ok(if runs.iter().all(|run| run.state == RunState::Success) { exit::SUCCESS } else { exit::CHECK_FAILED })
}

fn request<'a>(
    loaded: &config_file::Loaded,
    job: &'a Job,
    entry: Option<Resolved>,
    overrides: Overrides,
    follow: bool,
) -> Request<'a> {
    Request {
        job,
        entry,
        trigger: Trigger::Manual,
        due_at: None,
        project: settings_jobs::project(loaded),
        runs_dir: settings_jobs::runs_dir(loaded),
        overrides,
        follow,
        on_wait: None,
    }
}

fn print_notes(report: &Report) {
    let mut stderr = crate::output::stderr();
    for note in &report.notes {
        let _ = writeln!(stderr, "note: {}/{}: {note}", report.run.job, report.run.build_id);
    }
}

/// A job of slipway.yaml by name.
fn slipway_job(loaded: &config_file::Loaded, name: &str) -> anyhow::Result<Job> {
    let jobs = settings_jobs::jobs(loaded)?;
    let names: Vec<&str> = jobs.iter().map(|job| job.name.as_str()).collect();
    match jobs.iter().find(|job| job.name == name) {
        Some(job) => Ok(job.clone()),
        None if names.is_empty() => Err(UsageError(format!(
            "no job named `{name}`: slipway.yaml has no jobs (add a `jobs:` section, or read Prow jobs with --prow-config)"
        ))
        .into()),
        None => Err(UsageError(format!("no job named `{name}` in slipway.yaml; its jobs are {}", names.join(", "))).into()),
    }
}

/// A job of Prow job config by name, with presets applied, and what a local run cannot provide.
fn prow_job(paths: &[PathBuf], name: &str) -> anyhow::Result<(Job, Vec<String>)> {
    let config = slipway_prow::load(paths)?;
    super::warn(&super::job_prow::duplicate_key_warnings(&config));
    let matching: Vec<_> = config.jobs.iter().filter(|job| job.name == name).collect();
    let prow = match matching.as_slice() {
        [] => {
            return Err(UsageError(format!(
                "no Prow job named `{name}` in {} (it has {} jobs)",
                paths.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "),
                config.jobs.len()
            ))
            .into());
        }
        [job] => *job,
        several => {
            let places: Vec<String> = several
                .iter()
                .map(|job| {
                    format!("a {} at {}:{}", job.job_type.as_str(), job.location.file.display(), job.location.line)
                })
                .collect();
            return Err(UsageError(format!("several Prow jobs are named `{name}`: {}", places.join("; "))).into());
        }
    };
    let merged = slipway_prow::apply_presets(prow, &config.presets)?;
    let import = slipway_prow::to_slipway(&merged);
    // The run itself reports volumes it cannot provide (and knows about --volume).
    let unavailable: Vec<String> = import
        .spec
        .volumes
        .iter()
        .filter(|volume| volume.unavailable.is_some())
        .map(|volume| format!("volume {} ", volume.name))
        .collect();
    let notes: Vec<String> = import
        .notes
        .iter()
        .filter(|note| !unavailable.iter().any(|prefix| note.starts_with(prefix.as_str())))
        .cloned()
        .collect();
    let job = slipway_jobs::resolve(&import.spec, name).map_err(|problems| {
        let reasons: Vec<String> = problems
            .iter()
            .map(|problem| {
                let field = problem.key.strip_prefix(&format!("{name}.")).unwrap_or(&problem.key);
                format!("`{field}`: {}", problem.message)
            })
            .collect();
        UsageError(format!("Prow job `{name}` cannot run: {}", reasons.join("; ")))
    })?;
    Ok((job, notes))
}

/// The matrix entries to run: all, or those named by --matrix.
fn select_entries(job: &Job, selected: &[String]) -> anyhow::Result<Vec<Option<String>>> {
    if job.kubernetes.is_empty() {
        if !selected.is_empty() {
            return Err(UsageError(format!("job `{}` has no matrix; drop --matrix", job.name)).into());
        }
        return Ok(vec![None]);
    }
    if let Some(unknown) = selected.iter().find(|entry| !job.kubernetes.contains(entry)) {
        return Err(UsageError(format!(
            "job `{}` has no matrix entry `{unknown}`; its entries are {}",
            job.name,
            job.kubernetes.join(", ")
        ))
        .into());
    }
    Ok(job
        .kubernetes
        .iter()
        .filter(|entry| selected.is_empty() || selected.contains(entry))
        .cloned()
        .map(Some)
        .collect())
}
