//! Build ids: time-derived, strictly increasing per job, never given twice.

use std::collections::BTreeSet;

use slipway_artifacts::{BuildDir, ProwJob, Started, Storage, allocate_build_id, latest_build, list_builds, snowflake};

use crate::support::{self, on_every_backend};

const NOW_MS: u64 = 1_760_000_000_000;

async fn sequential_ids_increase(storage: Storage) {
    let first = allocate_build_id(&storage, "periodic", NOW_MS).await.expect("allocate");
    assert_eq!(first, snowflake(NOW_MS), "time-derived");
    let same_time = allocate_build_id(&storage, "periodic", NOW_MS).await.expect("allocate");
    assert_eq!(same_time, first + 1);
    // A clock that went back 10 s still gets a greater id.
    let earlier_clock = allocate_build_id(&storage, "periodic", NOW_MS - 10_000).await.expect("allocate");
    assert!(earlier_clock > same_time);
    let later = allocate_build_id(&storage, "periodic", NOW_MS + 1).await.expect("allocate");
    assert_eq!(later, snowflake(NOW_MS + 1));
    assert_eq!(latest_build(&storage, "periodic").await.expect("latest"), Some(later));
    assert_eq!(list_builds(&storage, "periodic").await.expect("list"), [first, same_time, earlier_clock, later]);
    // Each claim is a valid started.json until the build starts.
    let claimed = BuildDir::new(storage.clone(), "periodic", first).expect("a build");
    assert_eq!(claimed.read_started().await.expect("read").map(|started| started.timestamp), Some(1_760_000_000));

    // A build far ahead of the clock (another writer, a skewed machine) is still exceeded.
    let ahead = snowflake(NOW_MS + 3_600_000);
    let build = BuildDir::new(storage.clone(), "periodic", ahead).expect("a build");
    build
        .start(&Started { timestamp: 1, ..Started::default() }, &ProwJob::new("periodic", ahead, Default::default(), 1))
        .await
        .expect("start");
    assert_eq!(allocate_build_id(&storage, "periodic", NOW_MS).await.expect("allocate"), ahead + 1);
    // Other jobs have their own sequence.
    assert_eq!(allocate_build_id(&storage, "other", NOW_MS).await.expect("allocate"), snowflake(NOW_MS));
}

/// 24 tasks allocate at the same instant: 24 different ids, all claimed, latest is the max.
async fn concurrent_ids_are_unique(storage: Storage) {
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let storage = storage.clone();
            tokio::spawn(async move { allocate_build_id(&storage, "presubmit", NOW_MS).await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("joined").expect("allocated"));
    }
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an id was given twice: {ids:?}");
    assert!(ids.iter().all(|id| *id >= snowflake(NOW_MS)));
    assert_eq!(list_builds(&storage, "presubmit").await.expect("list"), unique.iter().copied().collect::<Vec<_>>());
    assert_eq!(latest_build(&storage, "presubmit").await.expect("latest"), unique.last().copied());
}

on_every_backend!(sequential_ids_increase);
on_every_backend!(multi_thread: concurrent_ids_are_unique);

#[tokio::test]
async fn job_names_are_checked() {
    let (storage, _directory) = support::local();
    let error = allocate_build_id(&storage, "../escape", NOW_MS).await.expect_err("not a job name");
    assert_eq!(error.exit_code(), slipway_core::exit::USAGE);
    assert!(BuildDir::new(storage, "a/b", 1).is_err());
}
