//! Prow config read in place: `job list`, `schedule` and `job run` with `--prow-config` or
//! slipway.yaml's `prow.config`, and `job affected` / `job run --affected` choosing presubmits
//! by Prow's rules from the working tree's change.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::prow_run::{busybox, run};
use crate::support::slipway;

fn git(directory: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(directory)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Presubmits of `example/demo` with every kind of trigger, a periodic, and a job of another
/// repository.
fn prow_jobs(image: &str) -> String {
    let container = |script: &str| {
        format!("    spec:\n      containers:\n      - image: {image}\n        command: [sh, -c, '{script}']\n")
    };
    format!(
        "presubmits:\n  example/demo:\n  - name: pull-verify\n    always_run: true\n{}  - name: pull-unit\n    run_if_changed: '\\.go$'\n{}  - name: pull-e2e\n    skip_if_only_changed: '^docs/|\\.md$'\n{}  - name: pull-manual\n{}  - name: pull-release-only\n    always_run: true\n    branches: ['^release-.*$']\n{}  example/other:\n  - name: pull-other\n    always_run: true\n{}periodics:\n- name: ci-demo\n  interval: 1h\n  spec:\n    containers:\n    - image: {image}\n      command: [echo, periodic]\n",
        container("echo verify base=$PULL_BASE_REF; cat CHANGED"),
        container("echo unit; cat CHANGED"),
        container("echo e2e"),
        container("echo manual"),
        container("echo release"),
        container("echo other"),
    )
}

/// A clone of a repository whose default branch is `master`, on a feature branch.
struct Checkout {
    _directory: tempfile::TempDir,
    clone: PathBuf,
    prow: PathBuf,
}

fn checkout(image: &str) -> Checkout {
    let directory = tempfile::tempdir().expect("temporary directory");
    let upstream = directory.path().join("demo-upstream");
    fs_err::create_dir(&upstream).expect("mkdir");
    git(&upstream, &["init", "--quiet", "--initial-branch=master"]);
    fs_err::create_dir_all(upstream.join("docs")).expect("mkdir");
    fs_err::write(upstream.join("docs/guide.md"), "guide\n").expect("write");
    fs_err::write(upstream.join("main.go"), "package main\n").expect("write");
    fs_err::write(upstream.join(".gitignore"), "*.log\n").expect("write");
    git(&upstream, &["add", "--all"]);
    git(&upstream, &["commit", "--quiet", "-m", "one"]);
    git(directory.path(), &["clone", "--quiet", "demo-upstream", "demo"]);
    let clone = directory.path().join("demo");
    git(&clone, &["checkout", "--quiet", "-b", "feature"]);
    let prow = directory.path().join("prow");
    fs_err::create_dir(&prow).expect("mkdir");
    fs_err::write(prow.join("demo.yaml"), prow_jobs(image)).expect("write");
    Checkout { _directory: directory, clone, prow }
}

#[test]
fn job_affected_says_which_presubmits_a_change_triggers_and_why() {
    let Checkout { clone, prow, _directory } = checkout("busybox");
    let prow = prow.display().to_string();
    // A change to docs only: always_run runs, skip_if_only_changed skips, run_if_changed skips.
    fs_err::write(clone.join("docs/guide.md"), "edited\n").expect("write");
    fs_err::write(clone.join("debug.log"), "ignored\n").expect("write");
    let docs = slipway(&clone, &["job", "affected", "--prow-config", &prow, "--all"]);
    insta::assert_snapshot!("affected-docs", docs.render(&[]));

    // Committed Go code on the branch, and an untracked Markdown file.
    fs_err::write(clone.join("main.go"), "package main // changed\n").expect("write");
    git(&clone, &["commit", "--quiet", "-am", "code"]);
    fs_err::write(clone.join("NOTES.md"), "notes\n").expect("write");
    let code = slipway(&clone, &["job", "affected", "--prow-config", &prow, "--format", "json"]);
    assert_eq!(code.code, 0, "{}", code.stderr);
    let report: serde_json::Value = serde_json::from_str(&code.stdout).expect("JSON");
    assert_eq!(report["schema"], "slipway.job.affected/v1");
    assert_eq!(report["repository"], "example/demo", "the only repository named after the checkout");
    assert_eq!(report["base"], "origin/master");
    assert_eq!(report["branch"], "master");
    assert_eq!(report["changed"], serde_json::json!(["NOTES.md", "docs/guide.md", "main.go"]));
    let triggered: Vec<&str> = report["presubmits"]
        .as_array()
        .expect("presubmits")
        .iter()
        .filter(|verdict| verdict["triggered"] == true)
        .map(|verdict| verdict["name"].as_str().expect("name"))
        .collect();
    assert_eq!(triggered, ["pull-verify", "pull-unit", "pull-e2e"]);
    let unit = &report["presubmits"][1];
    assert_eq!(
        unit["reason"],
        serde_json::json!({"rule": "run_if_changed", "pattern": "\\.go$", "matched": "main.go"})
    );

    // Against a release branch, the release-only job runs too.
    git(&clone, &["push", "--quiet", "origin", "master:release-1.36"]);
    git(&clone, &["fetch", "--quiet", "origin"]);
    let release = slipway(&clone, &["job", "affected", "--prow-config", &prow, "--base", "release-1.36"]);
    assert!(release.stdout.contains("against origin/release-1.36"), "{}", release.stdout);
    assert!(release.stdout.contains("pull-release-only"), "{}", release.stdout);

    // Bad input: exit 2, saying what to do.
    let unknown = slipway(&clone, &["job", "affected", "--prow-config", &prow, "--base", "release-9.99"]);
    insta::assert_snapshot!("affected-unknown-base", unknown.render(&[]));
    let other = slipway(&clone, &["job", "affected", "--prow-config", &prow, "--repository", "example/none"]);
    insta::assert_snapshot!("affected-unknown-repository", other.render(&[]));
    let none = slipway(&clone, &["job", "affected"]);
    insta::assert_snapshot!("affected-no-prow-config", none.render(&[]));
}

#[test]
fn prow_config_in_slipway_yaml_lists_schedules_and_runs_affected_jobs() {
    let image = busybox();
    let Checkout { clone, prow, _directory } = checkout(&image);
    // slipway.yaml names the Prow config in place, relative to itself, next to its own jobs.
    let relative = Path::new("..").join(prow.file_name().expect("a name"));
    fs_err::write(
        clone.join("slipway.yaml"),
        format!("prow:\n  config: [{}]\njobs:\n- name: local-lint\n  command: 'true'\n", relative.display()),
    )
    .expect("write");
    git(&clone, &["add", "slipway.yaml"]);
    git(&clone, &["commit", "--quiet", "-m", "slipway"]);

    let list = slipway(&clone, &["job", "list", "--format", "json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let listed: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    let kinds: Vec<(String, String)> = listed["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|job| (job["name"].as_str().expect("name").to_owned(), job["kind"].as_str().expect("kind").to_owned()))
        .collect();
    assert_eq!(kinds[0], ("local-lint".to_owned(), "job".to_owned()));
    assert!(kinds.contains(&("ci-demo".to_owned(), "periodic".to_owned())), "{kinds:?}");
    assert!(kinds.contains(&("pull-other".to_owned(), "presubmit".to_owned())), "{kinds:?}");
    let periodic =
        listed["jobs"].as_array().expect("jobs").iter().find(|job| job["name"] == "ci-demo").expect("ci-demo");
    assert_eq!(periodic["schedule"], "every 1h0m0s");
    let text = fs_err::read_to_string(prow.join("demo.yaml")).expect("read");
    let line = text.lines().position(|line| line == "- name: ci-demo").expect("the periodic") + 1;
    assert!(periodic["source"].as_str().expect("source").ends_with(&format!("demo.yaml:{line}")), "{periodic}");

    // The scheduler runs the Prow periodic from its own interval, without an import.
    let schedule = run(&clone, &["schedule", "--once"]);
    assert_eq!(schedule.code, 0, "{}", schedule.stderr);
    assert!(schedule.stderr.contains("scheduling 1 job(s): ci-demo"), "{}", schedule.stderr);
    assert!(schedule.stderr.contains("finished ci-demo/"), "{}", schedule.stderr);

    // Go code changed in the working tree: the triggered presubmits run on it as it is.
    fs_err::write(clone.join("main.go"), "package main // work in progress\n").expect("write");
    fs_err::write(clone.join("CHANGED"), "uncommitted and untracked\n").expect("write");
    let affected = run(&clone, &["job", "run", "--affected", "--format", "json"]);
    assert_eq!(affected.code, 0, "{}\n{}", affected.stdout, affected.stderr);
    assert!(
        affected.stderr.contains("3 of 5 presubmits of example/demo are triggered")
            && affected.stderr.contains("pull-verify, pull-unit, pull-e2e"),
        "{}",
        affected.stderr
    );
    let runs: serde_json::Value = serde_json::from_str(&affected.stdout).expect("JSON");
    let jobs: Vec<&str> =
        runs["runs"].as_array().expect("runs").iter().map(|run| run["job"].as_str().expect("job")).collect();
    assert_eq!(jobs, ["pull-verify", "pull-unit", "pull-e2e"]);
    let logs = clone.join(".slipway/artifacts/logs/pull-verify");
    let build = fs_err::read_to_string(logs.join("latest-build.txt")).expect("latest");
    let log = fs_err::read_to_string(logs.join(build.trim()).join("build-log.txt")).expect("log");
    assert!(log.contains("verify base=master") && log.contains("uncommitted and untracked"), "{log}");

    // A name in slipway.yaml and in the Prow config at once is refused.
    fs_err::write(
        clone.join("slipway.yaml"),
        format!("prow:\n  config: [{}]\njobs:\n- name: ci-demo\n  command: 'true'\n", relative.display()),
    )
    .expect("write");
    let clash = slipway(&clone, &["job", "list"]);
    assert_eq!(clash.code, 2, "{}", clash.stderr);
    assert!(clash.stderr.contains("job `ci-demo` is in slipway.yaml and is a Prow periodic at"), "{}", clash.stderr);
}
