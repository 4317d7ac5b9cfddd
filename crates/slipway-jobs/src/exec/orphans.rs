//! What a run leaves running when the slipway that supervised it dies (SIGKILL, a crash, an
//! out-of-memory kill): the job's processes, which carry the run's id in their environment
//! ([`RUN_ID_VARIABLE`]), and its container, which carries it as a label ([`RUN_LABEL`]).
//! Whoever finds the run lost stops them before recording it, so a lost run never goes on
//! beside the next one.
//!
//! Processes are found through `/proc` (Linux); elsewhere there is nothing to scan and only
//! containers are removed. Each found process, and its process group unless that is the
//! caller's, gets SIGTERM, then SIGKILL after [`GRACE`] if it is still there.

use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::{Pid, getpgid, getpgrp};

use super::{Container, Engine, RUN_ID_VARIABLE, RUN_LABEL};

/// How long an orphan gets between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// What was stopped for one run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Processes that were still running.
    pub processes: usize,
    /// Containers that were removed.
    pub containers: usize,
    /// What could not be done (the engine failed or is missing), one sentence each.
    pub problems: Vec<String>,
}

impl Stopped {
    /// One sentence for logs and notes, or `None` when nothing was left running.
    pub fn sentence(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.processes > 0 {
            parts.push(format!("{} process(es)", self.processes));
        }
        if self.containers > 0 {
            parts.push(format!("{} container(s)", self.containers));
        }
        (!parts.is_empty()).then(|| format!("stopped {} it left running", parts.join(" and ")))
    }
}

/// Stops what run `run_id` (of job `job`, run by `executor`: `local`, `podman` or `docker`)
/// left running on this machine.
pub async fn stop(job: &str, run_id: &str, executor: &str) -> Stopped {
    let mut stopped = Stopped::default();
    let engine = match executor {
        "podman" => Some(Engine::Podman),
        "docker" => Some(Engine::Docker),
        _ => None,
    };
    // The container first, through its engine, while the engine's helpers (podman's conmon)
    // still run; then whatever carries the run's id (the engine's client, a host job).
    if let Some(engine) = engine {
        match Container::new(engine).remove_run(job, run_id).await {
            Ok(count) => stopped.containers = count,
            Err(error) => stopped.problems.push(format!(
                "could not remove the containers labelled {RUN_LABEL}={run_id}: {}",
                slipway_core::errors::chain(&error)
            )),
        }
    }
    stopped.processes = stop_processes(run_id).await;
    stopped
}

/// Signals every process of the run; how many there were.
async fn stop_processes(run_id: &str) -> usize {
    let found = processes_of(run_id);
    if found.is_empty() {
        return 0;
    }
    signal_all(&found, Signal::SIGTERM);
    let started = tokio::time::Instant::now();
    while started.elapsed() < GRACE {
        if found.iter().all(|pid| !is_running(*pid)) {
            return found.len();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal_all(&found, Signal::SIGKILL);
    // Processes started since the scan (a shell between commands) are caught by their group.
    signal_all(&processes_of(run_id), Signal::SIGKILL);
    found.len()
}

fn signal_all(pids: &[Pid], signal: Signal) {
    let own_group = getpgrp();
    for pid in pids {
        if let Ok(group) = getpgid(Some(*pid))
            && group != own_group
            && group.as_raw() > 1
        {
            let _ = killpg(group, signal);
        }
        let _ = kill(*pid, signal);
    }
}

/// The running processes (not zombies) whose environment holds `SLIPWAY_RUN_ID=run_id`,
/// this process excepted.
pub fn processes_of(run_id: &str) -> Vec<Pid> {
    let Ok(entries) = fs_err::read_dir("/proc") else {
        return Vec::new();
    };
    let wanted = format!("{RUN_ID_VARIABLE}={run_id}");
    let own = std::process::id();
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != own)
        .filter(|pid| {
            // Processes of other users cannot be read, and are not ours to stop.
            fs_err::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|byte| *byte == 0).any(|entry| entry == wanted.as_bytes()))
        })
        .filter_map(|pid| i32::try_from(pid).ok().map(Pid::from_raw))
        .filter(|pid| is_running(*pid))
        .collect()
}

/// Whether `pid` exists and is not a zombie.
fn is_running(pid: Pid) -> bool {
    match fs_err::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (command) state ...`; the command may contain spaces and `)`.
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => kill(pid, None).is_ok() && !std::path::Path::new("/proc/self").exists(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    #[test]
    fn the_sentence_counts_what_was_stopped() {
        assert_eq!(Stopped::default().sentence(), None);
        let both = Stopped { processes: 2, containers: 1, problems: Vec::new() };
        assert_eq!(both.sentence().as_deref(), Some("stopped 2 process(es) and 1 container(s) it left running"));
        let one = Stopped { processes: 0, containers: 1, problems: Vec::new() };
        assert_eq!(one.sentence().as_deref(), Some("stopped 1 container(s) it left running"));
    }

    #[tokio::test]
    async fn processes_carrying_the_run_id_are_found_and_stopped() {
        let run_id = format!("orphan-test-{}", std::process::id());
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 300 & wait"])
            .env(RUN_ID_VARIABLE, &run_id)
            .process_group(0)
            .spawn()
            .expect("sh starts");
        // A process in the middle of exec has no environment to read for a moment: wait until
        // both are seen twice in a row.
        let started = std::time::Instant::now();
        let mut seen = 0;
        while seen < 2 && started.elapsed() < Duration::from_secs(5) {
            seen = if processes_of(&run_id).len() == 2 { seen + 1 } else { 0 };
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(seen, 2, "the shell and its sleep carry the id");
        let shell = i32::try_from(child.id()).expect("a pid");
        assert!(processes_of("another-run").iter().all(|pid| pid.as_raw() != shell));

        let stopped = stop("unit", &run_id, "local").await;
        assert_eq!(stopped.processes, 2);
        let _ = child.wait();
        assert!(processes_of(&run_id).is_empty(), "nothing of the run is left");
    }
}
