//! Benchmark: `slipway release verify` over a generated repository of 1,000 manifest files
//! (100 kustomize components, each a base of nine manifests and an overlay) whose 5 images are
//! pushed to the local registry for 4 platforms each, against `kubectl kustomize` rendering the
//! same 100 overlays, in the same run.
//!
//! Targets (issue 2): verify with registry checks under 2 s on a 2-core machine, and within 3x
//! of the kubectl renders. Run with `cargo bench -p slipway --bench release_verify`; it needs
//! the registry from `scripts/test-services.sh start` and kubectl.

#![expect(clippy::print_stdout, reason = "a benchmark's output is its figures")]

use std::process::Command;
use std::time::{Duration, Instant};

use slipway_core::ImageReference;
use slipway_test::git::TempRepo;
use slipway_test::images::{PlatformImage, TestImage, push};
use slipway_test::registry;

const COMPONENTS: usize = 100;
const IMAGES: usize = 5;
const PLATFORMS: [&str; 4] = ["linux/amd64", "linux/arm64", "linux/s390x", "linux/ppc64le"];
const RUNS: usize = 7;

fn main() {
    let address = registry::address();
    let run_id = registry::unique_repository("bench");
    let images: Vec<String> = (0..IMAGES).map(|index| format!("{address}/{run_id}/app-{index}")).collect();
    let repo = generate(&images);
    let commit = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
    let files = repo.git(&["ls-files", "deploy"]).lines().count();

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let pushing = Instant::now();
    runtime.block_on(async {
        let client = registry::client();
        for image in &images {
            let reference = ImageReference::parse(&format!("{image}:v1.0.0")).expect("valid reference");
            let platforms =
                PLATFORMS.iter().map(|platform| PlatformImage::new(platform).with_revision(&commit)).collect();
            push(&client, &reference, &TestImage { platforms, attestation: true, ..TestImage::default() }).await;
        }
    });
    let pushed = pushing.elapsed();
    let references = check_full_work(&repo);

    let offline = time(RUNS, || slipway(&repo, &["release", "verify", "--tag", "v1.0.0", "--offline"]));
    let online = time(RUNS, || slipway(&repo, &["release", "verify", "--tag", "v1.0.0"]));
    let kubectl = time(3, || {
        for component in 0..COMPONENTS {
            let directory = repo.path().join(format!("deploy/component-{component:03}/overlay"));
            let output = Command::new("kubectl").arg("kustomize").arg(&directory).output().expect("kubectl runs");
            assert!(output.status.success(), "kubectl kustomize failed: {}", String::from_utf8_lossy(&output.stderr));
        }
    });

    let ratio = online.as_secs_f64() / kubectl.as_secs_f64();
    println!(
        "slipway release verify: {files} manifest files, {COMPONENTS} overlays, {IMAGES} images x {} platforms",
        PLATFORMS.len()
    );
    println!("  {references} references checked; every image's 4 platforms read down to their binaries");
    println!("  images pushed beforehand in {:.2} s", pushed.as_secs_f64());
    println!("  verify --offline                 median {:>7.3} s over {RUNS} runs", offline.as_secs_f64());
    println!("  verify (files + registry)        median {:>7.3} s over {RUNS} runs", online.as_secs_f64());
    println!("  kubectl kustomize, {COMPONENTS} overlays   median {:>7.3} s over 3 runs", kubectl.as_secs_f64());
    println!("  verify / kubectl                 {ratio:>7.2}x");
    println!(
        "  target: verify under 2 s: {}; within 3x of kubectl: {}",
        if online < Duration::from_secs(2) { "met" } else { "NOT met" },
        if ratio <= 3.0 { "met" } else { "NOT met" }
    );
}

/// Checks once, from the JSON report, that a verify run does all the work being timed: every
/// image and platform checked down to its binary, and every reference found and agreeing.
fn check_full_work(repo: &TempRepo) -> usize {
    let output = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["release", "verify", "--tag", "v1.0.0", "--format", "json"])
        .current_dir(repo.path())
        .output()
        .expect("slipway runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["summary"]["errors"], 0, "the generated release must verify cleanly: {}", report["findings"]);
    let images = report["registry"]["images"].as_array().expect("registry images");
    assert_eq!(images.len(), IMAGES);
    for image in images {
        let platforms = image["platforms"].as_array().expect("platforms");
        assert_eq!(platforms.len(), PLATFORMS.len());
        assert!(platforms.iter().all(|platform| platform["binary"].is_string()), "{image}");
    }
    let references = report["summary"]["references"].as_u64().expect("a count");
    assert!(references >= (COMPONENTS * 7) as u64, "only {references} references found");
    usize::try_from(references).expect("fits")
}

/// Runs `work` `runs` times and returns the median duration.
fn time(runs: usize, mut work: impl FnMut()) -> Duration {
    let mut durations: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    durations.sort();
    durations[durations.len() / 2]
}

fn slipway(repo: &TempRepo, args: &[&str]) {
    let output =
        Command::new(env!("CARGO_BIN_EXE_slipway")).args(args).current_dir(repo.path()).output().expect("slipway runs");
    assert!(
        output.status.success(),
        "slipway {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A repository in which every reference names v1.0.0 of the images.
fn generate(images: &[String]) -> TempRepo {
    let repo = TempRepo::new();
    let image_list: String = images.iter().map(|image| format!("    - {image}\n")).collect();
    let platform_list: String = PLATFORMS.iter().map(|platform| format!("    - {platform}\n")).collect();
    repo.write(
        "slipway.yaml",
        &format!("project:\n  name: bench\nrelease:\n  images:\n{image_list}  platforms:\n{platform_list}"),
    );
    for component in 0..COMPONENTS {
        let image = &images[component % images.len()];
        let base = format!("deploy/component-{component:03}/base");
        let name = format!("component-{component:03}");
        repo.write(
            &format!("{base}/kustomization.yaml"),
            "resources:\n- deployment.yaml\n- daemonset.yaml\n- statefulset.yaml\n- cronjob.yaml\n- job.yaml\n- service.yaml\n- configmap.yaml\n- rbac.yaml\n",
        );
        for kind in ["Deployment", "DaemonSet", "StatefulSet"] {
            repo.write(
                &format!("{base}/{}.yaml", kind.to_ascii_lowercase()),
                &format!(
                    "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      initContainers:\n      - name: init\n        image: {image}:v1.0.0\n        args: [\"init\"]\n      containers:\n      - name: main\n        image: {image}:v1.0.0\n        ports:\n        - containerPort: 8080\n      - name: proxy\n        image: quay.io/brancz/kube-rbac-proxy:v0.18.1\n"
                ),
            );
        }
        repo.write(
            &format!("{base}/cronjob.yaml"),
            &format!("apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {name}\nspec:\n  schedule: \"30 20 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: task\n            image: {image}:v1.0.0\n"),
        );
        repo.write(
            &format!("{base}/job.yaml"),
            &format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: once\n        image: {image}:v1.0.0\n"),
        );
        repo.write(
            &format!("{base}/service.yaml"),
            &format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector: {{app: {name}}}\n  ports:\n  - port: 80\n    targetPort: 8080\n"),
        );
        repo.write(
            &format!("{base}/configmap.yaml"),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  config.yaml: |\n    level: info\n    image: not-a-container-image\n"),
        );
        repo.write(
            &format!("{base}/rbac.yaml"),
            &format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {name}\nrules:\n- apiGroups: [\"\"]\n  resources: [\"configmaps\"]\n  verbs: [\"get\"]\n"),
        );
        repo.write(
            &format!("deploy/component-{component:03}/overlay/kustomization.yaml"),
            &format!("namePrefix: prod-\nresources:\n- ../base\nimages:\n- name: {image}\n  newTag: v1.0.0\n"),
        );
    }
    repo.commit("generated");
    repo.tag("v1.0.0");
    repo
}
