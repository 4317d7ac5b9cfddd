//! Views of a job's test history, as TestGrid shows them: the grid, flakiness and alerts.
//!
//! The main type is [`grid::Grid`]: one column per build, newest first, and one row per test,
//! built by [`grid::build`] from the builds and test results the store holds. Every other view
//! is computed from grids: [`flakes::analyse`] (TestGrid's flip flakiness, and tests that failed
//! and passed within one build) and [`alerts::find`] (TestGrid's consecutive-failure alerts).
//! Each view renders itself as text ([`terminal`], [`flakes::text`], [`alerts::text`]), as
//! versioned JSON (serde), and the grid also as one self-contained HTML page ([`html::page`]).
//!
//! Everything here is pure: no I/O, no clock. The caller reads the store, passes the time
//! window in, and writes what comes out.

pub mod alerts;
pub mod config;
pub mod dashboard;
pub mod flakes;
pub mod grid;
pub mod html;
pub mod terminal;

pub use grid::{BuildResults, Cell, Column, Grid, Row};

/// A Unix time as `YYYY-MM-DD HH:MMZ`, the way the views show when a build started.
pub(crate) fn minute(seconds: i64) -> String {
    let full = slipway_core::time::rfc3339_utc(seconds);
    format!("{} {}Z", &full[..10], &full[11..16])
}

/// `text` with control characters (which a terminal would obey) replaced by U+FFFD: test names
/// and messages come from JUnit files anyone can write.
pub(crate) fn printable(text: &str) -> String {
    text.chars().map(|character| if character.is_control() { '\u{fffd}' } else { character }).collect()
}

/// The first line of `text`, at most `limit` characters, with `…` when cut.
pub(crate) fn first_line(text: &str, limit: usize) -> String {
    let line = text.trim().lines().next().unwrap_or_default().trim_end();
    let cut = line.chars().count() > limit || text.trim().lines().nth(1).is_some();
    let mut shown: String = line.chars().take(limit).collect();
    if cut {
        shown.push('…');
    }
    printable(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_utc() {
        assert_eq!(minute(1_795_317_710), "2026-11-22 03:21Z");
    }

    #[test]
    fn control_characters_cannot_reach_a_terminal() {
        assert_eq!(printable("a\u{1b}[2Jb\tc"), "a\u{fffd}[2Jb\u{fffd}c");
    }

    #[test]
    fn first_lines_are_cut_and_marked() {
        assert_eq!(first_line("  boom\nstack", 80), "boom…");
        assert_eq!(first_line("abcdef", 3), "abc…");
        assert_eq!(first_line("abc", 3), "abc");
        assert_eq!(first_line("", 3), "");
    }
}
