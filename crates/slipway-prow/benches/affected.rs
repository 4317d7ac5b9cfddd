//! Benchmark: `slipway job affected` over a config the size of kubernetes/test-infra's
//! config/jobs (6,000 jobs in 100 files, 7.9 MiB as in `parse_lint`), in which one repository,
//! like kubernetes/kubernetes, has 1,500 presubmits over 40 files that also hold its periodics
//! (with `extra_refs` to it), and half of the other files mention it in a comment, so a file
//! filter must still parse 70 of the 100 files. The presubmits use every
//! trigger: `always_run`, 240 distinct `run_if_changed` regexes, `skip_if_only_changed`,
//! `branches`/`skip_branches`, and manual ones. The change is a large pull request: 10,000
//! changed paths (a vendor bump with code and docs), against `master`.
//!
//! It times what the command does: find the files that name the repository and parse only its
//! presubmits there, then decide every presubmit. Target: under 200 ms. It also prints the figure
//! when every file is parsed (the repository not known in advance). Run with
//! `cargo bench -p slipway-prow --bench affected`; it prints figures and asserts nothing about
//! time.

#![expect(clippy::print_stdout, reason = "a benchmark's output is its figures")]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const FILES: usize = 100;
const JOBS_PER_FILE: usize = 60;
/// Files holding the big repository's jobs: 40 × (37 or 38 presubmits + periodics).
const REPO_FILES: usize = 40;
const PRESUBMITS_PER_REPO_FILE: usize = 1_500 / REPO_FILES;
const CHANGED_PATHS: usize = 10_000;
const RUNS: usize = 7;
const REPO: &str = "kubernetes/kubernetes";

fn main() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let bytes = generate(directory.path());
    let paths = vec![directory.path().to_path_buf()];
    let changed = changed_paths();

    let mut filtered: Vec<(Duration, Duration, usize, usize)> = Vec::new();
    let mut whole: Vec<Duration> = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let config = slipway_prow::load_presubmits_of(&paths, REPO).expect("generated config loads");
        let loaded = start.elapsed();
        let start = Instant::now();
        let verdicts = slipway_prow::affected::affected(&config.jobs, REPO, "master", &changed);
        let decided = start.elapsed();
        let triggered = verdicts.iter().filter(|verdict| verdict.triggered).count();
        filtered.push((loaded, decided, verdicts.len(), triggered));

        let start = Instant::now();
        let config = slipway_prow::load(&paths).expect("generated config loads");
        let verdicts = slipway_prow::affected::affected(&config.jobs, REPO, "master", &changed);
        assert_eq!(verdicts.len(), filtered.last().expect("a run").2, "the filter keeps every presubmit");
        whole.push(start.elapsed());
    }
    filtered.sort_by_key(|(loaded, decided, _, _)| *loaded + *decided);
    whole.sort();
    let (loaded, decided, presubmits, triggered) = filtered[RUNS / 2];
    println!(
        "prow config: {} jobs in {FILES} files, {:.1} MiB; {REPO}: {presubmits} presubmits; {} changed paths",
        FILES * JOBS_PER_FILE,
        bytes as f64 / (1024.0 * 1024.0),
        changed.len()
    );
    println!("median of {RUNS} runs:");
    println!("  load {REPO}'s presubmits  {:>8.1} ms", millis(loaded));
    println!("  decide every presubmit            {:>8.1} ms ({triggered} triggered)", millis(decided));
    println!("  total                             {:>8.1} ms (target: under 200 ms)", millis(loaded + decided));
    println!("  parsing every file instead        {:>8.1} ms", millis(whole[RUNS / 2]));
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A big pull request: a vendor bump, code in many packages, tests and docs.
fn changed_paths() -> Vec<String> {
    let mut paths: Vec<String> = (0..CHANGED_PATHS)
        .map(|index| match index % 10 {
            0..=5 => format!("vendor/github.com/module-{}/pkg{}/file{index}.go", index % 97, index % 13),
            6 | 7 => format!("pkg/{}/sub{}/file{index}.go", component(index), index % 11),
            8 => format!("test/e2e/{}/file{index}_test.go", component(index)),
            _ => format!("docs/{}/page{index}.md", component(index)),
        })
        .collect();
    paths.push("go.mod".to_owned());
    paths.push("go.sum".to_owned());
    paths.sort();
    paths
}

const COMPONENTS: [&str; 12] = [
    "kubelet",
    "scheduler",
    "apiserver",
    "controller",
    "proxy",
    "kubectl",
    "volume",
    "network",
    "storage",
    "auth",
    "apps",
    "node",
];

fn component(seed: usize) -> &'static str {
    COMPONENTS[seed % COMPONENTS.len()]
}

/// Writes the job files; returns the bytes written.
fn generate(root: &Path) -> usize {
    let mut written = 0;
    for file in 0..FILES {
        let mut text = String::new();
        if file < REPO_FILES {
            let _ = write!(text, "presubmits:\n  {REPO}:\n");
            for job in 0..PRESUBMITS_PER_REPO_FILE {
                presubmit(&mut text, file, job);
            }
            text.push_str("periodics:\n");
            for job in PRESUBMITS_PER_REPO_FILE..JOBS_PER_FILE {
                periodic(&mut text, file, job);
            }
        } else {
            // Half of the other files mention the repository (a link in a comment), so the file
            // filter parses them too.
            if file % 2 == 0 {
                let _ = writeln!(text, "# flakes are tracked in https://github.com/{REPO}/issues/{file}");
            }
            let _ = write!(text, "presubmits:\n  kubernetes-sigs/project-{file:03}:\n");
            for job in 0..JOBS_PER_FILE {
                presubmit(&mut text, file, job);
            }
        }
        let path = root.join(format!("sig-{}/jobs-{file:03}.yaml", file % 9));
        fs_err::create_dir_all(path.parent().expect("a parent")).expect("create directory");
        fs_err::write(&path, &text).expect("write file");
        written += text.len();
    }
    written
}

fn presubmit(text: &mut String, file: usize, job: usize) {
    let seed = file * JOBS_PER_FILE + job;
    let name = format!("pull-{file:03}-{job:02}-{}", component(seed));
    let _ = write!(text, "  - name: {name}\n    cluster: k8s-infra-prow-build\n    decorate: true\n");
    match seed % 7 {
        0 | 1 => text.push_str("    always_run: true\n"),
        2..=4 => {
            // 240 distinct patterns: component directories with file kinds.
            let _ = writeln!(
                text,
                "    run_if_changed: '^(pkg|cmd|test/e2e)/{}/.*{}|^staging/src/k8s.io/{}-{}/'",
                component(seed),
                [r"\.go$", r"_test\.go$", r"\.proto$", r"\.sh$"][seed % 4],
                component(seed / 3),
                seed % 5
            );
        }
        5 => text.push_str("    skip_if_only_changed: '^docs/|\\.md$|(OWNERS|OWNERS_ALIASES)$'\n"),
        _ => text.push_str("    optional: true\n"),
    }
    match seed % 5 {
        0 => text.push_str("    branches:\n    - ^master$\n"),
        1 => text.push_str("    branches:\n    - ^release-1\\.3[0-9]$\n"),
        2 => text.push_str("    skip_branches:\n    - ^release-1\\.2[0-9]$\n"),
        _ => {}
    }
    let _ = write!(
        text,
        "    labels:\n      preset-service-account: \"true\"\n      preset-k8s-ssh: \"true\"\n      preset-dind-enabled: \"true\"\n    annotations:\n      testgrid-dashboards: presubmits-{component}, sig-{component}-presubmits\n      testgrid-tab-name: {name}\n      testgrid-alert-email: sig-{component}-alerts@kubernetes.io\n      testgrid-num-failures-to-alert: \"6\"\n      description: \"Runs {component} tests on every change that touches it; owned by sig-{component}\"\n    decoration_config:\n      timeout: 2h\n      grace_period: 15m\n    path_alias: k8s.io/kubernetes\n    spec:\n      containers:\n      - image: gcr.io/k8s-staging-test-infra/kubekins-e2e:v20260810-7619858115-master\n        command:\n        - runner.sh\n        args:\n        - bash\n        - -c\n        - |\n          make quick-release\n          kubetest2 kind \\\n            --build --up --down \\\n            --test=ginkgo \\\n            -- \\\n            --focus-regex='\\[sig-{component}\\]' \\\n            --skip-regex='\\[Slow\\]|\\[Serial\\]|\\[Disruptive\\]|\\[Flaky\\]|\\[Feature:.+\\]' \\\n            --parallel=25 \\\n            --timeout=90m \\\n            --job-name={name}\n        env:\n        - name: KUBE_TEST_WHAT\n          value: ./pkg/{component}/...\n        - name: GINKGO_NO_COLOR\n          value: \"TRUE\"\n        - name: KUBE_GCE_ENABLE_IP_ALIASES\n          value: \"true\"\n        - name: DOCKER_IN_DOCKER_IPV6_ENABLED\n          value: \"false\"\n        securityContext:\n          privileged: true\n        resources:\n          limits:\n            cpu: 7\n            memory: 9Gi\n          requests:\n            cpu: 7\n            memory: 9Gi\n",
        component = component(seed)
    );
}

fn periodic(text: &mut String, file: usize, job: usize) {
    let _ = write!(
        text,
        "- name: ci-{file:03}-{job:02}\n  interval: {}h\n  decorate: true\n  extra_refs:\n  - org: kubernetes\n    repo: kubernetes\n    base_ref: master\n    path_alias: k8s.io/kubernetes\n  spec:\n    containers:\n    - image: gcr.io/k8s-staging-test-infra/kubekins-e2e:v20260810-master\n      command: [runner.sh]\n      args: [kubetest2, kind, --up, --down, --test=ginkgo]\n",
        1 + job % 12
    );
}
