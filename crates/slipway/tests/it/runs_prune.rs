//! `slipway runs prune` and the retention `slipway schedule` applies: records, run directories
//! and local artifacts go together, a running run never does, bad input says where it is.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{json, project, slipway, slipway_with_env};

fn runs(project: &Path, environment: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let list = slipway_with_env(project, &["runs", "list", "--limit", "0", "--format", "json"], environment);
    json(&list.stdout)["runs"].as_array().expect("runs").clone()
}

fn run_times(project: &Path, job: &str, times: usize, environment: &[(&str, &str)]) {
    for _ in 0..times {
        let run = slipway_with_env(project, &["job", "run", job], environment);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
}

/// The directories in `directory` (a job's directory also holds latest-build.txt).
fn entries(directory: &Path) -> usize {
    std::fs::read_dir(directory)
        .map_or(0, |entries| entries.filter(|entry| entry.as_ref().is_ok_and(|entry| entry.path().is_dir())).count())
}

#[test]
fn prune_keeps_the_newest_runs_of_each_job_and_removes_the_rest_with_their_files() {
    let project =
        project("jobs:\n- name: unit\n  command: 'echo hello > $ARTIFACTS/out.txt'\n- name: lint\n  command: [true]\n");
    let path = project.path();
    run_times(path, "unit", 4, &[]);
    run_times(path, "lint", 1, &[]);
    let all = runs(path, &[]);
    assert_eq!(all.len(), 5);
    let oldest_two: Vec<String> = all
        .iter()
        .filter(|run| run["job"] == "unit")
        .skip(2)
        .map(|run| run["build_id"].as_str().expect("id").to_owned())
        .collect();

    let dry = slipway(path, &["runs", "prune", "--keep", "2", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.stdout.lines().filter(|line| line.starts_with("would remove unit/")).count(), 2, "{}", dry.stdout);
    assert!(dry.stdout.ends_with("kept 3 finished run(s)\n"), "{}", dry.stdout);
    assert_eq!(runs(path, &[]).len(), 5, "a dry run removes nothing");

    let pruned = slipway(path, &["runs", "prune", "--keep", "2", "--format", "json"]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    let report = json(&pruned.stdout);
    assert_eq!(report["schema"], "slipway.runs.prune/v1");
    let removed: Vec<&str> =
        report["runs"].as_array().expect("runs").iter().map(|run| run["build_id"].as_str().expect("id")).collect();
    let mut expected: Vec<&str> = oldest_two.iter().map(String::as_str).collect();
    expected.reverse();
    assert_eq!(removed, expected, "the oldest first");
    assert!(report["freed_bytes"].as_u64().expect("bytes") > 0, "{report}");
    assert_eq!(runs(path, &[]).len(), 3);
    for build in &oldest_two {
        assert!(!path.join(".slipway/runs/unit").join(build).exists(), "the run directory goes");
        assert!(!path.join(".slipway/artifacts/logs/unit").join(build).exists(), "the local artifacts go");
    }
    assert_eq!(entries(&path.join(".slipway/runs/unit")), 2);
    assert_eq!(entries(&path.join(".slipway/artifacts/logs/unit")), 2);
    assert!(path.join(".slipway/runs/lint").exists(), "another job's newest run stays");

    // --job and --older-than: everything of lint that finished before now (in whole seconds).
    std::thread::sleep(Duration::from_millis(1100));
    let older = slipway(path, &["runs", "prune", "--older-than", "0s", "--job", "lint"]);
    assert_eq!(older.code, 0, "{}", older.stderr);
    let left = runs(path, &[]);
    assert!(left.iter().all(|run| run["job"] == "unit") && left.len() == 2, "{left:?}");
}

#[test]
fn a_running_run_is_never_pruned() {
    let project = project("jobs:\n- name: long\n  command: [sleep, '3']\n");
    let path = project.path();
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["job", "run", "long"])
        .current_dir(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slipway");
    let deadline = Instant::now() + Duration::from_secs(30);
    while runs(path, &[]).is_empty() {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pruned = slipway(path, &["runs", "prune", "--keep", "0", "--older-than", "0s"]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert!(pruned.stdout.contains("removed 0 run(s)"), "{}", pruned.stdout);
    let output = child.wait_with_output().expect("the run ends");
    assert!(output.status.success());
    assert_eq!(runs(path, &[])[0]["state"], "success", "it finished and was recorded");
}

#[test]
fn artifacts_in_a_bucket_are_kept_and_said_so() {
    let project = project("jobs:\n- name: unit\n  command: [true]\n");
    let bucket = slipway_test::s3::unique_bucket("runs-prune");
    let storage = format!("s3://{bucket}/ci");
    let environment = slipway_test::s3::environment();
    let mut environment: Vec<(&str, &str)> =
        environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    environment.push(("SLIPWAY_ARTIFACTS", &storage));
    run_times(project.path(), "unit", 2, &environment);
    let pruned = slipway_with_env(project.path(), &["runs", "prune", "--keep", "1"], &environment);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert!(pruned.stderr.contains(&format!("note: artifacts in {storage} are kept")), "{}", pruned.stderr);
    assert_eq!(runs(project.path(), &environment).len(), 1);
    assert_eq!(entries(&project.path().join(".slipway/runs/unit")), 1, "the local run directory still goes");
}

#[test]
fn the_scheduler_applies_the_configured_retention() {
    let project = project("runs:\n  keep: 1\njobs:\n- name: hourly\n  command: [echo, tick]\n  interval: 1h\n");
    let path = project.path();
    run_times(path, "hourly", 3, &[]);
    let scheduled = slipway(path, &["schedule", "--once"]);
    assert_eq!(scheduled.code, 0, "{}", scheduled.stderr);
    assert!(scheduled.stderr.contains("pruned 2 old run(s)"), "{}", scheduled.stderr);
    // The three by hand became one; the scheduler's own run came after.
    assert!(runs(path, &[]).len() <= 2, "{:?}", runs(path, &[]));
}

#[test]
fn bad_retention_is_a_usage_error_at_its_flag_or_line() {
    let project = project("runs:\n  older_than: a while\njobs:\n- name: unit\n  command: [true]\n");
    let flag = slipway(project.path(), &["runs", "prune", "--older-than", "soon"]);
    insta::assert_snapshot!(flag.render(&[]));
    let path = project.path().display().to_string();
    let file = slipway(project.path(), &["runs", "prune"]);
    insta::assert_snapshot!(file.render(&[(&path, "[PROJECT]")]));
    let nothing = tempfile::tempdir().expect("empty project");
    let empty = slipway(nothing.path(), &["runs", "prune"]);
    assert_eq!((empty.code, empty.stderr.as_str()), (0, "no runs recorded yet; nothing to prune\n"));
    assert!(!nothing.path().join(".slipway/state.db").exists(), "no store is made to prune nothing");
}
