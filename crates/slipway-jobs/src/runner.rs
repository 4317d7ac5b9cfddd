//! One run of a job, from start to record: build id, workspace, environment, executor,
//! artifacts in the Prow layout, and the run's row in the store.
//!
//! Order matters, so nothing is lost and nothing is left stuck:
//! 1. the build id is claimed in the artifact storage (an unreachable bucket fails here, before
//!    anything is recorded);
//! 2. the run is recorded as running, `started.json` and `latest-build.txt` are written;
//! 3. the job runs; a heartbeat keeps its row fresh;
//! 4. artifacts, `build-log.txt`, `prowjob.json` and, last, `finished.json` are uploaded;
//! 5. the row gets its final state, whatever happened in 3 or 4 (the local copies under
//!    `.slipway/runs/` stay, so an upload that failed loses nothing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use slipway_artifacts::{BuildDir, Finished, JobResult, ProwJob, ProwJobState, Started, Storage};
use slipway_store::{RunState, Store, Trigger};

use crate::checkout::{Checkout, checkout, primary_ref};
use crate::exec::{CancellationToken, ExecError, Executor, Launch, Mount, Outcome};
use crate::job::{Job, Run};
use crate::matrix::skip_regex;
use crate::spec::RefSpec;
use slipway_env::markers::Resolved;

/// Where the run's code comes from when it has refs, and what a caller adds.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Extra environment (`--env NAME=VALUE`), replacing the job's.
    pub env: BTreeMap<String, String>,
    /// Host directories for volumes (`--volume NAME=PATH`).
    pub volumes: BTreeMap<String, PathBuf>,
    /// Where `org/repo` comes from (`--ref org/repo=PATH_OR_URL`): a local working tree is
    /// used as it is, anything else is cloned.
    pub refs: BTreeMap<String, String>,
    /// The base ref of the job's own repository (pre- and postsubmits); default: the first
    /// branch the job's `branches` names literally (`^release-1\.36$`), else the repository's
    /// default branch.
    pub base_ref: Option<String>,
    /// The pull policy (`--pull`), replacing the job's.
    pub pull: Option<crate::exec::PullPolicy>,
    /// Keep the run's test environment (`--keep-env`) instead of deleting it.
    pub keep_environment: bool,
}

/// Everything one run needs.
pub struct Request<'a> {
    pub job: &'a Job,
    /// The matrix entry this run is for.
    pub entry: Option<Resolved>,
    pub trigger: Trigger,
    /// The scheduler tick it runs for.
    pub due_at: Option<i64>,
    /// The project directory (a job without refs runs here).
    pub project: PathBuf,
    /// Where runs keep their local copies (`.slipway/runs`).
    pub runs_dir: PathBuf,
    pub overrides: Overrides,
    pub follow: bool,
    /// Told (once) when the run waits for a `max_concurrency` slot, with how many runs of the
    /// job are going.
    pub on_wait: Option<&'a (dyn Fn(usize) + Sync)>,
    /// Where the job's leases come from (and what `BOSKOS_HOST` says), if configured.
    pub leases: Option<&'a crate::leases::LeaseServer>,
    /// Told (once per type) when the run waits for a lease to be free.
    pub on_lease_wait: Option<&'a (dyn Fn(&str) + Sync)>,
    /// Where `environment: kind` jobs get their clusters.
    pub environments: Option<&'a slipway_env::provider::Provider>,
    /// Told when the run's cluster is up, and when it is deleted or kept.
    pub on_environment: Option<&'a (dyn Fn(&str) + Sync)>,
}

/// The shared parts: the store and the artifact storage.
pub struct Context {
    pub store: Store,
    pub storage: Storage,
    /// This machine's name, recorded as the run's owner.
    pub host: String,
}

/// How a run went.
#[derive(Debug, Clone)]
pub struct Report {
    pub run: slipway_store::Run,
    pub outcome: Option<Outcome>,
    /// Things people should know (volumes mounted empty, secrets not available, uploads that
    /// failed).
    pub notes: Vec<String>,
}

/// Why a run could not happen or could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Artifacts(#[from] slipway_artifacts::Error),
    #[error(transparent)]
    Store(#[from] slipway_store::Error),
    #[error(transparent)]
    Checkout(Box<crate::checkout::CheckoutError>),
    /// A matrix entry's marker could not be read; nothing was recorded.
    #[error(transparent)]
    Marker(#[from] slipway_env::markers::MarkerError),
    #[error("job `{job}`: could not prepare `{}`", path.display())]
    Files {
        job: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The run's test environment (`environment: kind`) could not be brought up; the run is
    /// recorded as `error`.
    #[error("job `{job}`: {message}")]
    Environment { job: String, message: String },
    /// The job's leases could not be taken; the run is recorded (aborted when interrupted).
    #[error(transparent)]
    Lease(#[from] crate::leases::LeaseError),
    /// Interrupted while waiting for a slot; the run is recorded as aborted.
    #[error("job `{job}`: interrupted while waiting for a slot (max_concurrency)")]
    Interrupted { job: String },
    /// The executor could not run the job; the run is recorded as `error`.
    #[error("{source}")]
    Exec {
        report: Box<Report>,
        #[source]
        source: ExecError,
    },
}

impl RunError {
    pub fn exit_code(&self) -> u8 {
        use slipway_core::exit;
        match self {
            RunError::Artifacts(error) => error.exit_code(),
            RunError::Store(error) => error.exit_code(),
            RunError::Marker(error) => error.exit_code(),
            RunError::Environment { .. } => exit::INFRASTRUCTURE,
            RunError::Checkout(error) if error.input => exit::USAGE,
            RunError::Checkout(_) | RunError::Files { .. } => exit::INFRASTRUCTURE,
            RunError::Interrupted { .. } => exit::INTERRUPTED,
            RunError::Lease(error) => error.exit_code(),
            RunError::Exec { source, .. } => source.exit_code(),
        }
    }
}

/// The job name a run uses in the artifact layout: the job's, plus the matrix entry
/// (`e2e` on `stable-1.30` is `e2e-stable-1-30`).
pub fn layout_name(job: &str, entry: Option<&str>) -> String {
    match entry {
        None => job.to_owned(),
        Some(entry) => {
            let suffix: String =
                entry.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
            format!("{job}-{suffix}")
        }
    }
}

/// The Prow job type of a job: what `job import-prow` recorded, else `periodic`.
pub fn job_type(job: &Job) -> String {
    job.spec
        .prow
        .as_ref()
        .and_then(|prow| prow.get("type"))
        .and_then(|value| value.as_str())
        .unwrap_or("periodic")
        .to_owned()
}

/// Runs `request` to its end and records it.
pub async fn execute(
    context: &Context,
    request: Request<'_>,
    executor: &dyn Executor,
    cancel: CancellationToken,
) -> Result<Report, RunError> {
    let job = request.job;
    let entry = request.entry.as_ref().map(|resolved| resolved.entry.as_str());
    let layout_job = layout_name(&job.name, entry);
    let now = jiff::Timestamp::now();
    let build = BuildDir::allocate(context.storage.clone(), &layout_job, now.as_millisecond().unsigned_abs()).await?;
    let build_id = build.build_id().to_string();
    let started_at = now.as_second();
    let mut prowjob = ProwJob::new(&layout_job, build.build_id(), serde_json::Map::new(), started_at);
    // The ProwJob's name is the run's id, as PROW_JOB_ID is in Prow.
    let id = prowjob.name.clone();

    let run_dir = request.runs_dir.join(&layout_job).join(&build_id);
    let artifacts = run_dir.join("artifacts");
    let log = run_dir.join("build-log.txt");
    let mut record = slipway_store::Run {
        id: id.clone(),
        job: layout_job.clone(),
        base_job: job.name.clone(),
        build_id: build_id.clone(),
        variant: entry.unwrap_or_default().to_owned(),
        trigger: request.trigger,
        state: RunState::Running,
        due_at: request.due_at,
        created_at: started_at,
        started_at: Some(started_at),
        finished_at: None,
        heartbeat_at: started_at,
        exit_code: None,
        description: "running".to_owned(),
        executor: executor.name().to_owned(),
        owner_host: context.host.clone(),
        owner_pid: i64::from(std::process::id()),
        artifacts: build.url(),
        log_path: log.display().to_string(),
        revision: String::new(),
    };
    // The slot is taken in the store, atomically: the count and the insert are one transaction.
    let mut told = false;
    loop {
        // A run starts when it gets its slot, not when it began to wait.
        let now = jiff::Timestamp::now().as_second();
        (record.started_at, record.heartbeat_at) = (Some(now), now);
        if context.store.insert_run_capped(&record, job.max_concurrency).await? {
            break;
        }
        if !told {
            let going = context.store.running().await?.iter().filter(|run| run.base_job == job.name).count();
            if let Some(on_wait) = request.on_wait {
                on_wait(going);
            }
            told = true;
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            () = cancel.cancelled() => {
                let error = RunError::Interrupted { job: job.name.clone() };
                let unstarted = Unstarted { context, build: &build, record: &record, log: &log };
                return Err(unstarted.record(prowjob, RunState::Aborted, false, error).await);
            }
        }
    }
    let started_at = record.started_at.unwrap_or(started_at);
    // From here the run can be aborted from anywhere (the UI, `runs abort`): the store says so.
    let cancel = cancel.child_token();
    let watcher = AbortWatcher::start(context.store.clone(), id.clone(), cancel.clone());
    let unstarted = Unstarted { context, build: &build, record: &record, log: &log };

    // Everything before the command starts can fail; such a run is finished and recorded
    // (finished.json says ERROR, `runs list` says why), never left looking like it runs. Leases
    // come after the slot, so a run waiting for its turn holds none.
    let lease_waiting = |kind: &str| {
        if let Some(on_lease_wait) = request.on_lease_wait {
            on_lease_wait(kind);
        }
        // `runs list` shows why the run has not started its command yet.
        let (store, id, text) = (context.store.clone(), id.clone(), format!("waiting for a {kind} lease"));
        tokio::spawn(async move { store.set_description(&id, &text).await });
    };
    let held =
        match crate::leases::take(request.leases, &job.name, &job.leases, job.timeout, &cancel, &lease_waiting).await {
            Ok(held) => held,
            Err(error) => {
                let state = if matches!(error, crate::leases::LeaseError::Interrupted { .. }) {
                    RunState::Aborted
                } else {
                    RunState::Error
                };
                return Err(unstarted.record(prowjob, state, true, error.into()).await);
            }
        };
    let prepared = prepare(job, &request, &kind_of(job), &id, &layout_job, &build_id, &run_dir, &artifacts).await;
    let Prepared { workspace, workdir, checkouts, mut env, mut volumes, refs, mut notes } = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            if let Some(held) = held {
                held.give_back().await;
            }
            return Err(unstarted.record(prowjob, RunState::Error, true, error).await);
        }
    };
    let environment = match bring_up(job, &request, &build_id).await {
        Ok(environment) => environment,
        Err(error) => {
            if let Some(held) = held {
                held.give_back().await;
            }
            return Err(unstarted.record(prowjob, RunState::Error, true, error).await);
        }
    };
    if let Some(environment) = &environment {
        env.extend(environment.variables());
        notes.push(format!("kind cluster {} on {}", environment.record.name, environment.record.image));
        // A container reaches the cluster as the host does: its kubeconfig at the same path,
        // on the host's network (the API server listens on the host's loopback).
        if let Some(directory) = environment.record.kubeconfig.parent() {
            volumes.push(Mount {
                name: "kind-kubeconfig".to_owned(),
                host: Some(directory.to_path_buf()),
                target: directory.display().to_string(),
                read_only: true,
            });
        }
    }
    let mut secrets = job.secrets.clone();
    for file in &job.secret_files {
        // A file that cannot be read has nothing to leak; the job will say it is missing.
        if let Ok(text) = fs_err::read_to_string(request.project.join(file)) {
            secrets.push(text.trim().to_owned());
            secrets.extend(text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned));
        }
    }
    if let Some(server) = request.leases {
        // Prow jobs reach Boskos through BOSKOS_HOST (a preset's in-cluster name): this one.
        let host = server.server.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/');
        let host = host.to_owned();
        env.insert("BOSKOS_HOST".to_owned(), host);
    }
    if let Some(held) = &held {
        env.extend(held.environment());
        secrets.extend(held.secrets());
        notes.push(format!("leased {}; given back dirty when the run ends", held.names().join(", ")));
    }
    let kind = kind_of(job);
    if let Some(checkout) = checkouts.first() {
        record.revision = checkout.revision();
        context.store.set_revision(&id, &record.revision).await?;
    }

    prowjob.spec = prowjob_spec(job, &kind, &layout_job, &refs);
    let started = Started {
        timestamp: started_at,
        repos: checkouts.iter().map(|checkout| (checkout.key.clone(), checkout.refs())).collect(),
        repo_commit: checkouts.first().map(|checkout| checkout.head.clone()),
        ..Started::default()
    };
    if let Err(error) = build.start(&started, &prowjob).await {
        if let Some(held) = held {
            held.give_back().await;
        }
        let description = format!("could not write started.json: {error}");
        context.store.finish_run(&id, RunState::Error, None, &description, jiff::Timestamp::now().as_second()).await?;
        return Err(error.into());
    }

    let launch = Launch {
        job: layout_job.clone(),
        run_id: id.clone(),
        run: job.run.clone(),
        env,
        workspace,
        workdir,
        artifacts: artifacts.clone(),
        volumes,
        timeout: job.timeout,
        grace_period: job.grace_period,
        log: log.clone(),
        follow: request.follow,
        pull: request.overrides.pull.unwrap_or(job.pull_policy),
        secrets,
        host_network: environment.is_some(),
    };
    let heartbeat = heartbeat(context.store.clone(), id.clone());
    let result = executor.run(launch, cancel).await;
    heartbeat.abort();
    if let Some(held) = held {
        notes.extend(held.give_back().await);
    }
    if let Some(environment) = environment {
        let what = take_down(environment, request.overrides.keep_environment).await;
        if let Some(told) = request.on_environment {
            told(&what);
        }
        notes.push(what);
    }

    let finished_at = jiff::Timestamp::now().as_second();
    let (state, exit_code, mut description) = match &result {
        Ok(outcome) => describe(outcome),
        Err(error) => (RunState::Error, None, error.to_string()),
    };
    if state == RunState::Aborted && watcher.asked() {
        description = "aborted on request".to_owned();
    }
    if let Err(error) = &result
        && !log.exists()
    {
        // The executor failed before the log existed: the log says why.
        let _ = fs_err::write(&log, format!("slipway: {error}\n"));
    }
    let finished = Finished {
        timestamp: Some(finished_at),
        passed: Some(state == RunState::Success),
        result: Some(match state {
            RunState::Success => JobResult::Success,
            RunState::Aborted => JobResult::Aborted,
            RunState::Failure => JobResult::Failure,
            _ => JobResult::Other("ERROR".to_owned()),
        }),
        revision: checkouts.first().map(|checkout| checkout.head.clone()),
        ..Finished::default()
    };
    let mut final_record = slipway_store::Run {
        state,
        exit_code,
        description: description.clone(),
        finished_at: Some(finished_at),
        ..record
    };
    prowjob.complete(
        match state {
            RunState::Success => ProwJobState::Success,
            RunState::Failure => ProwJobState::Failure,
            RunState::Aborted => ProwJobState::Aborted,
            _ => ProwJobState::Error,
        },
        finished_at,
    );
    prowjob.description = Some(description.clone());
    let mut final_description = description;
    match build.finish(&log, Some(&artifacts), &finished, &prowjob).await {
        Ok(uploaded) => notes.extend(
            uploaded.skipped.iter().map(|(path, reason)| format!("artifact `{path}` was not uploaded: {reason}")),
        ),
        Err(error) => {
            final_description =
                format!("{final_description}; artifacts not uploaded ({error}); local copy in {}", run_dir.display());
            notes.push(format!("could not upload the artifacts: {error}; they are kept in {}", run_dir.display()));
        }
    }
    // Descriptions end up in the store, `runs list` and CI logs: no URL keeps its password.
    let final_description = slipway_core::redact::urls(&final_description);
    let notes: Vec<String> = notes.iter().map(|note| slipway_core::redact::urls(note)).collect();
    context.store.finish_run(&id, state, exit_code, &final_description, finished_at).await?;
    final_record.description = final_description;
    let report = Report { run: final_record, outcome: result.as_ref().ok().copied(), notes };
    match result {
        Ok(_) => Ok(report),
        Err(source) => Err(RunError::Exec { report: Box::new(report), source }),
    }
}

/// The run's kind cluster, for an `environment: kind` job.
async fn bring_up(
    job: &Job,
    request: &Request<'_>,
    build_id: &str,
) -> Result<Option<slipway_env::provider::Environment>, RunError> {
    let Some(crate::job::Environment::Kind) = job.environment else {
        return Ok(None);
    };
    let failed = |message: String| RunError::Environment { job: job.name.clone(), message };
    let provider = request.environments.ok_or_else(|| failed("no test environments are configured".into()))?;
    // Unique per run, short enough for kind (and for the container names it derives).
    let suffix = &build_id[build_id.len().saturating_sub(6)..];
    let name = format!("slipway-{}-{suffix}", job.name);
    let wanted = request.entry.as_ref().map(|resolved| resolved.entry.as_str());
    let environment = provider.up(wanted, &name).await.map_err(failed)?;
    if let Some(told) = request.on_environment {
        told(&format!(
            "kind cluster {} is up on {} (KUBECONFIG={})",
            environment.record.name,
            environment.record.image,
            environment.record.kubeconfig.display()
        ));
    }
    Ok(Some(environment))
}

/// Deletes the run's cluster, or keeps it (`--keep-env`); says which.
async fn take_down(environment: slipway_env::provider::Environment, keep: bool) -> String {
    let name = environment.record.name.clone();
    if keep {
        return format!("kind cluster {name} is kept (--keep-env): slipway env down {name} deletes it");
    }
    match environment.down().await {
        Ok(()) => format!("kind cluster {name} is deleted"),
        Err(error) => format!("could not delete kind cluster {name}: {error}"),
    }
}

/// What a run needs before its command starts.
struct Prepared {
    workspace: PathBuf,
    workdir: Option<String>,
    checkouts: Vec<Checkout>,
    env: BTreeMap<String, String>,
    volumes: Vec<Mount>,
    refs: Vec<RefSpec>,
    notes: Vec<String>,
}

fn kind_of(job: &Job) -> String {
    job_type(job)
}

/// Creates the run's directories, checks out its refs, and builds its environment and volumes.
#[expect(clippy::too_many_arguments, reason = "the facts of one run, each used once")]
async fn prepare(
    job: &Job,
    request: &Request<'_>,
    kind: &str,
    id: &str,
    layout_job: &str,
    build_id: &str,
    run_dir: &Path,
    artifacts: &Path,
) -> Result<Prepared, RunError> {
    create_dir(&job.name, artifacts)?;
    let entry = request.entry.as_ref();
    let mut notes = Vec::new();
    let mut refs = primary_ref(job, kind, &request.overrides).into_iter().collect::<Vec<_>>();
    refs.extend(job.extra_refs.iter().cloned());
    let (workspace, workdir, checkouts) = if refs.is_empty() {
        (request.project.clone(), job.workdir.clone(), Vec::new())
    } else {
        let workspace = run_dir.join("workspace");
        // slipway's own state is never copied from a working tree into the run.
        let excluded = [request.project.join(".slipway"), request.runs_dir.clone()];
        let checkouts = checkout(job, &mut refs, &workspace, &request.overrides, &excluded).await?;
        notes.extend(checkouts.iter().flat_map(|checkout| checkout.notes.iter().cloned()));
        let main = refs.iter().position(|reference| reference.workdir).unwrap_or(0);
        let mut workdir = format!("src/{}", refs[main].checkout_path());
        if let Some(extra) = &job.workdir {
            workdir = format!("{workdir}/{extra}");
        }
        (workspace, Some(workdir), checkouts)
    };

    let mut env = BTreeMap::new();
    env.insert("CI".to_owned(), "true".to_owned());
    env.insert("JOB_NAME".to_owned(), layout_job.to_owned());
    env.insert("JOB_TYPE".to_owned(), kind.to_owned());
    env.insert("BUILD_ID".to_owned(), build_id.to_owned());
    env.insert("PROW_JOB_ID".to_owned(), id.to_owned());
    env.insert(crate::exec::RUN_ID_VARIABLE.to_owned(), id.to_owned());
    if let Some(resolved) = entry {
        env.insert("KUBERNETES_VERSION".to_owned(), resolved.version.clone());
        env.insert("SKIP_REGEX".to_owned(), skip_regex(&job.skip, &resolved.version));
    } else if !job.skip.is_empty() {
        notes.push("skip rules apply only to matrix runs; this job has no matrix".to_owned());
    }
    if let Some(focus) = &job.spec.focus {
        env.insert("FOCUS_REGEX".to_owned(), focus.clone());
    }
    if let Some(primary) = refs.first().filter(|_| kind != "periodic") {
        env.insert("REPO_OWNER".to_owned(), primary.org.clone());
        env.insert("REPO_NAME".to_owned(), primary.repo.clone());
        env.insert("PULL_BASE_REF".to_owned(), primary.base_ref.clone().unwrap_or_default());
        if let Some(checkout) = checkouts.first() {
            env.insert("PULL_BASE_SHA".to_owned(), checkout.base_sha.clone());
            env.insert("PULL_REFS".to_owned(), checkout.refs());
        }
    }
    env.insert("JOB_SPEC".to_owned(), job_spec(kind, layout_job, build_id, id, &refs, &checkouts).to_string());
    env.extend(job.env.clone());
    env.extend(request.overrides.env.clone());

    let mut volumes = Vec::new();
    for volume in &job.volumes {
        let host = match (request.overrides.volumes.get(&volume.name), &volume.host_path) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(path)) => Some(PathBuf::from(path)),
            (None, None) => {
                if let Some(reason) = &volume.unavailable {
                    notes.push(format!(
                        "volume `{}` ({reason}) at {} is not available here; it is mounted empty (map it with --volume {}=PATH)",
                        volume.name, volume.mount_path, volume.name
                    ));
                }
                None
            }
        };
        volumes.push(Mount {
            name: volume.name.clone(),
            host,
            target: volume.mount_path.clone(),
            read_only: volume.read_only,
        });
    }
    if matches!(job.run, Run::Container { .. }) && !refs.is_empty() {
        // Prow's decorated pods have the code under /home/prow/go/src; scripts rely on it.
        volumes.push(Mount {
            name: "prow-gopath-src".to_owned(),
            host: Some(workspace.join("src")),
            target: "/home/prow/go/src".to_owned(),
            read_only: false,
        });
        env.entry("GOPATH".to_owned()).or_insert_with(|| "/home/prow/go".to_owned());
    }
    Ok(Prepared { workspace, workdir, checkouts, env, volumes, refs, notes })
}

/// A run that ended before its command started.
struct Unstarted<'a> {
    context: &'a Context,
    build: &'a BuildDir,
    record: &'a slipway_store::Run,
    log: &'a Path,
}

impl Unstarted<'_> {
    /// Finishes the build (its log says why; finished.json says ERROR or ABORTED) and the record
    /// (inserting it when it was not yet), then hands back the error.
    async fn record(&self, mut prowjob: ProwJob, state: RunState, inserted: bool, error: RunError) -> RunError {
        let finished_at = jiff::Timestamp::now().as_second();
        let description = slipway_core::redact::urls(&error.to_string());
        if let Some(directory) = self.log.parent() {
            let _ = create_dir(&self.record.base_job, directory);
        }
        let _ = fs_err::write(self.log, format!("slipway: {description}\n"));
        let aborted = state == RunState::Aborted;
        let finished = Finished {
            timestamp: Some(finished_at),
            passed: Some(false),
            result: Some(if aborted { JobResult::Aborted } else { JobResult::Other("ERROR".to_owned()) }),
            ..Finished::default()
        };
        prowjob.complete(if aborted { ProwJobState::Aborted } else { ProwJobState::Error }, finished_at);
        prowjob.description = Some(description.clone());
        // Best effort: the error being reported matters more than a failed upload of its trace.
        let _ = self.build.finish(self.log, None, &finished, &prowjob).await;
        let stored = if inserted {
            self.context.store.finish_run(&self.record.id, state, None, &description, finished_at).await
        } else {
            let run = slipway_store::Run {
                state,
                finished_at: Some(finished_at),
                description: description.clone(),
                ..self.record.clone()
            };
            self.context.store.insert_run(&run).await
        };
        match stored {
            Ok(()) => error,
            Err(store) => RunError::Store(store),
        }
    }
}

/// The run's state, exit code and a sentence about it.
fn describe(outcome: &Outcome) -> (RunState, Option<i64>, String) {
    match *outcome {
        Outcome::Exited { code: 0 } => (RunState::Success, Some(0), "passed".to_owned()),
        Outcome::Exited { code } => (RunState::Failure, Some(i64::from(code)), format!("failed: exit code {code}")),
        Outcome::Signalled { signal } => (RunState::Failure, None, format!("failed: killed by signal {signal}")),
        Outcome::TimedOut { after, killed } => (
            RunState::Failure,
            None,
            format!(
                "timed out after {}{}",
                crate::duration::format(after),
                if killed { "; killed after the grace period" } else { "" }
            ),
        ),
        Outcome::Aborted { .. } => (RunState::Aborted, None, "aborted".to_owned()),
    }
}

pub(crate) fn create_dir(job: &str, path: &Path) -> Result<(), RunError> {
    #[expect(clippy::disallowed_methods, reason = "RunError::Files names the path")]
    std::fs::create_dir_all(path).map_err(|source| RunError::Files {
        job: job.to_owned(),
        path: path.to_path_buf(),
        source,
    })
}

/// `JOB_SPEC`, as Prow's downward API writes it.
fn job_spec(
    kind: &str,
    job: &str,
    build_id: &str,
    id: &str,
    refs: &[RefSpec],
    checkouts: &[Checkout],
) -> serde_json::Value {
    let describe = |reference: &RefSpec| {
        let sha = checkouts
            .iter()
            .find(|checkout| checkout.key == format!("{}/{}", reference.org, reference.repo))
            .map(|checkout| checkout.base_sha.clone());
        serde_json::json!({
            "org": reference.org,
            "repo": reference.repo,
            "base_ref": reference.base_ref,
            "base_sha": sha,
            "path_alias": reference.path_alias,
            "workdir": reference.workdir,
        })
    };
    let mut spec = serde_json::json!({ "type": kind, "job": job, "buildid": build_id, "prowjobid": id });
    if kind != "periodic"
        && let Some(primary) = refs.first()
    {
        spec["refs"] = describe(primary);
        spec["extra_refs"] = refs.iter().skip(1).map(describe).collect();
    } else {
        spec["extra_refs"] = refs.iter().map(describe).collect();
    }
    spec
}

/// The `spec` of the run's ProwJob: what Prow would have, plus the slipway job it came from.
fn prowjob_spec(
    job: &Job,
    kind: &str,
    layout_job: &str,
    refs: &[RefSpec],
) -> serde_json::Map<String, serde_json::Value> {
    let mut spec = serde_json::Map::new();
    spec.insert("type".to_owned(), kind.into());
    spec.insert("agent".to_owned(), "slipway".into());
    spec.insert("job".to_owned(), layout_job.into());
    if kind != "periodic"
        && let Some(primary) = refs.first()
    {
        spec.insert("refs".to_owned(), serde_json::json!(primary));
        spec.insert("extra_refs".to_owned(), serde_json::json!(refs[1..]));
    } else {
        spec.insert("extra_refs".to_owned(), serde_json::json!(refs));
    }
    if job.max_concurrency > 0 {
        spec.insert("max_concurrency".to_owned(), job.max_concurrency.into());
    }
    // The job as written, with its secret values masked: prowjob.json is an artifact anyone
    // with the bucket reads.
    let mut written = serde_json::to_value(&job.spec).unwrap_or_default();
    mask(&mut written, &slipway_core::redact::Masker::new(&job.secrets));
    spec.insert("slipway".to_owned(), written);
    spec
}

/// `value` with every secret in its strings replaced by `***`.
fn mask(value: &mut serde_json::Value, masker: &slipway_core::redact::Masker) {
    if masker.is_empty() {
        return;
    }
    match value {
        serde_json::Value::String(text) => *text = masker.text(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| mask(item, masker)),
        serde_json::Value::Object(entries) => entries.values_mut().for_each(|entry| mask(entry, masker)),
        _ => {}
    }
}

/// Watches the store for a request to abort a run (every second) and cancels it; stops when
/// dropped.
struct AbortWatcher {
    task: tokio::task::JoinHandle<()>,
    asked: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl AbortWatcher {
    fn start(store: Store, id: String, cancel: CancellationToken) -> AbortWatcher {
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = asked.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                if store.abort_requested(&id).await.unwrap_or(false) {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    cancel.cancel();
                    return;
                }
            }
        });
        AbortWatcher { task, asked }
    }

    /// Whether the run was stopped because someone asked.
    fn asked(&self) -> bool {
        self.asked.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for AbortWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn heartbeat(store: Store, id: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let _ = store.heartbeat(&id, jiff::Timestamp::now().as_second()).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_names() {
        assert_eq!(layout_name("e2e", None), "e2e");
        assert_eq!(layout_name("e2e", Some("stable-1.30")), "e2e-stable-1-30");
        assert_eq!(layout_name("e2e", Some("ci/latest")), "e2e-ci-latest");
        assert_eq!(layout_name("e2e", Some("v1.31.2")), "e2e-v1-31-2");
    }
}
