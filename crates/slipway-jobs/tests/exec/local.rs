use std::time::Duration;

use slipway_jobs::exec::{CancellationToken, ExecError, Executor, LocalProcess, Outcome};
use slipway_jobs::job::Run;

use super::{alive, launch, log, read, wait_for_content};

fn shell(line: &str) -> Run {
    Run::Host { argv: vec!["sh".to_owned(), "-c".to_owned(), line.to_owned()] }
}

async fn run(launch: slipway_jobs::exec::Launch) -> Outcome {
    LocalProcess.run(launch, CancellationToken::new()).await.expect("the job runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_signals() {
    let directory = tempfile::tempdir().expect("temporary directory");
    assert_eq!(run(launch(directory.path(), "pass", shell("exit 0"))).await, Outcome::Exited { code: 0 });
    assert_eq!(run(launch(directory.path(), "fail", shell("exit 7"))).await, Outcome::Exited { code: 7 });
    assert_eq!(run(launch(directory.path(), "crash", shell("kill -SEGV $$"))).await, Outcome::Signalled { signal: 11 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_working_directory_and_log() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let mut launch = launch(
        directory.path(),
        "env",
        shell(
            "echo \"foo=$FOO pwd=$PWD\"; sleep 0.1; echo to-stderr >&2; sleep 0.1; echo made > made.txt; echo kept > \"$ARTIFACTS/junit.xml\"; echo last",
        ),
    );
    launch.env.insert("FOO".to_owned(), "bar".to_owned());
    launch.env.insert("ARTIFACTS".to_owned(), "/not/this".to_owned());
    launch.workdir = Some("src/app".to_owned());
    assert_eq!(run(launch.clone()).await, Outcome::Exited { code: 0 });
    let workdir = directory.path().join("workspace/src/app");
    assert_eq!(log(&launch), format!("foo=bar pwd={}\nto-stderr\nlast\n", workdir.display()));
    assert_eq!(read(workdir.join("made.txt")), "made\n");
    assert_eq!(read(directory.path().join("artifacts/junit.xml")), "kept\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_terminates_the_whole_group() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let mut launch = launch(
        directory.path(),
        "slow",
        shell("trap 'echo got TERM; exit 3' TERM; sleep 100 & echo $! > ../sleep.pid; wait"),
    );
    launch.timeout = Duration::from_secs(1);
    launch.grace_period = Duration::from_secs(30);
    let outcome = run(launch.clone()).await;
    assert_eq!(outcome, Outcome::TimedOut { after: Duration::from_secs(1), killed: false });
    assert_eq!(log(&launch), "got TERM\nslipway: timed out after 1s; sent SIGTERM\n");
    let pid = read(directory.path().join("sleep.pid"));
    assert!(!alive(&pid), "the grandchild {} survived", pid.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_ignoring_sigterm_is_killed_after_the_grace_period() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let mut launch = launch(
        directory.path(),
        "stubborn",
        shell("trap '' TERM; sleep 100 & echo $! > ../sleep.pid; echo waiting; wait"),
    );
    launch.timeout = Duration::from_secs(1);
    launch.grace_period = Duration::from_secs(1);
    let outcome = run(launch.clone()).await;
    assert_eq!(outcome, Outcome::TimedOut { after: Duration::from_secs(1), killed: true });
    assert_eq!(
        log(&launch),
        "waiting\nslipway: timed out after 1s; sent SIGTERM, then SIGKILL when the 1s grace period ran out\n"
    );
    let pid = read(directory.path().join("sleep.pid"));
    assert!(!alive(&pid), "the grandchild {} survived", pid.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_left_behind_are_killed() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let launch = launch(directory.path(), "leaves", shell("sleep 100 & echo $! > ../sleep.pid"));
    assert_eq!(run(launch.clone()).await, Outcome::Exited { code: 0 });
    assert_eq!(
        log(&launch),
        "slipway: the job's main process ended, leaving processes in its group; sent them SIGKILL\n"
    );
    let pid = read(directory.path().join("sleep.pid"));
    assert!(!alive(&pid), "the background process {} survived", pid.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_aborts_the_job() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let launch = launch(directory.path(), "cancelled", shell("echo started; sleep 100; echo never"));
    let cancel = CancellationToken::new();
    let running = tokio::spawn({
        let (launch, cancel) = (launch.clone(), cancel.clone());
        async move { LocalProcess.run(launch, cancel).await }
    });
    wait_for_content(&launch.log).await;
    cancel.cancel();
    let outcome = running.await.expect("the run task").expect("the job runs");
    assert_eq!(outcome, Outcome::Aborted { killed: false });
    assert_eq!(log(&launch), "started\nslipway: aborted; sent SIGTERM\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_command_is_a_usage_error() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let run = Run::Host { argv: vec!["slipway-no-such-command".to_owned(), "--flag".to_owned()] };
    let error = LocalProcess
        .run(launch(directory.path(), "missing", run), CancellationToken::new())
        .await
        .expect_err("nothing to run");
    assert!(
        matches!(&error, ExecError::CommandNotFound { job, program } if job == "missing" && program == "slipway-no-such-command"),
        "{error:?}"
    );
    assert_eq!(error.exit_code(), 2);
    assert_eq!(error.to_string(), "job `missing`: command `slipway-no-such-command` not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_job_is_not_for_the_local_executor() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let run = Run::Container { image: "busybox".to_owned(), command: Vec::new(), args: Vec::new() };
    let error = LocalProcess
        .run(launch(directory.path(), "boxed", run), CancellationToken::new())
        .await
        .expect_err("not a host job");
    assert_eq!(error.to_string(), "job `boxed`: the local executor cannot run a container image");
    assert_eq!(error.exit_code(), 2);
}
