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

proptest::proptest! {
    /// A slice's builds written from the index are exactly [`columns`] of its jobs' builds:
    /// ranges and maps (gaps, a number seen twice, builds without a number), shifted columns.
    #[test]
    fn column_views_write_what_columns_make(
        builds in proptest::collection::vec((0usize..6, 0i64..12, 0i64..1000), 0..60),
        chosen in proptest::collection::vec(proptest::bool::ANY, 6),
    ) {
        let builds: Vec<Build> = builds
            .into_iter()
            .enumerate()
            .map(|(index, (job, number, started))| {
                let mut build = build(&format!("ci-{job}"), number, started);
                build.path = format!("gs://logs/ci-{job}/{number}/{index}");
                build.result = format!("R{index}");
                build
            })
            .collect();
        let jobs: HashSet<String> =
            (0..6).filter(|&job| chosen[job]).map(|job| format!("ci-{job}")).collect();
        let expected = columns(builds.iter().filter(|build| jobs.contains(&build.job)));
        let index = ColumnIndex::new(&builds);
        let view = index.view(&jobs.iter().map(String::as_str).collect());
        let mut json = Vec::new();
        view.write_json(&mut json).expect("written");
        let written: Columns = serde_json::from_slice(&json).expect("parsed");
        proptest::prop_assert_eq!(written, expected);
    }
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
    let slices = slices(&data, &BTreeMap::new());
    assert_eq!(slices.len(), 256 + 3, "00..ff, then sig-node, sig-storage, sig-testing");
    let owners: Vec<&str> = slices[256..].iter().map(|slice| slice.name.as_str()).collect();
    assert_eq!(owners, ["sig-node", "sig-storage", "sig-testing"]);
    let by_prefix: usize = slices[..256].iter().map(|slice| slice.clustered.len()).sum();
    assert_eq!(by_prefix, data.clustered.len());
    assert!(slices[256].clustered.iter().all(|cluster| cluster.owner == "node"));
    // A slice carries the builds of its clusters' jobs only.
    let testing = &slices[258];
    assert_eq!(testing.clustered.len(), 1);
    let columns = testing.builds(&builds);
    assert_eq!(columns.jobs.keys().collect::<Vec<_>>(), ["ci-node"]);
    assert_eq!(columns.cols.started.len(), 3);
}

#[test]
fn written_files_round_trip_and_previous_keys_are_read() {
    let (builds, failures) = sample();
    let clustering = cluster(&failures, &[], &Options::default());
    let options = RenderOptions::default();
    let data = render(&builds, &failures, &clustering, &options);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("nested/failure_data.json");
    let pattern = dir.path().join("slices/failure_data_PREFIX.json").display().to_string();
    let written = write(&builds, &failures, &clustering, &options, &path, Some(&pattern)).expect("written");
    assert_eq!((written.clusters, written.slices), (data.clustered.len(), 259));
    let read: FailureData = serde_json::from_slice(&fs_err::read(&path).expect("readable")).expect("valid JSON");
    assert_eq!(read, data);
    let keys = read_previous_keys(&path).expect("keys");
    assert_eq!(keys, data.clustered.iter().map(|cluster| cluster.key.clone()).collect::<Vec<_>>());
    assert!(!dir.path().join("nested/failure_data.json.slipway-tmp").exists());
    // A slice is Triage's schema, with its own builds.
    let slice: FailureData =
        serde_json::from_slice(&fs_err::read(pattern.replace("PREFIX", "sig-testing")).expect("readable"))
            .expect("valid JSON");
    assert_eq!(slice.builds.jobs.keys().collect::<Vec<_>>(), ["ci-node"]);
    let files = fs_err::read_dir(dir.path().join("slices")).expect("listed").count();
    assert_eq!(files, 259, "no temporary file left behind");
}

#[test]
fn a_bad_pattern_or_a_failed_write_leaves_nothing_behind() {
    let (builds, failures) = sample();
    let clustering = cluster(&failures, &[], &Options::default());
    let options = RenderOptions::default();
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("failure_data.json");
    let bad = write(&builds, &failures, &clustering, &options, &path, Some("slice.json"));
    assert!(matches!(bad, Err(Error::SlicePattern { .. })));
    // A slice directory that is a file: the main file is not left in place either.
    fs_err::write(dir.path().join("blocked"), "a file").expect("written");
    let pattern = dir.path().join("blocked/failure_data_PREFIX.json").display().to_string();
    let failed = write(&builds, &failures, &clustering, &options, &path, Some(&pattern));
    assert!(matches!(failed, Err(Error::Write { .. })), "{failed:?}");
    let left: Vec<_> =
        fs_err::read_dir(dir.path()).expect("listed").map(|entry| entry.expect("entry").file_name()).collect();
    assert_eq!(left, ["blocked"]);
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
