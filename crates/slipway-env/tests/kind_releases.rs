//! kind's release notes read as the GitHub API serves them, cached, and read from a directory.

use std::time::Duration;

use slipway_core::Version;
use slipway_env::kind_releases::{KindReleases, ReleaseError};
use slipway_test::upstream::Upstream;

const NOTES: &str = "Images pre-built for this release:\n- v1.36.1: `kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5`\n";

fn kind(version: &str) -> Version {
    Version::parse(version).expect("version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_are_cached_and_a_stale_copy_outlives_the_source() {
    let cache = tempfile::tempdir().expect("cache");
    let client = reqwest::Client::new();
    let upstream = Upstream::start();
    upstream.release("v0.32.0", NOTES);
    let releases = KindReleases::new(Some(&upstream.url), Some(cache.path().to_path_buf()), Duration::from_secs(600));
    let release = releases.release(&client, &kind("v0.32.0")).await.expect("served");
    assert_eq!(release.notes.images.len(), 1);
    assert_eq!(release.source, format!("{}/repos/kubernetes-sigs/kind/releases/tags/v0.32.0", upstream.url));
    let again = releases.release(&client, &kind("v0.32.0")).await.expect("cached");
    assert!(again.source.ends_with("(cached)") && again.stale.is_none(), "{}", again.source);
    assert_eq!(upstream.requests(), 1);

    let missing = releases.release(&client, &kind("v0.99.0")).await.expect_err("no such release");
    assert!(matches!(missing, ReleaseError::Missing { .. }), "{missing}");
    assert_eq!(missing.exit_code(), 2);

    let url = upstream.url.clone();
    drop(upstream);
    let expired = KindReleases::new(Some(&url), Some(cache.path().to_path_buf()), Duration::ZERO);
    let stale = expired.release(&client, &kind("v0.32.0")).await.expect("the stale copy");
    assert!(stale.stale.is_some(), "says the source could not be read");
    assert_eq!(stale.notes.images.len(), 1);
    let never_cached = expired.release(&client, &kind("v0.31.0")).await.expect_err("nothing to fall back on");
    assert!(matches!(never_cached, ReleaseError::Unreachable { .. }), "{never_cached}");
    assert_eq!(never_cached.exit_code(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_holds_bodies_or_the_api_s_json() {
    let directory = tempfile::tempdir().expect("directory");
    fs_err::write(directory.path().join("v0.32.0.md"), NOTES.replace('\n', "\r\n")).expect("write");
    let api = directory.path().join("repos/kubernetes-sigs/kind/releases/tags");
    fs_err::create_dir_all(&api).expect("mkdir");
    fs_err::write(api.join("v0.31.0"), serde_json::json!({"tag_name": "v0.31.0", "body": NOTES}).to_string())
        .expect("write");
    fs_err::write(directory.path().join("v0.30.0.json"), "{\"message\": \"Not Found\"}").expect("write");
    let base = directory.path().display().to_string();
    let releases = KindReleases::new(Some(&base), None, Duration::from_secs(600));
    let client = reqwest::Client::new();
    for version in ["v0.32.0", "v0.31.0"] {
        let release = releases.release(&client, &kind(version)).await.expect("read");
        assert_eq!(release.notes.images.len(), 1, "{version}");
    }
    let broken = releases.release(&client, &kind("v0.30.0")).await.expect_err("not the API's JSON");
    assert!(broken.to_string().contains("no `body`"), "{broken}");
    let missing = releases.release(&client, &kind("v0.29.0")).await.expect_err("absent");
    assert!(missing.to_string().contains("v0.29.0.md"), "names where it looked: {missing}");
}
