//! Repositories and consumers that fight back: a pipe that closes early, YAML alias bombs,
//! kustomization cycles, byte-order marks, and a bump killed in the middle.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slipway_test::git::TempRepo;

use crate::support::{edit, example_repo, slipway};

/// The example with a doc naming the project's image `count` times at a stale tag, so a report
/// of it is far larger than a pipe's buffer.
fn noisy_repo(count: usize) -> TempRepo {
    let repo = example_repo();
    let lines: String =
        (0..count).map(|n| format!("{n}. docker pull ghcr.io/example-org/hello-operator:v0.3.0\n")).collect();
    repo.write("docs/pulls.md", &lines);
    repo.commit("many stale pulls");
    repo
}

/// Runs slipway with stdout (or stderr) connected to a pipe whose reader is gone before slipway
/// writes, and returns its exit code.
fn with_closed(stream: &str, directory: &std::path::Path, args: &[&str]) -> i32 {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
    command.args(args).current_dir(directory).env("NO_COLOR", "1").stdin(Stdio::null());
    match stream {
        "stdout" => command.stdout(Stdio::piped()).stderr(Stdio::null()),
        _ => command.stdout(Stdio::null()).stderr(Stdio::piped()),
    };
    let mut child = command.spawn().expect("slipway runs");
    // Closing the only read end: every write slipway makes fails with EPIPE.
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().expect("slipway exits").code().unwrap_or(-1)
}

#[test]
fn a_closed_pipe_never_changes_the_exit_code() {
    let repo = noisy_repo(3000);
    let failing = ["release", "verify", "--offline", "--version", "0.4.0"];
    let full = slipway(repo.path(), &failing);
    assert_eq!(full.code, 1);
    assert!(full.stdout.len() > 256 * 1024, "the report outgrows any pipe buffer: {} bytes", full.stdout.len());
    assert_eq!(with_closed("stdout", repo.path(), &failing), 1, "findings still fail the check");
    assert_eq!(with_closed("stdout", repo.path(), &[&failing[..], &["--format", "json"]].concat()), 1);
    assert_eq!(with_closed("stderr", repo.path(), &failing), 1);

    // A clean check with a long report still passes.
    let clean = example_repo();
    let docs: String = (0..3000).map(|n| format!("{n}. docker pull quay.io/other/tool-{n}:v1.0.0\n")).collect();
    clean.write("docs/other.md", &docs);
    clean.commit("other projects' images");
    let passing = ["release", "verify", "--offline", "--version", "0.4.0", "--verbose"];
    let full = slipway(clean.path(), &passing);
    assert_eq!(full.code, 0, "{}", full.stderr);
    assert!(full.stdout.len() > 256 * 1024, "{} bytes", full.stdout.len());
    assert_eq!(with_closed("stdout", clean.path(), &passing), 0);

    // And a bump's diff into a closed pipe is still a bump (its result: nothing left to fix).
    let bump = ["release", "bump", "0.5.0", "--dry-run"];
    assert_eq!(with_closed("stdout", repo.path(), &bump), slipway(repo.path(), &bump).code);
    // Every other command keeps its code too.
    let listing = ["runs", "list", "--format", "json"];
    assert_eq!(with_closed("stdout", repo.path(), &listing), 0);
}

/// Nine levels of nine aliases: a few hundred bytes that expand to 9^9 nodes.
fn bomb(indent: &str) -> String {
    let mut text = format!("{indent}a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for level in 1..=9 {
        let items = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("{indent}a{level}: &a{level} [{items}]\n"));
    }
    text
}

#[test]
fn alias_bombs_are_refused_at_their_line_in_every_yaml_slipway_reads() {
    let started = Instant::now();
    // In a manifest.
    let repo = example_repo();
    repo.write(
        "config/base/bomb.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: image\ndata:\n{}", bomb("  ")),
    );
    let run = slipway(repo.path(), &["release", "verify", "--offline", "--version", "0.4.0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("invalid YAML in `config/base/bomb.yaml` at line"), "{}", run.stderr);
    assert!(run.stderr.contains("alias bomb"), "{}", run.stderr);
    let bump = slipway(repo.path(), &["release", "bump", "0.5.0"]);
    assert_eq!(bump.code, 2, "{}", bump.stderr);

    // In an inline kustomize patch: the line is the kustomization's.
    let repo = example_repo();
    let patch = format!("patches:\n  - target: {{kind: Deployment}}\n    patch: |\n{}", bomb("      "));
    let kustomization = repo.read("config/default/kustomization.yaml");
    repo.write("config/default/kustomization.yaml", &format!("{kustomization}{patch}"));
    let run = slipway(repo.path(), &["release", "verify", "--offline", "--version", "0.4.0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("`config/default/kustomization.yaml` at line"), "{}", run.stderr);
    assert!(run.stderr.contains("in the inline patch"), "{}", run.stderr);

    // In slipway.yaml, for every command that reads it.
    let repo = example_repo();
    let config = repo.read("slipway.yaml");
    repo.write("slipway.yaml", &format!("{config}bombs:\n{}", bomb("  ")));
    for args in [&["release", "verify", "--offline"][..], &["job", "list"], &["runs", "list"]] {
        let run = slipway(repo.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("slipway.yaml` at line"), "{args:?}: {}", run.stderr);
    }
    assert!(started.elapsed() < Duration::from_secs(60), "bounded, not minutes: {:?}", started.elapsed());
}

#[test]
fn every_kustomization_cycle_is_an_error_naming_its_chain() {
    let repo = example_repo();
    edit(&repo, "config/default/kustomization.yaml", "  - ../jobs\n", "  - ../jobs\n  - ../cyc\n");
    repo.write("config/cyc/kustomization.yaml", "resources:\n  - ../default\n");
    let run = slipway(repo.path(), &["release", "verify", "--offline", "--version", "0.4.0"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("config/cyc -> config/default -> config/cyc"), "{}", run.stderr);

    let repo = example_repo();
    edit(&repo, "config/default/kustomization.yaml", "  - ../jobs\n", "  - ../jobs\n  - .\n");
    let run = slipway(repo.path(), &["release", "verify", "--offline", "--version", "0.4.0"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("config/default -> config/default"), "{}", run.stderr);
}

#[test]
fn a_byte_order_mark_is_kept_and_the_file_bumped() {
    let repo = example_repo();
    let manifest = repo.read("config/jobs/cleanup.yaml");
    repo.write("config/jobs/cleanup.yaml", &format!("\u{feff}{manifest}"));
    repo.commit("saved by an editor that writes a BOM");
    let run = slipway(repo.path(), &["release", "bump", "0.5.0"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bumped = repo.read("config/jobs/cleanup.yaml");
    assert!(bumped.starts_with('\u{feff}'), "the mark is kept");
    assert!(bumped.contains("hello-operator:v0.5.0"), "{bumped}");
    assert_eq!(slipway(repo.path(), &["release", "verify", "--offline"]).code, 0);
}

/// Files in the work tree git does not know: what a killed bump could leave behind.
fn untracked(repo: &TempRepo) -> Vec<String> {
    repo.git(&["ls-files", "--others", "--exclude-standard"]).lines().map(str::to_owned).collect()
}

#[test]
fn a_bump_killed_at_any_moment_leaves_no_litter_and_no_half_bumped_tree() {
    let repo = example_repo();
    // Enough files that the writing takes a while.
    for n in 0..300 {
        repo.write(
            &format!("config/extra/pod-{n}.yaml"),
            &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{n}\nspec:\n  containers:\n  - name: c\n    image: ghcr.io/example-org/hello-operator:v0.4.0\n"),
        );
    }
    repo.commit("many pods");
    let texts = |repo: &TempRepo| -> Vec<String> {
        (0..300).map(|n| repo.read(&format!("config/extra/pod-{n}.yaml"))).collect()
    };
    let before = texts(&repo);
    let mut outcomes = std::collections::BTreeSet::new();
    for delay_ms in [5_u64, 20, 40, 60, 80, 100, 120, 150, 180, 210, 240, 270, 300, 350, 400] {
        repo.git(&["checkout", "--quiet", "--", "."]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(["release", "bump", "0.5.0"])
            .current_dir(repo.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slipway runs");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            untracked(&repo),
            Vec::<String>::new(),
            "nothing left in the work tree (killed after {delay_ms} ms)"
        );
        // The next run finishes an interrupted write, or there was none.
        let mut verify = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(["release", "verify", "--offline", "--format", "json"])
            .current_dir(repo.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("slipway runs");
        let mut output = String::new();
        verify.stdout.take().expect("piped").read_to_string(&mut output).expect("read");
        let _ = verify.wait();
        let now = texts(&repo);
        let bumped = now.iter().all(|text| text.contains("hello-operator:v0.5.0"));
        let untouched = now == before;
        assert!(bumped || untouched, "killed after {delay_ms} ms: the tree is half bumped");
        outcomes.insert(if bumped { "bumped" } else { "untouched" });
    }
    assert!(!outcomes.is_empty());
}

#[test]
fn commands_that_only_read_create_nothing_and_work_from_any_subdirectory() {
    let repo = TempRepo::new();
    repo.write("deep/sub/dir/README.md", "nothing yet\n");
    repo.commit("empty project");
    let directory = repo.path().join("deep/sub/dir");
    for args in [
        &["runs", "list"][..],
        &["runs", "list", "--format", "json"],
        &["results", "flakes"],
        &["results", "alerts"],
        &["results", "clusters"],
        &["marker", "get", "stable-1.31"],
        &["release", "audit", "--offline"],
    ] {
        let run = slipway(&directory, args);
        assert!(run.code == 0 || run.code == 1, "{args:?}: {}{}", run.stdout, run.stderr);
    }
    let grid = slipway(&directory, &["results", "grid", "unit"]);
    assert!(grid.stderr.contains("no job has results yet"), "{}", grid.stderr);
    let listed = slipway(&directory, &["runs", "list"]);
    assert!(
        listed.stderr.contains(&format!(
            "no store at {}/.slipway/state.db yet",
            repo.path().canonicalize().expect("path").display()
        )),
        "{}",
        listed.stderr
    );
    assert_eq!(untracked(&repo), Vec::<String>::new(), "nothing was created");
    assert!(!repo.path().join(".slipway").exists() && !directory.join(".slipway").exists());
}

#[test]
fn credentials_in_urls_never_reach_the_output_and_errors_are_said_once() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let closed = slipway_test::s3::closed_endpoint();
    let database = format!("postgres://ci:hunter2@{}/slipway", closed.trim_start_matches("http://"));
    let run = slipway(directory.path(), &["runs", "list", "--database-url", &database]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    assert!(run.stderr.contains("postgres://ci:***@"), "{}", run.stderr);
    assert_eq!(run.stderr.matches("Connection refused").count(), 1, "said once: {}", run.stderr);

    let endpoint = closed.replacen("http://", "http://AKIAEXAMPLE:topsecret@", 1);
    let run = crate::support::slipway_with_env(
        directory.path(),
        &["marker", "get", "stable", "--storage", "s3://bucket/release"],
        &[("AWS_ENDPOINT_URL", endpoint.as_str()), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(!run.stderr.contains("topsecret"), "{}", run.stderr);
}
