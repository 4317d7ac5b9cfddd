use super::*;
use crate::cluster::{Options, cluster};

#[test]
fn common_spans_match_triages_cases() {
    // triage/summarize/text_test.go TestCommonSpans.
    assert_eq!(common_spans(["an exact match", "an exact match"]), vec![14]);
    assert_eq!(common_spans(["some example string", "some other string"]), vec![5, 7, 7]);
    assert_eq!(common_spans(["a problem with a common set", "a common set"]), vec![2, 7, 1, 4, 13]);
    assert_eq!(common_spans(["nothing", "shared"]), vec![0, 7]);
}

fn build(job: &str, number: i64, started: i64) -> Build {
    Build {
        path: format!("gs://logs/{job}/{number}"),
        started,
        elapsed: 60,
        tests_run: 10,
        tests_failed: 1,
        result: "FAILURE".to_owned(),
        executor: String::new(),
        job: job.to_owned(),
        number,
        pr: String::new(),
        key: String::new(),
    }
}

#[test]
fn columns_use_ranges_for_consecutive_builds() {
    let builds =
        [build("ci-a", 10, 1), build("ci-a", 11, 2), build("ci-a", 12, 3), build("ci-b", 5, 4), build("ci-b", 9, 5)];
    let columns = columns(&builds);
    assert_eq!(columns.jobs["ci-a"], JobColumns::Range([10, 3, 0]));
    assert_eq!(columns.jobs["ci-b"], JobColumns::Map(BTreeMap::from([("5".to_owned(), 3), ("9".to_owned(), 4)])));
    assert_eq!(columns.cols.started, vec![1, 2, 3, 4, 5]);
    assert_eq!(columns.job_paths["ci-b"], "gs://logs/ci-b");
}

fn failure(test: &str, job: &str, number: i64, text: &str) -> Failure {
    Failure { test: test.to_owned(), build: format!("gs://logs/{job}/{number}"), started: None, text: text.to_owned() }
}

/// A small fixed input: two failure kinds over three tests, one singleton, one unknown build.
pub(crate) fn sample() -> (HashMap<String, Build>, Vec<Failure>) {
    let builds: HashMap<String, Build> = [
        build("ci-node", 100, 1_700_000_000),
        build("ci-node", 101, 1_700_086_000),
        build("ci-node", 102, 1_700_172_000),
        build("pull-node", 7, 1_700_100_000),
        build("ci-storage", 3, 1_700_150_000),
    ]
    .into_iter()
    .map(|build| (build.path.clone(), build))
    .collect();
    let timeout = |pod: &str, seconds: &str| {
        format!("[FAILED] Timed out after {seconds}s.\nExpected pod \"{pod}\" to be running: context deadline exceeded")
    };
    let failures = vec![
        failure("[sig-node] Pods should run", "ci-node", 100, &timeout("web-x7k2p", "300.021")),
        failure("[sig-node] Pods should run", "ci-node", 101, &timeout("web-b9dfz", "301.400")),
        failure("[sig-node] Pods should run", "pull-node", 7, &timeout("web-q2w4r", "300.002")),
        failure("[sig-storage] Volumes should mount", "ci-storage", 3, &timeout("vol-k8s4t", "120.100")),
        failure("[sig-storage] Volumes should mount", "ci-node", 102, "mount failed: exit status 32 on 10.0.0.4"),
        failure("[sig-storage] Volumes should mount", "ci-unknown", 1, "mount failed: exit status 32 on 10.0.0.9"),
        failure(
            "Kubelet should restart",
            "ci-node",
            102,
            "panic: runtime error: invalid memory address or nil pointer dereference",
        ),
    ];
    (builds, failures)
}

#[test]
fn failure_data_snapshot() {
    let (builds, failures) = sample();
    let clustering = cluster(&failures, &[], &Options::default());
    let data = render(&builds, &failures, &clustering, &RenderOptions::default());
    insta::assert_json_snapshot!(data);
}

#[test]
fn slices_split_by_id_prefix_and_owner() {
    let (builds, failures) = sample();
    let clustering = cluster(&failures, &[], &Options::default());
    let data = render(&builds, &failures, &clustering, &RenderOptions::default());
    let written = slices(&data, &builds, "out/failure_data_PREFIX.json", &BTreeMap::new()).expect("valid pattern");
    assert_eq!(written.len(), 256 + 3, "00..ff, then sig-node, sig-storage, sig-testing");
    let owners: Vec<&str> = written[256..].iter().map(|(path, _)| path.to_str().expect("UTF-8")).collect();
    assert_eq!(
        owners,
        ["out/failure_data_sig-node.json", "out/failure_data_sig-storage.json", "out/failure_data_sig-testing.json"]
    );
    let by_prefix: usize = written[..256].iter().map(|(_, slice)| slice.clustered.len()).sum();
    assert_eq!(by_prefix, data.clustered.len());
    let node = &written[256].1;
    assert!(node.clustered.iter().all(|cluster| cluster.owner == "node"));
    // A slice carries the builds of its clusters' jobs only.
    let testing = &written[258].1;
    assert_eq!(testing.clustered.len(), 1);
    assert_eq!(testing.builds.jobs.keys().collect::<Vec<_>>(), ["ci-node"]);
    assert_eq!(testing.builds.cols.started.len(), 3);
    assert!(matches!(slices(&data, &builds, "out/slice.json", &BTreeMap::new()), Err(Error::SlicePattern { .. })));
}

#[test]
fn written_files_round_trip_and_previous_keys_are_read() {
    let (builds, failures) = sample();
    let clustering = cluster(&failures, &[], &Options::default());
    let data = render(&builds, &failures, &clustering, &RenderOptions::default());
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("nested/failure_data.json");
    write_all(&[(path.clone(), data.clone())]).expect("written");
    let read: FailureData = serde_json::from_slice(&fs_err::read(&path).expect("readable")).expect("valid JSON");
    assert_eq!(read, data);
    let keys = read_previous_keys(&path).expect("keys");
    assert_eq!(keys, data.clustered.iter().map(|cluster| cluster.key.clone()).collect::<Vec<_>>());
    assert!(!dir.path().join("nested/failure_data.json.slipway-tmp").exists());
}

#[test]
fn owners_file_assigns_unlabelled_tests() {
    let (builds, failures) = sample();
    let clustering = cluster(&failures, &[], &Options::default());
    let owners = BTreeMap::from([("node".to_owned(), vec!["Kubelet".to_owned()])]);
    let data = render(&builds, &failures, &clustering, &RenderOptions { owners, ..RenderOptions::default() });
    let panic = data.clustered.iter().find(|cluster| cluster.key.starts_with("panic")).expect("the panic cluster");
    assert_eq!(panic.owner, "node");
}
