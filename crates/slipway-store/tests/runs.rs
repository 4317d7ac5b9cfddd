//! The store on a real SQLite file and a real PostgreSQL database: runs, scheduler state and
//! test results.

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
        revision: String::new(),
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

on_both!(
    runs_are_recorded_listed_and_finished,
    a_tick_is_taken_once,
    runs_of_dead_processes_are_marked_lost,
    a_build_is_replaced_whole_and_ingesting_twice_changes_nothing,
);

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
    // Pages, and counts by job and state.
    let second = store.list_runs(&Filter { limit: 1, offset: 1, ..Filter::default() }).await.expect("list");
    assert_eq!(second.iter().map(|run| run.id.as_str()).collect::<Vec<_>>(), ["a"]);
    let mut counts = store.run_counts().await.expect("counts");
    counts.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(counts, [("e2e".to_owned(), RunState::Running, 1), ("unit".to_owned(), RunState::Failure, 1)]);
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

fn result(
    name: &str,
    status: slipway_core::results::Status,
    message: Option<&str>,
) -> slipway_core::results::TestResult {
    slipway_core::results::TestResult {
        name: name.to_owned(),
        status,
        duration_ms: Some(1500),
        runs: 1,
        passes: u32::from(status == slipway_core::results::Status::Pass),
        message: message.map(str::to_owned),
    }
}

async fn a_build_is_replaced_whole_and_ingesting_twice_changes_nothing(store: Store) {
    use slipway_core::results::{Build, Status};
    use slipway_store::results::Replaced;
    let build = |id: &str, started: i64| Build {
        job: "e2e".to_owned(),
        build_id: id.to_owned(),
        started: Some(started),
        finished: Some(started + 60),
        passed: Some(false),
        version: Some("abc1234".to_owned()),
        source: format!("/logs/e2e/{id}"),
    };
    let tests = vec![result("suite.b", Status::Fail, Some("boom at 0x1f")), result("suite.a", Status::Pass, None)];
    assert_eq!(store.replace_build(&build("1", 100), &tests, 1).await.expect("insert"), Replaced::Inserted);
    assert_eq!(store.replace_build(&build("1", 100), &tests, 2).await.expect("again"), Replaced::Unchanged);
    let fewer = vec![result("suite.a", Status::Flaky, Some("1/2 runs passed"))];
    assert_eq!(store.replace_build(&build("1", 100), &fewer, 3).await.expect("replace"), Replaced::Updated);
    assert_eq!(store.build_tests("e2e", "1").await.expect("tests"), fewer, "the old tests are gone");
    store.replace_build(&build("2", 200), &tests, 4).await.expect("second build");

    let builds = store.builds("e2e", 0).await.expect("builds");
    assert_eq!(builds.iter().map(|build| build.build_id.as_str()).collect::<Vec<_>>(), ["2", "1"]);
    assert_eq!(builds[0], build("2", 200));
    assert_eq!(store.builds("e2e", 1).await.expect("builds").len(), 1);
    assert_eq!(store.result_jobs().await.expect("jobs"), ["e2e"]);
    let failures = store.failures(0, None).await.expect("failures");
    assert_eq!(
        failures.iter().map(|failure| (failure.build_id.as_str(), failure.test.as_str())).collect::<Vec<_>>(),
        [("1", "suite.a"), ("2", "suite.b")]
    );
    assert_eq!(failures[1].message, "boom at 0x1f");
    assert_eq!(store.failures(150, Some("e2e")).await.expect("recent").len(), 1);
    assert!(store.failures(0, Some("other")).await.expect("other job").is_empty());

    // Rows go in several per statement: a build of 300 tests spans full and partial batches.
    let many: Vec<_> = (0..300)
        .map(|index| {
            result(&format!("suite.t{index:03}"), Status::Fail, Some(&format!("failure {index} it's \"quoted\"")))
        })
        .collect();
    store.replace_build(&build("3", 300), &many, 6).await.expect("a big build");
    let mut stored = store.build_tests("e2e", "3").await.expect("tests");
    stored.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(stored, many, "every row, every value");
    let unstarted = Build { started: None, ..build("0", 0) };
    store.replace_build(&unstarted, &[], 5).await.expect("a build without a start time");
    let order: Vec<String> = store.builds("e2e", 0).await.expect("builds").into_iter().map(|b| b.build_id).collect();
    assert_eq!(order, ["3", "2", "1", "0"], "a build without a start time is the oldest, on every engine");
}

#[tokio::test]
async fn reading_a_store_that_does_not_exist_creates_nothing() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join(".slipway/state.db");
    let url = format!("sqlite:{}", path.display());
    let opened = Store::open_for_reading(&url).await.expect("opens");
    assert!(matches!(opened, slipway_store::ForReading::Missing(_)), "{opened:?}");
    let runs = opened.store().list_runs(&Filter { limit: 10, ..Filter::default() }).await.expect("lists");
    assert!(runs.is_empty());
    assert!(opened.store().result_jobs().await.expect("lists").is_empty());
    assert!(!directory.path().join(".slipway").exists(), "nothing was created on disk");

    let store = Store::open(&url).await.expect("creates");
    store.insert_run(&run("r1", "unit", "1", 100)).await.expect("inserts");
    store.close().await;
    let opened = Store::open_for_reading(&url).await.expect("opens");
    assert!(matches!(opened, slipway_store::ForReading::Existing(_)));
    let runs = opened.store().list_runs(&Filter { limit: 10, ..Filter::default() }).await.expect("lists");
    assert_eq!(runs.len(), 1);
}

/// Eight processes' first use of one empty PostgreSQL database: every one opens it (the
/// migrations take a lock), and the schema is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_use_of_an_empty_postgres_database() {
    let url = slipway_test::postgres::database();
    let openers: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::open(&url).await })
        })
        .collect();
    for opener in openers {
        let store = opener.await.expect("the task ran").unwrap_or_else(|error| panic!("{error:?}"));
        store.close().await;
    }
    let store = Store::open(&url).await.expect("opens");
    store.insert_run(&run("r1", "unit", "1", 100)).await.expect("the schema is there");
}

/// Sixteen claims at once for a job capped at 2: exactly two get a slot, on each backend.
async fn slots_are_taken_atomically(url: &str) {
    let store = Store::open(url).await.expect("opens");
    let claims: Vec<_> = (0..16)
        .map(|index| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut claim = run(&format!("slot-{index}"), "capped", &index.to_string(), 100);
                claim.state = RunState::Running;
                store.insert_run_capped(&claim, 2).await.expect("the claim is answered")
            })
        })
        .collect();
    let mut granted = 0;
    for claim in claims {
        granted += usize::from(claim.await.expect("the task ran"));
    }
    assert_eq!(granted, 2);
    let holders = store.running().await.expect("lists");
    assert_eq!(holders.len(), 2, "only the granted claims were recorded");
    store.finish_run(&holders[0].id, RunState::Success, Some(0), "passed", 200).await.expect("finishes");
    let mut next = run("slot-next", "capped", "99", 300);
    next.state = RunState::Running;
    assert!(store.insert_run_capped(&next, 2).await.expect("answered"), "a finished run frees its slot");
    let mut unlimited = run("free", "other", "1", 300);
    unlimited.state = RunState::Running;
    assert!(store.insert_run_capped(&unlimited, 0).await.expect("answered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slots_are_taken_atomically_on_sqlite() {
    let directory = tempfile::tempdir().expect("temporary directory");
    slots_are_taken_atomically(&format!("sqlite:{}", directory.path().join("state.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slots_are_taken_atomically_on_postgres() {
    slots_are_taken_atomically(&slipway_test::postgres::database()).await;
}

/// A database of before migration 9 (one row per test) keeps every result: its rows become
/// packed blocks and failure rows, and the old table goes.
async fn rows_of_old_databases_are_packed(url: &str) {
    use slipway_core::results::Status;
    use sqlx::Executor as _;
    Store::open(url).await.expect("open").close().await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    for statement in [
        "DROP TABLE result_test_blocks",
        "DROP TABLE result_failures",
        "DELETE FROM slipway_migrations WHERE version = 9",
        "CREATE TABLE result_tests (job TEXT NOT NULL, build_id TEXT NOT NULL, test TEXT NOT NULL, \
         status TEXT NOT NULL, duration_ms BIGINT, runs BIGINT NOT NULL, passes BIGINT NOT NULL, message TEXT, \
         PRIMARY KEY (job, build_id, test))",
        "CREATE INDEX result_tests_by_status ON result_tests (status, job)",
        "INSERT INTO result_builds (job, build_id, started, finished, passed, version, source, ingested_at) \
         VALUES ('e2e', '1', 100, 160, 0, NULL, '/logs/e2e/1', 1), ('e2e', '2', 200, 260, 1, NULL, '/logs/e2e/2', 1)",
        "INSERT INTO result_tests (job, build_id, test, status, duration_ms, runs, passes, message) VALUES \
         ('e2e', '1', 'suite.b', 'fail', 1500, 1, 0, 'boom'), ('e2e', '1', 'suite.a', 'pass', NULL, 1, 1, NULL), \
         ('e2e', '1', 'suite.c', 'flaky', 20, 2, 1, '1/2 runs passed'), ('e2e', '2', 'suite.a', 'skip', 0, 1, 1, 'why')",
    ] {
        pool.execute(statement).await.unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    pool.close().await;

    let store = Store::open(url).await.expect("migrates");
    let tests = store.build_tests("e2e", "1").await.expect("tests");
    let summary: Vec<_> = tests.iter().map(|test| (test.name.as_str(), test.status, test.duration_ms)).collect();
    assert_eq!(
        summary,
        [("suite.a", Status::Pass, None), ("suite.b", Status::Fail, Some(1500)), ("suite.c", Status::Flaky, Some(20))]
    );
    assert_eq!(tests[2].message.as_deref(), Some("1/2 runs passed"));
    assert_eq!(store.build_tests("e2e", "2").await.expect("tests")[0].message.as_deref(), Some("why"));
    let failures = store.failures(0, None).await.expect("failures");
    assert_eq!(failures.iter().map(|failure| failure.test.as_str()).collect::<Vec<_>>(), ["suite.b", "suite.c"]);
    store.close().await;
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    assert!(pool.execute("SELECT 1 FROM result_tests").await.is_err(), "the old table is gone");
}

#[tokio::test]
async fn rows_of_old_databases_are_packed_on_sqlite() {
    let directory = tempfile::tempdir().expect("temporary directory");
    rows_of_old_databases_are_packed(&format!("sqlite:{}", directory.path().join("state.db").display())).await;
}

#[tokio::test]
async fn rows_of_old_databases_are_packed_on_postgres() {
    rows_of_old_databases_are_packed(&slipway_test::postgres::database()).await;
}

#[tokio::test]
async fn two_results_for_one_test_are_refused_and_nothing_is_stored() {
    use slipway_core::results::{Build, Status};
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(&format!("sqlite:{}", directory.path().join("state.db").display())).await.expect("open");
    let build = Build {
        job: "unit".to_owned(),
        build_id: "7".to_owned(),
        started: Some(1),
        finished: Some(2),
        passed: Some(true),
        version: None,
        source: "here".to_owned(),
    };
    let twice = [result("pkg.TestA", Status::Pass, None), result("pkg.TestA", Status::Pass, None)];
    let error = store.replace_build(&build, &twice, 3).await.expect_err("refused");
    assert!(error.to_string().contains("two results for the test `pkg.TestA` in build unit/7"), "{error}");
    assert!(store.build("unit", "7").await.expect("query").is_none(), "the transaction was rolled back");
}
