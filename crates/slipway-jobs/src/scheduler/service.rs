//! The scheduler's loop: each tick, decide for every periodic job, take the tick in the store,
//! and launch the runs.
//!
//! State lives in the store, never only in memory: the last tick taken per job (so a restart
//! neither repeats nor loses a due run) and the runs themselves (so `max_concurrency` and
//! "skip while running" count runs started by any scheduler). At start, runs left `running`
//! by a process that died are marked as errors.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use slipway_store::runs::Filter;
use slipway_store::{RunState, Store};

use super::decide::{Decision, JobState, decide};
use crate::job::Job;

/// Where "now" comes from; tests pass a clock they move by hand.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
    /// Waits until `until` or for `at_most`, whichever comes first.
    fn sleep(&self, until: Option<Timestamp>, at_most: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep(&self, until: Option<Timestamp>, at_most: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = until
            .map(|until| until.duration_since(Timestamp::now()).unsigned_abs())
            .map_or(at_most, |wait| wait.min(at_most));
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Starts the runs the scheduler decided on.
pub trait Launcher: Send + Sync {
    /// Starts `runs` runs of `job` (its first `runs` matrix entries, or one run) for the tick
    /// `due`, in the background.
    fn launch(&self, job: &Job, runs: usize, due: Timestamp);
}

/// Something the scheduler did, for its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Started {
        job: String,
        due: Timestamp,
        runs: usize,
    },
    Skipped {
        job: String,
        due: Timestamp,
        reason: String,
    },
    /// Old runs were removed by the retention (`runs:`).
    Pruned {
        runs: usize,
        freed_bytes: u64,
        problems: Vec<String>,
    },
    /// A pass failed (the store was unreachable or busy); the next pass tries again.
    Failed {
        message: String,
    },
}

/// How often the scheduler applies the retention.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The scheduler over a set of jobs.
pub struct Service {
    store: Store,
    jobs: Vec<Job>,
    launcher: Arc<dyn Launcher>,
    /// When each job next needs a look (absent: look now).
    wake: HashMap<String, Option<Timestamp>>,
    /// The retention it applies, and when it last did.
    retention: Option<(crate::retention::Pruner, crate::retention::Retention, Option<Timestamp>)>,
}

impl Service {
    /// A scheduler for the jobs that have a schedule.
    pub fn new(store: Store, jobs: Vec<Job>, launcher: Arc<dyn Launcher>) -> Service {
        let jobs = jobs.into_iter().filter(|job| job.schedule.is_some()).collect();
        Service { store, jobs, launcher, wake: HashMap::new(), retention: None }
    }

    /// Applies `retention` to every job's runs when it starts and then every [`PRUNE_EVERY`].
    #[must_use]
    pub fn with_retention(self, pruner: crate::retention::Pruner, retention: crate::retention::Retention) -> Service {
        Service { retention: Some((pruner, retention, None)), ..self }
    }

    /// Applies the retention if it is due; says what it removed, if anything.
    pub async fn prune_if_due(&mut self, now: Timestamp) -> Result<Option<Event>, slipway_store::Error> {
        let Some((pruner, retention, last)) = &mut self.retention else {
            return Ok(None);
        };
        if last.is_some_and(|last| now.duration_since(last).unsigned_abs() < PRUNE_EVERY) {
            return Ok(None);
        }
        let pruned = pruner.prune(*retention, None, now.as_second(), false).await?;
        *last = Some(now);
        Ok((!pruned.runs.is_empty() || !pruned.problems.is_empty()).then_some(Event::Pruned {
            runs: pruned.runs.len(),
            freed_bytes: pruned.freed_bytes,
            problems: pruned.problems,
        }))
    }

    /// The jobs it schedules.
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// One pass over the jobs at `now`. Returns what it did, and the earliest instant at
    /// which any job needs another look (`None` when only finishing runs can change anything).
    pub async fn tick(&mut self, now: Timestamp) -> Result<(Vec<Event>, Option<Timestamp>), slipway_store::Error> {
        let mut events = Vec::new();
        let running = self.store.running().await?;
        let mut next_wake: Option<Timestamp> = None;
        for job in &self.jobs {
            let key = job.name.as_str();
            if let Some(Some(wake)) = self.wake.get(key)
                && *wake > now
            {
                next_wake = Some(next_wake.map_or(*wake, |next| next.min(*wake)));
                continue;
            }
            let state = self.state(job, &running, now).await?;
            let wake = match decide(job, &state, now) {
                Decision::Start { due, runs } => {
                    if self.store.take_tick(key, due.as_second()).await? {
                        self.launcher.launch(job, runs, due);
                        events.push(Event::Started { job: key.to_owned(), due, runs });
                    }
                    None
                }
                Decision::Skip { due, reason } => {
                    self.store.skip_tick(key, due.as_second()).await?;
                    events.push(Event::Skipped { job: key.to_owned(), due, reason });
                    None
                }
                Decision::Wait { until } => until,
            };
            // A job waiting on a running run is looked at again each tick.
            self.wake.insert(key.to_owned(), wake);
            if let Some(wake) = wake {
                next_wake = Some(next_wake.map_or(wake, |next| next.min(wake)));
            }
        }
        Ok((events, next_wake))
    }

    async fn state(
        &self,
        job: &Job,
        running: &[slipway_store::Run],
        now: Timestamp,
    ) -> Result<JobState, slipway_store::Error> {
        if matches!(job.schedule, Some(crate::schedule::Schedule::Cron { .. })) {
            // A cron job's first tick counts from when a scheduler first saw it.
            self.store.register_schedule(&job.name, now.as_second()).await?;
        }
        let last_due = self.store.last_due(&job.name).await?.and_then(|seconds| Timestamp::from_second(seconds).ok());
        let newest = self
            .store
            .list_runs(&Filter { job: Some(job.name.clone()), limit: 1, ..Filter::default() })
            .await?
            .into_iter()
            .next();
        let seconds = |seconds: Option<i64>| seconds.and_then(|seconds| Timestamp::from_second(seconds).ok());
        let last_started = seconds(newest.as_ref().and_then(|run| run.started_at));
        let last_finished = seconds(newest.filter(|run| run.state.is_finished()).and_then(|run| run.finished_at));
        let running = running.iter().filter(|run| run.base_job == job.name && run.state == RunState::Running).count();
        Ok(JobState { last_due, last_started, last_finished, running })
    }

    /// Runs until `stop` is cancelled, logging each event through `report`.
    pub async fn run(
        &mut self,
        clock: &dyn Clock,
        stop: tokio_util::sync::CancellationToken,
        report: &(dyn Fn(&Event) + Send + Sync),
    ) {
        while !stop.is_cancelled() {
            // A store that fails for a moment (a lock, a restart) fails one pass, not the
            // scheduler. The next pass redoes what this one did not get to; a tick taken before
            // the failure is never taken again.
            let now = clock.now();
            let pass = async {
                let (mut events, next) = self.tick(now).await?;
                events.extend(self.prune_if_due(now).await?);
                Ok::<_, slipway_store::Error>((events, next))
            };
            let next = match pass.await {
                Ok((events, next)) => {
                    events.iter().for_each(report);
                    next
                }
                Err(error) => {
                    let mut message = error.to_string();
                    let mut source = std::error::Error::source(&error);
                    while let Some(cause) = source {
                        message = format!("{message}: {cause}");
                        source = cause.source();
                    }
                    report(&Event::Failed { message });
                    None
                }
            };
            tokio::select! {
                () = clock.sleep(next, Duration::from_secs(1)) => {}
                () = stop.cancelled() => break,
            }
        }
    }
}
