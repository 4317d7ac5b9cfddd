//! JUnit XML and Prow artifact directories, read into test results.
//!
//! [`ingest`] reads JUnit files, Prow build directories (local or in object storage) and trees
//! of them into the store, one [`Store::replace_build`](slipway_store::Store::replace_build) per
//! build. [`parse`] reads one JUnit document, streaming, into one cell per test case, and
//! [`merge`] combines a build's cells into one result per test name.
//!
//! # Dialects
//!
//! One reader covers Ginkgo v1 and v2, go-junit-report, gotestsum, pytest, Maven Surefire,
//! cargo-nextest, Jest, Catch2, Ant and PHPUnit: the root is `<testsuites>` or a bare
//! `<testsuite>`, suites may nest, and anything this reader does not use (properties,
//! timestamps, hostnames, `status=` and `type=` attributes, text directly in a test case) is
//! skipped with its content.
//!
//! # Test names (TestGrid's)
//!
//! A row is named `<suite>.<case>`, as TestGrid's updater names it (`flattenResults`,
//! `dotName`):
//!
//! - the `<testsuites>` root's own `name` is not used;
//! - a `<testsuite>` inside another is named `<outer>.<inner>`, to any depth, so a case three
//!   suites deep is `a.b.c.case`;
//! - a name that is empty or missing is left out with its dot: a case in an unnamed suite is
//!   just `<case>`, and an unnamed suite inside `a` is `a`;
//! - `classname` is not used (pytest's `pytest.test_x` therefore names two `test_x` of two
//!   classes alike; they then merge, as in TestGrid);
//! - names longer than [`NAME_LIMIT`] bytes are cut and end in a hash of the whole name.
//!
//! Two additions, both rows TestGrid would not show: a `<testcase>` directly under
//! `<testsuites>` is named by its own name, and an `<error>` or `<failure>` directly inside a
//! `<testsuite>` (a suite that failed to set up) is a failed row named after the suite (or
//! `testsuite` when it has no name).
//!
//! # Statuses
//!
//! - `<failure>` or `<error>`: `fail`.
//! - `<flakyFailure>` / `<flakyError>` without a failure (Surefire and nextest: failed, then
//!   passed on a rerun): `flaky`; each is one more run that failed.
//! - `<rerunFailure>` / `<rerunError>` after a failure: still `fail`; each is one more run.
//! - `<skipped>`: `skip` — except a skip with no text whose message is empty or `skipped`,
//!   which is what Ginkgo v2 writes for specs that were not selected (and Ginkgo v1, Jest and
//!   pytest's `xfail` for any skip). TestGrid drops those cases, and so does slipway: they are
//!   not stored (they are counted in [`Parsed::dropped`]). Unlike TestGrid, a case that also
//!   failed is kept as failed.
//! - otherwise: `pass`.
//!
//! A test case runs once plus once per flaky or rerun element; a pass, skip or flaky case has
//! one passing run.
//!
//! # Texts
//!
//! The message of a failed case is its first `<error>` (else `<failure>`): the `message`
//! attribute and the element's text, joined by a newline, each trimmed (for flaky and rerun
//! elements, the `<stackTrace>` when there is no text). Without either, it falls back to
//! `<system-err>`, then `<system-out>`, as TestGrid's does. A skip's message is its `<skipped>`
//! text the same way; a flaky case's is its first flaky element's; a passing case has none.
//! Texts are kept up to [`MESSAGE_LIMIT`] (16 KiB) and then end in
//! `[truncated: N more bytes]`. Character references and the five XML entities are resolved;
//! any other `&name;` makes the file a problem (XML that is not well-formed).
//!
//! # Duplicate names in one build
//!
//! Merged as TestGrid merges them (see [`merge`]): pass and fail make `flaky`, runs and passes
//! add up, and a test that ran more than once gets the message `P/N runs passed: <failure>`.
//!
//! # Bad input
//!
//! A file that is empty, not well-formed, truncated, not UTF-8, has a DOCTYPE (entities are
//! never expanded, nothing is fetched), or whose root is not `<testsuites>` or `<testsuite>`
//! is a [`Problem`] naming the file and line; none of its tests are kept, and every other input
//! is still ingested. Reading streams: memory stays bounded whatever the file's size, because
//! each text, CDATA section, comment and attribute value is read up to 256 KiB and the rest
//! skipped (counted in the truncation note), and a tag over 4 MiB is a problem. A file of 4 MB
//! or more is read on a thread of its own while it is parsed, at most 8 chunks of 64 KiB ahead
//! (`pipe.rs`). Whatever follows the root element's end is not read. What results may hold
//! is bounded too: at most [`MAX_TEST_CASES`] test cases (1,000,000) and [`MAX_KEPT_TEXT`]
//! (128 MiB) of names and texts per file, found as soon as the limit is passed, so reading a
//! file never holds more (about 300 MB); and the same per build, over its files (a file that
//! would pass it is a problem and left out). [`crate::ingest`] reads 8 files at a time, so its
//! memory stays under about 3 GB in the worst case, whatever the inputs' sizes; real inputs need
//! a small part.
//!
//! # Inputs
//!
//! - A Prow build directory is one holding `started.json` or `finished.json`. Its job is the
//!   name of the directory above it and its build id its own name; `started.json` gives the
//!   start time, `finished.json` the end, `passed` (else `result == SUCCESS`), and the version
//!   by TestGrid's rule ([`version`]). Its JUnit files are the `*.xml` and `*.xml.gz` files under
//!   `artifacts/` (or those `--glob` names) whose root element is `<testsuites>` or
//!   `<testsuite>`: found by content, not by TestGrid's `junit*.xml` name pattern; other XML is
//!   left out with a note. A tree holding many builds (`logs/<job>/<build>/`, `pr-logs/...`, or
//!   slipway's `.slipway/artifacts`) yields all of them.
//! - A JUnit file given on its own, or the JUnit XML files of a directory holding no builds,
//!   together make one build of job `--job` (default `local`) and build `--build` (default: the
//!   first 12 hex digits of a SHA-256 over the merged results, so the same files are the same
//!   build), started at the newest file's modification time.
//! - Object storage (`s3://`, `gs://`, `az://`, `file://`) is listed and read through
//!   slipway-artifacts; each object is read whole and parsed from memory.

mod clamp;
mod error;
mod ingest;
mod merge;
mod parse;
mod pipe;
mod prow;
mod source;
mod text;

pub use error::{Error, Problem};
pub use ingest::{Counts, DEFAULT_JOB, INGEST_SCHEMA, Ingested, Options, Report, ingest, ingest_showing};
pub use merge::merge;
pub use parse::{MAX_KEPT_TEXT, MAX_TEST_CASES, ParseError, Parsed, parse};
pub use prow::version;
pub use source::parse_file;
pub use text::{MESSAGE_LIMIT, NAME_LIMIT};
