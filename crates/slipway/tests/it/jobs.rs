//! `slipway job run`, `runs` and `schedule` end to end: real processes, the real SQLite store,
//! artifacts in the Prow layout on the local file system, markers from a local HTTP server.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{build_dir, json, project, slipway, slipway_with_env};

fn read_json(path: &Path) -> serde_json::Value {
    json(&fs_err::read_to_string(path).expect("read"))
}

#[test]
fn a_run_is_recorded_in_the_prow_layout_and_the_store() {
    let project = project(
        "jobs:\n- name: unit\n  command: 'echo job=$JOB_NAME type=$JOB_TYPE build=$BUILD_ID ci=$CI; echo oops >&2; echo \"<testsuite/>\" > $ARTIFACTS/junit_unit.xml; echo {\\\"job-version\\\":\\\"v1.2.3\\\"} > $ARTIFACTS/metadata.json'\n  env: {EXTRA: value}\n",
    );
    let run = slipway(project.path(), &["job", "run", "unit", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let output = json(&run.stdout);
    assert_eq!(output["schema"], "slipway.job.run/v1");
    let recorded = &output["runs"][0];
    assert_eq!(recorded["state"], "success");
    let build_id = recorded["build_id"].as_str().expect("build id").to_owned();

    let build = build_dir(project.path(), "unit");
    assert_eq!(build.file_name().and_then(|name| name.to_str()), Some(build_id.as_str()));
    let started = read_json(&build.join("started.json"));
    assert!(started["timestamp"].is_i64(), "{started}");
    let finished = read_json(&build.join("finished.json"));
    assert_eq!(finished["passed"], true);
    assert_eq!(finished["result"], "SUCCESS");
    assert_eq!(finished["metadata"]["job-version"], "v1.2.3", "the job's metadata.json is merged");
    assert!(finished["timestamp"].as_i64() >= started["timestamp"].as_i64());
    let prowjob = read_json(&build.join("prowjob.json"));
    assert_eq!((prowjob["kind"].as_str(), prowjob["status"]["state"].as_str()), (Some("ProwJob"), Some("success")));
    assert_eq!(prowjob["metadata"]["name"], recorded["id"], "the run id is the ProwJob's name");
    let log = fs_err::read_to_string(build.join("build-log.txt")).expect("log");
    assert!(log.contains(&format!("job=unit type=periodic build={build_id} ci=true")), "{log}");
    assert!(log.contains("oops"), "stderr is in the log too: {log}");
    assert!(build.join("artifacts/junit_unit.xml").is_file());
    let latest =
        fs_err::read_to_string(project.path().join(".slipway/artifacts/logs/unit/latest-build.txt")).expect("latest");
    assert_eq!(latest, build_id, "latest-build.txt is the bare id");

    // A second run gets a larger build id.
    assert_eq!(slipway(project.path(), &["job", "run", "unit"]).code, 0);
    let list = slipway(project.path(), &["runs", "list", "--job", "unit", "--format", "json"]);
    let runs = json(&list.stdout)["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 2);
    let ids: Vec<u64> = runs.iter().map(|run| run["build_id"].as_str().expect("id").parse().expect("number")).collect();
    assert!(ids[0] > ids[1], "newest first, and ids increase: {ids:?}");

    let show = slipway(project.path(), &["runs", "show", &format!("unit/{build_id}")]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(show.stdout.contains("success") && show.stdout.contains("artifacts:"), "{}", show.stdout);
    let logs = slipway(project.path(), &["runs", "logs", &format!("unit/{build_id}")]);
    assert!(logs.stdout.contains("job=unit"), "{}", logs.stdout);
    let missing = slipway(project.path(), &["runs", "show", "nothing/1"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
}

#[test]
fn failures_timeouts_and_missing_commands_are_recorded() {
    let project = project(
        "jobs:\n- name: failing\n  command: [sh, -c, 'exit 3']\n- name: slow\n  command: [sleep, '30']\n  timeout: 1s\n  grace_period: 1s\n- name: missing\n  command: [no-such-command-here]\n",
    );
    let failing = slipway(project.path(), &["job", "run", "failing"]);
    assert_eq!(failing.code, 1, "{}", failing.stderr);
    assert!(failing.stdout.contains("failed: exit code 3"), "{}", failing.stdout);
    let finished = read_json(&build_dir(project.path(), "failing").join("finished.json"));
    assert_eq!((finished["passed"].as_bool(), finished["result"].as_str()), (Some(false), Some("FAILURE")));

    let started = Instant::now();
    let slow = slipway(project.path(), &["job", "run", "slow"]);
    assert_eq!(slow.code, 1, "{}", slow.stderr);
    assert!(slow.stdout.contains("timed out after 1s"), "{}", slow.stdout);
    assert!(started.elapsed() < Duration::from_secs(20), "the timeout stopped it");

    let missing = slipway(project.path(), &["job", "run", "missing"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("`no-such-command-here` not found"), "{}", missing.stderr);
    let list = json(&slipway(project.path(), &["runs", "list", "--job", "missing", "--format", "json"]).stdout);
    assert_eq!(list["runs"][0]["state"], "error", "recorded, not left running: {list}");
    let running = json(&slipway(project.path(), &["runs", "list", "--state", "running", "--format", "json"]).stdout);
    assert_eq!(running["runs"], serde_json::json!([]));
}

#[test]
fn bad_configuration_names_the_job_and_line() {
    let project =
        project("jobs:\n- name: nightly\n  command: [make]\n  cron: '0 5 * * *'\n  timezone: Europe/Atlantis\n");
    let run = slipway(project.path(), &["job", "list"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("slipway.yaml` at line 5") && run.stderr.contains("Europe/Atlantis"), "{}", run.stderr);

    let project = project_with_cron("TZ=America/New_York 30 20 * * *");
    let run = slipway(project.path(), &["job", "run", "nightly"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("line 4") && run.stderr.contains("timezone:"), "{}", run.stderr);

    let project = project_with_cron("61 * * * *");
    assert_eq!(slipway(project.path(), &["job", "run", "nightly"]).code, 2);

    let fine = project_with_cron("0 5 * * *");
    let unknown = slipway(fine.path(), &["job", "run", "weekly"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no job named `weekly`") && unknown.stderr.contains("nightly"),
        "{}",
        unknown.stderr
    );
    let bad_storage = slipway(fine.path(), &["job", "run", "nightly", "--storage", "ftp://example/x"]);
    assert_eq!(bad_storage.code, 2, "{}", bad_storage.stderr);
    let unreachable = slipway_with_env(
        fine.path(),
        &["job", "run", "nightly", "--storage", "s3://ci-bucket/logs"],
        &[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ALLOW_HTTP", "true"),
        ],
    );
    assert_eq!(unreachable.code, 3, "{}", unreachable.stderr);
    let runs = json(&slipway(fine.path(), &["runs", "list", "--format", "json"]).stdout);
    assert_eq!(runs["runs"], serde_json::json!([]), "nothing recorded for a run that could not start");
}

fn project_with_cron(cron: &str) -> tempfile::TempDir {
    project(&format!("jobs:\n- name: nightly\n  command: [echo, ok]\n  cron: '{cron}'\n"))
}

/// Starts `slipway job run JOB` in the background.
fn spawn_run(project: &Path, job: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["job", "run", job])
        .current_dir(project)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start slipway")
}

/// Waits until the job has a running run.
fn wait_running(project: &Path, job: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = slipway(project, &["runs", "list", "--job", job, "--state", "running", "--format", "json"]);
        if list.code == 0 && !json(&list.stdout)["runs"].as_array().is_none_or(Vec::is_empty) {
            return;
        }
        assert!(Instant::now() < deadline, "no running run of {job}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ctrl_c_stops_the_run_and_records_it_as_aborted() {
    let project = project("jobs:\n- name: long\n  command: [sleep, '60']\n  grace_period: 2s\n");
    let child = spawn_run(project.path(), "long");
    wait_running(project.path(), "long");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("interrupt");
    let output = child.wait_with_output().expect("slipway ends");
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    let finished = read_json(&build_dir(project.path(), "long").join("finished.json"));
    assert_eq!(finished["result"], "ABORTED");
    let list = json(&slipway(project.path(), &["runs", "list", "--format", "json"]).stdout);
    assert_eq!(list["runs"][0]["state"], "aborted");
}

#[test]
fn the_scheduler_marks_runs_of_dead_processes_and_never_repeats_a_tick() {
    let project = project(
        "jobs:\n- name: hourly\n  command: [echo, tick]\n  interval: 1h\n- name: long\n  command: [sleep, '3']\n",
    );
    // A run whose slipway process is killed stays "running" until the next scheduler start.
    let mut child = spawn_run(project.path(), "long");
    wait_running(project.path(), "long");
    child.kill().expect("kill slipway");
    let _ = child.wait();

    let first = slipway(project.path(), &["schedule", "--once"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("note: long/") && first.stderr.contains("left running by a slipway that is gone"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("started hourly"), "a job that never ran starts at once: {}", first.stderr);
    let lost = json(&slipway(project.path(), &["runs", "list", "--job", "long", "--format", "json"]).stdout);
    assert_eq!(lost["runs"][0]["state"], "error");
    assert!(
        lost["runs"][0]["description"].as_str().is_some_and(|text| text.contains("stopped before the run finished"))
    );

    let second = slipway(project.path(), &["schedule", "--once"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(!second.stderr.contains("started hourly"), "an interval of 1h has not passed: {}", second.stderr);
    let hourly = json(&slipway(project.path(), &["runs", "list", "--job", "hourly", "--format", "json"]).stdout);
    assert_eq!(hourly["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(hourly["runs"][0]["trigger"], "schedule");
    assert_eq!(hourly["runs"][0]["state"], "success");
}

/// A static HTTP server (Python's) over `root`; killed on drop.
struct MarkerServer {
    child: std::process::Child,
    url: String,
}

impl MarkerServer {
    fn start(root: &Path) -> MarkerServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let child = Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 serves files");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the marker server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        MarkerServer { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for MarkerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_matrix_runs_once_per_entry_with_its_version_and_skip_regex() {
    let markers = tempfile::tempdir().expect("marker root");
    fs_err::create_dir_all(markers.path().join("release")).expect("directory");
    fs_err::write(markers.path().join("release/stable-1.26.txt"), "v1.26.15").expect("marker");
    fs_err::write(markers.path().join("release/latest-1.32.txt"), "v1.32.0-rc.2").expect("marker");
    let server = MarkerServer::start(markers.path());
    let project = project(&format!(
        "matrix:\n  markers_url: {}\njobs:\n- name: e2e\n  command: 'echo \"version=$KUBERNETES_VERSION skip=$SKIP_REGEX focus=$FOCUS_REGEX\"'\n  focus: Conformance\n  matrix: {{kubernetes: [stable-1.26, v1.31.2, latest-1.32]}}\n  skip:\n  - {{kubernetes: '<1.27', tests: 'SidecarContainers'}}\n  - {{kubernetes: '>=1.31, <1.33', tests: 'Feature:Alpha'}}\n",
        server.url
    ));
    let run = slipway(project.path(), &["job", "run", "e2e", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("stable-1.26 is v1.26.15"), "{}", run.stderr);
    let runs = json(&run.stdout)["runs"].as_array().expect("runs").clone();
    let jobs: Vec<&str> = runs.iter().map(|run| run["job"].as_str().expect("job")).collect();
    assert_eq!(jobs, ["e2e-stable-1-26", "e2e-v1-31-2", "e2e-latest-1-32"]);
    let log = |job: &str| fs_err::read_to_string(build_dir(project.path(), job).join("build-log.txt")).expect("log");
    assert_eq!(log("e2e-stable-1-26").trim(), "version=v1.26.15 skip=(?:SidecarContainers) focus=Conformance");
    assert_eq!(log("e2e-v1-31-2").trim(), "version=v1.31.2 skip=(?:Feature:Alpha) focus=Conformance");
    assert_eq!(log("e2e-latest-1-32").trim(), "version=v1.32.0-rc.2 skip=(?:Feature:Alpha) focus=Conformance");

    // One entry only; the marker now comes from the cache, even with the server gone.
    drop(server);
    let one = slipway(project.path(), &["job", "run", "e2e", "--matrix", "stable-1.26"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(one.stderr.contains("(cached)"), "{}", one.stderr);
    let unknown = slipway(project.path(), &["job", "run", "e2e", "--matrix", "stable-1.99"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("no matrix entry `stable-1.99`"), "{}", unknown.stderr);
}

/// `matrix.markers_url` reads what `slipway marker publish` writes, wherever it writes it.
fn matrix_reads_published_markers(markers_url: &str, environment: &[(&str, &str)], published_here: bool) {
    let project = project(&format!(
        "matrix:\n  markers_url: {markers_url}\njobs:\n- name: e2e\n  command: 'echo \"version=$KUBERNETES_VERSION\"'\n  matrix: {{kubernetes: [stable-1.31, ci/latest]}}\n"
    ));
    if published_here {
        for (name, value) in [("release/stable-1.31", "v1.31.4"), ("ci/latest", "v1.36.0-alpha.1.5+0123456789abcd")] {
            let publish = slipway_with_env(
                project.path(),
                &["marker", "publish", name, value, "--storage", markers_url],
                environment,
            );
            assert_eq!(publish.code, 0, "{}", publish.stderr);
        }
    }
    let run = slipway_with_env(project.path(), &["job", "run", "e2e"], environment);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = |job: &str| fs_err::read_to_string(build_dir(project.path(), job).join("build-log.txt")).expect("log");
    assert_eq!(log("e2e-stable-1-31").trim(), "version=v1.31.4");
    assert_eq!(log("e2e-ci-latest").trim(), "version=v1.36.0-alpha.1.5+0123456789abcd");
}

#[test]
fn the_matrix_reads_markers_from_every_storage_marker_publish_writes_to() {
    // A directory relative to the project: read every time, so a new marker counts at once.
    let project = project(
        "matrix:\n  markers_url: published\njobs:\n- name: e2e\n  command: 'echo \"version=$KUBERNETES_VERSION\"'\n  matrix: {kubernetes: [stable-1.31]}\n",
    );
    let publish = |value: &str| {
        let run =
            slipway(project.path(), &["marker", "publish", "release/stable-1.31", value, "--storage", "published"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    };
    publish("v1.31.4");
    let run = slipway(project.path(), &["job", "run", "e2e"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("stable-1.31 is v1.31.4"), "{}", run.stderr);
    publish("v1.31.5");
    let run = slipway(project.path(), &["job", "run", "e2e"]);
    assert!(run.stderr.contains("stable-1.31 is v1.31.5"), "not a stale cache: {}", run.stderr);
    let absent = project.path().join("elsewhere");
    fs_err::write(
        project.path().join("slipway.yaml"),
        format!(
            "matrix:\n  markers_url: file://{}\njobs:\n- name: e2e\n  command: [true]\n  matrix: {{kubernetes: [stable-1.31]}}\n",
            absent.display()
        ),
    )
    .expect("config");
    fs_err::create_dir(&absent).expect("directory");
    let missing = slipway(project.path(), &["job", "run", "e2e"]);
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains(&format!("there is no version marker at file://{}/release/stable-1.31.txt", absent.display())),
        "{}",
        missing.stderr
    );

    let absolute = tempfile::tempdir().expect("markers");
    matrix_reads_published_markers(&format!("file://{}", absolute.path().display()), &[], true);

    let s3 = slipway_test::s3::environment();
    let s3: Vec<(&str, &str)> = s3.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let bucket = slipway_test::s3::unique_bucket("matrix-markers");
    matrix_reads_published_markers(&format!("s3://{bucket}/k8s"), &s3, true);

    let azure = slipway_test::azure::environment();
    let azure: Vec<(&str, &str)> = azure.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let container = slipway_test::azure::unique_container("matrix-markers");
    matrix_reads_published_markers(&format!("az://{container}/k8s"), &azure, true);

    // fake-gcs-server takes no uploads from slipway (docs/design/storage.md): put as gcloud would.
    let gcs = slipway_test::gcs::environment();
    let gcs: Vec<(&str, &str)> = gcs.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let bucket = slipway_test::gcs::unique_bucket("matrix-markers");
    slipway_test::gcs::upload(&bucket, "k8s/release/stable-1.31.txt", b"v1.31.4");
    slipway_test::gcs::upload(&bucket, "k8s/ci/latest.txt", b"v1.36.0-alpha.1.5+0123456789abcd");
    matrix_reads_published_markers(&format!("gs://{bucket}/k8s"), &gcs, false);
}

#[test]
fn lint_reports_slipway_job_pitfalls_at_their_lines() {
    let project = project(
        "jobs:\n- name: unit\n  command: [make]\n  minimal_interval: 1h\n- name: nightly\n  command: [make]\n  cron: 'TZ=Europe/Berlin 0 5 * * *'\n",
    );
    let lint = slipway(project.path(), &["job", "lint"]);
    assert_eq!(lint.code, 1, "{}", lint.stderr);
    assert!(
        lint.stdout.contains("slipway.yaml:4: job unit: [unknown-key] unknown key `minimal_interval`"),
        "{}",
        lint.stdout
    );
    assert!(lint.stdout.contains("slipway.yaml:7: job nightly: [cron]"), "{}", lint.stdout);
    let clean = project_with_cron("0 5 * * *");
    assert_eq!(slipway(clean.path(), &["job", "lint"]).code, 0);
}

#[test]
fn runs_can_live_in_postgresql() {
    let url = slipway_test::postgres::database();
    let project = project("jobs:\n- name: unit\n  command: [echo, stored elsewhere]\n");
    let run = slipway_with_env(project.path(), &["job", "run", "unit"], &[("SLIPWAY_DATABASE_URL", &url)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list = slipway(project.path(), &["runs", "list", "--database-url", &url, "--format", "json"]);
    let runs = json(&list.stdout);
    assert_eq!(runs["runs"][0]["job"], "unit", "{runs}");
    assert!(!project.path().join(".slipway/state.db").exists(), "nothing went to the default SQLite file");
}

#[test]
fn a_manual_run_waits_for_max_concurrency() {
    let project = project("jobs:\n- name: single\n  command: [sleep, '2']\n  max_concurrency: 1\n");
    let first = spawn_run(project.path(), "single");
    wait_running(project.path(), "single");
    let second = slipway(project.path(), &["job", "run", "single"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stderr.contains("waiting: 1 run(s) of single are going (max_concurrency 1)"), "{}", second.stderr);
    assert!(first.wait_with_output().expect("first run").status.success());
    let runs = json(&slipway(project.path(), &["runs", "list", "--format", "json"]).stdout);
    let runs = runs["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 2);
    let (newer, older) = (&runs[0], &runs[1]);
    assert!(newer["started_at"].as_i64() >= older["finished_at"].as_i64(), "they did not overlap: {runs:?}");
}

#[test]
fn artifacts_go_to_s3_in_the_prow_layout() {
    let bucket = slipway_test::s3::unique_bucket("jobs");
    let environment = slipway_test::s3::environment();
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let project =
        project("jobs:\n- name: unit\n  command: 'echo to s3; echo \"<testsuite/>\" > $ARTIFACTS/junit_s3.xml'\n");
    let storage = format!("s3://{bucket}/ci");
    let run =
        slipway_with_env(project.path(), &["job", "run", "unit", "--storage", &storage, "--format", "json"], &pairs);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let recorded = json(&run.stdout);
    let build = recorded["runs"][0]["build_id"].as_str().expect("build id").to_owned();
    assert_eq!(recorded["runs"][0]["artifacts"], format!("{storage}/logs/unit/{build}"));
    // Read back through the S3 API.
    let reader = slipway_artifacts::Storage::open_with(&storage, environment.iter().cloned()).expect("storage");
    let read = |key: &str| {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(reader.read(key))
            .expect("read")
            .unwrap_or_else(|| panic!("{key} is missing"))
    };
    assert_eq!(read("logs/unit/latest-build.txt"), build.as_bytes(), "latest-build.txt is the bare id");
    let finished: serde_json::Value =
        serde_json::from_slice(&read(&format!("logs/unit/{build}/finished.json"))).expect("finished.json is JSON");
    assert_eq!(finished["result"], "SUCCESS");
    for file in ["started.json", "build-log.txt", "prowjob.json", "artifacts/junit_s3.xml"] {
        read(&format!("logs/unit/{build}/{file}"));
    }
    assert!(!project.path().join(".slipway/artifacts").exists(), "nothing went to the local default");
}

#[test]
fn the_scheduler_runs_on_time_until_interrupted() {
    let project = project("jobs:\n- name: often\n  command: [echo, tick]\n  interval: 1s\n");
    let scheduler = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .arg("schedule")
        .current_dir(project.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the scheduler");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = json(&slipway(project.path(), &["runs", "list", "--state", "success", "--format", "json"]).stdout);
        if list["runs"].as_array().is_some_and(|runs| runs.len() >= 3) {
            break;
        }
        if Instant::now() > deadline {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(i32::try_from(scheduler.id()).expect("pid")),
                nix::sys::signal::Signal::SIGKILL,
            );
            let output = scheduler.wait_with_output().expect("the scheduler ends");
            panic!(
                "the scheduler did not run the job three times: {list}\nscheduler stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(scheduler.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("interrupt");
    let output = scheduler.wait_with_output().expect("the scheduler ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("started often"), "{stderr}");
    let runs = json(&slipway(project.path(), &["runs", "list", "--limit", "0", "--format", "json"]).stdout);
    let runs = runs["runs"].as_array().expect("runs").clone();
    assert!(runs.iter().all(|run| run["trigger"] == "schedule" && run["state"] != "running"), "{runs:?}");
    // An interval counts from the previous start, and a run never overlaps the one before.
    for pair in runs.windows(2) {
        assert!(pair[0]["started_at"].as_i64() >= pair[1]["finished_at"].as_i64(), "{pair:?}");
    }
}

#[test]
fn a_job_cannot_upload_host_files_through_a_link() {
    let secret = tempfile::tempdir().expect("temporary directory");
    let secret_file = secret.path().join("shadow");
    fs_err::write(&secret_file, "root:$6$not-for-ci-logs").expect("write");
    let project = project(&format!(
        "jobs:\n- name: sneaky\n  command: 'ln -s {} $ARTIFACTS/shadow; ln -s / $ARTIFACTS/root; echo ok > $ARTIFACTS/ok.txt'\n",
        secret_file.display()
    ));
    let run = slipway(project.path(), &["job", "run", "sneaky"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let build = build_dir(project.path(), "sneaky");
    assert!(build.join("artifacts/ok.txt").is_file());
    assert!(!build.join("artifacts/shadow").exists(), "the host's file was not copied");
    assert!(!build.join("artifacts/root").exists());
    let finished = read_json(&build.join("finished.json"));
    let skipped = finished["metadata"]["slipway-skipped-artifacts"].as_array().expect("listed");
    assert_eq!(skipped.len(), 2, "{finished:#}");
    assert!(
        run.stderr.contains("artifact `shadow` was not uploaded: a symbolic link out of the artifacts directory"),
        "the run says so: {}",
        run.stderr
    );
}

#[test]
fn durations_beyond_what_go_can_hold_are_errors_naming_the_field() {
    let project = project("jobs:\n- name: forever\n  command: 'true'\n  timeout: 99999999999999999h\n");
    for args in [&["job", "list"][..], &["job", "run", "forever"], &["schedule", "--once"]] {
        let run = slipway(project.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("invalid `jobs[0].timeout`") && run.stderr.contains("at line 4"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("about 292 years"), "{}", run.stderr);
    }
    let lint = slipway(project.path(), &["job", "lint"]);
    assert_eq!(lint.code, 1, "{}", lint.stderr);
    assert!(lint.stdout.contains("slipway.yaml:4: job forever: [timeout]"), "{}", lint.stdout);

    let prow = project.path().join("prow.yaml");
    fs_err::write(&prow, "periodics:\n- name: p\n  interval: 99999999999999999h\n  spec:\n    containers:\n    - image: busybox\n      command: [echo]\n").expect("write");
    let prow = prow.display().to_string();
    let import = slipway(project.path(), &["job", "import-prow", &prow]);
    assert_eq!(import.code, 1, "{}", import.stderr);
    assert!(import.stderr.contains("job p: not imported: `interval`:"), "{}", import.stderr);
    let run = slipway(project.path(), &["job", "run", "--prow-config", &prow, "p"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.matches("interval").count(), 1, "said once: {}", run.stderr);
}

#[test]
fn one_name_rule_and_strict_switches_and_duplicate_keys_said() {
    for name in [".", "..", ".hidden"] {
        let project = project(&format!("jobs:\n- name: \"{name}\"\n  command: 'true'\n"));
        for args in [&["job", "list"][..], &["job", "run", name]] {
            let run = slipway(project.path(), args);
            assert_eq!(run.code, 2, "{name} {args:?}: {}", run.stderr);
            assert!(run.stderr.contains("invalid `jobs[0].name`"), "{}", run.stderr);
        }
        assert_eq!(slipway(project.path(), &["job", "lint"]).code, 1);
    }

    let project = project("jobs: []\n");
    let run =
        slipway_with_env(project.path(), &["release", "verify", "--version", "1.0.0"], &[("SLIPWAY_OFFLINE", "maybe")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("SLIPWAY_OFFLINE must be true, false, 1 or 0"), "{}", run.stderr);

    let prow = project.path().join("prow.yaml");
    fs_err::write(&prow, "periodics:\n- name: p\n  interval: 1h\n  interval: 2h\n  spec:\n    containers:\n    - image: busybox\n      command: [echo]\n").expect("write");
    let prow = prow.display().to_string();
    let lint = slipway(project.path(), &["job", "lint", "--prow-config", &prow]);
    assert_eq!(lint.code, 1);
    assert!(
        lint.stdout.contains("prow.yaml:4: [duplicate-key] `interval` is given again here (first at line 3)"),
        "{}",
        lint.stdout
    );
    let import = slipway(project.path(), &["job", "import-prow", &prow]);
    assert!(import.stderr.contains("`interval` is given twice (lines 3 and 4)"), "{}", import.stderr);
}

/// Eight processes run a job capped at one run at a time: no two of its runs overlap, on
/// SQLite and on PostgreSQL, because the slot is taken in the store.
fn never_overlapping(database: Option<&str>) {
    let project = project("jobs:\n- name: one\n  command: [sleep, '1']\n  max_concurrency: 1\n");
    let mut args = vec!["job", "run", "one"];
    if let Some(url) = database {
        args.extend(["--database-url", url]);
    }
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_slipway"))
                .args(&args)
                .current_dir(project.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start slipway")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("slipway ends");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let mut list = vec!["runs", "list", "--format", "json", "--limit", "0"];
    if let Some(url) = database {
        list.extend(["--database-url", url]);
    }
    let runs = json(&slipway(project.path(), &list).stdout);
    let mut spans: Vec<(i64, i64)> = runs["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| (run["started_at"].as_i64().expect("started"), run["finished_at"].as_i64().expect("finished")))
        .collect();
    assert_eq!(spans.len(), 8);
    spans.sort_unstable();
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "two runs overlapped: {spans:?}");
    }
}

#[test]
fn max_concurrency_holds_across_processes_on_sqlite() {
    never_overlapping(None);
}

#[test]
fn max_concurrency_holds_across_processes_on_postgres() {
    never_overlapping(Some(&slipway_test::postgres::database()));
}

#[test]
fn a_run_that_fails_before_its_command_is_finished_and_listed_with_why() {
    let project = project(
        "jobs:\n- name: needs-ref\n  command: 'true'\n  extra_refs:\n  - {org: example, repo: missing, base_ref: main}\n",
    );
    let run = slipway(project.path(), &["job", "run", "needs-ref", "--ref", "example/missing=/nonexistent/repo"]);
    assert_eq!(run.code, 2, "a directory that does not exist is the user's input: {}", run.stderr);
    let list = slipway(project.path(), &["runs", "list"]);
    assert!(list.stdout.contains("needs-ref/") && list.stdout.contains(" error "), "{}", list.stdout);
    assert!(list.stdout.contains("could not check out"), "{}", list.stdout);
    let build = build_dir(project.path(), "needs-ref");
    let finished = read_json(&build.join("finished.json"));
    assert_eq!(finished["result"], "ERROR", "{finished}");
    assert_eq!(finished["passed"], false);
    let log = fs_err::read_to_string(build.join("build-log.txt")).expect("the log says why");
    assert!(log.starts_with("slipway: job `needs-ref`: could not check out"), "{log}");
    let running = slipway(project.path(), &["runs", "list", "--state", "running"]);
    assert!(running.stdout.is_empty(), "nothing looks like it still runs: {}", running.stdout);
}

#[test]
fn a_command_that_does_not_exist_exits_2_in_either_shape_and_says_it_once() {
    let project = project(
        "jobs:\n- name: argv\n  command: [no-such-tool-x, arg]\n- name: line\n  command: 'no-such-tool-y --flag && echo never'\n- name: later\n  command: 'true; no-such-tool-z'\n",
    );
    for (job, tool) in [("argv", "no-such-tool-x"), ("line", "no-such-tool-y")] {
        let run = slipway(project.path(), &["job", "run", job]);
        assert_eq!(run.code, 2, "{job}: {}", run.stderr);
        assert_eq!(run.stderr.matches(&format!("command `{tool}` not found")).count(), 1, "{}", run.stderr);
    }
    // A missing tool later in the script is the job failing, not a usage error.
    assert_eq!(slipway(project.path(), &["job", "run", "later"]).code, 1);
}
