//! The Prow layout on real storage: field names and types, latest-build.txt, artifacts, and
//! finished.json written last.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};
use slipway_artifacts::{BuildDir, Finished, JobResult, ProwJob, ProwJobState, Started, Storage, list_builds};

use crate::support::{self, Recording, on_every_backend};

const JOB: &str = "ci-kops-e2e-aws";
const NOW_MS: u64 = 1_760_000_000_000;

/// A build log and an artifacts directory: JUnit in a subdirectory, the job's metadata.json,
/// and names that need escaping.
fn workspace(directory: &Path, extra_files: usize) {
    let artifacts = directory.join("artifacts");
    fs_err::create_dir_all(artifacts.join("e2e/nodes")).expect("create");
    fs_err::write(directory.join("build-log.txt"), "+ make test\nok\n").expect("write");
    fs_err::write(artifacts.join("junit_01.xml"), "<testsuite tests=\"1\"/>").expect("write");
    fs_err::write(artifacts.join("e2e/nodes/kubelet log #1.txt"), "kubelet started").expect("write");
    fs_err::write(artifacts.join("metadata.json"), r#"{"job-version":"v1.31.2","revision":"ignored"}"#).expect("write");
    fs_err::write(artifacts.join("e2e-metadata.json"), "not json").expect("write");
    for index in 0..extra_files {
        fs_err::write(artifacts.join(format!("e2e/file-{index:03}.txt")), format!("{index}")).expect("write");
    }
}

fn started() -> Started {
    Started {
        timestamp: 1_760_000_000,
        repos: BTreeMap::from([("kubernetes/kops".to_owned(), "master:0123456789abcdef".to_owned())]),
        repo_commit: Some("0123456789abcdef".to_owned()),
        ..Started::default()
    }
}

fn finished() -> Finished {
    let mut metadata = Map::new();
    metadata.insert("revision".to_owned(), Value::from("0123456789abcdef"));
    Finished {
        timestamp: Some(1_760_000_300),
        passed: Some(true),
        result: Some(JobResult::Success),
        revision: Some("0123456789abcdef".to_owned()),
        metadata,
        ..Finished::default()
    }
}

fn prowjob(build_id: u64) -> ProwJob {
    let mut spec = Map::new();
    spec.insert("cluster".to_owned(), Value::from("default"));
    ProwJob::new(JOB, build_id, spec, 1_760_000_000)
}

async fn json(storage: &Storage, key: &str) -> Value {
    let body = storage.read(key).await.expect("read").unwrap_or_else(|| panic!("{key} exists"));
    serde_json::from_slice(&body).expect("JSON")
}

async fn a_build_in_the_prow_layout(storage: Storage) {
    let directory = tempfile::tempdir().expect("temporary directory");
    workspace(directory.path(), 0);
    let build = BuildDir::allocate(storage.clone(), JOB, NOW_MS).await.expect("allocate");
    let id = build.build_id();
    assert_eq!(id.to_string().len(), 19, "a snowflake: {id}");
    let base = format!("logs/{JOB}/{id}");
    assert_eq!(build.key(), base);

    let mut prowjob = prowjob(id);
    build.start(&started(), &prowjob).await.expect("start");
    assert_eq!(build.read_started().await.expect("read"), Some(started()));
    assert_eq!(build.read_finished().await.expect("read"), None, "running");
    let raw = json(&storage, &format!("{base}/started.json")).await;
    assert!(raw["timestamp"].is_i64(), "integer seconds: {raw}");
    assert_eq!(raw["repos"]["kubernetes/kops"], "master:0123456789abcdef");
    assert_eq!(raw["repo-commit"], "0123456789abcdef");
    assert_eq!(
        storage.read(&format!("logs/{JOB}/latest-build.txt")).await.expect("read").as_deref(),
        Some(id.to_string().as_bytes()),
        "the id, no newline"
    );
    assert_eq!(json(&storage, &format!("{base}/prowjob.json")).await["status"]["state"], "pending");

    prowjob.complete(ProwJobState::Success, 1_760_000_300);
    let report = build
        .finish(
            &directory.path().join("build-log.txt"),
            Some(&directory.path().join("artifacts")),
            &finished(),
            &prowjob,
        )
        .await
        .expect("finish");
    assert_eq!(report.artifacts, 4);

    let raw = json(&storage, &format!("{base}/finished.json")).await;
    assert!(raw["timestamp"].is_i64(), "{raw}");
    assert_eq!(raw["passed"], true);
    assert_eq!(raw["result"], "SUCCESS");
    assert_eq!(raw["revision"], "0123456789abcdef");
    assert_eq!(raw["metadata"]["job-version"], "v1.31.2", "merged from metadata.json");
    assert_eq!(raw["metadata"]["revision"], "0123456789abcdef", "the caller's keys win");
    let errors = raw["metadata"]["sidecar-errors"].as_array().expect("errors");
    assert!(errors.len() == 1 && errors[0].as_str().is_some_and(|e| e.contains("e2e-metadata.json")), "{errors:?}");
    let read = build.read_finished().await.expect("read").expect("finished");
    assert_eq!(read.result, Some(JobResult::Success));

    let prowjob_json = json(&storage, &format!("{base}/prowjob.json")).await;
    assert_eq!(prowjob_json["kind"], "ProwJob");
    assert_eq!(prowjob_json["spec"]["job"], JOB);
    assert_eq!(prowjob_json["status"]["state"], "success");
    assert_eq!(prowjob_json["status"]["completionTime"], "2025-10-09T08:58:20Z");
    assert_eq!(prowjob_json["status"]["build_id"], id.to_string());

    let mut objects = storage.list(&base).await.expect("list");
    objects.sort();
    let expected: Vec<String> = [
        "artifacts/e2e-metadata.json",
        "artifacts/e2e/nodes/kubelet log %231.txt",
        "artifacts/junit_01.xml",
        "artifacts/metadata.json",
        "build-log.txt",
        "finished.json",
        "prowjob.json",
        "started.json",
    ]
    .iter()
    .map(|name| format!("{base}/{name}"))
    .collect();
    assert_eq!(objects, expected);
    assert_eq!(
        storage.read(&format!("{base}/build-log.txt")).await.expect("read").as_deref(),
        Some(&b"+ make test\nok\n"[..])
    );
    assert_eq!(list_builds(&storage, JOB).await.expect("list"), [id]);
    assert_eq!(list_builds(&storage, "another-job").await.expect("list"), Vec::<u64>::new());
}

on_every_backend!(a_build_in_the_prow_layout, links_never_lead_out_of_the_artifacts);

/// Every write of `finish` as the store saw them complete: finished.json is the last.
async fn finished_json_is_written_last(inner: Arc<dyn object_store::ObjectStore>) {
    let directory = tempfile::tempdir().expect("temporary directory");
    workspace(directory.path(), 20);
    let recording = Recording::new(inner);
    let storage = Storage::from_object_store(Arc::clone(&recording) as Arc<dyn object_store::ObjectStore>, "recorded");
    let build = BuildDir::allocate(storage, JOB, NOW_MS).await.expect("allocate");
    let mut prowjob = prowjob(build.build_id());
    build.start(&started(), &prowjob).await.expect("start");
    let before = recording.writes().len();
    prowjob.complete(ProwJobState::Success, 1_760_000_300);
    build
        .finish(
            &directory.path().join("build-log.txt"),
            Some(&directory.path().join("artifacts")),
            &finished(),
            &prowjob,
        )
        .await
        .expect("finish");
    let writes: Vec<String> = recording.writes().split_off(before);
    let base = format!("logs/{JOB}/{}", build.build_id());
    // 24 artifacts, the build log, prowjob.json and finished.json; latest-build.txt already
    // names this build (start wrote it), so it is not rewritten.
    assert_eq!(writes.len(), 24 + 3, "{writes:#?}");
    assert_eq!(writes.last(), Some(&format!("{base}/finished.json")), "{writes:#?}");
    assert!(!writes.iter().any(|write| write.starts_with("multipart:")), "{writes:#?}");
    assert!(writes.contains(&format!("{base}/build-log.txt")) && writes.contains(&format!("{base}/prowjob.json")));
}

#[tokio::test]
async fn s3_finished_json_is_written_last() {
    let bucket = slipway_test::s3::unique_bucket("finished-last");
    finished_json_is_written_last(support::s3_store(&bucket)).await;
}

#[tokio::test]
async fn azure_finished_json_is_written_last() {
    let container = slipway_test::azure::unique_container("finished-last");
    finished_json_is_written_last(support::azure_store(&container)).await;
}

#[tokio::test]
async fn in_memory_finished_json_is_written_last() {
    finished_json_is_written_last(Arc::new(object_store::memory::InMemory::new())).await;
}

/// On a local directory, a reader polling while `finish` runs never sees finished.json
/// without everything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn local_readers_never_see_finished_json_early() {
    let (storage, _guard) = support::local();
    let directory = tempfile::tempdir().expect("temporary directory");
    workspace(directory.path(), 60);
    let build = BuildDir::allocate(storage.clone(), JOB, NOW_MS).await.expect("allocate");
    let mut prowjob = prowjob(build.build_id());
    build.start(&started(), &prowjob).await.expect("start");
    let base = build.key();
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (storage, done, base) = (storage.clone(), Arc::clone(&done), base.clone());
        tokio::spawn(async move {
            let mut polls = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let objects = storage.list(&base).await.expect("list");
                polls += 1;
                if objects.contains(&format!("{base}/finished.json")) {
                    // 64 artifacts + build log + prowjob + started + finished.
                    assert_eq!(objects.len(), 68, "finished.json appeared early: {objects:#?}");
                }
                if finished {
                    return polls;
                }
            }
        })
    };
    prowjob.complete(ProwJobState::Failure, 1_760_000_300);
    build
        .finish(
            &directory.path().join("build-log.txt"),
            Some(&directory.path().join("artifacts")),
            &finished(),
            &prowjob,
        )
        .await
        .expect("finish");
    done.store(true, Ordering::SeqCst);
    let polls = poller.await.expect("no early finished.json");
    assert!(polls >= 1);
    assert!(build.read_finished().await.expect("read").is_some());
}

/// A job that links host files into its artifacts (`ln -s /etc/shadow artifacts/x`) must not get
/// them uploaded: links out of the directory, to directories and broken ones are skipped and
/// said so in finished.json; a link to a file inside the directory is that file.
async fn links_never_lead_out_of_the_artifacts(storage: Storage) {
    let directory = tempfile::tempdir().expect("temporary directory");
    workspace(directory.path(), 0);
    let artifacts = directory.path().join("artifacts");
    let secret = directory.path().join("host-secret.txt");
    fs_err::write(&secret, "root:$6$secret").expect("write");
    let link = |target: &Path, name: &str| std::os::unix::fs::symlink(target, artifacts.join(name)).expect("symlink");
    link(&secret, "shadow");
    link(Path::new("/etc"), "etc");
    link(Path::new("../host-secret.txt"), "relative-out");
    link(Path::new("junit_01.xml"), "junit-link.xml");
    link(Path::new("e2e"), "e2e-again");
    link(Path::new("does-not-exist"), "broken");
    let build = BuildDir::allocate(storage.clone(), JOB, NOW_MS).await.expect("allocate");
    let mut prowjob = prowjob(build.build_id());
    build.start(&started(), &prowjob).await.expect("start");
    prowjob.complete(ProwJobState::Success, 1_760_000_300);
    let report = build
        .finish(&directory.path().join("build-log.txt"), Some(&artifacts), &finished(), &prowjob)
        .await
        .expect("finish");
    let skipped: Vec<&str> = report.skipped.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(skipped, ["broken", "e2e-again", "etc", "relative-out", "shadow"]);
    let base = format!("logs/{JOB}/{}", build.build_id());
    let mut uploaded = storage.list(&format!("{base}/artifacts")).await.expect("list");
    uploaded.sort();
    assert!(
        uploaded.iter().all(|key| !key.contains("shadow") && !key.contains("relative-out") && !key.contains("etc")),
        "{uploaded:#?}"
    );
    let linked = storage.read(&format!("{base}/artifacts/junit-link.xml")).await.expect("read").expect("uploaded");
    assert_eq!(linked.as_ref(), b"<testsuite tests=\"1\"/>");
    let finished = json(&storage, &format!("{base}/finished.json")).await;
    let said = finished["metadata"]["slipway-skipped-artifacts"].as_array().expect("listed").len();
    assert_eq!(said, 5, "{finished:#}");
}
