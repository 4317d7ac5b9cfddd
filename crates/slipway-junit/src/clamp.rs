//! A reader that keeps every XML token small, so one enormous text cannot exhaust memory.
//!
//! quick-xml streams, but it hands over each event whole: a 2 GB `<system-out>` or failure text
//! would be one 2 GB buffer. [`Clamp`] sits between the file and quick-xml and follows the XML
//! lexical structure (text, tags with quoted attribute values, CDATA, comments, processing
//! instructions, DOCTYPE) byte by byte. It passes the first [`CONTENT_KEEP`] bytes of each text
//! run, CDATA section, comment and attribute value, and drops the rest up to the token's end, so
//! what quick-xml sees stays well-formed. A tag, processing instruction or DOCTYPE whose kept part
//! exceeds [`MARKUP_LIMIT`] is an error. Drops start only at a UTF-8 character boundary and never
//! inside an entity reference.
//!
//! Dropped bytes are counted (so a truncated message can say how much was cut) and recorded by
//! position, so positions quick-xml reports map back to positions in the original file. A UTF-8
//! byte order mark is dropped the same way, since quick-xml would skip it without counting it.

use std::io::{self, BufRead, Read};

/// Bytes read from the underlying reader at a time (and handed out at most at once).
const CHUNK: usize = 64 * 1024;

/// Bytes kept of each text run, CDATA section, comment and attribute value.
pub(crate) const CONTENT_KEEP: u64 = 256 * 1024;

/// The most bytes one tag (with its kept attribute values), processing instruction or DOCTYPE
/// may have.
pub(crate) const MARKUP_LIMIT: u64 = 4 * 1024 * 1024;

/// An entity reference longer than this is not one (a stray `&`): dropping may start in it.
const REFERENCE_LIMIT: u32 = 32;

/// A token longer than [`MARKUP_LIMIT`]; carried inside the `io::Error` quick-xml returns.
#[derive(Debug, thiserror::Error)]
#[error("{what} longer than {} MiB", MARKUP_LIMIT / (1024 * 1024))]
pub(crate) struct Oversized {
    /// `a tag`, `a processing instruction`, `a DOCTYPE declaration`.
    pub(crate) what: &'static str,
    /// Where it starts in the original input.
    pub(crate) offset: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// Just after `<`.
    Open,
    /// After `<!`.
    Bang,
    /// After `<!-`.
    BangDash,
    /// After `<![CDATA` up to this many bytes of `[CDATA[`.
    BangCData(u8),
    /// In a comment; `run` counts `-` just kept (or held back while dropping).
    Comment,
    /// In CDATA; `run` counts `]` just kept (or held back while dropping).
    CData,
    /// In a processing instruction; the flag says the previous byte was `?`.
    Pi(bool),
    /// In a DOCTYPE (or other `<!...>` markup), at this `[` depth.
    Doctype(u32),
    /// In a tag; inside an attribute value quoted with this byte, or 0.
    Tag(u8),
}

/// What the parser needs of a clamped input besides its bytes: [`Clamp`] itself, or
/// [`crate::pipe::Piped`], which receives a clamp's output from another thread.
pub(crate) trait Clamped: BufRead {
    /// The bytes dropped before output position `position` (where the parser has read to)
    /// and not taken before. A drop starts only after [`CONTENT_KEEP`] bytes of a token and
    /// ends with it, so what this returns after an event belongs to that event's token (a text
    /// run with references is several events).
    fn take_dropped(&mut self, position: u64) -> u64;

    /// The position in the original input of output position `position`.
    fn original_offset(&self, position: u64) -> u64;
}

/// Where bytes were dropped: in output order, each drop's output position (the dropped bytes
/// were just before it) and the bytes dropped up to and including it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Drops {
    pub(crate) list: Vec<(u64, u64)>,
    /// Bytes already taken by [`Drops::take`].
    taken: u64,
}

impl Drops {
    /// Bytes dropped before output position `position`.
    pub(crate) fn before(&self, position: u64) -> u64 {
        let index = self.list.partition_point(|(at, _)| *at <= position);
        index.checked_sub(1).map_or(0, |last| self.list[last].1)
    }

    /// Bytes dropped before `position` not taken yet.
    pub(crate) fn take(&mut self, position: u64) -> u64 {
        let before = self.before(position);
        let new = before.saturating_sub(self.taken);
        self.taken = self.taken.max(before);
        new
    }
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Clamp<R> {
    inner: R,
    /// The chunk last read. When nothing of it was dropped it is handed out as it is;
    /// otherwise what is kept of it is copied to `out` and handed out from there.
    raw: Vec<u8>,
    out: Vec<u8>,
    /// What is handed out: `raw[position..end]`, or `out[position..end]` when `from_out`.
    position: usize,
    end: usize,
    from_out: bool,
    /// The ranges of the input dropped within the current chunk (original positions).
    chunk_drops: Vec<(u64, u64)>,
    /// Where the current drop started, in the input.
    drop_start: u64,
    /// Bytes at the end of the last chunk that are read again with the next: `raw[from..][..length]`.
    carry: (usize, usize),
    state: State,
    /// Bytes kept of the current content (text run, CDATA, comment, attribute value).
    kept: u64,
    /// Bytes kept of the current tag, processing instruction or DOCTYPE.
    markup: u64,
    markup_start: u64,
    /// Trailing `-` or `]` seen in a comment or CDATA (kept, or held back while dropping).
    closers: u64,
    /// Length of the entity reference being read (0: none).
    reference: u32,
    dropping: bool,
    /// Bytes dropped in the current drop.
    drop_length: u64,
    /// Original bytes read so far, and output bytes produced.
    read_total: u64,
    written_total: u64,
    pub(crate) drops: Drops,
    dropped_total: u64,
    error: Option<Oversized>,
    /// Whether runs of alike bytes are taken at once ([`Clamp::run`]); off only in tests, which
    /// check both ways give the same output.
    runs: bool,
}

impl<R: Read> Clamp<R> {
    pub(crate) fn new(inner: R) -> Clamp<R> {
        Clamp {
            inner,
            raw: vec![0; CHUNK],
            out: Vec::with_capacity(CHUNK),
            position: 0,
            end: 0,
            from_out: false,
            chunk_drops: Vec::new(),
            drop_start: 0,
            carry: (0, 0),
            state: State::Text,
            kept: 0,
            markup: 0,
            markup_start: 0,
            closers: 0,
            reference: 0,
            dropping: false,
            drop_length: 0,
            read_total: 0,
            written_total: 0,
            drops: Drops::default(),
            dropped_total: 0,
            error: None,
            runs: true,
        }
    }

    /// Keeps a byte: output is the input less what was dropped, so this only counts.
    fn emit(&mut self) {
        self.written_total += 1;
    }

    /// Drops the byte just read (at `read_total - 1`).
    fn drop_byte(&mut self) {
        if !self.dropping {
            self.dropping = true;
            self.drop_length = 0;
            self.drop_start = self.read_total - 1;
        }
        self.drop_length += 1;
    }

    fn end_drop(&mut self) {
        if self.dropping {
            // A drop is one stretch of the input: closers held back in a comment or CDATA are
            // the bytes just before its end, and those kept at its end are not in it.
            self.chunk_drops.push((self.drop_start, self.drop_start + self.drop_length));
            self.dropped_total += self.drop_length;
            self.drops.list.push((self.written_total, self.dropped_total));
            self.dropping = false;
            self.drop_length = 0;
        }
    }

    /// Whether dropping may start at `byte`: a character boundary outside a reference.
    fn may_start_drop(&self, byte: u8) -> bool {
        self.kept >= CONTENT_KEEP && self.reference == 0 && (byte & 0xC0) != 0x80
    }

    fn track_reference(&mut self, byte: u8) {
        if byte == b'&' {
            self.reference = 1;
        } else if self.reference > 0 {
            self.reference += 1;
            if byte == b';' || self.reference > REFERENCE_LIMIT {
                self.reference = 0;
            }
        }
    }

    /// After the `<` just read (already counted in `read_total`).
    fn open_markup(&mut self) {
        self.state = State::Open;
        self.markup = 0;
        self.markup_start = self.read_total - 1;
    }

    fn count_markup(&mut self, what: &'static str) -> Result<(), Oversized> {
        self.markup += 1;
        if self.markup > MARKUP_LIMIT {
            return Err(Oversized { what, offset: self.markup_start });
        }
        Ok(())
    }

    fn enter_content(&mut self, state: State) {
        self.state = state;
        self.kept = 0;
        self.closers = 0;
        self.reference = 0;
    }

    fn step(&mut self, byte: u8) -> Result<(), Oversized> {
        match self.state {
            State::Text => {
                if byte == b'<' {
                    self.end_drop();
                    self.emit();
                    self.open_markup();
                } else if self.dropping || self.may_start_drop(byte) {
                    self.drop_byte();
                } else {
                    self.emit();
                    self.kept += 1;
                    self.track_reference(byte);
                }
            }
            State::Open => {
                self.emit();
                self.count_markup("a tag")?;
                self.state = match byte {
                    b'!' => State::Bang,
                    b'?' => State::Pi(false),
                    b'>' => {
                        self.enter_content(State::Text);
                        State::Text
                    }
                    _ => State::Tag(0),
                };
            }
            State::Bang => {
                self.emit();
                self.count_markup("a DOCTYPE declaration")?;
                match byte {
                    b'-' => self.state = State::BangDash,
                    b'[' => self.state = State::BangCData(1),
                    _ => self.doctype_byte(0, byte),
                }
            }
            State::BangDash => {
                self.emit();
                self.count_markup("a DOCTYPE declaration")?;
                if byte == b'-' {
                    self.enter_content(State::Comment);
                } else {
                    self.doctype_byte(0, byte);
                }
            }
            State::BangCData(matched) => {
                self.emit();
                self.count_markup("a DOCTYPE declaration")?;
                const OPENING: &[u8] = b"[CDATA[";
                if byte == OPENING[usize::from(matched)] {
                    if usize::from(matched) + 1 == OPENING.len() {
                        self.enter_content(State::CData);
                    } else {
                        self.state = State::BangCData(matched + 1);
                    }
                } else {
                    self.doctype_byte(1, byte);
                }
            }
            State::Comment => self.closing_content(byte, b'-'),
            State::CData => self.closing_content(byte, b']'),
            State::Pi(after_question) => {
                self.emit();
                self.count_markup("a processing instruction")?;
                if after_question && byte == b'>' {
                    self.enter_content(State::Text);
                } else {
                    self.state = State::Pi(byte == b'?');
                }
            }
            State::Doctype(depth) => {
                self.emit();
                self.count_markup("a DOCTYPE declaration")?;
                self.doctype_byte(depth, byte);
            }
            State::Tag(0) => {
                self.emit();
                self.count_markup("a tag")?;
                match byte {
                    b'"' | b'\'' => {
                        self.state = State::Tag(byte);
                        self.kept = 0;
                        self.reference = 0;
                    }
                    b'>' => self.enter_content(State::Text),
                    _ => {}
                }
            }
            State::Tag(quote) => {
                if byte == quote {
                    self.end_drop();
                    self.emit();
                    self.count_markup("a tag")?;
                    self.state = State::Tag(0);
                } else if self.dropping || self.may_start_drop(byte) {
                    self.drop_byte();
                } else {
                    self.emit();
                    self.count_markup("a tag")?;
                    self.kept += 1;
                    self.track_reference(byte);
                }
            }
        }
        Ok(())
    }

    /// Takes a run of bytes from the start of `input` that [`Clamp::step`] would treat alike
    /// (all kept, or all dropped, with no change of state), the way `step` would, but at memory
    /// speed; returns how many (0: let `step` take the next byte). Runs stay short of the
    /// points where `step` decides something: the content bound, the markup limit, a closer.
    fn run(&mut self, input: &[u8]) -> usize {
        /// Kept content stays this far below [`CONTENT_KEEP`] in a run, and its last this many
        /// bytes decide whether a reference is open (one is at most `REFERENCE_LIMIT` long).
        const MARGIN: u64 = 2 * REFERENCE_LIMIT as u64;
        let content_room = || usize::try_from(CONTENT_KEEP.saturating_sub(self.kept + MARGIN)).unwrap_or(usize::MAX);
        let markup_room = usize::try_from(MARKUP_LIMIT - self.markup.min(MARKUP_LIMIT)).unwrap_or(usize::MAX);
        let length = match self.state {
            State::Text if self.dropping => {
                let length = memchr::memchr(b'<', input).unwrap_or(input.len());
                self.drop_length += length as u64;
                self.read_total += length as u64;
                return length;
            }
            State::Tag(quote) if quote != 0 && self.dropping => {
                let length = memchr::memchr(quote, input).unwrap_or(input.len());
                self.drop_length += length as u64;
                self.read_total += length as u64;
                return length;
            }
            State::Text => {
                let length = memchr::memchr(b'<', input).unwrap_or(input.len()).min(content_room());
                self.keep_content(&input[..length]);
                length
            }
            State::Tag(0) => {
                let length = memchr::memchr3(b'"', b'\'', b'>', input).unwrap_or(input.len()).min(markup_room);
                self.markup += length as u64;
                length
            }
            State::Tag(quote) => {
                let length = memchr::memchr(quote, input).unwrap_or(input.len()).min(content_room()).min(markup_room);
                self.keep_content(&input[..length]);
                self.markup += length as u64;
                length
            }
            State::Comment | State::CData if self.dropping => {
                let closer = if self.state == State::Comment { b'-' } else { b']' };
                let length = memchr::memchr2(closer, b'>', input).unwrap_or(input.len());
                if length > 0 {
                    self.drop_length += self.closers + length as u64;
                    self.closers = 0;
                }
                self.read_total += length as u64;
                return length;
            }
            State::Comment | State::CData => {
                let closer = if self.state == State::Comment { b'-' } else { b']' };
                let length = memchr::memchr2(closer, b'>', input).unwrap_or(input.len()).min(content_room());
                if length > 0 {
                    self.kept += length as u64;
                    self.closers = 0;
                }
                length
            }
            _ => return 0,
        };
        self.written_total += length as u64;
        self.read_total += length as u64;
        length
    }

    /// Counts `kept` content bytes and follows references through them, as `step` does byte by
    /// byte. Only the last `2 * REFERENCE_LIMIT` bytes can leave a reference open.
    fn keep_content(&mut self, kept: &[u8]) {
        self.kept += kept.len() as u64;
        let tail = 2 * REFERENCE_LIMIT as usize;
        let tail = if kept.len() > tail {
            self.reference = 0;
            &kept[kept.len() - tail..]
        } else {
            kept
        };
        for &byte in tail {
            self.track_reference(byte);
        }
    }

    /// A byte of `<!...>` markup that is neither a comment nor CDATA, at `[` depth `depth`
    /// before it. (`[`...`]` brackets the internal subset, whose declarations hold `>`.)
    fn doctype_byte(&mut self, depth: u32, byte: u8) {
        self.state = match byte {
            b'[' => State::Doctype(depth + 1),
            b']' => State::Doctype(depth.saturating_sub(1)),
            b'>' if depth == 0 => {
                self.enter_content(State::Text);
                State::Text
            }
            _ => State::Doctype(depth),
        };
    }

    /// A byte of a comment (closer `-`) or CDATA section (closer `]`), which end with two
    /// closers and `>`. While dropping, closers are held back until it is clear whether they end
    /// the token; dropping starts only after a byte that is not a closer.
    fn closing_content(&mut self, byte: u8, closer: u8) {
        if self.dropping {
            if byte == closer {
                self.closers += 1;
            } else if byte == b'>' && self.closers >= 2 {
                self.drop_length += self.closers - 2;
                self.end_drop();
                self.emit();
                self.emit();
                self.emit();
                self.enter_content(State::Text);
            } else {
                self.drop_length += self.closers + 1;
                self.closers = 0;
            }
            return;
        }
        if byte == b'>' && self.closers >= 2 {
            self.emit();
            self.enter_content(State::Text);
        } else if byte == closer {
            self.emit();
            self.kept += 1;
            self.closers += 1;
        } else if self.closers == 0 && self.may_start_drop(byte) {
            self.drop_byte();
        } else {
            self.emit();
            self.kept += 1;
            self.closers = 0;
        }
    }

    /// Reads and processes input until some output is ready or the input ends.
    fn refill(&mut self) -> io::Result<()> {
        self.position = 0;
        self.end = 0;
        while self.end == 0 {
            if let Some(error) = self.error.take() {
                return Err(io::Error::other(error));
            }
            let (from, carry) = std::mem::take(&mut self.carry);
            self.raw.copy_within(from..from + carry, 0);
            let count = match self.inner.read(&mut self.raw[carry..]) {
                Ok(count) => count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                    self.carry = (0, carry);
                    continue;
                }
                Err(error) => return Err(error),
            };
            let at_end = count == 0;
            let count = count + carry;
            if count == 0 {
                self.end_drop();
                return Ok(());
            }
            let base = self.read_total;
            self.chunk_drops.clear();
            let mut start = 0;
            if self.read_total == 0 && self.raw[..count].starts_with(b"\xEF\xBB\xBF") {
                self.drops.list.push((0, 3));
                self.dropped_total += 3;
                self.read_total = 3;
                start = 3;
            }
            let raw = std::mem::take(&mut self.raw);
            let mut index = start;
            while index < count {
                let run = if self.runs { self.run(&raw[index..count]) } else { 0 };
                if run > 0 {
                    index += run;
                    continue;
                }
                let byte = raw[index];
                index += 1;
                self.read_total += 1;
                if let Err(error) = self.step(byte) {
                    // What was produced so far is handed out first; the error comes next.
                    self.error = Some(error);
                    break;
                }
            }
            self.raw = raw;
            if self.dropping && matches!(self.state, State::Comment | State::CData) && self.closers > 0 && !at_end {
                // The last two closers held back may yet end the token (and be kept): they are
                // read again with the next chunk, whose bytes decide. Closers before them are
                // dropped either way.
                let carry = usize::try_from(self.closers.min(2)).unwrap_or(2).min(index);
                self.closers -= carry as u64;
                self.read_total -= carry as u64;
                index -= carry;
                self.carry = (index, carry);
            }
            self.hand_out(base, start, index);
        }
        Ok(())
    }

    /// Hands out `raw[start..end]` (input positions from `base`) less what was dropped.
    fn hand_out(&mut self, base: u64, start: usize, end: usize) {
        let in_chunk = |at: u64| usize::try_from(at.saturating_sub(base)).map_or(end, |at| at.min(end));
        let mut drops: Vec<(usize, usize)> =
            self.chunk_drops.iter().map(|&(from, to)| (in_chunk(from), in_chunk(to))).collect();
        if self.dropping {
            // A drop still going on takes the rest of the chunk (from where it started here).
            drops.push((in_chunk(self.drop_start), end));
        }
        drops.retain(|(from, to)| from < to);
        if drops.is_empty() {
            self.from_out = false;
            self.position = start;
            self.end = end;
            return;
        }
        self.out.clear();
        let mut kept_from = start;
        for (from, to) in drops {
            self.out.extend_from_slice(&self.raw[kept_from..from.max(kept_from)]);
            kept_from = kept_from.max(to);
        }
        self.out.extend_from_slice(&self.raw[kept_from..end]);
        self.from_out = true;
        self.position = 0;
        self.end = self.out.len();
    }
}

impl<R: Read> Clamped for Clamp<R> {
    fn take_dropped(&mut self, position: u64) -> u64 {
        self.drops.take(position)
    }

    fn original_offset(&self, position: u64) -> u64 {
        let current = if self.dropping && self.written_total <= position { self.drop_length } else { 0 };
        position + self.drops.before(position) + current
    }
}

impl<R: Read> Read for Clamp<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl<R: Read> BufRead for Clamp<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.position >= self.end {
            self.refill()?;
        }
        let handed = if self.from_out { &self.out } else { &self.raw };
        Ok(&handed[self.position..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.end);
    }
}

/// The 1-based line of byte `offset` of `input`.
pub(crate) fn line_at(mut input: impl Read, offset: u64) -> io::Result<u64> {
    let mut buffer = vec![0; CHUNK];
    let mut remaining = offset;
    let mut line = 1;
    while remaining > 0 {
        let count = input.read(&mut buffer)?;
        if count == 0 {
            break;
        }
        let take = usize::try_from(remaining).map_or(count, |remaining| remaining.min(count));
        line += buffer[..take].iter().filter(|&&byte| byte == b'\n').count() as u64;
        remaining -= take as u64;
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clamp(input: &[u8]) -> (Vec<u8>, Clamp<&[u8]>) {
        let mut clamp = Clamp::new(input);
        let mut out = Vec::new();
        clamp.read_to_end(&mut out).expect("in-memory input");
        (out, clamp)
    }

    fn keep() -> usize {
        usize::try_from(CONTENT_KEEP).expect("small")
    }

    /// A reader that hands out its input in pieces of the given sizes, in turn.
    struct Pieces<'a> {
        input: &'a [u8],
        sizes: Vec<usize>,
        next: usize,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.next % self.sizes.len()].max(1).min(buffer.len()).min(self.input.len());
            self.next += 1;
            buffer[..size].copy_from_slice(&self.input[..size]);
            self.input = &self.input[size..];
            Ok(size)
        }
    }

    /// Everything a clamp hands out and records, read in pieces of `sizes`.
    fn outcome(input: &[u8], sizes: &[usize], runs: bool) -> (Vec<u8>, String, Vec<(u64, u64)>, u64) {
        let mut clamp = Clamp::new(Pieces { input, sizes: sizes.to_vec(), next: 0 });
        clamp.runs = runs;
        let mut out = Vec::new();
        let error = match clamp.read_to_end(&mut out) {
            Ok(_) => String::new(),
            Err(error) => error.to_string(),
        };
        let dropped = clamp.take_dropped(u64::MAX);
        (out, error, clamp.drops.list, dropped)
    }

    proptest::proptest! {
        // Inputs reach megabytes and are read byte by byte too: a few dozen cases keep this
        // test to seconds in a debug build.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Taking runs of bytes at once changes nothing: the same output, drops and errors as
        /// byte by byte, wherever the reads of the input end.
        #[test]
        fn runs_are_the_same_as_byte_by_byte(
            pieces in proptest::collection::vec((0..28usize, 0..8usize), 1..16),
            sizes in proptest::collection::vec(1..70_000usize, 1..4),
        ) {
            const TOKENS: [&str; 21] = [
                "<a>", "</a>", "<b x=\"", "\"/>", "'", "\"", "<![CDATA[", "]]>", "<!--", "-->", "]", "-",
                "&amp;", "&", ";", "\u{e9}", "<?pi ", "?>", "<!DOCTYPE r [", "]>", ">",
            ];
            let keep = keep();
            let lengths = [1, 100, keep - 70, keep - 33, keep - 1, keep, keep + 300, 40];
            let mut input = Vec::new();
            for (token, length) in pieces {
                match TOKENS.get(token) {
                    Some(token) => input.extend(token.as_bytes()),
                    None => input.extend(std::iter::repeat_n(b"x&;]-"[token % 5], lengths[length])),
                }
            }
            let fast = outcome(&input, &sizes, true);
            proptest::prop_assert_eq!(&fast, &outcome(&input, &sizes, false));
            // The output is the input less the drops recorded: each byte where they say.
            let (out, _, drops, _) = fast;
            let mut clamp = Clamp::new(&b""[..]);
            clamp.drops.list = drops;
            for (position, byte) in out.iter().enumerate() {
                let original = clamp.original_offset(position as u64);
                proptest::prop_assert_eq!(input.get(original as usize), Some(byte), "output byte {}", position);
            }
        }
    }

    #[test]
    fn small_documents_pass_unchanged() {
        let input = b"<?xml version='1.0'?><!-- c --><a x=\"1 &amp; 2\" y='>'><![CDATA[ <x> ]]>t&#xA;</a>";
        let (out, _) = clamp(input);
        assert_eq!(out, input);
    }

    #[test]
    fn long_text_is_cut_at_the_next_tag() {
        let mut input = b"<a>".to_vec();
        input.extend(std::iter::repeat_n(b'x', keep() + 1000));
        input.extend(b"</a>\n<b/>");
        let (out, mut clamp) = clamp(&input);
        assert_eq!(out.len(), input.len() - 1000);
        assert!(out.ends_with(b"x</a>\n<b/>"));
        assert_eq!(clamp.take_dropped(u64::MAX), 1000);
        assert_eq!(clamp.take_dropped(u64::MAX), 0);
        // `</a>` is at output position 3 + keep, and at 3 + keep + 1000 in the input.
        let end = 3 + CONTENT_KEEP;
        assert_eq!(clamp.original_offset(end), end + 1000);
        assert_eq!(clamp.original_offset(2), 2);
    }

    #[test]
    fn drops_never_split_a_character_or_a_reference() {
        let mut input = b"<a>".to_vec();
        input.extend(std::iter::repeat_n(b'x', keep() - 1));
        input.extend("é&amp;é".as_bytes());
        input.extend(b"rest</a>");
        let (out, _) = clamp(&input);
        let text = std::str::from_utf8(&out).expect("still UTF-8");
        assert!(text.ends_with("x\u{e9}</a>") || text.ends_with("x</a>"), "{}", &text[text.len() - 20..]);
        let mut input = b"<a>".to_vec();
        input.extend(std::iter::repeat_n(b'x', keep() - 2));
        input.extend(b"&amp;tail</a>");
        let (out, _) = clamp(&input);
        assert!(out.ends_with(b"&amp;</a>"), "{:?}", String::from_utf8_lossy(&out[out.len() - 20..]));
    }

    #[test]
    fn cdata_comments_and_attributes_keep_their_ends() {
        for (open, close) in [("<![CDATA[", "]]>"), ("<!--", "-->")] {
            let mut input = format!("<a>{open}").into_bytes();
            input.extend(std::iter::repeat_n(b'y', keep() + 10));
            input.extend(b"]] ]-- -");
            input.extend(std::iter::repeat_n(b'z', 50));
            input.extend(format!("{close}</a>").as_bytes());
            let (out, mut clamp) = clamp(&input);
            let expected_end = format!("y{close}</a>");
            assert!(out.ends_with(expected_end.as_bytes()), "{open}");
            assert!(clamp.take_dropped(u64::MAX) >= 60, "{open}");
        }
        let mut input = b"<a m=\"".to_vec();
        input.extend(std::iter::repeat_n(b'v', keep() + 5));
        input.extend(b"\" n='1'/>");
        let (out, mut clamp) = clamp(&input);
        assert!(out.ends_with(b"v\" n='1'/>"));
        assert_eq!(clamp.take_dropped(u64::MAX), 5);
    }

    #[test]
    fn a_cut_token_keeps_its_end_wherever_a_read_ends() {
        for (open, close) in [("<![CDATA[", "]]>"), ("<!--", "-->")] {
            let mut input = format!("<a>{open}").into_bytes();
            input.extend(std::iter::repeat_n(b'y', keep() + 10));
            input.extend(format!("{}{}{close}</a>", &close[..1], &close[..1]).as_bytes());
            let closing = input.len() - 4 - close.len() - 2;
            // Reads that end just before, inside and just after the closers.
            for split in closing - 2..closing + 5 {
                let sizes = [split % CHUNK, CHUNK, CHUNK, CHUNK, CHUNK, CHUNK, CHUNK];
                let (out, _, _, dropped) = outcome(&input, &sizes, true);
                // Closers before the last two are dropped with the rest of the text.
                let end = format!("y{close}</a>");
                assert!(
                    out.ends_with(end.as_bytes()),
                    "{open} split at {split}: {:?}",
                    String::from_utf8_lossy(&out[out.len() - 10..])
                );
                assert_eq!(out.len() as u64 + dropped, input.len() as u64, "{open} split at {split}");
            }
        }
    }

    #[test]
    fn oversized_markup_is_an_error_naming_where_it_starts() {
        let mut input = b"<a>\n<b".to_vec();
        for index in 0..MARKUP_LIMIT / 8 {
            input.extend(format!(" a{index:05}=''").as_bytes());
        }
        let mut clamp = Clamp::new(input.as_slice());
        let error = clamp.read_to_end(&mut Vec::new()).expect_err("too long");
        let oversized = error.get_ref().and_then(|inner| inner.downcast_ref::<Oversized>()).expect("ours");
        assert_eq!((oversized.what, oversized.offset), ("a tag", 4));
    }

    #[test]
    fn a_byte_order_mark_is_dropped_and_counted() {
        let (out, clamp) = clamp(b"\xEF\xBB\xBF<a/>");
        assert_eq!(out, b"<a/>");
        assert_eq!(clamp.original_offset(1), 4);
    }

    #[test]
    fn lines_are_counted_up_to_an_offset() {
        let text = b"a\nb\nc";
        assert_eq!(line_at(&text[..], 0).expect("memory"), 1);
        assert_eq!(line_at(&text[..], 2).expect("memory"), 2);
        assert_eq!(line_at(&text[..], 99).expect("memory"), 3);
    }
}
