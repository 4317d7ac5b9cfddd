//! `slipway job run`: one job (each of its matrix entries), or every presubmit a change
//! triggers, now, recorded like CI.

use std::io::Write;
use std::path::PathBuf;

use slipway_core::exit;
use slipway_env::markers::Resolved;
use slipway_jobs::Job;
use slipway_jobs::exec::CancellationToken;
use slipway_jobs::launch::{Observer, Order};
use slipway_jobs::runner::{Overrides, Report, RunError};
use slipway_store::{RunState, Trigger};

use crate::cli::Format;
use crate::cli_jobs::JobRunArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::output;
use crate::settings_jobs::{self, CatalogJob, Origin};

pub(super) fn run(args: JobRunArgs, globals: &Globals) -> anyhow::Result<u8> {
    let JobRunArgs {
        job: name,
        affected,
        base,
        prow,
        follow,
        matrix,
        env,
        volumes,
        refs,
        base_ref,
        pull,
        keep_env,
        state,
        registries,
        format,
    } = args;
    let settings = settings_jobs::run(globals, prow.paths, state, registries)?;
    super::warn(&settings.warnings);
    let mut overrides = Overrides {
        env: env.into_iter().collect(),
        volumes: volumes.into_iter().map(|(name, path)| (name, PathBuf::from(path))).collect(),
        refs: refs.into_iter().collect(),
        base_ref,
        pull,
        keep_environment: keep_env,
    };
    // The runs to make: (job, matrix entry).
    let mut runs: Vec<(&CatalogJob, Option<String>)> = Vec::new();
    if affected {
        let Some((config, _)) = &settings.catalog.prow else {
            return Err(UsageError(
                "--affected needs Prow config: give --prow-config PATH[,PATH] or set `prow.config` in slipway.yaml"
                    .to_owned(),
            )
            .into());
        };
        let found =
            super::job_affected::find(&settings.project, settings.repository.as_deref(), config, base.as_deref())?;
        let triggered: Vec<&str> =
            found.verdicts.iter().filter(|verdict| verdict.triggered).map(|verdict| verdict.name.as_str()).collect();
        let _ = writeln!(
            crate::output::stderr(),
            "{} of {} presubmits of {} are triggered by {} changed paths against {}: {}",
            triggered.len(),
            found.verdicts.len(),
            found.repository,
            found.paths.len(),
            found.base_name,
            if triggered.is_empty() { "nothing to run".to_owned() } else { triggered.join(", ") }
        );
        // Each runs on the working tree as it is, against the base branch.
        overrides.refs.entry(found.repository.clone()).or_insert_with(|| settings.project.display().to_string());
        overrides.base_ref.get_or_insert_with(|| found.branch.clone());
        for name in triggered {
            let entry = settings.catalog.find(name)?;
            runs.extend(select_entries(&entry.job, &matrix)?.into_iter().map(|matrix_entry| (entry, matrix_entry)));
        }
    } else {
        let name = name.unwrap_or_default();
        let entry = settings.catalog.find(&name)?;
        runs.extend(select_entries(&entry.job, &matrix)?.into_iter().map(|matrix_entry| (entry, matrix_entry)));
    }
    // What a Prow job cannot have here, said once per job (volumes are said by the run, with
    // the flag that provides them).
    let mut told: Vec<&str> = Vec::new();
    for (entry, _) in &runs {
        if matches!(entry.origin, Origin::Prow { .. }) && !told.contains(&entry.job.name.as_str()) {
            told.push(&entry.job.name);
            let unavailable: Vec<String> = entry
                .job
                .volumes
                .iter()
                .filter(|volume| volume.unavailable.is_some())
                .map(|volume| format!("volume {} ", volume.name))
                .collect();
            let notes: Vec<&String> = entry
                .notes
                .iter()
                .filter(|note| !unavailable.iter().any(|prefix| note.starts_with(prefix.as_str())))
                .collect();
            super::warn(&notes);
        }
    }

    let outcome = super::runtime()?.block_on(async {
        let setup = settings.setup().await?;
        for lost in setup.reap_lost().await? {
            let _ = writeln!(crate::output::stderr(), "note: {}", lost.sentence());
        }
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
        let mut reports = Vec::new();
        let mut failure = None;
        for (entry, matrix_entry) in &runs {
            if cancel.is_cancelled() {
                break;
            }
            if !follow {
                let name = slipway_jobs::runner::layout_name(&entry.job.name, matrix_entry.as_deref());
                let _ = writeln!(
                    crate::output::stderr(),
                    "running {name}; follow it with `slipway runs logs {name} --follow`"
                );
            }
            let order = Order {
                job: &entry.job,
                entry: matrix_entry.clone(),
                trigger: Trigger::Manual,
                due_at: None,
                overrides: overrides.clone(),
                follow,
                observer: Some(&Told),
            };
            match setup.launch(order, cancel.clone()).await {
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
        setup.context.store.close().await;
        anyhow::Ok((reports, failure, cancel.is_cancelled()))
    })?;
    let (reports, failure, interrupted) = outcome;
    let mut stdout = crate::output::stdout();
    let runs: Vec<&slipway_store::Run> = reports.iter().map(|report| &report.run).collect();
    match format {
        Format::Json => {
            output::json_with_schema(&mut stdout, slipway_jobs::launch::SCHEMA, &serde_json::json!({ "runs": runs }))?;
        }
        Format::Text => {
            for run in &runs {
                // A run that ended in an error says why in the error that follows, once.
                let said_below = failure.is_some() && run.state == RunState::Error;
                writeln!(stdout, "{}", super::runs::line_with(run, !said_below))?;
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

/// Says on stderr what happens before a run's command starts.
struct Told;

impl Observer for Told {
    fn resolved(&self, job: &Job, resolved: &Resolved) {
        let _ = writeln!(
            crate::output::stderr(),
            "{}: {} is {} ({})",
            job.name,
            resolved.entry,
            resolved.version,
            resolved.source
        );
    }

    fn waiting(&self, job: &Job, going: usize) {
        let _ = writeln!(
            crate::output::stderr(),
            "waiting: {going} run(s) of {} are going (max_concurrency {})",
            job.name,
            job.max_concurrency
        );
    }

    fn waiting_for_lease(&self, job: &Job, kind: &str) {
        let _ = writeln!(crate::output::stderr(), "waiting: {} needs a {kind} lease and none is free yet", job.name);
    }

    fn environment(&self, job: &Job, what: &str) {
        let _ = writeln!(crate::output::stderr(), "{}: {what}", job.name);
    }
}

fn print_notes(report: &Report) {
    let mut stderr = crate::output::stderr();
    for note in &report.notes {
        let _ = writeln!(stderr, "note: {}/{}: {note}", report.run.job, report.run.build_id);
    }
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
