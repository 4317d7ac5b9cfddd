//! Items 1 to 31 of the checklist: the API's statuses, texts and bodies, and its semantics.

use std::time::Duration;

use crate::harness::{Backend, Harness, Settings, on_both};

const ONE: &str = "resources:\n- type: t\n  names: [res]\n";
const FOUR: &str = "resources:\n- type: t\n  names: [r1, r2, r3, r4]\n";

/// The Resource JSON with the value of `"lastupdate"` replaced by `<now>`, to compare bodies
/// exactly.
fn without_time(body: &str) -> String {
    let Some(start) = body.find("\"lastupdate\":\"") else { return body.to_owned() };
    let value = start + "\"lastupdate\":\"".len();
    let end = body[value..].find('"').map_or(body.len(), |end| value + end);
    format!("{}<now>{}", &body[..value], &body[end..])
}

on_both!(acquire_rejects_wrong_methods_and_missing_parameters, |backend| async move {
    let server = Harness::start(backend, ONE).await;
    // 1
    let get = server.call("GET", "/acquire", &[("type", "t")], None).await;
    assert_eq!((get.status, get.body.as_str()), (405, "Method GET, /acquire only accepts POST.\n"));
    assert_eq!(get.content_type, "text/plain; charset=utf-8");
    // 2
    let missing = server.post("/acquire", &[("type", "t"), ("state", "free"), ("dest", "busy")]).await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body,
        "Bad request: Type: t, state: free, dest: busy, owner: , all of them must be set in the request.\n"
    );
    assert_eq!(server.post("/acquire", &[]).await.status, 400);
});

on_both!(acquire_says_why_nothing_was_given, |backend| async move {
    let server = Harness::start(backend, "resources:\n- type: t\n  names: [res]\n  state: dirty\n").await;
    // 3: only other types
    let other = server.acquire("nope", "free", "busy", "o").await;
    assert_eq!((other.status, other.body.as_str()), (404, "Acquire failed: resource type \"nope\" does not exist\n"));
    // 4: the type exists in another state
    let state = server.acquire("t", "free", "busy", "o").await;
    assert_eq!(
        (state.status, state.body.as_str()),
        (404, "Acquire failed: no available resource t, try again later.\n")
    );
    // 5: a held resource is not available (404, not 401)
    assert_eq!(server.acquire("t", "dirty", "busy", "first").await.status, 200);
    assert_eq!(server.acquire("t", "busy", "x", "second").await.status, 404);
});

on_both!(acquire_answers_the_resource_exactly, |backend| async move {
    let server = Harness::start(backend, ONE).await;
    let before = server.resources().await[0].last_update;
    // 8: a failed acquire changes nothing
    assert_eq!(server.acquire("t", "dirty", "busy", "o").await.status, 404);
    assert_eq!(server.resources().await[0].last_update, before);
    // 6
    let answer = server.acquire("t", "free", "d", "o").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        without_time(&answer.body),
        r#"{"type":"t","name":"res","state":"d","owner":"o","lastupdate":"<now>","userdata":{}}"#,
        "compact JSON, no newline"
    );
    let stored = &server.resources().await[0];
    assert_eq!((stored.owner.as_str(), stored.state.as_str()), ("o", "d"));
    assert!(stored.last_update > before, "8: a successful acquire sets lastupdate");
    // 7: userdata comes back on acquire
    let update = server
        .call("POST", "/update", &[("name", "res"), ("owner", "o"), ("state", "d")], Some(r#"{"test":"old"}"#))
        .await;
    assert_eq!(update.status, 200, "{}", update.body);
    assert_eq!(server.release("res", "free", "o").await.status, 200);
    let again = server.acquire("t", "free", "busy", "p").await;
    assert_eq!(again.json()["userdata"], serde_json::json!({"test": "old"}));
});

on_both!(acquire_is_least_recently_used, |backend| async move {
    // 9
    let server = Harness::start(backend, FOUR).await;
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let answer = server.acquire("t", "free", "free", "o").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let name = answer.json()["name"].as_str().expect("name").to_owned();
        assert_eq!(server.release(&name, "free", "o").await.status, 200);
        names.insert(name);
    }
    assert_eq!(names.len(), 4, "{names:?}");
});

on_both!(request_ids_keep_their_place_in_the_queue, |backend| async move {
    let server = Harness::start_with(
        backend,
        "resources:\n- type: t\n  names: [res]\n  state: dirty\n",
        Settings { request_ttl: Duration::from_millis(700), ..Settings::default() },
    )
    .await;
    // 10: r1 queues first; when a resource comes, neither an anonymous caller nor r2 gets it.
    assert_eq!(server.acquire_with_id("t", "o1", "r1").await.status, 404);
    let dirty = server.acquire("t", "dirty", "busy", "setup").await;
    assert_eq!(dirty.status, 200);
    assert_eq!(server.release("res", "free", "setup").await.status, 200);
    assert_eq!(server.acquire("t", "free", "busy", "anonymous").await.status, 404);
    assert_eq!(server.acquire_with_id("t", "o2", "r2").await.status, 404);
    let first = server.acquire_with_id("t", "o1", "r1").await;
    assert_eq!(first.status, 200, "{}", first.body);
    // 11: r1 fulfilled and released; r1 again is new and behind r2; anonymous too.
    assert_eq!(server.release("res", "free", "o1").await.status, 200);
    assert_eq!(server.acquire_with_id("t", "o1", "r1").await.status, 404);
    assert_eq!(server.acquire("t", "free", "busy", "anonymous").await.status, 404);
    // Once the queued ids stop polling past their TTL, an anonymous caller gets it.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(server.acquire("t", "free", "busy", "anonymous").await.status, 200);
    // 10: the acquire duration is measured from r1's first call.
    let metrics = server.call("GET", "/metrics", &[], None).await;
    assert!(
        metrics.body.contains(
            r#"boskos_acquire_duration_seconds_count{type="t",state="free",dest="busy",has_request_id="true"} 1"#
        ),
        "{}",
        metrics.body
    );
});

on_both!(dynamic_types_create_on_demand_up_to_max, |backend| async move {
    // 13
    let server = Harness::start(backend, "resources:\n- type: dyn\n  state: dirty\n  max-count: 2\n").await;
    let first = server.acquire_with_id("dyn", "o", "id1").await;
    assert_eq!(first.status, 404);
    assert_eq!(
        first.body, "Acquire failed: no available resource dyn, try again later.\n",
        "the type exists: it is dynamic"
    );
    assert_eq!(server.resources().await.len(), 1);
    assert_eq!(server.acquire_with_id("dyn", "o", "id1").await.status, 404);
    assert_eq!(server.resources().await.len(), 1, "a repeated id creates nothing");
    server.acquire_with_id("dyn", "o", "id2").await;
    assert_eq!(server.resources().await.len(), 2);
    server.acquire_with_id("dyn", "o", "id3").await;
    server.acquire("dyn", "free", "busy", "o").await;
    let resources = server.resources().await;
    assert_eq!(resources.len(), 2, "max-count holds");
    assert!(resources.iter().all(|lease| lease.dynamic && lease.state == "dirty"), "{resources:?}");
});

on_both!(acquire_by_state_is_all_or_nothing, |backend| async move {
    let server = Harness::start(
        backend,
        "resources:\n- type: a\n  names: [a1]\n  state: s1\n- type: b\n  names: [b1, b2]\n  state: s1\n",
    )
    .await;
    // 15
    let missing =
        server.post("/acquirebystate", &[("state", "state1"), ("dest", "newState"), ("owner", "owner")]).await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (400, "state: state1, dest: newState, owner: owner, names:  - all of them must be set in the request.\n")
    );
    let get = server.call("GET", "/acquirebystate", &[], None).await;
    assert_eq!((get.status, get.body.as_str()), (405, "Method GET, /acquirebystate only accepts POST.\n"));
    // 16
    let wrong =
        server.post("/acquirebystate", &[("state", "state1"), ("dest", "x"), ("owner", "o"), ("names", "a1")]).await;
    assert_eq!(
        (wrong.status, wrong.body.as_str()),
        (404, "AcquireByState: no available resource state1, try again later.\n")
    );
    // 17 and all-or-nothing: b2 held by another owner; a1 and b1 must stay untouched.
    assert_eq!(
        server
            .post("/acquirebystate", &[("state", "s1"), ("dest", "held"), ("owner", "other"), ("names", "b2")])
            .await
            .status,
        200
    );
    let partial =
        server.post("/acquirebystate", &[("state", "s1"), ("dest", "x"), ("owner", "o"), ("names", "a1,b1,b2")]).await;
    assert_eq!(partial.status, 404);
    let untouched: Vec<_> = server.resources().await.into_iter().filter(|lease| lease.name != "b2").collect();
    assert!(
        untouched.iter().all(|lease| lease.owner.is_empty() && lease.state == "s1"),
        "nothing taken: {untouched:?}"
    );
    // 18: mixed types, an array and a newline.
    let taken =
        server.post("/acquirebystate", &[("state", "s1"), ("dest", "x"), ("owner", "o"), ("names", "a1,b1")]).await;
    assert_eq!(taken.status, 200);
    assert!(taken.body.ends_with("]\n"), "{:?}", taken.body);
    let names: Vec<String> =
        taken.json().as_array().expect("array").iter().filter_map(|r| r["name"].as_str().map(str::to_owned)).collect();
    assert_eq!(names, ["a1", "b1"]);
    assert!(taken.json().as_array().expect("array").iter().all(|r| r["owner"] == "o" && r["state"] == "x"));
});

on_both!(release_checks_owner_not_state, |backend| async move {
    let server = Harness::start(backend, ONE).await;
    // 19
    assert_eq!(server.call("GET", "/release", &[], None).await.body, "Method GET, /release only accepts POST.\n");
    let missing = server.post("/release", &[("name", "res")]).await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (400, "Name: res, dest: , owner: , all of them must be set in the request.\n")
    );
    let unknown = server.release("nope", "dirty", "o").await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (404, "Done failed: nope - dirty (from o): no available resource nope, try again later.\n")
    );
    // 20: an unowned resource is a mismatch too
    let unowned = server.release("res", "dirty", "o").await;
    assert_eq!(
        (unowned.status, unowned.body.as_str()),
        (401, "Done failed: res - dirty (from o): owner mismatch request by o, currently owned by \n")
    );
    assert_eq!(server.acquire("t", "free", "busy", "o").await.status, 200);
    let other = server.release("res", "dirty", "p").await;
    assert_eq!(other.body, "Done failed: res - dirty (from p): owner mismatch request by p, currently owned by o\n");
    // 21
    let done = server.release("res", "dirty", "o").await;
    assert_eq!((done.status, done.body.as_str()), (200, ""));
    let stored = &server.resources().await[0];
    assert_eq!(
        (stored.owner.as_str(), stored.state.as_str(), stored.expiration),
        ("", "dirty", None),
        "22: static: no expiration"
    );
});

on_both!(release_of_a_dynamic_resource_sets_its_expiration, |backend| async move {
    // 22
    let server = Harness::start(backend, "resources:\n- type: dyn\n  min-count: 1\n  max-count: 1\n  lifespan: 1h\n- type: keep\n  min-count: 1\n  max-count: 1\n").await;
    server.eventually("min-count resources exist", |leases| leases.len() == 2).await;
    for kind in ["dyn", "keep"] {
        let answer = server.acquire(kind, "free", "busy", "o").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let name = answer.json()["name"].as_str().expect("name").to_owned();
        assert_eq!(server.release(&name, "free", "o").await.status, 200);
    }
    let leases = server.resources().await;
    let dynamic = leases.iter().find(|lease| lease.kind == "dyn").expect("dyn");
    let hour = 3_600_000_000_000_i64;
    assert!(
        dynamic.expiration.is_some_and(|at| (at - dynamic.last_update - hour).abs() < 1_000_000_000),
        "{dynamic:?}"
    );
    assert_eq!(
        leases.iter().find(|lease| lease.kind == "keep").expect("keep").expiration,
        None,
        "no lifespan: as it was"
    );
});

on_both!(update_heartbeats_and_merges_userdata, |backend| async move {
    let server = Harness::start(backend, ONE).await;
    // 23
    assert_eq!(server.call("GET", "/update", &[], None).await.status, 405);
    let missing = server.post("/update", &[("name", "res"), ("owner", "o")]).await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (400, "Name: res, owner: o, state : , all of them must be set in the request.\n")
    );
    let update = |name: &'static str, owner: &'static str, state: &'static str, body: Option<&'static str>| {
        let server = &server;
        async move { server.call("POST", "/update", &[("name", name), ("owner", owner), ("state", state)], body).await }
    };
    assert_eq!(update("nope", "o", "busy", None).await.status, 404);
    assert_eq!(update("res", "o", "busy", None).await.status, 401);
    assert_eq!(server.acquire("t", "free", "busy", "o").await.status, 200);
    let wrong_state = update("res", "o", "free", None).await;
    assert_eq!(
        (wrong_state.status, wrong_state.body.as_str()),
        (409, "Update failed: res - free (o): state mismatch - expected free, current busy\n")
    );
    // 24
    let before = server.resources().await[0].last_update;
    let beat = update("res", "o", "busy", None).await;
    assert_eq!((beat.status, beat.body.as_str()), (200, ""));
    assert!(server.resources().await[0].last_update > before);
    // 25
    let userdata = || async { server.resources().await[0].userdata.clone() };
    update("res", "o", "busy", Some(r#"{"custom":"custom"}"#)).await;
    assert_eq!(userdata().await, [("custom".to_owned(), "custom".to_owned())].into());
    update("res", "o", "busy", Some(r#"{"custom":"","1":"1"}"#)).await;
    update("res", "o", "busy", Some(r#"{"2":"2"}"#)).await;
    update("res", "o", "busy", Some(r#"{"1":"2"}"#)).await;
    update("res", "o", "busy", Some("{}")).await;
    assert_eq!(userdata().await, [("1".to_owned(), "2".to_owned()), ("2".to_owned(), "2".to_owned())].into());
    let malformed = update("res", "o", "busy", Some("{not json")).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(update("res", "o", "busy", Some(r#"{"n":1}"#)).await.status, 400, "values are strings");
});

on_both!(reset_takes_back_stale_leases, |backend| async move {
    let server = Harness::start(backend, "resources:\n- type: t\n  names: [res, other]\n  reaper: false\n").await;
    // 26
    assert_eq!(server.call("GET", "/reset", &[], None).await.status, 405);
    let missing = server.post("/reset", &[("type", "t")]).await;
    assert_eq!(missing.body, "Type: t, state: , expire: , dest: , all of them must be set in the request.\n");
    let bad = server.post("/reset", &[("type", "t"), ("state", "busy"), ("expire", "woooo"), ("dest", "dirty")]).await;
    assert_eq!((bad.status, bad.body.as_str()), (400, "time: invalid duration \"woooo\"\n"));
    // 27: nothing held, or not stale, or another type or state
    let reset = |expire: &'static str, kind: &'static str, state: &'static str| {
        let server = &server;
        async move {
            server.post("/reset", &[("type", kind), ("state", state), ("expire", expire), ("dest", "dirty")]).await
        }
    };
    assert_eq!(reset("1ms", "t", "free").await.body, "{}");
    assert_eq!(server.acquire("t", "free", "busy", "user").await.status, 200);
    assert_eq!(reset("1h", "t", "busy").await.body, "{}");
    assert_eq!(reset("1ms", "nope", "busy").await.body, "{}");
    assert_eq!(reset("1ms", "t", "leased").await.body, "{}");
    // 28
    tokio::time::sleep(Duration::from_millis(50)).await;
    let taken = reset("10ms", "t", "busy").await;
    assert_eq!(taken.status, 200);
    let name = taken.json().as_object().expect("object").keys().next().expect("one").clone();
    assert_eq!(taken.json(), serde_json::json!({ name.clone(): "user" }));
    let stored = server.resources().await.into_iter().find(|lease| lease.name == name).expect("stored");
    assert_eq!((stored.owner.as_str(), stored.state.as_str()), ("", "dirty"));
});

on_both!(metric_counts_states_and_owners, |backend| async move {
    let server = Harness::start(backend, "resources:\n- type: t\n  names: [a, b, c]\n").await;
    // 29
    assert_eq!(server.post("/metric", &[("type", "t")]).await.body, "/metric only accepts GET\n");
    assert_eq!(server.call("GET", "/metric", &[], None).await.body, "Type must be set in the request.\n");
    let none = server.call("GET", "/metric", &[("type", "nope")], None).await;
    assert_eq!((none.status, none.body.as_str()), (404, "no available resource nope, try again later.\n"));
    // 30
    assert_eq!(server.acquire("t", "free", "busy", "merlin").await.status, 200);
    let metric = server.call("GET", "/metric", &[("type", "t")], None).await;
    assert_eq!(metric.content_type, "application/json");
    assert_eq!(
        metric.json(),
        serde_json::json!({"type": "t", "current": {"busy": 1, "free": 2}, "owner": {"merlin": 1, "": 2}})
    );
    // 31
    let root = server.call("GET", "/", &[], None).await;
    assert_eq!((root.status, root.body.as_str()), (200, ""));
    assert_eq!(server.call("DELETE", "/some/other/path", &[], None).await.status, 200);
    // Prometheus: every known state for the type.
    let metrics = server.call("GET", "/metrics", &[], None).await;
    assert!(metrics.body.contains("boskos_resources{type=\"t\",state=\"busy\"} 1\n"), "{}", metrics.body);
    assert!(metrics.body.contains("boskos_resources{type=\"t\",state=\"tombstone\"} 0\n"), "{}", metrics.body);
    assert_eq!(server.call("GET", "/healthz", &[], None).await.body, "OK");
    assert_eq!(server.call("GET", "/healthz/ready", &[], None).await.body, "OK");
});

on_both!(the_queue_survives_a_restart, |backend| async move {
    let mut server = Harness::start(backend, "resources:\n- type: t\n  names: [res]\n  state: dirty\n").await;
    assert_eq!(server.acquire_with_id("t", "o1", "first").await.status, 404);
    server.restart(Settings::default()).await;
    assert_eq!(server.acquire("t", "dirty", "busy", "setup").await.status, 200);
    assert_eq!(server.release("res", "free", "setup").await.status, 200);
    assert_eq!(server.acquire_with_id("t", "o2", "second").await.status, 404, "first is still ahead");
    assert_eq!(server.acquire_with_id("t", "o1", "first").await.status, 200);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_every_change_and_basic_auth_carries_it() {
    let server =
        Harness::start_with(Backend::Sqlite, ONE, Settings { token: Some("s3cret".to_owned()), ..Settings::default() })
            .await;
    let refused = server.acquire("t", "free", "busy", "o").await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(server.call("GET", "/metric", &[("type", "t")], None).await.status, 200, "reading needs no token");
    let http = reqwest::Client::new();
    let url = format!("{}/acquire?type=t&state=free&dest=busy&owner=o", server.base);
    let bearer = http.post(&url).bearer_auth("s3cret").send().await.expect("answer");
    assert_eq!(bearer.status().as_u16(), 200);
    let release = format!("{}/release?name=res&dest=free&owner=o", server.base);
    let basic = http.post(&release).basic_auth("anyone", Some("s3cret")).send().await.expect("answer");
    assert_eq!(basic.status().as_u16(), 200, "the Go client's basic auth password is the token");
    let wrong = http.post(&url).bearer_auth("nope").send().await.expect("answer");
    assert_eq!(wrong.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_and_the_server_keeps_serving() {
    let server = Harness::start(Backend::Sqlite, ONE).await;
    assert_eq!(server.acquire("t", "free", "busy", "o").await.status, 200);
    let huge = format!("{{\"k\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let answer =
        server.call("POST", "/update", &[("name", "res"), ("owner", "o"), ("state", "busy")], Some(&huge)).await;
    assert_eq!(answer.status, 413);
    assert!(server.resources().await[0].userdata.is_empty());
    assert_eq!(server.release("res", "free", "o").await.status, 200, "still serving");
}

/// Two servers on one PostgreSQL database, 16 clients on each: no resource is ever held by
/// two owners, and every resource is free at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_never_double_lease() {
    let database = slipway_test::postgres::database();
    let config = "resources:\n- type: t\n  names: [r0, r1, r2, r3, r4, r5, r6, r7]\n";
    let first =
        Harness::start_on(tempfile::tempdir().expect("dir"), database.clone(), config, Settings::default()).await;
    let second = Harness::start_on(tempfile::tempdir().expect("dir"), database, config, Settings::default()).await;
    let held = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<String, usize>::new()));
    let doubles = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for client in 0..32 {
        let base = if client % 2 == 0 { first.base.clone() } else { second.base.clone() };
        let (held, doubles) = (held.clone(), doubles.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let owner = format!("c{client}");
            let mut pairs = 0;
            while pairs < 40 {
                let answer = http
                    .post(format!("{base}/acquire?type=t&state=free&dest=busy&owner={owner}"))
                    .send()
                    .await
                    .expect("acquire");
                if answer.status().as_u16() != 200 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                let resource: serde_json::Value = answer.json().await.expect("json");
                let name = resource["name"].as_str().expect("name").to_owned();
                if held.lock().expect("lock").insert(name.clone(), client).is_some() {
                    doubles.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                held.lock().expect("lock").remove(&name);
                let released = http
                    .post(format!("{base}/release?name={name}&dest=free&owner={owner}"))
                    .send()
                    .await
                    .expect("release");
                assert_eq!(released.status().as_u16(), 200);
                pairs += 1;
            }
        }));
    }
    for client in clients {
        client.await.expect("client");
    }
    assert_eq!(doubles.load(std::sync::atomic::Ordering::SeqCst), 0, "a resource was held by two owners");
    let resources = first.resources().await;
    assert_eq!(resources.len(), 8);
    assert!(resources.iter().all(|lease| lease.owner.is_empty() && lease.state == "free"), "{resources:?}");
}

on_both!(queue_ranks_follow_arrival_and_move_up, |backend| async move {
    // 12: ids queued in order get ranks 1..n; a requester ranked k gets the k-th free resource.
    let server = Harness::start(backend, "resources:\n- type: t\n  names: [a, b]\n  state: dirty\n").await;
    for id in ["r1", "r2", "r3"] {
        assert_eq!(server.acquire_with_id("t", id, id).await.status, 404);
    }
    for name in ["a", "b"] {
        assert_eq!(
            server
                .post("/acquirebystate", &[("state", "dirty"), ("dest", "busy"), ("owner", "setup"), ("names", name)])
                .await
                .status,
            200
        );
        assert_eq!(server.release(name, "free", "setup").await.status, 200);
    }
    assert_eq!(server.acquire_with_id("t", "r3", "r3").await.status, 404, "third in line, two free");
    assert_eq!(server.acquire_with_id("t", "r2", "r2").await.status, 200, "second in line gets the second");
    assert_eq!(server.acquire_with_id("t", "r3", "r3").await.status, 404, "now second in line, one free");
    assert_eq!(server.acquire_with_id("t", "r1", "r1").await.status, 200);
    // The head is gone: r3 moves up to the front.
    assert_eq!(server.release("a", "free", "r1").await.status, 200);
    let third = server.acquire_with_id("t", "r3", "r3").await;
    assert_eq!(third.status, 200, "{}", third.body);
    assert_eq!(server.acquire("t", "free", "busy", "anonymous").await.status, 404, "nothing left");
});
