//! `slipway job import-prow` and `slipway job lint` on real Prow config (the kubernetes/test-infra
//! sample in the corpus) and on small files that show each Prow pitfall.

use std::path::{Path, PathBuf};

use crate::support::{Run, corpus, slipway};

fn prow_corpus() -> PathBuf {
    corpus().join("prow/config")
}

fn corpus_path(relative: &str) -> String {
    prow_corpus().join(relative).display().to_string()
}

/// The run's output with the corpus path shown as `[CORPUS]`.
fn render(run: &Run) -> String {
    let root = prow_corpus().display().to_string();
    run.render(&[(&root, "[CORPUS]")])
}

fn write(directory: &Path, name: &str, text: &str) -> String {
    let path = directory.join(name);
    fs_err::create_dir_all(path.parent().expect("a parent")).expect("create directory");
    fs_err::write(&path, text).expect("write file");
    path.display().to_string()
}

const CONTAINER: &str =
    "  decorate: true\n  spec:\n    containers:\n    - image: golang:1.25\n      command: [make]\n      args: [test]\n";

#[test]
fn help_teaches_both_commands() {
    let directory = tempfile::tempdir().expect("temporary directory");
    insta::assert_snapshot!(slipway(directory.path(), &["job", "import-prow", "--help"]).render(&[]));
    insta::assert_snapshot!(slipway(directory.path(), &["job", "lint", "--help"]).render(&[]));
}

#[test]
fn the_whole_corpus_imports_and_lints_clean() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let root = prow_corpus().display().to_string();
    let import = slipway(directory.path(), &["job", "import-prow", &root, "--format", "json"]);
    assert_eq!(import.code, 0, "{}", import.stderr);
    let report: serde_json::Value = serde_json::from_str(&import.stdout).expect("JSON");
    assert_eq!(report["schema"], "slipway.job.import/v1");
    assert_eq!(report["jobs"].as_array().map(Vec::len), Some(59));
    assert!(import.stderr.ends_with("imported 59 of 59 Prow jobs from 9 files\n"), "{}", import.stderr);

    let lint = slipway(directory.path(), &["job", "lint", "--prow-config", &root]);
    insta::assert_snapshot!(render(&lint));
    let json = slipway(directory.path(), &["job", "lint", "--prow-config", &root, "--format", "json"]);
    assert_eq!(
        (json.code, json.stdout.as_str()),
        (0, "{\n  \"schema\": \"slipway.job.lint/v1\",\n  \"findings\": []\n}\n")
    );
}

#[test]
fn import_of_descheduler_jobs() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let run = slipway(
        directory.path(),
        &[
            "job",
            "import-prow",
            &corpus_path("jobs/kubernetes-sigs/descheduler"),
            &corpus_path("jobs/image-pushing/k8s-staging-descheduler.yaml"),
            &corpus_path("prow/config.yaml"),
        ],
    );
    insta::assert_snapshot!(render(&run));
}

#[test]
fn import_of_crio_jobs_with_presets() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let run = slipway(
        directory.path(),
        &["job", "import-prow", &corpus_path("jobs/kubernetes/sig-node/crio.yaml"), &corpus_path("prow/config.yaml")],
    );
    insta::assert_snapshot!(render(&run));
}

#[test]
fn imported_jobs_paste_into_slipway_yaml() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let import = slipway(
        directory.path(),
        &["job", "import-prow", &corpus_path("jobs/kubernetes/sig-node/crio.yaml"), &corpus_path("prow/config.yaml")],
    );
    assert_eq!(import.code, 0, "{}", import.stderr);
    write(directory.path(), "slipway.yaml", &import.stdout);
    let lint = slipway(directory.path(), &["job", "lint"]);
    assert_eq!((lint.code, lint.stdout.as_str()), (0, ""), "{}", lint.stderr);
    let list = slipway(directory.path(), &["job", "list", "--format", "json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let listed: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    assert_eq!(listed["jobs"][0]["name"], "ci-node-crio-features");
    assert_eq!(listed["jobs"][0]["schedule"], "every 1h0m0s");
}

#[test]
fn each_pitfall_is_found_at_its_line() {
    let directory = tempfile::tempdir().expect("temporary directory");
    write(
        directory.path(),
        "jobs/berlin.yaml",
        &format!("periodics:\n- name: ci-nightly\n  cron: 'TZ=Europe/Berlin 0 5 * * *'\n{CONTAINER}"),
    );
    write(
        directory.path(),
        "jobs/typo.yaml",
        &format!(
            "periodics:\n# every six hours, after the previous run finished\n- name: ci-soak\n  minimal_interval: 6h\n{CONTAINER}"
        ),
    );
    write(
        directory.path(),
        "jobs/copies.yaml",
        "presubmits:\n  example-org/hello:\n  - name: pull-hello-test\n    always_run: true\n    decorate: true\n    spec: {containers: [{image: golang, command: [make], args: [test]}]}\n  - name: pull-hello-test\n    run_if_changed: '\\.go$'\n    decorate: true\n    spec: {containers: [{image: golang, command: [make], args: [test]}]}\n",
    );
    write(directory.path(), "README.md", "not: [yaml");
    let run = slipway(directory.path(), &["job", "lint", "--prow-config", "jobs"]);
    insta::assert_snapshot!(run.render(&[]));
    let json = slipway(
        directory.path(),
        &["job", "lint", "--prow-config", "jobs/berlin.yaml,jobs/typo.yaml", "--format", "json"],
    );
    insta::assert_snapshot!(json.render(&[]));
}

#[test]
fn a_preset_clash_stops_that_job_only() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let jobs = write(
        directory.path(),
        "jobs.yaml",
        "periodics:\n- name: ci-proxy\n  interval: 1h\n  decorate: true\n  spec:\n    containers:\n    - image: golang\n      command: [make]\n      env:\n      - name: GOPROXY\n        value: 'off'\n- name: ci-fine\n  interval: 2h\n  spec: {containers: [{image: golang, command: [make]}]}\n",
    );
    let config = corpus_path("prow/config.yaml");
    let import = slipway(directory.path(), &["job", "import-prow", &jobs, &config]);
    insta::assert_snapshot!(render(&import).replace(&directory.path().display().to_string(), "[DIR]"));
    let lint = slipway(directory.path(), &["job", "lint", "--prow-config", &format!("{jobs},{config}")]);
    insta::assert_snapshot!(render(&lint).replace(&directory.path().display().to_string(), "[DIR]"));
}

#[test]
fn unreadable_config_exits_2_naming_file_and_line() {
    let directory = tempfile::tempdir().expect("temporary directory");
    write(directory.path(), "broken.yaml", "periodics:\n- name: ci-a\n  interval: [1h\n- name: ci-b\n");
    insta::assert_snapshot!(slipway(directory.path(), &["job", "lint", "--prow-config", "broken.yaml"]).render(&[]));
    insta::assert_snapshot!(slipway(directory.path(), &["job", "import-prow", "broken.yaml"]).render(&[]));
    write(directory.path(), "shape.yaml", "periodics:\n  ci-a: {interval: 1h}\n");
    insta::assert_snapshot!(slipway(directory.path(), &["job", "lint", "--prow-config", "shape.yaml"]).render(&[]));
    insta::assert_snapshot!(slipway(directory.path(), &["job", "import-prow", "missing.yaml"]).render(&[]));
}

#[test]
fn lint_without_prow_config_checks_slipway_yaml() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let nothing = slipway(directory.path(), &["job", "lint"]);
    insta::assert_snapshot!(nothing.render(&[]));
    write(
        directory.path(),
        "slipway.yaml",
        "jobs:\n- name: unit\n  command: make test\n- name: nightly\n  command: make e2e\n  cron: '0 5 * * *'\n  timezone: Europe/Atlantis\n",
    );
    insta::assert_snapshot!(slipway(directory.path(), &["job", "lint"]).render(&[]));
}
