//! Unified diffs of a bump, as `git diff` shows them, built from the edits themselves.
//!
//! A general line diff (Myers) costs O(N·D): rewriting the tag of 100,000 Pods in one file makes
//! D as large as N and the diff takes minutes. A bump knows exactly which bytes it changes, so
//! the changed lines are the lines its edits touch, and the diff is linear in the file's size.

use std::fmt::Write;

use crate::check::Edit;
use crate::scan::text::LineIndex;

/// Lines of context around each change, as `git diff` and `diff -u` use.
const CONTEXT: usize = 3;

/// A run of changed lines: before-lines `[old_start, old_end)`, replaced by `new_text`.
struct Region {
    old_start: usize,
    old_end: usize,
    new_lines: Vec<String>,
}

/// The unified diff of one file whose text `before` gets `edits` (sorted by position and not
/// overlapping), with `a/` and `b/` headers and three lines of context.
pub(super) fn unified(path: &str, before: &str, edits: &[&Edit]) -> String {
    let old_lines: Vec<&str> = before.split_inclusive('\n').collect();
    let index = LineIndex::new(before);
    // Each edit widened to whole lines, with the lines it produces; touching or overlapping
    // ones are merged, as a line diff would show them as one change.
    let mut regions: Vec<(usize, usize, Vec<&Edit>)> = Vec::new();
    for edit in edits.iter().copied().filter(|edit| before.get(edit.range.clone()) != Some(edit.replacement.as_str())) {
        let start = index.line(edit.range.start) - 1;
        let end = if edit.range.end == edit.range.start && at_line_start(before, edit.range.start) {
            start
        } else if edit.range.end > edit.range.start && at_line_start(before, edit.range.end) {
            index.line(edit.range.end) - 1
        } else {
            index.line(edit.range.end.saturating_sub(1).max(edit.range.start))
        };
        match regions.last_mut() {
            Some(last) if start <= last.1 => {
                last.1 = last.1.max(end);
                last.2.push(edit);
            }
            _ => regions.push((start, end, vec![edit])),
        }
    }
    let line_offsets: Vec<usize> = old_lines
        .iter()
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some(start)
        })
        .collect();
    let offset_of = |line: usize| line_offsets.get(line).copied().unwrap_or(before.len());
    let regions: Vec<Region> = regions
        .into_iter()
        .map(|(old_start, old_end, region_edits)| {
            let (from, to) = (offset_of(old_start), offset_of(old_end));
            let mut text = String::new();
            let mut position = from;
            for edit in region_edits {
                text.push_str(&before[position..edit.range.start]);
                text.push_str(&edit.replacement);
                position = edit.range.end;
            }
            text.push_str(&before[position..to]);
            Region { old_start, old_end, new_lines: text.split_inclusive('\n').map(str::to_owned).collect() }
        })
        .collect();
    if regions.is_empty() {
        return String::new();
    }

    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    // How many lines the regions so far added (or removed), to number the new file's lines.
    let mut shift: isize = 0;
    let mut group_start = 0;
    while group_start < regions.len() {
        // Regions whose unchanged gap is at most twice the context share a hunk.
        let mut group_end = group_start + 1;
        while group_end < regions.len() && regions[group_end].old_start - regions[group_end - 1].old_end <= 2 * CONTEXT
        {
            group_end += 1;
        }
        let group = &regions[group_start..group_end];
        let old_from = group[0].old_start.saturating_sub(CONTEXT);
        let old_to = (group[group.len() - 1].old_end + CONTEXT).min(old_lines.len());
        let added: isize = group
            .iter()
            .map(|region| region.new_lines.len() as isize - (region.old_end - region.old_start) as isize)
            .sum();
        let new_from = (old_from as isize + shift) as usize;
        let new_length = ((old_to - old_from) as isize + added) as usize;
        let _ = writeln!(out, "@@ -{} +{} @@", range(old_from, old_to - old_from), range(new_from, new_length));
        let mut line = old_from;
        for region in group {
            for context in &old_lines[line..region.old_start] {
                push_line(&mut out, ' ', context);
            }
            for removed in &old_lines[region.old_start..region.old_end] {
                push_line(&mut out, '-', removed);
            }
            for inserted in &region.new_lines {
                push_line(&mut out, '+', inserted);
            }
            line = region.old_end;
        }
        for context in &old_lines[line..old_to] {
            push_line(&mut out, ' ', context);
        }
        shift += added;
        group_start = group_end;
    }
    out
}

fn at_line_start(text: &str, offset: usize) -> bool {
    offset == 0 || text.as_bytes().get(offset - 1) == Some(&b'\n')
}

/// A hunk range as diff writes it: `start,length`, or just `start` for one line, with empty
/// ranges starting at the line before.
fn range(start: usize, length: usize) -> String {
    match length {
        1 => format!("{}", start + 1),
        0 => format!("{start},0"),
        _ => format!("{},{length}", start + 1),
    }
}

fn push_line(out: &mut String, tag: char, line: &str) {
    out.push(tag);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use similar::TextDiff;

    fn edit(text: &str, find: &str, replacement: &str) -> Edit {
        let start = text.find(find).expect("present");
        Edit { file: "f".into(), range: start..start + find.len(), replacement: replacement.into() }
    }

    fn apply(before: &str, edits: &[&Edit]) -> String {
        let mut after = String::new();
        let mut position = 0;
        for edit in edits {
            after.push_str(&before[position..edit.range.start]);
            after.push_str(&edit.replacement);
            position = edit.range.end;
        }
        after.push_str(&before[position..]);
        after
    }

    /// The same diff a general line diff gives, for the edits a bump makes.
    fn same_as_a_line_diff(before: &str, edits: &[Edit]) {
        let edits: Vec<&Edit> = edits.iter().collect();
        let after = apply(before, &edits);
        let expected =
            TextDiff::from_lines(before, &after).unified_diff().context_radius(3).header("a/f", "b/f").to_string();
        assert_eq!(unified("f", before, &edits), expected, "before:\n{before}\nafter:\n{after}");
    }

    #[test]
    fn matches_a_line_diff() {
        let text: String = (1..=40).map(|n| format!("line {n}: v1.0.0\n")).collect();
        same_as_a_line_diff(&text, &[edit(&text, "line 2: v1.0.0", "line 2: v2.0.0")]);
        same_as_a_line_diff(&text, &[edit(&text, "line 40: v1.0.0\n", "")]);
        let near = [edit(&text, "line 10: v1", "line 10: v2"), edit(&text, "line 16: v1", "line 16: v2")];
        same_as_a_line_diff(&text, &near);
        let far = [edit(&text, "line 10: v1", "line 10: v2"), edit(&text, "line 17: v1", "line 17: v2")];
        same_as_a_line_diff(&text, &far);
        let adjacent = [edit(&text, "line 5: v1", "line 5: v2"), edit(&text, "line 6: v1", "line 6: v2")];
        same_as_a_line_diff(&text, &adjacent);
        let removed = [edit(&text, "line 7: v1", "line 7: v2"), edit(&text, "line 8: v1.0.0\n", "")];
        same_as_a_line_diff(&text, &removed);
        let inserted = edit(&text, "line 3", "appVersion: x\nline 3");
        let inserted = Edit {
            range: inserted.range.start..inserted.range.start,
            replacement: "appVersion: x\n".into(),
            ..inserted
        };
        same_as_a_line_diff(&text, &[inserted]);
        let unterminated = "a: v1\nb: v1";
        same_as_a_line_diff(unterminated, &[edit(unterminated, "b: v1", "b: v2")]);
    }

    #[test]
    fn no_edits_no_diff() {
        assert_eq!(unified("f", "a\n", &[]), "");
    }
}
