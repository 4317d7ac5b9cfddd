//! Version markers: get, publish, --if-newer, racing publishers and stale reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use slipway_artifacts::{Error, Markers, Published, Storage};
use slipway_core::exit;

use crate::support::{self, Backend, on_every_backend, patch};

async fn get_and_publish(storage: Storage) {
    let markers = Markers::new(storage.clone());
    assert_eq!(markers.get("stable-1.31").await.expect("get"), None);
    assert_eq!(markers.publish("stable-1.31", "v1.31.2", false).await.expect("publish"), Published::Created);
    assert_eq!(markers.get("stable-1.31.txt").await.expect("get").as_deref(), Some("v1.31.2"));
    // The body is the bare value: no newline.
    assert_eq!(storage.read("stable-1.31.txt").await.expect("read").as_deref(), Some(&b"v1.31.2"[..]));
    assert_eq!(
        markers.publish("stable-1.31", "v1.31.1", false).await.expect("publish"),
        Published::Updated { previous: "v1.31.2".to_owned() },
        "without --if-newer a marker may go back (a revert)"
    );
    assert_eq!(markers.publish("stable-1.31", "v1.31.1", false).await.expect("publish"), Published::Unchanged);

    // kops markers hold URLs, under a path.
    let url = "https://storage.googleapis.com/k8s-staging-kops/kops/releases/1.31.0-alpha.1+v1.31.0-alpha.0-98-g1234";
    markers.publish("markers/master/latest-ci.txt", url, false).await.expect("publish a URL");
    assert_eq!(markers.get("markers/master/latest-ci.txt").await.expect("get").as_deref(), Some(url));

    // Under a prefix.
    let release = Markers::with_prefix(storage.clone(), "release").expect("a prefix");
    release.publish("stable", "v1.31.2", false).await.expect("publish");
    assert_eq!(storage.read("release/stable.txt").await.expect("read").as_deref(), Some(&b"v1.31.2"[..]));
    assert_eq!(markers.get("stable").await.expect("get"), None, "the root has no stable.txt");
}

async fn if_newer(storage: Storage) {
    let markers = Markers::new(storage);
    assert_eq!(markers.publish("latest", "v1.31.2", true).await.expect("create"), Published::Created);
    assert_eq!(
        markers.publish("latest", "v1.31.1", true).await.expect("older"),
        Published::Kept { current: "v1.31.2".to_owned() }
    );
    assert_eq!(markers.publish("latest", "v1.31.2", true).await.expect("equal"), Published::Unchanged);
    assert_eq!(
        markers.publish("latest", "v1.32.0-alpha.0", true).await.expect("newer"),
        Published::Updated { previous: "v1.31.2".to_owned() }
    );
    // kubernetes/release's rule: a branch build after a release candidate is newer.
    markers.publish("ci", "v1.30.0-rc.2.10+00000000000000", false).await.expect("publish");
    assert_eq!(
        markers.publish("ci", "v1.30.0-11+00000000000000", true).await.expect("newer"),
        Published::Updated { previous: "v1.30.0-rc.2.10+00000000000000".to_owned() }
    );
    assert_eq!(markers.get("latest").await.expect("get").as_deref(), Some("v1.32.0-alpha.0"));

    let error = markers.publish("latest", "https://example.com/x", true).await.expect_err("not a version");
    assert_eq!(error.exit_code(), exit::USAGE);
    assert!(error.to_string().starts_with("the new value `https://example.com/x` is not a version"), "{error}");
    markers.publish("kops", "https://example.com/releases/1.31.0", false).await.expect("a URL");
    let error = markers.publish("kops", "v1.31.0", true).await.expect_err("the marker holds a URL");
    assert_eq!(error.exit_code(), exit::USAGE);
    assert!(
        error.to_string().starts_with("marker `kops.txt` holds `https://example.com/releases/1.31.0`, which"),
        "{error}"
    );
    let error = markers.publish("latest", "v1.33.0\n", false).await.expect_err("a newline");
    assert_eq!(error.exit_code(), exit::USAGE);
    assert_eq!(markers.get("latest").await.expect("get").as_deref(), Some("v1.32.0-alpha.0"), "nothing written");
}

/// 16 publishers race with --if-newer while a reader polls: the marker ends at the greatest
/// version and the reader never sees it move backwards.
async fn racing_publishers(storage: Storage) {
    let markers = Markers::new(storage);
    markers.publish("stable-1.31", "v1.31.0", false).await.expect("start");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let markers = markers.clone();
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut seen = vec![0];
            loop {
                // One last read after the publishers are done, so the end is seen too.
                let finished = done.load(Ordering::SeqCst);
                let value = markers.get("stable-1.31").await.expect("get").expect("present");
                let current = patch(&value);
                let last = *seen.last().expect("non-empty");
                assert!(current >= last, "the marker moved backwards: v1.31.{last} then v1.31.{current}");
                if current != last {
                    seen.push(current);
                }
                if finished {
                    return seen;
                }
            }
        })
    };
    let publishers: Vec<_> = (0..16u32)
        .map(|index| (index * 7) % 16)
        .map(|patch| {
            let markers = markers.clone();
            tokio::spawn(async move { markers.publish("stable-1.31", &format!("v1.31.{patch}"), true).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for publisher in publishers {
        outcomes.push(publisher.await.expect("joined").expect("an --if-newer publish never fails on a race"));
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("the reader saw no backward move");
    assert_eq!(markers.get("stable-1.31").await.expect("get").as_deref(), Some("v1.31.15"));
    let written = outcomes.iter().filter(|outcome| matches!(outcome, Published::Updated { .. })).count();
    assert!(written >= 1, "{outcomes:?}");
    assert_eq!(seen.last(), Some(&15), "the reader saw the end: {seen:?}");
}

/// A publish whose read is stale (the marker moved after it was read) writes nothing.
async fn stale_reads_fail(storage: Storage) {
    let markers = Markers::new(storage);
    markers.publish("latest", "v1.31.0", false).await.expect("publish");
    let stale = markers.read("latest").await.expect("read");
    assert_eq!(stale.value(), Some("v1.31.0"));
    markers.publish("latest", "v1.31.1", false).await.expect("another publisher");
    let error = markers.publish_over(stale, "v1.31.2", false).await.expect_err("stale");
    assert!(
        matches!(&error, Error::MarkerMoved { from: Some(from), to: Some(to), .. } if from == "v1.31.0" && to == "v1.31.1"),
        "{error:?}"
    );
    assert_eq!(error.exit_code(), exit::CHECK_FAILED);
    assert!(error.to_string().contains("moved from `v1.31.0` to `v1.31.1` meanwhile; nothing was written"), "{error}");
    assert_eq!(markers.get("latest").await.expect("get").as_deref(), Some("v1.31.1"));

    // Absent when read, created by someone else before the write.
    let absent = markers.read("fresh").await.expect("read");
    markers.publish("fresh", "v1.0.0", false).await.expect("another publisher");
    let error = markers.publish_over(absent, "v2.0.0", false).await.expect_err("stale");
    assert!(matches!(&error, Error::MarkerMoved { from: None, to: Some(_), .. }), "{error:?}");
    assert!(error.to_string().contains("moved from (absent) to `v1.0.0`"), "{error}");
    assert_eq!(markers.get("fresh").await.expect("get").as_deref(), Some("v1.0.0"));

    // Expecting the value a job resolved at its start (the kops green-marker promotion).
    let error = markers.publish_expecting("fresh", Some("v0.9.0"), "v2.0.0", false).await.expect_err("it moved since");
    assert_eq!(error.exit_code(), exit::CHECK_FAILED);
    let written = markers.publish_expecting("fresh", Some("v1.0.0"), "v2.0.0", false).await.expect("it holds v1.0.0");
    assert_eq!(written, Published::Updated { previous: "v1.0.0".to_owned() });
}

on_every_backend!(get_and_publish, if_newer, stale_reads_fail);
on_every_backend!(multi_thread: racing_publishers);

/// Markers are served as text that no cache keeps (S3 and Azure keep the headers they were
/// written with; a local directory has none).
async fn markers_are_served_uncached_as_text(backend: Backend, store: fn(&str) -> Arc<dyn object_store::ObjectStore>) {
    let fixture = backend.fresh("headers");
    let bucket = fixture.bucket().expect("a bucket");
    Markers::with_prefix(fixture.storage.clone(), "release")
        .expect("a prefix")
        .publish("stable", "v1.31.2", false)
        .await
        .expect("publish");
    let location = object_store::path::Path::from(format!("{}/release/stable.txt", support::PREFIX));
    let result = object_store::ObjectStoreExt::get(&store(bucket), &location).await.expect("the marker");
    let attribute = |attribute| result.attributes.get(&attribute).map(|value| value.to_string());
    assert_eq!(attribute(object_store::Attribute::ContentType).as_deref(), Some("text/plain"));
    assert_eq!(attribute(object_store::Attribute::CacheControl).as_deref(), Some("private, max-age=0, no-transform"));
    assert_eq!(result.bytes().await.expect("body").as_ref(), b"v1.31.2");
}

#[tokio::test]
async fn s3_markers_are_served_uncached_as_text() {
    markers_are_served_uncached_as_text(Backend::S3, support::s3_store).await;
}

#[tokio::test]
async fn azure_markers_are_served_uncached_as_text() {
    markers_are_served_uncached_as_text(Backend::Azure, support::azure_store).await;
}
