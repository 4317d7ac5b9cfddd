//! Benchmark: load, merge presets, lint and import 6,000 generated Prow jobs in 100 files, about
//! the size of kubernetes/test-infra's config/jobs (6,079 jobs), with the mix it has: presubmits,
//! postsubmits and periodics, presets, extra_refs, TestGrid annotations, multi-line args.
//!
//! Target: under 1 s for everything. Run with `cargo bench -p slipway-prow --bench parse_lint`.
//! It prints figures and asserts nothing about time.

#![expect(clippy::print_stdout, reason = "a benchmark's output is its figures")]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const FILES: usize = 100;
const JOBS_PER_FILE: usize = 60;
const RUNS: usize = 5;
const PRESETS: [&str; 6] = [
    "preset-service-account",
    "preset-k8s-ssh",
    "preset-dind-enabled",
    "preset-kind-volume-mounts",
    "preset-aws-ssh",
    "preset-azure-cred",
];

fn main() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let bytes = generate(directory.path());
    let paths = vec![directory.path().to_path_buf()];

    let mut timings: Vec<[Duration; 4]> = Vec::new();
    let mut counts = (0, 0, 0, 0);
    for _ in 0..RUNS {
        let start = Instant::now();
        let config = slipway_prow::load(&paths).expect("generated config loads");
        let loaded = start.elapsed();

        let start = Instant::now();
        let merged: Vec<_> = config
            .jobs
            .iter()
            .map(|job| slipway_prow::apply_presets(job, &config.presets).expect("no clashes in generated jobs"))
            .collect();
        let presets = start.elapsed();

        let start = Instant::now();
        let findings = slipway_prow::lint(&config);
        let linted = start.elapsed();

        let start = Instant::now();
        let imported: Vec<_> = merged.iter().map(slipway_prow::to_slipway).collect();
        let imports = start.elapsed();

        counts = (config.jobs.len(), config.presets.len(), findings.len(), imported.len());
        timings.push([loaded, presets, linted, imports]);
    }
    timings.sort_by_key(|phases| phases.iter().sum::<Duration>());
    let median = timings[RUNS / 2];
    let (jobs, presets, findings, imported) = counts;
    let total: Duration = median.iter().sum();
    println!(
        "prow config: {jobs} jobs, {presets} presets, {FILES} job files + config.yaml, {:.1} MiB",
        bytes as f64 / (1024.0 * 1024.0)
    );
    println!("median of {RUNS} runs:");
    for (name, time) in ["load (read + parse)", "merge presets", "lint", "import"].iter().zip(median) {
        println!("  {name:<20} {:>8.1} ms", time.as_secs_f64() * 1000.0);
    }
    println!("  {:<20} {:>8.1} ms (target: under 1000 ms)", "total", total.as_secs_f64() * 1000.0);
    println!("  {findings} findings (the generated config has none), {imported} jobs imported");
}

/// Writes `config.yaml` (presets) and the job files; returns the bytes written.
fn generate(root: &Path) -> usize {
    let mut written = 0;
    let mut config = String::from(
        "plank:\n  job_url_prefix_config:\n    '*': https://prow.example/view/\nprowjob_namespace: default\npresets:\n",
    );
    for (index, label) in PRESETS.iter().enumerate() {
        let _ = write!(
            config,
            "- labels:\n    {label}: \"true\"\n  env:\n  - name: PRESET_{index}_A\n    value: /etc/{label}/a\n  - name: PRESET_{index}_B\n    value: \"{index}\"\n  volumes:\n  - name: {label}\n    secret:\n      secretName: {label}-secret\n  volumeMounts:\n  - name: {label}\n    mountPath: /etc/{label}\n    readOnly: true\n"
        );
    }
    config.push_str("- env:\n  - name: GOPROXY\n    value: https://proxy.golang.org\n");
    written += write(&root.join("prow/config.yaml"), &config);

    for file in 0..FILES {
        let mut text = String::new();
        let kind = file % 10;
        let repo = format!("kubernetes-sigs/project-{file:03}");
        if kind < 4 {
            let _ = write!(text, "presubmits:\n  {repo}:\n");
            for job in 0..JOBS_PER_FILE {
                presubmit(&mut text, file, job);
            }
        } else if kind == 4 {
            let _ = write!(text, "postsubmits:\n  {repo}:\n");
            for job in 0..JOBS_PER_FILE {
                postsubmit(&mut text, file, job);
            }
        } else {
            text.push_str("periodics:\n");
            for job in 0..JOBS_PER_FILE {
                periodic(&mut text, file, job);
            }
        }
        written += write(&root.join(format!("jobs/sig-{}/project-{file:03}.yaml", file % 7)), &text);
    }
    written
}

fn write(path: &Path, text: &str) -> usize {
    fs_err::create_dir_all(path.parent().expect("a parent")).expect("create directory");
    fs_err::write(path, text).expect("write file");
    text.len()
}

fn labels(text: &mut String, seed: usize) {
    text.push_str("    labels:\n");
    for offset in 0..2 {
        let _ = writeln!(text, "      {}: \"true\"", PRESETS[(seed + offset * 3) % PRESETS.len()]);
    }
}

fn annotations(text: &mut String, name: &str, seed: usize) {
    let _ = write!(
        text,
        "    annotations:\n      testgrid-dashboards: sig-testing-{}, project-{seed}\n      testgrid-tab-name: {name}\n      testgrid-alert-email: alerts-{seed}@example.org\n      description: \"Runs the {name} suite; owner: sig-{}\"\n",
        seed % 5,
        seed % 7
    );
}

fn container(text: &mut String, name: &str, seed: usize) {
    let _ = write!(
        text,
        "    spec:\n      containers:\n      - image: gcr.io/k8s-staging-test-infra/kubekins-e2e:v20260810-{seed:010}-master\n        command:\n        - runner.sh\n        args:\n        - bash\n        - -c\n        - |\n          make test-e2e-install\n          kubetest2 kind \\\n            --up --down \\\n            --test=ginkgo \\\n            -- \\\n            --focus-regex='\\[Conformance\\]' \\\n            --skip-regex='\\[Slow\\]|\\[Serial\\]' \\\n            --parallel=25 \\\n            --job-name={name}\n        env:\n        - name: KUBERNETES_VERSION\n          value: \"v1.{}.0\"\n        - name: GINKGO_NO_COLOR\n          value: \"TRUE\"\n        securityContext:\n          privileged: true\n        resources:\n          limits:\n            cpu: 4\n            memory: 6Gi\n          requests:\n            cpu: 4\n            memory: 6Gi\n",
        30 + seed % 7
    );
}

fn common(text: &mut String, name: &str, file: usize, job: usize) {
    let seed = file * 1000 + job;
    let _ = write!(
        text,
        "  - name: {name}\n    cluster: eks-prow-build-cluster\n    decorate: true\n    decoration_config:\n      timeout: {}m\n",
        30 + job % 90
    );
    labels(text, seed);
    annotations(text, name, seed);
    if job.is_multiple_of(3) {
        let _ = write!(
            text,
            "    extra_refs:\n    - org: kubernetes\n      repo: test-infra\n      base_ref: master\n      path_alias: k8s.io/test-infra\n    - org: kubernetes-sigs\n      repo: kind\n      base_ref: main\n      path_alias: sigs.k8s.io/kind\n      workdir: true\n"
        );
    }
    container(text, name, seed);
}

fn presubmit(text: &mut String, file: usize, job: usize) {
    let name = format!("pull-project-{file:03}-e2e-{job:02}");
    common(text, &name, file, job);
    let _ = write!(
        text,
        "    always_run: {}\n    optional: {}\n    branches:\n    - ^main$\n    - ^release-1\\.{}$\n",
        job.is_multiple_of(2),
        job.is_multiple_of(5),
        30 + job % 7
    );
    if job % 2 == 1 {
        text.push_str("    run_if_changed: '^(pkg|cmd)/.*\\.go$'\n");
    }
}

fn postsubmit(text: &mut String, file: usize, job: usize) {
    let name = format!("post-project-{file:03}-push-{job:02}");
    common(text, &name, file, job);
    text.push_str("    branches:\n    - ^main$\n    - ^v\\d+\\.\\d+\\.\\d+(-.+)?$\n    rerun_auth_config:\n      github_users:\n      - alice\n      - bob\n");
}

fn periodic(text: &mut String, file: usize, job: usize) {
    let name = format!("ci-project-{file:03}-e2e-{job:02}");
    // The generated periodics are list items at the top level, not under a repo: outdent.
    let mut item = String::new();
    common(&mut item, &name, file, job);
    match job % 3 {
        0 => {
            let _ = writeln!(item, "    interval: {}h", 1 + job % 24);
        }
        1 => {
            let _ = writeln!(item, "    cron: '{} {}-23/3 * * *'", job % 60, job % 3);
        }
        _ => {
            let _ = writeln!(item, "    minimum_interval: {}h", 2 + job % 12);
        }
    }
    for line in item.lines() {
        text.push_str(line.strip_prefix("  ").unwrap_or(line));
        text.push('\n');
    }
}
