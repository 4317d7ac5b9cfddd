//! `slipway image ...` on the example project: its C "manager" is really compiled for amd64 and
//! arm64, pushed to the local registry, read back, and run under podman.

use std::sync::LazyLock;

use regex::Regex;
use slipway_test::git::TempRepo;
use slipway_test::{podman, registry};

use crate::support::{Run, edit, example, slipway, slipway_with_env};

const EXAMPLE_IMAGE: &str = "ghcr.io/example-org/hello-operator";

/// The example with its image moved to `repository`, committed and tagged v0.4.0. Returns the
/// repository and the tag's commit.
fn project(repository: &str) -> (TempRepo, String) {
    let repo = TempRepo::new();
    repo.copy_tree(&example(), ".");
    edit(&repo, "slipway.yaml", &format!("repository: {EXAMPLE_IMAGE}"), &format!("repository: {repository}"));
    let commit = repo.commit("hello-operator v0.4.0");
    repo.tag("v0.4.0");
    (repo, commit)
}

/// A repository in the shared test registry that no other run uses, still named hello-operator.
fn image_name(name: &str) -> String {
    format!("{}/{}/hello-operator", registry::address(), registry::unique_repository(name))
}

/// [`Run::render_for`] with the image shown as `[IMAGE]`, and sizes and times (which depend on
/// the compiler and the clock) as `[SIZE]` and `[TIME]`.
fn render(run: &Run, repo: &TempRepo, repository: &str) -> String {
    static SIZE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d+(\.\d)? (B|KiB|MiB|GiB)\b").expect("regex"));
    static TIME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").expect("regex"));
    let text = run.render_for(repo, &[(repository, "[IMAGE]")]);
    let text = SIZE.replace_all(&text, "[SIZE]");
    TIME.replace_all(&text, "[TIME]").into_owned()
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout))
}

#[test]
fn a_push_then_an_unchanged_rebuild_uploads_nothing() {
    let repository = image_name("push");
    let (repo, commit) = project(&repository);

    let pushed = slipway(repo.path(), &["image", "build", "--push"]);
    insta::assert_snapshot!(render(&pushed, &repo, &repository));
    assert_eq!(pushed.code, 0);

    let again = slipway(repo.path(), &["image", "build", "--push", "--format", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let report = json(&again);
    assert_eq!(report["schema"], "slipway.image.build/v1");
    let image = &report["images"][0];
    assert_eq!(image["pushed"]["transfers"]["uploaded"], 0, "{report:#}");
    assert_eq!(image["pushed"]["tags"][0], serde_json::json!({"tag": "v0.4.0", "status": "unchanged"}));
    let first_digest = pushed.stdout.split_whitespace().nth(2).expect("the index digest");
    assert_eq!(image["digest"], first_digest, "a rebuild of the same commit is the same image");

    // What is in the registry is what was built, read back through another tool too.
    let reference = format!("{repository}:v0.4.0");
    let verified = slipway(repo.path(), &["image", "verify", &reference, "--revision", &commit]);
    insta::assert_snapshot!(render(&verified, &repo, &repository));
    assert_eq!(verified.code, 0);
    let skopeo = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--override-arch=arm64", &format!("docker://{reference}")])
        .output()
        .expect("skopeo is installed by scripts/test-services.sh");
    assert!(skopeo.status.success(), "{}", String::from_utf8_lossy(&skopeo.stderr));
    let inspected: serde_json::Value = serde_json::from_slice(&skopeo.stdout).expect("skopeo prints JSON");
    assert_eq!(inspected["Architecture"], "arm64");
    assert_eq!(inspected["Labels"]["org.opencontainers.image.revision"], commit.as_str());

    // A verify that expects another commit fails the image.
    let other = "1f4d20dd6b7c7fc6bbd8ee4b320a9cc299a33ca6";
    let foreign = slipway(repo.path(), &["image", "verify", &reference, "--revision", other]);
    assert_eq!(foreign.code, 1, "{}", foreign.stdout);
    assert!(foreign.stdout.contains(other), "{}", foreign.stdout);
    assert!(foreign.stdout.contains("\nverdict: FAIL "), "one verdict line ends the report: {}", foreign.stdout);

    // In the repository an abbreviated commit (or the tag) is expanded by git.
    for revision in [&commit[..7], "v0.4.0"] {
        let short = slipway(repo.path(), &["image", "verify", &reference, "--revision", revision]);
        assert_eq!(short.code, 0, "--revision {revision}: {}{}", short.stdout, short.stderr);
        assert!(short.stdout.contains("\nverdict: ok "), "{}", short.stdout);
    }
    // Elsewhere, or too short, or unknown, it says why.
    let elsewhere = tempfile::tempdir().expect("temporary directory");
    let outside = slipway(elsewhere.path(), &["image", "verify", &reference, "--revision", &commit[..7]]);
    assert_eq!(outside.code, 2, "{}", outside.stderr);
    assert!(outside.stderr.contains("is not in a git repository to expand it in"), "{}", outside.stderr);
    let too_short = slipway(repo.path(), &["image", "verify", &reference, "--revision", &commit[..5]]);
    assert_eq!(too_short.code, 2, "{}", too_short.stderr);
    assert!(too_short.stderr.contains("at least 7 hex digits"), "{}", too_short.stderr);
    let unknown = slipway(repo.path(), &["image", "verify", &reference, "--revision", "0000000"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("names no commit"), "{}", unknown.stderr);
}

#[test]
fn inspect_reports_every_platform_in_text_and_json() {
    let repository = image_name("inspect");
    let (repo, commit) = project(&repository);
    assert_eq!(slipway(repo.path(), &["image", "build", "--push"]).code, 0);
    let reference = format!("{repository}:v0.4.0");

    let text = slipway(repo.path(), &["image", "inspect", &reference]);
    insta::assert_snapshot!(render(&text, &repo, &repository));
    assert_eq!(text.code, 0);

    let report = json(&slipway(repo.path(), &["image", "inspect", &reference, "--format", "json"]));
    assert_eq!(report["schema"], "slipway.image.report/v1");
    assert_eq!(report["annotations"]["org.opencontainers.image.revision"], commit.as_str());
    let platforms = report["platforms"].as_array().expect("platforms");
    let binaries: Vec<&str> = platforms.iter().filter_map(|platform| platform["binary"].as_str()).collect();
    assert_eq!(
        binaries,
        ["/manager: amd64 (ELF 64-bit LSB, EM_X86_64)", "/manager: arm64 (ELF 64-bit LSB, EM_AARCH64)"]
    );
    for platform in platforms {
        assert_eq!(platform["provenance"]["org.opencontainers.image.description"], "An example operator");
        assert_eq!(platform["layers"], 1, "scratch plus one layer of files");
    }

    let missing = slipway(repo.path(), &["image", "inspect", &format!("{repository}:v9.9.9")]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stdout.contains("v9.9.9 (not found)"), "{}", missing.stdout);
}

#[test]
fn an_archive_runs_under_podman() {
    let (repo, _) = project(EXAMPLE_IMAGE);
    let archive = repo.path().join("hello-operator.tar");
    let destination = format!("oci-archive:{}", archive.display());
    let written = slipway(repo.path(), &["image", "build", "--output", &destination]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    assert!(written.stdout.ends_with(&format!("written to {destination} as v0.4.0\n")), "{}", written.stdout);
    assert_eq!(podman::run(&destination, &[]), "hello-operator manager v0.4.0\n");

    // Without a destination it builds and checks, and publishes nothing.
    let checked = slipway(repo.path(), &["image", "build"]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(checked.stdout.ends_with("built and checked as v0.4.0; not published (use --push or --output)\n"));
    assert_eq!(
        checked.stdout.split_whitespace().nth(2),
        written.stdout.split_whitespace().nth(2),
        "the same commit builds the same index"
    );
}

#[test]
fn dockerfile_and_cloudbuild_are_generated_from_the_same_configuration() {
    let (repo, _) = project(EXAMPLE_IMAGE);
    let dockerfile = slipway(repo.path(), &["image", "dockerfile"]);
    insta::assert_snapshot!(dockerfile.render_for(&repo, &[]));
    assert_eq!(dockerfile.code, 0);
    let cloudbuild = slipway(repo.path(), &["image", "cloudbuild"]);
    insta::assert_snapshot!(cloudbuild.render_for(&repo, &[]));
    assert_eq!(cloudbuild.code, 0);
}

#[test]
fn bad_input_is_a_usage_error_that_names_its_source() {
    let (repo, _) = project(EXAMPLE_IMAGE);
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 4] = [
        (&["image", "build", "--image", "nope"], &[]),
        (&["image", "build", "--force"], &[]),
        (&["image", "build", "--output", "zip:image.zip"], &[]),
        (&["image", "build"], &[("SOURCE_DATE_EPOCH", "yesterday")]),
    ];
    for (args, environment) in cases {
        let run = slipway_with_env(repo.path(), args, environment);
        insta::assert_snapshot!(run.render_for(&repo, &[]));
        assert_eq!(run.code, 2, "{args:?}");
    }

    edit(&repo, "slipway.yaml", "hack/build.sh {os} {arch}", "hack/build.sh {os} {arch} {flavour}");
    let placeholder = slipway(repo.path(), &["image", "build"]);
    insta::assert_snapshot!(placeholder.render_for(&repo, &[]));
    assert_eq!(placeholder.code, 2);

    repo.git(&["checkout", "slipway.yaml"]);
    let text = repo.read("slipway.yaml");
    let without_images = &text[..text.find("# The images").expect("the images section")];
    repo.write("slipway.yaml", without_images);
    let nothing = slipway(repo.path(), &["image", "build"]);
    insta::assert_snapshot!(nothing.render_for(&repo, &[]));
    assert_eq!(nothing.code, 2);
}

#[test]
fn a_failing_build_shows_its_output_and_publishes_nothing() {
    let repository = image_name("failing");
    let (repo, _) = project(&repository);
    edit(&repo, "hack/build.sh", "\"$cc\" -static", "echo \"compiling for $arch\"\n\"$cc\" -include missing.h -static");
    let run = slipway(repo.path(), &["image", "build", "--push"]);
    let rendered = render(&run, &repo, &repository);
    assert_eq!(run.code, 1, "{rendered}");
    // The platforms build in parallel; either may fail first.
    let rendered = rendered.replace("arm64", "[ARCH]").replace("amd64", "[ARCH]");
    insta::assert_snapshot!(rendered);
    let inspect = slipway(repo.path(), &["image", "inspect", &format!("{repository}:v0.4.0")]);
    assert_eq!(inspect.code, 1, "nothing was tagged: {}", inspect.stdout);
}

#[test]
fn a_release_tag_is_not_overwritten_by_another_image_without_force() {
    let repository = image_name("collision");
    let (repo, _) = project(&repository);
    assert_eq!(slipway(repo.path(), &["image", "build", "--push"]).code, 0);
    let reference = format!("{repository}:v0.4.0");
    let before = json(&slipway(repo.path(), &["image", "inspect", &reference, "--format", "json"]));

    edit(&repo, "cmd/manager/main.c", "manager v0.4.0", "manager v0.4.0 with a local change");
    let refused = slipway(repo.path(), &["image", "build", "--push", "--tag", "v0.4.0"]);
    insta::assert_snapshot!(render(&refused, &repo, &repository));
    assert_eq!(refused.code, 2);
    let after = json(&slipway(repo.path(), &["image", "inspect", &reference, "--format", "json"]));
    assert_eq!(after["digest"], before["digest"], "the tag still names the first image");

    let forced = slipway(repo.path(), &["image", "build", "--push", "--tag", "v0.4.0", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    let after = json(&slipway(repo.path(), &["image", "inspect", &reference, "--format", "json"]));
    assert_ne!(after["digest"], before["digest"], "--force moved the tag");
}

#[test]
fn a_registry_that_wants_a_login_is_refused_then_accepted_with_credentials() {
    let secured = registry::Ephemeral::start_with_credentials("slipway", "secret");
    let repository = format!("{}/example-org/hello-operator", secured.address());
    let (repo, _) = project(&repository);

    let refused = slipway(repo.path(), &["image", "build", "--push"]);
    insta::assert_snapshot!(render(&refused, &repo, &repository).replace(secured.address(), "[REGISTRY]"));
    assert_eq!(refused.code, 3);

    let docker_config = tempfile::tempdir().expect("temporary directory");
    let auth = serde_json::json!({"auths": {secured.address(): {"auth": "c2xpcHdheTpzZWNyZXQ="}}});
    fs_err::write(docker_config.path().join("config.json"), auth.to_string()).expect("write config.json");
    let config = docker_config.path().to_str().expect("UTF-8 path");
    let accepted = slipway_with_env(repo.path(), &["image", "build", "--push"], &[("DOCKER_CONFIG", config)]);
    assert_eq!(accepted.code, 0, "{}", accepted.stderr);
    let verified = slipway_with_env(
        repo.path(),
        &["image", "verify", &format!("{repository}:v0.4.0")],
        &[("DOCKER_CONFIG", config)],
    );
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
}
