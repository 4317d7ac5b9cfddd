//! Undoing hard wrapping at a fixed column.
//!
//! CI systems and tools wrap long lines at a fixed width: every `W` characters a line break is
//! inserted, inside words and inside values (`10.0.1` / `2.5`), at positions that shift between
//! two occurrences of one failure as soon as a value before them has another length. The
//! normalizer cannot recognise a value cut in two, so the breaks are removed first, restoring the
//! text as it was before wrapping. Two ways of wrapping are recognised:
//!
//! - **as one string**: a break after every `W` characters, the text's own line breaks counting
//!   as characters (`fold -w W` on a text without its newlines, Python's `text[i:i+W]`). The
//!   breaks are exactly every `W + 1` characters; `W` is the position of one of the line
//!   breaks, at least the longest line, and at least two breaks must fall on the period;
//! - **line by line**: each line cut into pieces of `W` characters. `W` is the longest line;
//!   every line of exactly `W` characters that is not the last is joined to the next, when three
//!   lines have that length, or two in a row (a line of at least `2W` characters was cut).
//!
//! Widths below [`MIN_WIDTH`] characters are not considered wrapping. Widths count characters,
//! not bytes. A text that matches neither shape is left as it is; the similarity tests tolerate
//! what is left (a single break, or a shape not recognised: see `docs/design/triage.md`).

use std::borrow::Cow;

/// The narrowest width taken for wrapping.
pub(crate) const MIN_WIDTH: usize = 30;

/// The widest width looked for.
const MAX_WIDTH: usize = 1_000;

/// `text` with the line breaks that hard wrapping inserted removed, and `\r\n` read as `\n`.
pub(crate) fn unwrap(text: &str) -> Cow<'_, str> {
    let text: Cow<'_, str> =
        if text.contains("\r\n") { Cow::Owned(text.replace("\r\n", "\n")) } else { Cow::Borrowed(text) };
    let Some(breaks) = inserted_breaks(&text) else { return text };
    let mut unwrapped = String::with_capacity(text.len());
    let mut start = 0;
    for offset in breaks {
        unwrapped.push_str(&text[start..offset]);
        start = offset + 1;
    }
    unwrapped.push_str(&text[start..]);
    Cow::Owned(unwrapped)
}

/// The byte offsets of the line breaks that wrapping inserted, if the text is wrapped.
fn inserted_breaks(text: &str) -> Option<Vec<usize>> {
    if text.bytes().filter(|&byte| byte == b'\n').take(2).count() < 2 {
        return None;
    }
    // Every line break: its byte offset and its character index.
    let mut newlines: Vec<(usize, usize)> = Vec::new();
    // Every line: its length in characters and the byte offset of the break ending it.
    let mut longest = 0;
    let mut lines: Vec<(usize, usize)> = Vec::new();
    let mut characters = 0;
    let mut line_start = 0;
    for (offset, character) in text.char_indices() {
        if character == '\n' {
            newlines.push((offset, characters));
            let length = characters - line_start;
            longest = longest.max(length);
            lines.push((length, offset));
            line_start = characters + 1;
        }
        characters += 1;
    }
    longest = longest.max(characters - line_start);
    if longest < MIN_WIDTH {
        return None;
    }
    whole_string_breaks(&newlines, characters, longest).or_else(|| line_breaks(&lines, longest))
}

/// Breaks every `W + 1` characters, for the first `W` that fits.
fn whole_string_breaks(newlines: &[(usize, usize)], characters: usize, longest: usize) -> Option<Vec<usize>> {
    for &(_, width) in newlines {
        if width < longest || width < MIN_WIDTH {
            continue;
        }
        if width > MAX_WIDTH {
            break;
        }
        let period = width + 1;
        // At least two breaks on the period.
        if characters <= 2 * period {
            break;
        }
        let mut breaks = Vec::with_capacity(characters / period);
        let mut position = width;
        let mut fits = true;
        while position < characters {
            match newlines.binary_search_by_key(&position, |&(_, index)| index) {
                Ok(found) => breaks.push(newlines[found].0),
                Err(_) => {
                    fits = false;
                    break;
                }
            }
            position += period;
        }
        if fits {
            return Some(breaks);
        }
        // Breaks on the period that stop before the end: wrapped line by line, whose breaks
        // would fit a multiple of this period too.
        if breaks.len() >= 2 {
            return None;
        }
    }
    None
}

/// The breaks ending lines of exactly `width` characters (but the last line), if there are
/// three, or two in a row (a line at least twice as long as the width was cut): two lines of
/// the same greatest length elsewhere are a coincidence of a text that is not wrapped.
fn line_breaks(lines: &[(usize, usize)], width: usize) -> Option<Vec<usize>> {
    if width > MAX_WIDTH {
        return None;
    }
    let full = |index: usize| lines.get(index).is_some_and(|&(length, _)| length == width);
    let breaks: Vec<usize> = lines.iter().filter(|&&(length, _)| length == width).map(|&(_, offset)| offset).collect();
    let in_a_row = (1..lines.len()).any(|index| full(index - 1) && full(index));
    (breaks.len() >= 3 || (breaks.len() == 2 && in_a_row)).then_some(breaks)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn wrap_whole(text: &str, width: usize) -> String {
        let characters: Vec<char> = text.chars().collect();
        characters.chunks(width).map(|chunk| chunk.iter().collect::<String>()).collect::<Vec<_>>().join("\n")
    }

    fn wrap_lines(text: &str, width: usize) -> String {
        text.split('\n').map(|line| wrap_whole(line, width)).collect::<Vec<_>>().join("\n")
    }

    const MESSAGE: &str = "failed to start container \"web\" in pod web-7f9c4b6d8-x2kqp (uid \
        2e24e003-9ffd-4e78-852c-9dcb6cbef493) on node 10.240.0.17: dial tcp [fd00:10:244:1::5]:8443: \
        connect: connection refused after 2m3s; retrying at 2026-12-03T13:56:50.123456789Z";

    #[test]
    fn whole_string_wrapping_is_undone() {
        let text = format!("{MESSAGE}\n  second line\n{MESSAGE}");
        for width in [30, 64, 80, 132] {
            assert_eq!(unwrap(&wrap_whole(&text, width)), text, "width {width}");
        }
    }

    #[test]
    fn line_by_line_wrapping_is_undone() {
        let text = format!("{MESSAGE}\n  second line\n{MESSAGE}");
        for width in [40, 72, 100] {
            assert_eq!(unwrap(&wrap_lines(&text, width)), text, "width {width}");
        }
    }

    #[test]
    fn unwrapped_texts_and_narrow_columns_stay() {
        let stack = "goroutine 7 [running]:\nmain.main()\n\t/src/main.go:12 +0x1d\nexit status 2";
        assert_eq!(unwrap(stack), stack);
        let narrow = "Expected\n    <int>: 5\nto equal\n    <int>: 6";
        assert_eq!(unwrap(narrow), narrow);
        assert_eq!(unwrap("a\r\nb\r\n"), "a\nb\n");
        // One break only is ambiguous: a headline and a shorter line.
        let headline = "a headline that is longer than the line after it\nand a shorter line";
        assert_eq!(unwrap(headline), headline);
    }

    #[test]
    fn widths_count_characters() {
        let text = "é".repeat(100) + " and ∂ more " + &"ü".repeat(90);
        assert_eq!(unwrap(&wrap_whole(&text, 50)), text);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever the width and wherever the breaks fall, wrapping a text of several lines
        /// that fills at least three widths is undone exactly.
        #[test]
        fn wrapping_is_undone(
            words in proptest::collection::vec("[a-z0-9.:-]{1,12}", 30..120),
            width in MIN_WIDTH..120usize,
            whole in any::<bool>(),
        ) {
            let text = words.join(" ");
            prop_assume!(text.chars().count() > 3 * (width + 1));
            let wrapped = if whole { wrap_whole(&text, width) } else { wrap_lines(&text, width) };
            prop_assert_eq!(unwrap(&wrapped), text);
        }
    }
}
