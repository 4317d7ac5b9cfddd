//! Load on `slipway serve`'s pages, with figures (issue 14, part 7).
//!
//! The server runs in this process on a loopback port, over a store of 100,000 runs (about 150
//! jobs, a quarter of them matrix jobs with three entries, every state), the test results of one
//! job (300 tests × 100 builds) and one finished run whose build log is a 50 MB file. Closed-loop
//! clients (each sends its next request when the last one's body has arrived, as `wrk` does)
//! load one page at a time for a bounded time, and every latency is kept, so p50 and p99 are
//! exact. Per store (SQLite in a temporary directory; PostgreSQL when the test service runs):
//! 0. each page once, alone (and `/metrics` and `/healthz/ready`), and the store's own reads
//!    behind the pages, so a slow page can be told apart from a slow query;
//! 1. `/runs`, `/runs?job=JOB&state=failure`, `/api/v1/runs`, `/grid/JOB?builds=100` and the run
//!    page of the 50 MB log at 50 clients, against the target p99 < 100 ms;
//! 2. the whole 50 MB log streamed to 8 clients (MB/s);
//! 3. the live tail: a line appended to a running run's log, polled as `/live.js` polls (every
//!    500 ms), until the poll that returns it (target 1 s), idle and under 50 clients on `/runs`;
//! 4. memory: the peak RSS of the process while 20 clients download the 50 MB log at once,
//!    against the RSS before (the log is streamed, never loaded whole: flat).
//!
//! The load generator shares the machine's cores with the server: figures are of both, and the
//! `load gen` column says what share of this process's CPU time the generator took. When `wrk` is
//! installed, each page is also loaded with `wrk -c 50` for 3 s as a cross-check. Every client
//! asks as a browser does, taking gzip (`Accept-Encoding: gzip`): big pages are sent gzipped.
//!
//! Environment: `SERVE_BENCH_QUICK=1` (10,000 runs, 2 s a scenario, no wrk),
//! `SERVE_BENCH_SECONDS=N` (a scenario's length, default 5), `SERVE_BENCH_POSTGRES=0` (SQLite
//! only), `SERVE_BENCH_WRK=0` (no cross-check), `SLIPWAY_TEST_POSTGRES=HOST:PORT` (default
//! 127.0.0.1:55432, `scripts/test-services.sh`).

#![expect(clippy::print_stdout, clippy::print_stderr, reason = "a benchmark's output is its figures")]
#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "rates, sizes and indexes of figures"
)]

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slipway_core::results::{Build, Status, TestResult};
use slipway_server::Server;
use slipway_store::{Run, RunState, Store, Trigger};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

/// The page target: p99 under this at [`CLIENTS`] clients.
const TARGET_P99: Duration = Duration::from_millis(100);
/// The live tail target: a new line is in the browser within this.
const TARGET_TAIL: Duration = Duration::from_secs(1);
const CLIENTS: usize = 50;
/// The name of the load generator's threads, whose CPU time is told apart from the server's.
const CLIENT_THREAD: &str = "load-client";
/// Clients downloading the whole log at once (throughput), and for the memory check.
const LOG_CLIENTS: usize = 8;
const MEMORY_CLIENTS: usize = 20;
const LOG_BYTES: usize = 50 * 1024 * 1024;
const GRID_JOB: &str = "ci-kubernetes-e2e-gci-gce";
const GRID_TESTS: usize = 300;
const GRID_BUILDS: usize = 100;
/// The first run's creation time; runs are five minutes apart after it.
const EPOCH: i64 = 1_735_689_600;

struct Settings {
    runs: usize,
    seconds: Duration,
    wrk: bool,
}

fn main() {
    let quick = std::env::var("SERVE_BENCH_QUICK").is_ok_and(|value| value == "1");
    let seconds = std::env::var("SERVE_BENCH_SECONDS").ok().and_then(|text| text.parse().ok());
    let settings = Settings {
        runs: if quick { 10_000 } else { 100_000 },
        seconds: Duration::from_secs(seconds.unwrap_or(if quick { 2 } else { 5 })),
        wrk: !quick && std::env::var("SERVE_BENCH_WRK").as_deref() != Ok("0") && wrk_installed(),
    };
    let directory = tempfile::tempdir().expect("temporary directory");
    let log = directory.path().join("artifacts/big/build-log.txt");
    let started = Instant::now();
    write_log(&log, LOG_BYTES);
    println!(
        "serve load: {} runs, {GRID_TESTS} tests × {GRID_BUILDS} builds, a {:.1} MB log ({} s to write); {} cores; \
         the load generator runs in this process{}",
        thousands(settings.runs),
        LOG_BYTES as f64 / 1e6,
        format_seconds(started.elapsed()),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        if settings.wrk { ", wrk cross-checks each page" } else { "" },
    );

    let sqlite = format!("sqlite:{}", directory.path().join("state.db").display());
    bench_store("SQLite", &sqlite, directory.path(), &log, &settings);

    if std::env::var("SERVE_BENCH_POSTGRES").as_deref() == Ok("0") {
        return;
    }
    let address = std::env::var("SLIPWAY_TEST_POSTGRES").unwrap_or_else(|_| "127.0.0.1:55432".to_owned());
    if std::net::TcpStream::connect(&address).is_err() {
        println!("\nPostgreSQL: nothing listens on {address} (start it with scripts/test-services.sh); skipped");
        return;
    }
    let database = slipway_test::postgres::database();
    bench_store("PostgreSQL", &database, directory.path(), &log, &settings);
    drop_database(&address, &database);
}

/// Fills the store at `url`, serves it, and prints the figures of every scenario.
fn bench_store(name: &str, url: &str, directory: &Path, log: &Path, settings: &Settings) {
    // The server has a runtime of its own, as `slipway serve` has (a worker per core); the
    // clients have another.
    let server_runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("server runtime");
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .expect("client runtime");
    let live_log = directory.join(format!("artifacts/live-{name}/build-log.txt"));
    let (store, fixture, fill) = server_runtime.block_on(fill(url, settings.runs, log, &live_log));
    println!("\n{name}: filled in {} s ({fill})", format_seconds(fixture.filled));
    let stop = CancellationToken::new();
    let listener = server_runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = server_runtime.spawn(Server::new(store.clone(), None).serve(listener, stop.clone()));

    let pages = [
        ("/runs".to_owned(), "the runs page"),
        (format!("/runs?job={}&state=failure", fixture.filter_job), "a job's failures"),
        ("/api/v1/runs".to_owned(), "the runs API"),
        (format!("/grid/{GRID_JOB}?builds={GRID_BUILDS}"), "a grid, 300 × 100"),
        (format!("/runs/{}", fixture.big_run), "the run page of a 50 MB log"),
    ];
    client_runtime.block_on(async {
        for (path, _) in &pages {
            let began = Instant::now();
            let (status, size) = fetch(&format!("{base}{path}")).await;
            assert_eq!(status, 200, "{path} answers");
            println!("  {path}: {size} bytes, {:.1} ms alone", began.elapsed().as_secs_f64() * 1e3);
        }
        // What a Prometheus scrape and a readiness probe cost (each counts the runs by job and
        // state).
        for path in ["/metrics", "/healthz/ready"] {
            let began = Instant::now();
            let (status, size) = fetch(&format!("{base}{path}")).await;
            assert_eq!(status, 200, "{path} answers");
            println!("  {path}: {size} bytes, {:.1} ms alone", began.elapsed().as_secs_f64() * 1e3);
        }
    });
    println!("  {}", server_runtime.block_on(store_alone(&store, &fixture.filter_job)));
    println!(
        "  {:<30} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>8}  p99 < 100 ms",
        "scenario", "clients", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "load gen"
    );
    for (path, what) in &pages {
        let figures = client_runtime.block_on(load(&base, path, CLIENTS, settings.seconds));
        let verdict = if figures.at(0.99) < TARGET_P99 { "meets" } else { "misses" };
        println!("  {}  {verdict}", figures.line(what, CLIENTS));
        if settings.wrk {
            // A cross-check: shorter than the scenario.
            println!("    {}", wrk(&format!("{base}{path}"), settings.seconds.min(Duration::from_secs(3))));
        }
    }

    let whole = format!("/runs/{}/log", fixture.big_run);
    let figures = client_runtime.block_on(load(&base, &whole, LOG_CLIENTS, settings.seconds));
    println!(
        "  {}  {:.0} MB/s",
        figures.line("the whole 50 MB log", LOG_CLIENTS),
        figures.bytes as f64 / 1e6 / figures.elapsed.as_secs_f64()
    );

    let tail_path = format!("/api/v1/runs/{}/log", fixture.live_run);
    let tail_time = settings.seconds + Duration::from_secs(3);
    let idle = client_runtime.block_on(live_tail(&base, &tail_path, &live_log, tail_time, None));
    println!("  live tail, idle: {}", tail_line(&idle));
    let loaded = client_runtime.block_on(live_tail(&base, &tail_path, &live_log, tail_time, Some("/runs")));
    println!("  live tail, {CLIENTS} clients on /runs: {}", tail_line(&loaded));

    let memory = client_runtime.block_on(memory(&base, &whole));
    println!("  memory: {memory}");

    stop.cancel();
    server_runtime.block_on(async {
        let _ = server.await;
        store.close().await;
    });
}

/// What [`fill`] made: the runs to ask for.
struct Fixture {
    /// A matrix job of slipway.yaml with failures, for the filter.
    filter_job: String,
    /// The finished run with the 50 MB log.
    big_run: String,
    /// The running run whose log grows.
    live_run: String,
    filled: Duration,
}

/// Opens the store at `url` and fills it: `count` runs, [`GRID_BUILDS`] builds of results, the
/// run of the big log and a running run. Returns the store, the fixture and how long each part
/// took.
async fn fill(url: &str, count: usize, log: &Path, live_log: &Path) -> (Store, Fixture, String) {
    let started = Instant::now();
    let store = Store::open(url).await.expect("open the store");
    let runs = generated_runs(count);
    insert_runs(url, &runs).await;
    let runs_took = started.elapsed();

    let results_started = Instant::now();
    for build in 0..GRID_BUILDS {
        let (build, tests) = grid_build(build);
        store.replace_build(&build, &tests, EPOCH).await.expect("store a build");
    }
    let results_took = results_started.elapsed();

    let newest = EPOCH + count as i64 * 300;
    let mut big = bench_run("big-log-run", "ci-kubernetes-e2e-big", newest - 7_200, RunState::Failure);
    big.log_path = log.display().to_string();
    // Its build directory is the log's, local, as a run of `slipway serve` on one machine has
    // (a bucket's listing would be a network round trip in every view of the page).
    let build_directory = log.parent().expect("the log's directory");
    big.artifacts = build_directory.display().to_string();
    fs_err::write(
        build_directory.join("finished.json"),
        r#"{"timestamp":1767225600,"passed":false,"result":"FAILURE"}"#,
    )
    .expect("write finished.json");
    fs_err::create_dir_all(build_directory.join("artifacts")).expect("create the artifacts directory");
    fs_err::write(build_directory.join("artifacts/junit_01.xml"), "<testsuite tests=\"0\"></testsuite>\n")
        .expect("write a JUnit file");
    big.exit_code = Some(1);
    big.description = "exit 1: 4 tests failed".to_owned();
    store.insert_run(&big).await.expect("insert the run of the big log");
    fs_err::create_dir_all(live_log.parent().expect("a parent")).expect("create the live log's directory");
    fs_err::write(live_log, "I0101 00:00:00.000000       1 main.go:1] starting\n").expect("write the live log");
    let mut live = bench_run("live-run", "ci-kubernetes-e2e-live", newest - 60, RunState::Running);
    live.log_path = live_log.display().to_string();
    store.insert_run(&live).await.expect("insert the running run");

    let fixture = Fixture { filter_job: job_name(7).0, big_run: big.id, live_run: live.id, filled: started.elapsed() };
    let parts = format!("runs {} s, results {} s", format_seconds(runs_took), format_seconds(results_took));
    (store, fixture, parts)
}

/// How long the store's own reads behind the pages take, one at a time (what of a page's time
/// is the database's).
async fn store_alone(store: &Store, filter_job: &str) -> String {
    use slipway_store::runs::Filter;
    let newest = Filter { limit: 50, ..Filter::default() };
    let failures =
        Filter { job: Some(filter_job.to_owned()), state: Some(RunState::Failure), limit: 50, ..Filter::default() };
    let mut times = Vec::new();
    for filter in [&newest, &failures] {
        let began = Instant::now();
        let runs = store.list_runs(filter).await.expect("list runs");
        assert!(!runs.is_empty(), "runs are listed");
        times.push(began.elapsed());
    }
    let began = Instant::now();
    let builds = store.builds(GRID_JOB, GRID_BUILDS as u32).await.expect("builds");
    for build in &builds {
        store.build_tests(GRID_JOB, &build.build_id).await.expect("tests");
    }
    times.push(began.elapsed());
    let milliseconds = |duration: Duration| duration.as_secs_f64() * 1e3;
    format!(
        "the store alone: the newest 50 runs {:.1} ms, a job's failures {:.1} ms, the grid's {} reads {:.1} ms",
        milliseconds(times[0]),
        milliseconds(times[1]),
        builds.len() + 1,
        milliseconds(times[2])
    )
}

/// splitmix64: deterministic figures from a seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const JOBS: usize = 150;
const VARIANTS: [&str; 3] = ["stable-1.33", "stable-1.34", "latest"];

/// Job `index`'s base name and whether it has a matrix (every fourth job, from job 3).
fn job_name(index: usize) -> (String, bool) {
    const KINDS: [&str; 6] = ["e2e-gce", "e2e-kind", "unit", "integration", "conformance", "node-e2e"];
    let name = format!("ci-kubernetes-{}-{index:03}", KINDS[index % KINDS.len()]);
    (name, index % 4 == 3)
}

fn bench_run(id: &str, job: &str, created: i64, state: RunState) -> Run {
    Run {
        id: id.to_owned(),
        job: job.to_owned(),
        base_job: job.to_owned(),
        build_id: (1_900_000_000_000_000_000 + created).to_string(),
        variant: String::new(),
        trigger: Trigger::Schedule,
        state,
        due_at: Some(created),
        created_at: created,
        started_at: Some(created + 2),
        finished_at: state.is_finished().then_some(created + 3_600),
        heartbeat_at: created + 3_600,
        exit_code: None,
        description: "running".to_owned(),
        executor: "podman".to_owned(),
        owner_host: "ci-1".to_owned(),
        owner_pid: 4242,
        artifacts: format!("gs://kubernetes-ci-logs/logs/{job}/{}", 1_900_000_000_000_000_000 + created),
        log_path: String::new(),
        revision: "8f3e2c1d0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e".to_owned(),
    }
}

/// `count` runs, five minutes apart, of [`JOBS`] jobs; the newest few still running.
fn generated_runs(count: usize) -> Vec<Run> {
    (0..count)
        .map(|index| {
            let hash = mix(index as u64);
            let (base_job, matrix) = job_name((hash % JOBS as u64) as usize);
            let variant = if matrix { VARIANTS[(hash >> 20) as usize % VARIANTS.len()] } else { "" };
            let job =
                if variant.is_empty() { base_job.clone() } else { format!("{base_job}-{}", variant.replace('.', "-")) };
            let created = EPOCH + index as i64 * 300;
            let state = if index + 20 >= count {
                RunState::Running
            } else {
                match (hash >> 8) % 100 {
                    0..82 => RunState::Success,
                    82..93 => RunState::Failure,
                    93..96 => RunState::Error,
                    96..99 => RunState::Aborted,
                    _ => RunState::Pending,
                }
            };
            let mut run = bench_run(&format!("{hash:016x}-{index:06}"), &job, created, state);
            run.base_job = base_job;
            run.variant = variant.to_owned();
            run.trigger = if hash.is_multiple_of(10) { Trigger::Manual } else { Trigger::Schedule };
            if state == RunState::Pending {
                run.started_at = None;
            }
            let took = 60 + (hash >> 32) as i64 % 5_400;
            run.finished_at = state.is_finished().then_some(created + 2 + took);
            run.heartbeat_at = run.finished_at.unwrap_or(created + 2);
            (run.exit_code, run.description) = match state {
                RunState::Success => (Some(0), "exit 0".to_owned()),
                RunState::Failure => {
                    (Some(1), format!("exit 1: {} tests failed; see the build log", 1 + (hash >> 40) % 9))
                }
                RunState::Error => (None, "could not pull gcr.io/k8s-staging-test-infra/kubekins-e2e".to_owned()),
                RunState::Aborted => (None, "aborted: a newer run of the same job started".to_owned()),
                RunState::Running => (None, "running".to_owned()),
                RunState::Pending => (None, "waiting for a gce-project lease".to_owned()),
            };
            run
        })
        .collect()
}

/// Inserts `runs` in bulk: each chunk is one statement of a JSON array taken apart by the
/// database (one `insert_run` per run, each its own transaction, would take minutes here).
async fn insert_runs(url: &str, runs: &[Run]) {
    // (column, field of the run's JSON, is a number)
    const COLUMNS: [(&str, &str, bool); 20] = [
        ("id", "id", false),
        ("job", "job", false),
        ("base_job", "base_job", false),
        ("build_id", "build_id", false),
        ("variant", "variant", false),
        ("trigger_kind", "trigger", false),
        ("state", "state", false),
        ("due_at", "due_at", true),
        ("created_at", "created_at", true),
        ("started_at", "started_at", true),
        ("finished_at", "finished_at", true),
        ("heartbeat_at", "heartbeat_at", true),
        ("exit_code", "exit_code", true),
        ("description", "description", false),
        ("executor", "executor", false),
        ("owner_host", "owner_host", false),
        ("owner_pid", "owner_pid", true),
        ("artifacts", "artifacts", false),
        ("log_path", "log_path", false),
        ("revision", "revision", false),
    ];
    sqlx::any::install_default_drivers();
    let sqlite = url.starts_with("sqlite:");
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await.expect("connect");
    let columns: Vec<&str> = COLUMNS.iter().map(|(column, _, _)| *column).collect();
    let values: Vec<String> = COLUMNS
        .iter()
        .map(|(_, field, number)| match (sqlite, number) {
            (true, _) => format!("value ->> '{field}'"),
            (false, true) => format!("(value ->> '{field}')::BIGINT"),
            (false, false) => format!("value ->> '{field}'"),
        })
        .collect();
    let source = if sqlite { "json_each($1)" } else { "json_array_elements($1::json) AS elements (value)" };
    let sql = format!("INSERT INTO runs ({}) SELECT {} FROM {source}", columns.join(", "), values.join(", "));
    for chunk in runs.chunks(5_000) {
        let rows = serde_json::to_string(chunk).expect("runs serialize");
        sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(rows).execute(&pool).await.expect("insert runs");
    }
    let stored: i64 =
        sqlx::query("SELECT COUNT(*) FROM runs").fetch_one(&pool).await.expect("count").try_get(0).expect("a count");
    assert_eq!(stored, runs.len() as i64, "every run is stored");
    if !sqlite {
        // A PostgreSQL server that has run a while has vacuumed and has statistics (autovacuum):
        // without this, autovacuum would do it during the first scenarios.
        sqlx::raw_sql("VACUUM ANALYZE").execute(&pool).await.expect("vacuum");
    }
    pool.close().await;
}

/// Build `index` (0 oldest) of [`GRID_JOB`]: [`GRID_TESTS`] tests, most passing, some skipped,
/// flaky or failing, and a few failing over a stretch of builds.
fn grid_build(index: usize) -> (Build, Vec<TestResult>) {
    const SIGS: [&str; 8] = ["node", "network", "storage", "apps", "auth", "cli", "scheduling", "api-machinery"];
    const WHAT: [&str; 6] = [
        "should be able to schedule pods with resource limits",
        "should serve endpoints on same port and different protocols",
        "should provision storage with mount options",
        "should run a job to completion when tasks succeed",
        "should support rolling-update to same image",
        "should be able to change the type from ExternalName to ClusterIP",
    ];
    let started = EPOCH + index as i64 * 7_200;
    let tests = (0..GRID_TESTS)
        .map(|test| {
            let hash = mix((index * GRID_TESTS + test) as u64 ^ 0x5eed);
            let broken_stretch = test % 37 == 5 && (40..55).contains(&index);
            let status = if broken_stretch {
                Status::Fail
            } else {
                match hash % 100 {
                    0..90 => Status::Pass,
                    90..95 => Status::Skip,
                    95..97 => Status::Flaky,
                    _ => Status::Fail,
                }
            };
            let message = match status {
                Status::Pass => None,
                Status::Skip => Some("skipped: requires at least 2 nodes (not -1)".to_owned()),
                Status::Flaky | Status::Fail => Some(format!(
                    "test/e2e/{sig}/framework.go:{line}: timed out waiting for the condition on pods \
                     e2e-{test}-{hash:x}: expected 3 running, got 2 after 5m0s",
                    sig = SIGS[test % SIGS.len()],
                    line = 100 + hash % 900,
                    hash = hash >> 40,
                )),
            };
            let (runs, passes) = match status {
                Status::Pass => (1, 1),
                Status::Skip => (0, 0),
                Status::Flaky => (2, 1),
                Status::Fail => (1, 0),
            };
            TestResult {
                name: format!(
                    "Kubernetes e2e suite.[It] [sig-{}] {} {} [{test:03}]",
                    SIGS[test % SIGS.len()],
                    if test % 5 == 0 { "[Conformance]" } else { "[Feature:Bench]" },
                    WHAT[test % WHAT.len()]
                ),
                status,
                duration_ms: Some(200 + hash % 90_000),
                runs,
                passes,
                message,
            }
        })
        .collect::<Vec<_>>();
    let passed = tests.iter().all(|test| matches!(test.status, Status::Pass | Status::Skip | Status::Flaky));
    let build_id = (1_800_000_000_000_000_000_u64 + index as u64 * 7_200).to_string();
    let build = Build {
        job: GRID_JOB.to_owned(),
        build_id: build_id.clone(),
        started: Some(started),
        finished: Some(started + 4_000),
        passed: Some(passed),
        version: Some(format!("v1.36.0-alpha.{}+{:012x}", index / 10, mix(index as u64) >> 16)),
        source: format!("gs://kubernetes-ci-logs/logs/{GRID_JOB}/{build_id}"),
    };
    (build, tests)
}

/// Writes a build log of about `size` bytes: klog lines, test steps, and now and then a
/// failing line.
fn write_log(path: &Path, size: usize) {
    fs_err::create_dir_all(path.parent().expect("a parent")).expect("create the log's directory");
    let mut file = std::io::BufWriter::new(fs_err::File::create(path).expect("create the log"));
    let mut written = 0;
    let mut line = 0_u64;
    while written < size {
        let hash = mix(line);
        let (second, micros) = (line / 100, hash % 1_000_000);
        let stamp = format!("{:02}:{:02}:{:02}.{micros:06}", (second / 3600) % 24, (second / 60) % 60, second % 60);
        let text = match hash % 1_000 {
            0 => format!("--- FAIL: TestVolumeProvisioning/{line} ({}.{:02}s)\n", hash % 90, hash % 100),
            1 => format!(
                "E0314 {stamp}   31337 reflector.go:{}] error: failed to list *v1.Pod: connection refused\n",
                hash % 500
            ),
            2 => format!("[FAILED] Timed out after 300.001s. Expected pod \"e2e-{line}\" to be running\n"),
            3..=120 => format!("STEP: Creating a pod to test consume secrets {line:08} @ {stamp}\n"),
            _ => format!(
                "I0314 {stamp}   31337 pods.go:{}] Pod \"pod-{:x}\" in namespace \"e2e-tests-{}\" is Running \
                 (ready: true, took {}.{:03}s)\n",
                100 + hash % 900,
                hash >> 44,
                line % 97,
                hash % 10,
                hash % 1_000
            ),
        };
        file.write_all(text.as_bytes()).expect("write the log");
        written += text.len();
        line += 1;
    }
    file.flush().expect("flush the log");
}

/// What a load of one path did.
struct Figures {
    requests: u64,
    errors: u64,
    bytes: u64,
    elapsed: Duration,
    /// Sorted.
    latencies: Vec<Duration>,
    /// The share of this process's CPU time that the load generator's threads used.
    generator_share: f64,
}

impl Figures {
    /// The `q` quantile (nearest rank).
    fn at(&self, q: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies.get(index).copied().unwrap_or_default()
    }

    fn line(&self, what: &str, clients: usize) -> String {
        let milliseconds = |duration: Duration| duration.as_secs_f64() * 1e3;
        format!(
            "{what:<30} {clients:>7} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6} {:>7.0}%",
            self.requests,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            milliseconds(self.at(0.5)),
            milliseconds(self.at(0.99)),
            milliseconds(self.latencies.last().copied().unwrap_or_default()),
            self.errors,
            self.generator_share * 100.0
        )
    }
}

/// `clients` closed-loop clients, each on a keep-alive connection of its own, asking for `path`
/// until `duration` has passed; the requests under way then are finished and counted. A
/// latency is from sending the request to the last byte of the answer; an error is a transport
/// failure or an answer other than 2xx.
async fn load(base: &str, path: &str, clients: usize, duration: Duration) -> Figures {
    let cpu_before = cpu_times();
    let started = Instant::now();
    let deadline = started + duration;
    let errors = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let url = format!("{base}{path}");
        let (errors, bytes) = (errors.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            let http = client();
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let began = Instant::now();
                match http.get(&url).send().await {
                    Ok(mut response) => {
                        let ok = response.status().is_success();
                        let mut received = 0;
                        loop {
                            match response.chunk().await {
                                Ok(Some(chunk)) => received += chunk.len() as u64,
                                Ok(None) => break,
                                Err(_) => {
                                    errors.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                            }
                        }
                        bytes.fetch_add(received, Ordering::Relaxed);
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.push(began.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a client"));
    }
    let elapsed = started.elapsed();
    let cpu_after = cpu_times();
    latencies.sort();
    let total = cpu_after.0.saturating_sub(cpu_before.0).max(1);
    Figures {
        generator_share: cpu_after.1.saturating_sub(cpu_before.1) as f64 / total as f64,
        requests: latencies.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        bytes: bytes.load(Ordering::Relaxed),
        elapsed,
        latencies,
    }
}

fn client() -> reqwest::Client {
    // As a browser asks: it takes gzip (the grid's pages are sent gzipped to who takes it).
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ACCEPT_ENCODING, reqwest::header::HeaderValue::from_static("gzip"));
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// One GET: its status and body size.
async fn fetch(url: &str) -> (u16, usize) {
    let response = client().get(url).send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("a body").len())
}

/// The live tail: a writer appends a numbered line to the running run's log at irregular
/// times while a poller does what `/live.js` does (wait 500 ms after each answer, then ask for
/// the log from where the last answer ended); each line's delay is from its append to the
/// answer that carries it. With `background`, [`CLIENTS`] clients load that path meanwhile.
async fn live_tail(
    base: &str,
    path: &str,
    log: &Path,
    duration: Duration,
    background: Option<&str>,
) -> Vec<Option<Duration>> {
    let appended: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let writing = Arc::new(AtomicBool::new(true));
    let loading = background.map(|background| {
        let (base, background) = (base.to_owned(), background.to_owned());
        tokio::spawn(async move { load(&base, &background, CLIENTS, duration).await })
    });
    let writer = {
        let (appended, writing, log) = (appended.clone(), writing.clone(), log.to_path_buf());
        tokio::spawn(async move {
            let deadline = Instant::now() + duration;
            let mut number = 0;
            while Instant::now() < deadline {
                // 150 to 650 ms apart, so appends fall everywhere in the poll's cycle.
                tokio::time::sleep(Duration::from_millis(150 + mix(number ^ 0x7a11) % 500)).await;
                number += 1;
                let line = format!("I0314 12:00:00.000000   31337 live.go:1] live line {number} of the tail\n");
                append(&log, &line, number, &appended);
            }
            writing.store(false, Ordering::SeqCst);
            number
        })
    };
    let http = client();
    let url = format!("{base}{path}");
    let mut next = fs_err::metadata(log).expect("the live log").len();
    let mut seen: HashMap<u64, Duration> = HashMap::new();
    // Polls go on a little after the last append, so it is seen.
    let mut last_poll = None;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if !writing.load(Ordering::SeqCst) {
            let after = last_poll.get_or_insert_with(|| Instant::now() + Duration::from_secs(2));
            if Instant::now() > *after {
                break;
            }
        }
        let Ok(response) = http.get(format!("{url}?from={next}")).send().await else { continue };
        let Ok(answer) = response.json::<serde_json::Value>().await else { continue };
        let arrived = Instant::now();
        for line in answer["text"].as_str().unwrap_or_default().lines() {
            let number = line.split("live line ").nth(1).and_then(|rest| rest.split(' ').next());
            if let Some(number) = number.and_then(|number| number.parse::<u64>().ok())
                && let Some(at) = appended.lock().expect("lock").get(&number)
            {
                seen.insert(number, arrived - *at);
            }
        }
        next = answer["next"].as_u64().unwrap_or(next);
    }
    let written = writer.await.expect("the writer");
    if let Some(loading) = loading {
        loading.await.expect("the background load");
    }
    (1..=written).map(|number| seen.get(&number).copied()).collect()
}

fn append(log: &Path, line: &str, number: u64, appended: &Mutex<HashMap<u64, Instant>>) {
    let mut file = fs_err::OpenOptions::new().append(true).open(log).expect("open the live log");
    appended.lock().expect("lock").insert(number, Instant::now());
    file.write_all(line.as_bytes()).expect("append to the live log");
}

fn tail_line(delays: &[Option<Duration>]) -> String {
    let missing = delays.iter().filter(|delay| delay.is_none()).count();
    let mut seen: Vec<Duration> = delays.iter().flatten().copied().collect();
    seen.sort();
    let Some(max) = seen.last().copied() else { return format!("no line of {} arrived", delays.len()) };
    let median = seen[seen.len() / 2];
    let verdict = if missing == 0 && max < TARGET_TAIL { "meets" } else { "misses" };
    format!(
        "{} lines, median {:.0} ms, max {:.0} ms after the append{}; target 1 s: {verdict}",
        delays.len(),
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        if missing > 0 { format!(", {missing} never arrived") } else { String::new() }
    )
}

/// The resident set of this process (server and clients) while [`MEMORY_CLIENTS`] clients
/// download the whole log at once: before, and its peak meanwhile (the kernel's high-water mark,
/// reset first, and samples every 5 ms where it cannot be reset).
async fn memory(base: &str, path: &str) -> String {
    let reset = fs_err::write("/proc/self/clear_refs", "5").is_ok();
    let (before, _) = resident();
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(Ordering::SeqCst) {
                peak = peak.max(resident().0);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let started = Instant::now();
    let mut downloads = Vec::new();
    for _ in 0..MEMORY_CLIENTS {
        let url = format!("{base}{path}");
        downloads.push(tokio::spawn(async move {
            let mut response = client().get(&url).send().await.expect("the log");
            let mut received = 0;
            while let Some(chunk) = response.chunk().await.expect("a chunk") {
                received += chunk.len();
            }
            received
        }));
    }
    let mut served = 0;
    for download in downloads {
        served += download.await.expect("a download");
    }
    let took = started.elapsed();
    sampling.store(false, Ordering::SeqCst);
    let sampled = sampler.await.expect("the sampler");
    let (_, high_water) = resident();
    let peak = if reset { sampled.max(high_water) } else { sampled };
    format!(
        "{MEMORY_CLIENTS} × the 50 MB log at once ({:.0} MB in {} s): RSS {:.1} MB before, peak {:.1} MB, \
         growth {:.1} MB ({}); flat: {}",
        served as f64 / 1e6,
        format_seconds(took),
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0,
        if reset { "kernel high-water mark" } else { "sampled every 5 ms" },
        // Loading the log whole would cost 50 MB a client.
        if peak.saturating_sub(before) < 50 * 1024 { "yes" } else { "no" }
    )
}

/// CPU time (user and system, in clock ticks) of this whole process and of its load
/// generator's threads.
fn cpu_times() -> (u64, u64) {
    // The fields after the command name (which may hold spaces): utime and stime are the 12th
    // and 13th.
    fn ticks(stat: &str) -> u64 {
        let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        let field = |index: usize| fields.get(index).and_then(|text| text.parse::<u64>().ok()).unwrap_or(0);
        field(11) + field(12)
    }
    let process = ticks(&fs_err::read_to_string("/proc/self/stat").unwrap_or_default());
    let mut generator = 0;
    for task in fs_err::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let name = fs_err::read_to_string(task.path().join("comm")).unwrap_or_default();
        if name.trim_end() == CLIENT_THREAD {
            generator += ticks(&fs_err::read_to_string(task.path().join("stat")).unwrap_or_default());
        }
    }
    (process, generator)
}

/// (VmRSS, VmHWM) of this process, in KiB.
fn resident() -> (u64, u64) {
    let status = fs_err::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn wrk_installed() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// `wrk -t2 -c50 --latency` on `url` for `duration`: its p50, p99, requests/s and non-2xx.
fn wrk(url: &str, duration: Duration) -> String {
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{CLIENTS}"), &format!("-d{}s", duration.as_secs()), "--timeout", "30s", "--latency"])
        .args(["-H", "Accept-Encoding: gzip"])
        .arg(url)
        .output();
    let Ok(output) = output else { return "wrk: did not run".to_owned() };
    let text = String::from_utf8_lossy(&output.stdout);
    let find = |prefix: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .map_or_else(|| "?".to_owned(), |rest| rest.trim().to_owned())
    };
    let non_2xx = find("Non-2xx or 3xx responses:");
    let requests = text.lines().find_map(|line| line.trim().split_once(" requests in ")).map(|(count, _)| count.trim());
    if requests.is_none_or(|count| count == "0") {
        return format!("wrk -c{CLIENTS}: no request completed in {} s", duration.as_secs());
    }
    format!(
        "wrk -c{CLIENTS}: p50 {}, p99 {}, {} req/s, non-2xx {}",
        find("50%"),
        find("99%"),
        find("Requests/sec:"),
        if non_2xx == "?" { "0".to_owned() } else { non_2xx }
    )
}

/// Drops the bench's PostgreSQL database (its URL is `postgres://USER@HOST:PORT/NAME`).
fn drop_database(address: &str, url: &str) {
    let name = url.rsplit('/').next().unwrap_or_default();
    let (host, port) = address.rsplit_once(':').unwrap_or((address, "5432"));
    let dropped = Command::new("psql")
        .args(["-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-qc"])
        .arg(format!("DROP DATABASE IF EXISTS {name}"))
        .output()
        .is_ok_and(|output| output.status.success());
    if !dropped {
        eprintln!("could not drop the database {name}");
    }
}

fn format_seconds(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64())
}

fn thousands(number: usize) -> String {
    let digits = number.to_string();
    let mut text = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}
