//! `slipway env versions`, `env node-image` and `env node-image verify` against a local server
//! playing dl.k8s.io and the GitHub releases API, and node-image-shaped images in the real local
//! registry.

use slipway_core::ImageReference;
use slipway_test::images::{NodePlatform, push_node_image, push_single_node_image};
use slipway_test::registry;
use slipway_test::upstream::Upstream;

use crate::support::{Run, json, project, slipway};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn reference(text: &str) -> ImageReference {
    ImageReference::parse(text).expect("valid reference")
}

/// Release notes as kind writes them (the current list form), for images the test pushed.
fn notes(images: &[(&str, &str)]) -> String {
    let mut text =
        String::from("<h1 id=\"breaking-changes\">Breaking Changes</h1>\n\nImages pre-built for this release:\n");
    for (version, digest) in images {
        text.push_str(&format!("- {version}: `kindest/node:{version}@{digest}`\n"));
    }
    text.push_str("\n**NOTE**: You _must_ use the `@sha256` digest to guarantee an image built for this release.\n");
    text
}

fn entries(run: &Run) -> Vec<(String, String, String, String)> {
    let report = json(&run.stdout);
    report["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|image| {
            (
                image["entry"].as_str().unwrap_or_default().to_owned(),
                image["arch"].as_str().unwrap_or_default().to_owned(),
                image["source"].as_str().unwrap_or_default().to_owned(),
                image["image"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn versions_follow_redirects_trim_newlines_cache_and_name_what_fails() {
    let upstream = Upstream::start();
    upstream
        .file("release/stable-1.36.txt", "v1.36.1")
        .file("release/latest-1.37.txt", "v1.37.0-rc.1\n")
        .file("ci/latest-1.37.txt", "v1.37.0-alpha.2.15+0123456789abcd");
    let config = format!(
        "env:\n  markers_url: {}/redirect\n  kubernetes: [stable-1.36, latest-1.37, ci/latest-1.37, v1.35.2]\n",
        upstream.url
    );
    let project = project(&config);
    let run = slipway(project.path(), &["env", "versions", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["schema"], "slipway.env.versions/v1");
    let versions: Vec<&str> = report["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|row| row["version"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(versions, ["v1.36.1", "v1.37.0-rc.1", "v1.37.0-alpha.2.15+0123456789abcd", "v1.35.2"]);
    assert_eq!(
        report["versions"][2]["artifacts"],
        format!("{}/redirect/ci/v1.37.0-alpha.2.15+0123456789abcd", upstream.url)
    );
    assert!(report["versions"][0].get("artifacts").is_none(), "a release has no CI artifacts");
    let asked = upstream.requests();
    assert_eq!(asked, 6, "three markers, each a redirect and the file");

    let text = slipway(project.path(), &["env", "versions"]);
    insta::assert_snapshot!("versions_text", text.render(&[(&upstream.url, "[UPSTREAM]")]));
    let again = slipway(project.path(), &["env", "versions", "--format", "json"]);
    assert_eq!(again.code, 0);
    assert!(json(&again.stdout)["versions"][0]["source"].as_str().is_some_and(|source| source.ends_with("(cached)")));
    assert_eq!(upstream.requests(), asked, "a fresh cache asks nothing");
    let refreshed = slipway(project.path(), &["env", "versions", "stable-1.36", "--refresh"]);
    assert_eq!(refreshed.code, 0);
    assert_eq!(upstream.requests(), asked + 2, "--refresh reads again");

    let unknown = slipway(project.path(), &["env", "versions", "newest-1.2"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("`newest-1.2`"), "{}", unknown.stderr);

    let bad_ttl = crate::support::project("env:\n  cache_ttl: soon\n");
    let run = slipway(bad_ttl.path(), &["env", "versions", "v1.35.2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("env.cache_ttl") && run.stderr.contains("line 2"), "{}", run.stderr);

    let unreachable = crate::support::project("env:\n  markers_url: http://127.0.0.1:9\n");
    let run = slipway(unreachable.path(), &["env", "versions", "stable-1.36", "v1.35.2"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("http://127.0.0.1:9/release/stable-1.36.txt"), "{}", run.stdout);
    assert!(run.stdout.contains("v1.35.2  given"), "the rest is still resolved: {}", run.stdout);
}

#[test]
fn published_images_are_pinned_by_digest_checked_in_the_registry_and_locked() {
    let registry_client = registry::client();
    let repository = format!("{}/{}", registry::address(), registry::unique_repository("kindest/node"));
    let runtime = runtime();
    let v1361 = [NodePlatform::new("amd64", "v1.36.1"), NodePlatform::new("arm64", "v1.36.1")];
    let digest =
        runtime.block_on(push_node_image(&registry_client, &reference(&format!("{repository}:v1.36.1")), &v1361));
    let absent = format!("sha256:{}", "e".repeat(64));
    let upstream = Upstream::start();
    upstream.file("release/stable-1.36.txt", "v1.36.1\n");
    upstream.release("v0.32.0", &notes(&[("v1.36.1", &digest), ("v1.35.5", &absent)]));
    let config = |kubernetes: &str| {
        format!(
            "env:\n  kind: v0.32.0\n  kubernetes: [{kubernetes}]\n  arches: [amd64, arm64]\n  markers_url: {url}\n  kind_releases_url: {url}\n  published_repository: {repository}\n  policy:\n    main: published\n",
            url = upstream.url
        )
    };
    let project = project(&config("stable-1.36, v1.35.5"));
    let lock = project.path().join("slipway.lock");

    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--format", "json"]);
    assert_eq!(run.code, 1, "v1.35.5's digest is not in the registry: {}{}", run.stdout, run.stderr);
    let pinned = format!("{repository}:v1.36.1@{digest}");
    assert_eq!(
        entries(&run),
        [
            ("stable-1.36".into(), "amd64".into(), "published".into(), pinned.clone()),
            ("stable-1.36".into(), "arm64".into(), "published".into(), pinned.clone()),
            ("v1.35.5".into(), "amd64".into(), "missing".into(), String::new()),
            ("v1.35.5".into(), "arm64".into(), "missing".into(), String::new()),
        ]
    );
    let report = json(&run.stdout);
    assert_eq!(report["schema"], "slipway.env.node-image/v1");
    assert_eq!((report["policy"].as_str(), report["policy_rule"].as_str()), (Some("published"), Some("main")));
    let reason = report["images"][2]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&absent) && reason.contains("does not have"), "{reason}");
    assert!(!lock.exists(), "a matrix with a missing image is not locked");
    let text = slipway(project.path(), &["env", "node-image", "--branch", "main"]);
    insta::assert_snapshot!("node_image_published_text", text.render(&[(&repository, "[MIRROR]")]));

    fs_err::write(project.path().join("slipway.yaml"), config("stable-1.36")).expect("write");
    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(json(&run.stdout)["lock"]["written"], true);
    let locked = fs_err::read_to_string(&lock).expect("the lock is written");
    assert!(locked.contains(&pinned) && locked.contains("entry: stable-1.36"), "{locked}");

    // kind re-pushes a tag with each release: the lock keeps kind v0.32.0's digest, and the
    // re-pushed tag is reported.
    let mut repushed = v1361;
    repushed[0].kind_version = Some("v1.36.1 ".into());
    runtime.block_on(push_node_image(&registry_client, &reference(&format!("{repository}:v1.36.1")), &repushed));
    let asked = upstream.requests();
    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json(&run.stdout)["images"][0]["source"], "lock");
    assert_eq!(json(&run.stdout)["images"][0]["locked_source"], "published");
    assert_eq!(upstream.requests(), asked, "a complete lock needs no network");
    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--update", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let image = &json(&run.stdout)["images"][0];
    assert_eq!(image["image"], pinned.as_str(), "still kind v0.32.0's digest");
    assert!(
        image["notes"][0].as_str().is_some_and(|note| note.contains("now points at") && note.contains("re-pushed")),
        "{image}"
    );

    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--locked"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // One architecture at a time keeps the other's entries.
    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--arch", "amd64", "--update"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(fs_err::read_to_string(&lock).expect("lock").contains("arch: arm64"));
    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--arch", "amd64", "--locked"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    fs_err::write(project.path().join("slipway.yaml"), config("stable-1.36, v1.34.8")).expect("write");
    let before = fs_err::read(&lock).expect("lock");
    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--locked"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("+ v1.34.8 (kind v0.32.0, amd64): not in the lock"), "{}", run.stderr);
    assert_eq!(fs_err::read(&lock).expect("lock"), before, "--locked never writes");
}

#[test]
fn a_kind_release_without_images_and_an_unknown_kind_release_are_named() {
    let upstream = Upstream::start();
    upstream.release("v0.31.0", "This release has no images listed.\r\n");
    let config = format!(
        "env:\n  kind: v0.31.0\n  kubernetes: [v1.35.0]\n  kind_releases_url: {}\n  markers_url: {}\n",
        upstream.url, upstream.url
    );
    let project = project(&config);
    let run = slipway(project.path(), &["env", "node-image", "--policy", "published"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("kind v0.31.0's release notes") && run.stdout.contains("list no node images"),
        "{}",
        run.stdout
    );
    let run = slipway(project.path(), &["env", "node-image", "--policy", "published", "--kind", "v0.99.0"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("kind has no release v0.99.0"), "{}", run.stdout);
    let unreachable = crate::support::project(
        "env:\n  kind: v0.31.0\n  kubernetes: [v1.35.0]\n  kind_releases_url: http://127.0.0.1:9\n",
    );
    let run = slipway(unreachable.path(), &["env", "node-image", "--policy", "published"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("http://127.0.0.1:9/repos/kubernetes-sigs/kind/releases/tags/v0.31.0"),
        "{}",
        run.stdout
    );
    assert!(!unreachable.path().join("slipway.lock").exists());
}

#[test]
fn images_built_earlier_are_found_by_tag_and_verified_before_use() {
    let registry_client = registry::client();
    let repository = format!("{}/{}", registry::address(), registry::unique_repository("kind-node"));
    let runtime = runtime();
    let push = |tag: &str, platform: NodePlatform| {
        runtime.block_on(push_single_node_image(
            &registry_client,
            &reference(&format!("{repository}:{tag}")),
            &platform,
        ))
    };
    let good = push("v1.36.0-kind-v0.32.0-amd64", NodePlatform::new("amd64", "v1.36.0"));
    let mut wrong_binary = NodePlatform::new("arm64", "v1.36.0");
    wrong_binary.binaries = "amd64".into();
    push("v1.36.0-kind-v0.32.0-arm64", wrong_binary);
    push("v1.34.0-kind-v0.32.0-amd64", NodePlatform::new("amd64", "v1.33.9"));
    let config = format!(
        "env:\n  kind: v0.32.0\n  kubernetes: [v1.36.0, v1.34.0]\n  arches: [amd64, arm64]\n  registry: {repository}\n  policy: {{main: build}}\n"
    );
    let project = project(&config);
    let run = slipway(project.path(), &["env", "node-image", "--branch", "main", "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let images = entries(&run);
    assert_eq!(
        images[0],
        (
            "v1.36.0".into(),
            "amd64".into(),
            "registry".into(),
            format!("{repository}:v1.36.0-kind-v0.32.0-amd64@{good}")
        )
    );
    let report = json(&run.stdout);
    let arm = report["images"][1]["reason"].as_str().unwrap_or_default();
    assert!(arm.contains("fails verification") && arm.contains("/usr/bin/kubelet"), "{arm}");
    let old = report["images"][2]["reason"].as_str().unwrap_or_default();
    assert!(old.contains("/kind/version: v1.33.9") && old.contains("expected v1.34.0"), "{old}");
    let unbuilt = report["images"][3]["reason"].as_str().unwrap_or_default();
    assert!(unbuilt.contains("v1.34.0-kind-v0.32.0-arm64 is not built yet"), "{unbuilt}");
}

#[test]
fn node_image_verify_checks_platforms_the_version_file_and_every_binary() {
    let registry_client = registry::client();
    let repository = format!("{}/{}", registry::address(), registry::unique_repository("kind-node"));
    let runtime = runtime();
    let push = |tag: &str, platforms: &[NodePlatform]| {
        runtime.block_on(push_node_image(&registry_client, &reference(&format!("{repository}:{tag}")), platforms));
    };
    push("good", &[NodePlatform::new("amd64", "v1.36.1"), NodePlatform::new("arm64", "v1.36.1")]);
    let mut wrong_arch = NodePlatform::new("arm64", "v1.36.1");
    wrong_arch.binaries = "amd64".into();
    push("wrong-arch", &[NodePlatform::new("amd64", "v1.36.1"), wrong_arch]);
    let mut no_version = NodePlatform::new("arm64", "v1.36.1");
    no_version.kind_version = None;
    push("wrong-version", &[NodePlatform::new("amd64", "v1.35.0"), no_version]);
    let project = project("");
    let verify = |tag: &str, extra: &[&str]| {
        let image = format!("{repository}:{tag}");
        let mut args = vec!["env", "node-image", "verify", image.as_str()];
        args.extend_from_slice(extra);
        slipway(project.path(), &args)
    };

    let run = verify("good", &["--kubernetes", "v1.36.1", "--arch", "amd64,arm64", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["schema"], "slipway.env.node-image-verify/v1");
    assert_eq!(report["platforms"][1]["kubernetes"], "v1.36.1");
    assert!(
        report["platforms"][1]["binaries"]["/usr/bin/kubelet"].as_str().is_some_and(|text| text.contains("arm64")),
        "{report}"
    );

    let run = verify("wrong-arch", &["--kubernetes", "v1.36.1"]);
    assert_eq!(run.code, 1);
    let text = run.render(&[(&repository, "[REPO]")]);
    insta::assert_snapshot!("node_image_verify_wrong_arch", text);

    let run = verify("wrong-version", &["--kubernetes", "v1.36.1", "--arch", "amd64,s390x", "--format", "json"]);
    assert_eq!(run.code, 1);
    let report = json(&run.stdout);
    let kinds: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| finding["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["registry-platform-missing", "node-image-version"], "{}", run.stdout);

    let run = verify("wrong-version", &[]);
    assert_eq!(run.code, 1, "no /kind/version on one platform: {}", run.stdout);
    assert!(run.stdout.contains("no /kind/version"), "{}", run.stdout);
    let run = verify("no-such-tag", &[]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("registry-tag-missing"), "{}", run.stdout);
    let run = slipway(project.path(), &["env", "node-image", "verify", "127.0.0.1:9/kind-node:v1"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
}

#[test]
fn kind_s_real_release_notes_served_as_the_github_api_does() {
    let upstream = Upstream::start();
    let notes = fs_err::read_to_string(crate::support::corpus().join("kind-release-notes/v0.29.0.md")).expect("corpus");
    upstream.release("v0.29.0", &notes);
    let mirror = format!("{}/{}", registry::address(), registry::unique_repository("kindest/node"));
    let project = project(&format!(
        "env:\n  kind: v0.29.0\n  kubernetes: [v1.33.1, v1.33.2]\n  kind_releases_url: {}\n  published_repository: {mirror}\n",
        upstream.url
    ));
    let run =
        slipway(project.path(), &["env", "node-image", "--policy", "published", "--arch", "arm64", "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report = json(&run.stdout);
    let listed = report["images"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        listed.contains(&format!(
            "{mirror}:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f"
        )) && listed.contains("does not have"),
        "the digest of kind v0.29.0's notes, asked of the mirror: {listed}"
    );
    let unlisted = report["images"][1]["reason"].as_str().unwrap_or_default();
    assert!(
        unlisted.contains("kind v0.29.0 published no image for v1.33.2 (it has v1.33.1 of that minor)"),
        "{unlisted}"
    );
}
