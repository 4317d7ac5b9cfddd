//! The overlay renderer agrees with `kubectl kustomize` on what each overlay deploys.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use slipway_release::Settings;
use slipway_release::render::overlays;
use slipway_release::scan::{scan, workloads};
use slipway_release::source::worktree;
use slipway_release::yaml::{self, Node};

use crate::support::{corpus, fixtures};

type Deployed = BTreeSet<(String, String, String, String)>;

fn kubectl_kustomize(directory: &Path) -> Deployed {
    let output = Command::new("kubectl")
        .args(["kustomize", &directory.to_string_lossy()])
        .output()
        .expect("kubectl is installed (it is the oracle for these tests)");
    assert!(
        output.status.success(),
        "kubectl kustomize {} failed: {}",
        directory.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("kubectl prints UTF-8");
    let documents = yaml::parse(&text).expect("kubectl prints valid YAML");
    let mut deployed = Deployed::new();
    for (kind, name, object) in workloads::objects(&documents) {
        let Some(spec) = workloads::pod_spec(&kind, object) else { continue };
        for list in workloads::CONTAINER_LISTS {
            for container in spec.get(list).map(Node::items).unwrap_or_default() {
                deployed.insert((
                    kind.clone(),
                    name.clone(),
                    container.get("name").and_then(Node::as_str).unwrap_or("").to_owned(),
                    container.get("image").and_then(Node::as_str).unwrap_or("").to_owned(),
                ));
            }
        }
    }
    deployed
}

fn assert_matches_kubectl(root: &Path, expected_overlays: &[&str]) {
    let files = worktree::load(root, &Settings::default()).expect("fixtures load");
    let scanned = scan(&files, &Settings::default()).expect("fixtures scan");
    let (rendered, notes) = overlays(&scanned, &files).expect("fixtures render");
    assert!(notes.is_empty(), "unexpected render notes: {notes:?}");
    let directories: Vec<&str> = rendered.iter().map(|overlay| overlay.directory.as_str()).collect();
    assert_eq!(directories, expected_overlays, "which kustomizations are overlays");
    for overlay in &rendered {
        let ours: Deployed = overlay
            .containers
            .iter()
            .map(|c| (c.kind.clone(), c.name.clone(), c.container.clone(), c.image.clone()))
            .collect();
        let theirs = kubectl_kustomize(&root.join(&overlay.directory));
        assert_eq!(ours, theirs, "overlay {} renders differently from kubectl kustomize", overlay.directory);
    }
}

#[test]
fn fixture_overlays_match_kubectl() {
    assert_matches_kubectl(&fixtures().join("overlays"), &["canary", "jobs", "staging"]);
}

#[test]
fn descheduler_overlays_match_kubectl() {
    let root = corpus().join("manifests/descheduler-v0.33.0");
    assert_matches_kubectl(&root, &["kubernetes/cronjob", "kubernetes/deployment", "kubernetes/job"]);
}

#[test]
fn origins_point_at_the_deciding_line() {
    let root = fixtures().join("overlays");
    let files = worktree::load(&root, &Settings::default()).expect("fixtures load");
    let scanned = scan(&files, &Settings::default()).expect("fixtures scan");
    let (rendered, _) = overlays(&scanned, &files).expect("fixtures render");
    let origin = |overlay: &str, container: &str| {
        let overlay = rendered.iter().find(|o| o.directory == overlay).expect("overlay exists");
        let container = overlay.containers.iter().find(|c| c.container == container).expect("container exists");
        format!("{}:{}", container.origin.file, container.origin.line)
    };
    assert_eq!(origin("canary", "app"), "canary/kustomization.yaml:17");
    assert_eq!(origin("canary", "agent"), "canary/kustomization.yaml:14");
    assert_eq!(origin("canary", "sidecar"), "base/deployment.yaml:20");
    assert_eq!(origin("canary", "debugger"), "components/debug/kustomization.yaml:14");
    assert_eq!(origin("staging", "app"), "staging/app-image.yaml:10");
    assert_eq!(origin("jobs", "run"), "jobs/kustomization.yaml:7");
}
