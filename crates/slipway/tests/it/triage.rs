//! `slipway triage` on Triage's own file formats, and `slipway results clusters` on a store.

use std::path::Path;

use slipway_core::results::{Build, Status, TestResult};
use slipway_store::Store;

use crate::support::{Run, slipway};

/// A builds file and a failed-tests file in Triage's formats: three kinds of failure over four
/// tests, one of them a single failure, one in a build the builds file does not know.
fn write_inputs(directory: &Path) {
    let build = |job: &str, number: u32, started: u32| {
        format!(
            r#"{{"path": "gs://kubernetes-ci-logs/logs/{job}/{number}", "started": "{started}", "elapsed": "3600.5", "tests_run": "120", "tests_failed": "2", "result": "FAILURE", "executor": "prow", "job": "{job}", "number": "{number}"}}"#
        )
    };
    let builds = [
        build("ci-crio-node-e2e", 1001, 1_760_000_000),
        build("ci-crio-node-e2e", 1002, 1_760_086_400),
        build("ci-crio-node-e2e", 1003, 1_760_172_800),
        build("ci-kubernetes-e2e-gce", 77, 1_760_100_000),
        r#"{"path": "gs://kubernetes-ci-logs/logs/ci-kubernetes-e2e-gce/78", "job": "ci-kubernetes-e2e-gce", "number": "78"}"#.to_owned(),
    ];
    fs_err::write(directory.join("triage_builds.json"), format!("[\n{}\n]\n", builds.join(",\n")))
        .expect("builds file");
    let failure = |test: &str, job: &str, number: u32, text: &str| {
        serde_json::json!({
            "started": "1760000000",
            "build": format!("gs://kubernetes-ci-logs/logs/{job}/{number}"),
            "name": test,
            "failure_text": text,
        })
        .to_string()
    };
    let pods = "[sig-node] Pods should be terminated gracefully";
    let volumes = "[sig-storage] CSI Volumes should mount";
    let lines = [
        failure(
            pods,
            "ci-crio-node-e2e",
            1001,
            "[FAILED] Timed out after 300.002s.\nExpected pod \"graceful-x7k2p\" on node kind-worker2 to be terminated: context deadline exceeded",
        ),
        failure(
            pods,
            "ci-crio-node-e2e",
            1002,
            "[FAILED] Timed out after 301.100s.\nExpected pod \"graceful-b4dfg\" on node kind-worker to be terminated: context deadline exceeded",
        ),
        failure(
            pods,
            "ci-kubernetes-e2e-gce",
            77,
            "[FAILED] Timed out after 300.090s.\nExpected pod \"graceful-q2w4r\" on node nodes-us-west1-a-w0fq to be terminated: context deadline exceeded",
        ),
        failure(
            volumes,
            "ci-crio-node-e2e",
            1003,
            "mount failed: exit status 32: mounting 10.0.0.4:/export on /var/lib/kubelet/pods/2e24e003-9ffd-4e78-852c-9dcb6cbef493/volumes",
        ),
        failure(
            volumes,
            "ci-kubernetes-e2e-gce",
            77,
            "mount failed: exit status 32: mounting 10.0.0.9:/export on /var/lib/kubelet/pods/9dcb6cbe-852c-4e78-9ffd-2e24e003f493/volumes",
        ),
        failure(
            volumes,
            "ci-kubernetes-e2e-gce",
            99,
            "mount failed: exit status 32: mounting 10.0.0.7:/export on /var/lib/kubelet/pods/4e78852c-9ffd-2e24-e003-9dcb6cbef493/volumes",
        ),
        failure(
            "Kubelet should restart cleanly",
            "ci-crio-node-e2e",
            1003,
            "panic: runtime error: invalid memory address or nil pointer dereference\ngoroutine 1 [running]:",
        ),
    ];
    fs_err::write(directory.join("triage_tests.json"), format!("{}\n", lines.join("\n"))).expect("tests file");
}

/// The run with its timing redacted.
fn render(run: &Run) -> String {
    let timing = regex::Regex::new(r"in \d+\.\d s").expect("valid pattern");
    timing.replace_all(&run.render(&[]), "in [TIME] s").into_owned()
}

fn pretty(path: &Path) -> String {
    let value: serde_json::Value = serde_json::from_slice(&fs_err::read(path).expect("output written")).expect("JSON");
    serde_json::to_string_pretty(&value).expect("printable")
}

#[test]
fn triage_writes_failure_data_and_slices() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path();
    write_inputs(path);
    let run = slipway(
        path,
        &[
            "triage",
            "--builds",
            "triage_builds.json",
            "--output",
            "failure_data.json",
            "--output_slices",
            "slices/failure_data_PREFIX.json",
            "triage_tests.json",
        ],
    );
    insta::assert_snapshot!(render(&run));
    insta::assert_snapshot!(pretty(&path.join("failure_data.json")));
    let slices = fs_err::read_dir(path.join("slices")).expect("slices written").count();
    assert_eq!(slices, 256 + 3, "00..ff, sig-node, sig-storage, sig-testing");
    let node: serde_json::Value =
        serde_json::from_slice(&fs_err::read(path.join("slices/failure_data_sig-node.json")).expect("node slice"))
            .expect("JSON");
    assert_eq!(node["clustered"].as_array().map(Vec::len), Some(1));

    // Seeded with the previous output, the same clusters keep their keys and ids even when the
    // failures come in another order.
    let previous = pretty(&path.join("failure_data.json"));
    let reversed: Vec<String> = fs_err::read_to_string(path.join("triage_tests.json"))
        .expect("tests")
        .lines()
        .rev()
        .map(str::to_owned)
        .collect();
    fs_err::write(path.join("reversed.json"), reversed.join("\n")).expect("reversed tests");
    fs_err::rename(path.join("failure_data.json"), path.join("previous.json")).expect("moved");
    let run = slipway(
        path,
        &[
            "triage",
            "--builds",
            "triage_builds.json",
            "--output",
            "failure_data.json",
            "--previous",
            "previous.json",
            "reversed.json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("seeded with 3 of 3 previous keys"), "{}", run.stderr);
    let ids = |text: &str| -> Vec<(String, String)> {
        let value: serde_json::Value = serde_json::from_str(text).expect("JSON");
        let mut ids: Vec<(String, String)> = value["clustered"]
            .as_array()
            .expect("clusters")
            .iter()
            .map(|cluster| (cluster["id"].to_string(), cluster["key"].to_string()))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&pretty(&path.join("failure_data.json"))), ids(&previous));
}

#[test]
fn triage_normalizer_gives_triages_keys() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path();
    write_inputs(path);
    let run = slipway(
        path,
        &[
            "triage",
            "--normalizer",
            "triage",
            "--builds",
            "triage_builds.json",
            "--output",
            "out.json",
            "triage_tests.json",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value: serde_json::Value = serde_json::from_str(&pretty(&path.join("out.json"))).expect("JSON");
    let keys: Vec<&str> =
        value["clustered"].as_array().expect("clusters").iter().filter_map(|cluster| cluster["key"].as_str()).collect();
    insta::assert_debug_snapshot!(keys);
}

#[test]
fn bad_input_names_file_and_line_and_writes_nothing() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path();
    write_inputs(path);
    let mut tests = fs_err::read_to_string(path.join("triage_tests.json")).expect("tests");
    tests.push_str(
        "{\"build\": \"gs://kubernetes-ci-logs/logs/ci-crio-node-e2e/1004\", \"name\": \"t\", \"failure_text\": \n",
    );
    fs_err::write(path.join("broken.json"), tests).expect("broken tests");
    let args = ["triage", "--builds", "triage_builds.json", "--output", "failure_data.json"];
    insta::assert_snapshot!(render(&slipway(path, &[&args[..], &["broken.json"]].concat())));
    fs_err::write(path.join("bad_builds.json"), "[{\"path\": \"p\", \"started\": \"yesterday\", \"number\": \"1\"}]")
        .expect("bad builds");
    insta::assert_snapshot!(render(&slipway(
        path,
        &["triage", "--builds", "bad_builds.json", "--output", "failure_data.json", "triage_tests.json"]
    )));
    insta::assert_snapshot!(render(&slipway(
        path,
        &[&args[..], &["--output_slices", "slices/failure_data.json", "triage_tests.json"]].concat()
    )));
    insta::assert_snapshot!(render(&slipway(path, &[&args[..], &["missing.json"]].concat())));
    assert!(!path.join("failure_data.json").exists(), "nothing is written on bad input");
}

#[test]
fn help_teaches() {
    let directory = tempfile::tempdir().expect("temporary directory");
    insta::assert_snapshot!(slipway(directory.path(), &["triage", "--help"]).render(&[]));
    insta::assert_snapshot!(slipway(directory.path(), &["results", "clusters", "--help"]).render(&[]));
}

/// Stores builds of two jobs with failures, as `results ingest` would.
fn fill_store(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = Store::open(url).await.expect("open the store");
        let result = |name: &str, status: Status, message: Option<&str>| TestResult {
            name: name.to_owned(),
            status,
            duration_ms: Some(1000),
            runs: 1,
            passes: u32::from(status == Status::Pass),
            message: message.map(str::to_owned),
        };
        let builds = [
            (
                "ci-crio-node-e2e",
                "1001",
                1_760_000_000,
                "Expected <int>: 71 to equal <int>: 56",
                "Timed out after 300.002s waiting for pod \"web-x7k2p\"",
            ),
            (
                "ci-crio-node-e2e",
                "1002",
                1_760_086_400,
                "Expected <int>: 3 to equal <int>: 4",
                "Timed out after 12.5s waiting for pod \"web-q2w4r\"",
            ),
            ("ci-crio-node-e2e", "1003", 1_760_172_800, "Expected <int>: 1024 to equal <int>: 0", "ok"),
            (
                "ci-kubelet-serial",
                "55",
                1_760_100_000,
                "Expected <int>: 9 to equal <int>: 10",
                "mount failed on 10.0.0.4: exit status 32",
            ),
        ];
        for (job, build_id, started, first, second) in builds {
            let build = Build {
                job: job.to_owned(),
                build_id: build_id.to_owned(),
                started: Some(started),
                finished: Some(started + 3600),
                passed: Some(false),
                version: None,
                source: format!("logs/{job}/{build_id}"),
            };
            let second = if second == "ok" {
                result("E2E Pods run", Status::Pass, None)
            } else {
                result("E2E Pods run", Status::Fail, Some(second))
            };
            let tests = [
                result("E2E Counts match", Status::Fail, Some(first)),
                second,
                result("E2E Nodes ready", Status::Pass, None),
            ];
            store.replace_build(&build, &tests, started + 4000).await.expect("stored");
        }
    });
}

#[test]
fn results_clusters_over_the_store() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path();
    let url = format!("sqlite:{}", path.join("state.db").display());
    fill_store(&url);
    let database = ["--database-url", url.as_str(), "--days", "0"];
    let redactions = [(url.as_str(), "[URL]")];
    insta::assert_snapshot!(slipway(path, &[&["results", "clusters"][..], &database].concat()).render(&redactions));
    insta::assert_snapshot!(
        slipway(
            path,
            &[&["results", "clusters", "--format", "json", "--job", "ci-crio-node-e2e"][..], &database].concat()
        )
        .render(&redactions)
    );
    insta::assert_snapshot!(
        slipway(path, &[&["results", "clusters", "--job", "ci-nope"][..], &database].concat()).render(&redactions)
    );
}

#[test]
fn cluster_counts_are_distinct_builds_the_same_in_text_and_json() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path();
    let mut xml = String::from("<testsuite name='e2e'>");
    for test in ["a", "b", "c", "d"] {
        xml.push_str(&format!(
            "<testcase name='{test}'><failure message='connection refused to 10.0.0.{}'/></testcase>",
            test.len()
        ));
    }
    xml.push_str("</testsuite>");
    fs_err::write(path.join("junit.xml"), xml).expect("write");
    let url = format!("sqlite:{}", path.join("state.db").display());
    let database = ["--database-url", url.as_str(), "--days", "0"];
    let ingest = slipway(path, &[&["results", "ingest", "junit.xml"][..], &database[..2]].concat());
    assert_eq!(ingest.code, 0, "{}", ingest.stderr);
    let text = slipway(path, &[&["results", "clusters"][..], &database].concat());
    assert!(text.stdout.contains("jobs (1): local (1 build)"), "one build, however many tests: {}", text.stdout);
    let json = slipway(path, &[&["results", "clusters", "--format", "json"][..], &database].concat());
    let report = crate::support::json(&json.stdout);
    let cluster = &report["clusters"][0];
    assert_eq!((cluster["failures"].as_u64(), cluster["builds"].as_u64()), (Some(4), Some(1)), "{cluster}");
    assert_eq!(cluster["jobs"]["local"].as_array().map(Vec::len), Some(1));
}
