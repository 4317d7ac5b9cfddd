//! `verify_image` on real images pushed to the local registry, broken in the ways releases break.

use std::process::Command;

use slipway_core::{Finding, ImageReference, Platform};
use slipway_oci::verify::{ImageCheck, ImageReport, verify_image};
use slipway_oci::{Error, Registry, RegistryOptions};
use slipway_test::images::{PlatformImage, TestImage, push, push_single};
use slipway_test::registry;

const COMMIT: &str = "045fbb6a0411d492824d0830fdaf98b179f055d5";
const OTHER_COMMIT: &str = "1f4d20dd6b7c7fc6bbd8ee4b320a9cc299a33ca6";

fn reference(name: &str) -> ImageReference {
    let text = format!("{}/{}:v1.0.0", registry::address(), registry::unique_repository(name));
    ImageReference::parse(&text).expect("valid reference")
}

fn check(image: &ImageReference) -> ImageCheck {
    ImageCheck {
        image: image.clone(),
        platforms: vec![Platform::parse("linux/amd64").expect("valid"), Platform::parse("linux/arm64").expect("valid")],
        revision: Some(COMMIT.to_owned()),
    }
}

/// Findings as one line each, with the throwaway repository name removed.
fn summary(report: &ImageReport, image: &ImageReference) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|finding: &Finding| {
            format!(
                "{:?} {:?} [{}] found: {} | expected: {}",
                finding.severity,
                finding.kind,
                finding.platform.as_deref().unwrap_or("-"),
                finding.found,
                finding.expected
            )
            .replace(image.as_str(), "IMAGE")
        })
        .collect()
}

async fn verified(image: TestImage, name: &str) -> (ImageReport, ImageReference) {
    let client = registry::client();
    let reference = reference(name);
    push(&client, &reference, &image).await;
    let report = verify_image(&client, &check(&reference)).await.expect("the registry answers");
    (report, reference)
}

fn good_platforms() -> Vec<PlatformImage> {
    vec![
        PlatformImage::new("linux/amd64").with_revision(COMMIT),
        PlatformImage::new("linux/arm64").with_revision(COMMIT),
    ]
}

#[tokio::test]
async fn a_good_image_passes_and_attestations_are_ignored() {
    let image = TestImage {
        platforms: good_platforms(),
        attestation: true,
        index_revision: Some(COMMIT.to_owned()),
        ..TestImage::default()
    };
    let (report, reference) = verified(image, "good").await;
    assert_eq!(summary(&report, &reference), Vec::<String>::new());
    let binaries: Vec<_> =
        report.platforms.iter().map(|p| (p.platform.as_str(), p.binary.as_deref().unwrap_or(""))).collect();
    assert_eq!(
        binaries,
        [
            ("linux/amd64", "/app: amd64 (ELF 64-bit LSB, EM_X86_64)"),
            ("linux/arm64", "/app: arm64 (ELF 64-bit LSB, EM_AARCH64)"),
        ]
    );
    assert!(report.digest.as_deref().is_some_and(|digest| digest.starts_with("sha256:")));
}

#[tokio::test]
async fn an_arm64_entry_holding_an_amd64_binary_is_caught() {
    let mut platforms = good_platforms();
    platforms[1] = PlatformImage::new("linux/arm64").with_binary("amd64").with_revision(COMMIT);
    let (report, reference) = verified(TestImage { platforms, ..TestImage::default() }, "wrong-binary").await;
    insta::assert_debug_snapshot!(summary(&report, &reference), @r#"
    [
        "Error BinaryArchitecture [linux/arm64] found: amd64 (ELF 64-bit LSB, EM_X86_64) | expected: arm64",
    ]
    "#);
}

#[tokio::test]
async fn a_missing_platform_is_caught() {
    let image =
        TestImage { platforms: vec![PlatformImage::new("linux/amd64").with_revision(COMMIT)], ..TestImage::default() };
    let (report, reference) = verified(image, "missing-platform").await;
    insta::assert_debug_snapshot!(summary(&report, &reference), @r#"
    [
        "Error RegistryPlatformMissing [linux/arm64] found: linux/amd64 | expected: linux/arm64",
    ]
    "#);
}

#[tokio::test]
async fn a_revision_naming_another_commit_is_caught() {
    let image = TestImage {
        platforms: good_platforms(),
        index_revision: Some(OTHER_COMMIT.to_owned()),
        ..TestImage::default()
    };
    let (report, reference) = verified(image, "other-revision").await;
    insta::assert_debug_snapshot!(summary(&report, &reference), @r#"
    [
        "Error RegistryRevision [linux/amd64] found: 1f4d20dd6b7c7fc6bbd8ee4b320a9cc299a33ca6 | expected: 045fbb6a0411d492824d0830fdaf98b179f055d5",
        "Error RegistryRevision [linux/arm64] found: 1f4d20dd6b7c7fc6bbd8ee4b320a9cc299a33ca6 | expected: 045fbb6a0411d492824d0830fdaf98b179f055d5",
    ]
    "#);
}

#[tokio::test]
async fn no_revision_is_a_warning_and_a_lying_config_is_an_error() {
    let platforms = vec![
        PlatformImage::new("linux/amd64"),
        PlatformImage::new("linux/arm64").with_config_platform("linux/amd64").with_binary("arm64"),
    ];
    let (report, reference) = verified(TestImage { platforms, ..TestImage::default() }, "lying-config").await;
    insta::assert_debug_snapshot!(summary(&report, &reference), @r#"
    [
        "Error RegistryConfigPlatform [linux/arm64] found: linux/amd64 | expected: linux/arm64",
        "Warning RegistryRevisionMissing [-] found: (no revision annotation or label) | expected: org.opencontainers.image.revision=045fbb6a0411d492824d0830fdaf98b179f055d5",
    ]
    "#);
}

#[tokio::test]
async fn a_missing_tag_and_a_single_platform_tag_are_findings() {
    let client = registry::client();
    let missing = reference("never-pushed");
    let report = verify_image(&client, &check(&missing)).await.expect("the registry answers");
    insta::assert_debug_snapshot!(summary(&report, &missing), @r#"
    [
        "Error RegistryTagMissing [-] found: (no such tag) | expected: IMAGE",
    ]
    "#);

    let single = reference("single");
    push_single(&client, &single, &PlatformImage::new("linux/amd64").with_revision(COMMIT)).await;
    let report = verify_image(&client, &check(&single)).await.expect("the registry answers");
    insta::assert_debug_snapshot!(summary(&report, &single), @r#"
    [
        "Error RegistryNotIndex [-] found: a single-platform image (linux/amd64) | expected: an index covering linux/amd64, linux/arm64",
        "Error RegistryPlatformMissing [linux/arm64] found: linux/amd64 | expected: linux/arm64",
    ]
    "#);
}

#[tokio::test]
async fn an_unreachable_registry_is_an_infrastructure_error() {
    let client = Registry::new(RegistryOptions { docker_config: None, ..RegistryOptions::default() });
    let image = ImageReference::parse("127.0.0.1:9/team/app:v1.0.0").expect("valid");
    let error = verify_image(&client, &check(&image)).await.expect_err("nothing listens on port 9");
    assert!(matches!(&error, Error::Unreachable { registry, .. } if registry == "127.0.0.1:9"), "{error:?}");
    assert_eq!(error.exit_code(), 3);
}

#[tokio::test]
async fn skopeo_reads_what_slipway_pushes() {
    let client = registry::client();
    let reference = reference("skopeo");
    let digest = push(&client, &reference, &TestImage { platforms: good_platforms(), ..TestImage::default() }).await;
    let output = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{reference}")])
        .output()
        .expect("skopeo is installed by scripts/test-services.sh");
    assert!(output.status.success(), "skopeo failed: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(slipway_oci::manifest::sha256_digest(&output.stdout), digest);
    let index: serde_json::Value = serde_json::from_slice(&output.stdout).expect("an index");
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(2));
    let arm64 = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--override-arch", "arm64", &format!("docker://{reference}")])
        .output()
        .expect("skopeo runs");
    let arm64: serde_json::Value = serde_json::from_slice(&arm64.stdout).expect("skopeo prints JSON");
    assert_eq!(arm64["Architecture"], "arm64");
}

#[tokio::test]
async fn a_docker_manifest_list_is_read_like_an_index() {
    let image = TestImage { platforms: good_platforms(), docker_media_types: true, ..TestImage::default() };
    let (report, reference) = verified(image, "docker-list").await;
    assert_eq!(summary(&report, &reference), Vec::<String>::new());
    assert_eq!(report.media_type.as_deref(), Some("application/vnd.docker.distribution.manifest.list.v2+json"));
    assert_eq!(report.platforms.len(), 2);
}

#[tokio::test]
async fn zstd_layers_are_streamed_too() {
    let mut platforms = good_platforms();
    platforms[0] = PlatformImage::new("linux/amd64").with_binary("arm64").with_revision(COMMIT);
    let image = TestImage { platforms, zstd: true, ..TestImage::default() };
    let (report, reference) = verified(image, "zstd").await;
    insta::assert_debug_snapshot!(summary(&report, &reference), @r#"
    [
        "Error BinaryArchitecture [linux/amd64] found: arm64 (ELF 64-bit LSB, EM_AARCH64) | expected: amd64",
    ]
    "#);
}
