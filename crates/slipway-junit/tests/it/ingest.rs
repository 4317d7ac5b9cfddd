//! Ingesting Prow build directories and loose JUnit files into the real store: SQLite in a
//! temporary directory, PostgreSQL and the S3 emulator from `scripts/test-services.sh`.

use std::path::Path;

use slipway_core::results::{Build, Status, TestResult};
use slipway_junit::{Options, Report, ingest};
use slipway_store::Store;

const NOW: i64 = 1_767_300_000;

fn write(root: &Path, relative: &str, content: &str) {
    let path = root.join(relative);
    fs_err::create_dir_all(path.parent().expect("a parent")).expect("create directories");
    fs_err::write(path, content).expect("write");
}

const GINKGO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" disabled="2" errors="0" failures="1" time="60">
  <testsuite name="E2eNode Suite" tests="4" failures="1" time="60">
    <properties><property name="SuiteSucceeded" value="false"></property></properties>
    <testcase name="[It] [sig-node] Pods should run [NodeConformance]" classname="E2eNode Suite" status="passed" time="12.5"></testcase>
    <testcase name="[It] [sig-node] Probes should restart [NodeConformance]" classname="E2eNode Suite" status="failed" time="30">
      <failure message="" type="failed">[FAILED] timed out waiting for the condition&#xA;In [It] at: test/e2e/common/node/probes.go:123 @ 01/02/26 15:04:05.678&#xA;</failure>
      <system-err>STEP: creating pod&#xA;</system-err>
    </testcase>
    <testcase name="[It] [sig-storage] Volumes should mount [Feature:Volumes]" classname="E2eNode Suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
    <testcase name="[It] [sig-node] Swap should be off" classname="E2eNode Suite" status="skipped" time="0"><skipped message="skipped - swap is not supported on this node"></skipped></testcase>
  </testsuite>
</testsuites>
"#;

/// A second file of the same build, where the failed spec passed on a retry.
const RETRY: &str = r#"<testsuites><testsuite name="E2eNode Suite"><testcase name="[It] [sig-node] Probes should restart [NodeConformance]" time="28"/></testsuite></testsuites>"#;

/// A tree of Prow builds: two of `ci-crio-node-e2e`, one presubmit, one still running, and a
/// malformed JUnit file.
fn prow_tree(root: &Path) {
    write(
        root,
        "logs/ci-crio-node-e2e/1001/started.json",
        r#"{"timestamp": 1767225600, "repo-commit": "0123456789abcdef0123"}"#,
    );
    write(
        root,
        "logs/ci-crio-node-e2e/1001/finished.json",
        r#"{"timestamp": 1767229200, "passed": false, "result": "FAILURE", "metadata": {"job-version": "v1.36.0-alpha.1+fedcba9876543210"}}"#,
    );
    write(root, "logs/ci-crio-node-e2e/1001/artifacts/junit_01.xml", GINKGO);
    write(root, "logs/ci-crio-node-e2e/1001/artifacts/retry/junit_02.xml", RETRY);
    // Found by content, whatever its name (TestGrid's junit*.xml pattern missed it).
    write(
        root,
        "logs/ci-crio-node-e2e/1001/artifacts/results.xml",
        "<testsuite><testcase name='found by content'/></testsuite>",
    );
    // XML of another kind is left out with a note.
    write(root, "logs/ci-crio-node-e2e/1001/artifacts/config.xml", "<configuration><a/></configuration>");
    write(root, "logs/ci-crio-node-e2e/1001/build-log.txt", "log\n");
    write(root, "logs/ci-crio-node-e2e/1002/started.json", r#"{"timestamp": 1767312000}"#);
    write(
        root,
        "logs/ci-crio-node-e2e/1002/finished.json",
        r#"{"timestamp": 1767315600, "passed": null, "result": "SUCCESS"}"#,
    );
    let passing: Vec<&str> = GINKGO.lines().filter(|line| !line.contains("<failure")).collect();
    write(root, "logs/ci-crio-node-e2e/1002/artifacts/junit_01.xml", &passing.join("\n"));
    write(root, "logs/ci-crio-node-e2e/1002/artifacts/junit_bad.xml", "<testsuite name=\"x\">\n<testcase name=\"cut");
    write(root, "logs/ci-crio-node-e2e/latest-build.txt", "1002");
    write(root, "logs/ci-kops-e2e/7/started.json", r#"{"timestamp": 1767312000, "repo-version": "v1.35.0"}"#);
    write(
        root,
        "pr-logs/pull/kubernetes-sigs_descheduler/1339/pull-descheduler-unit/55/started.json",
        r#"{"timestamp": 1767000000, "pull": "1339"}"#,
    );
    write(
        root,
        "pr-logs/pull/kubernetes-sigs_descheduler/1339/pull-descheduler-unit/55/finished.json",
        r#"{"timestamp": 1767000600, "passed": true}"#,
    );
    write(
        root,
        "pr-logs/pull/kubernetes-sigs_descheduler/1339/pull-descheduler-unit/55/artifacts/junit.xml",
        r#"<testsuite name="sigs.k8s.io/descheduler/pkg/utils"><testcase name="TestX" time="0.01"/></testsuite>"#,
    );
}

async fn sqlite(directory: &Path) -> Store {
    Store::open(&format!("sqlite:{}", directory.join("state.db").display())).await.expect("open the store")
}

fn options() -> Options {
    Options { now: NOW, ..Options::default() }
}

/// The report as JSON, with the temporary directory shown as `[TMP]`.
fn render(report: &Report, root: &Path) -> String {
    let json = serde_json::to_string_pretty(report).expect("serializable");
    let canonical = fs_err::canonicalize(root).expect("canonical").display().to_string();
    json.replace(&canonical, "[TMP]").replace(&root.display().to_string(), "[TMP]")
}

fn row<'a>(tests: &'a [TestResult], name: &str) -> &'a TestResult {
    tests.iter().find(|test| test.name == name).unwrap_or_else(|| panic!("no `{name}` in {tests:#?}"))
}

#[tokio::test]
async fn a_tree_of_prow_builds_is_ingested_once() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let root = directory.path().join("bucket");
    prow_tree(&root);
    let store = sqlite(directory.path()).await;
    let input = root.display().to_string();

    let report = ingest(&store, std::slice::from_ref(&input), &options()).await.expect("ingested");
    insta::assert_snapshot!(render(&report, &root));
    assert_eq!(report.exit_code(), 2, "a malformed file makes the exit code 2");

    let build = store.build("ci-crio-node-e2e", "1001").await.expect("query").expect("stored");
    assert_eq!(
        build,
        Build {
            job: "ci-crio-node-e2e".to_owned(),
            build_id: "1001".to_owned(),
            started: Some(1_767_225_600),
            finished: Some(1_767_229_200),
            passed: Some(false),
            version: Some("fedcba987".to_owned()),
            source: fs_err::canonicalize(&root)
                .expect("canonical")
                .join("logs/ci-crio-node-e2e/1001")
                .display()
                .to_string(),
        }
    );
    let tests = store.build_tests("ci-crio-node-e2e", "1001").await.expect("query");
    assert_eq!(tests.len(), 4, "the spec that was not selected is not stored: {tests:#?}");
    assert_eq!(row(&tests, "found by content").status, Status::Pass);
    assert_eq!(report.not_junit.len(), 1, "{:?}", report.not_junit);
    assert!(report.not_junit[0].to_string().contains("config.xml:1: the root element is <configuration>"));
    let retried = row(&tests, "E2eNode Suite.[It] [sig-node] Probes should restart [NodeConformance]");
    assert_eq!(
        (retried.status, retried.runs, retried.passes, retried.duration_ms),
        (Status::Flaky, 2, 1, Some(58_000))
    );
    assert_eq!(
        retried.message.as_deref(),
        Some(
            "1/2 runs passed: [FAILED] timed out waiting for the condition\nIn [It] at: test/e2e/common/node/probes.go:123 @ 01/02/26 15:04:05.678"
        )
    );
    let swap = row(&tests, "E2eNode Suite.[It] [sig-node] Swap should be off");
    assert_eq!(
        (swap.status, swap.message.as_deref()),
        (Status::Skip, Some("skipped - swap is not supported on this node"))
    );

    let running = store.build("ci-kops-e2e", "7").await.expect("query").expect("stored");
    assert_eq!((running.finished, running.passed, running.version.as_deref()), (None, None, Some("v1.35.0")));
    let passed = store.build("ci-crio-node-e2e", "1002").await.expect("query").expect("stored");
    assert_eq!(passed.passed, Some(true), "result SUCCESS when passed is null");
    assert_eq!(store.builds("pull-descheduler-unit", 0).await.expect("query").len(), 1);

    // Again, and one build directly: nothing changes.
    let again =
        ingest(&store, &[input.clone(), root.join("logs/ci-crio-node-e2e/1001").display().to_string()], &options())
            .await
            .expect("ingested");
    assert_eq!((again.builds.inserted, again.builds.updated, again.builds.unchanged), (0, 0, 5));
    assert_eq!(again.problems, report.problems);

    // A file that changes updates its build only.
    write(
        &root,
        "logs/ci-crio-node-e2e/1002/artifacts/junit_bad.xml",
        "<testsuite name=\"x\"><testcase name=\"fixed\"/></testsuite>",
    );
    let fixed = ingest(&store, &[input], &options()).await.expect("ingested");
    assert_eq!((fixed.builds.inserted, fixed.builds.updated, fixed.builds.unchanged, fixed.exit_code()), (0, 1, 3, 0));
    assert_eq!(store.build_tests("ci-crio-node-e2e", "1002").await.expect("query").len(), 4);
}

#[tokio::test]
async fn loose_files_make_one_build_of_the_job_and_build_given() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = sqlite(directory.path()).await;
    write(directory.path(), "reports/TEST-unit.xml", GINKGO);
    write(directory.path(), "reports/retry.xml", RETRY);
    let files = [
        directory.path().join("reports/TEST-unit.xml").display().to_string(),
        directory.path().join("reports/retry.xml").display().to_string(),
    ];
    let report = ingest(&store, &files, &options()).await.expect("ingested");
    assert_eq!((report.builds.inserted, report.files, report.tests, report.exit_code()), (1, 2, 3, 0));
    let build = &report.ingested[0];
    assert_eq!(build.job, "local");
    assert_eq!(build.build_id.len(), 12, "a hash of the results: {}", build.build_id);
    assert_eq!((build.pass, build.fail, build.flaky, build.skip), (1, 0, 1, 1));
    assert!(build.source.ends_with("reports/TEST-unit.xml (and 1 more files)"), "{}", build.source);
    let stored = store.build("local", &build.build_id).await.expect("query").expect("stored");
    assert!(stored.started.is_some(), "the files' modification time");

    let again = ingest(&store, &files, &options()).await.expect("ingested");
    assert_eq!((again.builds.unchanged, again.ingested[0].build_id.as_str()), (1, build.build_id.as_str()));

    let named = Options { job: Some("unit".to_owned()), build: Some("42".to_owned()), ..options() };
    let report = ingest(&store, &files[..1], &named).await.expect("ingested");
    assert_eq!((report.ingested[0].job.as_str(), report.ingested[0].build_id.as_str()), ("unit", "42"));
    assert_eq!(store.build_tests("unit", "42").await.expect("query")[1].status, Status::Fail);

    // A directory without Prow builds: its XML files that are JUnit are loose files.
    write(directory.path(), "results/junit_1.xml", RETRY);
    write(directory.path(), "results/pom.xml", "<project/>");
    let report =
        ingest(&store, &[directory.path().join("results").display().to_string()], &named).await.expect("ingested");
    assert_eq!((report.files, report.tests, report.builds.updated), (1, 1, 1));
}

#[tokio::test]
async fn bad_inputs_are_reported_and_the_rest_ingested() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = sqlite(directory.path()).await;
    write(directory.path(), "empty.xml", "");
    write(
        directory.path(),
        "xxe.xml",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<r>&x;</r>",
    );
    write(directory.path(), "good.xml", RETRY);
    write(directory.path(), "nothing/README.md", "no results here");
    let inputs: Vec<String> = ["empty.xml", "xxe.xml", "missing.xml", "nothing", "good.xml"]
        .iter()
        .map(|name| directory.path().join(name).display().to_string())
        .collect();
    let report = ingest(&store, &inputs, &options()).await.expect("ingested");
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|problem| problem.to_string().replace(&directory.path().display().to_string(), "[TMP]"))
        .collect();
    assert_eq!(
        problems,
        [
            "[TMP]/missing.xml: no such file or directory",
            "[TMP]/nothing: no Prow builds (started.json, finished.json) and no JUnit files (*.xml) here",
            "[TMP]/empty.xml:1: no XML element: the file is empty or holds only a prolog",
            "[TMP]/xxe.xml:2: a DOCTYPE declaration: JUnit files have none, and slipway never reads one (no entities are expanded)",
        ]
    );
    assert_eq!((report.builds.inserted, report.files, report.tests, report.exit_code()), (1, 1, 1, 2));
}

/// A database of its own whose text sorts by en-US rules (ICU), as on many PostgreSQL servers.
fn postgres_with_icu_collation() -> String {
    let template = slipway_test::postgres::database();
    let (server, name) = template.rsplit_once('/').expect("a database URL");
    let address = slipway_test::postgres::address();
    let (host, port) = address.rsplit_once(':').expect("host:port");
    let icu = format!("{name}_icu");
    let output = std::process::Command::new("psql")
        .args(["-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-qc"])
        .arg(format!(
            "CREATE DATABASE {icu} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        ))
        .output()
        .expect("psql runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    format!("{server}/{icu}")
}

#[tokio::test]
async fn reingesting_is_unchanged_on_postgres_whatever_its_collation() {
    let store = Store::open(&postgres_with_icu_collation()).await.expect("open PostgreSQL");
    let directory = tempfile::tempdir().expect("temporary directory");
    // Names whose byte order differs from en-US order.
    write(
        directory.path(),
        "junit.xml",
        "<testsuite name=\"s\"><testcase name=\"b\"/><testcase name=\"B\"/><testcase name=\"_a\"/><testcase name=\"[It] a\"/><testcase name=\"a.b\"/></testsuite>",
    );
    let inputs = [directory.path().join("junit.xml").display().to_string()];
    let first = ingest(&store, &inputs, &options()).await.expect("ingested");
    let second = ingest(&store, &inputs, &options()).await.expect("ingested");
    assert_eq!((first.builds.inserted, second.builds.unchanged), (1, 1));
    store.close().await;
}

#[tokio::test]
async fn a_prow_build_in_s3_is_ingested_from_the_bucket_the_build_or_one_object() {
    use slipway_artifacts::{BuildDir, Finished, JobResult, ProwJob, Started, Storage};

    let bucket = slipway_test::s3::unique_bucket("junit-ingest");
    let environment = slipway_test::s3::environment();
    let storage = Storage::open_with(&format!("s3://{bucket}/ci"), environment.clone()).expect("storage");
    let build = BuildDir::new(storage, "ci-crio-node-e2e", 1_795_317_710_123).expect("a build");
    let prowjob = ProwJob::new("ci-crio-node-e2e", 1_795_317_710_123, serde_json::Map::new(), 1_767_225_600);
    let started =
        Started { timestamp: 1_767_225_600, repo_commit: Some("abcdef0123456789".to_owned()), ..Started::default() };
    build.start(&started, &prowjob).await.expect("started");
    let local = tempfile::tempdir().expect("temporary directory");
    write(local.path(), "artifacts/junit_01.xml", GINKGO);
    write(local.path(), "artifacts/nested/junit_bad.xml", "<testsuite>\n<testcase name=\"x\">\n</testsuite>");
    write(local.path(), "build-log.txt", "log\n");
    let finished = Finished {
        timestamp: Some(1_767_229_200),
        passed: Some(false),
        result: Some(JobResult::Failure),
        ..Finished::default()
    };
    build
        .finish(&local.path().join("build-log.txt"), Some(&local.path().join("artifacts")), &finished, &prowjob)
        .await
        .expect("finished");

    let directory = tempfile::tempdir().expect("temporary directory");
    let store = sqlite(directory.path()).await;
    let options = Options { environment: Some(environment), ..options() };
    let report = ingest(&store, &[format!("s3://{bucket}/ci")], &options).await.expect("ingested");
    assert_eq!((report.builds.inserted, report.files, report.tests), (1, 1, 3));
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [format!(
            "s3://{bucket}/ci/logs/ci-crio-node-e2e/1795317710123/artifacts/nested/junit_bad.xml:3: not well-formed XML: ill-formed document: expected `</testcase>`, but `</testsuite>` was found"
        )]
    );
    let stored = store.build("ci-crio-node-e2e", "1795317710123").await.expect("query").expect("stored");
    assert_eq!(stored.source, format!("s3://{bucket}/ci/logs/ci-crio-node-e2e/1795317710123"));
    assert_eq!((stored.passed, stored.version.as_deref()), (Some(false), Some("abcdef012")));

    let again = ingest(&store, &[format!("s3://{bucket}/ci/logs/ci-crio-node-e2e/1795317710123")], &options)
        .await
        .expect("ingested");
    assert_eq!(again.builds.unchanged, 1);

    let object = format!("s3://{bucket}/ci/logs/ci-crio-node-e2e/1795317710123/artifacts/junit_01.xml");
    let single = ingest(&store, std::slice::from_ref(&object), &options).await.expect("ingested");
    assert_eq!(
        (single.ingested[0].job.as_str(), single.ingested[0].source.as_str(), single.tests),
        ("local", object.as_str(), 3)
    );

    let missing =
        ingest(&store, &["s3://no-such-bucket-for-slipway/x".to_owned()], &options).await.expect_err("no bucket");
    assert_eq!(missing.exit_code(), 3, "{missing}");
}

#[tokio::test]
async fn gzip_compressed_junit_and_a_glob() {
    use std::io::Write;
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = sqlite(directory.path()).await;
    let build = directory.path().join("logs/unit/5");
    write(&build, "started.json", r#"{"timestamp": 1767225600}"#);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(RETRY.as_bytes()).expect("compress");
    fs_err::create_dir_all(build.join("artifacts")).expect("mkdir");
    fs_err::write(build.join("artifacts/junit_01.xml.gz"), encoder.finish().expect("compress")).expect("write");
    write(&build, "reports/TEST-unit.xml", "<testsuite name='r'><testcase name='t'/></testsuite>");
    let input = directory.path().display().to_string();
    let report = ingest(&store, std::slice::from_ref(&input), &options()).await.expect("ingested");
    assert_eq!((report.files, report.exit_code()), (1, 0), "{:?}", report.problems);
    let globbed = Options { glob: Some("reports/*.xml".to_owned()), ..options() };
    let report = ingest(&store, std::slice::from_ref(&input), &globbed).await.expect("ingested");
    assert_eq!((report.files, report.tests), (1, 1), "--glob chooses other files: {:?}", report.problems);
    let bad = Options { glob: Some("reports/[".to_owned()), ..options() };
    let error = ingest(&store, std::slice::from_ref(&input), &bad).await.expect_err("not a glob");
    assert_eq!(error.exit_code(), 2, "{error}");
}

#[tokio::test]
async fn a_build_of_junit_files_alone_is_over_with_a_result_from_its_tests() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = sqlite(directory.path()).await;
    write(directory.path(), "pass/junit.xml", "<testsuite name='s'><testcase name='ok'/></testsuite>");
    write(
        directory.path(),
        "fail/junit.xml",
        "<testsuite name='s'><testcase name='ok'/><testcase name='bad'><failure message='no'/></testcase></testsuite>",
    );
    for (name, passed) in [("pass", true), ("fail", false)] {
        let options = Options { job: Some(name.to_owned()), build: Some("1".to_owned()), ..options() };
        let input = directory.path().join(name).display().to_string();
        ingest(&store, std::slice::from_ref(&input), &options).await.expect("ingested");
        let build = store.build(name, "1").await.expect("query").expect("stored");
        assert_eq!(build.passed, Some(passed), "{name}: {build:?}");
        assert!(build.finished.is_some() && build.finished >= build.started, "{name}: not running: {build:?}");
    }
}

#[tokio::test]
async fn a_file_that_would_take_a_build_past_the_limits_is_left_out() {
    use std::io::Write;
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = sqlite(directory.path()).await;
    write(directory.path(), "reports/a-small.xml", GINKGO);
    // As many cases as one file may hold: with the first file's, more than a build may.
    let big = directory.path().join("reports/b-big.xml");
    let mut file = std::io::BufWriter::new(fs_err::File::create(&big).expect("create"));
    writeln!(file, "<testsuite name=\"big\">").expect("write");
    for index in 0..slipway_junit::MAX_TEST_CASES {
        writeln!(file, "<testcase name=\"t{index}\"/>").expect("write");
    }
    writeln!(file, "</testsuite>").expect("write");
    file.flush().expect("flush");
    drop(file);
    let report =
        ingest(&store, &[directory.path().join("reports").display().to_string()], &options()).await.expect("ingested");
    assert_eq!((report.builds.inserted, report.tests, report.exit_code()), (1, 3, 2), "{report:#?}");
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].file.ends_with("b-big.xml"), "{:?}", report.problems[0]);
    assert!(report.problems[0].message.starts_with("left out: with it, the build's files would hold more than"));
}
