//! `slipway serve`: the web UI and JSON API over the store.

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;
use slipway_core::exit;
use tokio_util::sync::CancellationToken;

use super::lease::{Signals, Termination};
use super::schedule::Scheduler;
use crate::cli_serve::ServeArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;

pub(super) fn run(args: ServeArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ServeArgs { listen, token_file, prow, state, registries } = args;
    let listen: SocketAddr = listen.parse().map_err(|_| {
        UsageError(format!("--listen `{listen}` is not an address: give IP:PORT, such as 127.0.0.1:8080"))
    })?;
    let token = match &token_file {
        Some(path) => {
            let text =
                fs_err::read_to_string(path).map_err(|error| UsageError(format!("cannot read the token: {error}")))?;
            if text.trim().is_empty() {
                return Err(UsageError(format!("the token file `{}` is empty", path.display())).into());
            }
            true
        }
        None => false,
    };
    if !token && slipway_server::needs_token(&listen) {
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
        // The scheduler, when a job has a schedule.
        let scheduling = CancellationToken::new();
        let scheduler = if jobs.is_empty() {
            let _ = writeln!(stderr, "note: no job has a schedule: nothing is scheduled");
            None
        } else {
            let mut scheduler = Scheduler::start(&settings, jobs).await?;
            let stop = scheduling.clone();
            Some(tokio::spawn(async move {
                scheduler.run(stop).await;
                scheduler
            }))
        };
        let address = listener.local_addr().unwrap_or(listen);
        let _ = writeln!(stderr, "serving http://{address}/runs (store {})", slipway_core::redact::urls(&database_url));
        let serving = CancellationToken::new();
        let server = tokio::spawn(slipway_server::Server::new(store).serve(listener, serving.clone()));
        let signal = signals.next().await;
        // Stop scheduling; running runs get their grace period, and are recorded as aborted;
        // the pages stay up until they are.
        scheduling.cancel();
        if let Some(scheduler) = scheduler {
            let scheduler = scheduler.await.context("the scheduler stopped")?;
            let _ = writeln!(stderr, "stopping: running jobs are stopped and recorded as aborted");
            scheduler.runs_stop.cancel();
            scheduler.wait().await;
        }
        serving.cancel();
        server.await.context("the server stopped")?.context("the server stopped")?;
        let _ = writeln!(stderr, "server stopped");
        anyhow::Ok(if signal == Termination::Interrupt { exit::INTERRUPTED } else { exit::SUCCESS })
    })
}
