//! The job, runs and schedule commands as a maintainer sees them: exit code, stdout and stderr
//! as snapshots, with what changes from run to run (ids, build ids, times, pids, the host)
//! replaced by placeholders.

use crate::support::{project, render_runs as render, slipway, slipway_with_env};

const JOBS: &str = "\
jobs:
- name: unit
  command: 'echo unit tests pass; sleep 0.2; echo a warning >&2'
- name: flaky
  command: 'echo one test failed; exit 3'
  timeout: 1m
- name: missing
  command: [no-such-tool, --flag]
- name: nightly
  command: [echo, nightly]
  cron: '30 2 * * *'
  timezone: Europe/Berlin
- name: hourly
  command: [echo, hourly]
  interval: 1h
";

#[test]
fn job_list_in_text_and_json() {
    let project = project(JOBS);
    let text = slipway(project.path(), &["job", "list"]);
    insta::assert_snapshot!("job-list", render(&text, project.path()));
    let json = slipway(project.path(), &["job", "list", "--format", "json"]);
    insta::assert_snapshot!("job-list-json", render(&json, project.path()));
}

#[test]
fn job_run_says_how_each_run_ended_with_the_documented_exit_code() {
    let project = project(JOBS);
    for (job, code) in [("unit", 0), ("flaky", 1), ("missing", 2)] {
        let run = slipway(project.path(), &["job", "run", job]);
        assert_eq!(run.code, code, "{job}: {}", run.stderr);
        insta::assert_snapshot!(format!("job-run-{job}"), render(&run, project.path()));
    }
    let unknown = slipway(project.path(), &["job", "run", "no-such-job"]);
    insta::assert_snapshot!("job-run-unknown", render(&unknown, project.path()));

    let list = slipway(project.path(), &["runs", "list"]);
    insta::assert_snapshot!("runs-list", render(&list, project.path()));
    let show = slipway(project.path(), &["runs", "show", "flaky"]);
    insta::assert_snapshot!("runs-show", render(&show, project.path()));
    let logs = slipway(project.path(), &["runs", "logs", "unit"]);
    insta::assert_snapshot!("runs-logs", render(&logs, project.path()));
    let nothing = slipway(project.path(), &["runs", "show", "no-such-run"]);
    insta::assert_snapshot!("runs-show-unknown", render(&nothing, project.path()));
}

#[test]
fn read_only_commands_in_a_fresh_project_say_there_is_nothing_yet() {
    let project = project(JOBS);
    for (name, args) in [("runs-list-empty", &["runs", "list"][..]), ("runs-logs-empty", &["runs", "logs", "unit"])] {
        let run = slipway(project.path(), args);
        insta::assert_snapshot!(name, render(&run, project.path()));
    }
    assert!(!project.path().join(".slipway").exists(), "reading created nothing");
}

#[test]
fn bad_job_configuration_and_flags_are_usage_errors_naming_the_line_or_flag() {
    let bad = project("jobs:\n- name: slow\n  command: [sleep, '1']\n  timeout: forever\n");
    let run = slipway(bad.path(), &["job", "run", "slow"]);
    insta::assert_snapshot!("bad-timeout", render(&run, bad.path()));
    let project = project(JOBS);
    let pull = slipway(project.path(), &["job", "run", "unit", "--pull", "sometimes"]);
    insta::assert_snapshot!("bad-pull-flag", render(&pull, project.path()));
    let env = slipway(project.path(), &["job", "run", "unit", "--env", "NOVALUE"]);
    insta::assert_snapshot!("bad-env-flag", render(&env, project.path()));
}

#[test]
fn schedule_without_a_scheduled_job_says_how_to_give_one() {
    let project = project("jobs:\n- name: unit\n  command: 'true'\n");
    let run = slipway(project.path(), &["schedule", "--once"]);
    insta::assert_snapshot!("schedule-nothing", render(&run, project.path()));
}

/// The faults and bad input of the jobs' second pass, each as the maintainer sees it.
#[test]
fn probes_are_refused_with_one_clear_message() {
    let overflow = project("jobs:\n- name: forever\n  command: 'true'\n  timeout: 99999999999999999h\n");
    let run = slipway(overflow.path(), &["job", "run", "forever"]);
    insta::assert_snapshot!("probe-duration-overflow", render(&run, overflow.path()));

    let dots = project("jobs:\n- name: \"..\"\n  command: 'true'\n");
    let run = slipway(dots.path(), &["job", "run", ".."]);
    insta::assert_snapshot!("probe-name-dots", render(&run, dots.path()));

    let project = project(JOBS);
    let run =
        slipway_with_env(project.path(), &["release", "verify", "--version", "1.0.0"], &[("SLIPWAY_OFFLINE", "maybe")]);
    insta::assert_snapshot!("probe-offline-maybe", render(&run, project.path()));

    let prow = project.path().join("prow.yaml");
    fs_err::write(
        &prow,
        "periodics:\n- name: p\n  interval: 1h\n  interval: 2h\n  spec:\n    containers:\n    - image: busybox\n      command: [echo]\n",
    )
    .expect("write");
    let run = slipway(project.path(), &["job", "list", "--prow-config", "prow.yaml"]);
    insta::assert_snapshot!("probe-prow-duplicate-key", render(&run, project.path()));

    let mut bomb = format!("{JOBS}bombs:\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for level in 1..=9 {
        let items = vec![format!("*a{}", level - 1); 9].join(", ");
        bomb.push_str(&format!("  a{level}: &a{level} [{items}]\n"));
    }
    fs_err::write(project.path().join("slipway.yaml"), bomb).expect("write");
    let run = slipway(project.path(), &["job", "run", "unit"]);
    insta::assert_snapshot!("probe-alias-bomb", render(&run, project.path()));
}

#[test]
fn an_image_that_cannot_be_pulled_is_said_once_naming_image_and_registry() {
    let image = format!("{}/slipway-test/no-such-image:1", slipway_test::registry::address());
    let project = project(&format!("jobs:\n- name: boxed\n  image: {image}\n  command: [echo]\n"));
    let environment: Vec<(&str, String)> = slipway_test::podman::environment()
        .into_iter()
        .map(|(name, path)| (name, path.display().to_string()))
        .collect();
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let run = slipway_with_env(project.path(), &["job", "run", "boxed"], &pairs);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let address = slipway_test::registry::address();
    let text = render(&run, project.path()).replace(address.as_str(), "[REGISTRY]");
    insta::assert_snapshot!("pull-failure", text);
}
