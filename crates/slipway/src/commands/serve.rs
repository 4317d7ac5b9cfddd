//! `slipway serve`: the scheduler, the lease server and the web UI and JSON API over the
//! store, in one process; slipway.yaml (and the Prow config it reads) is read again when it
//! changes.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use slipway_core::exit;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::lease::{Signals, Termination};
use super::schedule::{Scheduler, Starter};
use crate::cli_jobs::{ProwConfigArgs, StateArgs};
use crate::cli_serve::ServeArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::settings_jobs::RunSettings;

/// How often slipway.yaml and the Prow config are looked at for changes.
const WATCH_EVERY: Duration = Duration::from_secs(2);

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
    let releases =
        Arc::new(ServeReleases { globals: globals.clone(), state: state.clone(), registries: registries.clone() });
    let inputs = Inputs { globals: globals.clone(), prow, state, registries };
    // The configuration file as it was before it was read: a change while it is read (or before
    // the first look) must not hide in the first fingerprint.
    let before = fingerprint(&inputs.config_file());
    let (settings, dashboards) = inputs.resolve()?;
    super::warn(&settings.warnings);
    let mut watched = inputs.watched(&settings);
    let mut seen = fingerprint(&watched);
    if before.iter().any(|entry| !seen.contains(entry)) {
        seen.clear();
    }
    let database_url = settings.state.database_url.clone();
    super::runtime()?.block_on(async {
        let store = slipway_store::Store::open(&database_url).await?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let mut signals = Signals::new()?;
        let mut stderr = crate::output::stderr();
        // The scheduler (which also starts runs by hand, and reaps lost runs).
        let metrics = Arc::new(slipway_server::Metrics::default());
        let observer: super::schedule::FinishObserver = {
            let metrics = metrics.clone();
            Arc::new(move |run| metrics.observe_run(run))
        };
        let mut generation = Generation::start(&settings, &observer).await?;
        let actions = Arc::new(ServeActions { current: RwLock::new(generation.actions.clone()) });
        let mut retired: Vec<JoinHandle<Scheduler>> = Vec::new();
        let address = listener.local_addr().unwrap_or(listen);
        let serving = CancellationToken::new();
        let mut server = slipway_server::Server::new(store.clone(), token.clone())
            .with_metrics(metrics)
            .with_actions(actions.clone())
            .with_releases(releases)
            .with_dashboards(dashboards);
        let dashboards = server.dashboards();
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
            let lease_server = slipway_lease::server::Server::new(store.clone(), leases.config, options).await?;
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
        // Alerts of the stored results, each new one posted once to results.alerts.webhook.
        let alerting = tokio::spawn(super::serve_alerts::run(store.clone(), globals.clone(), serving.clone()));
        let signal = loop {
            tokio::select! {
                signal = signals.next() => break signal,
                () = tokio::time::sleep(WATCH_EVERY) => {}
            }
            let now = fingerprint(&watched);
            if now == seen {
                continue;
            }
            seen = now;
            // A configuration that does not load leaves the one running as it is.
            match inputs.resolve() {
                Ok((settings, new_dashboards)) => match Generation::start(&settings, &observer).await {
                    Ok(next) => {
                        super::warn(&settings.warnings);
                        watched = inputs.watched(&settings);
                        let old = std::mem::replace(&mut generation, next);
                        old.scheduling.cancel();
                        retired.push(old.task);
                        actions.replace(generation.actions.clone());
                        dashboards.replace(new_dashboards);
                        let _ =
                            writeln!(stderr, "read the configuration again: {} job(s)", generation.actions.jobs.len());
                    }
                    Err(error) => {
                        let _ = writeln!(
                            stderr,
                            "warning: kept the running configuration: {}",
                            crate::errors::render(&error)
                        );
                    }
                },
                Err(error) => {
                    let _ =
                        writeln!(stderr, "warning: kept the running configuration: {}", crate::errors::render(&error));
                }
            }
        };
        // Stop scheduling; running runs get their grace period, and are recorded as aborted;
        // the pages stay up until they are.
        generation.scheduling.cancel();
        retired.push(generation.task);
        let _ = writeln!(stderr, "stopping: running jobs are stopped and recorded as aborted");
        let mut schedulers = Vec::new();
        for task in retired {
            schedulers.push(task.await.context("the scheduler stopped")?);
        }
        for scheduler in &schedulers {
            scheduler.runs_stop.cancel();
        }
        for scheduler in &schedulers {
            scheduler.wait().await;
        }
        serving.cancel();
        server.await.context("the server stopped")?.context("the server stopped")?;
        let _ = alerting.await;
        if let Some(background) = lease_background {
            let _ = background.await;
        }
        let _ = writeln!(stderr, "server stopped");
        anyhow::Ok(if signal == Termination::Interrupt { exit::INTERRUPTED } else { exit::SUCCESS })
    })
}

/// What the settings are resolved from, again on every change.
struct Inputs {
    globals: Globals,
    prow: ProwConfigArgs,
    state: StateArgs,
    registries: crate::cli::RegistryArgs,
}

impl Inputs {
    fn resolve(&self) -> anyhow::Result<(RunSettings, Vec<slipway_results::dashboard::Dashboard>)> {
        let settings = crate::settings_jobs::run(
            &self.globals,
            self.prow.paths.clone(),
            self.state.clone(),
            self.registries.clone(),
        )?;
        let dashboards = super::results_views::dashboards_of(&self.globals, &settings.catalog)?;
        Ok((settings, dashboards))
    }

    /// The configuration file read: the one `--config` names, or the project's slipway.yaml.
    fn config_file(&self) -> Vec<PathBuf> {
        crate::config_file::load(&self.globals).ok().and_then(|loaded| loaded.path).into_iter().collect()
    }

    /// slipway.yaml (the file `--config` names, or the project's, also before it exists) and
    /// the Prow config the settings were read from.
    fn watched(&self, settings: &RunSettings) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> =
            ["slipway.yaml", "slipway.yml"].iter().map(|name| settings.project.join(name)).collect();
        paths.extend(self.config_file());
        if let Some((_, prow)) = &settings.catalog.prow {
            paths.extend(prow.iter().cloned());
        }
        paths
    }
}

/// The modification times and sizes of `paths` (directories: every file under them), to tell
/// a change.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    let mut seen = Vec::new();
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = pending.pop() {
        match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_dir() => {
                if let Ok(entries) = std::fs::read_dir(&path) {
                    pending.extend(entries.filter_map(|entry| entry.ok().map(|entry| entry.path())));
                }
            }
            Ok(metadata) => seen.push((path, metadata.modified().ok(), metadata.len())),
            Err(_) => seen.push((path, None, 0)),
        }
    }
    seen.sort();
    seen
}

/// One configuration's scheduler: its task, what stops its scheduling, and its jobs.
struct Generation {
    scheduling: CancellationToken,
    task: JoinHandle<Scheduler>,
    actions: Arc<Current>,
}

impl Generation {
    async fn start(settings: &RunSettings, observer: &super::schedule::FinishObserver) -> anyhow::Result<Generation> {
        let (jobs, left_out) = settings.catalog.scheduled();
        super::warn(&left_out);
        let mut scheduler = Scheduler::start(settings, jobs).await?;
        scheduler.on_finish(observer.clone());
        let actions = Arc::new(Current {
            jobs: settings.catalog.jobs.iter().map(|entry| entry.job.clone()).collect(),
            starter: scheduler.starter(),
        });
        let scheduling = CancellationToken::new();
        let task = {
            let stop = scheduling.clone();
            tokio::spawn(async move {
                scheduler.run(stop).await;
                scheduler
            })
        };
        Ok(Generation { scheduling, task, actions })
    }
}

/// The jobs of the configuration in force and what starts them.
struct Current {
    jobs: Vec<slipway_jobs::Job>,
    starter: Starter,
}

/// The jobs and "run now", for the server; replaced when slipway.yaml changes.
struct ServeActions {
    current: RwLock<Arc<Current>>,
}

impl ServeActions {
    fn current(&self) -> Arc<Current> {
        self.current.read().map_or_else(|poisoned| poisoned.into_inner().clone(), |current| current.clone())
    }

    fn replace(&self, next: Arc<Current>) {
        match self.current.write() {
            Ok(mut current) => *current = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}

impl slipway_server::Actions for ServeActions {
    fn jobs(&self) -> Vec<slipway_server::JobInfo> {
        let now = jiff::Timestamp::now();
        self.current()
            .jobs
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
        let current = self.current();
        let job = current.jobs.iter().find(|job| job.name == name).ok_or_else(|| format!("no job named `{name}`"))?;
        current.starter.run_now(job);
        Ok(())
    }
}

/// The ledger audit and the markers, read fresh from the project for each page.
struct ServeReleases {
    globals: Globals,
    state: StateArgs,
    registries: crate::cli::RegistryArgs,
}

/// The most markers the releases page reads.
const MAX_MARKERS: usize = 200;

impl slipway_server::Releases for ServeReleases {
    fn audit(&self, registries: bool) -> slipway_server::Answer<'_, slipway_release::ledger::audit::AuditReport> {
        Box::pin(async move {
            let args = crate::cli::AuditArgs {
                versions: Vec::new(),
                all: true,
                offline: !registries,
                storage: self.state.storage.clone(),
                registries: self.registries.clone(),
                format: crate::cli::Format::Json,
            };
            let settings =
                crate::settings::audit(args, &self.globals).map_err(|error| crate::errors::render(&error))?;
            slipway_release::ledger::audit::audit(&settings.ledger, &settings.options, &settings.release)
                .await
                .map_err(|error| crate::errors::render(&error.into()))
        })
    }

    fn publish_marker(
        &self,
        name: String,
        value: String,
        if_newer: bool,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<serde_json::Value, slipway_server::MarkerRefusal>> + Send + '_>,
    > {
        use slipway_server::MarkerRefusal;
        Box::pin(async move {
            let name = slipway_artifacts::Markers::normalize(&name)
                .map_err(|error| MarkerRefusal::Invalid(crate::errors::render(&error.into())))?;
            let loaded = crate::config_file::load(&self.globals)
                .map_err(|error| MarkerRefusal::Storage(crate::errors::render(&error.into())))?;
            let url = crate::settings_jobs::storage_url(&loaded, self.state.storage.storage.clone());
            let storage = slipway_artifacts::Storage::open(&url)
                .map_err(|error| MarkerRefusal::Storage(crate::errors::render(&error.into())))?;
            let markers = slipway_artifacts::Markers::new(storage);
            match markers.publish(&name, &value, if_newer).await {
                Ok(published) => {
                    let mut report = serde_json::json!({
                        "schema": slipway_artifacts::MARKER_SCHEMA,
                        "name": name,
                        "url": markers.url(&name).unwrap_or_default(),
                    });
                    if let (Some(report), serde_json::Value::Object(published)) =
                        (report.as_object_mut(), serde_json::to_value(&published).unwrap_or_default())
                    {
                        report.extend(published);
                    }
                    Ok(report)
                }
                Err(error @ slipway_artifacts::Error::MarkerMoved { .. }) => {
                    Err(MarkerRefusal::Conflict(crate::errors::render(&error.into())))
                }
                Err(
                    error @ (slipway_artifacts::Error::Invalid { .. } | slipway_artifacts::Error::NotAVersion { .. }),
                ) => Err(MarkerRefusal::Invalid(crate::errors::render(&error.into()))),
                Err(error) => Err(MarkerRefusal::Storage(crate::errors::render(&error.into()))),
            }
        })
    }

    fn markers(&self) -> slipway_server::Answer<'_, Vec<slipway_server::MarkerInfo>> {
        Box::pin(async move {
            let loaded =
                crate::config_file::load(&self.globals).map_err(|error| crate::errors::render(&error.into()))?;
            let url = crate::settings_jobs::storage_url(&loaded, self.state.storage.storage.clone());
            let storage =
                slipway_artifacts::Storage::open(&url).map_err(|error| crate::errors::render(&error.into()))?;
            let mut names = Vec::new();
            for level in ["", "markers"] {
                let listed = storage.list_level(level).await.map_err(|error| crate::errors::render(&error.into()))?;
                names.extend(
                    listed
                        .into_iter()
                        .map(|(key, _)| key)
                        .filter(|key| key.ends_with(".txt") && !key.ends_with("latest-build.txt")),
                );
            }
            names.truncate(MAX_MARKERS);
            let markers = slipway_artifacts::Markers::new(storage);
            let mut found = Vec::new();
            for name in names {
                let value = markers.get(&name).await.map_err(|error| crate::errors::render(&error.into()))?;
                let url = markers.url(&name).unwrap_or_default();
                found.push(slipway_server::MarkerInfo { name, value: value.unwrap_or_default(), url });
            }
            Ok(found)
        })
    }
}
