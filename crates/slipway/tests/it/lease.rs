//! `slipway lease`: the server as a process, and the client commands against it (what a CI
//! job does): acquire and release, a command run with its lease in the environment and its
//! secrets masked, Ctrl-C and SIGTERM giving the lease back, `kill -9` leaving it to the
//! reaper, and bad input.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{json, render_runs, slipway, slipway_with_env};

/// `slipway lease serve` on a free loopback port; killed on drop.
struct Served {
    child: Child,
    address: String,
    directory: tempfile::TempDir,
}

impl Served {
    fn start(config: &str) -> Served {
        let directory = tempfile::tempdir().expect("temporary directory");
        fs_err::write(directory.path().join("resources.yaml"), config).expect("write resources.yaml");
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port();
        let address = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(["lease", "serve", "--listen", &address])
            .current_dir(directory.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&address).is_err() {
            if Instant::now() >= deadline || child.try_wait().ok().flatten().is_some() {
                let _ = child.kill();
                let output = child.wait_with_output().expect("the server's output");
                panic!("the server did not start: {}", String::from_utf8_lossy(&output.stderr));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Served { child, address, directory }
    }

    fn path(&self) -> &Path {
        self.directory.path()
    }

    /// `slipway lease ARGS --server ADDRESS` as owner `owner`.
    fn lease(&self, owner: &str, args: &[&str]) -> crate::support::Run {
        let (verb, rest) = args.split_first().expect("a verb");
        let mut all = vec!["lease", verb, "--server", &self.address, "--owner", owner];
        all.extend_from_slice(rest);
        slipway(self.path(), &all)
    }

    fn resources(&self) -> serde_json::Value {
        let listed = self.lease("reader", &["list", "--format", "json"]);
        assert_eq!(listed.code, 0, "{}", listed.stderr);
        json(&listed.stdout)["resources"].clone()
    }

    fn state_of(&self, name: &str) -> (String, String) {
        let resources = self.resources();
        let resource =
            resources.as_array().expect("a list").iter().find(|r| r["name"] == name).expect("listed").clone();
        (
            resource["state"].as_str().unwrap_or_default().to_owned(),
            resource["owner"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CONFIG: &str = "resources:\n- type: gce-project\n  names: [proj-1]\n- type: aws-account\n  names: [acct-1]\n  reaper: {expire: 1s}\n";

/// Gives acct-1 credentials in its userdata, as an AWS account pool's setup does.
fn with_credentials(served: &Served) {
    let taken = served.lease("setup", &["acquire", "--type", "aws-account"]);
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let status = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            "-d",
            r#"{"access-key-id":"AKIAEXAMPLE123","secret-access-key":"wJalrXUtnFEMI-secret"}"#,
        ])
        .arg(format!("http://{}/update?name=acct-1&owner=setup&state=busy", served.address))
        .status()
        .expect("curl");
    assert!(status.success());
    assert_eq!(served.lease("setup", &["release", "acct-1", "--dest", "free"]).code, 0);
}

#[test]
fn acquire_release_and_list_against_a_running_server() {
    let served = Served::start(CONFIG);
    let taken = served.lease("job-a", &["acquire", "--type", "gce-project"]);
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let resource = json(&taken.stdout);
    assert_eq!(
        (resource["name"].as_str(), resource["state"].as_str(), resource["owner"].as_str()),
        (Some("proj-1"), Some("busy"), Some("job-a"))
    );

    let none = served.lease("job-b", &["acquire", "--type", "gce-project", "--wait", "1s"]);
    assert_eq!(none.code, 4, "nothing free in time: {}", none.stderr);
    insta::assert_snapshot!(
        "acquire-timed-out",
        render_runs(&none, served.path()).replace(&served.address, "[SERVER]")
    );

    let wrong = served.lease("job-b", &["release", "proj-1"]);
    assert_eq!(wrong.code, 1, "someone else's lease: {}", wrong.stderr);
    assert!(wrong.stderr.contains("owner mismatch request by job-b, currently owned by job-a"), "{}", wrong.stderr);
    assert_eq!(served.lease("job-a", &["heartbeat", "proj-1"]).code, 0);
    assert_eq!(served.lease("job-a", &["release", "proj-1"]).code, 0);
    assert_eq!(served.state_of("proj-1"), ("dirty".to_owned(), String::new()), "released dirty by default");
}

#[test]
fn lease_run_gives_the_command_its_credentials_masked_and_releases_dirty() {
    let served = Served::start(CONFIG);
    with_credentials(&served);
    let script = "test \"$AWS_ACCESS_KEY_ID\" = AKIAEXAMPLE123 && test \"$BOSKOS_RESOURCE\" = acct-1 && echo key=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY && exit 7";
    let run = served.lease("job-run", &["run", "--type", "aws-account", "--", "sh", "-c", script]);
    assert_eq!(run.code, 7, "the command's exit code: {}", run.stderr);
    assert_eq!(run.stdout, "key=*** secret=***\n", "credentials never reach the terminal");
    assert_eq!(served.state_of("acct-1"), ("dirty".to_owned(), String::new()));
}

#[test]
fn sigterm_gives_the_lease_back_and_kill_9_leaves_it_to_the_reaper() {
    let served = Served::start(CONFIG);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args([
                "lease",
                "run",
                "--type",
                "aws-account",
                "--server",
                &served.address,
                "--owner",
                "long",
                "--heartbeat",
                "200ms",
                "--",
                "sleep",
                "60",
            ])
            .current_dir(served.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lease run")
    };
    let wait_busy = || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while served.state_of("acct-1").0 != "busy" {
            assert!(Instant::now() < deadline, "never leased");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let child = spawn();
    wait_busy();
    // Heartbeats keep the 1s reaper away while it runs.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(served.state_of("acct-1"), ("busy".to_owned(), "long".to_owned()));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("terminate");
    let output = child.wait_with_output().expect("lease run ends");
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(served.state_of("acct-1"), ("dirty".to_owned(), String::new()));

    assert_eq!(served.lease("setup", &["acquire", "--type", "aws-account", "--state", "dirty"]).code, 0);
    assert_eq!(served.lease("setup", &["release", "acct-1", "--dest", "free"]).code, 0);
    let mut child = spawn();
    wait_busy();
    child.kill().expect("kill -9");
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(30);
    while served.state_of("acct-1") != ("dirty".to_owned(), String::new()) {
        assert!(Instant::now() < deadline, "the reaper takes the lease back: {:?}", served.state_of("acct-1"));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn bad_configuration_and_unsafe_addresses_are_refused() {
    let directory = tempfile::tempdir().expect("temporary directory");
    fs_err::write(
        directory.path().join("resources.yaml"),
        "resources:\n- type: t\n  names: [Bad_Name, ok]\n- type: t\n  names: [ok]\n- type: d\n  max-count: 0\n",
    )
    .expect("write");
    let invalid = slipway(directory.path(), &["lease", "serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(invalid.code, 2);
    insta::assert_snapshot!("serve-invalid-config", render_runs(&invalid, directory.path()));

    fs_err::write(directory.path().join("resources.yaml"), CONFIG).expect("write");
    let open = slipway(directory.path(), &["lease", "serve", "--listen", "0.0.0.0:18099"]);
    assert_eq!(open.code, 2);
    insta::assert_snapshot!("serve-needs-token", render_runs(&open, directory.path()));

    // `--config` names resources.yaml, never slipway.yaml: no warning about its keys.
    fs_err::write(directory.path().join("pool.yaml"), CONFIG).expect("write");
    let mut named = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["lease", "serve", "--config", "pool.yaml", "--listen", "127.0.0.1:0"])
        .current_dir(directory.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut said = String::new();
    let mut reader = std::io::BufReader::new(named.stderr.take().expect("stderr"));
    while !said.contains("serving the Boskos API") {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 {
            break;
        }
        said.push_str(&line);
    }
    let _ = named.kill();
    let _ = named.wait();
    assert!(said.contains("from pool.yaml") || said.contains("pool.yaml;"), "{said}");
    assert!(!said.contains("unknown key"), "{said}");

    let no_server = slipway_with_env(directory.path(), &["lease", "acquire", "--type", "t"], &[]);
    assert_eq!(no_server.code, 2);
    insta::assert_snapshot!("no-server", render_runs(&no_server, directory.path()));

    let bad_wait =
        slipway(directory.path(), &["lease", "acquire", "--type", "t", "--server", "127.0.0.1:1", "--wait", "soon"]);
    assert_eq!(bad_wait.code, 2, "{}", bad_wait.stderr);
}

#[test]
fn boskos_host_names_the_server_as_prow_jobs_set_it() {
    let served = Served::start(CONFIG);
    let taken = slipway_with_env(
        served.path(),
        &["lease", "acquire", "--type", "gce-project"],
        &[("BOSKOS_HOST", served.address.as_str()), ("JOB_NAME", "ci-kops-e2e")],
    );
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    assert_eq!(json(&taken.stdout)["owner"], "ci-kops-e2e", "the owner is the job's name");
}

#[test]
fn a_job_holds_its_leases_while_it_runs_with_credentials_masked_in_its_log() {
    let served = Served::start(CONFIG);
    with_credentials(&served);
    let project = tempfile::tempdir().expect("project");
    fs_err::write(
        project.path().join("slipway.yaml"),
        format!(
            "leases:\n  server: {address}\njobs:\n- name: e2e\n  leases: [{{type: aws-account}}]\n  env: {{API_TOKEN: tok-abcdef123}}\n  secret_env: [API_TOKEN]\n  secret_files: [sa.key]\n  command: 'test \"$AWS_ACCESS_KEY_ID\" = AKIAEXAMPLE123 && echo host=$BOSKOS_HOST key=$AWS_ACCESS_KEY_ID token=$API_TOKEN && cat sa.key'\n- name: needs-lease\n  leases: [{{type: aws-account}}]\n  command: 'true'\n",
            address = served.address
        ),
    )
    .expect("slipway.yaml");
    fs_err::write(project.path().join("sa.key"), "-----BEGIN KEY-----\nMIIEsecretkeymaterial\n-----END KEY-----\n")
        .expect("key");
    let run = slipway(project.path(), &["job", "run", "e2e"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let build = crate::support::build_dir(project.path(), "e2e");
    let log = fs_err::read_to_string(build.join("build-log.txt")).expect("the log");
    assert!(log.contains(&format!("host={} key=*** token=***", served.address)), "{log}");
    assert!(!log.contains("AKIAEXAMPLE123") && !log.contains("tok-abcdef123"), "{log}");
    assert!(!log.contains("MIIEsecretkeymaterial"), "secret files are masked: {log}");
    let prowjob = fs_err::read_to_string(build.join("prowjob.json")).expect("prowjob.json");
    assert!(!prowjob.contains("tok-abcdef123") && prowjob.contains("***"), "the secret env value is masked: {prowjob}");
    assert_eq!(served.state_of("acct-1"), ("dirty".to_owned(), String::new()), "given back dirty");

    // Without a server, a job that needs a lease is refused before it starts, and recorded.
    fs_err::write(
        project.path().join("slipway.yaml"),
        "jobs:\n- name: needs-lease\n  leases: [{type: aws-account}]\n  command: 'true'\n",
    )
    .expect("slipway.yaml");
    let refused = slipway(project.path(), &["job", "run", "needs-lease"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    insta::assert_snapshot!("job-needs-a-lease-server", render_runs(&refused, project.path()));
}

#[test]
fn a_job_waits_for_a_lease_and_gives_up_with_exit_4_when_its_timeout_passes() {
    let served = Served::start(CONFIG);
    assert_eq!(served.lease("holder", &["acquire", "--type", "gce-project"]).code, 0);
    let project = tempfile::tempdir().expect("project");
    fs_err::write(
        project.path().join("slipway.yaml"),
        format!(
            "leases:\n  server: {}\njobs:\n- name: e2e\n  timeout: 4s\n  leases: [{{type: gce-project}}]\n  command: 'true'\n",
            served.address
        ),
    )
    .expect("slipway.yaml");
    fs_err::write(project.path().join("sa.key"), "-----BEGIN KEY-----\nMIIEsecretkeymaterial\n-----END KEY-----\n")
        .expect("key");
    let waiting = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["job", "run", "e2e"])
        .current_dir(project.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("job run");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = slipway(project.path(), &["runs", "list", "--state", "running"]);
        if listed.stdout.contains("waiting for a gce-project lease") {
            break;
        }
        assert!(Instant::now() < deadline, "runs list shows the wait: {}", listed.stdout);
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = waiting.wait_with_output().expect("job run ends");
    let run = crate::support::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("waiting: e2e needs a gce-project lease and none is free yet"), "{}", run.stderr);
    let listed = json(&slipway(project.path(), &["runs", "list", "--format", "json"]).stdout);
    assert_eq!(listed["runs"][0]["state"], "error", "recorded, never left running: {listed}");
}

#[test]
fn sighup_rereads_the_configuration() {
    let served = Served::start(CONFIG);
    let path = served.path().join("resources.yaml");
    let reference = served.path().join("reference");
    let copied = Command::new("cp").args(["-p"]).arg(&path).arg(&reference).status().expect("cp");
    assert!(copied.success());
    fs_err::write(&path, format!("{CONFIG}- type: cluster\n  names: [cluster-1]\n")).expect("rewrite");
    // The same modification time as before: only SIGHUP can tell the server to look again.
    let touched = Command::new("touch").arg("-r").arg(&reference).arg(&path).status().expect("touch");
    assert!(touched.success());
    std::thread::sleep(Duration::from_millis(1500));
    let has_cluster = || served.resources().as_array().expect("list").iter().any(|r| r["name"] == "cluster-1");
    assert!(!has_cluster(), "not re-read without a reason");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(served.child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("hangup");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !has_cluster() {
        assert!(Instant::now() < deadline, "SIGHUP re-reads resources.yaml");
        std::thread::sleep(Duration::from_millis(100));
    }
}
