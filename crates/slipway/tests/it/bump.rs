//! `slipway release bump`: round trips, commit and tag, and everything it refuses.

use slipway_test::git::TempRepo;

use crate::support::{corpus, edit, example_repo, slipway};

/// Every tracked and untracked file with its contents, to prove nothing changed.
fn tree(repo: &TempRepo) -> Vec<(String, String)> {
    let listing = repo.git(&["ls-files", "--cached", "--others", "-z"]);
    let mut files: Vec<(String, String)> = listing
        .split('\0')
        .filter(|path| !path.is_empty())
        .map(|path| (path.to_owned(), fs_err::read_to_string(repo.path().join(path)).unwrap_or_default()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_bump_rewrites_every_reference_and_keeps_the_layout() {
    let repo = example_repo();
    let run = slipway(repo.path(), &["release", "bump", "0.5.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 0);
    let verify = slipway(repo.path(), &["release", "verify", "--offline"]);
    assert_eq!(verify.code, 0, "{}", verify.render(&[]));
    assert!(verify.stdout.starts_with("release v0.5.0 "), "{}", verify.stdout);
    // Comments and quoting survive.
    let deployment = repo.read("config/base/deployment.yaml");
    assert!(deployment.contains("# The release this manifest belongs to"), "{deployment}");
    assert!(deployment.contains("image: \"ghcr.io/example-org/hello-operator:v0.5.0\""), "{deployment}");
    assert!(repo.read("charts/hello-operator/Chart.yaml").contains("appVersion: \"0.5.0\""));
}

#[test]
fn dry_run_writes_nothing() {
    let repo = example_repo();
    let before = tree(&repo);
    let run = slipway(repo.path(), &["release", "bump", "v0.5.0", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.render(&[]));
    assert!(run.stdout.contains("+version: 0.5.0"), "{}", run.stdout);
    assert!(run.stderr.contains("nothing written"), "{}", run.stderr);
    assert_eq!(tree(&repo), before);
}

#[test]
fn commit_and_tag_make_the_tag_point_at_the_bumped_manifests() {
    let repo = example_repo();
    repo.write("notes.txt", "unrelated work in progress\n");
    repo.git(&["add", "notes.txt"]);
    let run = slipway(repo.path(), &["release", "bump", "0.5.0", "--tag"]);
    assert_eq!(run.code, 0, "{}", run.render(&[]));
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    let committed = repo.git(&["show", "--name-only", "--format=%s", "HEAD"]);
    insta::assert_snapshot!(committed);
    assert_eq!(repo.git(&["rev-parse", "v0.5.0^{commit}"]), repo.git(&["rev-parse", "HEAD"]));
    assert_eq!(repo.git(&["cat-file", "-t", "v0.5.0"]).trim(), "tag", "the tag is annotated");
    assert_eq!(
        repo.git(&["diff", "--cached", "--name-only"]).trim(),
        "notes.txt",
        "unrelated staged work stays staged"
    );
    let verify = slipway(repo.path(), &["release", "verify", "--tag", "v0.5.0", "--offline"]);
    assert_eq!(verify.code, 0, "{}", verify.render(&[]));
}

#[test]
fn an_existing_tag_is_never_moved() {
    let repo = example_repo();
    repo.tag("v0.5.0");
    let before = tree(&repo);
    let run = slipway(repo.path(), &["release", "bump", "0.5.0", "--tag"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 2);
    assert_eq!(tree(&repo), before);
}

#[test]
fn a_downgrade_needs_to_be_asked_for() {
    let repo = example_repo();
    let run = slipway(repo.path(), &["release", "bump", "0.3.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 2);
    let run = slipway(repo.path(), &["release", "bump", "0.3.0", "--allow-downgrade"]);
    assert_eq!(run.code, 0, "{}", run.render(&[]));
}

#[test]
fn uncommitted_changes_in_bumped_files_stop_a_commit() {
    let repo = example_repo();
    edit(&repo, "config/base/deployment.yaml", "replicas: 1", "replicas: 2");
    let before = tree(&repo);
    let run = slipway(repo.path(), &["release", "bump", "0.5.0", "--commit"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 2);
    assert_eq!(tree(&repo), before);
}

#[test]
fn outside_git_a_bump_cannot_commit() {
    let directory = tempfile::tempdir().expect("temporary directory");
    fs_err::write(directory.path().join("slipway.yaml"), "project:\n  name: x\n").expect("write");
    let run = slipway(directory.path(), &["release", "bump", "1.0.0", "--commit"]);
    insta::assert_snapshot!(run.render(&[(&directory.path().display().to_string(), "[DIR]")]));
    assert_eq!(run.code, 2);
}

#[test]
fn a_failed_write_leaves_the_tree_as_it_was() {
    let repo = example_repo();
    // The staging directory in .git cannot be made: a file is in its way.
    fs_err::write(repo.path().join(".git/slipway"), "in the way").expect("write");
    let before = tree(&repo);
    let run = slipway(repo.path(), &["release", "bump", "0.5.0"]);
    assert_eq!(run.code, 3, "{}", run.render(&[]));
    assert!(run.stderr.contains("every file was restored"), "{}", run.stderr);
    assert_eq!(tree(&repo), before, "no file changed and no temporary file was left");
}

#[test]
fn digests_of_the_old_release_are_dropped() {
    let repo = example_repo();
    let digest = format!("sha256:{}", "ab".repeat(32));
    edit(&repo, "config/jobs/cleanup.yaml", "hello-operator:v0.4.0", &format!("hello-operator:v0.4.0@{digest}"));
    edit(
        &repo,
        "config/default/kustomization.yaml",
        "`slipway release bump`\n",
        &format!("`slipway release bump`\n    digest: {digest}\n"),
    );
    repo.commit("pin digests");
    let run = slipway(repo.path(), &["release", "bump", "0.5.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 0);
    assert!(!repo.read("config/default/kustomization.yaml").contains("digest:"));
}

#[test]
fn bumping_descheduler_to_its_own_tag_fixes_only_the_chart() {
    let repo = TempRepo::new();
    repo.copy_tree(&corpus().join("manifests/descheduler-v0.33.0"), ".");
    repo.commit("descheduler at v0.33.0");
    let run =
        slipway(repo.path(), &["release", "bump", "0.33.0", "--image", "registry.k8s.io/descheduler/descheduler"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 0);
}

#[test]
fn json_output_lists_the_changes() {
    let repo = example_repo();
    let run = slipway(repo.path(), &["release", "bump", "0.5.0", "--dry-run", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.render(&[]));
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["schema"], "slipway.release.bump/v1");
    assert_eq!(report["to"]["git_tag"], "v0.5.0");
    assert_eq!(report["written"], false);
    let changes = report["changes"].as_array().expect("changes[]");
    let kinds: Vec<&str> = changes.iter().filter_map(|change| change["kind"].as_str()).collect();
    insta::assert_debug_snapshot!(kinds);
}
