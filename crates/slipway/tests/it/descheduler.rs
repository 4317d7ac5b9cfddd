//! `release verify` and `release bump` on a repository laid out like descheduler's across its
//! history (written here from its layout, not copied): a Go module, kustomize overlays under
//! `kubernetes/`, a Helm chart, a README whose install links moved from tags to release
//! branches, a docs table of past releases, GitHub Actions workflows that pin the project's
//! version next to kind's and Kubernetes', and a Makefile. It is cloned the way a contributor
//! has it: `origin` is a fork, release branches exist only as `origin/*`, and the directory is
//! not named after the project.

use slipway_test::git::TempRepo;

use crate::support::{Run, slipway};

/// How one release of the fixture is written.
struct Release {
    /// The tag.
    version: &'static str,
    /// What the manifests and the workflow name.
    manifests: &'static str,
    /// What the chart names (it lags).
    chart: &'static str,
    /// What the README's image reference names.
    readme_image: &'static str,
    /// The `?ref=` of the README's install links: a tag or a branch.
    readme_ref: &'static str,
    /// The Makefile's TAG.
    make_tag: &'static str,
}

const HISTORY: &[Release] = &[
    Release {
        version: "0.30.0",
        manifests: "v0.30.0",
        chart: "0.30.0",
        readme_image: "v0.26.1",
        readme_ref: "v0.26.1",
        make_tag: "v0.30.0",
    },
    Release {
        version: "0.34.0",
        manifests: "v0.34.0",
        chart: "0.34.0",
        readme_image: "v0.34.0",
        readme_ref: "release-1.33",
        make_tag: "v0.34.0",
    },
    Release {
        version: "0.35.0",
        manifests: "v0.35.0",
        chart: "0.35.0",
        readme_image: "v0.35.0",
        readme_ref: "release-1.34",
        make_tag: "v0.35.0",
    },
    // Tagged before anything was bumped: every reference still names v0.35.0.
    Release {
        version: "0.35.1",
        manifests: "v0.35.0",
        chart: "0.35.0",
        readme_image: "v0.35.0",
        readme_ref: "release-1.34",
        make_tag: "v0.35.0",
    },
    Release {
        version: "0.36.0",
        manifests: "v0.36.0",
        chart: "0.35.0",
        readme_image: "v0.36.0",
        readme_ref: "release-1.34",
        make_tag: "v0.36.0",
    },
];

const IMAGE: &str = "registry.k8s.io/descheduler/descheduler";

fn workload(kind: &str, api: &str, spec_path: &str, image: &str) -> String {
    let indent = "  ".repeat(spec_path.matches('.').count() + 1);
    let mut text =
        format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: descheduler\n  namespace: kube-system\n");
    for (depth, part) in spec_path.split('.').enumerate() {
        text.push_str(&format!("{}{part}:\n", "  ".repeat(depth)));
    }
    text.push_str(&format!(
        "{indent}serviceAccountName: descheduler-sa\n{indent}containers:\n{indent}- name: descheduler\n{indent}  image: {image}\n{indent}  args: [--policy-config-file, /policy-dir/policy.yaml]\n"
    ));
    text
}

/// Writes the tree of `release` into `repo`.
fn write_release(repo: &TempRepo, release: &Release) {
    let minor = release.version.split('.').nth(1).unwrap_or("0");
    repo.write("go.mod", "module sigs.k8s.io/descheduler\n\ngo 1.24.0\n\nrequire k8s.io/api v0.34.0\n");
    repo.write(
        "README.md",
        &format!(
            "# Descheduler for Kubernetes\n\nIf you are using a published release of Descheduler (such as\n`{IMAGE}:{image}`), follow the documentation in\nthat version's release branch.\n\n|Descheduler Version|Docs link|\n|---|---|\n|v0.{minor}.x|[`release-1.{minor}`](https://github.com/kubernetes-sigs/descheduler/blob/release-1.{minor}/README.md)|\n\n## Quick Start\n\nRun As A Job\n```\nkustomize build 'github.com/kubernetes-sigs/descheduler/kubernetes/job?ref={r}' | kubectl apply -f -\n```\n\nRun As A CronJob\n```\nkustomize build 'github.com/kubernetes-sigs/descheduler/kubernetes/cronjob?ref={r}' | kubectl apply -f -\n```\n\nThe policy format is described in [the kustomize docs](https://github.com/kubernetes-sigs/kustomize/examples?ref=v5.4.0)\nand the default branch is at `github.com/kubernetes-sigs/descheduler/kubernetes/job?ref=master`.\n",
            image = release.readme_image,
            r = release.readme_ref,
        ),
    );
    repo.write(
        "docs/user-guide.md",
        &format!(
            "# User Guide\n\nDescheduler Version | Container Image\n------------------- |----------------\nv{v}             | {IMAGE}:v{v}\nv0.29.0             | {IMAGE}:v0.29.0\n\nTo use an image in kind:\n```\ndocker pull {IMAGE}:{m}\nkind load docker-image {IMAGE}:{m}\n```\nThe e2e tests use `registry.k8s.io/e2e-test-images/agnhost:2.43` too.\n",
            v = release.version,
            m = release.manifests,
        ),
    );
    repo.write("kubernetes/base/kustomization.yaml", "resources:\n- rbac.yaml\n");
    repo.write(
        "kubernetes/base/rbac.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: descheduler-sa\n  namespace: kube-system\n",
    );
    let image = format!("{IMAGE}:{}", release.manifests);
    for (directory, kind, api, path) in [
        ("job", "Job", "batch/v1", "spec.template.spec"),
        ("cronjob", "CronJob", "batch/v1", "spec.jobTemplate.spec.template.spec"),
        ("deployment", "Deployment", "apps/v1", "spec.template.spec"),
    ] {
        repo.write(
            &format!("kubernetes/{directory}/kustomization.yaml"),
            &format!("resources:\n- ../base\n- {directory}.yaml\n"),
        );
        repo.write(&format!("kubernetes/{directory}/{directory}.yaml"), &workload(kind, api, path, &image));
    }
    repo.write(
        "charts/descheduler/Chart.yaml",
        &format!(
            "apiVersion: v1\nname: descheduler\nversion: {c}\nappVersion: {c}\ndescription: Descheduler for Kubernetes\nhome: https://github.com/kubernetes-sigs/descheduler\nsources:\n- https://github.com/kubernetes-sigs/descheduler\n",
            c = release.chart
        ),
    );
    repo.write(
        "charts/descheduler/values.yaml",
        &format!("image:\n  repository: {IMAGE}\n  # Overrides the image tag whose default is the chart version.\n  tag: \"\"\n  pullPolicy: IfNotPresent\n"),
    );
    repo.write(
        "charts/descheduler/templates/cronjob.yaml",
        "image: \"{{ .Values.image.repository }}:{{ .Values.image.tag | default (printf \"v%s\" .Chart.AppVersion) }}\"\n",
    );
    repo.write(
        ".github/workflows/manifests.yaml",
        &format!(
            "name: Test manifests\non: [pull_request]\njobs:\n  deploy:\n    strategy:\n      matrix:\n        k8s-version: [\"v1.{minor}.1\"]\n        descheduler-version: [\"{m}\"]\n        kind-version: [\"v0.31.0\"] # keep in sync with test/run-e2e-tests.sh\n    runs-on: ubuntu-latest\n    steps:\n      - uses: helm/kind-action@v1.12.0\n        with:\n          version: ${{{{ matrix.kind-version }}}}\n      - run: docker tag descheduler:dev {IMAGE}:${{{{ matrix.descheduler-version }}}}\n",
            m = release.manifests
        ),
    );
    repo.write(
        ".github/workflows/helm.yaml",
        "name: Helm\non: [pull_request]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: azure/setup-helm@v4\n        with:\n          version: v3.15.1\n",
    );
    repo.write(
        "Makefile",
        &format!(
            "# VERSION is based on a date stamp plus the last commit\nVERSION?=v$(shell date +%Y%m%d)-$(shell git describe --tags)\nTAG ?= {t}\nGOLANGCI_VERSION := v2.8.0\nKIND_VERSION ?= v0.31.0\n\nbuild:\n\tgo build -ldflags \"-X version=$(VERSION)\" ./cmd/descheduler\n",
            t = release.make_tag
        ),
    );
}

/// The fixture with every release of [`HISTORY`] committed and tagged (lightweight, as
/// descheduler's tags are), release branches only as `origin/release-1.N`, and `origin` a fork.
fn descheduler_clone() -> TempRepo {
    let repo = TempRepo::new();
    for release in HISTORY {
        write_release(&repo, release);
        let commit = repo.commit(&format!("v{}", release.version));
        repo.tag(&format!("v{}", release.version));
        let minor = release.version.split('.').nth(1).unwrap_or("0");
        repo.git(&["update-ref", &format!("refs/remotes/origin/release-1.{minor}"), &commit]);
    }
    repo.git(&["remote", "add", "origin", "https://github.com/alice/descheduler.git"]);
    repo
}

fn render(run: &Run, repo: &TempRepo) -> String {
    run.render_for(repo, &[])
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}{}", run.stdout, run.stderr))
}

#[test]
fn a_fork_clone_checks_the_upstream_links_and_every_kind_of_drift() {
    let repo = descheduler_clone();
    let run = slipway(repo.path(), &["release", "verify", "--offline"]);
    insta::assert_snapshot!(render(&run, &repo));
    assert_eq!(run.code, 1);

    let report = json(&slipway(repo.path(), &["release", "verify", "--offline", "--format", "json"]));
    assert_eq!(report["project"]["repository"], "github.com/kubernetes-sigs/descheduler");
    assert_eq!(report["project"]["branch_pattern"], "release-1.{minor}");
    let kinds: std::collections::BTreeSet<&str> =
        report["findings"].as_array().expect("findings").iter().filter_map(|f| f["kind"].as_str()).collect();
    for kind in ["ref-branch-link", "chart-app-version", "chart-version", "helm-image-tag"] {
        assert!(kinds.contains(kind), "a `{kind}` finding at v0.36.0: {kinds:?}");
    }
    // What was seen and not checked is listed, each with its reason.
    let skipped = report["skipped"].as_array().expect("skipped");
    let reason_of = |text: &str| {
        skipped
            .iter()
            .find(|entry| entry["text"] == text)
            .and_then(|entry| entry["reason"].as_str())
            .unwrap_or_else(|| panic!("`{text}` is not listed as skipped: {skipped:#?}"))
            .to_owned()
    };
    assert!(reason_of("v0.31.0").contains("`kind-version` is about `kind`"), "{}", reason_of("v0.31.0"));
    assert!(reason_of("v3.15.1").contains("an input of `azure/setup-helm@v4`"));
    assert!(reason_of("v2.8.0").contains("GOLANGCI_VERSION"));
    assert!(reason_of("master").contains("neither a release tag nor a release branch"));
    assert!(reason_of("v5.4.0").contains("github.com/kubernetes-sigs/kustomize"));
    assert!(reason_of("registry.k8s.io/descheduler/descheduler:v0.29.0").contains("table"));
    assert!(reason_of("registry.k8s.io/e2e-test-images/agnhost:2.43").contains("not one of the project's images"));
    assert_eq!(report["summary"]["skipped"], skipped.len());
}

#[test]
fn each_release_is_checked_at_its_tag() {
    let repo = descheduler_clone();
    let mut summary = String::new();
    for release in HISTORY {
        let tag = format!("v{}", release.version);
        let report =
            json(&slipway(repo.path(), &["release", "verify", "--tag", &tag, "--offline", "--format", "json"]));
        let findings: Vec<String> = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                format!(
                    "{}:{} {} {}",
                    f["file"].as_str().unwrap_or("-"),
                    f["line"],
                    f["kind"].as_str().unwrap_or("-"),
                    f["found"].as_str().unwrap_or("-")
                )
            })
            .collect();
        summary.push_str(&format!(
            "{tag}: {} of {} agree\n",
            report["summary"]["agreeing"], report["summary"]["references"]
        ));
        for finding in findings {
            summary.push_str(&format!("  {finding}\n"));
        }
    }
    insta::assert_snapshot!(summary);
}

#[test]
fn every_subdirectory_sees_the_whole_repository() {
    let repo = descheduler_clone();
    let from_root = json(&slipway(repo.path(), &["release", "verify", "--offline", "--format", "json"]));
    for directory in ["kubernetes/base", "charts/descheduler/templates", ".github/workflows", "docs"] {
        let run = slipway(&repo.path().join(directory), &["release", "verify", "--offline", "--format", "json"]);
        assert_eq!(run.code, 1, "{directory}: {}", run.stderr);
        let report = json(&run);
        assert_eq!(report["summary"], from_root["summary"], "from {directory}");
        assert_eq!(report["directory"], from_root["directory"]);
    }
    // An explicit --repo is the project as given.
    let run = slipway(repo.path(), &["release", "verify", "--offline", "--repo", "kubernetes", "--version", "0.36.0"]);
    assert!(run.stdout.contains("6 of 6 references agree"), "{}", run.stdout);
}

#[test]
fn without_a_go_module_or_chart_the_links_say_where_upstream_is() {
    let repo = descheduler_clone();
    repo.git(&["rm", "--quiet", "go.mod"]);
    let chart = repo.read("charts/descheduler/Chart.yaml");
    repo.write(
        "charts/descheduler/Chart.yaml",
        &chart.replace("kubernetes-sigs/descheduler", "example/descheduler-chart"),
    );
    // A contributor's doc change points one link at their own fork.
    let readme = repo.read("README.md");
    repo.write(
        "README.md",
        &readme.replacen(
            "github.com/kubernetes-sigs/descheduler/kubernetes/cronjob",
            "github.com/alice/descheduler/kubernetes/cronjob",
            1,
        ),
    );
    let run = slipway(repo.path(), &["release", "verify", "--offline", "--version", "0.36.0", "--format", "json"]);
    let report = json(&run);
    assert_eq!(report["project"]["repository"], "github.com/kubernetes-sigs/descheduler");
    let source = report["project"]["repository_source"].as_str().unwrap_or_default();
    assert!(source.starts_with("2 kustomize links point into it"), "{source}");
    let fork = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|finding| finding["kind"] == "foreign-link")
        .unwrap_or_else(|| panic!("the fork link is a warning: {report:#}"));
    assert_eq!(fork["severity"], "warning");
    assert!(fork["message"].as_str().unwrap_or_default().contains("github.com/alice/descheduler"), "{fork}");
}

#[test]
fn a_bump_rewrites_every_kind_and_leaves_the_rest() {
    let repo = descheduler_clone();
    let run = slipway(repo.path(), &["release", "bump", "0.37.0", "--verbose"]);
    insta::assert_snapshot!(render(&run, &repo));
    assert_eq!(run.code, 0);
    let after = slipway(repo.path(), &["release", "verify", "--offline"]);
    assert_eq!(after.code, 0, "{}", render(&after, &repo));
    // Pinned tools and other projects stay as they were.
    let workflow = repo.read(".github/workflows/manifests.yaml");
    assert!(workflow.contains("kind-version: [\"v0.31.0\"]") && workflow.contains("k8s-version: [\"v1.36.1\"]"));
    assert!(repo.read("Makefile").contains("KIND_VERSION ?= v0.31.0"));
    assert!(repo.read("docs/user-guide.md").contains("descheduler:v0.29.0"), "the table of past releases stays");
}

#[test]
fn each_kind_can_be_switched_off_and_the_branch_pattern_set() {
    let repo = descheduler_clone();
    repo.write(
        "slipway.yaml",
        "release:\n  branch_pattern: \"release-{major}.{minor}\"\n  checks:\n    makefile-variable: false\n    markdown-image: false\n    workflow-value: false\n",
    );
    let report =
        json(&slipway(repo.path(), &["release", "verify", "--offline", "--version", "0.36.0", "--format", "json"]));
    let kinds: Vec<&str> =
        report["references"].as_array().expect("references").iter().filter_map(|r| r["kind"].as_str()).collect();
    for off in ["makefile-variable", "markdown-image", "workflow-value"] {
        assert!(!kinds.contains(&off), "{off} is off: {kinds:?}");
    }
    let skipped = report["skipped"].as_array().expect("skipped");
    assert!(
        skipped.iter().any(|entry| entry["kind"] == "makefile-variable"
            && entry["reason"] == "release.checks turns `makefile-variable` off"),
        "{skipped:#?}"
    );
    // The configured pattern decides which branch the release's own is.
    assert_eq!(report["project"]["branch_pattern_source"], "release.branch_pattern");
    let branch_links: Vec<&str> = report["references"]
        .as_array()
        .expect("references")
        .iter()
        .filter(|reference| reference["kind"] == "ref-branch-link")
        .filter_map(|reference| reference["expected"].as_str())
        .collect();
    assert_eq!(branch_links, ["release-0.36", "release-0.36"]);

    repo.write("slipway.yaml", "release:\n  checks:\n    makefile-variables: false\n");
    let run = slipway(repo.path(), &["release", "verify", "--offline"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("slipway.yaml` at line 3"), "the error names the file and line: {}", run.stderr);
}

#[test]
fn an_image_that_nothing_references_is_a_warning() {
    let repo = descheduler_clone();
    let run = slipway(
        repo.path(),
        &[
            "release",
            "verify",
            "--offline",
            "--version",
            "0.36.0",
            "--image",
            "registry.k8s.io/descheduler/descheduller",
        ],
    );
    assert!(run.stdout.contains("warning: registry.k8s.io/descheduler/descheduller: unused-image"), "{}", run.stdout);
    assert!(run.stdout.contains("nothing in the repository references this image"), "{}", run.stdout);
    // The manifests' image is then not the project's, and says so rather than vanishing.
    let report = json(&slipway(
        repo.path(),
        &[
            "release",
            "verify",
            "--offline",
            "--version",
            "0.36.0",
            "--format",
            "json",
            "--image",
            "registry.k8s.io/descheduler/descheduller",
        ],
    ));
    let skipped = report["skipped"].as_array().expect("skipped");
    assert!(
        skipped.iter().any(|entry| entry["text"] == "registry.k8s.io/descheduler/descheduler:v0.36.0"),
        "{skipped:#?}"
    );
    assert!(
        skipped.iter().any(|entry| entry["file"] == "charts/descheduler/Chart.yaml"
            && entry["reason"] == "the chart ships none of the project's images"),
        "a chart without the project's images is not checked: {skipped:#?}"
    );
}
