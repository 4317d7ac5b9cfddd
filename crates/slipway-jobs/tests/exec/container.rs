use std::time::Duration;

use slipway_core::ImageReference;
use slipway_jobs::exec::{CancellationToken, Container, Engine, ExecError, Executor, Launch, Mount, Outcome};
use slipway_jobs::job::Run;

use super::{launch, log, read};

/// podman with the test configuration (runc, vfs storage, fixed rlimits).
fn podman() -> Container {
    Container::new(Engine::Podman).with_environment(slipway_test::podman::environment())
}

/// A busybox image (`sh`, `echo`, `cat`, `mkdir`, `cp`, `ls`) pushed to the local registry.
async fn busybox() -> String {
    let image =
        format!("{}/{}:1", slipway_test::registry::address(), slipway_test::registry::unique_repository("exec"));
    let reference = ImageReference::parse(&image).expect("valid reference");
    slipway_test::images::push_busybox_base(&slipway_test::registry::client(), &reference).await;
    image
}

fn shell(image: &str, script: &str) -> Run {
    Run::Container {
        image: image.to_owned(),
        command: vec!["sh".to_owned(), "-c".to_owned()],
        args: vec![script.to_owned()],
    }
}

/// Names of the containers of `job` that still exist.
fn containers_of(job: &str) -> String {
    let output = slipway_test::podman::command()
        .args(["ps", "--all", "--format", "{{.Names}}", "--filter", &format!("label=slipway.job={job}")])
        .output()
        .expect("podman runs");
    assert!(output.status.success(), "podman ps: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn unique_job(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

async fn run(launch: Launch) -> Result<Outcome, ExecError> {
    podman().run(launch, CancellationToken::new()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_in_a_container_with_its_mounts_and_environment() {
    let image = busybox().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let config = directory.path().join("config");
    fs_err::create_dir_all(&config).expect("create config");
    fs_err::write(config.join("data.txt"), "from the host\n").expect("write config");
    let script = r#"
echo "foo=$FOO artifacts=$ARTIFACTS pwd=$(pwd)"
echo to-stderr >&2
echo result > "$ARTIFACTS/result.txt"
echo made > made.txt
cat /config/data.txt
if ( echo x > /config/new ) 2>/dev/null; then echo config is writable; else echo config is read-only; fi
echo scratch > /scratch/file && cat /scratch/file
exit 4
"#;
    let job = unique_job("in-container");
    let mut launch = launch(directory.path(), &job, shell(&image, script));
    launch.env.insert("FOO".to_owned(), "bar baz".to_owned());
    launch.workdir = Some("src".to_owned());
    launch.volumes = vec![
        Mount { name: "config".to_owned(), host: Some(config.clone()), target: "/config".to_owned(), read_only: true },
        Mount { name: "scratch".to_owned(), host: None, target: "/scratch".to_owned(), read_only: false },
    ];
    assert_eq!(run(launch.clone()).await.expect("the job runs"), Outcome::Exited { code: 4 });
    let log = log(&launch);
    for line in [
        "foo=bar baz artifacts=/logs/artifacts pwd=/workspace/src\n",
        "to-stderr\n",
        "from the host\n",
        "config is read-only\n",
        "scratch\n",
    ] {
        assert!(log.contains(line), "{line:?} not in the log:\n{log}");
    }
    assert_eq!(read(directory.path().join("artifacts/result.txt")), "result\n");
    assert_eq!(read(directory.path().join("workspace/src/made.txt")), "made\n");
    assert!(!config.join("new").exists());
    assert_eq!(containers_of(&job), "", "the container was not removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_stops_the_container() {
    let image = busybox().await;
    let directory = tempfile::tempdir().expect("temporary directory");

    // The command gets SIGTERM (through the container's init) and exits by itself.
    let job = unique_job("container-timeout");
    let mut launch = launch(
        directory.path(),
        &job,
        shell(&image, "trap 'echo got TERM; exit 3' TERM; echo started; busybox sleep 100 & wait"),
    );
    launch.timeout = Duration::from_secs(2);
    launch.grace_period = Duration::from_secs(30);
    let outcome = run(launch.clone()).await.expect("the job runs");
    assert_eq!(outcome, Outcome::TimedOut { after: Duration::from_secs(2), killed: false });
    assert_eq!(log(&launch), "started\ngot TERM\nslipway: timed out after 2s; sent SIGTERM\n");
    assert_eq!(containers_of(&job), "");

    // A command that ignores SIGTERM is killed when the grace period runs out.
    let job = unique_job("container-stubborn");
    let mut launch =
        super::launch(directory.path(), &job, shell(&image, "trap '' TERM; echo started; busybox sleep 100 & wait"));
    launch.timeout = Duration::from_secs(2);
    launch.grace_period = Duration::from_secs(1);
    let outcome = run(launch.clone()).await.expect("the job runs");
    assert_eq!(outcome, Outcome::TimedOut { after: Duration::from_secs(2), killed: true });
    assert_eq!(
        log(&launch),
        "started\nslipway: timed out after 2s; sent SIGTERM, then SIGKILL when the 1s grace period ran out\n"
    );
    assert_eq!(containers_of(&job), "");
}

/// podman whose configuration names an init that is not there, as on a machine where tini
/// (from docker.io) satisfied podman's dependency instead of catatonit.
fn podman_without_its_init(directory: &std::path::Path, init: Option<&str>) -> Container {
    let environment = slipway_test::podman::environment();
    let (_, base) = environment.iter().find(|(name, _)| *name == "CONTAINERS_CONF").expect("the test configuration");
    let base = fs_err::read_to_string(base).expect("read containers.conf");
    let conf = directory.join("containers.conf");
    let with_missing_init =
        base.replacen("[containers]\n", "[containers]\ninit_path = \"/nonexistent/catatonit\"\n", 1);
    fs_err::write(&conf, with_missing_init).expect("write containers.conf");
    let mut container = Container::new(Engine::Podman)
        .with_environment(environment.iter().filter(|(name, _)| *name != "CONTAINERS_CONF").cloned())
        .with_environment([("CONTAINERS_CONF", conf.into_os_string())]);
    if let Some(init) = init {
        container = container.with_environment([("SLIPWAY_CONTAINER_INIT", init)]);
    }
    container
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_init_on_the_host_does_and_none_is_said() {
    let image = busybox().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let script = "trap 'echo got TERM; exit 3' TERM; echo started; busybox sleep 100 & wait";
    // The configured init is missing: slipway finds a static one on the host (catatonit or
    // tini-static, which scripts/test-services.sh installs), and SIGTERM still reaches the job.
    for (init, expected) in [(None, "auto"), (Some("/usr/bin/tini-static"), "tini")] {
        let container = podman_without_its_init(directory.path(), init);
        assert_ne!(container.init(), slipway_jobs::exec::init::Init::None, "{expected}");
        let job = unique_job(&format!("init-{expected}"));
        let mut launch = launch(directory.path(), &job, shell(&image, script));
        launch.timeout = Duration::from_secs(2);
        launch.grace_period = Duration::from_secs(30);
        let outcome = container.run(launch.clone(), CancellationToken::new()).await.expect("the job runs");
        assert_eq!(outcome, Outcome::TimedOut { after: Duration::from_secs(2), killed: false }, "{expected}");
        assert_eq!(log(&launch), "started\ngot TERM\nslipway: timed out after 2s; sent SIGTERM\n", "{expected}");
    }
    // No init at all: the job still runs, and its log says what that means.
    let container = podman_without_its_init(directory.path(), Some("none"));
    let job = unique_job("init-none");
    let launch = launch(directory.path(), &job, shell(&image, "echo pid $$"));
    assert_eq!(
        container.run(launch.clone(), CancellationToken::new()).await.expect("runs"),
        Outcome::Exited { code: 0 }
    );
    let text = log(&launch);
    assert!(text.starts_with("pid 1\n"), "the job is PID 1: {text}");
    assert!(text.contains("slipway: no init for the container"), "{text}");
}

/// An image only the engine has (built or tagged locally, as `localhost/...`) runs with the
/// default policy; `always` tries the registry and fails; `never` needs the image there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_policies_let_local_images_run() {
    use slipway_jobs::exec::PullPolicy;
    let image = busybox().await;
    let local = format!("localhost/slipway-local-{}:dev", std::process::id());
    let pulled = slipway_test::podman::command().args(["pull", "--tls-verify=false", &image]).output().expect("podman");
    assert!(pulled.status.success(), "{}", String::from_utf8_lossy(&pulled.stderr));
    let tagged = slipway_test::podman::command().args(["tag", &image, &local]).output().expect("podman");
    assert!(tagged.status.success(), "{}", String::from_utf8_lossy(&tagged.stderr));
    let directory = tempfile::tempdir().expect("temporary directory");

    let mut launch = launch(directory.path(), &unique_job("local-image"), shell(&local, "echo local"));
    assert_eq!(run(launch.clone()).await.expect("runs from the local store"), Outcome::Exited { code: 0 });
    assert_eq!(log(&launch), "local\n");

    launch.pull = PullPolicy::Always;
    let error = run(launch.clone()).await.expect_err("localhost is no registry");
    assert!(matches!(error, ExecError::ImagePull { .. }), "{error:?}");

    let absent = format!("localhost/slipway-absent-{}:dev", std::process::id());
    let mut never = super::launch(directory.path(), &unique_job("never"), shell(&absent, "true"));
    never.pull = PullPolicy::Never;
    let error = run(never).await.expect_err("not there");
    assert!(matches!(&error, ExecError::ImageMissing { image, .. } if *image == absent), "{error:?}");
    assert_eq!(error.exit_code(), 2);
    let _ = slipway_test::podman::command().args(["rmi", &local]).output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_be_pulled_is_an_infrastructure_error() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let image = format!(
        "{}/{}:1",
        slipway_test::registry::address(),
        slipway_test::registry::unique_repository("never-pushed")
    );
    let error = run(launch(directory.path(), "unpullable", shell(&image, "true"))).await.expect_err("no such image");
    match &error {
        ExecError::ImagePull { image: named, output } => {
            assert_eq!(named, &image);
            assert!(output.contains("manifest unknown"), "{output}");
        }
        other => panic!("expected ImagePull, got {other:?}"),
    }
    assert_eq!(error.exit_code(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_missing_from_the_image_is_a_usage_error() {
    let image = busybox().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let job = unique_job("container-missing");
    let run_spec = Run::Container { image, command: vec!["/bin/make".to_owned()], args: vec!["test".to_owned()] };
    let error = run(launch(directory.path(), &job, run_spec)).await.expect_err("no make in busybox");
    assert!(matches!(&error, ExecError::CommandNotFound { program, .. } if program == "/bin/make"), "{error:?}");
    assert_eq!(error.exit_code(), 2);
    assert_eq!(containers_of(&job), "");
}

/// docker, talking to the test daemon (Debian's docker.io, started by scripts/test-services.sh
/// with the test registry as an insecure registry).
fn docker() -> Container {
    Container::new(Engine::Docker).with_environment(slipway_test::docker::environment())
}

/// The same run through docker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_runs_a_job_with_its_environment_and_artifacts() {
    let image = busybox().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let job = unique_job("docker");
    let mut launch =
        launch(directory.path(), &job, shell(&image, "echo \"foo=$FOO\"; echo done > \"$ARTIFACTS/out.txt\"; exit 5"));
    launch.env.insert("FOO".to_owned(), "bar".to_owned());
    let outcome = docker().run(launch.clone(), CancellationToken::new()).await.expect("the job runs");
    assert_eq!(outcome, Outcome::Exited { code: 5 });
    assert!(log(&launch).contains("foo=bar\n"), "{}", log(&launch));
    assert_eq!(read(directory.path().join("artifacts/out.txt")), "done\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_stops_a_container_on_timeout_and_reports_a_missing_command() {
    let image = busybox().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let job = unique_job("docker-timeout");
    let mut launch = launch(
        directory.path(),
        &job,
        shell(&image, "trap 'echo got TERM; exit 3' TERM; echo started; busybox sleep 100 & wait"),
    );
    launch.timeout = Duration::from_secs(2);
    launch.grace_period = Duration::from_secs(30);
    let outcome = docker().run(launch.clone(), CancellationToken::new()).await.expect("the job runs");
    assert_eq!(outcome, Outcome::TimedOut { after: Duration::from_secs(2), killed: false });
    assert_eq!(log(&launch), "started\ngot TERM\nslipway: timed out after 2s; sent SIGTERM\n");

    let job = unique_job("docker-missing");
    let run_spec = Run::Container { image, command: vec!["/bin/make".to_owned()], args: vec!["test".to_owned()] };
    let error = docker()
        .run(super::launch(directory.path(), &job, run_spec), CancellationToken::new())
        .await
        .expect_err("no make in busybox");
    assert!(matches!(&error, ExecError::CommandNotFound { program, .. } if program == "/bin/make"), "{error:?}");
    assert_eq!(error.exit_code(), 2);
}
