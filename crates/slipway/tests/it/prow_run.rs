//! `slipway job run --prow-config`: a decorated Prow job run the way its pod would run, in a
//! podman container from the local registry, with its refs cloned from a local repository.

use std::path::Path;

use slipway_core::ImageReference;
use slipway_test::git::TempRepo;

use crate::support::slipway_with_env;

/// A busybox image pushed to the local registry.
pub(crate) fn busybox() -> String {
    let image =
        format!("{}/{}:1", slipway_test::registry::address(), slipway_test::registry::unique_repository("prow"));
    let reference = ImageReference::parse(&image).expect("valid reference");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(slipway_test::images::push_busybox_base(&slipway_test::registry::client(), &reference));
    image
}

fn podman_environment() -> Vec<(&'static str, String)> {
    slipway_test::podman::environment().into_iter().map(|(name, path)| (name, path.display().to_string())).collect()
}

/// Runs slipway with podman's test configuration, and a Docker config podman can read (podman
/// refuses a DOCKER_CONFIG directory without a config.json).
pub(crate) fn run(directory: &Path, args: &[&str]) -> crate::support::Run {
    let docker = directory.join("docker-config");
    fs_err::create_dir_all(&docker).expect("docker config directory");
    fs_err::write(docker.join("config.json"), "{}").expect("docker config");
    let mut environment = podman_environment();
    environment.push(("DOCKER_CONFIG", docker.display().to_string()));
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();
    slipway_with_env(directory, args, &pairs)
}

const CONFIG: &str = r#"
presets:
- labels: {preset-greeting: "true"}
  env:
  - {name: GREETING, value: hello-from-preset}
"#;

fn jobs(image: &str, data: &Path) -> String {
    format!(
        r#"
periodics:
- name: ci-demo-periodic
  interval: 1h
  decorate: true
  labels: {{preset-greeting: "true"}}
  decoration_config: {{timeout: 5m}}
  extra_refs:
  - {{org: example, repo: demo, base_ref: main, path_alias: example.dev/demo, workdir: true}}
  spec:
    containers:
    - image: {image}
      command: [sh, -c]
      args:
      - 'echo "$GREETING job=$JOB_NAME type=$JOB_TYPE build=$BUILD_ID id=$PROW_JOB_ID"; pwd; cat README; cat /data/file; echo "<testsuite/>" > $ARTIFACTS/junit_demo.xml'
      env:
      - {{name: TOKEN, valueFrom: {{secretKeyRef: {{name: bot, key: token}}}}}}
      volumeMounts:
      - {{name: data, mountPath: /data, readOnly: true}}
      - {{name: creds, mountPath: /etc/creds}}
    volumes:
    - {{name: data, hostPath: {{path: {data}}}}}
    - {{name: creds, secret: {{secretName: service-account}}}}
postsubmits:
  example/demo:
  - name: post-demo-push
    decorate: true
    branches: [^main$]
    spec:
      containers:
      - image: {image}
        command: [sh, -c, 'echo "owner=$REPO_OWNER name=$REPO_NAME base=$PULL_BASE_REF sha=$PULL_BASE_SHA type=$JOB_TYPE"; cat README']
"#,
        data = data.display()
    )
}

#[test]
fn a_prow_periodic_and_postsubmit_run_in_podman_as_their_pods_would() {
    let image = busybox();
    let source = TempRepo::new();
    source.write("README", "the demo repository\n");
    source.commit("first");
    source.git(&["branch", "-M", "main"]);
    let head = source.git(&["rev-parse", "HEAD"]).trim().to_owned();

    let directory = tempfile::tempdir().expect("temporary directory");
    let data = directory.path().join("data");
    fs_err::create_dir_all(&data).expect("data directory");
    fs_err::write(data.join("file"), "host data\n").expect("data file");
    let config = directory.path().join("prow");
    fs_err::create_dir_all(config.join("jobs")).expect("config directory");
    fs_err::write(config.join("config.yaml"), CONFIG).expect("config.yaml");
    fs_err::write(config.join("jobs/demo.yaml"), jobs(&image, &data)).expect("jobs");
    let reference = format!("example/demo={}", source.path().display());
    let prow = config.display().to_string();

    let periodic = run(
        directory.path(),
        &["job", "run", "--prow-config", &prow, "ci-demo-periodic", "--ref", &reference, "--format", "json"],
    );
    assert_eq!(periodic.code, 0, "{}\n{}", periodic.stdout, periodic.stderr);
    assert!(periodic.stderr.contains("env TOKEN comes from"), "{}", periodic.stderr);
    assert!(
        periodic.stderr.contains("volume `creds`") && periodic.stderr.contains("--volume creds=PATH"),
        "{}",
        periodic.stderr
    );
    let recorded: serde_json::Value = serde_json::from_str(&periodic.stdout).expect("JSON");
    let build = recorded["runs"][0]["build_id"].as_str().expect("build id").to_owned();
    let id = recorded["runs"][0]["id"].as_str().expect("id").to_owned();
    let build_dir = directory.path().join(".slipway/artifacts/logs/ci-demo-periodic").join(&build);
    let log = fs_err::read_to_string(build_dir.join("build-log.txt")).expect("log");
    assert!(
        log.contains(&format!("hello-from-preset job=ci-demo-periodic type=periodic build={build} id={id}")),
        "{log}"
    );
    assert!(log.contains("/workspace/src/example.dev/demo"), "the workdir ref is the working directory: {log}");
    assert!(log.contains("the demo repository") && log.contains("host data"), "{log}");
    assert!(build_dir.join("artifacts/junit_demo.xml").is_file());
    let started: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(build_dir.join("started.json")).expect("started")).expect("JSON");
    assert_eq!(started["repo-commit"], head.as_str());

    let post = run(directory.path(), &["job", "run", "--prow-config", &prow, "post-demo-push", "--ref", &reference]);
    assert_eq!(post.code, 0, "{}\n{}", post.stdout, post.stderr);
    let post_dir = directory.path().join(".slipway/artifacts/logs/post-demo-push");
    let build = fs_err::read_to_string(post_dir.join("latest-build.txt")).expect("latest");
    let log = fs_err::read_to_string(post_dir.join(&build).join("build-log.txt")).expect("log");
    assert!(log.contains(&format!("owner=example name=demo base=main sha={head} type=postsubmit")), "{log}");

    let missing = run(directory.path(), &["job", "run", "--prow-config", &prow, "ci-no-such-job"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("no Prow job named `ci-no-such-job`"), "{}", missing.stderr);
}

#[test]
fn an_image_that_cannot_be_pulled_is_an_infrastructure_error() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let image = format!(
        "{}/{}:missing",
        slipway_test::registry::address(),
        slipway_test::registry::unique_repository("absent")
    );
    fs_err::write(
        directory.path().join("slipway.yaml"),
        format!("jobs:\n- name: in-container\n  image: {image}\n  command: [sh, -c, 'echo hi']\n"),
    )
    .expect("config");
    let result = run(directory.path(), &["job", "run", "in-container"]);
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(result.stderr.contains(&image), "{}", result.stderr);
    let runs = run(directory.path(), &["runs", "list", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout).expect("JSON");
    assert_eq!(runs["runs"][0]["state"], "error", "recorded as an error, not left running");
}

/// The same slipway.yaml container job on each engine: podman (whatever its init) and Docker.
#[test]
fn a_container_job_runs_on_podman_and_on_docker() {
    let image = busybox();
    let directory = tempfile::tempdir().expect("temporary directory");
    fs_err::write(
        directory.path().join("slipway.yaml"),
        format!("jobs:\n- name: engines\n  image: {image}\n  command: [sh, -c]\n  args: ['echo ran as pid $$; echo out > $ARTIFACTS/out.txt']\n"),
    )
    .expect("write");
    let mut podman = podman_environment();
    podman.push(("SLIPWAY_CONTAINER_ENGINE", "podman".to_owned()));
    let docker: Vec<(&str, String)> = slipway_test::docker::environment()
        .into_iter()
        .chain([("SLIPWAY_CONTAINER_ENGINE", "docker".to_owned())])
        .collect();
    let mut none = podman.clone();
    none.push(("SLIPWAY_CONTAINER_INIT", "none".to_owned()));
    for (engine, environment) in [("podman", &podman), ("docker", &docker), ("podman without init", &none)] {
        let environment: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let run = slipway_with_env(directory.path(), &["job", "run", "engines", "--follow"], &environment);
        assert_eq!(run.code, 0, "{engine}: {}{}", run.stdout, run.stderr);
        let pid_one = run.stderr.contains("ran as pid 1\n");
        assert_eq!(pid_one, engine == "podman without init", "{engine}: {}", run.stderr);
    }
    let run =
        slipway_with_env(directory.path(), &["job", "run", "engines"], &[("SLIPWAY_CONTAINER_ENGINE", "containerd")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("SLIPWAY_CONTAINER_ENGINE is `containerd`"), "{}", run.stderr);
}
