//! One row per test name per build, merged as TestGrid merges duplicate names.
//!
//! A name can appear more than once in a build: `go test -count=2`, a retry that writes a second
//! testcase, the same suite in two JUnit files of one build. TestGrid (updater `MergeCells`,
//! with merging on, its default) makes one cell of them; so does [`merge`].

use slipway_core::results::{Status, TestResult};

/// Merges the cells of one build (in document order, files in order) into one result per
/// name, sorted by name.
///
/// - A name seen once keeps its cell, except for the message prefix below.
/// - Several cells: `flaky` when at least one passed or was skipped and at least one failed;
///   otherwise the most severe status (`pass` < `skip` < `flaky` < `fail`).
/// - Runs, passes and durations add up.
/// - The message is that of the most severe cell that has one (the last of equals, as TestGrid
///   does). Whenever the test ran more than once (several cells, or reruns within one cell),
///   it is prefixed `P/N runs passed` (TestGrid's `n/N` icon and message), followed by `: ` and
///   the message if there is one.
pub fn merge(cells: impl IntoIterator<Item = TestResult>) -> Vec<TestResult> {
    let mut cells: Vec<TestResult> = cells.into_iter().collect();
    // A stable sort keeps the cells of one name in document order.
    if !cells.is_sorted_by(|a, b| a.name <= b.name) {
        cells.sort_by(|a, b| a.name.cmp(&b.name));
    }
    if cells.windows(2).all(|pair| pair[0].name != pair[1].name) {
        // No name twice (the usual case): each cell stays as it is, but for reruns' prefix.
        return cells.into_iter().map(|cell| if cell.runs > 1 { merge_one(vec![cell]) } else { cell }).collect();
    }
    let mut merged = Vec::with_capacity(cells.len());
    let mut cells = cells.into_iter().peekable();
    while let Some(first) = cells.next() {
        let mut same = vec![first];
        while let Some(next) = cells.next_if(|next| next.name == same[0].name) {
            same.push(next);
        }
        merged.push(merge_one(same));
    }
    merged
}

fn merge_one(cells: Vec<TestResult>) -> TestResult {
    let passing = cells.iter().filter(|cell| matches!(cell.status, Status::Pass | Status::Skip)).count();
    let failing = cells.iter().filter(|cell| cell.status == Status::Fail).count();
    let status = if cells.len() > 1 && passing > 0 && failing > 0 {
        Status::Flaky
    } else {
        cells.iter().map(|cell| cell.status).max().unwrap_or(Status::Pass)
    };
    let runs = cells.iter().map(|cell| cell.runs).fold(0, u32::saturating_add);
    let passes = cells.iter().map(|cell| cell.passes).fold(0, u32::saturating_add);
    let duration_ms = cells.iter().filter_map(|cell| cell.duration_ms).reduce(u64::saturating_add);
    let mut message: Option<(Status, &str)> = None;
    for cell in &cells {
        if let Some(text) = &cell.message
            && message.is_none_or(|(severity, _)| cell.status >= severity)
        {
            message = Some((cell.status, text));
        }
    }
    let message = message.map(|(_, text)| text.to_owned());
    let message = if runs > 1 {
        let prefix = format!("{passes}/{runs} runs passed");
        Some(match message {
            Some(text) => format!("{prefix}: {text}"),
            None => prefix,
        })
    } else {
        message
    };
    let name = cells.into_iter().next().map(|cell| cell.name).unwrap_or_default();
    TestResult { name, status, duration_ms, runs, passes, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(name: &str, status: Status, message: Option<&str>) -> TestResult {
        let passes = u32::from(status != Status::Fail);
        TestResult {
            name: name.to_owned(),
            status,
            duration_ms: Some(1000),
            runs: 1,
            passes,
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn pass_and_fail_make_a_flaky_row_with_counts() {
        let merged = merge([
            cell("b", Status::Fail, Some("first failure")),
            cell("a", Status::Pass, None),
            cell("b", Status::Pass, None),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0], cell("a", Status::Pass, None), "a single cell stays as it is");
        let flaky = &merged[1];
        assert_eq!((flaky.status, flaky.runs, flaky.passes, flaky.duration_ms), (Status::Flaky, 2, 1, Some(2000)));
        assert_eq!(flaky.message.as_deref(), Some("1/2 runs passed: first failure"));
    }

    #[test]
    fn without_both_the_most_severe_status_wins() {
        let failed = merge([cell("t", Status::Fail, Some("one")), cell("t", Status::Fail, Some("two"))]);
        assert_eq!((failed[0].status, failed[0].message.as_deref()), (Status::Fail, Some("0/2 runs passed: two")));
        let skipped = merge([cell("t", Status::Pass, None), cell("t", Status::Skip, Some("why"))]);
        assert_eq!((skipped[0].status, skipped[0].message.as_deref()), (Status::Skip, Some("2/2 runs passed: why")));
        let passed = merge([cell("t", Status::Pass, None), cell("t", Status::Pass, None)]);
        assert_eq!(passed[0].message.as_deref(), Some("2/2 runs passed"));
    }

    #[test]
    fn reruns_inside_one_cell_are_counted_too() {
        let mut rerun = cell("t", Status::Flaky, Some("expected 1"));
        rerun.runs = 4;
        let merged = merge([rerun]);
        assert_eq!(merged[0].message.as_deref(), Some("1/4 runs passed: expected 1"));
    }

    #[test]
    fn durations_are_absent_only_when_every_cell_lacks_one() {
        let mut without = cell("t", Status::Pass, None);
        without.duration_ms = None;
        assert_eq!(merge([without.clone(), without.clone()])[0].duration_ms, None);
        assert_eq!(merge([without, cell("t", Status::Pass, None)])[0].duration_ms, Some(1000));
    }
}
