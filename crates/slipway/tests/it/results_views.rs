//! `slipway results grid|flakes|alerts` end to end: a fixed history written into a real SQLite
//! store, the binary's whole output snapshotted, the HTML page opened in headless Chromium, and
//! the webhook POSTed to a local HTTP server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use slipway_core::results::{Build, Status, TestResult};
use slipway_store::Store;

use crate::support::{Run, json, slipway};

const CRIO: &str = "ci-crio-node-e2e";
const KOPS: &str = "ci-kops-e2e";
const PULL: &str = "E2eNode Suite.[It] [sig-node] Container Runtime blackbox test when running a container with a new image should be able to pull image [NodeConformance]";
const PODS: &str = "E2eNode Suite.[It] [sig-node] Pods should be submitted and removed [NodeConformance]";
const PROBE: &str = "E2eNode Suite.[It] [sig-node] Probing container should be restarted with a exec \"cat /tmp/health\" liveness probe";
const STATS: &str =
    "E2eNode Suite.[It] [sig-node] Summary API [NodeConformance] should report resource usage through the stats api";
const EVIL: &str = "E2eNode Suite.[It] <script>document.title=\"pwned\"</script> names are escaped";
const DNS: &str = "Kubernetes e2e suite.[It] [sig-network] DNS should provide DNS for services [Conformance]";
const CSI: &str = "Kubernetes e2e suite.[It] [sig-storage] CSI mock volume should expand volume";

const PULL_FAILURE: &str = "[FAILED] failed to pull image \"registry.k8s.io/e2e-test-images/nginx:1.25\": rpc error: code = Unknown desc = context deadline exceeded\nIn [It] at: test/e2e_node/image_pull_test.go:123";
const PROBE_FAILURE: &str =
    "[FAILED] pod should have a restart count of 1 but got 0\nIn [It] at: test/e2e_node/probe_test.go:88";

/// 2026-11-02 01:30Z: the evening run of 2026-11-01 in US Eastern time.
const FIRST_START: i64 = 1_793_583_000;

fn result(name: &str, letter: char, message: Option<&str>) -> Option<TestResult> {
    let (status, runs, passes) = match letter {
        'P' => (Status::Pass, 1, 1),
        'F' => (Status::Fail, 1, 0),
        'K' => (Status::Flaky, 2, 1),
        'S' => (Status::Skip, 1, 1),
        _ => return None,
    };
    let message = match status {
        Status::Skip => Some("skipped - the stats API is not served on this node"),
        Status::Pass => None,
        _ => message,
    };
    Some(TestResult {
        name: name.to_owned(),
        status,
        duration_ms: Some(12_500),
        runs,
        passes,
        message: message.map(str::to_owned),
    })
}

/// One job's builds, oldest first: `(build id, passed, tests as (name, letter, message))`.
type Builds<'a> = Vec<(&'a str, bool, Vec<(&'a str, char, Option<&'a str>)>)>;

fn builds(job: &str, offset: i64, builds: Builds<'_>) -> Vec<(Build, Vec<TestResult>)> {
    builds
        .into_iter()
        .enumerate()
        .map(|(index, (id, passed, tests))| {
            let started = FIRST_START + offset + i64::try_from(index).expect("small") * 86_400;
            let build = Build {
                job: job.to_owned(),
                build_id: id.to_owned(),
                started: Some(started),
                finished: Some(started + 3_000),
                passed: Some(passed),
                version: Some(format!("v1.35.0-alpha.{}", index + 1)),
                source: format!("gs://kubernetes-ci-logs/logs/{job}/{id}"),
            };
            let tests = tests.into_iter().filter_map(|(name, letter, message)| result(name, letter, message)).collect();
            (build, tests)
        })
        .collect()
}

/// The fixed history: CRI-O's node e2e broke three builds ago (an image pull), one probe test
/// flakes, and kops' e2e has a flaky CSI test and a build that failed outside its tests.
fn history() -> Vec<(Build, Vec<TestResult>)> {
    let timeout = Some("timeout");
    let pull = Some(PULL_FAILURE);
    let probe = Some(PROBE_FAILURE);
    let mut all = builds(
        CRIO,
        0,
        vec![
            ("8101", true, vec![(PULL, 'P', None), (PODS, 'P', None), (PROBE, 'F', timeout), (STATS, 'S', None)]),
            ("8102", true, vec![(PULL, 'P', None), (PODS, 'P', None), (PROBE, 'P', None), (STATS, 'S', None)]),
            (
                "8103",
                true,
                vec![(PULL, 'P', None), (PODS, 'P', None), (PROBE, 'K', probe), (STATS, 'S', None), (EVIL, 'P', None)],
            ),
            ("8104", false, vec![(PULL, 'F', pull), (PODS, 'P', None), (PROBE, 'P', None), (EVIL, 'P', None)]),
            (
                "8105",
                false,
                vec![(PULL, 'F', pull), (PODS, 'P', None), (PROBE, 'F', probe), (STATS, 'S', None), (EVIL, 'P', None)],
            ),
            (
                "8106",
                false,
                vec![(PULL, 'F', pull), (PODS, 'P', None), (PROBE, 'P', None), (STATS, 'S', None), (EVIL, 'P', None)],
            ),
        ],
    );
    let csi = Some("[FAILED] volume was not expanded within 5m0s");
    all.extend(builds(
        KOPS,
        3_600,
        vec![
            ("9001", false, vec![(DNS, 'P', None), (CSI, 'F', csi)]),
            ("9002", true, vec![(DNS, 'P', None), (CSI, 'P', None)]),
            ("9003", false, vec![(DNS, 'P', None), (CSI, 'F', csi)]),
            ("9004", false, vec![(DNS, 'P', None), (CSI, 'P', None)]),
        ],
    ));
    all
}

/// A temporary directory holding a SQLite store filled with [`history`], and its URL.
fn store() -> (tempfile::TempDir, String) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", directory.path().join("state.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = Store::open(&url).await.expect("open the store");
        for (build, tests) in history() {
            store.replace_build(&build, &tests, 0).await.expect("store a build");
        }
    });
    (directory, url)
}

/// Runs `slipway results ARGS --database-url URL` in `directory`.
fn results(directory: &Path, url: &str, args: &[&str]) -> Run {
    let mut all = vec!["results"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--database-url", url]);
    slipway(directory, &all)
}

#[test]
fn the_grid_in_a_terminal() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["grid", CRIO]);
    insta::assert_snapshot!(run.render(&[]));
}

#[test]
fn the_grid_shows_the_newest_builds_asked_for() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["grid", KOPS, "--builds", "2"]);
    insta::assert_snapshot!(run.render(&[]));
}

#[test]
fn the_grid_as_json_has_one_cell_per_build() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["grid", KOPS, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    let grid = json(&run.stdout);
    assert_eq!(grid["schema"], "slipway.results.grid/v1");
    for row in grid["rows"].as_array().expect("rows") {
        assert_eq!(row["cells"].as_array().map(Vec::len), Some(4), "{row}");
    }
}

#[test]
fn an_unknown_job_is_a_usage_error_that_lists_the_known_ones() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["grid", "ci-crio-node-e2e-typo"]);
    insta::assert_snapshot!(run.render(&[]));
    let run = results(directory.path(), &url, &["alerts", "--job", "nope"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn flakes_of_every_job() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["flakes", "--days", "0"]);
    insta::assert_snapshot!(run.render(&[]));
}

#[test]
fn flakes_as_json() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["flakes", "--days", "0", "--job", CRIO, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn flakes_look_only_at_recent_days() {
    let (directory, url) = store();
    // The history spans six days of November 2026, one build of each job a day: whatever the
    // clock says, a one-day window holds at most two builds of each job.
    let run = results(directory.path(), &url, &["flakes", "--days", "1", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    let builds: u64 = report["jobs"].as_array().expect("jobs").iter().filter_map(|job| job["builds"].as_u64()).sum();
    assert!(builds <= 4, "a day holds at most two builds of each job here: {report}");
    let all = json(&results(directory.path(), &url, &["flakes", "--days", "0", "--format", "json"]).stdout);
    assert_eq!(all["jobs"][0]["builds"].as_u64().zip(all["jobs"][1]["builds"].as_u64()), Some((6, 4)));
    assert!(report["since"].is_i64());
}

#[test]
fn alerts_fire_for_the_broken_job_and_its_broken_test() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["alerts"]);
    insta::assert_snapshot!(run.render(&[]));
    assert_eq!(run.code, 1);
}

#[test]
fn alerts_as_json() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["alerts", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn no_open_alert_exits_zero() {
    let (directory, url) = store();
    let run = results(directory.path(), &url, &["alerts", "--job", KOPS]);
    insta::assert_snapshot!(run.render(&[]));
    let run = results(directory.path(), &url, &["alerts", "--failures", "0"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let run = results(directory.path(), &url, &["alerts", "--failures", "4"]);
    assert_eq!(run.code, 0, "three failures do not reach four: {}", run.stdout);
}

#[test]
fn alert_thresholds_come_from_slipway_yaml_and_flags_override_them() {
    let (directory, url) = store();
    fs_err::write(directory.path().join("slipway.yaml"), "results:\n  alerts:\n    failures: 4\n").expect("write");
    let run = results(directory.path(), &url, &["alerts"]);
    assert_eq!(run.code, 0, "three failures do not reach the configured four: {}", run.stdout);
    assert!(run.stdout.contains("an alert opens after 4 failing builds"), "{}", run.stdout);
    let run = results(directory.path(), &url, &["alerts", "--failures", "3"]);
    assert_eq!(run.code, 1, "the flag wins: {}", run.stdout);
    fs_err::write(directory.path().join("slipway.yaml"), "results:\n  alerts:\n    passes: 0\n").expect("write");
    let run = results(directory.path(), &url, &["alerts"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("results.alerts.passes") && run.stderr.contains("line 3"), "{}", run.stderr);
}

#[test]
fn the_help_of_alerts_teaches_the_rule_and_the_exit_codes() {
    let run = slipway(Path::new("."), &["results", "alerts", "--help"]);
    insta::assert_snapshot!(run.render(&[]));
}

/// A request a [`capture`] server received.
struct Request {
    head: String,
    body: Vec<u8>,
}

/// A one-request HTTP server on 127.0.0.1 that answers `status` and hands the request over.
fn capture(status: &'static str) -> (String, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return };
        let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let length = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("read the body");
        let mut stream = stream;
        let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        let _ = sender.send(Request { head, body });
    });
    (format!("http://{address}"), receiver)
}

#[test]
fn the_webhook_gets_the_alerts_as_json_with_slack_text() {
    let (directory, url) = store();
    let (server, requests) = capture("200 OK");
    let hook = format!("{server}/services/T000/B000/secret-token");
    let run = results(directory.path(), &url, &["alerts", "--webhook", &hook]);
    assert_eq!(run.code, 1, "alerts are open: {}", run.stderr);
    assert_eq!(run.stderr, format!("posted 2 alerts to {server}/…\n"));
    let request = requests.recv_timeout(Duration::from_secs(30)).expect("the webhook was called");
    assert!(request.head.starts_with("POST /services/T000/B000/secret-token HTTP/1.1\r\n"), "{}", request.head);
    assert!(request.head.to_ascii_lowercase().contains("content-type: application/json"), "{}", request.head);
    let body = std::str::from_utf8(&request.body).expect("UTF-8");
    assert!(body.starts_with(r#"{"text":"2 alerts open in 1 of 2 jobs"#), "Slack's field comes first: {body}");
    let message = json(body);
    insta::assert_snapshot!(serde_json::to_string_pretty(&message).expect("JSON"));
}

#[test]
fn a_failing_webhook_exits_3_after_printing_the_alerts() {
    let (directory, url) = store();
    let (server, _requests) = capture("500 Internal Server Error");
    let hook = format!("{server}/services/T000/B000/secret-token");
    let run = results(directory.path(), &url, &["alerts", "--webhook", &hook]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stdout.contains("2 alerts open"), "{}", run.stdout);
    assert!(!run.stderr.contains("secret-token"), "the webhook's secret path stays out of logs: {}", run.stderr);
    insta::assert_snapshot!(run.stderr.replace(&server, "http://[SERVER]"));

    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let run = results(directory.path(), &url, &["alerts", "--webhook", &format!("http://{closed}/hook")]);
    assert_eq!(run.code, 3, "nothing listens there: {}", run.stderr);
    let run = results(directory.path(), &url, &["alerts", "--webhook", "hooks.example.com/x"]);
    assert_eq!(run.code, 2, "not a URL: {}", run.stderr);
}

#[test]
fn no_webhook_call_without_an_open_alert() {
    let (directory, url) = store();
    let (server, requests) = capture("200 OK");
    let run = results(directory.path(), &url, &["alerts", "--job", KOPS, "--webhook", &format!("{server}/hook")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(requests.recv_timeout(Duration::from_millis(500)).is_err(), "nothing to tell");
}

/// The DOM of `url` after its scripts ran, from headless Chromium.
fn chromium_dom(url: &str) -> String {
    slipway_test::browser::dump_dom(url)
}

/// The `<tr>` start tags of the test rows, by row name.
fn test_rows(dom: &str) -> Vec<(String, bool)> {
    let pattern = regex::Regex::new(r#"<tr class="test" data-name="([^"]*)"([^>]*)>"#).expect("regex");
    pattern.captures_iter(dom).map(|found| (found[1].to_owned(), found[2].contains("hidden"))).collect()
}

#[test]
fn the_html_grid_in_chromium_filters_rows_and_shows_failures_on_hover() {
    let (directory, url) = store();
    let page = directory.path().join("grid.html");
    let run = results(directory.path(), &url, &["grid", CRIO, "--html", &page.display().to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = fs_err::read_to_string(&page).expect("the page was written");
    for reference in ["src=", "url(", "@import", "<link"] {
        assert!(!html.contains(reference), "the page loads something from elsewhere ({reference})");
    }

    let dom = chromium_dom(&format!("file://{}", page.display()));
    let rows = test_rows(&dom);
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows.iter().all(|(_, hidden)| !hidden), "no filter, nothing hidden: {rows:?}");
    assert!(dom.contains(r#"<span id="shown">5 of 5 tests</span>"#), "the script ran");
    assert!(dom.contains("<title>ci-crio-node-e2e: test results</title>"), "a test name cannot run a script");
    let attributes = regex::Regex::new(r#""[^"]*""#).expect("regex");
    let elements = attributes.replace_all(&dom, "\"\"");
    assert_eq!(elements.matches("<script").count(), 1, "only the page's own script element");
    assert!(dom.contains("&lt;script&gt;document.title="), "the name is shown as text");

    let failing = regex::Regex::new(r#"<td class="fail" title="([^"]*)"><a href="([^"]*)">✗</a></td>"#).expect("regex");
    let hovers: Vec<&str> = failing.captures_iter(&dom).filter_map(|found| found.get(1)).map(|m| m.as_str()).collect();
    // Every failing cell links to its build's log, where the evidence is.
    let links: Vec<&str> = failing.captures_iter(&dom).filter_map(|found| found.get(2)).map(|m| m.as_str()).collect();
    assert!(
        links.contains(&"https://storage.googleapis.com/kubernetes-ci-logs/logs/ci-crio-node-e2e/8106/build-log.txt"),
        "{links:?}"
    );
    assert_eq!(hovers.len(), 3 + 3 + 2, "Overall, the pull test and the probe test: {hovers:?}");
    assert!(
        hovers.iter().any(|hover| hover.starts_with("build 8106: failed in 12.5s\n[FAILED] failed to pull image")),
        "{hovers:?}"
    );
    assert!(hovers.contains(&"build 8104: failed in 50m 0s\n1 test failed"), "{hovers:?}");
    let flaky = regex::Regex::new(r#"<td class="flaky" title="build 8103: flaky: 1 of 2 runs passed[^"]*"><a href="[^"]*/8103/build-log.txt">1/2</a></td>"#)
        .expect("regex");
    assert!(flaky.is_match(&dom), "the flaky cell is marked");

    let dom = chromium_dom(&format!("file://{}?filter=PROBING", page.display()));
    let rows = test_rows(&dom);
    let visible: Vec<&str> = rows.iter().filter(|(_, hidden)| !hidden).map(|(name, _)| name.as_str()).collect();
    assert_eq!(visible.len(), 1, "{rows:?}");
    assert!(visible[0].contains("Probing container"), "{visible:?}");
    assert!(dom.contains(r#"<span id="shown">1 of 5 tests</span>"#));
    assert!(dom.contains(r#"<tr class="overall" data-name="Overall">"#), "the Overall row stays: {dom}");
}

#[test]
fn a_dashboard_shows_several_jobs_from_slipway_yaml_and_testgrid_annotations() {
    let (directory, url) = store();
    fs_err::write(
        directory.path().join("slipway.yaml"),
        format!(
            "results:\n  dashboards:\n  - name: sig-node-cri-o\n    tabs:\n    - {{job: {CRIO}, name: node-e2e, alert_email: sig-node@example.org}}\njobs:\n- name: {KOPS}\n  command: 'true'\n  annotations:\n    testgrid-dashboards: sig-node-cri-o, kops-grid\n    testgrid-tab-name: kops\n    testgrid-num-failures-to-alert: '1'\n"
        ),
    )
    .expect("write");
    let list = results(directory.path(), &url, &["dashboard"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert_eq!(list.stdout, "sig-node-cri-o (2): node-e2e, kops\nkops-grid (1): kops\n");
    let page = directory.path().join("dashboard.html");
    let run = results(directory.path(), &url, &["dashboard", "sig-node-cri-o", "--html", &page.display().to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("dashboard_text", run.stdout);
    let json = results(directory.path(), &url, &["dashboard", "sig-node-cri-o", "--format", "json"]);
    let report = crate::support::json(&json.stdout);
    assert_eq!(report["schema"], "slipway.results.dashboard/v1");
    assert_eq!(report["tabs"][0]["status"], "FAILING", "{report}");
    assert_eq!(report["tabs"][1]["thresholds"]["failures_to_open"], 1, "from testgrid-num-failures-to-alert");

    let dom = chromium_dom(&format!("file://{}?filter=PROBING", page.display()));
    assert!(dom.contains("<title>sig-node-cri-o: dashboard</title>"));
    assert_eq!(dom.matches("<table class=\"grid\"").count(), 2, "one grid per tab");
    assert!(dom.contains("href=\"#tab-1\""), "the summary links to each tab");
    assert!(dom.contains("Alerts mailed to sig-node@example.org"));
    let rows = test_rows(&dom);
    let visible: Vec<&str> = rows.iter().filter(|(_, hidden)| !hidden).map(|(name, _)| name.as_str()).collect();
    assert_eq!(visible.len(), 1, "one filter over every tab: {rows:?}");

    let unknown = results(directory.path(), &url, &["dashboard", "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("no dashboard `nope`; there are: sig-node-cri-o, kops-grid"), "{}", unknown.stderr);
}
