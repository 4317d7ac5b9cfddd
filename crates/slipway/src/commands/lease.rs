//! `slipway lease serve|acquire|release|heartbeat|list|run`.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use slipway_core::exit;
use slipway_lease::client::{Client, ClientError};
use slipway_lease::resource::Resource;
use slipway_lease::server::{Log, Options, Server};
use tokio_util::sync::CancellationToken;

use crate::cli::Format;
use crate::cli_lease::{
    LeaseAcquireArgs, LeaseHeartbeatArgs, LeaseListArgs, LeaseReleaseArgs, LeaseRunArgs, LeaseServeArgs,
};
use crate::config_file::Globals;
use crate::settings_lease;

/// The JSON schema of `lease list`.
const LIST_SCHEMA: &str = "slipway.lease.list/v1";

pub(super) fn serve(args: LeaseServeArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings_lease::serve(args, globals)?;
    super::warn(&settings.warnings);
    super::runtime()?.block_on(async {
        let store = slipway_store::Store::open(&settings.database_url).await?;
        let types = settings.config.entries.len();
        let options = Options {
            config_path: settings.config_path.clone(),
            token: settings.token.clone(),
            request_ttl: slipway_lease::server::REQUEST_TTL,
            janitor_logs: settings.janitor_logs.clone(),
            log: Log::new(|line| {
                let _ = writeln!(crate::output::stderr(), "lease: {}", slipway_core::redact::urls(line));
            }),
        };
        let server = Server::new(store, settings.config, options).await?;
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let stop = CancellationToken::new();
        if let Some(address) = settings.metrics_listen {
            let metrics =
                tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
            let router = server.metrics_router();
            let stop = stop.clone();
            tokio::spawn(async move {
                let _ = axum_serve(metrics, router, stop).await;
            });
        }
        // Listening before the server says it serves: a stop sent then is not lost.
        let mut signals = Signals::new()?;
        let _ = writeln!(
            crate::output::stderr(),
            "serving the Boskos API on http://{} ({types} resource type(s) from {}; store {}){}",
            listener.local_addr().unwrap_or(settings.listen),
            settings.config_path.display(),
            slipway_core::redact::urls(&settings.database_url),
            if settings.token.is_some() { "; changes need the token" } else { "" }
        );
        let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        {
            let (stop, interrupted) = (stop.clone(), interrupted.clone());
            tokio::spawn(async move {
                let signal = signals.next().await;
                interrupted.store(signal == Termination::Interrupt, std::sync::atomic::Ordering::SeqCst);
                stop.cancel();
            });
        }
        server.serve(listener, stop).await.context("the lease server stopped")?;
        let _ = writeln!(crate::output::stderr(), "lease server stopped");
        anyhow::Ok(if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            exit::INTERRUPTED
        } else {
            exit::SUCCESS
        })
    })
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Termination {
    /// Ctrl-C.
    Interrupt,
    /// SIGTERM (a service manager, Kubernetes).
    Terminate,
}

/// Ctrl-C and SIGTERM, listened to from its creation on.
pub(super) struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub(super) fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    /// The next one to come.
    pub(super) async fn next(&mut self) -> Termination {
        tokio::select! {
            Some(()) = self.interrupt.recv() => Termination::Interrupt,
            Some(()) = self.terminate.recv() => Termination::Terminate,
            else => std::future::pending().await,
        }
    }
}

pub(super) fn acquire(args: LeaseAcquireArgs, globals: &Globals) -> anyhow::Result<u8> {
    let LeaseAcquireArgs { kind, state, dest, wait, client } = args;
    let wait = settings_lease::duration(&wait, "--wait")?;
    let settings = settings_lease::client(client, globals)?;
    super::warn(&settings.warnings);
    let resource = super::runtime()?.block_on(acquire_waiting(&settings.client, &kind, &state, &dest, wait))?;
    writeln!(crate::output::stdout(), "{}", serde_json::to_string(&resource)?)?;
    Ok(exit::SUCCESS)
}

/// Acquires one, telling stderr while it waits (once, then each minute).
async fn acquire_waiting(
    client: &Client,
    kind: &str,
    state: &str,
    dest: &str,
    wait: Duration,
) -> Result<Resource, ClientError> {
    if wait.is_zero() {
        return client.acquire(kind, state, dest, None).await;
    }
    let started = std::time::Instant::now();
    let mut told: Option<std::time::Instant> = None;
    client
        .acquire_wait(kind, state, dest, wait, |why| {
            if told.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                told = Some(std::time::Instant::now());
                let _ = writeln!(
                    crate::output::stderr(),
                    "waiting for a {state} {kind} from {} ({} so far, up to {}): {why}",
                    client.base(),
                    slipway_jobs::duration::format(Duration::from_secs(started.elapsed().as_secs())),
                    slipway_jobs::duration::format(wait)
                );
            }
        })
        .await
}

pub(super) fn release(args: LeaseReleaseArgs, globals: &Globals) -> anyhow::Result<u8> {
    let LeaseReleaseArgs { name, dest, client } = args;
    let settings = settings_lease::client(client, globals)?;
    super::warn(&settings.warnings);
    super::runtime()?.block_on(settings.client.release(&name, &dest))?;
    let _ = writeln!(crate::output::stderr(), "released {name} as {dest}");
    Ok(exit::SUCCESS)
}

pub(super) fn heartbeat(args: LeaseHeartbeatArgs, globals: &Globals) -> anyhow::Result<u8> {
    let LeaseHeartbeatArgs { name, state, client } = args;
    let settings = settings_lease::client(client, globals)?;
    super::warn(&settings.warnings);
    super::runtime()?.block_on(settings.client.update(&name, &state, &std::collections::BTreeMap::new()))?;
    Ok(exit::SUCCESS)
}

pub(super) fn list(args: LeaseListArgs, globals: &Globals) -> anyhow::Result<u8> {
    let LeaseListArgs { kind, format, client } = args;
    let settings = settings_lease::client(client, globals)?;
    super::warn(&settings.warnings);
    let runtime = super::runtime()?;
    let listed = runtime.block_on(settings.client.list(kind.as_deref()))?;
    let mut stdout = crate::output::stdout();
    let Some(resources) = listed else {
        // A Boskos lists nothing; its /metric counts one type.
        let Some(kind) = kind else {
            return Err(crate::errors::UsageError(format!(
                "{} does not list resources (a Boskos server?): give --type TYPE to see its counts",
                settings.client.base()
            ))
            .into());
        };
        let metric = runtime.block_on(settings.client.metric(&kind))?;
        match format {
            Format::Json => crate::output::json_with_schema(&mut stdout, "slipway.lease.metric/v1", &metric)?,
            Format::Text => {
                for (state, count) in &metric.current {
                    writeln!(stdout, "{kind}  {state}  {count}")?;
                }
            }
        }
        return Ok(exit::SUCCESS);
    };
    match format {
        Format::Json => {
            crate::output::json_with_schema(&mut stdout, LIST_SCHEMA, &serde_json::json!({ "resources": resources }))?;
        }
        Format::Text => {
            if resources.is_empty() {
                let _ = writeln!(crate::output::stderr(), "no resources");
            }
            for resource in &resources {
                let owner = if resource.owner.is_empty() { "-" } else { &resource.owner };
                let mut line = format!(
                    "{}  {}  {}  {owner}  {}",
                    resource.name, resource.kind, resource.state, resource.lastupdate
                );
                if !resource.userdata_keys.is_empty() {
                    line.push_str(&format!("  userdata: {}", resource.userdata_keys.join(", ")));
                }
                writeln!(stdout, "{line}")?;
            }
        }
    }
    Ok(exit::SUCCESS)
}

pub(super) fn run(args: LeaseRunArgs, globals: &Globals) -> anyhow::Result<u8> {
    let LeaseRunArgs { kind, count, wait, heartbeat, client, command } = args;
    let wait = settings_lease::duration(&wait, "--wait")?;
    let beat = settings_lease::duration(&heartbeat, "--heartbeat")?;
    if beat.is_zero() {
        return Err(crate::errors::UsageError("--heartbeat must be above 0".to_owned()).into());
    }
    let settings = settings_lease::client(client, globals)?;
    super::warn(&settings.warnings);
    let client = settings.client;
    super::runtime()?.block_on(async move {
        let deadline = std::time::Instant::now() + wait;
        let mut leased: Vec<Resource> = Vec::new();
        for _ in 0..count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match acquire_waiting(&client, &kind, "free", "busy", left.max(Duration::from_millis(1))).await {
                Ok(resource) => leased.push(resource),
                Err(error) => {
                    // Nothing ran on what was taken: it goes back as it came.
                    for resource in &leased {
                        let _ = client.release(&resource.name, "free").await;
                    }
                    return Err(error.into());
                }
            }
        }
        let names: Vec<&str> = leased.iter().map(|resource| resource.name.as_str()).collect();
        let _ = writeln!(crate::output::stderr(), "leased {} ({kind}) as {}", names.join(", "), client.owner());
        let code = run_leased(&client, &leased, &settings.env, &command, beat).await;
        for resource in &leased {
            match client.release(&resource.name, "dirty").await {
                Ok(()) => {
                    let _ = writeln!(crate::output::stderr(), "released {} as dirty", resource.name);
                }
                Err(error) => {
                    let _ = writeln!(
                        crate::output::stderr(),
                        "error: could not release {}: {}; the reaper takes it back once its heartbeat stops",
                        resource.name,
                        slipway_core::errors::chain(&error)
                    );
                }
            }
        }
        code
    })
}

/// Runs `command` with the leases in its environment and its output masked, heartbeating;
/// its exit code (128+N when killed by signal N, 130 when interrupted).
async fn run_leased(
    client: &Client,
    leased: &[Resource],
    mappings: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    command: &[String],
    beat: Duration,
) -> anyhow::Result<u8> {
    let Some((program, arguments)) = command.split_first() else {
        return Err(crate::errors::UsageError("give the command to run after --".to_owned()).into());
    };
    let environment = slipway_lease::environment::lease_environment(leased, mappings);
    let masker = slipway_core::redact::Masker::new(slipway_lease::environment::secret_values(leased));
    let mut child = tokio::process::Command::new(program)
        .args(arguments)
        .envs(environment)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::Error::from(crate::errors::UsageError(format!("command `{program}` not found")))
            }
            _ => anyhow::Error::from(error).context(format!("cannot start `{program}`")),
        })?;
    let stdout = child.stdout.take().map(|out| tokio::spawn(copy_masked(out, masker.clone(), false)));
    let stderr = child.stderr.take().map(|err| tokio::spawn(copy_masked(err, masker, true)));
    let mut heartbeat = tokio::time::interval(beat);
    heartbeat.tick().await;
    // Listening from here on, so a signal that comes while a heartbeat is being sent waits
    // for the loop instead of being lost.
    let mut signals = Signals::new()?;
    let mut lost = std::collections::BTreeSet::new();
    let mut stopped_by: Option<Termination> = None;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            _ = heartbeat.tick() => {
                for resource in leased {
                    if let Err(error) = client.update(&resource.name, "busy", &std::collections::BTreeMap::new()).await
                        && lost.insert(resource.name.clone())
                    {
                        let _ = writeln!(
                            crate::output::stderr(),
                            "warning: heartbeat of {} failed: {}",
                            resource.name,
                            slipway_core::errors::chain(&error)
                        );
                    }
                }
            }
            signal = signals.next(), if stopped_by.is_none() => {
                stopped_by = Some(signal);
                let _ = writeln!(crate::output::stderr(), "stopping the command; its leases go back dirty");
                if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
                }
                let grace = tokio::time::sleep(Duration::from_secs(10));
                tokio::pin!(grace);
                tokio::select! {
                    status = child.wait() => break status?,
                    () = &mut grace => {
                        let _ = child.kill().await;
                        break child.wait().await?;
                    }
                }
            }
        }
    };
    for copy in [stdout, stderr].into_iter().flatten() {
        let _ = copy.await;
    }
    if stopped_by.is_some() {
        return Ok(exit::INTERRUPTED);
    }
    Ok(match status.code() {
        Some(code) => u8::try_from(code).unwrap_or(1),
        None => {
            let signal = std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0);
            u8::try_from(128 + signal).unwrap_or(1)
        }
    })
}

/// Copies a stream to slipway's stdout or stderr with every lease secret masked.
async fn copy_masked(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut masker: slipway_core::redact::Masker,
    to_stderr: bool,
) {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0u8; 16 * 1024];
    let write = |bytes: &[u8]| {
        let _ = if to_stderr {
            crate::output::stderr().write_all(bytes)
        } else {
            let mut stdout = crate::output::stdout();
            stdout.write_all(bytes).and_then(|()| stdout.flush())
        };
    };
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => write(&masker.push(&buffer[..read])),
        }
    }
    write(&masker.finish());
}
