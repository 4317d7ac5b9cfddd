//! The generated Dockerfile, built for two platforms by a real builder (podman, which runs
//! buildah) and checked with `verify_image`: the build stage runs on the build machine and each
//! platform gets its own binary, because the architecture comes from TARGETARCH.

use std::process::Command;

use slipway_core::{ImageReference, Platform};
use slipway_oci::build::config::{ImageSection, resolve};
use slipway_oci::dockerfile::dockerfile;
use slipway_oci::verify::{ImageCheck, verify_image};
use slipway_test::git::TempRepo;
use slipway_test::images::push_busybox_base;
use slipway_test::{podman, registry};

fn compile(repo: &TempRepo, compiler: &str, architecture: &str) {
    repo.write("hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello from a Dockerfile\"); return 0; }\n");
    fs_err::create_dir_all(repo.path().join(format!("prebuilt/{architecture}"))).expect("mkdir");
    let status = Command::new(compiler)
        .args(["-static", "-O2", "-o", &format!("prebuilt/{architecture}/hello"), "hello.c"])
        .current_dir(repo.path())
        .status()
        .expect("the compilers are installed by scripts/test-services.sh");
    assert!(status.success());
}

fn platforms() -> Vec<Platform> {
    vec![Platform::parse("linux/amd64").expect("valid"), Platform::parse("linux/arm64").expect("valid")]
}

/// A project with prebuilt binaries for both platforms, a builder image in the test registry,
/// and the Dockerfile slipway generates for it.
async fn project(client: &slipway_oci::Registry) -> TempRepo {
    let builder = format!("{}/{}:1", registry::address(), registry::unique_repository("builder"));
    push_busybox_base(client, &ImageReference::parse(&builder).expect("valid")).await;
    let repo = TempRepo::new();
    compile(&repo, "gcc", "amd64");
    compile(&repo, "aarch64-linux-gnu-gcc", "arm64");
    let yaml = format!(
        "repository: example.invalid/hello\nbuilder: {builder}\nbuild: mkdir -p out/{{arch}} && cp prebuilt/{{arch}}/hello out/{{arch}}/hello\nfiles:\n  - source: out/{{arch}}/hello\n    path: /hello\n    mode: 0755\nentrypoint: [/hello]\n"
    );
    let section: ImageSection = serde_saphyr::from_str(&yaml).expect("valid");
    let spec = resolve(&[section], &platforms()).expect("valid").remove(0);
    repo.write("Dockerfile", &dockerfile(&spec).expect("a Dockerfile"));
    repo
}

/// Checks that `target` has both platforms, each with its own architecture's binary.
async fn assert_each_platform_has_its_binary(client: &slipway_oci::Registry, target: &str) {
    let check =
        ImageCheck { image: ImageReference::parse(target).expect("valid"), platforms: platforms(), revision: None };
    let report = verify_image(client, &check).await.expect("the registry answers");
    let binaries: Vec<&str> = report.platforms.iter().filter_map(|platform| platform.binary.as_deref()).collect();
    assert_eq!(binaries, ["/hello: amd64 (ELF 64-bit LSB, EM_X86_64)", "/hello: arm64 (ELF 64-bit LSB, EM_AARCH64)"]);
    assert!(
        report.findings.iter().all(|finding| finding.severity == slipway_core::Severity::Warning),
        "{:?}",
        report.findings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_dockerfile_builds_each_platform_with_its_own_binary() {
    let client = registry::client();
    let repo = project(&client).await;

    // Debian 12's podman (buildah 1.28) sets BUILDPLATFORM to the target platform, so it is
    // passed explicitly, as the Dockerfile's header tells podman users; BuildKit sets it right.
    let manifest = format!("localhost/slipway-dockerfile-{}", std::process::id());
    let _ = podman::command().args(["manifest", "rm", &manifest]).output();
    let created = podman::command().args(["manifest", "create", &manifest]).output().expect("podman runs");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    for platform in ["linux/amd64", "linux/arm64"] {
        let built = podman::command()
            .args(["build", "--tls-verify=false", "--platform", platform, "--build-arg", "BUILDPLATFORM=linux/amd64"])
            .args(["--manifest", &manifest, "-f", "Dockerfile", "."])
            .current_dir(repo.path())
            .output()
            .expect("podman runs");
        assert!(
            built.status.success(),
            "podman build for {platform} failed:\n{}\n{}",
            String::from_utf8_lossy(&built.stdout),
            String::from_utf8_lossy(&built.stderr)
        );
    }
    let target = format!("{}/{}:v1", registry::address(), registry::unique_repository("from-dockerfile"));
    let pushed = podman::command()
        .args(["manifest", "push", "--all", "--tls-verify=false", &manifest, &format!("docker://{target}")])
        .output()
        .expect("podman runs");
    assert!(pushed.status.success(), "podman manifest push failed: {}", String::from_utf8_lossy(&pushed.stderr));
    let _ = podman::command().args(["manifest", "rm", &manifest]).output();
    assert_each_platform_has_its_binary(&client, &target).await;
}

/// The same Dockerfile through BuildKit, which is what `image cloudbuild` runs. To run it: a
/// Docker engine with buildx and a builder that reaches the test registry on the host, e.g.
/// `docker buildx create --use --driver docker-container --driver-opt network=host`, then
/// `cargo nextest run -p slipway-oci --run-ignored only dockerfile`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Docker engine with buildx (not on this machine)"]
async fn the_generated_dockerfile_builds_with_docker_buildx_in_one_invocation() {
    let client = registry::client();
    let repo = project(&client).await;
    let target = format!("{}/{}:v1", registry::address(), registry::unique_repository("from-buildx"));
    let built = Command::new("docker")
        .args(["buildx", "build", "--platform", "linux/amd64,linux/arm64", "--tag", &target, "--push", "."])
        .current_dir(repo.path())
        .output()
        .expect("docker is installed");
    assert!(
        built.status.success(),
        "docker buildx build failed:\n{}\n{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    assert_each_platform_has_its_binary(&client, &target).await;
}
