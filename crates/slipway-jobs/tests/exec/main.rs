//! The executors against real processes, and real podman with the local registry
//! (`scripts/test-services.sh start`).

mod container;
mod local;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use slipway_jobs::exec::Launch;
use slipway_jobs::job::Run;

/// A launch of `run` in a fresh directory: workspace, artifacts and log under `directory`.
fn launch(directory: &Path, job: &str, run: Run) -> Launch {
    Launch {
        job: job.to_owned(),
        run_id: format!("{job}-test-run"),
        run,
        env: BTreeMap::new(),
        workspace: directory.join("workspace"),
        workdir: None,
        artifacts: directory.join("artifacts"),
        volumes: Vec::new(),
        timeout: Duration::from_secs(60),
        grace_period: Duration::from_secs(5),
        log: directory.join("build-log.txt"),
        follow: false,
        pull: slipway_jobs::exec::PullPolicy::default(),
        secrets: Vec::new(),
        host_network: false,
    }
}

fn log(launch: &Launch) -> String {
    fs_err::read_to_string(&launch.log).expect("the run wrote its log")
}

fn read(path: PathBuf) -> String {
    fs_err::read_to_string(path).expect("the job wrote the file")
}

/// Whether process `pid` still runs (a zombie does not).
fn alive(pid: &str) -> bool {
    let stat = fs_err::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    // The state follows the command's closing parenthesis: `pid (comm) S ...`.
    stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z'))
}

/// Waits until `path` has content (a job got going), for at most ten seconds.
async fn wait_for_content(path: &Path) {
    for _ in 0..200 {
        if std::fs::metadata(path).is_ok_and(|metadata| metadata.len() > 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} stayed empty", path.display());
}
