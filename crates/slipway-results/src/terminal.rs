//! The grid in a terminal: a numbered list of the builds, then one line per row with one glyph
//! per build (`✓` pass, `✗` fail, `~` flaky, `s` skip, `·` no result), newest build on the left.
//!
//! Lines fit the given width (100 columns by default): test names longer than what is left
//! after the cells are cut in the middle (`E2eNode Suite.[It] [sig…should pull [NodeConformance]`),
//! keeping the suite and the end of the test's own text. Widths count characters. Colour is
//! ANSI, only when asked for; without it every cell still reads by its glyph.

use std::fmt::Write as _;

use slipway_core::results::Status;

use crate::grid::{Cell, Grid, Row};

/// How to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours (for a terminal that wants them).
    pub colour: bool,
    /// The widest line, in characters.
    pub width: usize,
}

impl Default for Style {
    fn default() -> Style {
        Style { colour: false, width: 100 }
    }
}

/// The narrowest name column, however many builds are shown.
const MIN_NAME_WIDTH: usize = 16;

/// The legend printed under the grid.
pub const LEGEND: &str = "✓ pass  ✗ fail  ~ flaky  s skip  · no result";

/// The grid as text; see the module docs.
pub fn grid(grid: &Grid, style: Style) -> String {
    let mut out = String::new();
    let builds = grid.columns.len();
    let tests = grid.rows.len();
    let _ = writeln!(
        out,
        "{}: {builds} {} (newest first), {tests} {}",
        crate::printable(&grid.job),
        if builds == 1 { "build" } else { "builds" },
        if tests == 1 { "test" } else { "tests" }
    );
    out.push('\n');
    builds_table(&mut out, grid);
    out.push('\n');

    // Two characters a cell (glyph and space) while that leaves room for names, else one.
    let cell_width = if 2 * builds + 2 + MIN_NAME_WIDTH <= style.width { 2 } else { 1 };
    let longest = std::iter::once(&grid.overall).chain(&grid.rows).map(|row| row.name.chars().count()).max();
    let room = style.width.saturating_sub(2 + cell_width * builds).max(MIN_NAME_WIDTH);
    let name_width = longest.unwrap_or(0).min(room);

    ruler(&mut out, builds, cell_width, name_width);
    for row in std::iter::once(&grid.overall).chain(&grid.rows) {
        line(&mut out, row, cell_width, name_width, style.colour);
    }
    out.push('\n');
    let _ = writeln!(out, "{LEGEND}");
    out
}

fn builds_table(out: &mut String, grid: &Grid) {
    let number_width = grid.columns.len().to_string().len().max(1);
    let id_width = grid.columns.iter().map(|column| column.build_id.chars().count()).max().unwrap_or(0).max(5);
    let versions: Vec<String> = grid
        .columns
        .iter()
        .map(|column| column.version.as_deref().map_or_else(|| "-".to_owned(), |version| cut_end(version, 24)))
        .collect();
    let version_width = versions.iter().map(|version| version.chars().count()).max().unwrap_or(0).max(7);
    let _ = writeln!(
        out,
        "{:>number_width$}  {:<id_width$}  {:<17}  {:<version_width$}  RESULT",
        "#", "BUILD", "STARTED", "VERSION"
    );
    for (index, (column, version)) in grid.columns.iter().zip(&versions).enumerate() {
        let started = column.started.map_or_else(|| "-".to_owned(), crate::minute);
        let result = match (column.passed, column.finished) {
            (Some(true), _) => "passed",
            (Some(false), _) => "failed",
            (None, None) => "running",
            (None, Some(_)) => "-",
        };
        let _ = writeln!(
            out,
            "{:>number_width$}  {:<id_width$}  {started:<17}  {version:<version_width$}  {result}",
            index + 1,
            crate::printable(&column.build_id),
        );
    }
}

/// Column numbers over the cells: units on every column, tens over every tenth.
fn ruler(out: &mut String, builds: usize, cell_width: usize, name_width: usize) {
    let digits = |show: &dyn Fn(usize) -> Option<usize>| -> String {
        let mut text = String::new();
        for number in 1..=builds {
            let digit = show(number).map_or(' ', |digit| char::from_digit((digit % 10) as u32, 10).unwrap_or(' '));
            text.push(digit);
            text.push_str(&" ".repeat(cell_width - 1));
        }
        text.trim_end().to_owned()
    };
    let tens = digits(&|number| (number % 10 == 0).then_some(number / 10));
    if !tens.is_empty() {
        let _ = writeln!(out, "{:name_width$}  {tens}", "");
    }
    let _ = writeln!(out, "{:name_width$}  {}", "", digits(&Some));
}

fn line(out: &mut String, row: &Row, cell_width: usize, name_width: usize, colour: bool) {
    let name = cut_middle(&crate::printable(&row.name), name_width);
    let padding = name_width.saturating_sub(name.chars().count());
    let mut cells = String::new();
    for cell in &row.cells {
        let (glyph, ansi) = glyph(cell.as_ref());
        if colour {
            let _ = write!(cells, "{ansi}{glyph}\u{1b}[0m");
        } else {
            cells.push(glyph);
        }
        cells.push_str(&" ".repeat(cell_width - 1));
    }
    let _ = writeln!(out, "{name}{}  {}", " ".repeat(padding), cells.trim_end());
}

/// A cell's glyph and its ANSI colour.
pub fn glyph(cell: Option<&Cell>) -> (char, &'static str) {
    match cell.map(|cell| cell.status) {
        None => ('·', "\u{1b}[2m"),
        Some(Status::Pass) => ('✓', "\u{1b}[32m"),
        Some(Status::Fail) => ('✗', "\u{1b}[1;31m"),
        Some(Status::Flaky) => ('~', "\u{1b}[35m"),
        Some(Status::Skip) => ('s', "\u{1b}[2m"),
    }
}

/// `text` in at most `width` characters, cut in the middle with `…`.
pub fn cut_middle(text: &str, width: usize) -> String {
    let length = text.chars().count();
    if length <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let mut cut: String = text.chars().take(head).collect();
    cut.push('…');
    cut.extend(text.chars().skip(length - tail));
    cut
}

fn cut_end(text: &str, width: usize) -> String {
    let text = crate::printable(text);
    if text.chars().count() <= width {
        return text;
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::build;
    use crate::grid::tests::history;

    #[test]
    fn names_are_cut_in_the_middle() {
        assert_eq!(cut_middle("abcdefghij", 10), "abcdefghij");
        assert_eq!(cut_middle("abcdefghij", 5), "ab…ij");
        assert_eq!(cut_middle("abcdefghij", 6), "ab…hij");
        assert_eq!(cut_middle("abcdefghij", 1), "…");
        assert_eq!(cut_middle("abcdefghij", 0), "");
    }

    fn sample() -> Grid {
        build(
            "node-e2e",
            &history(
                "node-e2e",
                "FFFPPP",
                &[
                    (
                        "E2eNode Suite.[It] [sig-node] Container Runtime blackbox test when running a container with a new image should be able to pull from private registry with secret [NodeConformance]",
                        "FFFPKP",
                    ),
                    ("E2eNode Suite.[It] [sig-node] Pods should be submitted and removed", "PPPPPP"),
                    ("E2eNode Suite.[It] [sig-node] Summary API should report resource usage", "SS.SSS"),
                ],
            ),
        )
    }

    #[test]
    fn the_terminal_grid() {
        insta::assert_snapshot!(grid(&sample(), Style::default()));
    }

    #[test]
    fn every_line_fits_the_width_even_with_many_builds() {
        for builds in [1, 9, 10, 39, 40, 70] {
            let letters = "FPKS.".chars().cycle().take(builds).collect::<String>();
            let long = "x".repeat(300);
            let grid = build("e2e", &history("e2e", &"P".repeat(builds), &[(&long, &letters)]));
            let text = grid_text(&grid);
            let grid_lines = text.lines().skip(builds + 3);
            for line in grid_lines {
                assert!(line.chars().count() <= 100, "{builds} builds: {} characters: {line}", line.chars().count());
            }
        }
    }

    fn grid_text(grid: &Grid) -> String {
        super::grid(grid, Style::default())
    }

    #[test]
    fn colour_wraps_each_glyph_and_plain_text_has_no_escapes() {
        let plain = grid(&sample(), Style::default());
        assert!(!plain.contains('\u{1b}'));
        let coloured = grid(&sample(), Style { colour: true, width: 100 });
        assert!(coloured.contains("\u{1b}[1;31m✗\u{1b}[0m"), "{coloured}");
        assert!(coloured.contains("\u{1b}[35m~\u{1b}[0m"), "{coloured}");
    }

    #[test]
    fn escapes_in_names_do_not_reach_the_terminal() {
        let grid = build("e2e", &history("e2e", "P", &[("evil \u{1b}[2J name", "F")]));
        let text = grid_text(&grid);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("evil \u{fffd}[2J name"), "{text}");
    }
}
