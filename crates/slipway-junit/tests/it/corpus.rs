//! Every file of the shared JUnit corpus: read, or refused cleanly with its line.

use std::fmt::Write;
use std::path::PathBuf;

use slipway_core::results::Status;
use slipway_junit::{merge, parse_file};

fn corpus_files() -> Vec<PathBuf> {
    let directory = slipway_test::paths::corpus().join("junit");
    let mut files: Vec<PathBuf> = fs_err::read_dir(&directory)
        .expect("the corpus")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.file_name().and_then(|name| name.to_str()) != Some("SOURCES.md"))
        .collect();
    files.sort();
    files
}

/// One line per corpus file: its row counts after merging, or the problem.
#[test]
fn every_corpus_file_is_read_or_refused_with_its_line() {
    let mut table = String::new();
    let files = corpus_files();
    assert!(files.len() >= 26, "{files:?}");
    for path in &files {
        let name = path.file_name().and_then(|name| name.to_str()).expect("a UTF-8 name");
        match parse_file(path) {
            Ok(parsed) => {
                let cells = parsed.cells.len();
                let rows = merge(parsed.cells);
                let count = |status| rows.iter().filter(|row| row.status == status).count();
                writeln!(
                    table,
                    "{name}\n    cases {cells:>3}  rows {:>3}  pass {:>3}  fail {:>2}  skip {:>3}  flaky {}  dropped {}",
                    rows.len(),
                    count(Status::Pass),
                    count(Status::Fail),
                    count(Status::Skip),
                    count(Status::Flaky),
                    parsed.dropped,
                )
                .expect("write to a string");
            }
            Err(problem) => {
                assert_eq!(problem.file, path.display().to_string());
                let line = problem.line.unwrap_or_else(|| panic!("no line: {problem}"));
                writeln!(table, "{name}\n    refused at line {line}: {}", problem.message).expect("write to a string");
            }
        }
    }
    insta::assert_snapshot!(table);
}

fn rows_of(file: &str) -> Vec<slipway_core::results::TestResult> {
    let path = slipway_test::paths::corpus().join("junit").join(file);
    merge(parse_file(&path).expect("readable").cells)
}

fn row<'a>(rows: &'a [slipway_core::results::TestResult], name: &str) -> &'a slipway_core::results::TestResult {
    rows.iter()
        .find(|row| row.name == name)
        .unwrap_or_else(|| panic!("no row `{name}` in {:?}", rows.iter().map(|row| &row.name).collect::<Vec<_>>()))
}

#[test]
fn ginkgo_v2_rows_are_suite_dot_spec() {
    let rows = rows_of("onsi__ginkgo__reporters____snapshots____junit_report_test.snap.entry1.xml");
    let timed_out = row(&rows, "My Suite.[It] A B C [dolphin, gorilla, cow, cat, dog]");
    assert_eq!(timed_out.status, Status::Fail);
    assert!(timed_out.message.as_deref().is_some_and(|text| text.starts_with("failure\nmessage\n[TIMEDOUT] failure")));
    assert_eq!(timed_out.duration_ms, Some(1000));
    let pending = row(&rows, "My Suite.[It] A [owner:org, owner:team]");
    assert_eq!((pending.status, pending.message.as_deref()), (Status::Skip, Some("pending")));
    assert_eq!(row(&rows, "My Suite.[It] A [owner:org]").message.as_deref().map(|text| &text[..9]), Some("the panic"));
    assert_eq!(row(&rows, "My Suite.[BeforeSuite] A").status, Status::Pass);
}

#[test]
fn surefire_flaky_failures_make_a_flaky_row() {
    let rows = rows_of(
        "apache__maven-surefire__surefire-report-parser__src__test__resources__fixture__testsuitexmlparser__TEST-org.acme.FlakyTest.xml",
    );
    let flaky = row(&rows, "org.acme.FlakyTest.testFlaky");
    assert_eq!((flaky.status, flaky.runs, flaky.passes), (Status::Flaky, 5, 1));
    let message = flaky.message.as_deref().expect("a message");
    assert!(
        message.starts_with(
            "1/5 runs passed: expected: <1> but was: <0>\norg.opentest4j.AssertionFailedError: expected: <1> but was: <0>"
        ),
        "{message}"
    );
    assert_eq!(row(&rows, "org.acme.FlakyTest.testStable").status, Status::Pass);
}

#[test]
fn surefire_reruns_that_all_failed_stay_failed() {
    let rows = rows_of(
        "jenkinsci__junit-plugin__src__test__resources__hudson__tasks__junit__gh-237__TEST-io.olamy.AlwaysFailTest.xml",
    );
    let failed: Vec<_> = rows.iter().filter(|row| row.status == Status::Fail).collect();
    assert_eq!(failed.len(), 1, "{rows:?}");
    assert_eq!((failed[0].runs, failed[0].passes), (4, 0));
    assert!(failed[0].message.as_deref().is_some_and(|text| text.starts_with("0/4 runs passed: ")), "{:?}", failed[0]);
}

#[test]
fn nextest_marks_tests_that_passed_on_retry_as_flaky() {
    let rows = rows_of("nextest-rs__quick-junit__crates__quick-junit-tests__tests__fixtures__basic_report.xml");
    let flaky = row(&rows, "testsuite0.testcase4");
    assert_eq!((flaky.status, flaky.runs), (Status::Flaky, 3));
    assert_eq!(flaky.message.as_deref(), Some("1/3 runs passed: this is a flaky failure description"));
    let rerun = row(&rows, "testsuite0.testcase5");
    assert_eq!(
        (rerun.status, rerun.runs, rerun.message.as_deref()),
        (Status::Fail, 3, Some("0/3 runs passed: main test failure description"))
    );
    let configured = row(&rows, "testsuite0.testcase7");
    assert_eq!(configured.status, Status::Fail, "a failure element wins over the flaky runs before it");
    assert_eq!(row(&rows, "testsuite0.testcase3").message.as_deref(), Some("skipped message"));
}

#[test]
fn nested_suites_and_unnamed_suites_flatten_as_testgrid_does() {
    let rows = rows_of(
        "EnricoMi__publish-unit-test-result-action__python__test__files__junit-xml__testsuite-in-testsuite.xml",
    );
    let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Project Test Suite.TestCase5",
            "Project Test Suite.TestSuite1.TestCase1",
            "Project Test Suite.TestSuite1.TestCase2",
            "Project Test Suite.TestSuite2.TestCase4",
            "Project Test Suite.TestSuite2.TestSuite2.1.TestCase3",
        ]
    );
    let rows = rows_of("kubernetes__test-infra__kettle__testdata__junit_no_suite_name.xml");
    let simple = row(&rows, "TestSimpleFile");
    assert_eq!(simple.message.as_deref(), Some("simple_test.go:186: Running tests in file plumbing"));
    let rows = rows_of(
        "jenkinsci__junit-plugin__src__test__resources__hudson__tasks__junit__junit-report-nested-testsuites.xml",
    );
    let setup = row(&rows, "test.AutomatedTests.test.db.DatabaseTest.test.3rdlevel");
    assert_eq!(setup.status, Status::Fail);
    assert!(
        setup
            .message
            .as_deref()
            .is_some_and(|text| text.starts_with("bla bla\njava.lang.IllegalStateException: bla bla"))
    );
}

#[test]
fn go_build_failures_and_cdata_are_read() {
    let rows = rows_of("jstemmer__go-junit-report__testdata__013-report.xml");
    let failed: Vec<&str> = rows.iter().filter(|row| row.status == Status::Fail).map(|row| row.name.as_str()).collect();
    assert!(failed.iter().any(|name| name.ends_with("[build failed]")), "{failed:?}");
}

#[test]
fn non_ascii_text_survives() {
    let rows =
        rows_of("EnricoMi__publish-unit-test-result-action__python__test__files__junit-xml__unsupported-unicode.xml");
    assert_eq!(row(&rows, "pytest.test 1 헴䜝헱홐㣇㿷䔭𒍺𡓿𠄉㦓").status, Status::Pass);
    assert_eq!(
        row(&rows, "pytest.test 4").message.as_deref(),
        Some("Some unsupported unicode characters: 헴䜝헱홐㣇㿷䔭𒍺𡓿𠄉㦓\nfailed")
    );
}
