//! Runs whose slipway died before they ended (SIGKILL, a crash, an out-of-memory kill).
//!
//! The store says a run is running while its owner lives: the owner's process on this machine,
//! or its heartbeat (every few seconds) from another machine. When that is no longer so, the
//! next slipway to start here (`job run`, `schedule`) reaps the run:
//! 1. what the run left running on this machine is stopped ([`exec::orphans`]), so it never
//!    goes on beside the next run of the job, which `skip_if_running` would otherwise not see;
//! 2. the run is recorded as an error that says what happened;
//! 3. its build directory gets `finished.json` (`ERROR`) and its log, from the local copy, so
//!    the storage never shows it running forever.
//!
//! A run of another machine is only recorded: its processes are not ours to see.

use std::path::PathBuf;

use slipway_artifacts::{BuildDir, Finished, JobResult, ProwJob, ProwJobState};

use crate::exec::{self, orphans::Stopped};
use crate::runner::{Context, RunError};

/// How old a heartbeat of another machine's run must be before the run counts as lost.
pub const STALE_AFTER_SECONDS: i64 = 120;

/// A run that was found lost, as recorded, and what was stopped for it.
#[derive(Debug, Clone)]
pub struct Lost {
    pub run: slipway_store::Run,
    pub stopped: Stopped,
}

impl Lost {
    /// One line for the caller's stderr.
    pub fn sentence(&self) -> String {
        let mut line = format!(
            "{}/{} was left running by a slipway that is gone; recorded as an error",
            self.run.job, self.run.build_id
        );
        if let Some(stopped) = self.stopped.sentence() {
            line.push_str("; ");
            line.push_str(&stopped);
        }
        for problem in &self.stopped.problems {
            line.push_str("; ");
            line.push_str(problem);
        }
        line
    }
}

/// Reaps every lost run (see the module's documentation); returns them.
pub async fn reap(context: &Context) -> Result<Vec<Lost>, RunError> {
    let now = jiff::Timestamp::now().as_second();
    let runs = context.store.mark_lost(&context.host, process_alive, now - STALE_AFTER_SECONDS, now).await?;
    let mut reaped = Vec::new();
    for run in runs {
        let stopped = if run.owner_host == context.host {
            exec::orphans::stop(&run.job, &run.id, &run.executor).await
        } else {
            Stopped::default()
        };
        finish_build(context, &run, &stopped, now).await;
        reaped.push(Lost { run, stopped });
    }
    Ok(reaped)
}

/// Whether process `pid` of this machine still runs.
pub fn process_alive(pid: i64) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// Gives the run's build directory `finished.json` and its log, unless it has them or the
/// local log is not on this machine.
async fn finish_build(context: &Context, run: &slipway_store::Run, stopped: &Stopped, now: i64) {
    let Ok(build_id) = run.build_id.parse::<u64>() else {
        return;
    };
    let Ok(build) = BuildDir::new(context.storage.clone(), &run.job, build_id) else {
        return;
    };
    if !matches!(build.read_finished().await, Ok(None)) {
        return;
    }
    let log = PathBuf::from(&run.log_path);
    if !log.exists() {
        return;
    }
    let mut said = format!("\nslipway: {}\n", run.description);
    if let Some(sentence) = stopped.sentence() {
        said.push_str(&format!("slipway: {sentence}\n"));
    }
    let _ = fs_err::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut file| std::io::Write::write_all(&mut file, said.as_bytes()));
    let finished = Finished {
        timestamp: Some(now),
        passed: Some(false),
        result: Some(JobResult::Other("ERROR".to_owned())),
        ..Finished::default()
    };
    let mut prowjob = ProwJob::new(&run.job, build_id, serde_json::Map::new(), run.created_at);
    prowjob.name.clone_from(&run.id);
    prowjob.complete(ProwJobState::Error, now);
    prowjob.description = Some(run.description.clone());
    let _ = build.finish(&log, None, &finished, &prowjob).await;
}
