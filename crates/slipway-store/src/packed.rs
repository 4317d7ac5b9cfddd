//! A build's test results packed into blocks: how the store keeps every test of a build.
//!
//! One row per test made a 200,000-test build cost about a second of SQLite's time and 75 MB of
//! write-ahead log (the names, 150 bytes each, written into the table and again into its
//! primary-key index). Packed, the same build is a handful of rows of a few megabytes: names are
//! stored sorted and front-coded (each keeps only what differs from the one before, and test
//! names of one suite share long prefixes), numbers as variable-length integers.
//!
//! The format of one block, version 1:
//!
//! ```text
//! "SWT1"  count:varint  test*
//! test := shared:varint suffix_len:varint suffix  flags:u8  [duration_ms:varint]  runs:varint
//!         passes:varint  [message_len:varint message]
//! flags := status (bits 0-1: pass 0, skip 1, flaky 2, fail 3) | 4 if a duration | 8 if a message
//! ```
//!
//! `shared` bytes of the previous name (of the same block) followed by `suffix` make the name.
//! Varints are LEB128 (seven bits a byte, low first). Decoding checks every length and that
//! every name and message is UTF-8: a damaged block is an error, never a panic.

use slipway_core::results::{Status, TestResult};

const MAGIC: &[u8; 4] = b"SWT1";

/// Tests per block at most.
pub(crate) const BLOCK_TESTS: usize = 20_000;

/// A block is closed once its encoding passes this many bytes (a block of 20,000 tests with
/// long failure texts would otherwise be hundreds of megabytes, one value to the database).
pub(crate) const BLOCK_BYTES: usize = 8 * 1024 * 1024;

/// A block that cannot be decoded: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("damaged test results at byte {offset}: {what}")]
pub struct PackError {
    pub offset: usize,
    pub what: &'static str,
}

/// `tests` packed in order into blocks of at most [`BLOCK_TESTS`] tests (and about
/// [`BLOCK_BYTES`]); each block is `(tests in it, bytes)`.
pub(crate) fn encode(tests: &[TestResult]) -> Vec<(usize, Vec<u8>)> {
    let mut blocks = Vec::new();
    let mut rest = tests;
    while !rest.is_empty() {
        // The count comes first but is known last: the tests go to `body`, then behind it.
        let mut body = Vec::with_capacity(64 * 1024);
        let mut previous: &str = "";
        let mut count = 0;
        for test in rest {
            if count == BLOCK_TESTS || (count > 0 && body.len() >= BLOCK_BYTES) {
                break;
            }
            let shared = common_prefix(previous, &test.name);
            varint(&mut body, shared as u64);
            varint(&mut body, (test.name.len() - shared) as u64);
            body.extend_from_slice(&test.name.as_bytes()[shared..]);
            let mut flags = match test.status {
                Status::Pass => 0,
                Status::Skip => 1,
                Status::Flaky => 2,
                Status::Fail => 3,
            };
            if test.duration_ms.is_some() {
                flags |= 4;
            }
            if test.message.is_some() {
                flags |= 8;
            }
            body.push(flags);
            if let Some(duration) = test.duration_ms {
                varint(&mut body, duration);
            }
            varint(&mut body, u64::from(test.runs));
            varint(&mut body, u64::from(test.passes));
            if let Some(message) = &test.message {
                varint(&mut body, message.len() as u64);
                body.extend_from_slice(message.as_bytes());
            }
            previous = &test.name;
            count += 1;
        }
        let mut block = Vec::with_capacity(MAGIC.len() + 10 + body.len());
        block.extend_from_slice(MAGIC);
        varint(&mut block, count as u64);
        block.extend_from_slice(&body);
        blocks.push((count, block));
        rest = &rest[count..];
    }
    blocks
}

/// Appends the tests of one block to `tests`.
pub(crate) fn decode(block: &[u8], tests: &mut Vec<TestResult>) -> Result<(), PackError> {
    let mut reader = Reader { bytes: block, at: 0 };
    if reader.take(MAGIC.len(), "no header")? != MAGIC {
        return Err(PackError { offset: 0, what: "not a block of packed tests (format SWT1)" });
    }
    let count = reader.varint()?;
    let mut previous = String::new();
    for _ in 0..count {
        let start = reader.at;
        let shared = usize::try_from(reader.varint()?).unwrap_or(usize::MAX);
        let suffix_len = reader.length()?;
        let suffix = reader.take(suffix_len, "a name runs past the end")?;
        if shared > previous.len() || !previous.is_char_boundary(shared) {
            return Err(PackError { offset: start, what: "a name shares more than the name before it" });
        }
        let mut name = String::with_capacity(shared + suffix.len());
        name.push_str(&previous[..shared]);
        name.push_str(
            std::str::from_utf8(suffix).map_err(|_| PackError { offset: start, what: "a name is not UTF-8" })?,
        );
        let flags = reader.take(1, "a test ends early")?[0];
        let status = match flags & 3 {
            0 => Status::Pass,
            1 => Status::Skip,
            2 => Status::Flaky,
            _ => Status::Fail,
        };
        let duration_ms = if flags & 4 != 0 { Some(reader.varint()?) } else { None };
        let runs = u32::try_from(reader.varint()?).unwrap_or(u32::MAX);
        let passes = u32::try_from(reader.varint()?).unwrap_or(u32::MAX);
        let message = if flags & 8 != 0 {
            let length = reader.length()?;
            let at = reader.at;
            let bytes = reader.take(length, "a message runs past the end")?;
            Some(
                std::str::from_utf8(bytes)
                    .map_err(|_| PackError { offset: at, what: "a message is not UTF-8" })?
                    .to_owned(),
            )
        } else {
            None
        };
        previous.clone_from(&name);
        tests.push(TestResult { name, status, duration_ms, runs, passes, message });
    }
    if reader.at != block.len() {
        return Err(PackError { offset: reader.at, what: "bytes after the last test" });
    }
    Ok(())
}

/// The length in bytes of the longest common prefix of `a` and `b` that ends on a character
/// boundary of both.
fn common_prefix(a: &str, b: &str) -> usize {
    let mut shared = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !b.is_char_boundary(shared) {
        shared -= 1;
    }
    shared
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize, what: &'static str) -> Result<&'a [u8], PackError> {
        let end = self.at.checked_add(length).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(PackError { offset: self.at, what })?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn varint(&mut self) -> Result<u64, PackError> {
        let start = self.at;
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte =
                *self.bytes.get(self.at).ok_or(PackError { offset: start, what: "a number runs past the end" })?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(PackError { offset: start, what: "a number longer than 64 bits" })
    }

    /// A length, which cannot exceed what is left.
    fn length(&mut self) -> Result<usize, PackError> {
        let start = self.at;
        let length = usize::try_from(self.varint()?).unwrap_or(usize::MAX);
        if length > self.bytes.len() - self.at {
            return Err(PackError { offset: start, what: "a length past the end" });
        }
        Ok(length)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decode_all(blocks: &[(usize, Vec<u8>)]) -> Vec<TestResult> {
        let mut tests = Vec::new();
        for (count, block) in blocks {
            let before = tests.len();
            decode(block, &mut tests).expect("decodes");
            assert_eq!(tests.len() - before, *count);
        }
        tests
    }

    fn test(name: &str, status: Status, message: Option<&str>) -> TestResult {
        TestResult {
            name: name.to_owned(),
            status,
            duration_ms: Some(1500),
            runs: 1,
            passes: u32::from(status != Status::Fail),
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn names_are_front_coded_and_everything_comes_back() {
        let tests = [
            test("[sig-node] Pods should run", Status::Pass, None),
            test("[sig-node] Pods should stop", Status::Fail, Some("timed out\nat pods.go:12")),
            test("[sig-node] Pods should stop é", Status::Skip, Some("")),
            TestResult { duration_ms: None, runs: u32::MAX, passes: 7, ..test("z", Status::Flaky, None) },
        ];
        let blocks = encode(&tests);
        assert_eq!(blocks.len(), 1);
        assert_eq!(decode_all(&blocks), tests);
        // The second and third names keep only what follows `[sig-node] Pods should `.
        let plain: usize =
            tests.iter().map(|test| test.name.len() + test.message.as_ref().map_or(0, String::len)).sum();
        assert!(blocks[0].1.len() < plain, "{} bytes for {plain} bytes of names", blocks[0].1.len());
    }

    #[test]
    fn blocks_close_at_their_size() {
        let many: Vec<TestResult> =
            (0..BLOCK_TESTS + 5).map(|index| test(&format!("t{index:06}"), Status::Pass, None)).collect();
        let blocks = encode(&many);
        assert_eq!(blocks.iter().map(|(count, _)| *count).collect::<Vec<_>>(), [BLOCK_TESTS, 5]);
        assert_eq!(decode_all(&blocks), many);
        let long = "x".repeat(BLOCK_BYTES / 2 + 1);
        let big: Vec<TestResult> = (0..4).map(|index| test(&format!("t{index}"), Status::Fail, Some(&long))).collect();
        // A block closes once it holds more than BLOCK_BYTES: after the second text here.
        assert_eq!(encode(&big).iter().map(|(count, _)| *count).collect::<Vec<_>>(), [2, 2]);
        assert!(encode(&[]).is_empty());
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let (_, block) = encode(&[test("a test", Status::Fail, Some("why"))]).remove(0);
        let mut tests = Vec::new();
        assert_eq!(
            decode(b"XXXX\x00", &mut tests).map_err(|error| error.what),
            Err("not a block of packed tests (format SWT1)")
        );
        for end in 0..block.len() {
            assert!(decode(&block[..end], &mut tests).is_err(), "cut at {end}");
        }
        let mut extra = block.clone();
        extra.push(0);
        assert_eq!(decode(&extra, &mut tests).map_err(|error| error.what), Err("bytes after the last test"));
        // A name that claims to share more than there was.
        let mut sharing = block.clone();
        sharing[5] = 3;
        assert!(decode(&sharing, &mut tests).is_err());
    }

    fn status() -> impl Strategy<Value = Status> {
        prop_oneof![Just(Status::Pass), Just(Status::Skip), Just(Status::Flaky), Just(Status::Fail)]
    }

    proptest! {
        #[test]
        fn any_tests_come_back_as_they_went(
            tests in proptest::collection::vec(
                ("[a-cé ]{0,12}", status(), proptest::option::of(any::<u64>()), any::<u32>(), any::<u32>(),
                 proptest::option::of("(?s).{0,20}")),
                0..60,
            ),
        ) {
            let tests: Vec<TestResult> = tests
                .into_iter()
                .map(|(name, status, duration_ms, runs, passes, message)| TestResult { name, status, duration_ms, runs, passes, message })
                .collect();
            prop_assert_eq!(decode_all(&encode(&tests)), tests);
        }

        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut block = MAGIC.to_vec();
            block.extend(bytes);
            // Whatever decodes, encodes back to what decodes the same.
            let mut tests = Vec::new();
            if decode(&block, &mut tests).is_ok() {
                prop_assert_eq!(decode_all(&encode(&tests)), tests);
            }
        }
    }
}
