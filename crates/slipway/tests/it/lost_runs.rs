//! A slipway killed with SIGKILL while its run goes (`job run` or `schedule`): the next slipway
//! to start stops what the run left running (its processes, its container, on podman and
//! Docker), records it as an error and finishes its build directory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slipway_jobs::exec::orphans::processes_of;

use crate::support::{Run, build_dir, json, project, slipway_with_env};

fn pairs<'a>(environment: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    environment.iter().map(|(name, value)| (*name, value.as_str())).collect()
}

/// Starts slipway in the background and waits until `job` has a running run; the run's id.
#[expect(clippy::zombie_processes, reason = "the child is returned, and the caller kills and waits for it")]
fn start_and_wait(
    project: &Path,
    args: &[&str],
    environment: &[(&'static str, String)],
    job: &str,
) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .current_dir(project)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slipway");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = slipway_with_env(
            project,
            &["runs", "list", "--job", job, "--state", "running", "--format", "json"],
            &pairs(environment),
        );
        if list.code == 0
            && let Some(id) = json(&list.stdout)["runs"][0]["id"].as_str()
        {
            return (child, id.to_owned());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no running run of {job}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sigkill(mut child: std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("kill");
    let _ = child.wait();
}

/// Waits until `ready` holds (a job's process or container has really started).
fn eventually(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a reaped run must look like afterwards: an error in the store, finished.json in its
/// build directory, and its log saying what happened.
fn assert_reaped(project: &Path, job: &str, environment: &[(&'static str, String)], next: &Run, stopped: &str) {
    assert!(next.stderr.contains("was left running by a slipway that is gone"), "{}", next.stderr);
    assert!(next.stderr.contains(stopped), "says what it stopped: {}", next.stderr);
    let listed = json(
        &slipway_with_env(project, &["runs", "list", "--job", job, "--format", "json"], &pairs(environment)).stdout,
    );
    assert_eq!(listed["runs"][0]["state"], "error", "{listed}");
    let build = build_dir(project, job);
    let finished = json(&fs_err::read_to_string(build.join("finished.json")).expect("finished.json"));
    assert_eq!(finished["result"], "ERROR", "{finished}");
    let log = fs_err::read_to_string(build.join("build-log.txt")).expect("the log");
    let said = log.lines().find(|line| line.starts_with("slipway: stopped")).unwrap_or_default();
    assert!(said.contains(stopped), "{log}");
}

#[test]
fn a_job_run_killed_with_sigkill_leaves_no_process_behind() {
    // The shell and both sleeps are the run's; the first sleep is in the background.
    let project =
        project("jobs:\n- name: long\n  command: 'sleep 300 & sleep 301; wait'\n- name: quick\n  command: 'true'\n");
    let (first, id) = start_and_wait(project.path(), &["job", "run", "long"], &[], "long");
    eventually("the job's processes start", || processes_of(&id).len() >= 3);
    sigkill(first);
    assert!(processes_of(&id).len() >= 3, "the orphans outlive their slipway until someone stops them");

    let next = slipway_with_env(project.path(), &["job", "run", "quick"], &[]);
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert!(processes_of(&id).is_empty(), "every process of the lost run is stopped: {:?}", processes_of(&id));
    assert_reaped(project.path(), "long", &[], &next, "stopped 3 process(es) it left running");
    insta::assert_snapshot!("lost-job-run", crate::support::render_runs(&next, project.path()));
}

#[test]
fn a_scheduler_killed_with_sigkill_leaves_no_process_behind_and_is_not_doubled() {
    let project = project("jobs:\n- name: hourly\n  command: [sleep, '300']\n  interval: 1h\n");
    let (scheduler, id) = start_and_wait(project.path(), &["schedule"], &[], "hourly");
    eventually("the job's process starts", || processes_of(&id).len() == 1);
    sigkill(scheduler);

    let next = slipway_with_env(project.path(), &["schedule", "--once"], &[]);
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert!(processes_of(&id).is_empty(), "the orphan is stopped");
    assert_reaped(project.path(), "hourly", &[], &next, "stopped 1 process(es) it left running");
    // The hour has not passed: the restarted scheduler starts no second run.
    let listed = json(&slipway_with_env(project.path(), &["runs", "list", "--format", "json"], &[]).stdout);
    assert_eq!(listed["runs"].as_array().map(Vec::len), Some(1), "{listed}");
}

/// Containers of run `id`, as the engine lists them.
fn containers(engine: &str, environment: &[(&'static str, String)], id: &str) -> String {
    let output = Command::new(engine)
        .args(["ps", "--all", "--quiet", "--filter", &format!("label=slipway.run={id}")])
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .output()
        .expect("the engine lists containers");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn a_container_left_by_a_killed_job_run_is_removed(engine: &str, environment: &[(&'static str, String)]) {
    let image = crate::prow_run::busybox();
    let project = project(&format!(
        "jobs:\n- name: boxed\n  image: {image}\n  command: [sleep, '300']\n- name: quick\n  command: 'true'\n"
    ));
    let (first, id) = start_and_wait(project.path(), &["job", "run", "boxed"], environment, "boxed");
    eventually("the container starts", || !containers(engine, environment, &id).is_empty());
    sigkill(first);
    // The engine keeps the container running without its client.
    assert!(!containers(engine, environment, &id).is_empty());

    let next = slipway_with_env(project.path(), &["job", "run", "quick"], &pairs(environment));
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert_eq!(containers(engine, environment, &id), "", "the lost run's container is removed");
    assert_reaped(project.path(), "boxed", environment, &next, "1 container(s)");
}

#[test]
fn a_podman_container_left_by_a_killed_job_run_is_removed() {
    let mut environment: Vec<(&'static str, String)> = slipway_test::podman::environment()
        .into_iter()
        .map(|(name, path)| (name, path.display().to_string()))
        .collect();
    environment.push(("SLIPWAY_CONTAINER_ENGINE", "podman".to_owned()));
    a_container_left_by_a_killed_job_run_is_removed("podman", &environment);
}

#[test]
fn a_docker_container_left_by_a_killed_job_run_is_removed() {
    let mut environment: Vec<(&'static str, String)> = slipway_test::docker::environment().into_iter().collect();
    environment.push(("SLIPWAY_CONTAINER_ENGINE", "docker".to_owned()));
    a_container_left_by_a_killed_job_run_is_removed("docker", &environment);
}
