//! `slipway runs list|show|logs`.

use std::io::{Read, Write};
use std::time::Duration;

use slipway_core::exit;
use slipway_store::runs::Filter;
use slipway_store::{Run, RunState, Store};

use crate::cli::Format;
use crate::cli_jobs::{RunsListArgs, RunsLogsArgs, RunsPruneArgs, RunsShowArgs};
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::output;

/// The JSON schema of `runs list` and `runs show`.
pub(super) const SCHEMA: &str = "slipway.runs/v1";

pub(super) fn list(args: RunsListArgs, globals: &Globals) -> anyhow::Result<u8> {
    let RunsListArgs { job, state, limit, database, format } = args;
    let runs = super::runtime()?.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        let filter = Filter { job, state: state.as_deref().and_then(RunState::parse), limit, ..Filter::default() };
        anyhow::Ok(store.list_runs(&filter).await?)
    })?;
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, SCHEMA, &serde_json::json!({ "runs": runs }))?,
        Format::Text if runs.is_empty() => writeln!(crate::output::stderr(), "no runs yet")?,
        Format::Text => {
            for run in &runs {
                writeln!(stdout, "{}", line(run))?;
            }
        }
    }
    Ok(exit::SUCCESS)
}

pub(super) fn prune(args: RunsPruneArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = crate::settings_jobs::prune(globals, args)?;
    super::warn(&settings.warnings);
    let pruned = super::runtime()?.block_on(async {
        // A store that does not exist has nothing to prune, and is not created.
        let store = match Store::open_for_reading(&settings.state.database_url).await? {
            slipway_store::ForReading::Existing(store) => store,
            slipway_store::ForReading::Missing(_) => return anyhow::Ok(None),
        };
        let storage = slipway_artifacts::Storage::open(&settings.state.storage_url)?;
        let pruner = slipway_jobs::retention::Pruner { store: store.clone(), storage, runs_dir: settings.runs_dir };
        let now = jiff::Timestamp::now().as_second();
        let pruned = pruner.prune(settings.retention, settings.job.as_deref(), now, settings.dry_run).await?;
        store.close().await;
        anyhow::Ok(Some(pruned))
    })?;
    let mut stdout = crate::output::stdout();
    let Some(pruned) = pruned else {
        writeln!(crate::output::stderr(), "no runs recorded yet; nothing to prune")?;
        if settings.format == Format::Json {
            output::json_with_schema(&mut stdout, slipway_jobs::retention::SCHEMA, &serde_json::json!({"runs": []}))?;
        }
        return Ok(exit::SUCCESS);
    };
    match settings.format {
        Format::Json => output::json(&mut stdout, &pruned)?,
        Format::Text => {
            let verb = if pruned.dry_run { "would remove" } else { "removed" };
            for run in &pruned.runs {
                let finished = run
                    .finished_at
                    .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
                    .map_or_else(|| "-".to_owned(), |at| format!("{}Z", at.strftime("%F %T")));
                writeln!(stdout, "{verb} {}/{}  {:<8} {finished}", run.job, run.build_id, run.state)?;
            }
            writeln!(
                stdout,
                "{verb} {} run(s), {} of files; kept {} finished run(s)",
                pruned.runs.len(),
                slipway_core::retention::format_size(pruned.freed_bytes),
                pruned.kept
            )?;
        }
    }
    let mut stderr = crate::output::stderr();
    if let Some(note) = &pruned.artifacts_kept {
        writeln!(stderr, "note: {note}")?;
    }
    for problem in &pruned.problems {
        writeln!(stderr, "error: {problem}")?;
    }
    Ok(if pruned.problems.is_empty() { exit::SUCCESS } else { exit::CHECK_FAILED })
}

/// `job/build  state  started  duration  description`.
pub(super) fn line(run: &Run) -> String {
    line_with(run, true)
}

/// [`line`], with or without the description (left out when an error that follows says it).
pub(super) fn line_with(run: &Run, description: bool) -> String {
    let started = run
        .started_at
        .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
        .map_or_else(|| "-".to_owned(), |at| at.strftime("%F %T").to_string());
    let took = match (run.started_at, run.finished_at) {
        (Some(start), Some(end)) => {
            slipway_jobs::duration::format(Duration::from_secs(end.saturating_sub(start).unsigned_abs()))
        }
        _ => "-".to_owned(),
    };
    let text = if description { one_line(&run.description) } else { String::new() };
    format!("{}/{}  {:<8} {started}Z  {took:>8}  {text}", run.job, run.build_id, run.state.as_str())
        .trim_end()
        .to_owned()
}

/// A description on one line of at most 120 characters: `runs list` keeps one line per run
/// (`runs show` has the whole text).
fn one_line(text: &str) -> String {
    const WIDTH: usize = 120;
    let first = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("");
    let more = text.trim().lines().count() > 1;
    if first.chars().count() > WIDTH {
        format!("{}…", first.chars().take(WIDTH - 1).collect::<String>())
    } else if more {
        format!("{first} …")
    } else {
        first.to_owned()
    }
}

async fn find(store: &Store, key: &str) -> anyhow::Result<Run> {
    store.find_run(key).await?.ok_or_else(|| {
        UsageError(format!("no run `{key}`: give a run id, JOB/BUILD_ID, or a job name (see `slipway runs list`)"))
            .into()
    })
}

pub(super) fn show(args: RunsShowArgs, globals: &Globals) -> anyhow::Result<u8> {
    let RunsShowArgs { run, database, format } = args;
    let run = super::runtime()?.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        find(&store, &run).await
    })?;
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, SCHEMA, &serde_json::json!({ "runs": [run] }))?,
        Format::Text => {
            writeln!(stdout, "{}", line(&run))?;
            writeln!(stdout, "  id:        {}", run.id)?;
            if !run.variant.is_empty() {
                writeln!(stdout, "  matrix:    {}", run.variant)?;
            }
            writeln!(stdout, "  trigger:   {}", run.trigger.as_str())?;
            if !run.revision.is_empty() {
                writeln!(stdout, "  revision:  {}", run.revision)?;
            }
            if let Some(code) = run.exit_code {
                writeln!(stdout, "  exit code: {code}")?;
            }
            writeln!(stdout, "  executor:  {} on {} (pid {})", run.executor, run.owner_host, run.owner_pid)?;
            writeln!(stdout, "  artifacts: {}", run.artifacts)?;
            writeln!(stdout, "  log:       {}", run.log_path)?;
            if run.description.trim().lines().count() > 1 || run.description.chars().count() > 120 {
                writeln!(stdout, "  description:")?;
                for text in run.description.trim().lines() {
                    writeln!(stdout, "    {text}")?;
                }
            }
        }
    }
    Ok(exit::SUCCESS)
}

/// The JSON schema of `runs abort`.
const ABORT_SCHEMA: &str = "slipway.runs.abort/v1";

pub(super) fn abort(args: RunsShowArgs, globals: &Globals) -> anyhow::Result<u8> {
    let RunsShowArgs { run, database, format } = args;
    let (run, recorded) = super::runtime()?.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        let run = find(&store, &run).await?;
        let recorded = store.request_abort(&run.id).await?;
        anyhow::Ok((run, recorded))
    })?;
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => output::json_with_schema(
            &mut stdout,
            ABORT_SCHEMA,
            &serde_json::json!({ "run": run.id, "state": run.state.as_str(), "abort_requested": recorded }),
        )?,
        Format::Text if recorded => writeln!(
            stdout,
            "asked to abort {} ({}/{}): the slipway running it on {} stops it within a second",
            run.id, run.job, run.build_id, run.owner_host
        )?,
        Format::Text => {}
    }
    if recorded {
        Ok(exit::SUCCESS)
    } else {
        let _ = writeln!(
            crate::output::stderr(),
            "error: run {} ({}/{}) is not running: it is {}",
            run.id,
            run.job,
            run.build_id,
            run.state.as_str()
        );
        Ok(exit::CHECK_FAILED)
    }
}

pub(super) fn logs(args: RunsLogsArgs, globals: &Globals) -> anyhow::Result<u8> {
    let RunsLogsArgs { run, follow, database } = args;
    super::runtime()?.block_on(async {
        let store = super::open_store_for_reading(globals, database).await?;
        let mut current = find(&store, &run).await?;
        let mut file = std::fs::File::open(&current.log_path).map_err(|error| {
            UsageError(format!(
                "the log of {}/{} is not here ({}): {error}",
                current.job, current.build_id, current.log_path
            ))
        })?;
        let mut stdout = crate::output::stdout();
        let mut buffer = Vec::new();
        // Listening before the loop: a Ctrl-C while the log is read is not lost.
        let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        loop {
            // Known finished before this read: the read gets the rest of the log.
            let finished = current.state.is_finished();
            buffer.clear();
            file.read_to_end(&mut buffer)?;
            stdout.write_all(&buffer)?;
            stdout.flush()?;
            if !follow || finished {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(300)) => {}
                _ = interrupt.recv() => return anyhow::Ok(exit::INTERRUPTED),
            }
            current = find(&store, &current.id).await?;
        }
        anyhow::Ok(exit::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_to_one_line() {
        assert_eq!(one_line("passed"), "passed");
        assert_eq!(one_line("cannot pull image `x`:\nError: denied\n"), "cannot pull image `x`: …");
        let long = "x".repeat(300);
        let cut = one_line(&long);
        assert_eq!(cut.chars().count(), 120);
        assert!(cut.ends_with('…'));
    }
}
