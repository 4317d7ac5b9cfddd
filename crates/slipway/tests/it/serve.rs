//! `slipway serve` as a process: the runs of the project it is started in, its refusals, and
//! SIGTERM.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{json, slipway};

/// `slipway serve` on a free loopback port in `project`, once it answers.
pub(crate) fn start(project: &std::path::Path) -> (std::process::Child, String) {
    start_with(project, &[])
}

/// [`start`] with more arguments.
fn start_with(project: &std::path::Path, args: &[&str]) -> (std::process::Child, String) {
    start_with_env(project, args, &[])
}

/// [`start_with`] and more environment variables.
fn start_with_env(
    project: &std::path::Path,
    args: &[&str],
    environment: &[(String, String)],
) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port();
    let address = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["serve", "--listen", &address])
        .args(args)
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .current_dir(project)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&address).is_err() {
        assert!(Instant::now() < deadline && child.try_wait().ok().flatten().is_none(), "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, address)
}

/// Sends SIGTERM and returns the exit code and stderr.
pub(crate) fn terminate(child: std::process::Child) -> (Option<i32>, String) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("terminate");
    let output = child.wait_with_output().expect("the server stops");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `METHOD path` on `address`, with a JSON body if any: the status and the answer's body.
fn request(address: &str, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    let body = json.unwrap_or_default();
    let kind = if json.is_some() { "Content-Type: application/json\r\n" } else { "" };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// `GET path` on `address`: the status and the body.
pub(crate) fn get(address: &str, path: &str) -> (u16, String) {
    request(address, "GET", path, None)
}

/// `POST path` with a JSON body: the status and the answer's body.
pub(crate) fn post_json(address: &str, path: &str, body: &str) -> (u16, String) {
    request(address, "POST", path, Some(body))
}

/// `POST path` with an empty body: the status and the body.
fn post(address: &str, path: &str) -> (u16, String) {
    request(address, "POST", path, None)
}

#[test]
fn serve_shows_the_projects_runs_and_stops_on_sigterm() {
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(
        project.path().join("slipway.yaml"),
        "jobs:\n- name: hello\n  command: \"echo 'hello <b>world</b>' && echo 'Error: on purpose' && false\"\n",
    )
    .expect("write");
    let run = slipway(project.path(), &["job", "run", "hello"]);
    assert_eq!(run.code, 1, "{}", run.stderr);

    let (child, address) = start(project.path());
    let (status, runs) = get(&address, "/runs");
    assert_eq!(status, 200, "{runs}");
    assert!(runs.contains("<td class=\"state state-failure\">failure</td><td>hello</td>"), "{runs}");
    let link = regex::Regex::new(r#"href="(/runs/[^"]+)""#).expect("regex");
    let page =
        link.captures_iter(&runs).map(|found| found[1].to_owned()).find(|href| href != "/runs").expect("a run link");
    let (status, html) = get(&address, &page);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("hello &lt;b&gt;world&lt;/b&gt;"), "the job's output, escaped: {html}");
    assert!(html.contains("<span class=\"bad\">Error: on purpose</span>"), "{html}");
    assert_eq!(get(&address, "/healthz/ready"), (200, "OK".to_owned()));

    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(&format!("serving http://{address}/runs")), "{stderr}");
    assert!(stderr.contains("note: no job has a schedule"), "{stderr}");
    assert!(stderr.contains("server stopped"), "{stderr}");
}

#[test]
fn serve_schedules_and_sigterm_aborts_running_runs_then_exits_zero() {
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(
        project.path().join("slipway.yaml"),
        "jobs:\n- name: slow\n  command: [sleep, '60']\n  interval: 1h\n",
    )
    .expect("write");
    let (child, address) = start(project.path());
    // A job that never ran starts at once; the API shows it running.
    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        let (status, body) = get(&address, "/api/v1/runs?job=slow&state=running");
        assert_eq!(status, 200, "{body}");
        let runs = json(&body);
        if let Some(run) = runs["runs"].as_array().and_then(|runs| runs.first()).cloned() {
            break run;
        }
        assert!(Instant::now() < deadline, "no scheduled run appeared: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(run["trigger"], "schedule");
    let id = run["id"].as_str().expect("an id").to_owned();
    let (status, page) = get(&address, &format!("/runs/{id}"));
    assert_eq!(status, 200);
    assert!(page.contains("state-running") && page.contains("<script src=\"/live.js\" defer>"), "{page}");

    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("scheduling 1 job(s): slow"), "{stderr}");
    assert!(stderr.contains("stopping: running jobs are stopped and recorded as aborted"), "{stderr}");
    let list = json(&slipway(project.path(), &["runs", "list", "--format", "json"]).stdout);
    assert_eq!(list["runs"][0]["id"], id.as_str());
    assert_eq!(list["runs"][0]["state"], "aborted", "{list}");
}

#[test]
fn serve_refuses_an_open_address_without_a_token_and_bad_input() {
    let project = tempfile::tempdir().expect("temporary directory");
    let open = slipway(project.path(), &["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(open.code, 2, "{}", open.stderr);
    assert!(open.stderr.contains("refusing to serve on 0.0.0.0:0 without a token"), "{}", open.stderr);
    let bad = slipway(project.path(), &["serve", "--listen", "localhost"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--listen `localhost` is not an address"), "{}", bad.stderr);
    fs_err::write(project.path().join("token"), "\n").expect("write");
    let empty = slipway(project.path(), &["serve", "--listen", "0.0.0.0:0", "--token-file", "token"]);
    assert_eq!(empty.code, 2, "{}", empty.stderr);
    assert!(empty.stderr.contains("is empty"), "{}", empty.stderr);
}

#[test]
fn serve_ingests_the_results_of_the_runs_it_starts() {
    let project = tempfile::tempdir().expect("temporary directory");
    let junit = r#"<testsuite name=\"unit\"><testcase name=\"adds\"/><testcase name=\"divides\"><failure message=\"by zero\"/></testcase></testsuite>"#;
    fs_err::write(
        project.path().join("slipway.yaml"),
        format!("jobs:\n- name: unit\n  command: [sh, -c, 'mkdir -p \"$ARTIFACTS\" && echo \"{junit}\" > \"$ARTIFACTS/junit_unit.xml\"']\n  interval: 1h\n"),
    )
    .expect("write");
    let (child, address) = start(project.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    let grid = loop {
        let (status, body) = get(&address, "/grid/unit");
        if status == 200 {
            break body;
        }
        assert!(Instant::now() < deadline, "no results for the run: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(grid.contains("divides") && grid.contains("adds"), "{grid}");
    assert!(grid.contains("by zero"), "the failure's message: {grid}");
    // The run's duration and how late its tick started it are in the metrics (a run of a
    // whole second's precision: in the smallest buckets).
    let (_, metrics) = get(&address, "/metrics");
    assert!(metrics.contains("slipway_run_duration_seconds_count{job=\"unit\",state=\"success\"} 1"), "{metrics}");
    assert!(metrics.contains("slipway_scheduler_lag_seconds_count{} 1"), "{metrics}");
    assert!(metrics.contains("# TYPE slipway_scheduler_lag_seconds histogram"), "{metrics}");
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("ingested 2 test results of unit/"), "{stderr}");
}

/// The runs the API of `address` lists for `job`.
fn runs_of(address: &str, job: &str) -> Vec<serde_json::Value> {
    let (status, body) = get(address, &format!("/api/v1/runs?job={job}"));
    assert_eq!(status, 200, "{body}");
    json(&body)["runs"].as_array().cloned().unwrap_or_default()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_replicas_on_one_postgresql_act_as_one_and_a_killed_ones_runs_are_reaped() {
    let database = slipway_test::postgres::database();
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(
        project.path().join("slipway.yaml"),
        "jobs:\n- name: tick\n  command: [echo, tick]\n  interval: 1h\n- name: long\n  command: [sleep, '120']\n  interval: 1h\n",
    )
    .expect("write");
    let (first, a) = start_with(project.path(), &["--database-url", &database]);
    wait_for("the first replica's runs", || {
        runs_of(&a, "tick").first().is_some_and(|run| run["state"] == "success")
            && runs_of(&a, "long").first().is_some_and(|run| run["state"] == "running")
    });
    let (second, b) = start_with(project.path(), &["--database-url", &database]);
    // The second replica sees the first one's runs, live, and starts no tick of its own.
    let long = runs_of(&b, "long");
    assert_eq!((long.len(), long[0]["state"].as_str()), (1, Some("running")), "{long:?}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs_of(&b, "tick").len(), 1, "each tick starts once across replicas");
    assert_eq!(runs_of(&a, "long").len(), 1);

    // kill -9 the first: the second records its run as lost (what its owner left is stopped).
    let mut first = first;
    first.kill().expect("kill -9");
    let _ = first.wait();
    wait_for("the killed replica's run to be reaped", || {
        runs_of(&b, "long").first().is_some_and(|run| run["state"] == "error")
    });
    let reaped = &runs_of(&b, "long")[0];
    assert!(
        reaped["description"].as_str().is_some_and(|text| text.contains("stopped before the run finished")),
        "{reaped}"
    );
    let (code, stderr) = terminate(second);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("was left running by a slipway that is gone"), "{stderr}");
}

#[test]
fn run_now_through_the_api_starts_a_real_run() {
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(project.path().join("slipway.yaml"), "jobs:\n- name: hello\n  command: [echo, hello]\n")
        .expect("write");
    let (child, address) = start(project.path());
    let (status, answer) = post(&address, "/api/v1/jobs/hello/run");
    assert_eq!(status, 202, "{answer}");
    wait_for("the run to finish", || runs_of(&address, "hello").first().is_some_and(|run| run["state"] == "success"));
    assert_eq!(runs_of(&address, "hello")[0]["trigger"], "manual");
    let (status, jobs) = get(&address, "/jobs");
    assert_eq!(status, 200);
    assert!(jobs.contains("state-success") && jobs.contains("Run now"), "{jobs}");
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn serve_serves_the_lease_api_when_the_project_has_resources() {
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(project.path().join("slipway.yaml"), "jobs:\n- name: hello\n  command: [echo, hello]\n")
        .expect("write");
    fs_err::write(
        project.path().join("resources.yaml"),
        "resources:\n- type: gce-project\n  names: [proj-1, proj-2]\n",
    )
    .expect("write");
    let (child, address) = start(project.path());
    let lease = |args: &[&str]| {
        let (verb, rest) = args.split_first().expect("a verb");
        let mut all = vec!["lease", verb, "--server", &address, "--owner", "job-a"];
        all.extend_from_slice(rest);
        slipway(project.path(), &all)
    };
    let taken = lease(&["acquire", "--type", "gce-project"]);
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let name = json(&taken.stdout)["name"].as_str().expect("a name").to_owned();
    let (status, page) = get(&address, "/leases");
    assert_eq!(status, 200);
    assert!(page.contains(&name) && page.contains("job-a"), "the UI shows the lease: {page}");
    let (status, api) = get(&address, "/api/v1/leases");
    assert_eq!(status, 200);
    let busy: Vec<_> = json(&api)["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|resource| resource["state"] == "busy")
        .map(|resource| resource["name"].clone())
        .collect();
    assert_eq!(busy, vec![serde_json::Value::from(name.clone())]);
    assert_eq!(lease(&["release", &name, "--dest", "free"]).code, 0);
    // The UI's own pages are still there, and a Boskos path is not a page.
    assert_eq!(get(&address, "/runs").0, 200);

    // resources.yaml is read again when it changes.
    fs_err::write(
        project.path().join("resources.yaml"),
        "resources:\n- type: gce-project\n  names: [proj-1, proj-2, proj-3]\n",
    )
    .expect("write");
    wait_for("proj-3 to be served", || get(&address, "/api/v1/leases").1.contains("proj-3"));
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("serving the Boskos API on"), "{stderr}");
}

#[test]
fn a_running_run_is_aborted_from_the_api_and_from_the_command_line() {
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::write(
        project.path().join("slipway.yaml"),
        "jobs:\n- name: slow\n  command: \"echo started; sleep 60\"\n  grace_period: 2s\n",
    )
    .expect("write");
    let (child, address) = start(project.path());
    let running = |address: &str| {
        runs_of(address, "slow").into_iter().find(|run| run["state"] == "running").map(|run| run["id"].clone())
    };
    assert_eq!(post(&address, "/api/v1/jobs/slow/run").0, 202);
    wait_for("the run to start", || running(&address).is_some());
    let id = running(&address).expect("running").as_str().expect("an id").to_owned();
    let (status, page) = get(&address, &format!("/runs/{id}"));
    assert_eq!(status, 200);
    assert!(page.contains(&format!("action=\"/runs/{id}/abort\"")), "the page offers Abort: {page}");
    let (_, jobs) = get(&address, "/jobs");
    assert!(jobs.contains(&format!("action=\"/runs/{id}/abort\"")), "so does the job's row: {jobs}");
    let (status, body) = post(&address, &format!("/api/v1/runs/{id}/abort"));
    assert_eq!(status, 202, "{body}");
    assert_eq!(json(&body)["run"], id.as_str());
    wait_for("the run to be aborted", || runs_of(&address, "slow").iter().any(|run| run["state"] == "aborted"));
    let aborted = runs_of(&address, "slow").into_iter().find(|run| run["id"] == id.as_str()).expect("the run");
    assert_eq!(aborted["description"], "aborted on request");
    // It has ended: another abort is a conflict, not a success.
    assert_eq!(post(&address, &format!("/api/v1/runs/{id}/abort")).0, 409);
    assert_eq!(post(&address, "/api/v1/runs/no-such-run/abort").0, 404);

    // The command line asks the same way: the serving process stops its run.
    assert_eq!(post(&address, "/api/v1/jobs/slow/run").0, 202);
    wait_for("the second run to start", || running(&address).is_some());
    let aborted = slipway(project.path(), &["runs", "abort", "slow"]);
    assert_eq!(aborted.code, 0, "{}", aborted.stderr);
    assert!(aborted.stdout.contains("asked to abort"), "{}", aborted.stdout);
    wait_for("the second run to be aborted", || {
        runs_of(&address, "slow").iter().filter(|run| run["state"] == "aborted").count() == 2
    });
    let again = slipway(project.path(), &["runs", "abort", "slow"]);
    assert_eq!(again.code, 1, "not running any more: {}", again.stderr);
    assert!(again.stderr.contains("is not running: it is aborted"), "{}", again.stderr);
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_run_page_lists_and_serves_the_files_of_a_run_whose_artifacts_are_in_s3() {
    let bucket = slipway_test::s3::unique_bucket("serve");
    let environment = slipway_test::s3::environment();
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let project = tempfile::tempdir().expect("temporary directory");
    let storage = format!("s3://{bucket}/ci");
    fs_err::write(
        project.path().join("slipway.yaml"),
        format!(
            "artifacts:\n  storage: {storage}\njobs:\n- name: unit\n  command: [sh, -c, \"echo to s3; echo '<testsuite/>' > $ARTIFACTS/junit_s3.xml\"]\n"
        ),
    )
    .expect("write");
    let run = crate::support::slipway_with_env(project.path(), &["job", "run", "unit", "--format", "json"], &pairs);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = json(&run.stdout)["runs"][0]["id"].as_str().expect("an id").to_owned();
    let (child, address) = start_with_env(project.path(), &[], &environment);
    let (status, page) = get(&address, &format!("/runs/{id}"));
    assert_eq!(status, 200, "{page}");
    for file in ["artifacts/junit_s3.xml", "build-log.txt", "finished.json", "prowjob.json", "started.json"] {
        assert!(page.contains(&format!(">{file}</a>")), "{file} is listed: {page}");
    }
    let (status, log) = get(&address, &format!("/runs/{id}/artifacts/build-log.txt"));
    assert_eq!(status, 200);
    assert!(log.contains("to s3"), "{log}");
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn serve_reads_slipway_yaml_again_when_it_changes_and_keeps_the_old_one_when_it_is_broken() {
    let project = tempfile::tempdir().expect("temporary directory");
    let config = project.path().join("slipway.yaml");
    fs_err::write(&config, "jobs:\n- name: first\n  command: [echo, one]\n").expect("write");
    let (child, address) = start(project.path());
    let jobs = |address: &str| -> Vec<String> {
        let (_, body) = get(address, "/api/v1/jobs");
        json(&body)["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|job| job["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(jobs(&address), vec!["first"]);
    fs_err::write(
        &config,
        "jobs:\n- name: first\n  command: [echo, one]\n- name: second\n  command: [echo, two]\nresults:\n  dashboards:\n  - name: main\n    tabs:\n    - job: second\n",
    )
    .expect("write");
    wait_for("the new job", || jobs(&address) == ["first", "second"]);
    assert!(get(&address, "/dashboards").1.contains("href=\"/dashboards/main\""), "the dashboard came too");
    // The new job runs from the UI.
    let (status, answer) = post(&address, "/api/v1/jobs/second/run");
    assert_eq!(status, 202, "{answer}");
    wait_for("its run", || runs_of(&address, "second").first().is_some_and(|run| run["state"] == "success"));
    // A broken file is said and changes nothing.
    fs_err::write(&config, "jobs: [this is not: valid\n").expect("write");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(jobs(&address), vec!["first", "second"]);
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("read the configuration again: 2 job(s)"), "{stderr}");
    assert!(stderr.contains("warning: kept the running configuration"), "{stderr}");
}

/// An HTTP server on 127.0.0.1 that answers 200 to every request and hands over each body.
fn webhook_receiver() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone the stream"));
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let mut stream = stream;
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = sender.send(String::from_utf8_lossy(&body).into_owned());
        }
    });
    (format!("http://{address}/hooks/secret"), receiver)
}

#[test]
fn serve_posts_each_new_alert_once_across_restarts() {
    let (hook, posts) = webhook_receiver();
    let project = tempfile::tempdir().expect("temporary directory");
    let junit =
        r#"<testsuite name=\"unit\"><testcase name=\"divides\"><failure message=\"by zero\"/></testcase></testsuite>"#;
    fs_err::write(
        project.path().join("slipway.yaml"),
        format!(
            "jobs:\n- name: unit\n  command: [sh, -c, 'mkdir -p \"$ARTIFACTS\" && echo \"{junit}\" > \"$ARTIFACTS/junit_unit.xml\"']\nresults:\n  alerts:\n    failures: 2\n    webhook: {hook}\n"
        ),
    )
    .expect("write");
    for _ in 0..2 {
        let run = slipway(project.path(), &["job", "run", "unit"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let ingest = slipway(project.path(), &["results", "ingest", ".slipway/artifacts"]);
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let (child, _) = start(project.path());
    let posted = posts.recv_timeout(Duration::from_secs(30)).expect("the alert was posted");
    assert!(posted.contains("unit") && posted.contains("divides"), "{posted}");
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("posted 1 new alert(s) to http://127.0.0.1:"), "{stderr}");
    assert!(!stderr.contains("secret"), "the webhook's path is its secret: {stderr}");
    // Another server on the same store (a restart, a replica) does not send it again.
    let (child, _) = start(project.path());
    std::thread::sleep(Duration::from_secs(3));
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(posts.try_recv().is_err(), "the alert was sent once");
}

#[test]
fn serve_reads_the_file_config_names_again_when_it_changes() {
    let project = tempfile::tempdir().expect("temporary directory");
    fs_err::create_dir_all(project.path().join("ci")).expect("mkdir");
    let config = project.path().join("ci/serve.yaml");
    fs_err::write(&config, "jobs:\n- name: first\n  command: [echo, one]\n").expect("write");
    let (child, address) = start_with(project.path(), &["--config", "ci/serve.yaml"]);
    let names = |address: &str| get(address, "/api/v1/jobs").1;
    assert!(names(&address).contains("\"first\""));
    fs_err::write(&config, "jobs:\n- name: first\n  command: [echo, one]\n- name: second\n  command: [echo, two]\n")
        .expect("write");
    wait_for("the job of the changed file", || names(&address).contains("\"second\""));
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
}
