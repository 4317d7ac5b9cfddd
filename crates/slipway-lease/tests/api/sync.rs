//! Items 32 to 36: the configuration, its reload, the reaper and the janitor, in a running
//! server.

use std::time::Duration;

use crate::harness::{Harness, on_both};

on_both!(static_resources_follow_the_configuration_file, |backend| async move {
    let server = Harness::start(backend, "resources:\n- type: t\n  state: dirty\n  names: [a, b]\n").await;
    assert_eq!(server.resources().await.iter().map(|lease| lease.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(server.acquire("t", "dirty", "busy", "job").await.status, 200);
    // b leaves the configuration while held by `job`; c comes; a changes type.
    let held = server.resources().await.into_iter().find(|lease| lease.owner == "job").expect("held").name;
    let other = if held == "a" { "b" } else { "a" };
    server.reconfigure(&format!("resources:\n- type: t\n  names: [{held}, c]\n- type: u\n  names: [{other}]\n"));
    let other_name = other.to_owned();
    server
        .eventually("c is created and the retyped resource comes back as u", move |leases| {
            leases.iter().any(|lease| lease.name == "c" && lease.state == "free")
                && leases.iter().any(|lease| lease.name == other_name && lease.kind == "u")
        })
        .await;
    // The held one keeps its state and owner; removing it from the configuration waits for its release.
    server.reconfigure(&format!("resources:\n- type: t\n  names: [c]\n- type: u\n  names: [{other}]\n"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(server.resources().await.iter().any(|lease| lease.name == held && lease.owner == "job"), "owned: kept");
    assert_eq!(server.release(&held, "dirty", "job").await.status, 200);
    let gone = held.clone();
    server
        .eventually("a released resource that left the configuration is deleted", move |leases| {
            !leases.iter().any(|lease| lease.name == gone)
        })
        .await;
});

on_both!(an_invalid_reload_keeps_the_configuration_in_use, |backend| async move {
    let server = Harness::start(backend, "resources:\n- type: t\n  names: [a]\n").await;
    server.reconfigure("resources:\n- type: t\n  names: [Not_Valid]\n");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.resources().await.iter().map(|lease| lease.name.as_str()).collect::<Vec<_>>(), ["a"]);
    assert_eq!(server.acquire("t", "free", "busy", "o").await.status, 200, "still serving");
});

on_both!(dynamic_resources_keep_between_min_and_max, |backend| async move {
    let server = Harness::start(backend, "resources:\n- type: d\n  min-count: 2\n  max-count: 3\n").await;
    server
        .eventually("min-count resources", |leases| leases.len() == 2 && leases.iter().all(|lease| lease.dynamic))
        .await;
    server.reconfigure("resources:\n- type: d\n  min-count: 0\n  max-count: 1\n");
    server.eventually("scaled down to max-count", |leases| leases.len() == 1).await;
    // A dynamic type removed from the configuration goes once its resources are free.
    let held = server.acquire("d", "free", "busy", "o").await;
    assert_eq!(held.status, 200);
    server.reconfigure("resources:\n- type: other\n  names: [x]\n");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(server.resources().await.iter().any(|lease| lease.kind == "d"), "held: kept");
    let name = held.json()["name"].as_str().expect("name").to_owned();
    assert_eq!(server.release(&name, "dirty", "o").await.status, 200);
    server
        .eventually("the removed type's resources are deleted", |leases| leases.iter().all(|lease| lease.kind != "d"))
        .await;
});

on_both!(the_reaper_takes_back_leases_without_heartbeat, |backend| async move {
    let server = Harness::start(backend, "resources:\n- type: t\n  names: [a, b]\n  reaper: {expire: 400ms}\n").await;
    assert_eq!(server.acquire("t", "free", "busy", "gone").await.status, 200);
    let kept = server.acquire("t", "free", "busy", "alive").await;
    let kept = kept.json()["name"].as_str().expect("name").to_owned();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let beat =
            server.call("POST", "/update", &[("name", &kept), ("owner", "alive"), ("state", "busy")], None).await;
        assert_eq!(beat.status, 200, "a heartbeated lease is never reaped: {}", beat.body);
    }
    let kept_name = kept.clone();
    server
        .eventually("the silent lease is dirty and unowned", move |leases| {
            leases.iter().any(|lease| lease.name != kept_name && lease.owner.is_empty() && lease.state == "dirty")
        })
        .await;
});

on_both!(the_janitor_cleans_dirty_resources_with_a_real_command, |backend| async move {
    let server = Harness::start(
        backend,
        "resources:\n- type: t\n  state: dirty\n  names: [good, bad]\n  janitor:\n    command: [sh, -c, 'echo cleaning $BOSKOS_RESOURCE of $BOSKOS_RESOURCE_TYPE; test $BOSKOS_RESOURCE = good']\n    pool: 2\n",
    )
    .await;
    server
        .eventually("good is cleaned to free", |leases| {
            leases.iter().any(|lease| lease.name == "good" && lease.state == "free" && lease.owner.is_empty())
        })
        .await;
    let log = fs_err::read_to_string(server.directory.path().join("janitor/good.log")).expect("the output is kept");
    assert!(log.contains("cleaning good of t"), "{log}");
    let bad = fs_err::read_to_string(server.directory.path().join("janitor/bad.log")).expect("the output is kept");
    assert!(bad.contains("cleanup failed"), "{bad}");
    let leases = server.resources().await;
    let bad = leases.iter().find(|lease| lease.name == "bad").expect("bad");
    assert!(matches!(bad.state.as_str(), "dirty" | "cleaning"), "a failed cleanup goes back to dirty: {bad:?}");
});

on_both!(the_janitor_never_runs_more_than_its_pool, |backend| async move {
    // Each cleanup takes a while and records how many run at once in a shared directory.
    let marks = tempfile::tempdir().expect("directory");
    let script = format!(
        "touch {dir}/$BOSKOS_RESOURCE; ls {dir} | wc -l >> {dir}.counts; sleep 0.3; rm {dir}/$BOSKOS_RESOURCE",
        dir = marks.path().display()
    );
    let config = format!(
        "resources:\n- type: t\n  state: dirty\n  names: [a, b, c, d]\n  janitor:\n    command: [sh, -c, '{script}']\n    pool: 2\n"
    );
    let server = Harness::start(backend, &config).await;
    server.eventually("every resource is cleaned", |leases| leases.iter().all(|lease| lease.state == "free")).await;
    let counts = fs_err::read_to_string(format!("{}.counts", marks.path().display())).expect("counts");
    let most = counts.lines().filter_map(|line| line.trim().parse::<u32>().ok()).max().unwrap_or(0);
    assert_eq!(counts.lines().count(), 4, "each resource cleaned once: {counts}");
    assert!(most <= 2, "at most the pool at once: {counts}");
});
