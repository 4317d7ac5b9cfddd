//! What another writer put in the storage (Prow's uploader, `gcloud storage cp`, a release
//! script), read back through slipway: markers, build lists, started.json and finished.json, on
//! every backend. These read only, so they run on the GCS emulator too.

use slipway_artifacts::{BuildDir, Error, JobResult, Markers, latest_build, list_builds};
use slipway_core::exit;

use crate::support::{Backend, Fixture};

const JOB: &str = "ci-kops-e2e";
const FIRST: u64 = 1_800_000_000_000_000_001;
const SECOND: u64 = 1_800_000_000_000_000_002;

async fn seed(fixture: &Fixture) {
    fixture.put("release/stable-1.31.txt", b"v1.31.2").await;
    fixture.put("markers/master/latest-ci.txt", b"https://dl.example/kops/1.31.0-alpha.1").await;
    fixture.put(&format!("logs/{JOB}/latest-build.txt"), SECOND.to_string().as_bytes()).await;
    let first = format!("logs/{JOB}/{FIRST}");
    fixture.put(&format!("{first}/started.json"), br#"{"timestamp":1760000000,"repo-commit":"0123abcd"}"#).await;
    fixture
        .put(&format!("{first}/finished.json"), br#"{"timestamp":1760000300,"passed":false,"result":"FAILURE"}"#)
        .await;
    fixture.put(&format!("{first}/artifacts/junit_01.xml"), b"<testsuite tests=\"1\"/>").await;
    fixture.put(&format!("{first}/artifacts/nodes/kubelet log #1.txt"), b"kubelet started").await;
    fixture.put(&format!("{first}/build-log.txt"), b"+ make e2e\n").await;
    // The second build is running: started.json only, and not valid JSON.
    fixture.put(&format!("logs/{JOB}/{SECOND}/started.json"), b"{\"timestamp\": ").await;
    // Not a build: a directory whose name is not a number.
    fixture.put(&format!("logs/{JOB}/directory/x.txt"), b"x").await;
}

async fn reads_what_another_writer_wrote(backend: Backend) {
    let fixture = backend.fresh("written-elsewhere");
    seed(&fixture).await;
    let storage = fixture.storage.clone();

    let release = Markers::with_prefix(storage.clone(), "release").expect("a prefix");
    assert_eq!(release.get("stable-1.31").await.expect("get").as_deref(), Some("v1.31.2"));
    assert_eq!(release.get("stable-1.30.txt").await.expect("get"), None, "absent, in a bucket that exists");
    let markers = Markers::new(storage.clone());
    let url = markers.get("markers/master/latest-ci").await.expect("get");
    assert_eq!(url.as_deref(), Some("https://dl.example/kops/1.31.0-alpha.1"));

    assert_eq!(latest_build(&storage, JOB).await.expect("latest"), Some(SECOND));
    assert_eq!(list_builds(&storage, JOB).await.expect("list"), [FIRST, SECOND]);
    assert_eq!(list_builds(&storage, "another-job").await.expect("list"), Vec::<u64>::new());

    let first = BuildDir::new(storage.clone(), JOB, FIRST).expect("a build");
    let started = first.read_started().await.expect("read").expect("started.json");
    assert_eq!((started.timestamp, started.repo_commit.as_deref()), (1_760_000_000, Some("0123abcd")));
    let finished = first.read_finished().await.expect("read").expect("finished.json");
    assert_eq!((finished.passed, finished.result), (Some(false), Some(JobResult::Failure)));
    let mut objects = storage.list(&first.key()).await.expect("list");
    objects.sort();
    let expected: Vec<String> = [
        "artifacts/junit_01.xml",
        "artifacts/nodes/kubelet log #1.txt",
        "build-log.txt",
        "finished.json",
        "started.json",
    ]
    .iter()
    .map(|name| format!("logs/{JOB}/{FIRST}/{name}"))
    .collect();
    assert_eq!(objects, expected);

    let second = BuildDir::new(storage.clone(), JOB, SECOND).expect("a build");
    assert_eq!(second.read_finished().await.expect("read"), None, "still running");
    let error = second.read_started().await.expect_err("not JSON");
    assert!(matches!(&error, Error::Corrupt { what: "started.json", .. }), "{error:?}");
    assert_eq!(error.exit_code(), exit::INFRASTRUCTURE);
    let url = storage.url();
    assert!(error.to_string().starts_with(&format!("`logs/{JOB}/{SECOND}/started.json` in `{url}` is not")), "{error}");
}

#[tokio::test]
async fn local_reads_what_another_writer_wrote() {
    reads_what_another_writer_wrote(Backend::Local).await;
}

#[tokio::test]
async fn s3_reads_what_another_writer_wrote() {
    reads_what_another_writer_wrote(Backend::S3).await;
}

#[tokio::test]
async fn gcs_reads_what_another_writer_wrote() {
    reads_what_another_writer_wrote(Backend::Gcs).await;
}

#[tokio::test]
async fn azure_reads_what_another_writer_wrote() {
    reads_what_another_writer_wrote(Backend::Azure).await;
}
