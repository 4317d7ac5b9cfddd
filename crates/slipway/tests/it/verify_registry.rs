//! `slipway release verify` against the local registry, with real images pushed by the tests.

use slipway_core::ImageReference;
use slipway_test::git::TempRepo;
use slipway_test::images::{PlatformImage, TestImage, push};
use slipway_test::registry;

use crate::support::{edit, example, slipway};

const EXAMPLE_IMAGE: &str = "ghcr.io/example-org/hello-operator";

/// The example project with its image moved to `repository`, committed and tagged v0.4.0.
/// Returns the repository and the tag's commit.
fn project(repository: &str) -> (TempRepo, String) {
    let repo = TempRepo::new();
    repo.copy_tree(&example(), ".");
    for path in [
        "config/base/deployment.yaml",
        "config/jobs/cleanup.yaml",
        "config/default/kustomization.yaml",
        "charts/hello-operator/values.yaml",
    ] {
        edit(&repo, path, EXAMPLE_IMAGE, repository);
    }
    let commit = repo.commit("hello-operator v0.4.0");
    repo.tag("v0.4.0");
    (repo, commit)
}

/// A throwaway repository whose name contains the project's, so slipway infers it.
fn image_name(name: &str) -> String {
    format!("{}/{}", registry::address(), registry::unique_repository(&format!("hello-operator-{name}")))
}

async fn push_image(repository: &str, image: TestImage) {
    let reference = ImageReference::parse(&format!("{repository}:v0.4.0")).expect("valid reference");
    push(&registry::client(), &reference, &image).await;
}

#[tokio::test]
async fn a_consistent_release_passes() {
    let repository = image_name("consistent");
    let (repo, commit) = project(&repository);
    let platforms = vec![
        PlatformImage::new("linux/amd64").with_revision(&commit),
        PlatformImage::new("linux/arm64").with_revision(&commit),
    ];
    push_image(&repository, TestImage { platforms, attestation: true, ..TestImage::default() }).await;
    let run = slipway(repo.path(), &["release", "verify", "--tag", "v0.4.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[(&repository, "[IMAGE]")]));
    assert_eq!(run.code, 0);
    let json = slipway(repo.path(), &["release", "verify", "--tag", "v0.4.0", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let platforms = report["registry"]["images"][0]["platforms"].as_array().expect("platforms");
    let binaries: Vec<&str> = platforms.iter().filter_map(|platform| platform["binary"].as_str()).collect();
    assert_eq!(binaries, ["/app: amd64 (ELF 64-bit LSB, EM_X86_64)", "/app: arm64 (ELF 64-bit LSB, EM_AARCH64)"]);
}

#[tokio::test]
async fn an_amd64_binary_in_the_arm64_image_fails_the_release() {
    // autoscaler#9226, the other way round.
    let repository = image_name("swapped-binary");
    let (repo, commit) = project(&repository);
    let platforms = vec![
        PlatformImage::new("linux/amd64").with_revision(&commit),
        PlatformImage::new("linux/arm64").with_binary("amd64").with_revision(&commit),
    ];
    push_image(&repository, TestImage { platforms, ..TestImage::default() }).await;
    let run = slipway(repo.path(), &["release", "verify", "--tag", "v0.4.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[(&repository, "[IMAGE]")]));
    assert_eq!(run.code, 1);
}

#[tokio::test]
async fn a_missing_platform_and_a_foreign_revision_fail_the_release() {
    let repository = image_name("incomplete");
    let (repo, _) = project(&repository);
    let other = "1f4d20dd6b7c7fc6bbd8ee4b320a9cc299a33ca6";
    let image = TestImage {
        platforms: vec![PlatformImage::new("linux/amd64")],
        index_revision: Some(other.to_owned()),
        ..TestImage::default()
    };
    push_image(&repository, image).await;
    let run = slipway(repo.path(), &["release", "verify", "--tag", "v0.4.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[(&repository, "[IMAGE]")]));
    assert_eq!(run.code, 1);
    let only_amd64 = slipway(repo.path(), &["release", "verify", "--tag", "v0.4.0", "--platform", "linux/amd64"]);
    assert_eq!(only_amd64.code, 1, "the revision still names another commit");
    assert!(!only_amd64.stdout.contains("registry-platform-missing"), "{}", only_amd64.stdout);
}

#[tokio::test]
async fn an_unpushed_tag_and_a_stale_digest_pin_fail_the_release() {
    let repository = image_name("unpushed");
    let (repo, _) = project(&repository);
    let run = slipway(repo.path(), &["release", "verify", "--tag", "v0.4.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[(&repository, "[IMAGE]")]));
    assert_eq!(run.code, 1);

    push_image(
        &repository,
        TestImage {
            platforms: vec![PlatformImage::new("linux/amd64"), PlatformImage::new("linux/arm64")],
            ..TestImage::default()
        },
    )
    .await;
    let stale = format!("sha256:{}", "cd".repeat(32));
    edit(&repo, "config/jobs/cleanup.yaml", &format!("{repository}:v0.4.0"), &format!("{repository}:v0.4.0@{stale}"));
    let run = slipway(repo.path(), &["release", "verify", "--version", "0.4.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[(&repository, "[IMAGE]")]));
    assert_eq!(run.code, 1);
}

#[test]
fn an_unreachable_registry_exits_3_and_still_reports_the_files() {
    let repository = "127.0.0.1:9/team/hello-operator";
    let (repo, _) = project(repository);
    edit(&repo, "charts/hello-operator/Chart.yaml", "appVersion: \"0.4.0\"", "appVersion: \"0.3.0\"");
    repo.commit("chart lags");
    repo.git(&["tag", "-f", "v0.4.0"]);
    let run = slipway(repo.path(), &["release", "verify", "--tag", "v0.4.0"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 3);
}

#[test]
fn ctrl_c_while_a_registry_hangs_exits_130() {
    use std::net::TcpListener;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    // A "registry" that accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let repository = format!("{address}/team/hello-operator");
    let (repo, _) = project(&repository);
    let child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["release", "verify", "--tag", "v0.4.0"])
        .current_dir(repo.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("slipway starts");
    std::thread::sleep(Duration::from_millis(800));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    let output = child.wait_with_output().expect("slipway ends");
    assert!(started.elapsed() < Duration::from_secs(10), "slipway did not stop promptly");
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stderr).trim(), "interrupted");
}
