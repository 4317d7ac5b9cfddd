//! `slipway serve`: the web UI and JSON API over the store.

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;
use slipway_core::exit;
use tokio_util::sync::CancellationToken;

use super::lease::{Signals, Termination};
use crate::cli_serve::ServeArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;

pub(super) fn run(args: ServeArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ServeArgs { listen, token_file, database } = args;
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
    let loaded = crate::config_file::load(globals)?;
    let database_url = crate::settings_jobs::database_url_of(&loaded, database.database_url);
    super::runtime()?.block_on(async {
        let store = slipway_store::Store::open(&database_url).await?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let mut signals = Signals::new()?;
        let address = listener.local_addr().unwrap_or(listen);
        let _ = writeln!(
            crate::output::stderr(),
            "serving http://{address}/runs (store {})",
            slipway_core::redact::urls(&database_url)
        );
        let stop = CancellationToken::new();
        let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        {
            let (stop, interrupted) = (stop.clone(), interrupted.clone());
            tokio::spawn(async move {
                let signal = signals.next().await;
                interrupted.store(signal == Termination::Interrupt, std::sync::atomic::Ordering::SeqCst);
                stop.cancel();
            });
        }
        slipway_server::Server::new(store).serve(listener, stop).await.context("the server stopped")?;
        let _ = writeln!(crate::output::stderr(), "server stopped");
        anyhow::Ok(if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            exit::INTERRUPTED
        } else {
            exit::SUCCESS
        })
    })
}
