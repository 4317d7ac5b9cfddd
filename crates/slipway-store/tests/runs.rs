//! The run store on a real SQLite file.

use slipway_store::runs::Filter;
use slipway_store::{Run, RunState, Store, Trigger};

fn run(id: &str, job: &str, build: &str, created: i64) -> Run {
    Run {
        id: id.to_owned(),
        job: job.to_owned(),
        base_job: job.split("-stable").next().unwrap_or(job).to_owned(),
        build_id: build.to_owned(),
        variant: String::new(),
        trigger: Trigger::Manual,
        state: RunState::Running,
        due_at: None,
        created_at: created,
        started_at: Some(created),
        finished_at: None,
        heartbeat_at: created,
        exit_code: None,
        description: "running".to_owned(),
        executor: "local".to_owned(),
        owner_host: "here".to_owned(),
        owner_pid: 1,
        artifacts: "/tmp/a".to_owned(),
        log_path: "/tmp/a/build-log.txt".to_owned(),
    }
}

/// Each check runs on SQLite (a file in a directory that does not exist yet) and on a fresh
/// PostgreSQL database.
macro_rules! on_both {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $check() {
                    let directory = tempfile::tempdir().expect("temporary directory");
                    let url = format!("sqlite:{}", directory.path().join("nested/state.db").display());
                    super::$check(slipway_store::Store::open(&url).await.expect("open")).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $check() {
                    let url = slipway_test::postgres::database();
                    super::$check(slipway_store::Store::open(&url).await.expect("open")).await;
                }
            )*
        }
    };
}

on_both!(runs_are_recorded_listed_and_finished, a_tick_is_taken_once, runs_of_dead_processes_are_marked_lost);

async fn runs_are_recorded_listed_and_finished(store: Store) {
    store.insert_run(&run("a", "unit", "100", 10)).await.expect("insert");
    let mut matrix = run("b", "e2e-stable-1-30", "200", 20);
    matrix.variant = "stable-1.30".to_owned();
    store.insert_run(&matrix).await.expect("insert");
    store.finish_run("a", RunState::Failure, Some(2), "exit 2", 30).await.expect("finish");

    let all = store.list_runs(&Filter::default()).await.expect("list");
    assert_eq!(all.iter().map(|run| run.id.as_str()).collect::<Vec<_>>(), ["b", "a"]);
    assert_eq!((all[1].state, all[1].exit_code, all[1].finished_at), (RunState::Failure, Some(2), Some(30)));

    let unit = store.list_runs(&Filter { job: Some("unit".into()), ..Filter::default() }).await.expect("list");
    assert_eq!(unit.len(), 1);
    let e2e =
        store.list_runs(&Filter { job: Some("e2e-stable-1-30".into()), ..Filter::default() }).await.expect("list");
    assert_eq!(e2e.len(), 1);
    let base = store.list_runs(&Filter { job: Some("e2e".into()), ..Filter::default() }).await.expect("list");
    assert_eq!(base.iter().map(|run| run.id.as_str()).collect::<Vec<_>>(), ["b"], "a job includes its matrix runs");
    assert_eq!(store.find_run("unit/100").await.expect("find").map(|run| run.id), Some("a".to_owned()));
    assert_eq!(store.find_run("b").await.expect("find").map(|run| run.build_id), Some("200".to_owned()));
    assert_eq!(store.find_run("unit").await.expect("find").map(|run| run.id), Some("a".to_owned()));
    assert!(store.find_run("nothing").await.expect("find").is_none());
}

async fn a_tick_is_taken_once(store: Store) {
    store.register_schedule("nightly", 50).await.expect("register");
    store.register_schedule("nightly", 60).await.expect("register again");
    assert_eq!(store.last_due("nightly").await.expect("due"), Some(50), "registration does not move");
    assert!(store.take_tick("nightly", 100).await.expect("first"));
    assert!(!store.take_tick("nightly", 100).await.expect("again"), "a tick is taken once");
    assert!(!store.take_tick("nightly", 90).await.expect("older"), "an older tick is never taken");
    store.skip_tick("nightly", 200).await.expect("skip");
    assert_eq!(store.last_due("nightly").await.expect("due"), Some(200));
    assert!(store.take_tick("nightly", 300).await.expect("next"));
    assert!(store.take_tick("other", 10).await.expect("a new job"));
}

async fn runs_of_dead_processes_are_marked_lost(store: Store) {
    let mut mine = run("mine", "unit", "1", 10);
    mine.owner_pid = 4242;
    let mut alive = run("alive", "unit", "2", 10);
    alive.owner_pid = 7;
    let mut remote = run("remote", "unit", "3", 10);
    remote.owner_host = "elsewhere".to_owned();
    let mut fresh = run("fresh", "unit", "4", 10);
    fresh.owner_host = "elsewhere".to_owned();
    fresh.heartbeat_at = 95;
    for run in [&mine, &alive, &remote, &fresh] {
        store.insert_run(run).await.expect("insert");
    }
    let lost = store.mark_lost("here", |pid| pid == 7, 90, 100).await.expect("mark");
    let mut ids: Vec<&str> = lost.iter().map(|run| run.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["mine", "remote"]);
    let found = store.find_run("mine").await.expect("find").expect("exists");
    assert_eq!(found.state, RunState::Error);
    assert!(found.description.contains("pid 4242"), "{}", found.description);
    assert_eq!(store.running().await.expect("running").len(), 2);
}

#[tokio::test]
async fn bad_urls_are_usage_errors() {
    let error = Store::open("mysql://nope").await.expect_err("unsupported");
    assert_eq!(error.exit_code(), 2);
    let error = Store::open("sqlite:/proc/no/such/dir/state.db").await.expect_err("cannot create");
    assert_eq!(error.exit_code(), 3);
    let error = Store::open("postgres://postgres@127.0.0.1:9/nothing").await.expect_err("nothing listens");
    assert_eq!(error.exit_code(), 3);
    assert!(error.to_string().contains("127.0.0.1:9"), "{error}");
}
