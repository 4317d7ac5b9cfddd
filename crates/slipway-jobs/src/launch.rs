//! One run, from order to record: the matrix entry's marker resolved, the executor chosen with
//! its configuration, then [`runner::execute`] (the `max_concurrency` slot, checkout, the
//! command, artifacts, the record). `slipway job run` and `slipway schedule` both launch runs
//! here, so a run started by hand and one started on time are the same run.

use std::path::PathBuf;

use slipway_store::Trigger;

use crate::exec::{self, CancellationToken};
use crate::job::Job;
use crate::runner::{self, Context, Overrides, Report, Request, RunError};
use slipway_env::markers::{MarkerSource, Resolved};

/// The JSON schema of the runs `slipway job run` reports: `{runs: [...]}`, each as the store
/// records it.
pub const SCHEMA: &str = "slipway.job.run/v1";

/// What every run of one slipway process shares.
pub struct Setup {
    /// The store and the artifact storage.
    pub context: Context,
    /// Where matrix markers are read (and cached).
    pub markers: MarkerSource,
    /// The project directory: a job without refs runs here.
    pub project: PathBuf,
    /// Where runs keep their local copies (`.slipway/runs`).
    pub runs_dir: PathBuf,
    /// How container jobs reach registries.
    pub executors: exec::Settings,
    /// Where jobs' leases come from, if a lease server is configured.
    pub leases: Option<crate::leases::LeaseServer>,
    /// Where `environment: kind` jobs get their clusters.
    pub environments: Option<slipway_env::provider::Provider>,
    client: reqwest::Client,
}

/// One run to start.
pub struct Order<'a> {
    pub job: &'a Job,
    /// The matrix entry (`stable-1.30`, `v1.31.2`), for a matrix job.
    pub entry: Option<String>,
    pub trigger: Trigger,
    /// The scheduler's tick it is for.
    pub due_at: Option<i64>,
    pub overrides: Overrides,
    /// Copy the job's output to slipway's stderr as it comes.
    pub follow: bool,
    /// Told what happens before the command starts.
    pub observer: Option<&'a dyn Observer>,
}

/// What a caller hears about a run before its command starts; each method does nothing unless
/// implemented.
pub trait Observer: Sync {
    /// A matrix entry that names a marker was read: `stable-1.30` is `v1.30.14`.
    fn resolved(&self, _job: &Job, _resolved: &Resolved) {}
    /// The run waits for a `max_concurrency` slot while `_going` runs of the job go.
    fn waiting(&self, _job: &Job, _going: usize) {}
    /// The run waits for a lease of type `_kind` to be free.
    fn waiting_for_lease(&self, _job: &Job, _kind: &str) {}
    /// Something happened to the run's test environment (a cluster created or deleted).
    fn environment(&self, _job: &Job, _what: &str) {}
}

impl Setup {
    pub fn new(
        context: Context,
        markers: MarkerSource,
        project: PathBuf,
        runs_dir: PathBuf,
        executors: exec::Settings,
    ) -> Setup {
        Setup {
            context,
            markers,
            project,
            runs_dir,
            executors,
            leases: None,
            environments: None,
            client: reqwest::Client::new(),
        }
    }

    /// Runs take their leases from `server`.
    #[must_use]
    pub fn with_leases(self, server: Option<crate::leases::LeaseServer>) -> Setup {
        Setup { leases: server, ..self }
    }

    /// `environment: kind` jobs get their clusters from `provider`.
    #[must_use]
    pub fn with_environments(self, provider: Option<slipway_env::provider::Provider>) -> Setup {
        Setup { environments: provider, ..self }
    }

    /// Finds the runs a slipway process left running when it died, stops what they left
    /// running on this machine, records them as errors and finishes their build directories.
    pub async fn reap_lost(&self) -> Result<Vec<crate::lost::Lost>, RunError> {
        crate::lost::reap(&self.context).await
    }

    /// Runs `order` to its end and records it.
    pub async fn launch(&self, order: Order<'_>, cancel: CancellationToken) -> Result<Report, RunError> {
        let Order { job, entry, trigger, due_at, overrides, follow, observer } = order;
        let resolved = match &entry {
            Some(entry) => {
                let resolved = self.markers.resolve(&self.client, entry).await?;
                if let Some(observer) = observer
                    && resolved.source != "given"
                {
                    observer.resolved(job, &resolved);
                }
                Some(resolved)
            }
            None => None,
        };
        let executor = exec::for_run(&job.run, &self.executors);
        let waiting = |going: usize| {
            if let Some(observer) = observer {
                observer.waiting(job, going);
            }
        };
        let lease_waiting = |kind: &str| {
            if let Some(observer) = observer {
                observer.waiting_for_lease(job, kind);
            }
        };
        let environment_told = |what: &str| {
            if let Some(observer) = observer {
                observer.environment(job, what);
            }
        };
        let request = Request {
            job,
            entry: resolved,
            trigger,
            due_at,
            project: self.project.clone(),
            runs_dir: self.runs_dir.clone(),
            overrides,
            follow,
            on_wait: Some(&waiting),
            leases: self.leases.as_ref(),
            on_lease_wait: Some(&lease_waiting),
            environments: self.environments.as_ref(),
            on_environment: Some(&environment_told),
        };
        runner::execute(&self.context, request, executor.as_ref(), cancel).await
    }
}
