//! `slipway marker get` and `slipway marker publish`, on a local directory, S3 (moto_server) and
//! Azure (Azurite), and `marker get` on GCS (fake-gcs-server, which takes no uploads from
//! slipway): values, --if-newer, compare-and-swap failures, racing processes, and the exit codes
//! of bad input and unreachable storage.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{Run, slipway, slipway_with_env};

fn s3_environment() -> Vec<(String, String)> {
    slipway_test::s3::environment()
}

fn with_env(directory: &Path, args: &[&str], environment: &[(String, String)]) -> Run {
    let environment: Vec<(&str, &str)> =
        environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    slipway_with_env(directory, args, &environment)
}

#[test]
fn help_teaches() {
    let directory = tempfile::tempdir().expect("temporary directory");
    insta::assert_snapshot!(slipway(directory.path(), &["marker", "--help"]).render(&[]));
    insta::assert_snapshot!(slipway(directory.path(), &["marker", "get", "--help"]).render(&[]));
    insta::assert_snapshot!(slipway(directory.path(), &["marker", "publish", "--help"]).render(&[]));
}

#[test]
fn markers_in_the_default_local_storage() {
    let project = tempfile::tempdir().expect("temporary directory");
    let path = project.path();
    let publish = slipway(path, &["marker", "publish", "stable-1.31", "v1.31.2"]);
    insta::assert_snapshot!(publish.render(&[]));
    let stored = path.join(".slipway/artifacts/stable-1.31.txt");
    assert_eq!(fs_err::read_to_string(&stored).expect("the marker file"), "v1.31.2", "no newline");

    let get = slipway(path, &["marker", "get", "stable-1.31.txt"]);
    assert_eq!((get.code, get.stdout.as_str()), (0, "v1.31.2\n"), "{}", get.stderr);
    insta::assert_snapshot!(slipway(path, &["marker", "get", "stable-1.31", "--format", "json"]).render(&[]));

    let older = slipway(path, &["marker", "publish", "stable-1.31", "v1.31.1", "--if-newer"]);
    insta::assert_snapshot!(older.render(&[]));
    let newer = slipway(path, &["marker", "publish", "stable-1.31", "v1.31.3", "--if-newer", "--format", "json"]);
    insta::assert_snapshot!(newer.render(&[]));
    assert_eq!(fs_err::read_to_string(&stored).expect("the marker file"), "v1.31.3");

    insta::assert_snapshot!(slipway(path, &["marker", "get", "latest-1.32"]).render(&[]));
}

#[test]
fn storage_comes_from_the_flag_the_environment_or_the_config_file() {
    let project = tempfile::tempdir().expect("temporary directory");
    let path = project.path();
    fs_err::write(path.join("slipway.yaml"), "artifacts:\n  storage: ci-artifacts\n").expect("write config");
    fs_err::create_dir(path.join("sub")).expect("create");
    // From a subdirectory: the storage is relative to the project (slipway.yaml's directory).
    let run = slipway(&path.join("sub"), &["marker", "publish", "stable", "v1.0.0"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs_err::read_to_string(path.join("ci-artifacts/stable.txt")).expect("marker"), "v1.0.0");

    let elsewhere = tempfile::tempdir().expect("temporary directory");
    let other = elsewhere.path().display().to_string();
    let run =
        slipway_with_env(path, &["marker", "publish", "stable", "v2.0.0"], &[("SLIPWAY_ARTIFACTS_STORAGE", &other)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs_err::read_to_string(elsewhere.path().join("stable.txt")).expect("marker"), "v2.0.0");

    let flag = tempfile::tempdir().expect("temporary directory");
    let flag_path = flag.path().display().to_string();
    let run = slipway_with_env(
        path,
        &["marker", "publish", "stable", "v3.0.0", "--storage", &flag_path],
        &[("SLIPWAY_ARTIFACTS", &other)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs_err::read_to_string(flag.path().join("stable.txt")).expect("marker"), "v3.0.0");
    let run = slipway_with_env(path, &["marker", "get", "stable"], &[("SLIPWAY_ARTIFACTS", &other)]);
    assert_eq!(run.stdout, "v2.0.0\n", "SLIPWAY_ARTIFACTS is --storage's variable");
}

/// Publish a URL, read it back, and refuse --if-newer over it, in `storage` (a bucket URL).
fn markers_in_a_bucket(snapshot: &str, storage: &str, environment: &[(String, String)], bucket: &str) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let storage = format!("{storage}/kops/releases");
    let url = "https://storage.googleapis.com/k8s-staging-kops/kops/releases/1.31.0";
    let run = with_env(
        directory.path(),
        &["marker", "publish", "markers/master/latest-ci.txt", url, "--storage", &storage, "--format", "json"],
        environment,
    );
    insta::assert_snapshot!(snapshot, run.render(&[(bucket, "[BUCKET]")]));
    let run =
        with_env(directory.path(), &["marker", "get", "markers/master/latest-ci", "--storage", &storage], environment);
    assert_eq!((run.code, run.stdout.as_str()), (0, format!("{url}\n").as_str()), "{}", run.stderr);
    let run = with_env(
        directory.path(),
        &["marker", "publish", "markers/master/latest-ci", "v1.31.0", "--if-newer", "--storage", &storage],
        environment,
    );
    insta::assert_snapshot!(format!("{snapshot}-2"), run.render(&[(bucket, "[BUCKET]")]));
}

#[test]
fn markers_on_s3() {
    let bucket = slipway_test::s3::unique_bucket("cli-markers");
    markers_in_a_bucket("markers_on_s3", &format!("s3://{bucket}"), &s3_environment(), &bucket);
}

#[test]
fn markers_on_azure() {
    let container = slipway_test::azure::unique_container("cli-markers");
    let environment = slipway_test::azure::environment();
    markers_in_a_bucket("markers_on_azure", &format!("az://{container}"), &environment, &container);
}

/// `AZURE_STORAGE_USE_EMULATOR` is how Azure's own tools reach Azurite; object_store takes
/// Azurite's address from `AZURITE_BLOB_STORAGE_URL` (default `http://127.0.0.1:10000`).
#[test]
fn markers_on_azurite_through_the_emulator_setting() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let container = slipway_test::azure::unique_container("cli-emulator");
    let storage = format!("azure://{container}/release");
    let environment = [
        ("AZURE_STORAGE_USE_EMULATOR".to_owned(), "true".to_owned()),
        ("AZURITE_BLOB_STORAGE_URL".to_owned(), format!("http://{}", slipway_test::azure::address())),
    ];
    let run =
        with_env(directory.path(), &["marker", "publish", "stable", "v1.31.2", "--storage", &storage], &environment);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = with_env(directory.path(), &["marker", "get", "stable", "--storage", &storage], &environment);
    assert_eq!((run.code, run.stdout.as_str()), (0, "v1.31.2\n"), "{}", run.stderr);
}

/// The GCS emulator takes none of object_store's uploads (docs/design/storage.md): the marker
/// is put there as `gcloud storage cp` would, and read through slipway.
#[test]
fn markers_on_gcs_are_read() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let bucket = slipway_test::gcs::unique_bucket("cli-markers");
    slipway_test::gcs::upload(&bucket, "kops/releases/markers/master/latest-ci.txt", b"v1.31.0-alpha.1");
    let storage = format!("gs://{bucket}/kops/releases");
    let environment = slipway_test::gcs::environment();
    let args = ["marker", "get", "markers/master/latest-ci", "--storage", &storage, "--format", "json"];
    insta::assert_snapshot!(with_env(directory.path(), &args, &environment).render(&[(&bucket, "[BUCKET]")]));
    let run = with_env(directory.path(), &["marker", "get", "stable", "--storage", &storage], &environment);
    insta::assert_snapshot!(run.render(&[(&bucket, "[BUCKET]")]));
}

#[test]
#[ignore = "needs GCS that takes uploads with generation preconditions (fake-gcs-server does not): set SLIPWAY_TEST_GCS=gs://BUCKET/PREFIX and GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT_KEY), then `cargo test -p slipway --test it -- --ignored gcs`"]
fn markers_on_real_gcs() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let url = std::env::var("SLIPWAY_TEST_GCS").expect("SLIPWAY_TEST_GCS=gs://BUCKET/PREFIX");
    let storage = format!("{}/slipway-cli-{}", url.trim_end_matches('/'), std::process::id());
    let environment: Vec<(String, String)> = std::env::vars().filter(|(name, _)| name.starts_with("GOOGLE_")).collect();
    let publish = |value: &str| {
        let args = ["marker", "publish", "stable", value, "--if-newer", "--storage", &storage, "--format", "json"];
        let run = with_env(directory.path(), &args, &environment);
        assert_eq!(run.code, 0, "{}", run.stderr);
        serde_json::from_str::<serde_json::Value>(&run.stdout).expect("a JSON report")["outcome"].clone()
    };
    assert_eq!(publish("v1.31.1"), "created");
    assert_eq!(publish("v1.31.0"), "kept");
    assert_eq!(publish("v1.31.2"), "updated");
    racing_processes(directory.path(), &storage, &environment);
}

/// A publish that expects what the marker held when the job started fails, writing nothing,
/// when it has moved since.
fn moved_markers_fail(
    snapshot: &str,
    directory: &Path,
    storage: &str,
    environment: &[(String, String)],
    redactions: &[(&str, &str)],
) {
    let publish = |args: &[&str]| {
        let mut all = vec!["marker", "publish"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--storage", storage]);
        with_env(directory, &all, environment)
    };
    assert_eq!(publish(&["latest-ci-green", "v1.31.0"]).code, 0);
    assert_eq!(publish(&["latest-ci-green", "v1.31.1"]).code, 0, "another job promoted meanwhile");
    let run = publish(&["latest-ci-green", "v1.31.2", "--expect", "v1.31.0"]);
    insta::assert_snapshot!(snapshot, run.render(redactions));
    let get = with_env(directory, &["marker", "get", "latest-ci-green", "--storage", storage], environment);
    assert_eq!(get.stdout, "v1.31.1\n", "nothing was written");
    let json = publish(&["latest-ci-green", "v1.31.2", "--expect", "v1.31.0", "--format", "json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("a JSON report on refusal");
    assert_eq!(report["outcome"], "not_expected");
    assert_eq!(report["expected"], "v1.31.0");
    assert_eq!(report["value"], "v1.31.1");
    assert_eq!(report["requested"], "v1.31.2");
    let run = publish(&["latest-ci-green", "v1.31.2", "--expect", "v1.31.1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_moved_marker_fails_with_exit_1_locally() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let storage = directory.path().join("artifacts").display().to_string();
    moved_markers_fail("moved-local", directory.path(), &storage, &[], &[]);
}

#[test]
fn a_moved_marker_fails_with_exit_1_on_s3() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let bucket = slipway_test::s3::unique_bucket("cli-moved");
    let storage = format!("s3://{bucket}");
    moved_markers_fail("moved-s3", directory.path(), &storage, &s3_environment(), &[(&bucket, "[BUCKET]")]);
}

#[test]
fn a_moved_marker_fails_with_exit_1_on_azure() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let container = slipway_test::azure::unique_container("cli-moved");
    let storage = format!("az://{container}");
    let environment = slipway_test::azure::environment();
    moved_markers_fail("moved-azure", directory.path(), &storage, &environment, &[(&container, "[BUCKET]")]);
}

/// 12 processes publish v1.31.0 ... v1.31.11 with --if-newer at once: all succeed and the
/// marker ends at the greatest.
fn racing_processes(directory: &Path, storage: &str, environment: &[(String, String)]) {
    let children: Vec<_> = (0..12)
        .map(|patch| {
            Command::new(env!("CARGO_BIN_EXE_slipway"))
                .args([
                    "marker",
                    "publish",
                    "stable-1.31",
                    &format!("v1.31.{patch}"),
                    "--if-newer",
                    "--storage",
                    storage,
                ])
                .current_dir(directory)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", directory)
                .envs(environment.iter().map(|(name, value)| (name.as_str(), value.as_str())))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the slipway binary runs")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("it ends");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let get = with_env(directory, &["marker", "get", "stable-1.31", "--storage", storage], environment);
    assert_eq!(get.stdout, "v1.31.11\n", "{}", get.stderr);
}

#[test]
fn racing_processes_converge_locally() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let storage = directory.path().join("artifacts").display().to_string();
    racing_processes(directory.path(), &storage, &[]);
}

#[test]
fn racing_processes_converge_on_s3() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let storage = format!("s3://{}", slipway_test::s3::unique_bucket("cli-race"));
    racing_processes(directory.path(), &storage, &s3_environment());
}

#[test]
fn racing_processes_converge_on_azure() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let storage = format!("az://{}", slipway_test::azure::unique_container("cli-race"));
    racing_processes(directory.path(), &storage, &slipway_test::azure::environment());
}

#[test]
fn bad_input_exits_2() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path();
    insta::assert_snapshot!(
        slipway(path, &["marker", "get", "stable", "--storage", "ftp://example.com/markers"]).render(&[])
    );
    insta::assert_snapshot!(slipway(path, &["marker", "get", "../stable"]).render(&[]));
    insta::assert_snapshot!(
        slipway(path, &["marker", "publish", "kops", "https://example.com/1.31.0", "--if-newer"]).render(&[])
    );
    assert_eq!(slipway(path, &["marker", "publish", "kops", "https://example.com/1.31.0"]).code, 0);
    insta::assert_snapshot!(slipway(path, &["marker", "publish", "kops", "v1.31.0", "--if-newer"]).render(&[]));
}

#[test]
fn unreachable_storage_exits_3() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let endpoint = slipway_test::s3::closed_endpoint();
    let environment = slipway_test::s3::environment_for(&endpoint);
    let run =
        with_env(directory.path(), &["marker", "get", "stable", "--storage", "s3://ci-bucket/release"], &environment);
    assert_eq!(run.code, 3, "{}", run.stderr);
    // The cause (object_store's, with the port and timings) follows the first line's message.
    let first = run.stderr.split(": Generic S3 error").next().unwrap_or_default();
    insta::assert_snapshot!(first, @"error: could not read `stable.txt` in `s3://ci-bucket/release`");
    assert!(run.stderr.contains(&endpoint.replace("http://", "")), "the cause names the endpoint: {}", run.stderr);

    let missing = format!("s3://{}-never-created", slipway_test::s3::unique_bucket("cli-missing"));
    let run = with_env(
        directory.path(),
        &["marker", "publish", "stable", "v1.0.0", "--storage", &missing],
        &s3_environment(),
    );
    assert_eq!((run.code, run.stderr.trim()), (3, format!("error: the bucket of `{missing}` does not exist").as_str()));
}
