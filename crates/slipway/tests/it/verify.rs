//! `slipway release verify` on files (offline): what it finds, where, and the exit codes.

use slipway_test::git::TempRepo;

use crate::support::{corpus, edit, example, example_repo, slipway, slipway_with_env};

fn descheduler_repo() -> TempRepo {
    let repo = TempRepo::new();
    repo.copy_tree(&corpus().join("manifests/descheduler-v0.33.0"), ".");
    repo.git(&["remote", "add", "origin", "git@github.com:kubernetes-sigs/descheduler.git"]);
    repo.commit("descheduler at v0.33.0");
    repo.tag("v0.33.0");
    repo
}

#[test]
fn the_example_agrees() {
    let repo = example_repo();
    let run = slipway(repo.path(), &["release", "verify", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 0);
}

#[test]
fn descheduler_v0_33_0_ships_a_chart_one_release_behind() {
    let repo = descheduler_repo();
    let run = slipway(repo.path(), &["release", "verify", "--tag", "v0.33.0", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 1);
}

#[test]
fn json_output_has_the_documented_shape() {
    let repo = descheduler_repo();
    let run = slipway(repo.path(), &["release", "verify", "--tag", "v0.33.0", "--offline", "--format", "json"]);
    assert_eq!(run.code, 1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(report["schema"], "slipway.release.verify/v1");
    let findings = report["findings"].as_array().expect("findings[]");
    assert_eq!(findings.len(), 3);
    for finding in findings {
        for field in ["severity", "kind", "file", "line", "found", "expected", "message"] {
            assert!(finding.get(field).is_some(), "finding without `{field}`: {finding}");
        }
    }
    insta::assert_snapshot!(run.render_for(&repo, &[]));
}

#[test]
fn a_tag_is_read_through_git_not_from_the_work_tree() {
    let repo = example_repo();
    repo.tag("v0.4.0");
    edit(&repo, "config/base/deployment.yaml", "hello-operator:v0.4.0", "hello-operator:v0.5.0-dev");
    let at_tag = slipway(repo.path(), &["release", "verify", "--tag", "v0.4.0", "--offline"]);
    assert_eq!(at_tag.code, 0, "{}", at_tag.render(&[]));
    let work_tree = slipway(repo.path(), &["release", "verify", "--version", "0.4.0", "--offline"]);
    insta::assert_snapshot!(work_tree.render_for(&repo, &[]));
    assert_eq!(work_tree.code, 1);
}

#[test]
fn an_overlay_deploying_the_previous_release_is_caught() {
    // descheduler#1339: the overlay at the new tag deployed the previous release's image.
    let repo = example_repo();
    edit(&repo, "config/default/kustomization.yaml", "newTag: v0.4.0", "newTag: v0.3.0");
    let run = slipway(repo.path(), &["release", "verify", "--version", "0.4.0", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 1);
}

#[test]
fn stale_links_and_version_files_are_caught() {
    let repo = example_repo();
    edit(&repo, "README.md", "?ref=v0.4.0", "?ref=v0.3.0");
    edit(&repo, "version/version.go", "\"v0.4.0\"", "\"v0.4.0-dev\"");
    let run = slipway(repo.path(), &["release", "verify", "--version", "0.4.0", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 1);
}

#[test]
fn a_tag_that_does_not_exist_is_a_usage_error() {
    let repo = example_repo();
    let run = slipway(repo.path(), &["release", "verify", "--tag", "v9.9.9", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 2);
    repo.tag("release-1.0");
    let run = slipway(repo.path(), &["release", "verify", "--tag", "release-1.0", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 2);
}

#[test]
fn outside_git_only_the_work_tree_can_be_checked() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let plain = directory.path().join("hello-operator");
    slipway_test::git::copy_tree(&example(), &plain);
    let run = slipway(&plain, &["release", "verify", "--tag", "v0.4.0"]);
    insta::assert_snapshot!(run.render(&[(&plain.display().to_string(), "[DIR]")]));
    assert_eq!(run.code, 2);
    let run = slipway(&plain, &["release", "verify", "--version", "0.4.0", "--offline"]);
    assert_eq!(run.code, 0, "{}", run.render(&[]));
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let repo = example_repo();
    repo.write(
        "config/base/broken.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  image: [registry/x:v1\n  other: 1\n",
    );
    let run = slipway(repo.path(), &["release", "verify", "--version", "0.4.0", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 2);
}

#[test]
fn a_chart_without_app_version_is_a_finding() {
    let repo = example_repo();
    edit(&repo, "charts/hello-operator/Chart.yaml", "appVersion: \"0.4.0\"\n", "");
    let run = slipway(repo.path(), &["release", "verify", "--version", "0.4.0", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 1);
}

#[test]
fn binary_files_symlink_loops_and_other_yaml_are_skipped() {
    let repo = example_repo();
    repo.write("config/base/blob.yaml", "kind: Deployment\n\0\0\0image: x\n");
    repo.write("ci/pipeline.yaml", "jobs:\n  build:\n    image: golang:1.26\n    script: make\n");
    repo.write("hack/values-template.yaml", "image: {{ .Image }}\nkind: {{ .Kind }}\n");
    std::os::unix::fs::symlink("loop-b.yaml", repo.path().join("config/loop-a.yaml")).expect("symlink");
    std::os::unix::fs::symlink("loop-a.yaml", repo.path().join("config/loop-b.yaml")).expect("symlink");
    std::os::unix::fs::symlink("../README.md", repo.path().join("docs/README-link.md")).expect("symlink");
    let run = slipway(repo.path(), &["release", "verify", "--version", "0.4.0", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 0);
}

#[test]
fn unknown_configuration_keys_warn_with_file_and_line() {
    let repo = example_repo();
    edit(&repo, "slipway.yaml", "release:\n", "release:\n  imgaes: [ghcr.io/example-org/hello-operator]\n");
    let run = slipway(repo.path(), &["release", "verify", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 0);
    edit(&repo, "slipway.yaml", "  imgaes: [ghcr.io/example-org/hello-operator]\n", "  platforms: linux/amd64\n");
    let run = slipway(repo.path(), &["release", "verify", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 2);
}

#[test]
fn explicit_images_replace_inference() {
    let repo = example_repo();
    let run = slipway(repo.path(), &["release", "verify", "--offline", "--image", "quay.io/brancz/kube-rbac-proxy"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 1);
}

/// kubernetes/autoscaler: the project is a subdirectory, tags are `cluster-autoscaler-X.Y.Z`,
/// and the chart has its own version line (9.x) apart from the app (1.x).
fn autoscaler_repo() -> TempRepo {
    let repo = TempRepo::new();
    repo.copy_tree(&corpus().join("manifests/cluster-autoscaler-chart-9.59.0"), ".");
    repo.write("README.md", "# Autoscalers\n\nSee cluster-autoscaler/ and vertical-pod-autoscaler/.\n");
    repo.write("vertical-pod-autoscaler/deploy/recommender.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: vpa-recommender\nspec:\n  template:\n    spec:\n      containers:\n      - name: recommender\n        image: registry.k8s.io/autoscaling/vpa-recommender:1.4.0\n");
    repo.write("cluster-autoscaler/slipway.yaml", "release:\n  tag_prefix: cluster-autoscaler-\n");
    repo.commit("autoscaler at cluster-autoscaler-chart-9.59.0");
    repo.tag("cluster-autoscaler-1.35.0");
    repo
}

#[test]
fn a_subdirectory_project_with_prefixed_tags_and_an_independent_chart() {
    let repo = autoscaler_repo();
    let directory = repo.path().join("cluster-autoscaler");
    let at_tag = slipway(&directory, &["release", "verify", "--tag", "cluster-autoscaler-1.35.0", "--offline"]);
    insta::assert_snapshot!(at_tag.render_for(&repo, &[]));
    assert_eq!(at_tag.code, 0);
    // The chart in this release still ships app 1.35.0 while 1.36.1 is tagged: the lag the
    // corpus records.
    let newer = slipway(&directory, &["release", "verify", "--version", "1.36.1", "--offline"]);
    insta::assert_snapshot!(newer.render_for(&repo, &[]));
    assert_eq!(newer.code, 1);
}

#[test]
fn with_nothing_to_infer_from_the_version_must_be_given() {
    let directory = tempfile::tempdir().expect("temporary directory");
    fs_err::write(directory.path().join("notes.md"), "Nothing versioned here.\n").expect("write");
    let run = slipway(directory.path(), &["release", "verify", "--offline"]);
    insta::assert_snapshot!(run.render(&[]));
    assert_eq!(run.code, 2);
}

/// The kubebuilder layout: the base names `controller:<tag>`, a kustomization renames it to the
/// project's repository, and only the rendered overlay shows the project's image.
fn kubebuilder_repo() -> TempRepo {
    let repo = TempRepo::new();
    repo.write(
        "config/manager/manager.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: controller-manager\nspec:\n  template:\n    spec:\n      containers:\n      - name: manager\n        image: controller:v0.1.0\n",
    );
    repo.write(
        "config/manager/kustomization.yaml",
        "resources:\n- manager.yaml\nimages:\n- name: controller\n  newName: ghcr.io/example/kb-operator\n",
    );
    repo.write("config/default/kustomization.yaml", "namePrefix: kb-operator-\nresources:\n- ../manager\n");
    repo.git(&["remote", "add", "origin", "https://github.com/example/kb-operator"]);
    repo.commit("scaffold");
    repo
}

#[test]
fn a_kubebuilder_layout_is_checked_through_its_overlay_and_bumped_at_its_base() {
    let repo = kubebuilder_repo();
    let run = slipway(repo.path(), &["release", "verify", "--version", "0.2.0", "--offline"]);
    insta::assert_snapshot!(run.render_for(&repo, &[]));
    assert_eq!(run.code, 1);
    let bump = slipway(repo.path(), &["release", "bump", "0.2.0"]);
    insta::assert_snapshot!(bump.render_for(&repo, &[]));
    assert_eq!(bump.code, 0);
    let after = slipway(repo.path(), &["release", "verify", "--offline"]);
    assert_eq!(after.code, 0, "{}", after.render_for(&repo, &[]));
}

#[test]
fn the_environment_overrides_the_file_and_flags_override_the_environment() {
    let repo = autoscaler_repo();
    let directory = repo.path().join("cluster-autoscaler");
    let args = ["release", "verify", "--tag", "cluster-autoscaler-1.35.0", "--offline"];
    let run = slipway_with_env(&directory, &args, &[("SLIPWAY_RELEASE_TAG_PREFIX", "ca-")]);
    assert_eq!(run.code, 2, "{}", run.render_for(&repo, &[]));
    assert!(run.stderr.contains("expected `ca-` followed by MAJOR.MINOR.PATCH"), "{}", run.stderr);
    let run = slipway_with_env(
        &directory,
        &["release", "verify", "--offline"],
        &[("SLIPWAY_OFFLINE", "0"), ("SLIPWAY_FORMAT", "json")],
    );
    assert!(run.stdout.starts_with('{'), "SLIPWAY_FORMAT selects JSON: {}", run.stdout);
    let run = slipway_with_env(
        &directory,
        &["release", "verify", "--offline", "--format", "text"],
        &[("SLIPWAY_FORMAT", "json")],
    );
    assert!(run.stdout.starts_with("release "), "the flag beats the environment: {}", run.stdout);
}
