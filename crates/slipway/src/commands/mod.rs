//! One function per command; each resolves its settings, calls a library crate and renders
//! the result.

mod cache;
mod env;
mod env_cluster;
mod image_build;
mod image_dockerfile;
mod image_inspect;
mod job_affected;
mod job_list;
pub(crate) mod job_prow;
mod job_run;
mod lease;
mod marker;
mod release_bump;
mod release_ledger;
mod release_verify;
mod results_ingest;
mod results_views;
mod runs;
mod schedule;
mod serve;
mod serve_alerts;
mod triage;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use slipway_core::exit;

use crate::cli::{CacheCommand, Cli, Command, ImageCommand, JobCommand, MarkerCommand, ReleaseCommand};
use crate::cli_env::EnvCommand;
use crate::cli_jobs::RunsCommand;
use crate::cli_lease::LeaseCommand;
use crate::cli_results::ResultsCommand;
use crate::config_file::Globals;
use crate::errors;

/// The `--config` given after `serve` (resources.yaml) and the one given before it
/// (slipway.yaml), each the last of its kind.
fn serve_configs(args: &[OsString]) -> (Option<PathBuf>, Option<PathBuf>) {
    let (mut resources, mut before) = (None, None);
    let mut after_serve = false;
    let mut words = args.iter().skip(1).map(|word| word.to_string_lossy().into_owned()).peekable();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let value = if word == "--config" { words.next() } else { word.strip_prefix("--config=").map(str::to_owned) };
        match value {
            Some(value) if after_serve => resources = Some(PathBuf::from(value)),
            Some(value) => before = Some(PathBuf::from(value)),
            None => after_serve |= word == "serve",
        }
    }
    (resources, before)
}

/// Runs the command line and returns the process exit code.
pub(crate) fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { exit::USAGE } else { exit::SUCCESS };
        }
    };
    let mut cli = cli;
    let mut config = cli.config.take();
    if let Command::Lease(LeaseCommand::Serve(serve)) = &mut cli.command {
        // `lease serve --config` names resources.yaml, as Boskos's flag does, and the global
        // `--config` (or SLIPWAY_CONFIG) slipway.yaml; clap keeps one value for both, so they
        // are told apart by where they stand on the command line.
        let (resources, before) = serve_configs(&args);
        serve.config = resources;
        config =
            before.or_else(|| std::env::var_os("SLIPWAY_CONFIG").filter(|value| !value.is_empty()).map(PathBuf::from));
    }
    let globals = Globals { config, repo: cli.repo };
    let result = match cli.command {
        Command::Release(ReleaseCommand::Verify(args)) => release_verify::run(args, &globals),
        Command::Release(ReleaseCommand::Bump(args)) => release_bump::run(args, &globals),
        Command::Release(ReleaseCommand::Record(args)) => release_ledger::record(args, &globals),
        Command::Release(ReleaseCommand::Audit(args)) => release_ledger::audit(args, &globals),
        Command::Image(ImageCommand::Build(args)) => image_build::run(args, &globals),
        Command::Image(ImageCommand::Inspect(args)) => image_inspect::inspect(args, &globals),
        Command::Image(ImageCommand::Verify(args)) => image_inspect::verify(args, &globals),
        Command::Image(ImageCommand::Dockerfile(args)) => image_dockerfile::dockerfile(args, &globals),
        Command::Image(ImageCommand::Cloudbuild(args)) => image_dockerfile::cloudbuild(args, &globals),
        Command::Job(JobCommand::List(args)) => job_list::run(args, &globals),
        Command::Job(JobCommand::Run(args)) => job_run::run(args, &globals),
        Command::Job(JobCommand::Affected(args)) => job_affected::run(args, &globals),
        Command::Job(JobCommand::ImportProw(args)) => job_prow::import(args),
        Command::Job(JobCommand::Lint(args)) => job_prow::lint(args, &globals),
        Command::Schedule(args) => schedule::run(args, &globals),
        Command::Serve(args) => serve::run(args, &globals),
        Command::Runs(RunsCommand::List(args)) => runs::list(args, &globals),
        Command::Runs(RunsCommand::Show(args)) => runs::show(args, &globals),
        Command::Runs(RunsCommand::Logs(args)) => runs::logs(args, &globals),
        Command::Runs(RunsCommand::Abort(args)) => runs::abort(args, &globals),
        Command::Runs(RunsCommand::Prune(args)) => runs::prune(args, &globals),
        Command::Results(ResultsCommand::Ingest(args)) => results_ingest::run(args, &globals),
        Command::Results(ResultsCommand::Grid(args)) => results_views::grid(args, &globals),
        Command::Results(ResultsCommand::Flakes(args)) => results_views::flakes(args, &globals),
        Command::Results(ResultsCommand::Alerts(args)) => results_views::alerts(args, &globals),
        Command::Results(ResultsCommand::Clusters(args)) => triage::clusters(args, &globals),
        Command::Results(ResultsCommand::Dashboard(args)) => results_views::dashboard(args, &globals),
        Command::Triage(args) => triage::triage(args, &globals),
        Command::Marker(MarkerCommand::Get(args)) => marker::get(args, &globals),
        Command::Marker(MarkerCommand::Publish(args)) => marker::publish(args, &globals),
        Command::Cache(CacheCommand::Prune(args)) => cache::prune(args, &globals),
        Command::Lease(LeaseCommand::Serve(args)) => lease::serve(args, &globals),
        Command::Lease(LeaseCommand::Acquire(args)) => lease::acquire(args, &globals),
        Command::Lease(LeaseCommand::Release(args)) => lease::release(args, &globals),
        Command::Lease(LeaseCommand::Heartbeat(args)) => lease::heartbeat(args, &globals),
        Command::Lease(LeaseCommand::List(args)) => lease::list(args, &globals),
        Command::Lease(LeaseCommand::Run(args)) => lease::run(args, &globals),
        Command::Env(EnvCommand::Versions(args)) => env::versions(args, &globals),
        Command::Env(EnvCommand::NodeImage(args)) => env::node_image(args, &globals),
        Command::Env(EnvCommand::Up(args)) => env_cluster::up(args, &globals),
        Command::Env(EnvCommand::Down(args)) => env_cluster::down(args, &globals),
        Command::Env(EnvCommand::List(args)) => env_cluster::list(args, &globals),
    };
    crate::config_file::ignore_state_directory();
    // Output goes through `output::stdout`/`stderr`, which swallow a closed pipe, so the code
    // here is always the command's own result.
    match result {
        Ok(code) => code,
        Err(error) => {
            errors::report(&error);
            errors::exit_code(&error)
        }
    }
}

/// Prints warnings for people on stderr.
fn warn<W: std::fmt::Display>(warnings: &[W]) {
    let mut stderr = crate::output::stderr();
    for warning in warnings {
        let _ = writeln!(stderr, "warning: {}", slipway_core::redact::urls(&warning.to_string()));
    }
}

/// Opens the store that `--database-url` (or the file) names, for a command that only reads: a
/// store that does not exist yet is not created, and the command sees an empty one (and says
/// so).
async fn open_store_for_reading(
    globals: &Globals,
    database: crate::cli_jobs::DatabaseArgs,
) -> anyhow::Result<slipway_store::Store> {
    let (url, warnings) = crate::settings_jobs::database(globals, database)?;
    warn(&warnings);
    match slipway_store::Store::open_for_reading(&url).await? {
        slipway_store::ForReading::Existing(store) => Ok(store),
        slipway_store::ForReading::Missing(store) => {
            let redacted = slipway_core::redact::urls(&url);
            let shown = redacted.strip_prefix("sqlite:").unwrap_or(&redacted);
            let _ = writeln!(
                crate::output::stderr(),
                "note: there is no store at {shown} yet, so nothing has been recorded (`slipway job run` and `slipway results ingest` record)"
            );
            Ok(store)
        }
    }
}

/// The async runtime commands that talk to registries run on.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> (Option<PathBuf>, Option<PathBuf>) {
        let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        serve_configs(&args)
    }

    #[test]
    fn serve_tells_resources_yaml_from_slipway_yaml_by_position() {
        assert_eq!(split("slipway lease serve --config pool.yaml"), (Some("pool.yaml".into()), None));
        assert_eq!(
            split("slipway --config s.yaml lease serve --config=pool.yaml"),
            (Some("pool.yaml".into()), Some("s.yaml".into()))
        );
        assert_eq!(split("slipway --config s.yaml lease serve --listen 127.0.0.1:1"), (None, Some("s.yaml".into())));
        assert_eq!(split("slipway lease serve"), (None, None));
    }
}
