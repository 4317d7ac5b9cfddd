//! Pre- and postsubmits on an ordinary clone: the base ref found as a remote-tracking branch,
//! the default branch of the repository checked out, `--ref ORG/REPO=.` testing the working
//! tree as it is (without touching the index or the stash), and checkout errors that name the
//! repository, the ref tried and what to do.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::slipway;

/// What the job prints: Prow's variables, the commit and branch it is on, the files it sees.
const SCRIPT: &str = "echo base=$PULL_BASE_REF sha=$PULL_BASE_SHA; echo head=$(git rev-parse HEAD) on=$(git rev-parse --abbrev-ref HEAD); \
    for f in a.txt staged.txt untracked.txt debug.log gone.txt .slipway; do if [ -e $f ]; then echo \"has $f: $(cat $f 2>/dev/null | head -1)\"; else echo \"no $f\"; fi; done; \
    echo base-branch=$(git rev-parse --verify --quiet refs/heads/$PULL_BASE_REF)";

fn slipway_yaml(branches: &str) -> String {
    format!(
        "jobs:\n- name: pull-unit\n  command: [sh, -c, '{}']\n  prow:\n    type: presubmit\n    repo: example/demo\n{branches}",
        SCRIPT.replace('\'', "''")
    )
}

/// An upstream whose default branch is `master`, with `release-1.36` behind it, and an
/// ordinary clone of it: `release-1.36` exists there only as `origin/release-1.36`.
struct Upstream {
    _directory: tempfile::TempDir,
    upstream: PathBuf,
    clone: PathBuf,
    release: String,
    master: String,
}

fn upstream() -> Upstream {
    let directory = tempfile::tempdir().expect("temporary directory");
    let upstream = directory.path().join("upstream");
    fs_err::create_dir(&upstream).expect("mkdir");
    git(&upstream, &["init", "--quiet", "--initial-branch=master"]);
    fs_err::write(upstream.join("a.txt"), "release\n").expect("write");
    fs_err::write(upstream.join("gone.txt"), "committed\n").expect("write");
    fs_err::write(upstream.join(".gitignore"), "*.log\n").expect("write");
    git(&upstream, &["add", "--all"]);
    git(&upstream, &["commit", "--quiet", "-m", "one"]);
    git(&upstream, &["branch", "release-1.36"]);
    fs_err::write(upstream.join("a.txt"), "master\n").expect("write");
    git(&upstream, &["commit", "--quiet", "-am", "two"]);
    git(directory.path(), &["clone", "--quiet", "upstream", "clone"]);
    let clone = directory.path().join("clone");
    let release = git(&upstream, &["rev-parse", "release-1.36"]);
    let master = git(&upstream, &["rev-parse", "master"]);
    Upstream { _directory: directory, upstream, clone, release, master }
}

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

fn latest_log(project: &Path, job: &str) -> String {
    let logs = project.join(".slipway/artifacts/logs").join(job);
    let build = fs_err::read_to_string(logs.join("latest-build.txt")).expect("latest-build.txt");
    fs_err::read_to_string(logs.join(build.trim()).join("build-log.txt")).expect("build log")
}

#[test]
fn a_release_presubmit_tests_the_working_tree_of_an_ordinary_clone_as_it_is() {
    let Upstream { clone, release, master, _directory, .. } = upstream();
    fs_err::write(clone.join("slipway.yaml"), slipway_yaml("    branches: ['^release-1\\.36$']\n")).expect("write");
    // The maintainer's edits: unstaged, staged, untracked, ignored, deleted.
    fs_err::write(clone.join("a.txt"), "edited\n").expect("write");
    fs_err::write(clone.join("staged.txt"), "staged\n").expect("write");
    git(&clone, &["add", "staged.txt"]);
    fs_err::write(clone.join("untracked.txt"), "untracked\n").expect("write");
    fs_err::write(clone.join("debug.log"), "ignored\n").expect("write");
    fs_err::remove_file(clone.join("gone.txt")).expect("remove");
    let index = fs_err::read(clone.join(".git/index")).expect("index");
    let status = git(&clone, &["status", "--porcelain"]);

    let run = slipway(&clone, &["job", "run", "pull-unit", "--ref", "example/demo=."]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let log = latest_log(&clone, "pull-unit");
    assert!(log.contains(&format!("base=release-1.36 sha={release}")), "{log}");
    assert!(log.contains(&format!("head={master} on=master")), "{log}");
    for line in
        ["has a.txt: edited", "has staged.txt: staged", "has untracked.txt: untracked", "no debug.log", "no gone.txt"]
    {
        assert!(log.contains(line), "{line}: {log}");
    }
    assert!(log.contains("no .slipway"), "slipway's own state is not copied: {log}");
    assert!(log.contains(&format!("base-branch={release}")), "the base is there by name: {log}");
    assert!(
        run.stderr.contains("example/demo: the working tree of") && run.stderr.contains("origin/release-1.36"),
        "{}",
        run.stderr
    );

    assert_eq!(fs_err::read(clone.join(".git/index")).expect("index"), index, "the index is untouched");
    assert_eq!(git(&clone, &["status", "--porcelain"]), status, "and .slipway/ ignores itself");
    assert_eq!(git(&clone, &["stash", "list"]), "", "the stash is untouched");

    let show = slipway(&clone, &["runs", "show", "pull-unit"]);
    assert!(show.stdout.contains(&format!("revision:  {master} + 5 uncommitted files of")), "{}", show.stdout);
    let build = fs_err::read_to_string(clone.join(".slipway/artifacts/logs/pull-unit/latest-build.txt")).expect("id");
    let started: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(
            clone.join(".slipway/artifacts/logs/pull-unit").join(build.trim()).join("started.json"),
        )
        .expect("started.json"),
    )
    .expect("JSON");
    assert_eq!(started["repos"]["example/demo"], format!("release-1.36:{release}"), "{started}");
    assert_eq!(started["repo-commit"], master.as_str());
}

#[test]
fn without_branches_a_presubmit_takes_the_default_branch_of_what_it_checks_out() {
    let Upstream { upstream, clone, master, release, _directory } = upstream();
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(project.path().join("slipway.yaml"), slipway_yaml("")).expect("write");

    // A URL is cloned: its default branch is master, not main.
    let url = format!("file://{}", upstream.display());
    let run = slipway(project.path(), &["job", "run", "pull-unit", "--ref", &format!("example/demo={url}")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = latest_log(project.path(), "pull-unit");
    assert!(log.contains(&format!("base=master sha={master}")), "{log}");
    assert!(log.contains(&format!("head={master} on=master")), "{log}");

    // A working tree on a feature branch: the default branch is origin/HEAD's.
    git(&clone, &["checkout", "--quiet", "-b", "feature", "origin/release-1.36"]);
    let run =
        slipway(project.path(), &["job", "run", "pull-unit", "--ref", &format!("example/demo={}", clone.display())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = latest_log(project.path(), "pull-unit");
    assert!(log.contains(&format!("base=master sha={master}")), "{log}");
    assert!(log.contains(&format!("head={release} on=feature")), "{log}");

    // A bare repository is cloned at the base ref given, on a branch of that name.
    let bare = project.path().join("bare.git");
    git(project.path(), &["clone", "--quiet", "--bare", &upstream.display().to_string(), "bare.git"]);
    let reference = format!("example/demo={}", bare.display());
    let run = slipway(project.path(), &["job", "run", "pull-unit", "--ref", &reference, "--base-ref", "release-1.36"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = latest_log(project.path(), "pull-unit");
    assert!(log.contains(&format!("base=release-1.36 sha={release}")), "{log}");
    assert!(log.contains(&format!("head={release} on=release-1.36")), "{log}");
}

#[test]
fn checkout_errors_name_the_repository_the_ref_and_what_to_do() {
    let Upstream { upstream, clone, _directory, .. } = upstream();
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(project.path().join("slipway.yaml"), slipway_yaml("    branches: ['^release-1\\.36$']\n"))
        .expect("write");
    let redactions = [
        (upstream.display().to_string(), "[UPSTREAM]".to_owned()),
        (clone.display().to_string(), "[CLONE]".to_owned()),
    ];
    let redactions: Vec<(&str, &str)> = redactions.iter().map(|(from, to)| (from.as_str(), to.as_str())).collect();
    let cases: [(&str, Vec<String>); 4] = [
        (
            "no-such-branch",
            vec![
                "--ref".into(),
                format!("example/demo={}", clone.display()),
                "--base-ref".into(),
                "release-9.99".into(),
            ],
        ),
        ("no-such-directory", vec!["--ref".into(), "example/demo=/nonexistent/checkout".into()]),
        ("not-a-repository", vec!["--ref".into(), format!("example/demo={}", project.path().display())]),
        ("unreachable", vec!["--ref".into(), "example/demo=file:///nonexistent/upstream.git".into()]),
    ];
    for (name, extra) in cases {
        let mut args = vec!["job", "run", "pull-unit"];
        args.extend(extra.iter().map(String::as_str));
        let run = slipway(project.path(), &args);
        insta::assert_snapshot!(format!("checkout-{name}"), run.render(&redactions));
    }
    let list = slipway(project.path(), &["runs", "list", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    let states: Vec<&str> =
        runs["runs"].as_array().expect("runs").iter().map(|run| run["state"].as_str().expect("state")).collect();
    assert_eq!(states, ["error"; 4], "each failed checkout is a finished run");
}
