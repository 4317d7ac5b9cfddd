//! `slipway serve`: the web UI and JSON API over the store.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use slipway_core::exit;
use tokio_util::sync::CancellationToken;

use super::lease::{Signals, Termination};
use super::schedule::{Scheduler, Starter};
use crate::cli_serve::ServeArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;

pub(super) fn run(args: ServeArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ServeArgs { listen, token_file, prow, state, registries } = args;
    let listen: SocketAddr = listen.parse().map_err(|_| {
        UsageError(format!("--listen `{listen}` is not an address: give IP:PORT, such as 127.0.0.1:8080"))
    })?;
    let leases = crate::settings_lease::in_serve(globals)?;
    let token_file = token_file.or_else(|| leases.as_ref().and_then(|leases| leases.token_file.clone()));
    let token = token_file.as_deref().map(crate::settings_lease::read_token_file).transpose()?;
    if token.is_none() && slipway_server::needs_token(&listen) {
        return Err(UsageError(format!(
            "refusing to serve on {listen} without a token: anyone who reaches it could change what runs; give --token-file FILE, or listen on 127.0.0.1"
        ))
        .into());
    }
    let settings = crate::settings_jobs::run(globals, prow.paths, state, registries)?;
    super::warn(&settings.warnings);
    let (jobs, left_out) = settings.catalog.scheduled();
    super::warn(&left_out);
    let database_url = settings.state.database_url.clone();
    super::runtime()?.block_on(async {
        let store = slipway_store::Store::open(&database_url).await?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let mut signals = Signals::new()?;
        let mut stderr = crate::output::stderr();
        // The scheduler (which also starts runs by hand, and reaps lost runs).
        let scheduling = CancellationToken::new();
        let mut scheduler = Scheduler::start(&settings, jobs).await?;
        let actions = Arc::new(ServeActions {
            jobs: settings.catalog.jobs.iter().map(|entry| entry.job.clone()).collect(),
            starter: scheduler.starter(),
        });
        let scheduler = {
            let stop = scheduling.clone();
            tokio::spawn(async move {
                scheduler.run(stop).await;
                scheduler
            })
        };
        let address = listener.local_addr().unwrap_or(listen);
        let serving = CancellationToken::new();
        let mut server = slipway_server::Server::new(store.clone(), token.clone()).with_actions(actions);
        // The lease server, when the project has resources: its Boskos paths beside the UI's.
        let mut lease_background = None;
        if let Some(leases) = leases {
            let types = leases.config.entries.len();
            let options = slipway_lease::server::Options {
                config_path: leases.config_path.clone(),
                token: token.clone(),
                request_ttl: slipway_lease::server::REQUEST_TTL,
                janitor_logs: leases.janitor_logs,
                log: slipway_lease::server::Log::new(|line| {
                    let _ = writeln!(crate::output::stderr(), "lease: {}", slipway_core::redact::urls(line));
                }),
            };
            let lease_server = slipway_lease::server::Server::new(store, leases.config, options).await?;
            server = server.with_routes(lease_server.boskos_router());
            lease_background = Some(lease_server.start_background(serving.clone()));
            let _ = writeln!(
                stderr,
                "serving the Boskos API on http://{address} ({types} resource type(s) from {})",
                leases.config_path.display()
            );
        }
        let _ = writeln!(stderr, "serving http://{address}/runs (store {})", slipway_core::redact::urls(&database_url));
        let server = tokio::spawn(server.serve(listener, serving.clone()));
        let signal = signals.next().await;
        // Stop scheduling; running runs get their grace period, and are recorded as aborted;
        // the pages stay up until they are.
        scheduling.cancel();
        let scheduler = scheduler.await.context("the scheduler stopped")?;
        let _ = writeln!(stderr, "stopping: running jobs are stopped and recorded as aborted");
        scheduler.runs_stop.cancel();
        scheduler.wait().await;
        serving.cancel();
        server.await.context("the server stopped")?.context("the server stopped")?;
        if let Some(background) = lease_background {
            let _ = background.await;
        }
        let _ = writeln!(stderr, "server stopped");
        anyhow::Ok(if signal == Termination::Interrupt { exit::INTERRUPTED } else { exit::SUCCESS })
    })
}

/// The jobs of the project and "run now", for the server.
struct ServeActions {
    jobs: Vec<slipway_jobs::Job>,
    starter: Starter,
}

impl slipway_server::Actions for ServeActions {
    fn jobs(&self) -> Vec<slipway_server::JobInfo> {
        let now = jiff::Timestamp::now();
        self.jobs
            .iter()
            .map(|job| slipway_server::JobInfo {
                name: job.name.clone(),
                schedule: job.schedule.as_ref().map(slipway_job_model::schedule::Schedule::describe),
                next: job
                    .schedule
                    .as_ref()
                    .and_then(|schedule| schedule.next_cron_after(now))
                    .map(|next| next.as_second()),
                matrix: job.kubernetes.clone(),
                runs: match &job.run {
                    slipway_job_model::job::Run::Host { argv } => argv.join(" "),
                    slipway_job_model::job::Run::Container { image, .. } => format!("in {image}"),
                },
            })
            .collect()
    }

    fn run_now(&self, name: &str) -> Result<(), String> {
        let job = self.jobs.iter().find(|job| job.name == name).ok_or_else(|| format!("no job named `{name}`"))?;
        self.starter.run_now(job);
        Ok(())
    }
}
