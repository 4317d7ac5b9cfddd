//! Host jobs: the argument vector runs as a process of its own process group, in the
//! workspace, with the job's environment added to slipway's.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal as Unix, killpg};
use nix::unistd::Pid;
use tokio_util::sync::CancellationToken;

use super::output::Pump;
use super::supervise::{Signal, supervise};
use super::{ExecError, Executor, Launch, Outcome, Running, Status, outcome, stop_note, working_directory};
use crate::job::Run;

/// How long the log waits for the job's pipes to close once its process group is gone.
const LINGER: Duration = Duration::from_secs(5);

/// How long processes left in the group get to exit by themselves after the main process.
const SETTLE: Duration = Duration::from_millis(100);
/// How long a run waits for its killed process group to disappear.
const VANISH: Duration = Duration::from_secs(2);

/// Runs host jobs as local processes.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalProcess;

impl Executor for LocalProcess {
    fn name(&self) -> &str {
        "local"
    }

    fn run(&self, launch: Launch, cancel: CancellationToken) -> Running<'_> {
        Box::pin(run(launch, cancel))
    }
}

async fn run(launch: Launch, cancel: CancellationToken) -> Result<Outcome, ExecError> {
    let job = launch.job.as_str();
    let Run::Host { argv } = &launch.run else {
        return Err(ExecError::Unsupported {
            job: job.to_owned(),
            executor: "local".to_owned(),
            what: "a container image",
        });
    };
    let Some((program, arguments)) = argv.split_first() else {
        return Err(ExecError::CommandNotFound { job: job.to_owned(), program: String::new() });
    };
    let files = |source| ExecError::Files { job: job.to_owned(), source };
    let directory = launch.workspace.join(working_directory(job, launch.workdir.as_deref())?);
    let artifacts = std::path::absolute(&launch.artifacts).map_err(files)?;
    let log = prepare(&directory, &artifacts, &launch.log).await.map_err(files)?;

    let mut child = tokio::process::Command::new(program)
        .args(arguments)
        .current_dir(&directory)
        .envs(&launch.env)
        .env("ARTIFACTS", &artifacts)
        .env(super::RUN_ID_VARIABLE, &launch.run_id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => {
                ExecError::CommandNotFound { job: job.to_owned(), program: program.clone() }
            }
            _ => ExecError::Spawn { job: job.to_owned(), program: program.clone(), source },
        })?;
    let id = child.id().and_then(|id| i32::try_from(id).ok()).expect("a child not yet waited for has a pid");
    let mut group = Group { id: Pid::from_raw(id), armed: true };
    let pump = Pump::start(
        child.stdout.take().expect("stdout is piped"),
        child.stderr.take().expect("stderr is piped"),
        log,
        launch.follow,
        slipway_core::redact::Masker::new(&launch.secrets),
    );

    let exited = async {
        let status = child.wait().await.map_err(|source| ExecError::Wait { job: job.to_owned(), source })?;
        Ok(match (status.code(), status.signal()) {
            (Some(code), _) => Status::Exited(code),
            (None, signal) => Status::Signalled(signal.unwrap_or_default()),
        })
    };
    let supervised = supervise(exited, launch.timeout, launch.grace_period, &cancel, |signal| {
        group.signal(match signal {
            Signal::Terminate => Unix::SIGTERM,
            Signal::Kill => Unix::SIGKILL,
        });
        std::future::ready(())
    })
    .await;
    // The main process is gone; whatever it left in the group goes too, as in a container.
    // Processes already dying of slipway's SIGTERM get a moment to go by themselves.
    let stragglers = !group.vanish(SETTLE).await;
    group.signal(Unix::SIGKILL);
    group.armed = false;
    group.vanish(VANISH).await;

    let mut notes = Vec::new();
    if let Ok((_, Some(stop))) = &supervised {
        notes.push(stop_note(*stop, launch.grace_period));
    }
    if stragglers {
        notes.push(
            "slipway: the job's main process ended, leaving processes in its group; sent them SIGKILL".to_owned(),
        );
    }
    let pumped = pump.finish(LINGER, notes).await;
    let (status, stop) = supervised?;
    pumped.written.map_err(|source| ExecError::Log { job: job.to_owned(), source })?;
    // A shell line whose own first command does not exist: `sh` says so and exits 127.
    if let (Status::Exited(127), None) = (&status, stop)
        && let Some(missing) = shell_line_not_found(argv, &pumped.stderr_tail)
    {
        return Err(ExecError::CommandNotFound { job: job.to_owned(), program: missing });
    }
    Ok(outcome(status, stop))
}

/// For a job run as `sh -c LINE`, the first word of LINE when the shell's last words were that
/// it was not found (`sh: 1: make: not found`, bash's `bash: line 1: make: command not found`).
fn shell_line_not_found(argv: &[String], stderr_tail: &str) -> Option<String> {
    let [shell, flag, line] = argv else {
        return None;
    };
    if !(shell == "sh" || shell.ends_with("/sh") || shell == "bash") || flag != "-c" {
        return None;
    }
    let first = line.split_whitespace().next()?;
    let last = stderr_tail.trim_end().lines().last()?;
    let said = last.ends_with(&format!("{first}: not found")) || last.ends_with(&format!("{first}: command not found"));
    said.then(|| first.to_owned())
}

/// Creates the working directory, the artifacts directory and the log.
async fn prepare(directory: &Path, artifacts: &Path, log: &Path) -> std::io::Result<fs_err::tokio::File> {
    fs_err::tokio::create_dir_all(directory).await?;
    fs_err::tokio::create_dir_all(artifacts).await?;
    if let Some(parent) = log.parent() {
        fs_err::tokio::create_dir_all(parent).await?;
    }
    fs_err::tokio::File::create(log).await
}

/// The job's process group; killed if the run is dropped before it ends.
struct Group {
    id: Pid,
    armed: bool,
}

impl Group {
    fn signal(&self, signal: Unix) {
        // Nothing to do when the group is gone already.
        let _ = killpg(self.id, signal);
    }

    /// Whether a process of the group still runs. Zombies do not count: an init that reaps
    /// orphans slowly keeps them in the group for a while. Without `/proc` (macOS), any member
    /// counts.
    fn has_live_members(&self) -> bool {
        let Ok(entries) = fs_err::read_dir("/proc") else { return killpg(self.id, None).is_ok() };
        let group = self.id.as_raw().to_string();
        entries.flatten().any(|entry| {
            let stat = fs_err::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // `pid (command) state ppid pgrp ...`; the command may contain spaces and `)`.
            let mut fields = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or_default().split(' ');
            let (state, _, pgrp) = (fields.next(), fields.next(), fields.next());
            pgrp == Some(group.as_str()) && state.is_some_and(|state| state != "Z" && state != "X")
        })
    }

    /// Waits up to `limit` until no process of the group runs; whether none does.
    async fn vanish(&self, limit: Duration) -> bool {
        let started = tokio::time::Instant::now();
        loop {
            if !self.has_live_members() {
                return true;
            }
            if started.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.armed {
            self.signal(Unix::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_line_that_cannot_start_is_recognised() {
        let argv = |line: &str| vec!["sh".to_owned(), "-c".to_owned(), line.to_owned()];
        assert_eq!(shell_line_not_found(&argv("make test"), "sh: 1: make: not found\n"), Some("make".to_owned()));
        assert_eq!(
            shell_line_not_found(&argv("make test"), "bash: line 1: make: command not found\n"),
            Some("make".to_owned())
        );
        // A command later in the line is the job's own failure.
        assert_eq!(shell_line_not_found(&argv("echo hi; lint"), "sh: 1: lint: not found\n"), None);
        assert_eq!(shell_line_not_found(&["make".to_owned()], "make: not found"), None);
    }
}
