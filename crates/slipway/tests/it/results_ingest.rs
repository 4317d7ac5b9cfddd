//! `slipway results ingest` end to end: Prow trees and JUnit files on disk, builds that
//! `slipway job run` wrote (locally and to the S3 and Azure emulators), builds another writer
//! put in the GCS emulator, the SQLite store, exit codes.

use std::path::Path;

use crate::support::{json, slipway, slipway_with_env};

fn write(root: &Path, relative: &str, content: &str) {
    let path = root.join(relative);
    fs_err::create_dir_all(path.parent().expect("a parent")).expect("create directories");
    fs_err::write(path, content).expect("write");
}

/// A job that writes a JUnit file with one passing and one failing test, and fails.
const JOB: &str = r#"jobs:
- name: unit
  command: [sh, -c, 'printf "%s" "$JUNIT" > "$ARTIFACTS/junit_1.xml"; exit 1']
  env:
    JUNIT: "<testsuite name='pkg/api'><testcase name='TestOK' time='0.2'/><testcase name='TestBad' time='1.5'><failure message='want 1, got 2'>api_test.go:12</failure></testcase></testsuite>"
"#;

#[test]
fn what_job_run_writes_is_what_results_ingest_reads() {
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(project.path().join("slipway.yaml"), JOB).expect("write slipway.yaml");
    let run = slipway(project.path(), &["job", "run", "unit", "--format", "json"]);
    assert_eq!(run.code, 1, "the job fails: {}", run.stderr);
    let build = json(&run.stdout)["runs"][0]["build_id"].as_str().expect("a build id").to_owned();

    let ingest = slipway(project.path(), &["results", "ingest", ".slipway/artifacts", "--format", "json"]);
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let report = json(&ingest.stdout);
    assert_eq!(report["schema"], "slipway.results.ingest/v1");
    let ingested = &report["ingested"][0];
    assert_eq!((ingested["job"].as_str(), ingested["build_id"].as_str()), (Some("unit"), Some(build.as_str())));
    assert_eq!(
        (ingested["pass"].as_u64(), ingested["fail"].as_u64(), ingested["files"].as_u64()),
        (Some(1), Some(1), Some(1))
    );

    let again = slipway(project.path(), &["results", "ingest", ".slipway/artifacts"]);
    insta::assert_snapshot!(again.render(&[(&build, "[BUILD]")]));
}

#[test]
fn bad_inputs_are_reported_with_their_line_and_exit_2() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let root = directory.path();
    write(root, "logs/ci-e2e/20/started.json", r#"{"timestamp": 1767225600, "repo-commit": "0123456789abcdef"}"#);
    write(root, "logs/ci-e2e/20/finished.json", r#"{"timestamp": 1767229200, "passed": false, "result": "FAILURE"}"#);
    write(
        root,
        "logs/ci-e2e/20/artifacts/junit_01.xml",
        "<testsuites><testsuite name='Kubernetes e2e suite'>\n<testcase name='[It] a' time='3'/>\n<testcase name='[It] b'><skipped message='skipped'/></testcase>\n</testsuite></testsuites>",
    );
    write(root, "logs/ci-e2e/20/artifacts/junit_02.xml", "<testsuite>\n  <testcase name='x'>\n</testsuite>\n");
    write(root, "logs/ci-e2e/21/started.json", "{\"timestamp\": 1767312000,\n\"repo-commit\": }");
    write(root, "report.xml", "<html>\n<body/></html>");
    let run =
        slipway(root, &["results", "ingest", "logs", "report.xml", "missing.xml", "--database-url", "sqlite:state.db"]);
    insta::assert_snapshot!(run.render(&[]));

    let json = json(
        &slipway(root, &["results", "ingest", "logs", "--database-url", "sqlite:state.db", "--format", "json"]).stdout,
    );
    assert_eq!(json["builds"], serde_json::json!({"inserted": 0, "updated": 0, "unchanged": 2}));
    assert_eq!(json["problems"][0]["line"], 3);
}

#[test]
fn loose_files_take_the_job_and_build_given() {
    let directory = tempfile::tempdir().expect("temporary directory");
    write(directory.path(), "out/TEST-pkg.xml", "<testsuite name='pkg'><testcase name='TestA'/></testsuite>");
    let run = slipway(directory.path(), &["results", "ingest", "out/TEST-pkg.xml", "--job", "unit", "--build", "7"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "inserted  unit/7: 1 test (1 pass, 0 fail, 0 flaky, 0 skip) from 1 JUnit file\n\
         1 build (1 inserted, 0 updated, 0 unchanged), 1 JUnit file, 1 test; 0 problems\n"
    );
    assert!(directory.path().join(".slipway/state.db").is_file(), "the default store");
}

/// `job run` writes a build to the bucket URL `storage`; `results ingest` reads it from there,
/// and again from the build's own URL.
fn builds_in_a_bucket_are_ingested(storage: &str, environment: &[(String, String)]) {
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(project.path().join("slipway.yaml"), JOB).expect("write slipway.yaml");
    let run = slipway_with_env(project.path(), &["job", "run", "unit", "--storage", storage], &pairs);
    assert_eq!(run.code, 1, "{}", run.stderr);
    ingested_twice(project.path(), storage, &pairs, "unit");
}

/// Ingests the builds under `storage` (one, of `job`, with one passing and one failing test),
/// then that build again from its own URL: unchanged.
fn ingested_twice(directory: &Path, storage: &str, pairs: &[(&str, &str)], job: &str) {
    let ingest = slipway_with_env(directory, &["results", "ingest", storage, "--format", "json"], pairs);
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let report = json(&ingest.stdout);
    assert_eq!((report["builds"]["inserted"].as_u64(), report["tests"].as_u64()), (Some(1), Some(2)), "{report:#}");
    let ingested = &report["ingested"][0];
    assert_eq!((ingested["pass"].as_u64(), ingested["fail"].as_u64()), (Some(1), Some(1)), "{report:#}");
    let source = ingested["source"].as_str().expect("a source");
    assert!(source.starts_with(&format!("{storage}/logs/{job}/")), "{source}");

    let again = slipway_with_env(directory, &["results", "ingest", source, "--format", "json"], pairs);
    assert_eq!(json(&again.stdout)["builds"]["unchanged"], 1, "{}", again.stderr);
}

#[test]
fn builds_in_s3_are_ingested_from_the_bucket() {
    let bucket = slipway_test::s3::unique_bucket("results-ingest");
    builds_in_a_bucket_are_ingested(&format!("s3://{bucket}/ci"), &slipway_test::s3::environment());
}

#[test]
fn builds_in_azure_are_ingested_from_the_container() {
    let container = slipway_test::azure::unique_container("results-ingest");
    builds_in_a_bucket_are_ingested(&format!("az://{container}/ci"), &slipway_test::azure::environment());
}

/// The GCS emulator takes none of object_store's uploads (docs/design/storage.md), so the
/// build is put there as Prow's uploader would, and ingested through slipway.
#[test]
fn builds_in_gcs_are_ingested_from_the_bucket() {
    let bucket = slipway_test::gcs::unique_bucket("results-ingest");
    let build = "ci/logs/ci-e2e/1800000000000000001";
    slipway_test::gcs::upload(&bucket, &format!("{build}/started.json"), br#"{"timestamp": 1767225600}"#);
    let finished = br#"{"timestamp": 1767229200, "passed": false, "result": "FAILURE"}"#;
    slipway_test::gcs::upload(&bucket, &format!("{build}/finished.json"), finished);
    let junit = "<testsuite name='pkg/api'><testcase name='TestOK'/><testcase name='TestBad'><failure message='want 1'/></testcase></testsuite>";
    slipway_test::gcs::upload(&bucket, &format!("{build}/artifacts/junit_1.xml"), junit.as_bytes());
    slipway_test::gcs::upload(&bucket, "ci/logs/ci-e2e/latest-build.txt", b"1800000000000000001");
    let environment = slipway_test::gcs::environment();
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let directory = tempfile::tempdir().expect("temporary directory");
    ingested_twice(directory.path(), &format!("gs://{bucket}/ci"), &pairs, "ci-e2e");
}

#[test]
fn usage_storage_and_database_errors_have_their_exit_codes() {
    let directory = tempfile::tempdir().expect("temporary directory");
    write(directory.path(), "junit.xml", "<testsuite/>");
    let empty_job = slipway(directory.path(), &["results", "ingest", "junit.xml", "--job", ""]);
    assert_eq!((empty_job.code, empty_job.stderr.as_str()), (2, "error: --job must not be empty\n"));
    let scheme = slipway(directory.path(), &["results", "ingest", "ftp://host/logs"]);
    assert_eq!(scheme.code, 2, "{}", scheme.stderr);
    assert!(scheme.stderr.contains("unsupported scheme `ftp`"), "{}", scheme.stderr);
    let database = slipway(
        directory.path(),
        &["results", "ingest", "junit.xml", "--database-url", "postgres://slipway@127.0.0.1:1/none"],
    );
    assert_eq!(database.code, 3, "{}", database.stderr);
    let closed = slipway_test::s3::environment_for(&slipway_test::s3::closed_endpoint());
    let pairs: Vec<(&str, &str)> = closed.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let unreachable = slipway_with_env(directory.path(), &["results", "ingest", "s3://ci-logs/logs"], &pairs);
    assert_eq!(unreachable.code, 3, "{}", unreachable.stderr);
    assert!(unreachable.stderr.starts_with("error: could not list"), "{}", unreachable.stderr);
}
