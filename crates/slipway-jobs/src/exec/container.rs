//! Container jobs through podman or docker: pull the image, create a container with the
//! workspace, artifacts and volumes mounted, start it attached, stop it with `kill` on timeout
//! or cancellation, and remove it.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use slipway_core::ImageReference;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::init::{self, Init};
use super::output::Pump;
use super::supervise::{Signal, supervise};
use super::{
    CONTAINER_ARTIFACTS, CONTAINER_WORKSPACE, ExecError, Executor, Launch, Outcome, Running, Status, outcome,
    stop_note, working_directory,
};
use crate::job::Run;

/// How long the log waits for `start --attach` to close its pipes once the container is gone.
const LINGER: Duration = Duration::from_secs(5);

/// The container engine's command-line interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Podman,
    Docker,
}

impl Engine {
    /// The program's name.
    pub fn program(self) -> &'static str {
        match self {
            Engine::Podman => "podman",
            Engine::Docker => "docker",
        }
    }
}

/// Runs container jobs through a container engine's command line.
#[derive(Debug, Clone)]
pub struct Container {
    engine: Engine,
    program: PathBuf,
    environment: Vec<(OsString, OsString)>,
    insecure_registries: Vec<String>,
}

impl Container {
    /// Uses `engine`, found on PATH when it runs.
    pub fn new(engine: Engine) -> Container {
        Container {
            engine,
            program: PathBuf::from(engine.program()),
            environment: Vec::new(),
            insecure_registries: Vec::new(),
        }
    }

    /// Uses the engine `SLIPWAY_CONTAINER_ENGINE` names (`podman` or `docker`), else `podman`
    /// when it is on PATH, else `docker`.
    pub fn detect() -> Result<Container, ExecError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let chosen = std::env::var("SLIPWAY_CONTAINER_ENGINE").ok().filter(|name| !name.is_empty());
        let engines: Vec<Engine> = match chosen.as_deref() {
            Some("podman") => vec![Engine::Podman],
            Some("docker") => vec![Engine::Docker],
            Some(other) => return Err(ExecError::UnknownContainerEngine { name: other.to_owned() }),
            None => vec![Engine::Podman, Engine::Docker],
        };
        engines
            .into_iter()
            .find_map(|engine| {
                let program = find_program(&path, engine.program())?;
                Some(Container { program, ..Container::new(engine) })
            })
            .ok_or(ExecError::NoContainerEngine)
    }

    /// The same, with variables set for every engine command (such as `CONTAINERS_CONF`).
    pub fn with_environment<K: Into<OsString>, V: Into<OsString>>(
        mut self,
        variables: impl IntoIterator<Item = (K, V)>,
    ) -> Container {
        self.environment.extend(variables.into_iter().map(|(key, value)| (key.into(), value.into())));
        self
    }

    /// The same, pulling from these registries (`host` or `host:port`) without TLS
    /// verification, as from any registry on localhost or 127.0.0.1 (podman only: docker has
    /// its own daemon configuration).
    pub fn with_insecure_registries(mut self, registries: Vec<String>) -> Container {
        self.insecure_registries = registries;
        self
    }

    /// The engine this runs.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A variable of this engine's environment: the one given with [`Container::with_environment`],
    /// else the process's.
    fn variable(&self, name: &str) -> Option<OsString> {
        self.environment
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var_os(name))
            .filter(|value| !value.is_empty())
    }

    /// The init containers get (see [`init`]).
    pub fn init(&self) -> Init {
        let overridden = self.variable("SLIPWAY_CONTAINER_INIT").map(|value| value.to_string_lossy().into_owned());
        match self.engine {
            // docker's daemon brings its own init.
            Engine::Docker if overridden.as_deref() == Some("none") => Init::None,
            Engine::Docker => Init::Engine,
            Engine::Podman => {
                let containers_conf = self.variable("CONTAINERS_CONF").map(PathBuf::from);
                let home = self.variable("HOME").map(PathBuf::from);
                let configured = init::configured_init_path(containers_conf.as_deref(), home.as_deref());
                init::choose(configured.as_deref(), overridden.as_deref(), &init::RealHost)
            }
        }
    }

    fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        command.envs(self.environment.iter().map(|(key, value)| (key, value))).stdin(Stdio::null()).kill_on_drop(true);
        // podman refuses a DOCKER_CONFIG directory without a config.json ("stat .../config.json:
        // no such file"), where docker treats it as no credentials: do as docker does.
        if self.engine == Engine::Podman
            && let Some(directory) = self.variable("DOCKER_CONFIG")
            && !Path::new(&directory).join("config.json").exists()
        {
            command.env_remove("DOCKER_CONFIG");
        }
        command
    }

    fn spawn_error(&self, job: &str) -> impl FnOnce(std::io::Error) -> ExecError {
        let program = self.engine.program().to_owned();
        let job = job.to_owned();
        move |source| ExecError::Spawn { job, program, source }
    }

    /// Runs an engine command to its end; its stdout when it succeeds.
    async fn capture(&self, job: &str, arguments: &[OsString]) -> Result<String, ExecError> {
        let output = self.command().args(arguments).output().await.map_err(self.spawn_error(job))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            let action = arguments.first().map_or_else(String::new, |action| action.to_string_lossy().into_owned());
            Err(ExecError::Engine {
                job: job.to_owned(),
                engine: self.engine.program().to_owned(),
                action,
                output: failure_output(&output),
            })
        }
    }

    /// Pulls the image as the policy says: always, only when the engine does not have it, or
    /// never (then it must be there).
    async fn pull_as(
        &self,
        policy: super::PullPolicy,
        job: &str,
        written: &str,
        reference: &ImageReference,
        image: &str,
    ) -> Result<(), ExecError> {
        if policy == super::PullPolicy::Always {
            return self.pull(job, written, reference, image).await;
        }
        let probe: &[&str] =
            if self.engine == Engine::Podman { &["image", "exists", image] } else { &["image", "inspect", image] };
        let present = self
            .command()
            .args(probe)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .map_err(self.spawn_error(job))?
            .success();
        match (present, policy) {
            (true, _) => Ok(()),
            (false, super::PullPolicy::Never) => {
                Err(ExecError::ImageMissing { image: written.to_owned(), engine: self.engine.program().to_owned() })
            }
            (false, _) => self.pull(job, written, reference, image).await,
        }
    }

    async fn pull(&self, job: &str, written: &str, reference: &ImageReference, image: &str) -> Result<(), ExecError> {
        let mut arguments = vec!["pull"];
        if self.engine == Engine::Podman
            && reference.registry().is_some_and(|registry| plain_http(registry, &self.insecure_registries))
        {
            arguments.push("--tls-verify=false");
        }
        arguments.push(image);
        let output = self.command().args(&arguments).output().await.map_err(self.spawn_error(job))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(ExecError::ImagePull { image: written.to_owned(), output: failure_output(&output) })
        }
    }

    async fn signal(&self, name: &str, signal: Signal) {
        let mut command = self.command();
        command.arg("kill");
        if signal == Signal::Terminate {
            command.args(["--signal", "TERM"]);
        }
        // A container that has just ended (or is not running yet) cannot be signalled; the
        // supervisor repeats SIGKILL until `start --attach` returns.
        let _ = command.arg(name).output().await;
    }

    /// Removes, running or not, every container of run `run_id` (found by its
    /// [`RUN_LABEL`](super::RUN_LABEL)); how many there were. `job` names the run in errors.
    pub async fn remove_run(&self, job: &str, run_id: &str) -> Result<usize, ExecError> {
        let filter = format!("label={}={run_id}", super::RUN_LABEL);
        let listed = self.capture(job, &["ps", "--all", "--quiet", "--filter", &filter].map(OsString::from)).await?;
        let containers: Vec<&str> = listed.split_whitespace().collect();
        for container in &containers {
            let arguments: Vec<OsString> = self.remove_arguments(container).into_iter().map(OsString::from).collect();
            self.capture(job, &arguments).await?;
        }
        Ok(containers.len())
    }

    fn remove_arguments(&self, name: &str) -> Vec<String> {
        let mut arguments = vec!["rm".to_owned(), "--force".to_owned()];
        if self.engine == Engine::Podman {
            arguments.extend(["--time".to_owned(), "0".to_owned()]);
        }
        arguments.push(name.to_owned());
        arguments
    }

    async fn run_launch(&self, launch: Launch, cancel: CancellationToken) -> Result<Outcome, ExecError> {
        let job = launch.job.as_str();
        let Run::Container { image: written, command, args } = &launch.run else {
            return Err(ExecError::Unsupported {
                job: job.to_owned(),
                executor: self.engine.program().to_owned(),
                what: "a host command without an image",
            });
        };
        let reference =
            ImageReference::parse(written).map_err(|source| ExecError::InvalidImage { job: job.to_owned(), source })?;
        let image = qualified(&reference);
        let workdir = working_directory(job, launch.workdir.as_deref())?;
        let files = |source| ExecError::Files { job: job.to_owned(), source };
        let workspace = std::path::absolute(&launch.workspace).map_err(files)?;
        let artifacts = std::path::absolute(&launch.artifacts).map_err(files)?;
        let run_directory = std::path::absolute(launch.log.parent().unwrap_or(Path::new(""))).map_err(files)?;

        let mut binds = vec![
            Bind { host: workspace.clone(), target: CONTAINER_WORKSPACE.to_owned(), read_only: false },
            Bind { host: artifacts.clone(), target: CONTAINER_ARTIFACTS.to_owned(), read_only: false },
        ];
        for bind in &binds {
            check_bind(job, bind, false)?;
        }
        for mount in &launch.volumes {
            let host = match &mount.host {
                Some(host) => std::path::absolute(host).map_err(files)?,
                None => PathBuf::new(),
            };
            let bind = Bind { host, target: mount.target.clone(), read_only: mount.read_only };
            check_bind(job, &bind, mount.host.is_some())?;
            binds.push(bind);
        }

        for directory in [&workspace, &artifacts, &run_directory] {
            fs_err::tokio::create_dir_all(directory).await.map_err(files)?;
        }
        // Empty volumes live as long as the run, like a pod's emptyDir.
        let mut empty_volumes = Vec::new();
        for (bind, mount) in binds.iter_mut().skip(2).zip(&launch.volumes) {
            if mount.host.is_none() {
                let directory = empty_volume(&run_directory, &mount.name).map_err(files)?;
                directory.path().clone_into(&mut bind.host);
                empty_volumes.push(directory);
            }
        }
        let mut log = fs_err::tokio::File::create(&launch.log).await.map_err(files)?;

        tokio::select! {
            pulled = self.pull_as(launch.pull, job, written, &reference, &image) => pulled?,
            () = cancel.cancelled() => {
                let note = format!("slipway: aborted while pulling {written}\n");
                log.write_all(note.as_bytes()).await.map_err(|source| ExecError::Log { job: job.to_owned(), source })?;
                return Ok(Outcome::Aborted { killed: false });
            }
        }

        let name = container_name(job);
        let init = self.init();
        let mut arguments = vec![OsString::from("create")];
        arguments.extend(create_arguments(&CreateSpec {
            job,
            run_id: &launch.run_id,
            name: &name,
            image: &image,
            command,
            args,
            env: &launch.env,
            workdir: &workdir,
            binds: &binds,
            init: &init,
            host_network: launch.host_network,
        }));
        self.capture(job, &arguments).await?;
        let mut removal = Removal { container: self, name: &name, armed: true };

        let mut start = self
            .command()
            .args(["start", "--attach", &name])
            .env(super::RUN_ID_VARIABLE, &launch.run_id)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(self.spawn_error(job))?;
        let pump = Pump::start(
            start.stdout.take().expect("stdout is piped"),
            start.stderr.take().expect("stderr is piped"),
            log,
            launch.follow,
            slipway_core::redact::Masker::new(&launch.secrets),
        );
        let exited = async {
            let status = start.wait().await.map_err(|source| ExecError::Wait { job: job.to_owned(), source })?;
            Ok(Status::Exited(status.code().unwrap_or(-1)))
        };
        let target = name.as_str();
        let supervised =
            supervise(exited, launch.timeout, launch.grace_period, &cancel, |signal| self.signal(target, signal)).await;

        let inspect = ["container", "inspect", "--format", STATE_FORMAT, &name].map(OsString::from);
        let state = self.capture(job, &inspect).await.ok().and_then(|text| parse_state(&text));
        let _ = self.command().args(self.remove_arguments(&name)).output().await;
        removal.armed = false;
        drop(empty_volumes);

        let mut notes: Vec<String> = init.note().into_iter().collect();
        if let Ok((_, Some(stop))) = &supervised {
            notes.push(stop_note(*stop, launch.grace_period));
        }
        let pumped = pump.finish(LINGER, notes).await;
        let (status, stop) = supervised?;
        pumped.written.map_err(|source| ExecError::Log { job: job.to_owned(), source })?;
        let not_found = || ExecError::CommandNotFound {
            job: job.to_owned(),
            program: command.first().cloned().unwrap_or_else(|| "the image's entrypoint".to_owned()),
        };
        match state {
            Some(State { started: false, .. }) if stop.is_none() => {
                let output = pumped.stderr_tail.trim().to_owned();
                if output.contains("not found") {
                    return Err(not_found());
                }
                let engine = self.engine.program().to_owned();
                Err(ExecError::Engine { job: job.to_owned(), engine, action: "start".to_owned(), output })
            }
            // catatonit exits 1, tini 127, after saying it could not exec the command.
            Some(State { started: true, exit_code: 1 | 127 })
                if stop.is_none() && init_found_no_command(&pumped.stderr_tail) =>
            {
                Err(not_found())
            }
            Some(State { started: true, exit_code }) => Ok(outcome(Status::Exited(exit_code), stop)),
            _ => Ok(outcome(status, stop)),
        }
    }
}

impl Executor for Container {
    fn name(&self) -> &str {
        self.engine.program()
    }

    fn run(&self, launch: Launch, cancel: CancellationToken) -> Running<'_> {
        Box::pin(self.run_launch(launch, cancel))
    }
}

/// Removes the container if the run is dropped before it ends.
struct Removal<'a> {
    container: &'a Container,
    name: &'a str,
    armed: bool,
}

impl Drop for Removal<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut command = std::process::Command::new(&self.container.program);
            command
                .envs(self.container.environment.iter().map(|(key, value)| (key, value)))
                .args(self.container.remove_arguments(self.name))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // Not awaited in a destructor; the thread reaps the engine's process.
            std::thread::spawn(move || command.status());
        }
    }
}

/// A directory mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bind {
    pub(crate) host: PathBuf,
    pub(crate) target: String,
    pub(crate) read_only: bool,
}

/// Refuses what `--volume host:target` cannot express, and host directories that do not exist
/// when `must_exist` (slipway creates the workspace and artifacts directories itself).
fn check_bind(job: &str, bind: &Bind, must_exist: bool) -> Result<(), ExecError> {
    let refuse =
        |reason| ExecError::Mount { job: job.to_owned(), path: bind.host.clone(), target: bind.target.clone(), reason };
    if !bind.target.starts_with('/') {
        return Err(refuse("the path in the container must be absolute"));
    }
    if bind.target.contains(':') || bind.host.as_os_str().as_encoded_bytes().contains(&b':') {
        return Err(refuse("a path with `:` cannot be mounted"));
    }
    if must_exist && !bind.host.is_dir() {
        return Err(refuse("no such directory on this machine"));
    }
    Ok(())
}

/// A fresh, world-writable directory for an empty volume (as a pod's emptyDir).
fn empty_volume(run_directory: &Path, name: &str) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let prefix: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') { c } else { '_' }).collect();
    let directory = tempfile::Builder::new().prefix(&format!("volume-{prefix}-")).tempdir_in(run_directory)?;
    fs_err::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o777))?;
    Ok(directory)
}

/// What `create` needs besides the engine.
pub(crate) struct CreateSpec<'a> {
    pub(crate) job: &'a str,
    pub(crate) run_id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) image: &'a str,
    pub(crate) command: &'a [String],
    pub(crate) args: &'a [String],
    pub(crate) env: &'a BTreeMap<String, String>,
    pub(crate) workdir: &'a Path,
    pub(crate) binds: &'a [Bind],
    pub(crate) init: &'a Init,
    /// Share the host's network (a kind cluster's API server listens on the host's loopback).
    pub(crate) host_network: bool,
}

/// The arguments of `create` after the word itself. As in Prow (and Kubernetes), a command
/// replaces the image's entrypoint and its default arguments; args alone replace only the
/// default arguments. docker's `--entrypoint` takes one program, so the rest of the command
/// goes before the args.
pub(crate) fn create_arguments(spec: &CreateSpec<'_>) -> Vec<OsString> {
    let mut arguments: Vec<OsString> = vec![
        "--name".into(),
        spec.name.into(),
        "--label".into(),
        format!("slipway.job={}", spec.job).into(),
        "--label".into(),
        format!("{}={}", super::RUN_LABEL, spec.run_id).into(),
    ];
    arguments.extend(spec.init.arguments());
    arguments.push("--pull=never".into());
    if spec.host_network {
        arguments.push("--network=host".into());
    }
    for bind in spec.binds {
        let mut volume = bind.host.clone().into_os_string();
        volume.push(":");
        volume.push(&bind.target);
        if bind.read_only {
            volume.push(":ro");
        }
        arguments.extend(["--volume".into(), volume]);
    }
    let mut workdir = PathBuf::from(CONTAINER_WORKSPACE);
    if !spec.workdir.as_os_str().is_empty() {
        workdir.push(spec.workdir);
    }
    arguments.extend(["--workdir".into(), workdir.into_os_string()]);
    for (key, value) in spec.env.iter().filter(|(key, _)| *key != "ARTIFACTS") {
        arguments.extend(["--env".into(), format!("{key}={value}").into()]);
    }
    arguments.extend(["--env".into(), format!("ARTIFACTS={CONTAINER_ARTIFACTS}").into()]);
    if let Some((program, rest)) = spec.command.split_first() {
        arguments.extend(["--entrypoint".into(), program.into(), spec.image.into()]);
        arguments.extend(rest.iter().map(OsString::from));
    } else {
        arguments.push(spec.image.into());
    }
    arguments.extend(spec.args.iter().map(OsString::from));
    arguments
}

/// A name no other container has: `slipway-<job>-<time>-<pid>-<count>`.
fn container_name(job: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let job: String = job
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis());
    format!("slipway-{job}-{millis:x}-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed))
}

/// The fully qualified reference (`docker.io/library/busybox:latest` for `busybox`): podman
/// does not resolve short names the way docker does.
pub(crate) fn qualified(reference: &ImageReference) -> String {
    let mut text = reference.canonical_name();
    if let Some(tag) = reference.tag() {
        text.push(':');
        text.push_str(tag);
    }
    match reference.digest() {
        Some(digest) => {
            text.push('@');
            text.push_str(digest);
        }
        None if reference.tag().is_none() => text.push_str(":latest"),
        None => {}
    }
    text
}

/// Whether images from `registry` are pulled over plain HTTP: loopback, or listed as insecure.
pub(crate) fn plain_http(registry: &str, insecure: &[String]) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
        || insecure.iter().any(|listed| listed == registry || listed == host)
}

const STATE_FORMAT: &str = "{{.State.Status}} {{.State.ExitCode}}";

/// A container's state once `start --attach` has returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct State {
    /// False when the engine could not start it (it stayed `created`).
    pub(crate) started: bool,
    pub(crate) exit_code: i32,
}

pub(crate) fn parse_state(text: &str) -> Option<State> {
    let (status, code) = text.trim().split_once(' ')?;
    Some(State { started: status != "created", exit_code: code.trim().parse().ok()? })
}

/// Whether the container's init (podman's catatonit, docker's tini) said, as the last thing on
/// stderr, that the command does not exist: with `--init` the engine itself no longer checks.
pub(crate) fn init_found_no_command(stderr_tail: &str) -> bool {
    let last = stderr_tail.trim_end().rsplit('\n').next().unwrap_or_default();
    last.ends_with("No such file or directory")
        && ((last.starts_with("ERROR (catatonit") && last.contains("failed to exec pid1"))
            || (last.contains("tini") && last.contains("exec ") && last.contains(" failed")))
}

/// What an engine command said when it failed: stderr, else stdout.
fn failure_output(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if stderr.is_empty() { String::from_utf8_lossy(&output.stdout).trim().to_owned() } else { stderr }
}

/// `name` in one of the directories of `path` (a PATH value), if executable.
fn find_program(path: &OsStr, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path).map(|directory| directory.join(name)).find(|candidate| {
        candidate.metadata().is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(arguments: &[OsString]) -> String {
        arguments.iter().map(|argument| argument.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn create_arguments_follow_prow() {
        let env =
            BTreeMap::from([("JOB_NAME".to_owned(), "unit".to_owned()), ("ARTIFACTS".to_owned(), "/x".to_owned())]);
        let binds = [
            Bind { host: "/w".into(), target: CONTAINER_WORKSPACE.into(), read_only: false },
            Bind { host: "/a".into(), target: CONTAINER_ARTIFACTS.into(), read_only: false },
            Bind { host: "/etc/conf".into(), target: "/conf".into(), read_only: true },
        ];
        let command = ["sh".to_owned(), "-c".to_owned()];
        let args = ["make test".to_owned()];
        let spec = CreateSpec {
            job: "unit",
            run_id: "r1",
            name: "slipway-unit-1",
            image: "docker.io/library/golang:1.25",
            command: &command,
            args: &args,
            env: &env,
            workdir: Path::new("src/app"),
            binds: &binds,
            init: &Init::Engine,
            host_network: false,
        };
        assert_eq!(
            joined(&create_arguments(&spec)),
            "--name slipway-unit-1 --label slipway.job=unit --label slipway.run=r1 --init --pull=never \
             --volume /w:/workspace --volume /a:/logs/artifacts --volume /etc/conf:/conf:ro \
             --workdir /workspace/src/app --env JOB_NAME=unit --env ARTIFACTS=/logs/artifacts \
             --entrypoint sh docker.io/library/golang:1.25 -c make test"
        );
        let tini = Init::Path("/usr/bin/tini-static".into());
        let only_args = CreateSpec { command: &[], workdir: Path::new(""), binds: &binds[..1], init: &tini, ..spec };
        assert_eq!(
            joined(&create_arguments(&only_args)),
            "--name slipway-unit-1 --label slipway.job=unit --label slipway.run=r1 --init --init-path /usr/bin/tini-static --pull=never \
             --volume /w:/workspace --workdir /workspace --env JOB_NAME=unit --env ARTIFACTS=/logs/artifacts \
             docker.io/library/golang:1.25 make test"
        );
        let none = CreateSpec { init: &Init::None, ..only_args };
        assert!(!joined(&create_arguments(&none)).contains("--init"));
        let host = CreateSpec { host_network: true, ..none };
        assert!(joined(&create_arguments(&host)).contains("--pull=never --network=host --volume"));
    }

    #[test]
    fn images_are_qualified() {
        let qualify = |text: &str| qualified(&ImageReference::parse(text).expect("valid"));
        assert_eq!(qualify("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(qualify("127.0.0.1:5000/team/app:v1"), "127.0.0.1:5000/team/app:v1");
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(qualify(&format!("registry.k8s.io/pause@{digest}")), format!("registry.k8s.io/pause@{digest}"));
        assert_eq!(qualify(&format!("ghcr.io/o/a:v1@{digest}")), format!("ghcr.io/o/a:v1@{digest}"));
    }

    #[test]
    fn loopback_registries_are_plain_http() {
        for plain in ["127.0.0.1:5000", "localhost", "localhost:5000", "[::1]:5000"] {
            assert!(plain_http(plain, &[]), "{plain}");
        }
        assert!(!plain_http("registry.k8s.io", &[]));
        assert!(!plain_http("localhost.example.com:5000", &[]));
        assert!(plain_http("registry.lan:5000", &["registry.lan".to_owned()]));
    }

    #[test]
    fn a_missing_command_is_recognised_in_what_init_says() {
        assert!(init_found_no_command("ERROR (catatonit:6): failed to exec pid1: No such file or directory\n"));
        assert!(init_found_no_command("[FATAL tini (7)] exec make failed: No such file or directory\n"));
        assert!(!init_found_no_command("ERROR (catatonit:6): failed to exec pid1: Permission denied\n"));
        let later = "ERROR (catatonit:6): failed to exec pid1: No such file or directory\nexit status 1\n";
        assert!(!init_found_no_command(later));
        assert!(!init_found_no_command("cat: /x: No such file or directory\n"));
    }

    #[test]
    fn states() {
        assert_eq!(parse_state("exited 137\n"), Some(State { started: true, exit_code: 137 }));
        assert_eq!(parse_state("created 0\n"), Some(State { started: false, exit_code: 0 }));
        assert_eq!(parse_state("garbage"), None);
    }

    #[test]
    fn binds_are_checked() {
        let bind = |host: &str, target: &str| Bind { host: host.into(), target: target.into(), read_only: false };
        assert!(check_bind("j", &bind("/tmp", "/data"), true).is_ok());
        let relative = check_bind("j", &bind("/tmp", "data"), false).expect_err("relative target");
        assert_eq!(
            relative.to_string(),
            "job `j`: cannot mount `/tmp` at `data`: the path in the container must be absolute"
        );
        assert!(check_bind("j", &bind("/tmp/a:b", "/data"), false).is_err());
        assert!(check_bind("j", &bind("/nonexistent/slipway", "/data"), false).is_ok());
        let missing = check_bind("j", &bind("/nonexistent/slipway", "/data"), true).expect_err("missing");
        assert_eq!(missing.exit_code(), slipway_core::exit::USAGE);
    }
}
