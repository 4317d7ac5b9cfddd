//! Parsing a big file on two threads: the clamp reads and bounds the input on one, quick-xml
//! and the parser take its output on the other. The clamp is about a third of a parse, so a big
//! file parses that much sooner; small files are parsed on one thread (many at once).

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::clamp::{Clamp, Clamped, Drops};
use crate::parse::{ParseError, Parsed, parse_from};

/// Inputs at least this big are parsed on two threads.
pub(crate) const PIPE_FROM: u64 = 4 * 1024 * 1024;

/// Chunks of output in flight between the threads: memory stays bounded however big the file.
const IN_FLIGHT: usize = 8;

/// [`crate::parse`], with the clamp on a thread of its own.
pub(crate) fn parse_piped<R: Read + Send>(input: R) -> Result<Parsed, ParseError> {
    std::thread::scope(|scope| {
        let (sender, receiver) = sync_channel(IN_FLIGHT);
        scope.spawn(move || pump(Clamp::new(input), &sender));
        // The receiver goes with the parse: a parse that stops early stops the pump.
        parse_from(Piped { receiver, chunk: Vec::new(), position: 0, drops: Drops::default(), ended: false })
    })
}

/// One message from the clamp's thread.
enum Piece {
    /// Output, and the drops recorded since the last piece (before and within these bytes).
    /// Empty bytes: the end of the input.
    Bytes(Vec<u8>, Vec<(u64, u64)>),
    Failed(io::Error),
}

/// Sends the clamp's output until its end, an error, or a receiver that is gone.
fn pump<R: Read>(mut clamp: Clamp<R>, sender: &SyncSender<Piece>) {
    let mut sent_drops = 0;
    loop {
        let piece = match clamp.fill_buf() {
            Ok(bytes) => {
                let bytes = bytes.to_vec();
                clamp.consume(bytes.len());
                let drops = clamp.drops.list[sent_drops..].to_vec();
                sent_drops = clamp.drops.list.len();
                Piece::Bytes(bytes, drops)
            }
            Err(error) => Piece::Failed(error),
        };
        let last = !matches!(&piece, Piece::Bytes(bytes, _) if !bytes.is_empty());
        if sender.send(piece).is_err() || last {
            return;
        }
    }
}

/// The clamp's output, received from its thread.
struct Piped {
    receiver: Receiver<Piece>,
    chunk: Vec<u8>,
    position: usize,
    drops: Drops,
    ended: bool,
}

impl Clamped for Piped {
    fn take_dropped(&mut self, position: u64) -> u64 {
        self.drops.take(position)
    }

    fn original_offset(&self, position: u64) -> u64 {
        position + self.drops.before(position)
    }
}

impl Read for Piped {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl BufRead for Piped {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.position >= self.chunk.len() && !self.ended {
            match self.receiver.recv() {
                Ok(Piece::Bytes(bytes, drops)) => {
                    self.drops.list.extend(drops);
                    self.ended = bytes.is_empty();
                    self.chunk = bytes;
                    self.position = 0;
                }
                Ok(Piece::Failed(error)) => {
                    self.ended = true;
                    return Err(error);
                }
                // The pump never leaves without saying why; if it did (a panic, which the scope
                // passes on), the input ends here.
                Err(_) => self.ended = true,
            }
        }
        Ok(&self.chunk[self.position.min(self.chunk.len())..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.chunk.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways give the same cells, the same truncation notes and the same errors at the same
    /// places.
    #[test]
    fn two_threads_parse_as_one_does() {
        let keep = usize::try_from(crate::clamp::CONTENT_KEEP).expect("small");
        let long = "x".repeat(keep + 1000);
        let mut good = String::from("\u{feff}<testsuites><testsuite name='s'>");
        for case in 0..2000 {
            good.push_str(&format!("<testcase name='t{case}' time='1.5'>"));
            match case % 4 {
                0 => good.push_str(&format!("<failure message='m{case}'>{long}</failure>")),
                1 => good.push_str(&format!("<system-out><![CDATA[{long}]]></system-out><error/>")),
                2 => good.push_str(&format!("<skipped message='{long}'/>")),
                _ => {}
            }
            good.push_str("</testcase>\n");
        }
        good.push_str("</testsuite></testsuites>");
        let one = crate::parse(good.as_bytes()).expect("parses");
        assert_eq!(parse_piped(good.as_bytes()), Ok(one.clone()));
        // The clamp dropped 1,000 bytes, the message bound the rest beyond MESSAGE_LIMIT (with
        // `m0` and a newline in front of the body).
        let cut = keep + 1000 + 3 - crate::MESSAGE_LIMIT;
        let note = format!("[truncated: {cut} more bytes]");
        assert!(one.cells[0].message.as_deref().is_some_and(|text| text.ends_with(&note)), "{note}");

        let broken = format!("{}<testcase name='x'><failure>&nope;</failure>", &good[..good.len() - 25]);
        let error = parse_piped(broken.as_bytes()).expect_err("refused");
        assert_eq!(Err(error), crate::parse(broken.as_bytes()));
        let truncated = &good[..good.len() / 2];
        assert_eq!(parse_piped(truncated.as_bytes()), crate::parse(truncated.as_bytes()));
    }
}
