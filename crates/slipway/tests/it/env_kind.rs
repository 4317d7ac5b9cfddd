//! `slipway env node-image --build` and `env up/down/list` through the `kind` command line.
//!
//! kind itself cannot run here (it needs privileged containers), so a stand-in `kind` records
//! every command line slipway gives it and does what kind would with Docker: `build
//! node-image` builds a node-image-shaped image (`/kind/version`, ELF `kubelet`, `kubeadm`,
//! `kubectl`) with the real Docker daemon, which slipway then pushes to the real registry,
//! verifies and locks. The ignored tests at the end run the real kind.

use std::path::{Path, PathBuf};

use slipway_test::registry;
use slipway_test::upstream::Upstream;

use crate::support::{Run, json, project, slipway_with_env};

/// A `kind` that logs its arguments to `$FAKE_KIND_LOG` and acts like kind `$FAKE_KIND_VERSION`.
const FAKE_KIND: &str = r#"#!/bin/sh
echo "$*" >> "$FAKE_KIND_LOG"
case "$1 $2" in
  "version "*) echo "kind ${FAKE_KIND_VERSION:-v0.32.0} go1.25.1 linux/amd64"; exit 0 ;;
  "build node-image")
    if [ "$3" = "--help" ]; then
      echo '      --base-image string   name:tag of the base image to use for the build (default "docker.io/kindest/base:v20260820-69b56db7")'
      exit 0
    fi
    shift 2
    while [ $# -gt 0 ]; do
      case "$1" in
        --type) type="$2"; source="$3"; shift 3 ;;
        --image) image="$2"; shift 2 ;;
        --arch) arch="$2"; shift 2 ;;
        *) shift ;;
      esac
    done
    echo "Starting to build Kubernetes from $source"
    if [ -n "$FAKE_KIND_FAIL" ]; then echo "ERROR: failed to download $source: 404 Not Found" >&2; exit 1; fi
    case "$type" in
      release) version="$source" ;;
      *) version=$(basename "$(dirname "$source")") ;;
    esac
    binaries="$arch"
    if [ "$FAKE_KIND_WRONG_ARCH" = "$arch" ]; then binaries=amd64; fi
    context=$(mktemp -d)
    mkdir -p "$context/kind" "$context/usr/bin"
    printf '%s\n' "$version" > "$context/kind/version"
    for binary in kubelet kubeadm kubectl; do cp "$FAKE_KIND_BINARIES/$binaries" "$context/usr/bin/$binary"; done
    printf 'FROM scratch\nCOPY . /\nENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]\n' > "$context/Dockerfile"
    docker build --no-cache --platform "linux/$arch" -t "$image" "$context" || exit 1
    rm -rf "$context"
    echo "Image \"$image\" build completed."
    ;;
  "create cluster")
    shift 2
    while [ $# -gt 0 ]; do
      case "$1" in
        --name) name="$2"; shift 2 ;;
        --kubeconfig) kubeconfig="$2"; shift 2 ;;
        *) shift ;;
      esac
    done
    if [ -n "$FAKE_KIND_FAIL" ]; then echo "ERROR: failed to create cluster: node(s) already exist" >&2; exit 1; fi
    printf 'apiVersion: v1\nkind: Config\nclusters: [{name: kind-%s}]\n' "$name" > "$kubeconfig"
    echo "$name" >> "$FAKE_KIND_CLUSTERS"
    ;;
  "delete cluster")
    grep -vx "$4" "$FAKE_KIND_CLUSTERS" > "$FAKE_KIND_CLUSTERS.new"; mv "$FAKE_KIND_CLUSTERS.new" "$FAKE_KIND_CLUSTERS"
    ;;
  "get clusters") cat "$FAKE_KIND_CLUSTERS" ;;
  *) echo "unknown command $*" >&2; exit 2 ;;
esac
"#;

/// The stand-in kind, its log, the binaries it puts into images, and a kubectl that says yes.
struct FakeKind {
    directory: tempfile::TempDir,
}

impl FakeKind {
    fn new() -> FakeKind {
        let directory = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &[u8], mode: u32| {
            let path = directory.path().join(name);
            fs_err::write(&path, text).expect("write");
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        write("kind", FAKE_KIND.as_bytes(), 0o755);
        write("kubectl", b"#!/bin/sh\necho \"kubectl $*\" >> \"$FAKE_KIND_LOG\"\n", 0o755);
        fs_err::create_dir_all(directory.path().join("binaries")).expect("mkdir");
        for arch in ["amd64", "arm64"] {
            write(&format!("binaries/{arch}"), &slipway_test::elf::executable(arch), 0o755);
        }
        write("clusters", b"", 0o644);
        FakeKind { directory }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    fn log(&self) -> String {
        fs_err::read_to_string(self.path("log")).unwrap_or_default()
    }

    /// Runs slipway with this kind, the test Docker daemon and `extra` variables.
    fn slipway(&self, project: &Path, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let paths: Vec<String> = ["kind", "kubectl", "log", "binaries", "clusters"]
            .iter()
            .map(|name| self.path(name).display().to_string())
            .collect();
        let [docker] = slipway_test::docker::environment();
        let mut environment: Vec<(&str, &str)> = vec![
            ("SLIPWAY_KIND", &paths[0]),
            ("SLIPWAY_KUBECTL", &paths[1]),
            ("FAKE_KIND_LOG", &paths[2]),
            ("FAKE_KIND_BINARIES", &paths[3]),
            ("FAKE_KIND_CLUSTERS", &paths[4]),
            ("SLIPWAY_CONTAINER_ENGINE", "docker"),
            (docker.0, &docker.1),
        ];
        environment.extend_from_slice(extra);
        slipway_with_env(project, args, &environment)
    }
}

/// Writes slipway.lock pinning `(entry, kubernetes, image)` for this machine's architecture.
fn write_lock(project: &Path, entries: &[(&str, &str, &str)]) {
    let arch = slipway_core::platform::host_architecture();
    let mut text = String::from("version: 1\nnode_images:\n");
    for (entry, kubernetes, image) in entries {
        text.push_str(&format!(
            "- {{entry: {entry}, kubernetes: {kubernetes}, kind: v0.32.0, arch: {arch}, image: '{image}', source: published}}\n"
        ));
    }
    fs_err::write(project.join("slipway.lock"), text).expect("lock");
}

fn build_project(upstream: &Upstream, repository: &str, kubernetes: &str) -> tempfile::TempDir {
    project(&format!(
        "env:\n  kind: v0.32.0\n  kubernetes: [{kubernetes}]\n  arches: [amd64, arm64]\n  registry: {repository}\n  markers_url: {url}\n  kind_releases_url: {url}\n  parallel: 2\n  policy:\n    main: build\n    release-*: published-or-build\n",
        url = upstream.url
    ))
}

#[test]
fn missing_node_images_are_built_pushed_verified_indexed_and_locked() {
    let upstream = Upstream::start();
    upstream.file("ci/latest-1.37.txt", "v1.37.0-alpha.2.15+0123456789abcd");
    let repository = format!("{}/{}", registry::address(), registry::unique_repository("kind-node"));
    let project = build_project(&upstream, &repository, "v1.36.0, ci/latest-1.37");
    let kind = FakeKind::new();
    let lock = project.path().join("slipway.lock");

    let run = kind.slipway(project.path(), &["env", "node-image", "--branch", "main", "--format", "json"], &[]);
    assert_eq!(run.code, 1, "without --build nothing is built: {}", run.stderr);
    assert!(kind.log().is_empty(), "kind is not run without --build: {}", kind.log());

    let run =
        kind.slipway(project.path(), &["env", "node-image", "--branch", "main", "--build", "--format", "json"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = json(&run.stdout);
    let sources: Vec<&str> = report["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|image| image["source"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(sources, ["built"; 4]);
    let ci = &report["images"][2];
    assert_eq!(ci["kubernetes"], "v1.37.0-alpha.2.15+0123456789abcd");
    assert_eq!(
        ci["built_from"],
        format!("{}/ci/v1.37.0-alpha.2.15+0123456789abcd/kubernetes-server-linux-amd64.tar.gz", upstream.url)
    );
    assert!(
        ci["image"].as_str().is_some_and(|image| image
            .starts_with(&format!("{repository}:v1.37.0-alpha.2.15_0123456789abcd-kind-v0.32.0-amd64@sha256:"))),
        "{ci}"
    );
    assert_eq!(ci["base_image"], "docker.io/kindest/base:v20260820-69b56db7");
    let indexes: Vec<&str> = report["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .map(|index| index["image"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(indexes.len(), 2, "{report}");
    assert!(indexes[0].starts_with(&format!("{repository}:v1.36.0-kind-v0.32.0@sha256:")), "{indexes:?}");
    // The index is a real multi-arch node image.
    let verify = kind.slipway(
        project.path(),
        &["env", "node-image", "verify", indexes[0], "--kubernetes", "v1.36.0", "--arch", "amd64,arm64"],
        &[],
    );
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);

    let log = kind.log();
    let url = &upstream.url;
    assert!(
        log.contains(&format!("build node-image --type url {url}/release/v1.36.0/kubernetes-server-linux-arm64.tar.gz --image {repository}:v1.36.0-kind-v0.32.0-arm64 --arch arm64")),
        "{log}"
    );
    assert!(
        run.stderr.contains("building 4 node images with kind v0.32.0 on docker (2 at a time; logs in "),
        "{}",
        run.stderr
    );
    let locked = fs_err::read_to_string(&lock).expect("lock written");
    assert_eq!(locked.matches("source: built").count(), 4, "{locked}");
    assert!(locked.contains("base_image: docker.io/kindest/base:v20260820-69b56db7"), "{locked}");

    // Built once: a fresh resolution finds the images in the registry, verified, and builds
    // nothing.
    let builds = log.matches("build node-image --type").count();
    fs_err::remove_file(&lock).expect("remove lock");
    let run =
        kind.slipway(project.path(), &["env", "node-image", "--branch", "main", "--build", "--format", "json"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json(&run.stdout)["images"][0]["source"], "registry");
    assert_eq!(kind.log().matches("build node-image --type").count(), builds, "nothing is built twice");
}

#[test]
fn a_failed_build_keeps_its_log_and_leaves_the_lock_alone() {
    let upstream = Upstream::start();
    let repository = format!("{}/{}", registry::address(), registry::unique_repository("kind-node"));
    let project = build_project(&upstream, &repository, "v1.35.0");
    fs_err::write(project.path().join("slipway.lock"), "version: 1\nnode_images: []\n").expect("lock");
    let kind = FakeKind::new();
    let run =
        kind.slipway(project.path(), &["env", "node-image", "--branch", "main", "--build"], &[("FAKE_KIND_FAIL", "1")]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let log = project.path().join(".slipway/env/builds/v1.35.0-kind-v0.32.0-amd64.log");
    assert!(run.stdout.contains(&log.display().to_string()), "the error names the log: {}", run.stdout);
    assert!(run.stdout.contains("404 Not Found"), "and quotes its end: {}", run.stdout);
    let cross = slipway_core::platform::host_architecture() == "amd64"
        && !std::path::Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists();
    if cross {
        assert!(
            run.stdout.contains("tonistiigi/binfmt --install arm64"),
            "a cross build says what it needs: {}",
            run.stdout
        );
    }
    assert!(fs_err::read_to_string(&log).expect("log kept").contains("ERROR: failed to download"));
    assert_eq!(
        fs_err::read_to_string(project.path().join("slipway.lock")).expect("lock"),
        "version: 1\nnode_images: []\n"
    );

    let run = kind.slipway(
        project.path(),
        &["env", "node-image", "--branch", "main", "--build", "--format", "json"],
        &[("FAKE_KIND_WRONG_ARCH", "arm64")],
    );
    assert_eq!(run.code, 1, "a wrong-arch build fails verification: {}", run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["images"][0]["source"], "built", "{report}");
    let reason = report["images"][1]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("not a valid node image") && reason.contains("kubelet"), "{reason}");
}

#[test]
fn kind_and_the_container_engine_are_checked_before_building() {
    let upstream = Upstream::start();
    let repository = format!("{}/{}", registry::address(), registry::unique_repository("kind-node"));
    let project = build_project(&upstream, &repository, "v1.30.4");
    let kind = FakeKind::new();
    let args = ["env", "node-image", "--branch", "main", "--build"];

    let run = kind.slipway(project.path(), &args, &[("FAKE_KIND_VERSION", "v0.31.0")]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(run.stdout.contains("says v0.31.0, but env.kind is v0.32.0"), "{}", run.stdout);

    let run = kind.slipway(
        project.path(),
        &["env", "node-image", "--branch", "main", "--build", "--kind", "v0.25.0"],
        &[("FAKE_KIND_VERSION", "v0.25.0")],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("kind v0.25.0 cannot build") && run.stdout.contains("v0.26.0 or later"),
        "{}",
        run.stdout
    );

    let run = kind.slipway(project.path(), &args, &[("SLIPWAY_KIND", "/nonexistent/kind")]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        run.stdout.contains("kind is not installed") && run.stdout.contains("sigs.k8s.io/kind@v0.32.0"),
        "{}",
        run.stdout
    );

    let run = kind.slipway(
        project.path(),
        &args,
        &[("SLIPWAY_CONTAINER_ENGINE", ""), ("DOCKER_HOST", "unix:///nonexistent.sock"), ("PATH", "/nonexistent")],
    );
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        run.stdout.contains("no working Docker or podman") && run.stdout.contains("install docker.io"),
        "{}",
        run.stdout
    );
    assert!(!project.path().join("slipway.lock").exists());
}

#[test]
fn clusters_come_up_on_locked_images_and_go_down() {
    let image = format!("kindest/node:v1.36.1@sha256:{}", "a".repeat(64));
    let other = format!("kindest/node:v1.35.5@sha256:{}", "b".repeat(64));
    let project = project(
        "env:\n  kind: v0.32.0\n  kubernetes: [stable-1.36, v1.35.5]\n  cluster:\n    nodes: [control-plane, worker]\n    feature_gates: {InPlacePodVerticalScaling: true}\n    wait: 2m\n",
    );
    write_lock(project.path(), &[("v1.35.5", "v1.35.5", &other), ("stable-1.36", "v1.36.1", &image)]);
    let kind = FakeKind::new();
    let run = kind.slipway(project.path(), &["env", "up", "--matrix", "--name", "e2e"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let state = project.path().join(".slipway/env");
    let kubeconfigs: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
    assert_eq!(
        kubeconfigs,
        [
            state.join("e2e-v1-36-1/kubeconfig").display().to_string(),
            state.join("e2e-v1-35-5/kubeconfig").display().to_string()
        ]
    );
    let log = kind.log();
    let config = state.join("e2e-v1-36-1/kind-config.yaml");
    assert!(
        log.contains(&format!(
            "create cluster --name e2e-v1-36-1 --image {image} --config {} --kubeconfig {} --wait 2m",
            config.display(),
            kubeconfigs[0]
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "kubectl --kubeconfig {} wait --for=condition=Ready nodes --all --timeout=120s",
            kubeconfigs[0]
        )),
        "{log}"
    );
    let written = fs_err::read_to_string(&config).expect("kind config");
    assert_eq!(written.matches(&format!("image: \"{image}\"")).count(), 2, "{written}");
    assert!(written.contains("- role: worker") && written.contains("InPlacePodVerticalScaling\": true"), "{written}");

    let list = kind.slipway(project.path(), &["env", "list", "--format", "json"], &[]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let clusters = json(&list.stdout);
    assert_eq!(clusters["schema"], "slipway.env.clusters/v1");
    assert_eq!(clusters["clusters"][0]["name"], "e2e-v1-35-5");
    assert_eq!(clusters["clusters"][0]["exists"], true);

    let down = kind.slipway(project.path(), &["env", "down", "--all"], &[]);
    assert_eq!(down.code, 0, "{}", down.stderr);
    assert!(kind.log().contains("delete cluster --name e2e-v1-36-1"));
    assert!(!state.join("e2e-v1-36-1").exists());
    let list = kind.slipway(project.path(), &["env", "list"], &[]);
    assert!(list.stdout.is_empty() && list.stderr.contains("no clusters"), "{}{}", list.stdout, list.stderr);

    let failing = kind.slipway(project.path(), &["env", "up", "v1.35.5", "--name", "dev"], &[("FAKE_KIND_FAIL", "1")]);
    assert_eq!(failing.code, 3, "{}", failing.stderr);
    assert!(
        failing.stderr.contains("node(s) already exist") && failing.stderr.contains("create.log"),
        "{}",
        failing.stderr
    );
}

/// Builds a real node image with kind and pushes it to the local registry.
///
/// Needs kind v0.32.0 on PATH, a Docker daemon that runs privileged containers, and network
/// access to dl.k8s.io and Docker Hub. Run with:
/// `cargo nextest run -p slipway --run-ignored only -E 'test(real_kind)'`.
#[test]
#[ignore = "needs kind and a privileged Docker or podman"]
fn real_kind_builds_and_runs_a_node_image() {
    let repository = format!("{}/{}", registry::address(), registry::unique_repository("kind-node"));
    let project = project(&format!(
        "env:\n  kind: v0.32.0\n  kubernetes: [stable-1.36]\n  registry: {repository}\n  policy: {{main: build}}\n"
    ));
    let run = slipway_with_env(
        project.path(),
        &["env", "node-image", "--branch", "main", "--build", "--format", "json"],
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(json(&run.stdout)["images"][0]["source"], "built");
    let up = slipway_with_env(project.path(), &["env", "up", "--name", "slipway-real"], &[]);
    assert_eq!(up.code, 0, "{}{}", up.stdout, up.stderr);
    let down = slipway_with_env(project.path(), &["env", "down", "slipway-real"], &[]);
    assert_eq!(down.code, 0, "{}", down.stderr);
}

#[test]
fn a_job_with_a_kind_environment_gets_a_cluster_per_run() {
    let image = format!("kindest/node:v1.36.1@sha256:{}", "a".repeat(64));
    let project = project(
        "env:\n  kind: v0.32.0\njobs:\n- name: e2e\n  environment: kind\n  matrix: {kubernetes: [stable-1.36]}\n  command: 'echo \"cluster=$KIND_CLUSTER_NAME image=$KIND_NODE_IMAGE version=$KUBERNETES_VERSION\"; grep -c kind- \"$KUBECONFIG\"'\n",
    );
    write_lock(project.path(), &[("stable-1.36", "v1.36.1", &image)]);
    // The marker is read for the run's KUBERNETES_VERSION; serve it.
    let upstream = Upstream::start();
    upstream.file("release/stable-1.36.txt", "v1.36.1");
    let config = fs_err::read_to_string(project.path().join("slipway.yaml")).expect("config");
    fs_err::write(project.path().join("slipway.yaml"), format!("matrix:\n  markers_url: {}\n{config}", upstream.url))
        .expect("config");
    let kind = FakeKind::new();
    let run = kind.slipway(project.path(), &["job", "run", "e2e"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let log =
        fs_err::read_to_string(crate::support::build_dir(project.path(), "e2e-stable-1-36").join("build-log.txt"))
            .expect("build log");
    assert!(log.contains(&format!("image={image} version=v1.36.1")), "{log}");
    assert!(log.contains("cluster=slipway-e2e-"), "{log}");
    let calls = kind.log();
    assert!(
        calls.contains("create cluster --name slipway-e2e-") && calls.contains("delete cluster --name slipway-e2e-"),
        "{calls}"
    );
    assert!(run.stderr.contains("is deleted"), "{}", run.stderr);

    let kept = kind.slipway(project.path(), &["job", "run", "e2e", "--keep-env"], &[]);
    assert_eq!(kept.code, 0, "{}", kept.stderr);
    assert!(kept.stderr.contains("is kept (--keep-env)"), "{}", kept.stderr);
    assert_eq!(kind.log().matches("delete cluster").count(), 1, "the kept cluster is not deleted");

    let broken = kind.slipway(project.path(), &["job", "run", "e2e"], &[("FAKE_KIND_FAIL", "1")]);
    assert_eq!(broken.code, 3, "{}", broken.stderr);
    assert!(broken.stderr.contains("could not create kind cluster"), "{}", broken.stderr);
    let runs = kind.slipway(project.path(), &["runs", "list", "--format", "json"], &[]);
    let recorded = json(&runs.stdout);
    let newest = &recorded["runs"][0];
    assert_eq!(newest["state"], "error", "a run whose cluster failed is recorded: {recorded}");
    assert!(
        newest["description"].as_str().is_some_and(|text| text.contains("could not create kind cluster")),
        "{newest}"
    );
}

#[test]
fn builds_go_through_podman_when_it_is_the_engine() {
    let upstream = Upstream::start();
    let repository = format!("{}/{}", registry::address(), registry::unique_repository("kind-node"));
    let project = project(&format!(
        "env:\n  kind: v0.32.0\n  kubernetes: [v1.36.2]\n  arches: [amd64]\n  registry: {repository}\n  markers_url: {url}\n  policy: {{main: build}}\n",
        url = upstream.url
    ));
    let kind = FakeKind::new();
    let podman: Vec<(&str, String)> =
        slipway_test::podman::environment().iter().map(|(name, path)| (*name, path.display().to_string())).collect();
    let mut extra: Vec<(&str, &str)> = podman.iter().map(|(name, value)| (*name, value.as_str())).collect();
    extra.push(("SLIPWAY_CONTAINER_ENGINE", "podman"));
    // podman push reads $DOCKER_CONFIG/config.json and fails when the file is missing.
    let docker_config = tempfile::tempdir().expect("tempdir");
    fs_err::write(docker_config.path().join("config.json"), "{\"auths\": {}}").expect("config.json");
    let docker_config_path = docker_config.path().display().to_string();
    extra.push(("DOCKER_CONFIG", &docker_config_path));
    let run =
        kind.slipway(project.path(), &["env", "node-image", "--branch", "main", "--build", "--format", "json"], &extra);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["images"][0]["source"], "built", "{report}");
    assert!(run.stderr.contains("on podman"), "{}", run.stderr);
    let log =
        fs_err::read_to_string(project.path().join(".slipway/env/builds/v1.36.2-kind-v0.32.0-amd64.log")).expect("log");
    // kind calls `docker` by name: with podman, a `docker` that runs podman comes first on PATH.
    assert!(log.contains("$ podman push --tls-verify=false"), "{log}");
}

#[test]
fn a_registry_that_refuses_the_push_is_named_and_nothing_is_locked() {
    let upstream = Upstream::start();
    let read_only = registry::Ephemeral::start_read_only();
    let repository = format!("{}/kind-node", read_only.address());
    let project = build_project(&upstream, &repository, "v1.36.0");
    let kind = FakeKind::new();
    let run =
        kind.slipway(project.path(), &["env", "node-image", "--branch", "main", "--build", "--arch", "amd64"], &[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!("`docker push {repository}:v1.36.0-kind-v0.32.0-amd64` failed")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("the registry refused the image"), "{}", run.stdout);
    assert!(!project.path().join("slipway.lock").exists());
}

#[test]
fn a_container_job_reaches_its_cluster_s_kubeconfig_on_the_host_network() {
    let image = crate::prow_run::busybox();
    let node = format!("kindest/node:v1.36.1@sha256:{}", "a".repeat(64));
    let project = project(&format!(
        "env:\n  kind: v0.32.0\n  kubernetes: [v1.36.1]\njobs:\n- name: e2e-in-a-container\n  environment: kind\n  image: {image}\n  command: [sh, -c]\n  args: ['cat \"$KUBECONFIG\"; echo \"node=$KIND_NODE_IMAGE\"']\n"
    ));
    write_lock(project.path(), &[("v1.36.1", "v1.36.1", &node)]);
    let kind = FakeKind::new();
    let run = kind.slipway(project.path(), &["job", "run", "e2e-in-a-container", "--follow"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("clusters: [{name: kind-slipway-e2e-in-a-container-"),
        "the kubeconfig is readable inside: {}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!("node={node}")), "{}", run.stderr);
}
