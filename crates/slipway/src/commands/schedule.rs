//! `slipway schedule`: the scheduler, in the foreground.

use std::io::Write;
use std::sync::Arc;

use slipway_core::exit;
use slipway_jobs::Job;
use slipway_jobs::exec::{self, CancellationToken};
use slipway_jobs::markers::MarkerSource;
use slipway_jobs::runner::{self, Context, Overrides, Request};
use slipway_jobs::scheduler::{Event, Launcher, Service, SystemClock};
use slipway_store::{Store, Trigger};
use tokio_util::task::TaskTracker;

use crate::cli_jobs::ScheduleArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::{config_file, settings_jobs};

pub(super) fn run(args: ScheduleArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ScheduleArgs { once, state } = args;
    let loaded = config_file::load(globals)?;
    super::warn(&loaded.warnings);
    let jobs = settings_jobs::jobs(&loaded)?;
    if !jobs.iter().any(|job| job.schedule.is_some()) {
        return Err(UsageError(
            "no job has a schedule: give a job `cron:` (with `timezone:`), `interval:` or `minimum_interval:`"
                .to_owned(),
        )
        .into());
    }
    super::runtime()?.block_on(async {
        let store = Store::open(&settings_jobs::database_url(&loaded, state.database.database_url.clone())).await?;
        let storage =
            slipway_artifacts::Storage::open(&settings_jobs::storage_url(&loaded, state.storage.storage.clone()))?;
        let host = settings_jobs::host();
        let runs_stop = CancellationToken::new();
        let launcher = Arc::new(RunLauncher {
            context: Arc::new(Context { store: store.clone(), storage, host: host.clone() }),
            markers: settings_jobs::markers(&loaded),
            project: settings_jobs::project(&loaded),
            runs_dir: settings_jobs::runs_dir(&loaded),
            cancel: runs_stop.clone(),
            tasks: TaskTracker::new(),
        });
        let mut service = Service::new(store.clone(), jobs, launcher.clone());
        let report = |event: &Event| {
            let _ = writeln!(crate::output::stderr(), "{}", describe(event));
        };
        let now = jiff::Timestamp::now();
        service.recover(&host, now).await?.iter().for_each(report);
        let mut stderr = crate::output::stderr();
        let names: Vec<&str> = service.jobs().iter().map(|job| job.name.as_str()).collect();
        let _ = writeln!(stderr, "scheduling {} job(s): {}", names.len(), names.join(", "));
        let mut interrupted = false;
        if once {
            let (events, _) = service.tick(now).await?;
            events.iter().for_each(report);
            tokio::select! {
                () = launcher.wait() => {}
                _ = tokio::signal::ctrl_c() => {
                    let _ = writeln!(stderr, "interrupted: stopping running jobs (they are recorded as aborted)");
                    runs_stop.cancel();
                    interrupted = true;
                }
            }
        } else {
            let stop = CancellationToken::new();
            let on_signal = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        stop.cancel();
                    }
                })
            };
            service.run(&SystemClock, stop.clone(), &report).await;
            on_signal.abort();
            interrupted = stop.is_cancelled();
            if interrupted {
                let _ = writeln!(stderr, "interrupted: stopping running jobs (they are recorded as aborted)");
                runs_stop.cancel();
            }
        }
        launcher.wait().await;
        store.close().await;
        anyhow::Ok(if interrupted { exit::INTERRUPTED } else { exit::SUCCESS })
    })
}

fn describe(event: &Event) -> String {
    match event {
        Event::Started { job, due, runs } => format!("started {job} for {due} ({runs} run(s))"),
        Event::Skipped { job, due, reason } => format!("skipped {job} at {due}: {reason}"),
        Event::Lost { job, build_id, description } => format!("marked {job}/{build_id} as error: {description}"),
        Event::Failed { message } => format!("error: this pass failed, retrying: {message}"),
    }
}

/// Starts scheduled runs as background tasks.
struct RunLauncher {
    context: Arc<Context>,
    markers: MarkerSource,
    project: std::path::PathBuf,
    runs_dir: std::path::PathBuf,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl RunLauncher {
    /// Waits for every run started so far (cancel-safe: it can be waited for again).
    async fn wait(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }
}

impl Launcher for RunLauncher {
    fn launch(&self, job: &Job, runs: usize, due: jiff::Timestamp) {
        let entries: Vec<Option<String>> = if job.kubernetes.is_empty() {
            vec![None]
        } else {
            job.kubernetes.iter().take(runs).cloned().map(Some).collect()
        };
        for entry in entries {
            let job = job.clone();
            let context = self.context.clone();
            let markers = self.markers.clone();
            let project = self.project.clone();
            let runs_dir = self.runs_dir.clone();
            let cancel = self.cancel.clone();
            self.tasks.spawn(async move {
                let name = job.name.clone();
                if let Err(error) = launch_one(&context, &markers, job, entry, due, project, runs_dir, cancel).await {
                    let _ = writeln!(crate::output::stderr(), "error: {name}: {error:#}");
                }
            });
        }
    }
}

#[expect(clippy::too_many_arguments, reason = "one call site, every argument distinct")]
async fn launch_one(
    context: &Context,
    markers: &MarkerSource,
    job: Job,
    entry: Option<String>,
    due: jiff::Timestamp,
    project: std::path::PathBuf,
    runs_dir: std::path::PathBuf,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let resolved = match &entry {
        Some(entry) => Some(markers.resolve(&reqwest::Client::new(), entry).await?),
        None => None,
    };
    let executor = exec::for_run(&job.run)?;
    let request = Request {
        job: &job,
        entry: resolved,
        trigger: Trigger::Schedule,
        due_at: Some(due.as_second()),
        project,
        runs_dir,
        overrides: Overrides::default(),
        follow: false,
        on_wait: None,
    };
    let report = runner::execute(context, request, executor.as_ref(), cancel).await?;
    let _ = writeln!(crate::output::stderr(), "finished {}", super::runs::line(&report.run));
    Ok(())
}
