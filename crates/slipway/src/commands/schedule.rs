//! `slipway schedule`: the scheduler, in the foreground.

use std::io::Write;
use std::sync::Arc;

use slipway_core::exit;
use slipway_jobs::Job;
use slipway_jobs::exec::CancellationToken;
use slipway_jobs::launch::{Order, Setup};
use slipway_jobs::runner::Overrides;
use slipway_jobs::scheduler::{Event, Launcher, Service, SystemClock};
use slipway_store::Trigger;
use tokio_util::task::TaskTracker;

use crate::cli_jobs::ScheduleArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::settings_jobs;

pub(super) fn run(args: ScheduleArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ScheduleArgs { once, prow, state, registries } = args;
    let settings = settings_jobs::run(globals, prow.paths, state, registries)?;
    super::warn(&settings.warnings);
    let (jobs, left_out) = settings.catalog.scheduled();
    super::warn(&left_out);
    if jobs.is_empty() {
        return Err(UsageError(
            "no job has a schedule: give a job `cron:` (with `timezone:`), `interval:` or `minimum_interval:`, or read Prow periodics with --prow-config"
                .to_owned(),
        )
        .into());
    }
    super::runtime()?.block_on(async {
        let mut scheduler = Scheduler::start(&settings, jobs).await?;
        let mut stderr = crate::output::stderr();
        let mut interrupted = false;
        if once {
            let now = jiff::Timestamp::now();
            let (events, _) = scheduler.service.tick(now).await?;
            events.iter().for_each(report);
            scheduler.service.prune_if_due(now).await?.iter().for_each(report);
            tokio::select! {
                () = scheduler.launcher.wait() => {}
                _ = tokio::signal::ctrl_c() => {
                    let _ = writeln!(stderr, "interrupted: stopping running jobs (they are recorded as aborted)");
                    scheduler.runs_stop.cancel();
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
            scheduler.run(stop.clone()).await;
            on_signal.abort();
            interrupted = stop.is_cancelled();
            if interrupted {
                let _ = writeln!(stderr, "interrupted: stopping running jobs (they are recorded as aborted)");
                scheduler.runs_stop.cancel();
            }
        }
        scheduler.launcher.wait().await;
        scheduler.store.close().await;
        anyhow::Ok(if interrupted { exit::INTERRUPTED } else { exit::SUCCESS })
    })
}

/// How often a running scheduler looks for runs left by a slipway that died.
const REAP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The scheduler of `schedule` and `serve`: the service that decides, and the launcher that
/// starts runs as background tasks.
pub(super) struct Scheduler {
    service: Service,
    launcher: Arc<RunLauncher>,
    /// Cancelled: running runs stop (each gets its grace period) and are recorded as aborted.
    pub(super) runs_stop: CancellationToken,
    store: slipway_store::Store,
}

impl Scheduler {
    /// Sets up runs as `job run` does, marks runs a dead scheduler left as lost, and says
    /// which jobs it schedules.
    pub(super) async fn start(settings: &settings_jobs::RunSettings, jobs: Vec<Job>) -> anyhow::Result<Scheduler> {
        let setup = Arc::new(settings.setup().await?);
        let store = setup.context.store.clone();
        let runs_stop = CancellationToken::new();
        let launcher = Arc::new(RunLauncher {
            setup,
            cancel: runs_stop.clone(),
            tasks: TaskTracker::new(),
            on_finish: std::sync::OnceLock::new(),
        });
        let pruner = slipway_jobs::retention::Pruner {
            store: store.clone(),
            storage: launcher.setup.context.storage.clone(),
            runs_dir: launcher.setup.runs_dir.clone(),
        };
        let service = Service::new(store.clone(), jobs, launcher.clone()).with_retention(pruner, settings.retention);
        for lost in launcher.setup.reap_lost().await? {
            let _ = writeln!(crate::output::stderr(), "note: {}", lost.sentence());
        }
        let names: Vec<&str> = service.jobs().iter().map(|job| job.name.as_str()).collect();
        if names.is_empty() {
            let _ = writeln!(crate::output::stderr(), "note: no job has a schedule: nothing is scheduled");
        } else {
            let _ = writeln!(crate::output::stderr(), "scheduling {} job(s): {}", names.len(), names.join(", "));
        }
        Ok(Scheduler { service, launcher, runs_stop, store })
    }

    /// Schedules until `stop` is cancelled; runs started keep running. Every
    /// [`REAP_EVERY`], runs whose slipway died (another scheduler beside this one, killed) are
    /// recorded as lost, so their jobs are scheduled again.
    pub(super) async fn run(&mut self, stop: CancellationToken) {
        let reaper = {
            let (setup, stop) = (self.launcher.setup.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(REAP_EVERY) => {}
                        () = stop.cancelled() => break,
                    }
                    match setup.reap_lost().await {
                        Ok(lost) => {
                            for lost in lost {
                                let _ = writeln!(crate::output::stderr(), "note: {}", lost.sentence());
                            }
                        }
                        Err(error) => {
                            let _ = writeln!(
                                crate::output::stderr(),
                                "warning: could not look for lost runs: {}",
                                crate::errors::render(&error.into())
                            );
                        }
                    }
                }
            })
        };
        self.service.run(&SystemClock, stop, &report).await;
        // The reaper ends at its next look (it sees `stop`); one under way finishes, so what
        // it recorded is also said.
        let _ = reaper.await;
    }

    /// Waits for every run started so far.
    pub(super) async fn wait(&self) {
        self.launcher.wait().await;
    }

    /// Tells `observer` of every run this scheduler started that ends (once; later calls are
    /// ignored).
    pub(super) fn on_finish(&self, observer: FinishObserver) {
        let _ = self.launcher.on_finish.set(observer);
    }

    /// What starts runs by hand beside the scheduling (`serve`'s "run now").
    pub(super) fn starter(&self) -> Starter {
        Starter { launcher: self.launcher.clone() }
    }
}

/// Starts runs by hand, through the scheduler's launcher (so they are waited for and stopped
/// with its runs).
#[derive(Clone)]
pub(super) struct Starter {
    launcher: Arc<RunLauncher>,
}

impl Starter {
    /// Starts every run of `job` now (each matrix entry), as `job run` would.
    pub(super) fn run_now(&self, job: &Job) {
        self.launcher.start(job, usize::MAX, Trigger::Manual, None);
    }
}

/// Ingests the JUnit files a finished run left in its build directory, so the grid, flakes,
/// alerts and clusters stay current without `results ingest`. What cannot be read is said and
/// left: the run's own record is already written.
async fn ingest_results(store: &slipway_store::Store, run: &slipway_store::Run) {
    if run.artifacts.is_empty() {
        return;
    }
    let now = jiff::Timestamp::now().as_second();
    let options = slipway_junit::Options { now, ..slipway_junit::Options::default() };
    let mut stderr = crate::output::stderr();
    match slipway_junit::ingest(store, std::slice::from_ref(&run.artifacts), &options).await {
        Ok(report) => {
            for build in &report.ingested {
                if build.tests > 0 {
                    let _ = writeln!(
                        stderr,
                        "ingested {} test results of {}/{} ({} failed)",
                        build.tests, build.job, build.build_id, build.fail
                    );
                }
            }
            for problem in &report.problems {
                let _ = writeln!(stderr, "warning: results of {}: {problem}", run.id);
            }
        }
        Err(error) => {
            let _ = writeln!(
                stderr,
                "warning: could not ingest the results of {}: {}",
                run.id,
                crate::errors::render(&error.into())
            );
        }
    }
}

fn report(event: &Event) {
    let _ = writeln!(crate::output::stderr(), "{}", describe(event));
}

fn describe(event: &Event) -> String {
    match event {
        Event::Started { job, due, runs } => format!("started {job} for {due} ({runs} run(s))"),
        Event::Skipped { job, due, reason } => format!("skipped {job} at {due}: {reason}"),
        Event::Pruned { runs, freed_bytes, problems } => {
            let mut line = format!(
                "pruned {runs} old run(s) ({} of files) by the retention (runs.keep, runs.older_than)",
                slipway_core::retention::format_size(*freed_bytes)
            );
            for problem in problems {
                line.push_str(&format!("\nerror: could not prune: {problem}"));
            }
            line
        }
        Event::Failed { message } => format!("error: this pass failed, retrying: {message}"),
    }
}

/// Starts scheduled runs as background tasks, through the same launch as `job run`.
struct RunLauncher {
    setup: Arc<Setup>,
    cancel: CancellationToken,
    tasks: TaskTracker,
    /// Hears of every run that ends (`serve`'s metrics).
    on_finish: std::sync::OnceLock<FinishObserver>,
}

/// What hears of a run that ended.
pub(super) type FinishObserver = Arc<dyn Fn(&slipway_store::Run) + Send + Sync>;

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
        self.start(job, runs, Trigger::Schedule, Some(due.as_second()));
    }
}

impl RunLauncher {
    /// Starts `runs` runs of `job` (one per matrix entry, up to `runs`) as background tasks.
    fn start(&self, job: &Job, runs: usize, trigger: Trigger, due_at: Option<i64>) {
        let entries: Vec<Option<String>> = if job.kubernetes.is_empty() {
            vec![None]
        } else {
            job.kubernetes.iter().take(runs).cloned().map(Some).collect()
        };
        for entry in entries {
            let job = job.clone();
            let setup = self.setup.clone();
            let cancel = self.cancel.clone();
            let on_finish = self.on_finish.get().cloned();
            self.tasks.spawn(async move {
                let order = Order {
                    job: &job,
                    entry,
                    trigger,
                    due_at,
                    overrides: Overrides::default(),
                    follow: false,
                    observer: None,
                };
                match setup.launch(order, cancel).await {
                    Ok(report) => {
                        let _ = writeln!(crate::output::stderr(), "finished {}", super::runs::line(&report.run));
                        if let Some(observer) = &on_finish {
                            observer(&report.run);
                        }
                        // Ingesting is not `Send` (its file stream), so it runs on a blocking
                        // thread of the same runtime.
                        let (store, run) = (setup.context.store.clone(), report.run.clone());
                        let handle = tokio::runtime::Handle::current();
                        let _ =
                            tokio::task::spawn_blocking(move || handle.block_on(ingest_results(&store, &run))).await;
                    }
                    Err(error) => {
                        let _ = writeln!(
                            crate::output::stderr(),
                            "error: {}: {}",
                            job.name,
                            crate::errors::render(&error.into())
                        );
                    }
                }
            });
        }
    }
}
