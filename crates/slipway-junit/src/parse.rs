//! JUnit XML, streamed: one pass over the events, one cell per `<testcase>`.
//!
//! The rules (naming, statuses, texts) are in the crate documentation. Elements this does not
//! know are skipped with everything inside them, so the dialects' extras (properties,
//! timestamps, hostnames, `<stackTrace>` outside reruns) cost nothing.

use std::borrow::Cow;
use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use slipway_core::results::{Status, TestResult};

use crate::clamp::{Clamp, Clamped, Oversized};
use crate::text::{self, BoundedText};

/// What one JUnit file holds: one cell per test case, before duplicate names are merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The cells in document order.
    pub cells: Vec<TestResult>,
    /// Test cases left out as TestGrid leaves them out: skipped with no text and no message or
    /// the message `skipped` (Ginkgo's specs that were not selected).
    pub dropped: usize,
}

/// Why a file is not JUnit XML that can be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Where the problem is: a byte offset in the input.
    pub offset: u64,
    /// What is wrong, as a lowercase fragment.
    pub message: String,
    /// The document is XML of another kind (its root is not `<testsuites>` or `<testsuite>`):
    /// a file found in a directory is then skipped with a note, not refused.
    pub not_junit: bool,
}

/// Reads a JUnit XML document from `input`, streaming; memory stays bounded whatever its size.
pub fn parse(input: impl Read) -> Result<Parsed, ParseError> {
    parse_from(Clamp::new(input))
}

/// [`parse`] of a clamped input (see [`crate::pipe`] for the clamp on a thread of its own).
pub(crate) fn parse_from(input: impl Clamped) -> Result<Parsed, ParseError> {
    let mut reader = Reader::from_reader(input);
    let mut state = Document::default();
    let mut buffer = Vec::new();
    let mut parsed = None;
    loop {
        buffer.clear();
        let start = reader.buffer_position();
        let event = match reader.read_event_into(&mut buffer) {
            Ok(event) => event,
            Err(error) => return Err(xml_error(&reader, &error)),
        };
        let position = reader.buffer_position();
        let clamp = reader.get_mut();
        let dropped = clamp.take_dropped(position);
        let at = clamp.original_offset(start);
        let fail = |message: String| ParseError { offset: at, message, not_junit: false };
        if parsed.is_some() {
            // After the root element: only comments, processing instructions and white space.
            match event {
                Event::Eof => return parsed.ok_or_else(|| fail("no XML element".to_owned())),
                Event::Start(element) | Event::Empty(element) => {
                    return Err(fail(format!(
                        "a second root element <{}>: an XML document has one",
                        String::from_utf8_lossy(element.local_name().as_ref())
                    )));
                }
                Event::Text(text) if text.iter().all(u8::is_ascii_whitespace) => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => return Err(fail("content after the root element: an XML document has one root".to_owned())),
            }
            continue;
        }
        let root = state.stack.is_empty();
        let open_error =
            |message: String| ParseError { offset: at, not_junit: root && message.contains(NOT_JUNIT), message };
        match event {
            Event::Start(element) => state.open(&element, dropped).map_err(open_error)?,
            Event::Empty(element) => {
                state.open(&element, dropped).map_err(open_error)?;
                state.close().map_err(fail)?;
            }
            Event::End(_) => state.close().map_err(fail)?,
            Event::Text(text) => {
                state.text(&text, dropped).map_err(|(valid, message)| ParseError {
                    offset: at + valid,
                    message,
                    not_junit: false,
                })?;
            }
            Event::CData(data) => {
                state.text(&data, dropped).map_err(|(valid, message)| ParseError {
                    offset: at + valid + 9,
                    message,
                    not_junit: false,
                })?;
            }
            Event::GeneralRef(reference) => {
                // A text run with references is several events; what was dropped of it counts.
                state.add_cut(dropped);
                let name = std::str::from_utf8(&reference).map_err(|_| fail("invalid UTF-8".to_owned()))?;
                match text::reference(name) {
                    Some(character) => state.push_char(character),
                    None if name.starts_with('#') => {
                        return Err(fail(format!("`&{name};` is not a valid character reference")));
                    }
                    None => return Err(fail(undeclared(name))),
                }
            }
            Event::DocType(_) => {
                return Err(fail(
                    "a DOCTYPE declaration: JUnit files have none, and slipway never reads one (no entities are expanded)"
                        .to_owned(),
                ));
            }
            Event::Eof => return state.finish().map_err(fail),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
        if state.done {
            parsed = Some(std::mem::take(&mut state.parsed));
        }
    }
}

/// The error for `&name;` of an entity XML does not define (a JUnit file has no DTD to declare
/// one, and slipway reads none).
fn undeclared(name: &str) -> String {
    format!("`&{name};` is not an entity XML defines (a JUnit file declares none): not well-formed XML")
}

/// The raw values of the attributes slipway reads (the first of each local name).
#[derive(Debug, Default)]
struct Attributes<'a> {
    name: Option<Cow<'a, [u8]>>,
    time: Option<Cow<'a, [u8]>>,
    message: Option<Cow<'a, [u8]>>,
}

/// An attribute's value, unescaped; `None` when absent. Only the values slipway uses are
/// checked to be UTF-8.
fn value(raw: Option<Cow<'_, [u8]>>, key: &str) -> Result<Option<String>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let value = std::str::from_utf8(&raw)
        .map_err(|_| format!("invalid UTF-8 in attribute `{key}` (slipway reads JUnit as UTF-8)"))?;
    Ok(Some(text::unescape(value)))
}

/// Reads an element's attributes in one pass, checking they are well-formed: each name once, no
/// `<` in a value, and every `&` a reference XML defines.
fn attributes<'a>(element: &'a BytesStart<'_>) -> Result<Attributes<'a>, String> {
    let mut read = Attributes::default();
    for attribute in element.attributes().with_checks(true) {
        let attribute = attribute.map_err(|error| format!("not well-formed XML: {error}"))?;
        let value: &[u8] = &attribute.value;
        let key = || String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        if memchr::memchr(b'<', value).is_some() {
            return Err(format!("not well-formed XML: `<` in the value of attribute `{}`", key()));
        }
        let mut rest = value;
        while let Some(start) = memchr::memchr(b'&', rest) {
            rest = &rest[start + 1..];
            let end = memchr::memchr(b';', rest).filter(|&end| end <= 32);
            let Some(end) = end else {
                return Err(format!("not well-formed XML: a `&` that starts no reference in attribute `{}`", key()));
            };
            let name = String::from_utf8_lossy(&rest[..end]);
            if text::reference(&name).is_none() {
                return Err(if name.starts_with('#') {
                    format!("`&{name};` is not a valid character reference")
                } else {
                    undeclared(&name)
                });
            }
            rest = &rest[end + 1..];
        }
        let slot = match attribute.key.local_name().as_ref() {
            b"name" => &mut read.name,
            b"time" => &mut read.time,
            b"message" => &mut read.message,
            _ => continue,
        };
        // The first of a name that appears twice under different prefixes speaks.
        if slot.is_none() {
            *slot = Some(attribute.value);
        }
    }
    Ok(read)
}

/// The error for a failure quick-xml reports, at the position it reports.
fn xml_error(reader: &Reader<impl Clamped>, error: &quick_xml::Error) -> ParseError {
    if let quick_xml::Error::Io(io) = error
        && let Some(oversized) = io.get_ref().and_then(|inner| inner.downcast_ref::<Oversized>())
    {
        return ParseError { offset: oversized.offset, message: oversized.to_string(), not_junit: false };
    }
    let offset = reader.get_ref().original_offset(reader.error_position());
    let message = match error {
        quick_xml::Error::Io(io) => format!("could not read: {io}"),
        other => format!("not well-formed XML: {other}"),
    };
    ParseError { offset, message, not_junit: false }
}

/// The end of the message for a root element of another kind.
const NOT_JUNIT: &str = "not <testsuites> or <testsuite>: not a JUnit file";

/// What an element is to the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Frame {
    Testsuites,
    /// A `<testsuite>`; its name joined to its ancestors' (TestGrid's `dotName`) is the
    /// document's `path`, which was `parent_len` bytes long before it.
    Testsuite {
        parent_len: usize,
    },
    Testcase,
    /// A result element of the current test case (or, at suite level, of the suite).
    Outcome,
    /// `<stackTrace>` inside a rerun or flaky element.
    StackTrace,
    /// `<system-out>` (false) or `<system-err>` (true) directly inside a test case.
    Output(bool),
    /// Anything else, skipped with its content.
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Failure,
    Error,
    Skipped,
    /// `flakyFailure`, `flakyError`: a failed run before the run that passed.
    Flaky,
    /// `rerunFailure`, `rerunError`: a failed rerun after a failure.
    Rerun,
}

#[derive(Debug, Clone)]
struct Outcome {
    kind: Kind,
    message: BoundedText,
    body: BoundedText,
    stack_trace: BoundedText,
}

impl Outcome {
    fn text(&self) -> Option<String> {
        let body = if self.body.is_blank() { &self.stack_trace } else { &self.body };
        text::compose(&[&self.message, body])
    }
}

#[derive(Debug, Clone, Default)]
struct Case {
    name: String,
    duration_ms: Option<u64>,
    failure: Option<Outcome>,
    error: Option<Outcome>,
    skipped: Option<Outcome>,
    first_flaky: Option<Outcome>,
    failed_reruns: u32,
}

/// How many test cases one file, and one build, may hold. The biggest real files (a
/// repository's every unit test, run a few times) hold a few hundred thousand; each case kept
/// costs about 150 bytes besides its texts.
pub const MAX_TEST_CASES: usize = 1_000_000;

/// How many bytes of names and failure texts one file, and one build, may keep (each text is
/// cut at [`crate::MESSAGE_LIMIT`] first).
pub const MAX_KEPT_TEXT: usize = 128 * 1024 * 1024;

/// The bytes of names and texts a parsed file keeps.
pub(crate) fn kept_text(parsed: &Parsed) -> usize {
    parsed.cells.iter().map(|cell| cell.name.len() + cell.message.as_ref().map_or(0, String::len)).sum()
}

/// How deep elements may nest. Real JUnit nests suites a few levels; the limit keeps a hostile
/// file's memory linear in its size and the parser's stack small.
pub(crate) const MAX_DEPTH: usize = 1_000;

#[derive(Debug, Default)]
struct Document {
    stack: Vec<Frame>,
    /// The names of the open suites joined with `.`: one buffer for the whole stack, so memory
    /// stays linear however deep suites nest.
    path: String,
    case: Option<Case>,
    /// The current test case's `<system-out>` and `<system-err>`: kept in case it fails without
    /// a text of its own, in buffers used again for every case.
    output: BoundedText,
    errors_output: BoundedText,
    outcome: Option<Outcome>,
    /// Suite-level `<error>`/`<failure>`: the row name it reports under.
    suite_outcome: Option<String>,
    parsed: Parsed,
    /// Bytes of names and texts kept in `parsed`, and how many of its cells they count.
    kept: usize,
    counted: usize,
    done: bool,
}

impl Document {
    fn open(&mut self, element: &BytesStart<'_>, dropped: u64) -> Result<(), String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("elements nested more than {MAX_DEPTH} deep: not a JUnit file slipway reads"));
        }
        let attributes = attributes(element)?;
        let local = element.local_name();
        let name = local.as_ref();
        let frame = match (self.stack.last(), name) {
            (None, b"testsuites") => Frame::Testsuites,
            (None, b"testsuite") => {
                self.path = value(attributes.name, "name")?.map(text::name).unwrap_or_default();
                Frame::Testsuite { parent_len: 0 }
            }
            (None, _) => {
                return Err(format!("the root element is <{}>, {NOT_JUNIT}", String::from_utf8_lossy(name)));
            }
            (Some(Frame::Testsuites | Frame::Testsuite { .. }), b"testsuite") => {
                let own = value(attributes.name, "name")?.map(text::name).unwrap_or_default();
                let parent_len = self.path.len();
                if !own.is_empty() {
                    if !self.path.is_empty() {
                        self.path.push('.');
                    }
                    self.path.push_str(&own);
                }
                Frame::Testsuite { parent_len }
            }
            (Some(Frame::Testsuites | Frame::Testsuite { .. }), b"testcase") => {
                let own = value(attributes.name, "name")?.unwrap_or_default();
                let name = text::name(dot_name(self.suite_path(), &own));
                let duration_ms = value(attributes.time, "time")?.as_deref().and_then(milliseconds);
                self.case = Some(Case { name, duration_ms, ..Case::default() });
                self.output.clear();
                self.errors_output.clear();
                Frame::Testcase
            }
            (Some(Frame::Testsuite { .. }), b"error" | b"failure") if self.outcome.is_none() => {
                let row = if self.path.is_empty() { "testsuite".to_owned() } else { self.path.clone() };
                self.suite_outcome = Some(row);
                self.outcome = Some(outcome(value(attributes.message, "message")?, Kind::Error, dropped));
                Frame::Outcome
            }
            (Some(Frame::Testcase), _) if self.outcome.is_none() => match kind(name) {
                Some(kind) => {
                    self.outcome = Some(outcome(value(attributes.message, "message")?, kind, dropped));
                    Frame::Outcome
                }
                None if name == b"system-out" => Frame::Output(false),
                None if name == b"system-err" => Frame::Output(true),
                None => Frame::Ignored,
            },
            (Some(Frame::Outcome), b"stackTrace") => Frame::StackTrace,
            _ => Frame::Ignored,
        };
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) -> Result<(), String> {
        match self.stack.pop() {
            Some(Frame::Outcome) => self.close_outcome(),
            Some(Frame::Testsuite { parent_len }) => self.path.truncate(parent_len),
            Some(Frame::Testcase) => {
                if let Some(case) = self.case.take() {
                    match cell(case, &self.output, &self.errors_output) {
                        Some(cell) => self.parsed.cells.push(cell),
                        None => self.parsed.dropped += 1,
                    }
                }
            }
            Some(_) | None => {}
        }
        if let Some(cell) = self.parsed.cells.last()
            && self.parsed.cells.len() > self.counted
        {
            self.counted = self.parsed.cells.len();
            self.kept += cell.name.len() + cell.message.as_ref().map_or(0, String::len);
            if self.parsed.cells.len() > MAX_TEST_CASES {
                return Err(format!(
                    "more than {MAX_TEST_CASES} test cases: slipway reads at most that many from one file \
                     (it stopped there, so memory stays bounded); split the file"
                ));
            }
            if self.kept > MAX_KEPT_TEXT {
                return Err(format!(
                    "more than {} MiB of test names and failure texts: slipway keeps at most that much from \
                     one file (it stopped there, so memory stays bounded); split the file",
                    MAX_KEPT_TEXT / (1024 * 1024)
                ));
            }
        }
        if self.stack.is_empty() {
            self.done = true;
        }
        Ok(())
    }

    fn close_outcome(&mut self) {
        let Some(outcome) = self.outcome.take() else { return };
        if let Some(row) = self.suite_outcome.take() {
            self.parsed.cells.push(TestResult {
                name: text::name(row),
                status: Status::Fail,
                duration_ms: None,
                runs: 1,
                passes: 0,
                message: outcome.text(),
            });
            return;
        }
        let Some(case) = self.case.as_mut() else { return };
        let slot = match outcome.kind {
            Kind::Failure => &mut case.failure,
            Kind::Error => &mut case.error,
            Kind::Skipped => &mut case.skipped,
            Kind::Flaky => {
                case.failed_reruns += 1;
                &mut case.first_flaky
            }
            Kind::Rerun => {
                case.failed_reruns += 1;
                return;
            }
        };
        // The first of each kind speaks for the test.
        if slot.is_none() {
            *slot = Some(outcome);
        }
    }

    fn suite_path(&self) -> &str {
        match self.stack.last() {
            Some(Frame::Testsuite { .. }) => &self.path,
            _ => "",
        }
    }

    /// Where text goes now, if anywhere.
    fn target(&mut self) -> Option<&mut BoundedText> {
        match self.stack.last()? {
            Frame::Outcome => self.outcome.as_mut().map(|outcome| &mut outcome.body),
            Frame::StackTrace => self.outcome.as_mut().map(|outcome| &mut outcome.stack_trace),
            Frame::Output(false) => Some(&mut self.output),
            Frame::Output(true) => Some(&mut self.errors_output),
            _ => None,
        }
    }

    /// Character data (escaped text or CDATA); on invalid UTF-8, the offset of the bad byte.
    fn text(&mut self, raw: &[u8], dropped: u64) -> Result<(), (u64, String)> {
        let Some(target) = self.target() else { return Ok(()) };
        let text = std::str::from_utf8(raw)
            .map_err(|error| (error.valid_up_to() as u64, "invalid UTF-8 (slipway reads JUnit as UTF-8)".to_owned()))?;
        target.push_str(text);
        target.add_cut(dropped);
        Ok(())
    }

    fn add_cut(&mut self, dropped: u64) {
        if let Some(target) = self.target() {
            target.add_cut(dropped);
        }
    }

    fn push_char(&mut self, character: char) {
        if let Some(target) = self.target() {
            target.push_char(character);
        }
    }

    fn finish(&mut self) -> Result<Parsed, String> {
        match self.stack.first() {
            None if !self.done => Err("no XML element: the file is empty or holds only a prolog".to_owned()),
            None => Ok(std::mem::take(&mut self.parsed)),
            Some(_) => {
                let open = match self.stack.last() {
                    Some(Frame::Testsuites) => "<testsuites>",
                    Some(Frame::Testsuite { .. }) => "<testsuite>",
                    Some(Frame::Testcase) => "<testcase>",
                    _ => "an element",
                };
                Err(format!("the file ends inside {open}: it is truncated"))
            }
        }
    }
}

fn kind(name: &[u8]) -> Option<Kind> {
    Some(match name {
        b"failure" => Kind::Failure,
        b"error" => Kind::Error,
        b"skipped" => Kind::Skipped,
        b"flakyFailure" | b"flakyError" => Kind::Flaky,
        b"rerunFailure" | b"rerunError" => Kind::Rerun,
        _ => return None,
    })
}

fn outcome(attribute: Option<String>, kind: Kind, dropped: u64) -> Outcome {
    let mut message = BoundedText::default();
    if let Some(text) = attribute {
        message.push_str(&text);
        message.add_cut(dropped);
    }
    Outcome { kind, message, body: BoundedText::default(), stack_trace: BoundedText::default() }
}

/// One test case's cell, or `None` when TestGrid leaves it out.
fn cell(case: Case, output: &BoundedText, errors_output: &BoundedText) -> Option<TestResult> {
    let failed = case.failure.is_some() || case.error.is_some();
    if !failed
        && case.failed_reruns == 0
        && let Some(skipped) = &case.skipped
        && skipped.body.is_blank()
        && matches!(skipped.message.trimmed(), "" | "skipped")
    {
        return None;
    }
    let fallback = |primary: Option<String>| {
        primary.or_else(|| text::compose(&[errors_output])).or_else(|| text::compose(&[output]))
    };
    let (status, passes, message) = if failed {
        let primary = case.error.as_ref().or(case.failure.as_ref()).and_then(Outcome::text);
        (Status::Fail, 0, fallback(primary))
    } else if case.failed_reruns > 0 {
        (Status::Flaky, 1, case.first_flaky.as_ref().and_then(Outcome::text))
    } else if let Some(skipped) = &case.skipped {
        (Status::Skip, 1, fallback(skipped.text()))
    } else {
        (Status::Pass, 1, None)
    };
    Some(TestResult {
        name: case.name,
        status,
        duration_ms: case.duration_ms,
        runs: 1 + case.failed_reruns,
        passes,
        message,
    })
}

/// `left.right`, or whichever is not empty (TestGrid's `dotName`).
fn dot_name(left: &str, right: &str) -> String {
    match (left.is_empty(), right.is_empty()) {
        (false, false) => format!("{left}.{right}"),
        (_, true) => left.to_owned(),
        (true, false) => right.to_owned(),
    }
}

/// Seconds (`12.5`, `2.065e-05`, `1,234.5`) as whole milliseconds; `None` when not a duration.
fn milliseconds(seconds: &str) -> Option<u64> {
    let seconds = seconds.trim();
    let seconds: f64 = if seconds.contains(',') { seconds.replace(',', "").parse() } else { seconds.parse() }.ok()?;
    if !seconds.is_finite() || !(0.0..=1e12).contains(&seconds) {
        return None;
    }
    Some((seconds * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(xml: &str) -> Vec<TestResult> {
        parse(xml.as_bytes()).expect("valid").cells
    }

    fn error(xml: &[u8]) -> ParseError {
        parse(xml).expect_err("invalid")
    }

    #[test]
    fn names_are_suite_dot_case_with_nested_suites_flattened() {
        let names: Vec<String> = cells(
            "<testsuites name='ignored'><testsuite name='a'><testsuite name='b'><testcase name='x'/></testsuite>\
             <testsuite><testcase name='y'/></testsuite><testcase name='z' classname='not.used'/></testsuite>\
             <testsuite><testcase name='bare'/></testsuite><testcase name='top'/></testsuites>",
        )
        .into_iter()
        .map(|cell| cell.name)
        .collect();
        assert_eq!(names, ["a.b.x", "a.y", "a.z", "bare", "top"]);
    }

    #[test]
    fn statuses_follow_the_result_elements() {
        let cells = cells(
            "<testsuite name='s'>\
               <testcase name='pass' time='1.5'/>\
               <testcase name='fail' time='2.065e-05'><failure message='m'>body</failure></testcase>\
               <testcase name='error'><error>boom</error><failure>later</failure></testcase>\
               <testcase name='skip'><skipped message='skipped - not on this node'/></testcase>\
               <testcase name='pending'><skipped message='pending'></skipped></testcase>\
               <testcase name='not-selected'><skipped message='skipped'/></testcase>\
               <testcase name='v1-skip'><skipped></skipped></testcase>\
               <testcase name='flaky'><flakyFailure message='first'><stackTrace>trace</stackTrace></flakyFailure><flakyError/></testcase>\
               <testcase name='rerun'><failure>f</failure><rerunFailure/><rerunError/></testcase>\
             </testsuite>",
        );
        type Row = (String, Status, u32, u32, Option<u64>, Option<String>);
        let summary: Vec<Row> = cells
            .into_iter()
            .map(|cell| (cell.name, cell.status, cell.runs, cell.passes, cell.duration_ms, cell.message))
            .collect();
        let expected = |name: &str, status, runs, passes, duration: Option<u64>, message: Option<&str>| {
            (format!("s.{name}"), status, runs, passes, duration, message.map(str::to_owned))
        };
        assert_eq!(
            summary,
            [
                expected("pass", Status::Pass, 1, 1, Some(1500), None),
                expected("fail", Status::Fail, 1, 0, Some(0), Some("m\nbody")),
                expected("error", Status::Fail, 1, 0, None, Some("boom")),
                expected("skip", Status::Skip, 1, 1, None, Some("skipped - not on this node")),
                expected("pending", Status::Skip, 1, 1, None, Some("pending")),
                expected("flaky", Status::Flaky, 3, 1, None, Some("first\ntrace")),
                expected("rerun", Status::Fail, 3, 0, None, Some("f")),
            ]
        );
        assert_eq!(
            parse("<testsuite><testcase name='x'><skipped/></testcase></testsuite>".as_bytes()).map(|p| p.dropped),
            Ok(1)
        );
    }

    #[test]
    fn failures_without_text_fall_back_to_the_output() {
        let cells = cells(
            "<testsuite><testcase name='t'><failure/><system-out>out</system-out><system-err>err</system-err></testcase></testsuite>",
        );
        assert_eq!(cells[0].message.as_deref(), Some("err"));
    }

    #[test]
    fn references_resolve() {
        let cells = cells(
            "<testsuite><testcase name='a&amp;b'><failure message='x &lt; y'>line&#xA;two &gt; <![CDATA[<raw> &oob;]]></failure></testcase></testsuite>",
        );
        assert_eq!(cells[0].name, "a&b");
        assert_eq!(cells[0].message.as_deref(), Some("x < y\nline\ntwo > <raw> &oob;"));
    }

    #[test]
    fn documents_that_are_not_well_formed_are_refused() {
        let cases: [(&str, &str); 8] = [
            (
                "<testsuite><testcase name='t'><failure>&nope;</failure></testcase></testsuite>",
                "`&nope;` is not an entity XML defines",
            ),
            ("<testsuite><testcase name='t&nope;'/></testsuite>", "`&nope;` is not an entity XML defines"),
            ("<testsuite><testcase name='a & b'/></testsuite>", "a `&` that starts no reference"),
            ("<testsuite><testcase name='t' name='u'/></testsuite>", "not well-formed XML"),
            ("<testsuite><properties><property name='a' name='b'/></properties></testsuite>", "not well-formed XML"),
            ("<testsuite><testcase name='a<b'/></testsuite>", "`<` in the value of attribute `name`"),
            ("<testsuite/><testsuite/>", "a second root element <testsuite>"),
            ("<testsuite/>\ntrailing words", "content after the root element"),
        ];
        for (input, message) in cases {
            let error = error(input.as_bytes());
            assert!(error.message.contains(message), "{input}: {}", error.message);
        }
        assert!(
            parse("<testsuite/>\n<!-- written by a tool -->\n<?pi x?>\n".as_bytes()).is_ok(),
            "comments may follow"
        );
        let mismatched = error(b"<testsuite><testcase name='t'></testsuite>");
        assert!(mismatched.message.contains("not well-formed XML"), "{}", mismatched.message);
    }

    #[test]
    fn nesting_is_bounded_and_names_stay_linear() {
        let deep = |levels: usize| {
            let mut xml = String::new();
            for level in 0..levels {
                xml.push_str(&format!("<testsuite name='s{level}'>"));
            }
            xml.push_str("<testcase name='t'/>");
            for _ in 0..levels {
                xml.push_str("</testsuite>");
            }
            xml
        };
        let cells = cells(&deep(3));
        assert_eq!(cells[0].name, "s0.s1.s2.t");
        let sibling = cells_of(
            "<testsuites><testsuite name='a'><testsuite name='b'/><testcase name='t'/></testsuite><testsuite name='c'><testcase name='u'/></testsuite></testsuites>",
        );
        assert_eq!(sibling, ["a.t", "c.u"], "a closed suite leaves the path");
        assert_eq!(cells_of(&deep(MAX_DEPTH - 1)).len(), 1);
        let error = error(deep(40_000).as_bytes());
        assert!(error.message.contains(&format!("nested more than {MAX_DEPTH} deep")), "{}", error.message);
    }

    fn cells_of(xml: &str) -> Vec<String> {
        cells(xml).into_iter().map(|cell| cell.name).collect()
    }

    #[test]
    fn suite_level_errors_become_a_row_named_after_the_suite() {
        let cells = cells(
            "<testsuites><testsuite name='a'><testsuite name='b'><error message='setup'/></testsuite></testsuite></testsuites>",
        );
        assert_eq!(
            (cells[0].name.as_str(), cells[0].status, cells[0].message.as_deref()),
            ("a.b", Status::Fail, Some("setup"))
        );
    }

    #[test]
    fn bad_documents_are_errors_at_their_position() {
        let cases: [(&[u8], u64, &str); 7] = [
            (b"", 0, "no XML element"),
            (b"<?xml version='1.0'?>\n<r/>", 22, "the root element is <r>"),
            (b"<testsuite>\n<testcase name='x'>", 31, "the file ends inside <testcase>"),
            (b"<testsuite>\n<testcase name=\"x", 12, "not well-formed XML"),
            (b"<testsuite><testcase name='x'><failure>ok \xff</failure></testcase></testsuite>", 42, "invalid UTF-8"),
            (b"<!DOCTYPE r [<!ENTITY x 'y'>]><testsuite/>", 0, "a DOCTYPE declaration"),
            (
                b"<testsuite><testcase name='x'><failure>&#0;</failure></testcase></testsuite>",
                39,
                "not a valid character reference",
            ),
        ];
        for (input, offset, message) in cases {
            let error = error(input);
            assert!(error.message.contains(message), "{:?}: {}", String::from_utf8_lossy(input), error.message);
            assert_eq!(error.offset, offset, "{:?}: {}", String::from_utf8_lossy(input), error.message);
        }
    }

    #[test]
    fn durations_accept_what_writers_write() {
        assert_eq!(milliseconds("2.065e-05"), Some(0));
        assert_eq!(milliseconds(" 1,234.5 "), Some(1_234_500));
        assert_eq!(milliseconds("-1"), None);
        assert_eq!(milliseconds("NaN"), None);
        assert_eq!(milliseconds("soon"), None);
    }
}
