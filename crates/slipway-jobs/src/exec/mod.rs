//! Executors: where a job's process runs, and how it is stopped.
//!
//! One trait, [`Executor`], with two implementations chosen at run time: [`LocalProcess`] runs a
//! host job's argument vector in its own process group, [`Container`] runs a container job
//! through podman (or docker). Both write the job's stdout and stderr, interleaved as they
//! arrive, to `build-log.txt`, and both follow Prow's decoration semantics: after `timeout` the
//! job gets SIGTERM, after a further `grace_period` SIGKILL, and the log ends with a line saying
//! what slipway did. A cancelled run (Ctrl-C in the caller) is stopped the same way and reports
//! [`Outcome::Aborted`].
//!
//! Decisions that are not obvious from the code:
//! - A host job is a process group, like a container is a PID namespace: when its main process
//!   exits, whatever it left running in the group is killed (as the kernel does in a container
//!   when PID 1 exits), so no background process outlives the run or holds the log open.
//! - Containers are created, then started attached (`create` + `start --attach`) rather than
//!   `run`, so that the engine's own failures (exit code 125 from `run`) are told apart from the
//!   job's exit code by the container's state, and so that a container always exists by name
//!   when slipway needs to signal it. `--init` puts a tiny init in front of the command, so the
//!   job's process gets SIGTERM with default dispositions as it would under Prow's entrypoint.
//! - A killed host job's orphans are waited for (up to 2s) until they have really exited, so no
//!   process of the job outlives [`Executor::run`].
//! - Every process of a run carries its id in `SLIPWAY_RUN_ID`, and its container the label
//!   `slipway.run`, so what a run leaves when slipway itself is killed can be found and stopped
//!   later ([`orphans`]).
//! - The pure rules (outcome, the log's closing line, workdir and mount checks, the engine's
//!   arguments) are plain functions; the I/O sits in `local`, `container`, `output` and
//!   `supervise`.

mod container;
pub mod init;
mod local;
pub mod orphans;
mod output;
mod supervise;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

pub use tokio_util::sync::CancellationToken;

pub use container::{Container, Engine};
pub use local::LocalProcess;
pub use slipway_job_model::PullPolicy;

use crate::duration;
use crate::job::Run;

/// Where the artifacts directory is mounted in a container, and what `ARTIFACTS` says there.
pub const CONTAINER_ARTIFACTS: &str = "/logs/artifacts";
/// Where the workspace is mounted in a container.
pub const CONTAINER_WORKSPACE: &str = "/workspace";
/// The environment variable that carries the run's id in every process of a run.
pub const RUN_ID_VARIABLE: &str = "SLIPWAY_RUN_ID";
/// The container label that carries the run's id.
pub const RUN_LABEL: &str = "slipway.run";

/// Everything an executor needs to run one job once.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The job's name, for messages and the container's name.
    pub job: String,
    /// The run's id. Every process of the run has it in its environment as [`RUN_ID_VARIABLE`]
    /// and its container carries it as the label [`RUN_LABEL`], so a run whose slipway died can
    /// be found and stopped later ([`orphans`]).
    pub run_id: String,
    /// A host argument vector, or a container image with its command and args.
    pub run: Run,
    /// The complete environment additions (`JOB_NAME`, `BUILD_ID`, ...). `ARTIFACTS` is set by
    /// the executor: the host directory for a local process, [`CONTAINER_ARTIFACTS`] in a
    /// container.
    pub env: BTreeMap<String, String>,
    /// A host directory: the working directory of a local process, mounted at
    /// [`CONTAINER_WORKSPACE`] in a container.
    pub workspace: PathBuf,
    /// The working directory relative to the workspace (created when missing).
    pub workdir: Option<String>,
    /// A host directory for the job's artifacts (created when missing).
    pub artifacts: PathBuf,
    /// Volumes of a container job ([`LocalProcess`] ignores them).
    pub volumes: Vec<Mount>,
    /// From the start of the job's process; a container's image pull does not count (Prow
    /// counts it against the pod's pending timeout).
    pub timeout: Duration,
    /// Between SIGTERM and SIGKILL.
    pub grace_period: Duration,
    /// `build-log.txt`: stdout and stderr interleaved as they come (created, or truncated).
    pub log: PathBuf,
    /// Also copy the job's output live to slipway's stderr.
    pub follow: bool,
    /// When a container job pulls its image.
    pub pull: PullPolicy,
    /// Values masked (`***`) in the build log: secret `env` entries, lease credentials.
    pub secrets: Vec<String>,
    /// Run a container on the host's network (a run with a kind cluster, whose API server
    /// listens on the host's loopback).
    pub host_network: bool,
}

/// A volume of a container job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The volume's name (names the fresh directory of an empty volume).
    pub name: String,
    /// A host directory, or `None` for a fresh empty directory, removed after the run.
    pub host: Option<PathBuf>,
    /// The absolute path in the container.
    pub target: String,
    pub read_only: bool,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The job exited by itself with this code (a container killed by a signal reports 128+n).
    Exited { code: i32 },
    /// The job's process was killed by a signal slipway did not send.
    Signalled { signal: i32 },
    /// slipway stopped the job after its timeout; `killed` when the grace period ran out and it
    /// took SIGKILL.
    TimedOut { after: Duration, killed: bool },
    /// The run was cancelled; `killed` as for [`Outcome::TimedOut`].
    Aborted { killed: bool },
}

impl Outcome {
    /// Whether the job passed: it exited by itself with code 0.
    pub fn success(&self) -> bool {
        matches!(self, Outcome::Exited { code: 0 })
    }
}

/// Why a run could not be carried out (as opposed to a job that ran and failed).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("job `{job}`: command `{program}` not found")]
    CommandNotFound { job: String, program: String },
    #[error("job `{job}`: cannot start `{program}`")]
    Spawn {
        job: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("job `{job}`: lost track of the job's process")]
    Wait {
        job: String,
        #[source]
        source: std::io::Error,
    },
    #[error("job `{job}`: cannot prepare the run's directories and log")]
    Files {
        job: String,
        #[source]
        source: std::io::Error,
    },
    #[error("job `{job}`: cannot write the build log")]
    Log {
        job: String,
        #[source]
        source: std::io::Error,
    },
    #[error("job `{job}`: workdir `{workdir}` must be a relative path inside the workspace, without `..`")]
    Workdir { job: String, workdir: String },
    #[error("job `{job}`: cannot mount `{}` at `{target}`: {reason}", path.display())]
    Mount { job: String, path: PathBuf, target: String, reason: &'static str },
    #[error("job `{job}`: the {executor} executor cannot run {what}")]
    Unsupported { job: String, executor: String, what: &'static str },
    #[error("job `{job}`: invalid image")]
    InvalidImage {
        job: String,
        #[source]
        source: slipway_core::image::ImageReferenceError,
    },
    /// `SLIPWAY_CONTAINER_ENGINE` names an engine slipway does not drive.
    #[error("SLIPWAY_CONTAINER_ENGINE is `{name}`; slipway runs containers with `podman` or `docker`")]
    UnknownContainerEngine {
        /// What it says.
        name: String,
    },
    #[error("neither `podman` nor `docker` is on PATH; install one to run container jobs")]
    NoContainerEngine,
    #[error("cannot pull image `{image}`:\n{output}")]
    ImagePull { image: String, output: String },
    /// `pull: never` and the engine does not have the image.
    #[error(
        "image `{image}` is not in {engine}'s store and the pull policy is `never`; pull it, or use --pull missing"
    )]
    ImageMissing { image: String, engine: String },
    #[error("job `{job}`: `{engine} {action}` failed:\n{output}")]
    Engine { job: String, engine: String, action: String, output: String },
}

impl ExecError {
    /// The process exit code this error stands for (DESIGN.md): the job's configuration is
    /// wrong (2), or the machinery that runs it failed (3).
    pub fn exit_code(&self) -> u8 {
        use slipway_core::exit;
        match self {
            ExecError::CommandNotFound { .. }
            | ExecError::Workdir { .. }
            | ExecError::Mount { .. }
            | ExecError::Unsupported { .. }
            | ExecError::InvalidImage { .. }
            | ExecError::UnknownContainerEngine { .. }
            | ExecError::ImageMissing { .. } => exit::USAGE,
            ExecError::Spawn { .. }
            | ExecError::Wait { .. }
            | ExecError::Files { .. }
            | ExecError::Log { .. }
            | ExecError::NoContainerEngine
            | ExecError::ImagePull { .. }
            | ExecError::Engine { .. } => exit::INFRASTRUCTURE,
        }
    }
}

/// A run in progress; resolves when the job has ended and its log is complete.
pub type Running<'a> = Pin<Box<dyn Future<Output = Result<Outcome, ExecError>> + Send + 'a>>;

/// Runs jobs somewhere: on this machine, in a container, (later) in a cluster.
pub trait Executor: Send + Sync {
    /// A short name for messages (`local`, `podman`, `docker`).
    fn name(&self) -> &str;

    /// Runs `launch` to its end; cancelling `cancel` stops the job (SIGTERM, then SIGKILL after
    /// the grace period) and yields [`Outcome::Aborted`].
    fn run(&self, launch: Launch, cancel: CancellationToken) -> Running<'_>;
}

/// How executors reach what is outside this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Registries spoken to over plain HTTP or without TLS verification (`registries.insecure`,
    /// `--insecure-registry`), besides loopback addresses.
    pub insecure_registries: Vec<String>,
}

/// The executor for `run`: a local process for a host job, the container engine on PATH (or
/// as `SLIPWAY_CONTAINER_ENGINE` says) for a container job. When there is no engine, an
/// executor that fails with that error, so the run is recorded as an error like any run that
/// fails before its command starts.
pub fn for_run(run: &Run, settings: &Settings) -> Box<dyn Executor> {
    match run {
        Run::Host { .. } => Box::new(LocalProcess),
        Run::Container { .. } => match Container::detect() {
            Ok(container) => Box::new(container.with_insecure_registries(settings.insecure_registries.clone())),
            Err(error) => Box::new(Unavailable(std::sync::Mutex::new(Some(error)))),
        },
    }
}

/// An executor that cannot run anything, and says why.
struct Unavailable(std::sync::Mutex<Option<ExecError>>);

impl Executor for Unavailable {
    fn name(&self) -> &str {
        "none"
    }

    fn run(&self, _launch: Launch, _cancel: CancellationToken) -> Running<'_> {
        let error = self.0.lock().ok().and_then(|mut error| error.take()).unwrap_or(ExecError::NoContainerEngine);
        Box::pin(async move { Err(error) })
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Exited(i32),
    Signalled(i32),
}

/// Why slipway stopped a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    TimedOut(Duration),
    Aborted,
}

/// slipway stopped the job: why, and whether SIGTERM was not enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stop {
    pub(crate) reason: Reason,
    pub(crate) killed: bool,
}

pub(crate) fn outcome(status: Status, stop: Option<Stop>) -> Outcome {
    match (stop, status) {
        (Some(Stop { reason: Reason::TimedOut(after), killed }), _) => Outcome::TimedOut { after, killed },
        (Some(Stop { reason: Reason::Aborted, killed }), _) => Outcome::Aborted { killed },
        (None, Status::Exited(code)) => Outcome::Exited { code },
        (None, Status::Signalled(signal)) => Outcome::Signalled { signal },
    }
}

/// The line that closes the log of a job slipway stopped.
pub(crate) fn stop_note(stop: Stop, grace_period: Duration) -> String {
    let what = match stop.reason {
        Reason::TimedOut(after) => format!("timed out after {}", duration::format(after)),
        Reason::Aborted => "aborted".to_owned(),
    };
    if stop.killed {
        format!(
            "slipway: {what}; sent SIGTERM, then SIGKILL when the {} grace period ran out",
            duration::format(grace_period)
        )
    } else {
        format!("slipway: {what}; sent SIGTERM")
    }
}

/// The working directory relative to the workspace: `workdir` if it stays inside it.
pub(crate) fn working_directory(job: &str, workdir: Option<&str>) -> Result<PathBuf, ExecError> {
    let Some(workdir) = workdir else { return Ok(PathBuf::new()) };
    let path = Path::new(workdir);
    if path.components().all(|component| matches!(component, Component::Normal(_) | Component::CurDir)) {
        Ok(path.components().collect())
    } else {
        Err(ExecError::Workdir { job: job.to_owned(), workdir: workdir.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        assert_eq!(outcome(Status::Exited(3), None), Outcome::Exited { code: 3 });
        assert_eq!(outcome(Status::Signalled(11), None), Outcome::Signalled { signal: 11 });
        let after = Duration::from_secs(2);
        let timed_out = Stop { reason: Reason::TimedOut(after), killed: true };
        assert_eq!(outcome(Status::Signalled(9), Some(timed_out)), Outcome::TimedOut { after, killed: true });
        let aborted = Stop { reason: Reason::Aborted, killed: false };
        assert_eq!(outcome(Status::Exited(0), Some(aborted)), Outcome::Aborted { killed: false });
        assert!(Outcome::Exited { code: 0 }.success());
        assert!(!Outcome::Exited { code: 1 }.success());
        assert!(!Outcome::TimedOut { after, killed: false }.success());
    }

    #[test]
    fn notes() {
        let grace = Duration::from_secs(15);
        let timed_out = Stop { reason: Reason::TimedOut(Duration::from_secs(5400)), killed: false };
        assert_eq!(stop_note(timed_out, grace), "slipway: timed out after 1h30m0s; sent SIGTERM");
        let killed = Stop { reason: Reason::Aborted, killed: true };
        assert_eq!(
            stop_note(killed, grace),
            "slipway: aborted; sent SIGTERM, then SIGKILL when the 15s grace period ran out"
        );
    }

    #[test]
    fn workdirs_stay_inside_the_workspace() {
        assert_eq!(working_directory("j", None).expect("none"), PathBuf::new());
        assert_eq!(working_directory("j", Some("src/./app/")).expect("relative"), PathBuf::from("src/app"));
        for bad in ["/etc", "../up", "src/../../up"] {
            let error = working_directory("j", Some(bad)).expect_err(bad);
            assert_eq!(error.exit_code(), slipway_core::exit::USAGE);
            assert_eq!(
                error.to_string(),
                format!("job `j`: workdir `{bad}` must be a relative path inside the workspace, without `..`")
            );
        }
    }

    #[test]
    fn exit_codes() {
        let not_found = ExecError::CommandNotFound { job: "j".into(), program: "nope".into() };
        assert_eq!(not_found.exit_code(), 2);
        assert_eq!(not_found.to_string(), "job `j`: command `nope` not found");
        let pull = ExecError::ImagePull { image: "x".into(), output: "manifest unknown".into() };
        assert_eq!(pull.exit_code(), 3);
        assert_eq!(ExecError::NoContainerEngine.exit_code(), 3);
    }
}
