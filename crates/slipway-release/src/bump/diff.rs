//! Unified diffs of a bump, as `git diff` would show them.

use similar::TextDiff;

/// The unified diff of one file, with `a/` and `b/` headers and three lines of context.
pub(super) fn unified(path: &str, before: &str, after: &str) -> String {
    TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
