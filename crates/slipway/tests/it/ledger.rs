//! The release ledger end to end: `release bump --tag` and `image build --push` record a release
//! in a local directory or on S3 (moto); `release audit` catches a registry tag pushed over (by
//! skopeo) and a git tag re-pointed (`git tag -f`), as descheduler's v0.29.0 was; bad records and
//! unreachable storage are reported, never trusted.

use slipway_test::git::TempRepo;
use slipway_test::registry;

use crate::support::{Run, edit, example, slipway, slipway_with_env};

const EXAMPLE_IMAGE: &str = "ghcr.io/example-org/hello-operator";

/// The example with its image in the test registry, at v0.4.0 (not tagged).
pub(crate) fn project(name: &str) -> (TempRepo, String) {
    let repository = format!("{}/{}/hello-operator", registry::address(), registry::unique_repository(name));
    let repo = TempRepo::new();
    repo.copy_tree(&example(), ".");
    for file in [
        "slipway.yaml",
        "config/base/deployment.yaml",
        "config/jobs/cleanup.yaml",
        "config/default/kustomization.yaml",
        "charts/hello-operator/values.yaml",
    ] {
        let text = repo.read(file);
        repo.write(file, &text.replace(EXAMPLE_IMAGE, &repository));
    }
    repo.git(&["remote", "add", "origin", "https://github.com/example-org/hello-operator.git"]);
    repo.commit("hello-operator v0.4.0");
    (repo, repository)
}

fn render(run: &Run, repo: &TempRepo, repository: &str) -> String {
    let text = run.render_for(repo, &[(repository, "[IMAGE]")]);
    let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").expect("regex");
    time.replace_all(&text, "[TIME]").into_owned()
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}{}", run.stdout, run.stderr))
}

fn skopeo(args: &[&str]) {
    let output = std::process::Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is installed by scripts/test-services.sh");
    assert!(output.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_tagged_and_pushed_release_is_recorded_and_audit_catches_what_changes_after() {
    let (repo, repository) = project("ledger");
    let bumped = slipway(repo.path(), &["release", "bump", "0.5.0", "--tag"]);
    assert_eq!(bumped.code, 0, "{}", bumped.stderr);
    assert!(bumped.stderr.contains("recorded release v0.5.0 in file://"), "{}", bumped.stderr);
    let pushed = slipway(repo.path(), &["image", "build", "--push"]);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert!(pushed.stderr.contains("added to the record of v0.5.0"), "{}", pushed.stderr);

    let record: serde_json::Value =
        serde_json::from_str(&repo.read(".slipway/artifacts/releases/v0.5.0.json")).expect("JSON");
    assert_eq!(record["schema"], "slipway.release.record/v1");
    assert_eq!(record["git"]["commit"], repo.git(&["rev-parse", "v0.5.0^{commit}"]).trim());
    assert!(record["git"]["tag_object"].is_string(), "bump --tag makes an annotated tag: {record:#}");
    let platforms: Vec<&str> = record["images"][0]["platforms"]
        .as_array()
        .expect("platforms")
        .iter()
        .filter_map(|p| p["platform"].as_str())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let events: Vec<&str> =
        record["events"].as_array().expect("events").iter().filter_map(|e| e["by_command"].as_str()).collect();
    assert_eq!(events, ["release bump --tag", "image build --push"]);
    assert_eq!(record["events"][0]["by"], "Slipway Test <test@slipway.invalid>");

    let clean = slipway(repo.path(), &["release", "audit"]);
    assert_eq!(clean.code, 0, "{}", render(&clean, &repo, &repository));

    // After the release: the image tag is pushed over with another image, and the git tag is
    // re-pointed at a later commit that deploys another image.
    let tagged = format!("docker://{repository}:v0.5.0");
    skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--format",
        "v2s2",
        "--multi-arch=index-only",
        &tagged,
        &tagged,
    ]);
    edit(&repo, "config/default/kustomization.yaml", "newTag: v0.5.0", "newTag: v0.4.0");
    repo.commit("after the release");
    repo.git(&["tag", "--force", "v0.5.0"]);
    let audit = slipway(repo.path(), &["release", "audit"]);
    insta::assert_snapshot!(render(&audit, &repo, &repository));
    assert_eq!(audit.code, 1);
    let verify = slipway(repo.path(), &["release", "verify", "--tag", "v0.5.0", "--offline"]);
    assert!(verify.stdout.contains("tag-moved"), "verify compares with the record too: {}", verify.stdout);

    // A deleted tag.
    repo.git(&["tag", "--delete", "v0.5.0"]);
    let deleted = json(&slipway(repo.path(), &["release", "audit", "0.5.0", "--offline", "--format", "json"]));
    assert_eq!(deleted["releases"][0]["findings"][0]["kind"], "tag-deleted", "{deleted:#}");
}

#[test]
fn a_release_made_before_slipway_is_recorded_after_the_fact() {
    let (repo, repository) = project("record");
    repo.tag("v0.4.0");
    let pushed = slipway(repo.path(), &["image", "build", "--push", "--storage", "elsewhere"]);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let offline = slipway(repo.path(), &["release", "record", "0.4.0", "--offline"]);
    insta::assert_snapshot!(render(&offline, &repo, &repository));
    assert_eq!(offline.code, 0);
    let online = json(&slipway(repo.path(), &["release", "record", "0.4.0", "--format", "json"]));
    assert_eq!(online["schema"], "slipway.release.recorded/v1");
    assert_eq!(online["created"], false);
    assert_eq!(online["added"], serde_json::json!([format!("image {repository}:v0.4.0")]));
    let again = slipway(repo.path(), &["release", "record", "0.4.0"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("is already recorded in"), "{}", again.stdout);
    assert!(again.stdout.contains("nothing new to add"), "{}", again.stdout);

    // Recording a release that moved since keeps the record and reports the difference.
    edit(&repo, "README.md", "# hello-operator", "# hello-operator (edited)");
    repo.commit("later");
    repo.git(&["tag", "--force", "v0.4.0"]);
    let moved = slipway(repo.path(), &["release", "record", "0.4.0", "--offline"]);
    assert_eq!(moved.code, 1, "{}", moved.stdout);
    assert!(moved.stdout.contains("error: tag v0.4.0: ledger-entry"), "{}", moved.stdout);

    let missing = slipway(repo.path(), &["release", "record", "0.9.0"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("tag `v0.9.0` does not exist"), "{}", missing.stderr);
}

#[test]
fn the_ledger_on_s3() {
    let (repo, _) = project("ledger-s3");
    let bucket = slipway_test::s3::unique_bucket("ledger");
    let storage = format!("s3://{bucket}/hello-operator");
    let environment: Vec<(String, String)> = slipway_test::s3::environment();
    let environment: Vec<(&str, &str)> =
        environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let bumped =
        slipway_with_env(repo.path(), &["release", "bump", "0.5.0", "--tag", "--storage", &storage], &environment);
    assert_eq!(bumped.code, 0, "{}", bumped.stderr);
    assert!(
        bumped
            .stderr
            .contains(&format!("recorded release v0.5.0 in s3://{bucket}/hello-operator/releases/v0.5.0.json")),
        "{}",
        bumped.stderr
    );
    let pushed = slipway_with_env(repo.path(), &["image", "build", "--push", "--storage", &storage], &environment);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let audit =
        slipway_with_env(repo.path(), &["release", "audit", "--storage", &storage, "--format", "json"], &environment);
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    let report = json(&audit);
    assert_eq!(report["schema"], "slipway.release.audit/v1");
    assert_eq!(report["releases"][0]["verdict"], "unchanged");
    assert_eq!(report["summary"]["releases"], 1);

    // Nothing in the local directory: the ledger is where it was asked to be.
    assert!(!repo.path().join(".slipway/artifacts/releases").exists());

    // Unreachable storage: exit 3 naming it; verify still prints what the files say.
    let closed = slipway_test::s3::environment_for(&slipway_test::s3::closed_endpoint());
    let closed: Vec<(&str, &str)> = closed.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    let audit = slipway_with_env(repo.path(), &["release", "audit", "--storage", &storage], &closed);
    assert_eq!(audit.code, 3, "{}", audit.stderr);
    assert!(audit.stderr.contains(&format!("s3://{bucket}/hello-operator")), "{}", audit.stderr);
    let verify = slipway_with_env(repo.path(), &["release", "verify", "--offline", "--storage", &storage], &closed);
    assert_eq!(verify.code, 3, "{}", verify.stderr);
    assert!(verify.stdout.contains("references agree"), "the file findings are printed: {}", verify.stdout);
    assert!(verify.stderr.contains("the release ledger could not be read"), "{}", verify.stderr);
}

#[test]
fn bad_records_are_findings_never_trusted() {
    let (repo, _) = project("ledger-bad");
    repo.tag("v0.4.0");
    assert_eq!(slipway(repo.path(), &["release", "record", "0.4.0", "--offline"]).code, 0);
    repo.tag("v0.3.0");
    let record = ".slipway/artifacts/releases/v0.4.0.json";
    let good = repo.read(record);
    repo.write(".slipway/artifacts/releases/v0.3.0.json", "{\"schema\": \"slipway.release.record/v1\",\n  \"tag\": ");
    repo.write(
        ".slipway/artifacts/releases/v0.2.0.json",
        "{\"schema\": \"slipway.release.record/v2\", \"tag\": \"v0.2.0\"}",
    );
    let audit = slipway(repo.path(), &["release", "audit", "--offline"]);
    insta::assert_snapshot!(render(&audit, &repo, "[none]"));
    assert_eq!(audit.code, 1);
    let missing = slipway(repo.path(), &["release", "audit", "0.1.0", "--offline"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stdout.contains("v0.1.0: not-recorded"), "{}", missing.stdout);
    // A corrupt record is never written over.
    let corrupt = slipway(repo.path(), &["release", "record", "0.3.0", "--offline"]);
    assert_eq!(corrupt.code, 1, "{}", corrupt.stderr);
    assert!(corrupt.stderr.contains("is not a readable release record"), "{}", corrupt.stderr);
    assert_eq!(repo.read(record), good);
}

#[test]
fn the_promoter_manifest_must_promote_the_digest_that_was_built() {
    let (repo, repository) = project("promoter");
    repo.tag("v0.4.0");
    let pushed = slipway(repo.path(), &["image", "build", "--push", "--format", "json"]);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let digest = json(&pushed)["images"][0]["digest"].as_str().expect("a digest").to_owned();
    let wrong = format!("sha256:{}", "0".repeat(64));
    repo.write(
        "promoter/images.yaml",
        &format!("- name: hello-operator\n  dmap:\n    \"{wrong}\": [\"v0.4.0\"]\n    \"{digest}\": [\"v0.3.0\"]\n"),
    );
    let config = repo.read("slipway.yaml");
    repo.write("slipway.yaml", &config.replace("release:\n", "release:\n  promoter_manifest: promoter/images.yaml\n"));
    repo.commit("promoter manifest");
    let verify = slipway(repo.path(), &["release", "verify", "--version", "0.4.0"]);
    assert_eq!(verify.code, 1, "{}", render(&verify, &repo, &repository));
    assert!(verify.stdout.contains("error: promoter/images.yaml:3: promoter-digest"), "{}", verify.stdout);
    let audit = slipway(repo.path(), &["release", "audit"]);
    assert_eq!(audit.code, 1, "{}", audit.stdout);
    assert!(audit.stdout.contains("promoter-digest"), "{}", audit.stdout);

    repo.write("promoter/images.yaml", &format!("- name: hello-operator\n  dmap:\n    \"{digest}\": [\"v0.4.0\"]\n"));
    let verify = slipway(repo.path(), &["release", "verify", "--version", "0.4.0"]);
    assert_eq!(verify.code, 0, "{}", render(&verify, &repo, &repository));
}

#[test]
fn serve_shows_the_ledger_audited_and_the_version_markers() {
    let (repo, _) = project("ledger-serve");
    let bumped = slipway(repo.path(), &["release", "bump", "0.5.0", "--tag"]);
    assert_eq!(bumped.code, 0, "{}", bumped.stderr);
    let published = slipway(repo.path(), &["marker", "publish", "stable", "v0.5.0"]);
    assert_eq!(published.code, 0, "{}", published.stderr);
    // The tag is moved after the release, as descheduler's v0.29.0 was.
    edit(&repo, "config/default/kustomization.yaml", "newTag: v0.5.0", "newTag: v0.4.0");
    repo.commit("after the release");
    repo.git(&["tag", "--force", "v0.5.0"]);
    let (child, address) = crate::serve::start(repo.path());
    let (status, page) = crate::serve::get(&address, "/releases");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<td>v0.5.0</td>"), "{page}");
    assert!(page.contains("<td class=\"state state-failure\">changed</td>"), "the moved tag is found: {page}");
    assert!(page.contains("Registries not read"), "{page}");
    assert!(page.contains("<td title=\"file://") && page.contains(">stable.txt</td><td><code>v0.5.0</code>"), "{page}");
    let (status, api) = crate::serve::get(&address, "/api/v1/releases");
    assert_eq!(status, 200);
    let api: serde_json::Value = serde_json::from_str(&api).expect("JSON");
    assert_eq!(api["schema"], "slipway.api.releases/v1");
    assert_eq!(api["audit"]["releases"][0]["verdict"], "changed");
    assert_eq!(api["markers"][0]["value"], "v0.5.0");
    // Markers are published through the API as `marker publish` does: never backwards with
    // if_newer.
    let publish = |name: &str, body: &str| crate::serve::post_json(&address, &format!("/api/v1/markers/{name}"), body);
    let (status, moved) = publish("stable", r#"{"value": "v0.6.0", "if_newer": true}"#);
    assert_eq!(status, 200, "{moved}");
    let moved: serde_json::Value = serde_json::from_str(&moved).expect("JSON");
    assert_eq!((moved["outcome"].as_str(), moved["previous"].as_str()), (Some("updated"), Some("v0.5.0")));
    let (status, kept) = publish("stable", r#"{"value": "v0.4.0", "if_newer": true}"#);
    assert_eq!(status, 200, "{kept}");
    assert!(kept.contains("\"outcome\":\"kept\""), "{kept}");
    let (status, nested) = publish("markers%2Flatest-ci", r#"{"value": "v0.6.0-12-gabc"}"#);
    assert_eq!(status, 200, "{nested}");
    assert!(repo.path().join(".slipway/artifacts/markers/latest-ci.txt").is_file());
    assert_eq!(publish("..%2Fescape", r#"{"value": "v1"}"#).0, 400);
    assert_eq!(publish("stable", r#"{"value": "not a version", "if_newer": true}"#).0, 400);
    assert_eq!(publish("stable", "not JSON").0, 400);
    assert_eq!(slipway(repo.path(), &["marker", "get", "stable"]).stdout.trim(), "v0.6.0");
    let (code, stderr) = crate::serve::terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
}
