//! `image build` with real parts: binaries cross-compiled by gcc for two architectures, the
//! local registry, a base image the test pushes, skopeo as an independent reader and podman
//! running what was built.

use std::process::Command;

use slipway_core::progress::Quiet;
use slipway_core::{ImageReference, Platform};
use slipway_oci::build::config::{ImageSection, resolve};
use slipway_oci::build::{BuildOptions, BuildReport, Destination, Error, ImageSpec, build};
use slipway_oci::verify::{ImageCheck, verify_image};
use slipway_oci::{Registry, RegistryOptions};
use slipway_test::git::TempRepo;
use slipway_test::images::push_busybox_base;
use slipway_test::{podman, registry};

const HELLO: &str = "#include <stdio.h>\nint main(void) { puts(\"hello from slipway\"); return 0; }\n";

/// Compiles hello.c statically for the platform's architecture with the right gcc.
const BUILD: &str = "mkdir -p out/{arch} && case {arch} in amd64) cc=gcc ;; arm64) cc=aarch64-linux-gnu-gcc ;; esac && $cc -static -O2 -o out/{arch}/hello hello.c";

fn platforms() -> Vec<Platform> {
    vec![Platform::parse("linux/amd64").expect("valid"), Platform::parse("linux/arm64").expect("valid")]
}

fn spec(repository: &str, extra: &str) -> ImageSpec {
    let yaml = format!(
        "repository: {repository}\nbuild: '{BUILD}'\nfiles:\n  - source: out/{{arch}}/hello\n    path: /hello\nentrypoint: [/hello]\n{extra}"
    );
    let section: ImageSection = serde_saphyr::from_str(&yaml).expect("a valid images entry");
    resolve(&[section], &platforms()).expect("valid").remove(0)
}

/// A project with hello.c, committed and tagged `v1.0.0`.
fn project() -> TempRepo {
    let repo = TempRepo::new();
    repo.write("hello.c", HELLO);
    repo.write(".gitignore", "out/\n.slipway/\n");
    repo.git(&["remote", "add", "origin", "git@github.com:example-org/hello.git"]);
    repo.commit("hello");
    repo.tag("v1.0.0");
    repo
}

fn repository(name: &str) -> String {
    format!("{}/{}", registry::address(), registry::unique_repository(name))
}

fn options(repo: &TempRepo, images: Vec<ImageSpec>, destination: Destination) -> BuildOptions {
    BuildOptions {
        directory: repo.path().to_path_buf(),
        images,
        destination,
        tags: Vec::new(),
        tag_prefix: "v".into(),
        image_tag_prefix: "v".into(),
        epoch: None,
        registry: RegistryOptions { docker_config: None, ..RegistryOptions::default() },
        cache: repo.path().join(".slipway/cache"),
        cache_limits: slipway_oci::build::cache::Limits::default(),
        parallel: 2,
    }
}

async fn built(options: &BuildOptions) -> BuildReport {
    build(options, &Quiet).await.expect("the build succeeds")
}

fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo").args(args).output().expect("skopeo is installed by scripts/test-services.sh");
    assert!(output.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_compiled_images_are_pushed_verified_and_run() {
    let repo = project();
    let target = repository("hello");
    let report = built(&options(&repo, vec![spec(&target, "")], Destination::Push { force: false })).await;
    assert!(report.published && report.findings.is_empty(), "{report:?}");
    assert_eq!(report.tags.tags, ["v1.0.0"]);
    let image = &report.images[0];
    let binaries: Vec<&str> = image.platforms.iter().filter_map(|platform| platform.binary.as_deref()).collect();
    assert_eq!(binaries, ["/hello: amd64 (ELF 64-bit LSB, EM_X86_64)", "/hello: arm64 (ELF 64-bit LSB, EM_AARCH64)"]);

    // skopeo, an independent client, reads the index and resolves each platform.
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{target}:v1.0.0")]);
    assert_eq!(slipway_oci::manifest::sha256_digest(raw.as_bytes()), image.digest);
    let arm64: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--override-arch",
        "arm64",
        &format!("docker://{target}:v1.0.0"),
    ]))
    .expect("JSON");
    assert_eq!(arm64["Architecture"], "arm64");
    let commit = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    assert_eq!(arm64["Labels"]["org.opencontainers.image.revision"], commit.as_str());
    assert_eq!(arm64["Labels"]["org.opencontainers.image.source"], "https://github.com/example-org/hello");

    // The registry checks of `release verify` pass, revision included.
    let client = Registry::new(RegistryOptions { docker_config: None, ..RegistryOptions::default() });
    let reference = ImageReference::parse(&format!("{target}:v1.0.0")).expect("valid");
    let check = ImageCheck { image: reference, platforms: platforms(), revision: Some(commit) };
    let verified = verify_image(&client, &check).await.expect("the registry answers");
    assert!(verified.findings.is_empty(), "{:?}", verified.findings);

    // podman pulls it from the registry and runs this machine's platform.
    assert_eq!(podman::run(&format!("{target}:v1.0.0"), &[]), "hello from slipway\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_are_reproducible_and_an_unchanged_rebuild_uploads_nothing() {
    let target = repository("reproducible");
    let first_checkout = project();
    let first = built(&options(&first_checkout, vec![spec(&target, "")], Destination::Push { force: false })).await;
    let pushed = first.images[0].pushed.as_ref().expect("pushed");
    assert_eq!(pushed.transfers.uploaded, 4, "two layers and two configs");

    // Another checkout of the same commit, built from nothing: the same digests, and the
    // registry already has every blob.
    let second_checkout = TempRepo::new();
    second_checkout.git(&["fetch", "--quiet", "--tags", &first_checkout.path().display().to_string(), "HEAD"]);
    second_checkout.git(&["checkout", "--quiet", "v1.0.0"]);
    second_checkout.git(&["remote", "add", "origin", "git@github.com:example-org/hello.git"]);
    let second = built(&options(&second_checkout, vec![spec(&target, "")], Destination::Push { force: false })).await;
    assert_eq!(second.images[0].digest, first.images[0].digest);
    let again = second.images[0].pushed.as_ref().expect("pushed");
    assert_eq!((again.transfers.uploaded, again.transfers.present), (0, 4));
    assert_eq!(again.tags[0].status, "unchanged");

    // Without a build command the files are untouched, so the cache answers.
    let prebuilt = options(&second_checkout, vec![spec(&target, "")], Destination::Check);
    let mut prebuilt = prebuilt;
    prebuilt.images[0].build = None;
    let cached = built(&prebuilt).await;
    assert!(cached.images[0].platforms.iter().all(|platform| platform.layer.cached));
    assert_eq!(cached.images[0].digest, first.images[0].digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_layers_are_mounted_not_uploaded_and_the_base_config_is_kept() {
    let client = registry::client();
    let base = repository("busybox-base");
    push_busybox_base(&client, &ImageReference::parse(&format!("{base}:1")).expect("valid")).await;
    let repo = project();
    let target = repository("on-busybox");
    let report =
        built(&options(&repo, vec![spec(&target, &format!("base: {base}:1\n"))], Destination::Push { force: false }))
            .await;
    let transfers = report.images[0].pushed.as_ref().expect("pushed").transfers;
    assert_eq!((transfers.mounted, transfers.uploaded), (2, 4), "{transfers:?}");
    // busybox from the base and /hello from slipway's layer, in one running container.
    let output = podman::run(&format!("{target}:v1.0.0"), &[]);
    assert_eq!(output, "hello from slipway\n");
    let shell = podman::command()
        .args([
            "run",
            "--rm",
            "--network=none",
            "--tls-verify=false",
            "--entrypoint",
            "sh",
            &format!("{target}:v1.0.0"),
            "-c",
            "echo base layers present",
        ])
        .output()
        .expect("podman runs");
    assert_eq!(
        String::from_utf8_lossy(&shell.stdout),
        "base layers present\n",
        "{}",
        String::from_utf8_lossy(&shell.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_without_the_platform_is_refused() {
    let client = registry::client();
    let base = ImageReference::parse(&format!("{}:1", repository("amd64-only"))).expect("valid");
    let amd64_only = slipway_test::images::TestImage {
        platforms: vec![slipway_test::images::PlatformImage::new("linux/amd64")],
        ..Default::default()
    };
    slipway_test::images::push(&client, &base, &amd64_only).await;
    let repo = project();
    let error = build(
        &options(
            &repo,
            vec![spec(&repository("never"), &format!("base: {base}\n"))],
            Destination::Push { force: false },
        ),
        &Quiet,
    )
    .await
    .expect_err("no arm64 base");
    assert!(matches!(error, Error::BaseMissingPlatform { ref platform, .. } if platform == "linux/arm64"), "{error}");
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().ends_with("has no linux/arm64 (it has linux/amd64)"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_build_shows_its_output_and_publishes_nothing() {
    let repo = project();
    repo.write("hello.c", "int main(void) { return undefined_symbol; }\n");
    let target = repository("broken");
    let error = build(&options(&repo, vec![spec(&target, "")], Destination::Push { force: false }), &Quiet)
        .await
        .expect_err("does not compile");
    let Error::BuildFailed { ref job, ref output, .. } = error else { panic!("not a build failure: {error}") };
    assert!(job.contains("linux/amd64"), "{job}");
    assert!(output.contains("undefined_symbol"), "{output}");
    assert_eq!(error.exit_code(), 1);
    assert_eq!(skopeo_tags(&target), Vec::<String>::new());
}

fn skopeo_tags(repository: &str) -> Vec<String> {
    let output = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false", &format!("docker://{repository}")])
        .output()
        .expect("skopeo runs");
    if !output.status.success() {
        return Vec::new();
    }
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    listing["Tags"]
        .as_array()
        .map(|tags| tags.iter().filter_map(|tag| tag.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_for_the_wrong_architecture_is_never_published() {
    let repo = project();
    let target = repository("wrong-arch");
    // autoscaler#9226: the architecture never reaches the compiler.
    let mut forgetful = spec(&target, "");
    forgetful.build = Some("mkdir -p out/{arch} && gcc -static -o out/{arch}/hello hello.c".into());
    let report = built(&options(&repo, vec![forgetful], Destination::Push { force: false })).await;
    assert!(!report.published);
    assert_eq!(report.exit_code(), 1);
    let summary: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{:?} {} {} -> {}", f.kind, f.platform.as_deref().unwrap_or("-"), f.found, f.expected))
        .collect();
    assert_eq!(summary, ["BinaryArchitecture linux/arm64 amd64 (ELF 64-bit LSB, EM_X86_64) -> arm64"]);
    assert_eq!(skopeo_tags(&target), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_tags_never_move_without_force_and_latest_follows_the_newest_release() {
    let repo = project();
    let target = repository("tags");
    let with_latest = || spec(&target, "moving_tags: [latest]\n");
    let first = built(&options(&repo, vec![with_latest()], Destination::Push { force: false })).await;
    assert!(first.images[0].pushed.as_ref().expect("pushed").moving[0].moved);

    // The same tag, different content: refused, then forced.
    repo.write("hello.c", &HELLO.replace("hello from slipway", "hello again"));
    repo.git(&["commit", "--quiet", "-am", "change"]);
    repo.git(&["tag", "-f", "v1.0.0"]);
    let error = build(&options(&repo, vec![with_latest()], Destination::Push { force: false }), &Quiet)
        .await
        .expect_err("collision");
    assert!(matches!(error, Error::TagCollision { .. }), "{error}");
    assert_eq!(error.exit_code(), 2);
    let forced = built(&options(&repo, vec![with_latest()], Destination::Push { force: true })).await;
    assert_ne!(forced.images[0].digest, first.images[0].digest);

    // An older release does not take `latest`.
    repo.git(&["commit", "--quiet", "--allow-empty", "-m", "backport"]);
    repo.tag("v0.9.1");
    let older = built(&options(&repo, vec![with_latest()], Destination::Push { force: false })).await;
    let moving = &older.images[0].pushed.as_ref().expect("pushed").moving[0];
    assert!(!moving.moved && moving.reason == "v1.0.0 is newer than 0.9.1", "{moving:?}");
    let latest = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{target}:latest")]);
    assert_eq!(slipway_oci::manifest::sha256_digest(latest.as_bytes()), forced.images[0].digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_podman_can_run_and_an_unreachable_registry() {
    let repo = project();
    let archive = repo.path().join("image.tar");
    built(&options(&repo, vec![spec("ghcr.io/example-org/hello", "")], Destination::Archive(archive.clone()))).await;
    assert_eq!(podman::run(&format!("oci-archive:{}", archive.display()), &[]), "hello from slipway\n");
    // podman names the image after the layout's path, and image names must be lowercase.
    let lowercase = tempfile::Builder::new()
        .prefix(&format!("slipway-layout-{}", std::process::id()))
        .rand_bytes(0)
        .tempdir()
        .expect("a directory");
    let layout = lowercase.path().join("hello");
    built(&options(&repo, vec![spec("ghcr.io/example-org/hello", "")], Destination::Layout(layout.clone()))).await;
    assert_eq!(podman::run(&format!("oci:{}:v1.0.0", layout.display()), &[]), "hello from slipway\n");
    let again = built(&options(
        &repo,
        vec![spec("ghcr.io/example-org/hello", "")],
        Destination::Archive(repo.path().join("again.tar")),
    ))
    .await;
    assert!(again.published);
    assert_eq!(
        fs_err::read(&archive).expect("read"),
        fs_err::read(repo.path().join("again.tar")).expect("read"),
        "the archive is reproducible too"
    );

    let error =
        build(&options(&repo, vec![spec("127.0.0.1:9/team/hello", "")], Destination::Push { force: false }), &Quiet)
            .await
            .expect_err("nothing listens");
    assert_eq!(error.exit_code(), 3, "{error}");
}
