//! The server on a loopback port over a real SQLite store: pages, escaping, the API, its
//! OpenAPI document, health and metrics.

use std::path::Path;

use slipway_core::results::{Build, Status, TestResult};
use slipway_server::{CHANGES, CONTENT_SECURITY_POLICY, OPENAPI, ROUTES, Server};
use slipway_store::{Run, RunState, Store, Trigger};
use tokio_util::sync::CancellationToken;

const HOSTILE: &str = "<script>alert('pwned')</script>";

fn run(id: &str, job: &str, created: i64, state: RunState, artifacts: &Path) -> Run {
    Run {
        id: id.to_owned(),
        job: job.to_owned(),
        base_job: job.to_owned(),
        build_id: created.to_string(),
        variant: String::new(),
        trigger: Trigger::Schedule,
        state,
        due_at: None,
        created_at: created,
        started_at: Some(created),
        finished_at: (state != RunState::Running).then_some(created + 75),
        heartbeat_at: created,
        exit_code: (state == RunState::Failure).then_some(1),
        description: format!("exit 1 {HOSTILE}"),
        executor: "local".to_owned(),
        owner_host: "here".to_owned(),
        owner_pid: 1,
        artifacts: artifacts.display().to_string(),
        log_path: String::new(),
        revision: String::new(),
    }
}

/// A store of 60 runs of `unit` (the newest failed, with a log) and one running `e2e` run,
/// served on a loopback port; returns the base URL.
async fn serve(directory: &Path) -> (String, CancellationToken) {
    serve_with(directory, None, None).await
}

/// The jobs `unit` (hourly) and `e2e` (by hand, a matrix); records what was started.
#[derive(Default)]
struct FakeActions {
    started: std::sync::Mutex<Vec<String>>,
}

impl slipway_server::Actions for FakeActions {
    fn jobs(&self) -> Vec<slipway_server::JobInfo> {
        vec![
            slipway_server::JobInfo {
                name: "unit".to_owned(),
                schedule: Some("every 1h".to_owned()),
                next: None,
                matrix: Vec::new(),
                runs: "make test".to_owned(),
            },
            slipway_server::JobInfo {
                name: "e2e".to_owned(),
                schedule: None,
                next: None,
                matrix: vec!["stable-1.35".to_owned(), "<b>ci</b>".to_owned()],
                runs: "in registry.k8s.io/e2e".to_owned(),
            },
        ]
    }

    fn run_now(&self, job: &str) -> Result<(), String> {
        if self.jobs().iter().any(|known| known.name == job) {
            self.started.lock().expect("lock").push(job.to_owned());
            Ok(())
        } else {
            Err(format!("no job named `{job}`"))
        }
    }
}

/// [`serve`] with a token and jobs.
async fn serve_with(
    directory: &Path,
    token: Option<&str>,
    actions: Option<std::sync::Arc<FakeActions>>,
) -> (String, CancellationToken) {
    let ci = slipway_results::dashboard::DashboardSection {
        name: "ci".to_owned(),
        tabs: vec![slipway_results::dashboard::TabSection { job: "ci-node-e2e".to_owned(), ..Default::default() }],
    };
    let dashboards = slipway_results::dashboard::assemble(&[ci], &[]).expect("valid");
    serve_full(directory, token, actions, dashboards).await
}

/// [`serve_with`] and dashboards.
async fn serve_full(
    directory: &Path,
    token: Option<&str>,
    actions: Option<std::sync::Arc<FakeActions>>,
    dashboards: Vec<slipway_results::dashboard::Dashboard>,
) -> (String, CancellationToken) {
    let store = Store::open(&format!("sqlite:{}", directory.join("state.db").display())).await.expect("store");
    let artifacts = directory.join("artifacts/unit/1060");
    fs_err::create_dir_all(&artifacts).expect("mkdir");
    let mut log = String::new();
    for line in 0..5000 {
        log.push_str(&format!("I1203 12:00:00 step {line} fine\n"));
    }
    log.push_str(&format!("--- FAIL: TestThing {HOSTILE}\npanic: boom\n"));
    fs_err::write(artifacts.join("build-log.txt"), &log).expect("write");
    fs_err::create_dir_all(artifacts.join("artifacts")).expect("mkdir");
    fs_err::write(artifacts.join("artifacts/report.html"), format!("<html>{HOSTILE}</html>")).expect("write");
    fs_err::write(artifacts.join("artifacts/dump.tar.gz"), [0x1f, 0x8b, 0, 1, 2]).expect("write");
    fs_err::write(artifacts.join("finished.json"), "{\"passed\": false}").expect("write");
    for index in 0..60 {
        let state = if index == 59 { RunState::Failure } else { RunState::Success };
        let created = 1_764_000_000 + index;
        let mut unit = run(&format!("unit-{index}"), "unit", created, state, &directory.join("none"));
        if index == 59 {
            unit.artifacts = artifacts.display().to_string();
            unit.variant = "stable-1.35".to_owned();
            unit.trigger = Trigger::Manual;
        }
        store.insert_run(&unit).await.expect("insert");
    }
    store
        .insert_run(&run("e2e-1", "e2e", 1_764_000_100, RunState::Running, &directory.join("none")))
        .await
        .expect("insert");
    // Test results of a Prow job: three builds, a failing test, and a hostile name.
    for (number, fails) in [(101, false), (102, true), (103, true)] {
        let build = Build {
            job: "ci-node-e2e".to_owned(),
            build_id: number.to_string(),
            started: Some(1_764_000_000 + number * 3600),
            finished: Some(1_764_000_000 + number * 3600 + 600),
            passed: Some(!fails),
            version: Some(format!("v1.36.0-{number}")),
            source: format!("gs://kubernetes-ci-logs/logs/ci-node-e2e/{number}"),
        };
        let test = |name: &str, status: Status, message: Option<&str>| TestResult {
            name: name.to_owned(),
            status,
            duration_ms: Some(1500),
            runs: 1,
            passes: u32::from(status == Status::Pass),
            message: message.map(str::to_owned),
        };
        let probe = if fails { Status::Fail } else { Status::Pass };
        let tests = vec![
            test("Pods should run", Status::Pass, None),
            test("Probes should restart", probe, fails.then_some("timed out <script>x</script>")),
            test(HOSTILE, Status::Pass, None),
        ];
        store.replace_build(&build, &tests, 1_764_500_000).await.expect("results");
    }
    // unit-59's JUnit results: one failure with hostile text, one flaky test, one pass.
    let unit_build = Build {
        job: "unit".to_owned(),
        build_id: "1764000059".to_owned(),
        started: Some(1_764_000_059),
        finished: Some(1_764_000_134),
        passed: Some(false),
        version: None,
        source: artifacts.display().to_string(),
    };
    let result = |name: &str, status: Status, message: Option<&str>| TestResult {
        name: name.to_owned(),
        status,
        duration_ms: Some(20),
        runs: if status == Status::Flaky { 2 } else { 1 },
        passes: u32::from(status != Status::Fail),
        message: message.map(str::to_owned),
    };
    let unit_tests = vec![
        result("TestParse", Status::Pass, None),
        result("TestRetry", Status::Flaky, Some("first try: connection refused")),
        result(&format!("TestRender {HOSTILE}"), Status::Fail, Some(&format!("want 1, got 2 {HOSTILE}"))),
    ];
    store.replace_build(&unit_build, &unit_tests, 1_764_500_000).await.expect("results");
    // Two leasable projects; one held by a job, its userdata holding a secret.
    let create = |name: &str| slipway_store::leases::Change::Create {
        name: name.to_owned(),
        kind: "gce-project".to_owned(),
        state: "free".to_owned(),
        dynamic: false,
    };
    store.lease_apply(&[create("proj-1"), create("proj-2")], 1).await.expect("resources");
    let now = jiff_now();
    let acquire = slipway_store::leases::Acquire {
        kind: "gce-project",
        state: "free",
        dest: "busy",
        owner: "<b>e2e</b>",
        request_id: "",
        now,
        ttl: 60_000_000_000,
        on_demand: None,
    };
    store.lease_acquire(&acquire).await.expect("acquired");
    let secret = std::collections::BTreeMap::from([("token".to_owned(), "s3cr3t".to_owned())]);
    store.lease_update("proj-1", "<b>e2e</b>", "busy", &secret, now).await.expect("update").expect("held");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let stop = CancellationToken::new();
    let mut server = Server::new(store, token.map(str::to_owned)).with_dashboards(dashboards);
    if let Some(actions) = actions {
        server = server.with_actions(actions);
    }
    tokio::spawn(server.serve(listener, stop.clone()));
    (format!("http://{address}"), stop)
}

/// Now, in nanoseconds (the lease tables' unit).
fn jiff_now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_nanos())
        .expect("fits")
}

async fn get(url: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let response = reqwest::get(url).await.expect("answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.expect("a body"), headers)
}

fn assert_no_script(html: &str) {
    assert!(!html.to_lowercase().contains("<script"), "a script element: {html}");
}

#[tokio::test]
async fn the_runs_page_lists_filters_and_pages_with_everything_escaped() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    let (status, html, headers) = get(&format!("{base}/runs")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-security-policy"], CONTENT_SECURITY_POLICY);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_no_script(&html);
    assert!(html.contains("exit 1 &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"), "{html}");
    assert_eq!(html.matches("<tr><td class=\"state").count(), 50, "a page of 50");
    // Newest first: the running e2e run, then unit's newest.
    let first = html.find("e2e-1").expect("the e2e run");
    assert!(first < html.find("unit-59").expect("unit's newest"));
    assert!(html.contains("rel=\"next\" href=\"/runs?page=2\""), "{html}");
    let (_, second, _) = get(&format!("{base}/runs?page=2")).await;
    assert_eq!(second.matches("<tr><td class=\"state").count(), 11);
    assert!(second.contains("rel=\"prev\""));
    let (_, failed, _) = get(&format!("{base}/runs?state=failure")).await;
    assert_eq!(failed.matches("<tr><td class=\"state").count(), 1);
    assert!(failed.contains("<option selected>failure</option>"));
    let (_, e2e, _) = get(&format!("{base}/runs?job=e2e")).await;
    assert_eq!(e2e.matches("<tr><td class=\"state").count(), 1);
    let (status, message, _) = get(&format!("{base}/runs?state=nope")).await;
    assert_eq!((status, message.starts_with("unknown state `nope`")), (400, true), "{message}");
    let (status, html, _) = get(&format!("{base}/nowhere")).await;
    assert_eq!(status, 404);
    assert!(html.contains("There is no page here."));
    stop.cancel();
}

#[tokio::test]
async fn a_run_page_shows_its_metadata_and_the_tail_of_its_log_escaped_with_failures_marked() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    let (status, html, _) = get(&format!("{base}/runs/unit-59")).await;
    assert_eq!(status, 200);
    assert_no_script(&html);
    assert!(html.contains("<span id=\"state\" class=\"state state-failure\">failure</span> unit"), "{html}");
    assert!(html.contains("<dt>Exit code</dt><dd>1</dd>"));
    assert!(html.contains("<dt>Took</dt><dd>1m 15s</dd>"));
    assert!(html.contains("<span class=\"bad\">--- FAIL: TestThing &lt;script&gt;"), "{html}");
    assert!(html.contains("<span class=\"bad\">panic: boom</span>"));
    assert!(html.contains("the whole log</a>"), "a log over 64 KiB is cut");
    assert!(!html.contains("step 0 fine"), "only the tail");
    assert!(!html.contains("<script"), "a finished run's page has no script");
    let (_, running, _) = get(&format!("{base}/runs/e2e-1")).await;
    assert!(running.contains("<script src=\"/live.js\" defer></script>"), "a running run's log is live: {running}");
    assert!(running.contains("<pre class=\"log\" id=\"log\" data-run=\"e2e-1\" data-next=\"0\"></pre>"), "{running}");
    let (status, log, headers) = get(&format!("{base}/runs/unit-59/log")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert!(log.starts_with("I1203 12:00:00 step 0 fine\n") && log.ends_with("panic: boom\n"));
    let (status, _, _) = get(&format!("{base}/runs/nope")).await;
    assert_eq!(status, 404);
    stop.cancel();
}

#[tokio::test]
async fn a_run_page_shows_its_test_results_and_its_files_which_download_safely() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    let (status, html, _) = get(&format!("{base}/runs/unit-59")).await;
    assert_eq!(status, 200);
    assert_no_script(&html);
    assert!(html.contains("3 tests: <span class=\"state state-failure\">1 failed</span>"), "{html}");
    // Failures first, their text escaped and folded; then the flaky one.
    let failed = html.find("TestRender &lt;script&gt;").expect("the failure");
    assert!(failed < html.find("TestRetry").expect("the flaky test"));
    assert!(html.contains("<pre>want 1, got 2 &lt;script&gt;"), "{html}");
    assert!(!html.contains("TestParse"), "passing tests are only counted");
    assert!(html.contains("<a href=\"/grid/unit\">its tests</a>"), "a link to the job's grid");
    for file in ["artifacts/dump.tar.gz", "artifacts/report.html", "build-log.txt", "finished.json"] {
        assert!(html.contains(&format!("<a href=\"/runs/unit-59/artifacts/{file}\">{file}</a>")), "{file}: {html}");
    }
    // An HTML artifact is text here, never a page of this site; an archive is an attachment.
    let (status, report, headers) = get(&format!("{base}/runs/unit-59/artifacts/artifacts/report.html")).await;
    assert_eq!((status, report.as_str()), (200, format!("<html>{HOSTILE}</html>").as_str()));
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["content-security-policy"], CONTENT_SECURITY_POLICY);
    let (status, _, headers) = get(&format!("{base}/runs/unit-59/artifacts/artifacts/dump.tar.gz")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-disposition"], "attachment; filename=\"dump.tar.gz\"");
    assert_eq!(headers["content-length"], "5");
    let (status, _, headers) = get(&format!("{base}/runs/unit-59/artifacts/finished.json?download=1")).await;
    assert_eq!((status, &headers["content-type"]), (200, &"application/json".parse().expect("a value")));
    assert!(headers.contains_key("content-disposition"));
    // Nothing outside the build directory.
    let (status, _, _) = get(&format!("{base}/runs/unit-59/artifacts/..%2F..%2Fstate.db")).await;
    assert_eq!(status, 400);
    let (status, _, _) = get(&format!("{base}/runs/unit-59/artifacts/nope.txt")).await;
    assert_eq!(status, 404);
    // The API has both.
    let tests: serde_json::Value =
        reqwest::get(format!("{base}/api/v1/runs/unit-59/tests")).await.expect("answered").json().await.expect("JSON");
    assert_eq!(tests["schema"], "slipway.api.tests/v1");
    assert_eq!(tests["tests"].as_array().map(Vec::len), Some(3));
    let files: serde_json::Value = reqwest::get(format!("{base}/api/v1/runs/unit-59/artifacts"))
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(files["files"][0]["path"], "artifacts/dump.tar.gz");
    assert_eq!(files["files"][0]["size"], 5);
    assert_eq!(files["files"][0]["url"], "/runs/unit-59/artifacts/artifacts/dump.tar.gz");
    // Runs filter by trigger and matrix entry too.
    let (_, manual, _) = get(&format!("{base}/runs?trigger=manual")).await;
    assert_eq!(manual.matches("<tr><td class=\"state").count(), 1, "{manual}");
    let (_, entry, _) = get(&format!("{base}/runs?matrix=stable-1.35")).await;
    assert!(entry.contains("unit-59") && entry.matches("<tr><td class=\"state").count() == 1, "{entry}");
    assert_eq!(get(&format!("{base}/runs?trigger=cron")).await.0, 400);
    stop.cancel();
}

#[tokio::test]
async fn the_api_answers_what_the_pages_show_and_its_document_lists_its_routes() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    let runs: serde_json::Value =
        reqwest::get(format!("{base}/api/v1/runs?state=failure")).await.expect("answered").json().await.expect("JSON");
    assert_eq!(runs["schema"], "slipway.api.runs/v1");
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(runs["runs"][0]["description"], format!("exit 1 {HOSTILE}"), "JSON carries the text as it is");
    let run: serde_json::Value =
        reqwest::get(format!("{base}/api/v1/runs/e2e-1")).await.expect("answered").json().await.expect("JSON");
    assert_eq!((run["schema"].as_str(), run["run"]["state"].as_str()), (Some("slipway.api.run/v1"), Some("running")));
    let missing = reqwest::get(format!("{base}/api/v1/runs/nope")).await.expect("answered");
    assert_eq!(missing.status().as_u16(), 404);
    let missing: serde_json::Value = missing.json().await.expect("JSON");
    assert_eq!(missing["error"], "no run `nope`");
    let bad = reqwest::get(format!("{base}/api/v1/runs?state=nope")).await.expect("answered");
    assert_eq!(bad.status().as_u16(), 400);
    // Every error of the API is JSON, even one the query string's parser makes.
    for query in ["state=failure&state=success", "page=99999999999", "page=-1"] {
        let bad = reqwest::get(format!("{base}/api/v1/runs?{query}")).await.expect("answered");
        assert_eq!(bad.status().as_u16(), 400, "{query}");
        let body: serde_json::Value = bad.json().await.unwrap_or_else(|error| panic!("{query}: not JSON: {error}"));
        assert!(body["error"].as_str().is_some_and(|text| !text.is_empty()), "{query}: {body}");
    }
    let html = reqwest::get(format!("{base}/runs?page=-1")).await.expect("answered");
    assert_eq!(html.status().as_u16(), 400);
    assert!(
        html.headers()["content-type"].to_str().is_ok_and(|kind| kind.starts_with("text/plain")),
        "pages keep text"
    );

    let served: serde_json::Value =
        reqwest::get(format!("{base}/api/v1/openapi.json")).await.expect("answered").json().await.expect("JSON");
    let document: serde_json::Value = serde_json::from_str(OPENAPI).expect("the document is JSON");
    assert_eq!(served, document);
    let mut documented: Vec<&str> = document["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
    documented.sort_unstable();
    let mut routed: Vec<&str> =
        ROUTES.iter().chain(&CHANGES).map(|(path, _)| *path).filter(|path| path.starts_with("/api/")).collect();
    routed.dedup();
    routed.sort_unstable();
    assert_eq!(documented, routed, "the OpenAPI document and the router agree");
    // Every route answers (with an id that exists where there is one).
    for (path, _) in ROUTES {
        let path = path.replace("/builds/{job}/{build}", "/builds/unit/1764000059");
        let path = path.replace("{*path}", "build-log.txt").replace("{name}", "ci");
        let url = format!("{base}{}", path.replace("{id}", "unit-59").replace("{job}", "ci-node-e2e"));
        let status = reqwest::get(&url).await.expect("answered").status().as_u16();
        assert_eq!(status, 200, "{url}");
    }
    stop.cancel();
}

#[tokio::test]
async fn health_and_metrics() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    assert_eq!(get(&format!("{base}/healthz")).await.1, "OK");
    assert_eq!(get(&format!("{base}/healthz/ready")).await.1, "OK");
    let _ = get(&format!("{base}/runs")).await;
    let (status, metrics, headers) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().expect("ASCII").starts_with("text/plain; version=0.0.4"));
    assert!(metrics.contains("slipway_runs{job=\"unit\",state=\"failure\"} 1\n"), "{metrics}");
    assert!(metrics.contains("slipway_runs{job=\"unit\",state=\"success\"} 59\n"), "{metrics}");
    assert!(metrics.contains("slipway_runs{job=\"e2e\",state=\"running\"} 1\n"), "{metrics}");
    assert!(metrics.contains("slipway_leases{type=\"gce-project\",state=\"busy\"} 1\n"), "{metrics}");
    assert!(metrics.contains("slipway_leases{type=\"gce-project\",state=\"free\"} 1\n"), "{metrics}");
    assert!(
        metrics.contains("slipway_http_request_duration_seconds_count{route=\"/runs\",code=\"2xx\"} 1\n"),
        "{metrics}"
    );
    stop.cancel();
}

#[tokio::test]
async fn the_grid_shows_a_jobs_tests_by_build_and_its_filter_runs_in_chromium_under_the_policy() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    let (status, jobs, _) = get(&format!("{base}/grid")).await;
    assert_eq!(status, 200);
    assert!(jobs.contains("<a href=\"/grid/ci-node-e2e\">ci-node-e2e</a>"), "{jobs}");
    let (status, html, _) = get(&format!("{base}/grid/ci-node-e2e")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<script src=\"/grid.js\" defer></script>"), "the filter, as a file");
    assert_eq!(html.matches("<script").count(), 1, "no other script: {html}");
    assert!(!html.contains("<style"), "no inline style");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;") || html.contains("&lt;script&gt;alert("),
        "{html}"
    );
    assert_eq!(get(&format!("{base}/grid/nope")).await.0, 404);
    // Every build's cells link to its run (or its evidence); the job's status is above.
    assert!(html.contains("<a href=\"/builds/ci-node-e2e/103\">"), "{html}");
    assert!(
        html.contains("<span class=\"status FLAKY\">FLAKY</span> 1 of the 3 most recent builds passed; 0 open alerts"),
        "{html}"
    );
    let (_, script, headers) = get(&format!("{base}/grid.js")).await;
    assert!(headers["content-type"].to_str().expect("ASCII").starts_with("text/javascript"));
    assert!(script.contains("getElementById(\"filter\")"));

    // In a browser, under the server's Content Security Policy, the filter script runs (it
    // counts the rows it shows) and the hostile name stays text.
    let url = format!("{base}/grid/ci-node-e2e?filter=probes");
    let dom = tokio::task::spawn_blocking(move || slipway_test::browser::dump_dom(&url)).await.expect("chromium");
    assert!(dom.contains("<span id=\"shown\">1 of 3 tests</span>"), "the script ran: {dom}");
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");
    // Screenshots, kept as test artifacts in target/tmp/screenshots.
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    fs_err::create_dir_all(&shots).expect("mkdir");
    for (name, path) in [
        ("runs", "/runs"),
        ("run", "/runs/unit-59"),
        ("grid", "/grid/ci-node-e2e"),
        ("dashboard", "/dashboards/ci"),
        ("clusters", "/clusters?days=0"),
        ("leases", "/leases"),
        ("releases", "/releases"),
    ] {
        let (url, shot) = (format!("{base}{path}"), shots.join(format!("{name}.png")));
        tokio::task::spawn_blocking(move || slipway_test::browser::screenshot(&url, &shot, 1200, 800))
            .await
            .expect("screenshot");
    }
    stop.cancel();
}

#[tokio::test]
async fn a_grid_is_made_again_when_its_results_change_and_sent_gzipped_to_who_takes_it() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    let (_, first, _) = get(&format!("{base}/grid/ci-node-e2e")).await;
    assert!(first.contains("3 builds, newest first") && !first.contains("v1.36.0-104"), "{first}");
    // A new build ingested meanwhile (by another process on the same store) shows at once.
    let store = Store::open(&format!("sqlite:{}", directory.path().join("state.db").display())).await.expect("store");
    let build = Build {
        job: "ci-node-e2e".to_owned(),
        build_id: "104".to_owned(),
        started: Some(1_764_000_000 + 104 * 3600),
        finished: None,
        passed: Some(true),
        version: Some("v1.36.0-104".to_owned()),
        source: String::new(),
    };
    let pass = TestResult {
        name: "Pods should run".to_owned(),
        status: Status::Pass,
        duration_ms: None,
        runs: 1,
        passes: 1,
        message: None,
    };
    store.replace_build(&build, &[pass], 1_764_600_000).await.expect("results");
    let (_, second, _) = get(&format!("{base}/grid/ci-node-e2e")).await;
    assert!(second.contains("4 builds, newest first") && second.contains("v1.36.0-104"), "{second}");
    let zipped = reqwest::Client::new()
        .get(format!("{base}/grid/ci-node-e2e"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("answered");
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["content-security-policy"], CONTENT_SECURITY_POLICY);
    let bytes = zipped.bytes().await.expect("a body");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip stream");
    stop.cancel();
}

#[tokio::test]
async fn dashboards_show_each_tabs_status_alerts_and_grid() {
    use slipway_results::dashboard::{DashboardSection, TabSection, assemble};
    let directory = tempfile::tempdir().expect("temporary directory");
    let section = DashboardSection {
        name: "sig-node <b>".to_owned(),
        tabs: vec![
            TabSection {
                name: Some("node e2e".to_owned()),
                job: "ci-node-e2e".to_owned(),
                num_failures_to_alert: Some(2),
                alert_email: Some("sig-node@example.com".to_owned()),
                ..TabSection::default()
            },
            TabSection { job: "unit".to_owned(), ..TabSection::default() },
            TabSection { job: "not-run-yet".to_owned(), ..TabSection::default() },
        ],
    };
    let annotations = vec![(
        "ci-kind".to_owned(),
        std::collections::BTreeMap::from([("testgrid-dashboards".to_owned(), "kind-ci".to_owned())]),
    )];
    let dashboards = assemble(&[section], &annotations).expect("valid");
    let (base, stop) = serve_full(directory.path(), None, None, dashboards).await;
    let (status, list, _) = get(&format!("{base}/dashboards")).await;
    assert_eq!(status, 200);
    assert!(list.contains("<a href=\"/dashboards/sig-node%20%3Cb%3E\">sig-node &lt;b&gt;</a>"), "{list}");
    assert!(list.contains("<a href=\"/dashboards/kind-ci\">kind-ci</a>"), "annotations make dashboards: {list}");
    let (status, html, _) = get(&format!("{base}/dashboards/sig-node%20%3Cb%3E")).await;
    assert_eq!(status, 200);
    assert_no_script_but_the_grids(&html);
    // Two failures in a row alert at this tab's threshold of 2: FAILING, and where it is mailed.
    assert!(html.contains("<td class=\"status FAILING\">FAILING</td>"), "{html}");
    assert!(html.contains("Alerts mailed to sig-node@example.com"), "{html}");
    assert!(html.contains("alert: Probes should restart failed 2 builds in a row"), "{html}");
    assert!(html.contains("<td class=\"status UNKNOWN\">UNKNOWN</td>"), "a job without results: {html}");
    assert!(html.contains("<a href=\"/builds/ci-node-e2e/103\">"), "cells lead to runs: {html}");
    assert_eq!(get(&format!("{base}/dashboards/nope")).await.0, 404);
    let api: serde_json::Value =
        reqwest::get(format!("{base}/api/v1/dashboards/kind-ci")).await.expect("answered").json().await.expect("JSON");
    assert_eq!(api["schema"], "slipway.results.dashboard/v1");
    assert_eq!(api["tabs"][0]["job"], "ci-kind");
    assert_eq!(api["tabs"][0]["status"], "UNKNOWN");
    let listed: serde_json::Value =
        reqwest::get(format!("{base}/api/v1/dashboards")).await.expect("answered").json().await.expect("JSON");
    assert_eq!(listed["dashboards"].as_array().map(Vec::len), Some(2));
    stop.cancel();
}

fn assert_no_script_but_the_grids(html: &str) {
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains("<script src=\"/grid.js\" defer></script>"), "{html}");
    assert!(!html.contains("<style"), "no inline style: {html}");
}

#[tokio::test]
async fn leases_show_type_state_owner_and_never_userdata() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    let (status, html, _) = get(&format!("{base}/leases")).await;
    assert_eq!(status, 200);
    assert_no_script(&html);
    assert!(
        html.contains(
            "<td>gce-project</td><td>proj-1</td><td class=\"state\">busy</td><td>&lt;b&gt;e2e&lt;/b&gt;</td>"
        ),
        "{html}"
    );
    assert!(html.contains("<td>proj-2</td><td class=\"state\">free</td><td>–</td>"), "{html}");
    let (_, json, _) = get(&format!("{base}/api/v1/leases")).await;
    assert!(!html.contains("s3cr3t") && !json.contains("s3cr3t"), "userdata never shown");
    let leases: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(leases["schema"], "slipway.api.leases/v1");
    assert_eq!(leases["resources"][0]["owner"], "<b>e2e</b>");
    assert_eq!(leases["resources"][0]["type"], "gce-project");

    // A held resource is taken back from the page: to dirty, with the owner the page showed.
    let client = no_redirects();
    let csrf = csrf_of(&html);
    let stale = client
        .post(format!("{base}/leases/proj-1/release"))
        .form(&[("csrf", csrf.as_str()), ("owner", "someone-else"), ("dest", "dirty")])
        .send()
        .await
        .expect("answered");
    assert_eq!(stale.status().as_u16(), 409, "a page that shows another owner releases nothing");
    assert!(stale.text().await.expect("text").contains("it is held by `<b>e2e</b>` now"));
    let forged = client
        .post(format!("{base}/leases/proj-1/release"))
        .form(&[("csrf", "forged"), ("owner", "<b>e2e</b>"), ("dest", "dirty")])
        .send()
        .await
        .expect("answered");
    assert_eq!(forged.status().as_u16(), 403);
    let released = client
        .post(format!("{base}/leases/proj-1/release"))
        .form(&[("csrf", csrf.as_str()), ("owner", "<b>e2e</b>"), ("dest", "dirty")])
        .send()
        .await
        .expect("answered");
    assert_eq!(released.status().as_u16(), 303);
    let (_, html, _) = get(&format!("{base}/leases")).await;
    assert!(html.contains("<td>proj-1</td><td class=\"state\">dirty</td><td>–</td>"), "{html}");
    stop.cancel();
}

#[tokio::test]
async fn a_running_runs_log_grows_on_its_page_in_chromium() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    // The running e2e run's live log: lines keep coming while the page is open.
    let store = Store::open(&format!("sqlite:{}", directory.path().join("state.db").display())).await.expect("store");
    let log = directory.path().join("e2e-live.log");
    fs_err::write(&log, "line 0 <b>started</b>\n").expect("write");
    let mut running = store.find_run("e2e-1").await.expect("find").expect("the run");
    running.id = "e2e-2".to_owned();
    running.build_id = "1764000200".to_owned();
    running.created_at += 100;
    running.log_path = log.display().to_string();
    store.insert_run(&running).await.expect("insert");

    // The API gives what the log gained since an offset, to a line end.
    let more: serde_json::Value = reqwest::get(format!("{base}/api/v1/runs/e2e-2/log?from=0"))
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        (more["text"].as_str(), more["next"].as_u64(), more["running"].as_bool()),
        (Some("line 0 <b>started</b>\n"), Some(22), Some(true))
    );
    fs_err::write(&log, "line 0 <b>started</b>\nline 1 and a half").expect("write");
    let more: serde_json::Value = reqwest::get(format!("{base}/api/v1/runs/e2e-2/log?from=22"))
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        (more["text"].as_str(), more["next"].as_u64()),
        (Some(""), Some(22)),
        "a partial line waits for its end"
    );

    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new().append(true).open(&log).expect("open");
            writeln!(file).expect("write");
            for line in 2..120 {
                writeln!(file, "line {line} Error: <i>appended</i>").expect("write");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        })
    };
    let url = format!("{base}/runs/e2e-2");
    let dom = tokio::task::spawn_blocking(move || slipway_test::browser::dump_dom(&url)).await.expect("chromium");
    writer.join().expect("the writer");
    let appended: Vec<&str> = dom.matches("<span class=\"appended bad\">line ").collect();
    assert!(!appended.is_empty(), "lines were appended by the live tail: {dom}");
    assert!(dom.contains("Error: &lt;i&gt;appended&lt;/i&gt;"), "appended as text, never as markup: {dom}");
    assert!(!dom.contains("<i>appended</i>"));
    stop.cancel();
}

#[tokio::test]
async fn clusters_group_the_stored_failures_and_link_their_builds() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let (base, stop) = serve(directory.path()).await;
    let (status, html, _) = get(&format!("{base}/clusters?days=0&job=ci-node-e2e")).await;
    assert_eq!(status, 200);
    assert_no_script(&html);
    assert!(html.contains("2 failures of 1 tests in 1 clusters"), "{html}");
    assert!(html.contains("timed out &lt;script&gt;x&lt;/script&gt;"), "{html}");
    assert!(html.contains("<a href=\"/builds/ci-node-e2e/103\">103</a>"), "{html}");
    assert!(html.contains("Probes should restart (2)"), "{html}");
    let (_, recent, _) = get(&format!("{base}/clusters")).await;
    assert!(recent.contains("0 failures"), "the default window is a week: {recent}");
    // A build slipway did not run leads to its evidence on the web; one it ran to its run.
    let elsewhere = no_redirects().get(format!("{base}/builds/ci-node-e2e/103")).send().await.expect("answered");
    assert_eq!(elsewhere.status().as_u16(), 303);
    assert_eq!(
        elsewhere.headers()["location"],
        "https://storage.googleapis.com/kubernetes-ci-logs/logs/ci-node-e2e/103/build-log.txt"
    );
    let (status, missing, _) = get(&format!("{base}/builds/ci-node-e2e/999")).await;
    assert_eq!(status, 404);
    assert!(missing.contains("its results came from elsewhere"));
    let (status, run, _) = get(&format!("{base}/builds/unit/1764000059")).await;
    assert_eq!(status, 200);
    assert!(run.contains("state-failure"), "{run}");
    let clusters: serde_json::Value = reqwest::get(format!("{base}/api/v1/clusters?days=0&job=ci-node-e2e"))
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(clusters["schema"], "slipway.api.clusters/v1");
    assert_eq!(clusters["clusters"]["clusters"][0]["failures"], 2);
    // Both builds started on 2025-11-28 (UTC).
    assert_eq!(clusters["clusters"]["clusters"][0]["days_hit"], serde_json::json!({ "2025-11-28": 2 }));
    stop.cancel();
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client")
}

/// The CSRF field of the first "run now" form of a page.
fn csrf_of(html: &str) -> String {
    let pattern = regex::Regex::new(r#"name="csrf" value="([0-9a-f]+)""#).expect("regex");
    pattern.captures(html).map(|found| found[1].to_owned()).unwrap_or_else(|| panic!("no form: {html}"))
}

#[tokio::test]
async fn run_now_on_loopback_needs_no_token_but_a_form_from_this_server() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let actions = std::sync::Arc::new(FakeActions::default());
    let (base, stop) = serve_with(directory.path(), None, Some(actions.clone())).await;
    let (status, html, _) = get(&format!("{base}/jobs")).await;
    assert_eq!(status, 200);
    assert!(html.contains("every 1h") && html.contains("by hand"), "{html}");
    assert!(html.contains("stable-1.35, &lt;b&gt;ci&lt;/b&gt;"), "{html}");
    assert!(html.contains("state-failure"), "the newest run of unit: {html}");
    let csrf = csrf_of(&html);
    let client = no_redirects();
    let post = |path: &str, form: Vec<(&'static str, String)>| client.post(format!("{base}{path}")).form(&form);
    let answer = post("/jobs/unit/run", vec![("csrf", csrf.clone())]).send().await.expect("answered");
    assert_eq!(answer.status().as_u16(), 303);
    assert_eq!(answer.headers()["location"], "/runs?job=unit");
    let refused = post("/jobs/unit/run", vec![("csrf", "0".repeat(64))]).send().await.expect("answered");
    assert_eq!(refused.status().as_u16(), 403, "a forged form");
    let cross = post("/jobs/unit/run", vec![("csrf", csrf.clone())])
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("answered");
    assert_eq!(cross.status().as_u16(), 403, "another site's page");
    let origin = post("/jobs/unit/run", vec![("csrf", csrf)])
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("answered");
    assert_eq!(origin.status().as_u16(), 403);
    let api = client.post(format!("{base}/api/v1/jobs/e2e/run")).send().await.expect("answered");
    assert_eq!(api.status().as_u16(), 202);
    let unknown = client.post(format!("{base}/api/v1/jobs/nope/run")).send().await.expect("answered");
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(*actions.started.lock().expect("lock"), ["unit", "e2e"]);
    let jobs: serde_json::Value =
        reqwest::get(format!("{base}/api/v1/jobs")).await.expect("answered").json().await.expect("JSON");
    assert_eq!(jobs["jobs"][1]["matrix"][1], "<b>ci</b>");
    stop.cancel();
}

#[tokio::test]
async fn with_a_token_changes_need_it_or_a_signed_in_session_and_its_form() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let actions = std::sync::Arc::new(FakeActions::default());
    let (base, stop) = serve_with(directory.path(), Some("s3cret"), Some(actions.clone())).await;
    let (_, html, _) = get(&format!("{base}/jobs")).await;
    assert!(html.contains("<a href=\"/login\">Sign in</a>") && !html.contains("name=\"csrf\""), "{html}");
    let client = no_redirects();
    let api = |token: Option<&str>| {
        let request = client.post(format!("{base}/api/v1/jobs/unit/run"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    };
    let without = api(None).send().await.expect("answered");
    assert_eq!(without.status().as_u16(), 401);
    assert_eq!(without.headers()["www-authenticate"], "Bearer");
    assert_eq!(api(Some("wrong")).send().await.expect("answered").status().as_u16(), 401);
    let cross = api(Some("s3cret")).header("sec-fetch-site", "cross-site").send().await.expect("answered");
    assert_eq!(cross.status().as_u16(), 403, "another site, even with the token");
    assert_eq!(api(Some("s3cret")).send().await.expect("answered").status().as_u16(), 202);
    // A form without a session is refused, whatever its field.
    let anonymous = client.post(format!("{base}/jobs/unit/run")).form(&[("csrf", "x")]).send().await.expect("answered");
    assert_eq!(anonymous.status().as_u16(), 403);
    let wrong = client.post(format!("{base}/login")).form(&[("token", "nope")]).send().await.expect("answered");
    assert_eq!(wrong.status().as_u16(), 403);
    let login = client.post(format!("{base}/login")).form(&[("token", "s3cret")]).send().await.expect("answered");
    assert_eq!(login.status().as_u16(), 303);
    let cookie = login.headers()["set-cookie"].to_str().expect("ASCII").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().expect("name=value").to_owned();
    let page = client.get(format!("{base}/jobs")).header("cookie", &session).send().await.expect("answered");
    let csrf = csrf_of(&page.text().await.expect("a page"));
    let run = client
        .post(format!("{base}/jobs/e2e/run"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("answered");
    assert_eq!(run.status().as_u16(), 303);
    assert_eq!(*actions.started.lock().expect("lock"), ["unit", "e2e"]);
    stop.cancel();
}
