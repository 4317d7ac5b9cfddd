//! Failure texts and names as slipway keeps them: bounded, valid for every database.
//!
//! A failure text is the message attribute and the element's text, each kept up to
//! [`MESSAGE_LIMIT`] bytes, joined by a newline and cut again to that bound; whatever was left
//! out is counted and named at the end (`[truncated: N more bytes]`). NUL characters, which
//! PostgreSQL text cannot hold, become U+FFFD. Line ends are normalized to `\n` as XML requires.

use sha2::{Digest, Sha256};

/// The most bytes of one failure (or skip) text that are kept: 16 KiB. Enough for any assertion
/// message and the top of its stack trace; Triage and TestGrid keep far less (TestGrid 140
/// characters).
pub const MESSAGE_LIMIT: usize = 16 * 1024;

/// The most bytes of a test name that are kept: 1 KiB. Longer names end in a hash of the full
/// name so that distinct names stay distinct (and fit PostgreSQL's index entries).
pub const NAME_LIMIT: usize = 1024;

/// Text gathered from one element (or attribute), at most [`MESSAGE_LIMIT`] bytes.
#[derive(Debug, Default, Clone)]
pub(crate) struct BoundedText {
    text: String,
    /// Bytes left out (in the source, as far as they were seen).
    cut: u64,
}

impl BoundedText {
    pub(crate) fn push_str(&mut self, text: &str) {
        let room = MESSAGE_LIMIT - self.text.len();
        let end = if text.len() <= room { text.len() } else { text.floor_char_boundary(room) };
        let kept = &text[..end];
        if memchr::memchr2(b'\r', b'\0', kept.as_bytes()).is_some() {
            self.text.push_str(&kept.replace("\r\n", "\n").replace(['\r'], "\n").replace('\0', "\u{fffd}"));
        } else {
            self.text.push_str(kept);
        }
        self.cut += (text.len() - end) as u64;
    }

    pub(crate) fn push_char(&mut self, character: char) {
        let mut buffer = [0; 4];
        self.push_str(character.encode_utf8(&mut buffer));
    }

    /// Empties it, keeping its buffer.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.cut = 0;
    }

    /// Counts bytes that were left out before they got here.
    pub(crate) fn add_cut(&mut self, bytes: u64) {
        self.cut += bytes;
    }

    pub(crate) fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    pub(crate) fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

/// The text of `parts` (blank ones left out) joined by newlines, bounded, with a note of what
/// was cut; `None` when every part is blank.
pub(crate) fn compose(parts: &[&BoundedText]) -> Option<String> {
    let mut joined = BoundedText::default();
    let mut cut = 0;
    for part in parts.iter().filter(|part| !part.is_blank()) {
        if !joined.text.is_empty() {
            joined.push_str("\n");
        }
        joined.push_str(part.trimmed());
        cut += part.cut;
    }
    if joined.text.is_empty() {
        return None;
    }
    let cut = cut + joined.cut;
    let mut text = joined.text;
    if cut > 0 {
        text.push_str(&format!("\n[truncated: {cut} more bytes]"));
    }
    Some(text)
}

/// A test or suite name: NULs replaced, and at most [`NAME_LIMIT`] bytes.
pub(crate) fn name(raw: String) -> String {
    let raw = if raw.contains('\0') { raw.replace('\0', "\u{fffd}") } else { raw };
    if raw.len() <= NAME_LIMIT {
        return raw;
    }
    let digest = Sha256::digest(raw.as_bytes());
    let hash: String = digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect();
    let end = raw.floor_char_boundary(NAME_LIMIT - 32);
    format!("{}... [{hash}]", &raw[..end])
}

/// An attribute value: character references and the five predefined entities resolved,
/// anything else (`&name;` of a DTD, a stray `&`) kept as written. Entities are never expanded
/// from a DTD.
pub(crate) fn unescape(raw: &str) -> String {
    if memchr::memchr(b'&', raw.as_bytes()).is_none() {
        return if memchr::memchr(b'\r', raw.as_bytes()).is_none() {
            raw.to_owned()
        } else {
            raw.replace("\r\n", "\n")
        };
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let resolved = rest.find(';').filter(|&end| end <= 12).and_then(|end| Some((reference(&rest[1..end])?, end)));
        match resolved {
            Some((character, end)) => {
                out.push(character);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out.replace("\r\n", "\n")
}

/// The character an entity or character reference (without `&` and `;`) stands for, if it is
/// one of XML's own.
pub(crate) fn reference(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|&character| character != '\0')?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_bounded_and_says_how_much_was_cut() {
        let mut text = BoundedText::default();
        text.push_str(&"é".repeat(MESSAGE_LIMIT));
        let composed = compose(&[&text]).expect("text");
        let (kept, note) = composed.split_once('\n').expect("a note");
        assert_eq!(kept.len(), MESSAGE_LIMIT);
        assert_eq!(note, format!("[truncated: {MESSAGE_LIMIT} more bytes]"));
    }

    #[test]
    fn message_and_body_are_joined_and_blank_parts_dropped() {
        let mut message = BoundedText::default();
        message.push_str("  expected 1\r\n");
        let mut body = BoundedText::default();
        body.push_str("\n  at Foo.bar\0\n");
        assert_eq!(compose(&[&message, &body]).as_deref(), Some("expected 1\nat Foo.bar\u{fffd}"));
        assert_eq!(compose(&[&BoundedText::default(), &body]).as_deref(), Some("at Foo.bar\u{fffd}"));
        assert_eq!(compose(&[&BoundedText::default()]), None);
    }

    #[test]
    fn long_names_keep_a_hash_of_the_rest() {
        let first = name("a".repeat(5000));
        let second = name(format!("{}b", "a".repeat(4999)));
        assert!(first.len() <= NAME_LIMIT && second.len() <= NAME_LIMIT);
        assert_ne!(first, second);
        assert_eq!(name("short".to_owned()), "short");
    }

    #[test]
    fn attributes_resolve_only_xml_references() {
        assert_eq!(unescape("a &lt;b&gt; &#xA;&#65; &amp;amp; &oob; & x"), "a <b> \nA &amp; &oob; & x");
        assert_eq!(reference("#0"), None);
        assert_eq!(reference("#x1F600"), Some('😀'));
    }
}
