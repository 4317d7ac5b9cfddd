//! Positions in text: byte offsets to 1-based lines in logarithmic time, so scanning a file with
//! tens of thousands of matches stays linear (counting newlines from the start for each match is
//! quadratic).

/// The start offset of every line of a text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, byte)| *byte == b'\n').map(|(index, _)| index + 1));
        LineIndex { starts }
    }

    /// The 1-based line that `offset` is on.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }

    /// The byte range of the line `offset` is on, without its newline.
    pub fn line_range(&self, text: &str, offset: usize) -> std::ops::Range<usize> {
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let end = self.starts.get(line).map_or(text.len(), |next| next - 1);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines() {
        let text = "one\ntwo\n\nfour";
        let index = LineIndex::new(text);
        let lines: Vec<usize> = (0..text.len()).map(|offset| index.line(offset)).collect();
        let expected: Vec<usize> =
            (0..text.len()).map(|offset| text[..offset].bytes().filter(|&b| b == b'\n').count() + 1).collect();
        assert_eq!(lines, expected);
        assert_eq!(&text[index.line_range(text, 5)], "two");
        assert_eq!(&text[index.line_range(text, 11)], "four");
    }
}
