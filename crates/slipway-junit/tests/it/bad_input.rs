//! Inputs that must not hurt: enormous files and texts, broken encodings, broken XML.

use std::io::{BufWriter, Write};
use std::path::Path;

use slipway_core::results::Status;
use slipway_junit::{MAX_KEPT_TEXT, MAX_TEST_CASES, MESSAGE_LIMIT, merge, parse_file};

const MIB: usize = 1024 * 1024;

/// The peak resident memory of this process so far, in bytes (Linux).
fn peak_memory() -> usize {
    let status = fs_err::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).expect("VmHWM");
    let kib: usize = line.split_whitespace().nth(1).and_then(|value| value.parse().ok()).expect("a number");
    kib * 1024
}

/// Writes `<testsuite>` with a test whose failure text is `size` bytes of log lines, then a
/// passing test.
fn write_enormous_failure(path: &Path, size: usize) {
    let mut file = BufWriter::new(fs_err::File::create(path).expect("create"));
    write!(file, "<?xml version=\"1.0\"?>\n<testsuite name=\"huge\">\n<testcase name=\"fails\" time=\"3\"><failure message=\"boom\">").expect("write");
    let line = "E0101 12:00:00.000000 1 controller.go:42] something went wrong &amp; again\n";
    let mut written = 0;
    while written < size {
        file.write_all(line.as_bytes()).expect("write");
        written += line.len();
    }
    write!(file, "</failure><system-out>").expect("write");
    for _ in 0..4 * MIB / line.len() {
        file.write_all(line.as_bytes()).expect("write");
    }
    write!(file, "</system-out></testcase>\n<testcase name=\"passes\"/>\n</testsuite>\n").expect("write");
    file.flush().expect("flush");
}

#[test]
fn a_100_mib_failure_text_is_streamed_and_truncated() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("junit_huge.xml");
    write_enormous_failure(&path, 100 * MIB);
    let size = fs_err::metadata(&path).expect("metadata").len();
    assert!(size > 100 * MIB as u64);

    let parsed = parse_file(&path).expect("parsed");
    assert!(peak_memory() < 100 * MIB, "peak memory {} MiB: the file was not streamed", peak_memory() / MIB);
    let rows = merge(parsed.cells);
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].name.as_str(), rows[0].status, rows[0].duration_ms), ("huge.fails", Status::Fail, Some(3000)));
    let message = rows[0].message.as_deref().expect("a message");
    assert!(message.starts_with("boom\nE0101 12:00:00.000000 1 controller.go:42] something went wrong & again\n"));
    let (kept, note) = message.rsplit_once('\n').expect("a truncation note");
    assert!(kept.len() <= MESSAGE_LIMIT, "{}", kept.len());
    let cut: u64 = note
        .strip_prefix("[truncated: ")
        .and_then(|rest| rest.strip_suffix(" more bytes]"))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("not a truncation note: {note}"));
    // Everything of the text but what was kept is counted (entities count as written).
    assert!(cut > 100 * MIB as u64 - 2 * MESSAGE_LIMIT as u64 && cut < 101 * MIB as u64, "{cut}");
    assert_eq!((rows[1].name.as_str(), rows[1].status), ("huge.passes", Status::Pass));
}

#[test]
fn an_enormous_message_attribute_is_truncated_too() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("junit.xml");
    let message = "x".repeat(8 * MIB);
    fs_err::write(
        &path,
        format!("<testsuite><testcase name=\"t\"><failure message=\"{message}\" type=\"T\">body</failure></testcase></testsuite>"),
    )
    .expect("write");
    let cells = parse_file(&path).expect("parsed").cells;
    let text = cells[0].message.as_deref().expect("a message");
    assert_eq!(text, format!("{}\n[truncated: {} more bytes]", "x".repeat(MESSAGE_LIMIT), 8 * MIB - MESSAGE_LIMIT + 5));
}

#[test]
fn many_test_cases_with_repeated_names_merge() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("junit.xml");
    let mut file = BufWriter::new(fs_err::File::create(&path).expect("create"));
    writeln!(file, "<testsuites><testsuite name=\"go\">").expect("write");
    for index in 0..60_000 {
        // Every test runs three times (go test -count=3); every 1000th fails once.
        let test = index % 20_000;
        if test % 1000 == 0 && index < 20_000 {
            writeln!(file, "<testcase name=\"Test{test}\" time=\"0.5\"><failure message=\"flake {test}\"/></testcase>")
        } else {
            writeln!(file, "<testcase name=\"Test{test}\" time=\"0.5\"/>")
        }
        .expect("write");
    }
    writeln!(file, "</testsuite></testsuites>").expect("write");
    file.flush().expect("flush");
    drop(file);
    let parsed = parse_file(&path).expect("parsed");
    assert_eq!(parsed.cells.len(), 60_000);
    let rows = merge(parsed.cells);
    assert_eq!(rows.len(), 20_000);
    let flaky: Vec<&str> = rows.iter().filter(|row| row.status == Status::Flaky).map(|row| row.name.as_str()).collect();
    assert_eq!(flaky.len(), 20);
    let first = rows.iter().find(|row| row.name == "go.Test1000").expect("a row");
    assert_eq!(
        (first.status, first.runs, first.passes, first.duration_ms, first.message.as_deref()),
        (Status::Flaky, 3, 2, Some(1500), Some("2/3 runs passed: flake 1000"))
    );
}

/// Writes `content` to a file and returns the problem reading it as `line: message`.
fn problem(content: &[u8]) -> String {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("junit_bad.xml");
    fs_err::write(&path, content).expect("write");
    let problem = parse_file(&path).expect_err("a problem");
    assert_eq!(problem.file, path.display().to_string());
    format!("{}: {}", problem.line.expect("a line"), problem.message)
}

#[test]
fn broken_files_are_problems_at_their_line() {
    assert_eq!(problem(b""), "1: no XML element: the file is empty or holds only a prolog");
    assert_eq!(problem(b"   \n\n"), "3: no XML element: the file is empty or holds only a prolog");
    assert_eq!(
        problem(b"<?xml version=\"1.0\"?>\n<html><body/></html>"),
        "2: the root element is <html>, not <testsuites> or <testsuite>: not a JUnit file"
    );
    assert_eq!(
        problem(b"<testsuite>\n<testcase name=\"a\">\n<failure>x</failure>\n"),
        "4: the file ends inside <testcase>: it is truncated"
    );
    assert_eq!(
        problem(b"<testsuite>\n<testcase name=\"a\">\n</testsuite>"),
        "3: not well-formed XML: ill-formed document: expected `</testcase>`, but `</testsuite>` was found"
    );
    assert_eq!(
        problem(b"<testsuite>\n<testcase name=\"a\">\n<failure>ISO-8859-1: caf\xe9</failure></testcase></testsuite>"),
        "3: invalid UTF-8 (slipway reads JUnit as UTF-8)"
    );
    assert_eq!(
        problem(b"<testsuite>\n<testcase name=\"caf\xe9\"/></testsuite>"),
        "2: invalid UTF-8 in attribute `name` (slipway reads JUnit as UTF-8)"
    );
    let mut many_attributes = b"<testsuite>\n\n<testcase".to_vec();
    for index in 0..600_000 {
        many_attributes.extend(format!(" a{index}=\"\"").as_bytes());
    }
    many_attributes.extend(b"/></testsuite>");
    assert_eq!(problem(&many_attributes), "3: a tag longer than 4 MiB");
}

#[test]
fn entities_are_never_expanded() {
    // A billion laughs: with the DOCTYPE refused, nothing is expanded.
    let laughs = b"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n]>\n<testsuite><testcase name=\"&lol2;\"/></testsuite>";
    assert_eq!(
        problem(laughs),
        "2: a DOCTYPE declaration: JUnit files have none, and slipway never reads one (no entities are expanded)"
    );
}

/// Writes a suite of `cases` passing test cases named `t0`, `t1`, ... (about 25 bytes each).
fn write_tiny_cases(path: &Path, cases: usize) {
    let mut file = BufWriter::new(fs_err::File::create(path).expect("create"));
    writeln!(file, "<testsuite name=\"tiny\">").expect("write");
    for index in 0..cases {
        writeln!(file, "<testcase name=\"t{index}\"/>").expect("write");
    }
    writeln!(file, "</testsuite>").expect("write");
    file.flush().expect("flush");
}

#[test]
fn ten_million_tiny_test_cases_stop_at_the_limit_with_bounded_memory() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("junit_tiny.xml");
    write_tiny_cases(&path, 10_000_000);
    let problem = parse_file(&path).expect_err("more than the limit");
    // The problem is where the limit was passed, not at the end of the file.
    let line = problem.line.expect("a line");
    assert_eq!(line, MAX_TEST_CASES as u64 + 2, "{problem:?}");
    assert!(problem.message.starts_with(&format!("more than {MAX_TEST_CASES} test cases")), "{}", problem.message);
    assert!(peak_memory() < 400 * MIB, "peak memory {} MiB", peak_memory() / MIB);
    // At the limit, the file is read.
    write_tiny_cases(&path, MAX_TEST_CASES);
    assert_eq!(parse_file(&path).expect("parsed").cells.len(), MAX_TEST_CASES);
}

#[test]
fn texts_beyond_the_kept_limit_stop_the_file() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("junit_texts.xml");
    let mut file = BufWriter::new(fs_err::File::create(&path).expect("create"));
    writeln!(file, "<testsuite>").expect("write");
    let text = "y".repeat(MESSAGE_LIMIT);
    let cases = MAX_KEPT_TEXT / MESSAGE_LIMIT + 10;
    for index in 0..cases {
        writeln!(file, "<testcase name=\"t{index}\"><failure>{text}</failure></testcase>").expect("write");
    }
    writeln!(file, "</testsuite>").expect("write");
    file.flush().expect("flush");
    drop(file);
    let problem = parse_file(&path).expect_err("more than the limit");
    assert!(problem.message.starts_with("more than 128 MiB of test names and failure texts"), "{}", problem.message);
    assert!(problem.line.expect("a line") < cases as u64, "stopped before the end");
}

#[test]
fn a_one_gb_file_is_read_through_in_bounded_memory() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("junit_gb.xml");
    let mut file = BufWriter::new(fs_err::File::create(&path).expect("create"));
    writeln!(file, "<testsuite name=\"big\">").expect("write");
    // 16,384 passing tests, each with 64 KB of output: over 1 GB, nearly all of it text that a
    // passing test does not keep.
    let output = "I0101 12:00:00.000000 1 main.go:1] a line of output that nobody reads\n".repeat(64 * 1024 / 72);
    let cases = 16_384;
    for index in 0..cases {
        writeln!(file, "<testcase name=\"t{index}\"><system-out>{output}</system-out></testcase>").expect("write");
    }
    writeln!(file, "<testcase name=\"last\"><failure>the end</failure></testcase></testsuite>").expect("write");
    file.flush().expect("flush");
    drop(file);
    let size = fs_err::metadata(&path).expect("metadata").len();
    assert!(size >= 1_000_000_000, "{size}");
    let parsed = parse_file(&path).expect("parsed");
    assert_eq!(parsed.cells.len(), cases + 1);
    assert_eq!(parsed.cells[cases].message.as_deref(), Some("the end"));
    assert!(peak_memory() < 100 * MIB, "peak memory {} MiB", peak_memory() / MIB);
}
